"""Broker life-cycle signals and delayed wills across a crash, against a real imetd:
SIGTERM/SIGINT send MQTT 5 clients DISCONNECT 0x8B (Server shutting down) and close 3.1.1
connections, then imetd syncs and exits 0; a pending delayed will (v5 Will Delay Interval)
survives kill -9 and is published when due (or at once if its time passed while the node was
down); SIGHUP reloads password_file and acl_file, and a file that fails to parse leaves the old
ones in force."""
import signal
import subprocess
import time

import pytest

from mqtt_client import Client, PacketTypes, connect_packet, props, raw_connect, read_all
from test_mqtt_broker import start_broker
from test_mqtt_durability import restart

SESSION = props(PacketTypes.CONNECT, SessionExpiryInterval=3600)


def disconnect_reason(client, timeout=10):
    """The reason code of the first on_disconnect of a paho MQTT 5 client."""
    rc = client.disconnects.get(timeout=timeout)
    return rc.value if hasattr(rc, "value") else rc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_sends_v5_clients_disconnect_0x8b(imetd, tmp_path, sig):
    d = start_broker(imetd, tmp_path)
    p = d.mqtt_port
    v5 = Client(p, client_id="paho-v5")
    assert v5.rc == 0
    v311 = Client(p, client_id="paho-v311", v5=False)
    assert v311.rc == 0
    # Raw sockets show the exact bytes: 5.0 gets a DISCONNECT with reason 0x8B, 3.1.1 only a close.
    raw5 = raw_connect(p, connect_packet("raw-v5"))
    raw3 = raw_connect(p, connect_packet("raw-v311", v5=False))
    for s in (raw5, raw3):
        s.settimeout(5)
        connack = s.recv(64)
        assert connack[0] == 0x20, connack
    d.proc.send_signal(sig)
    assert d.proc.wait(timeout=30) == 0
    assert disconnect_reason(v5) == 0x8B
    data5, closed5 = read_all(raw5)
    assert closed5
    assert data5[0] == 0xE0 and data5[2] == 0x8B, data5.hex()
    data3, closed3 = read_all(raw3)
    assert closed3 and data3 == b"", data3.hex()
    out = d.output()
    assert "imetd stopped" in out
    assert "clients still connected" not in out


def test_sigterm_keeps_sessions_and_stores_delayed_wills(imetd, tmp_path):
    d = start_broker(imetd, tmp_path)
    p = d.mqtt_port
    watcher = Client(p, client_id="watcher", clean=False, connect_props=SESSION)
    watcher.subscribe("will/#", qos=1)
    wp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=2)
    dev = Client(p, client_id="dev", clean=False, connect_props=SESSION,
                 will=("will/dev", b"offline", 1, False, wp))
    assert dev.rc == 0
    t0 = time.time()
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(timeout=30) == 0
    assert disconnect_reason(watcher) == 0x8B
    for c in (watcher, dev):
        c.c.loop_stop()  # paho would reconnect to the restarted node (and cancel the will)
    d.log.close()
    d2 = imetd("--config", str(tmp_path / "imetd.toml"), name="imetd")
    d2.wait_for("MQTT broker listening")
    assert "delayed_wills=1" in d2.output()
    back = Client(p, client_id="watcher", clean=False, connect_props=SESSION)
    assert back.flags["session present"] == 1
    m = back.get(timeout=10)
    assert (m.topic, m.payload) == ("will/dev", b"offline")
    assert time.time() - t0 >= 1.9


def test_delayed_will_survives_kill9_and_keeps_its_delay(imetd, tmp_path):
    d = start_broker(imetd, tmp_path)
    p = d.mqtt_port
    wp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=4)
    dev = Client(p, client_id="dev", clean=False, connect_props=SESSION,
                 will=("will/dev", b"lost", 1, False, wp))
    assert dev.rc == 0
    t0 = time.time()
    dev.drop()
    time.sleep(0.5)  # the will is stored (synced) when the connection drops
    d2 = restart(imetd, tmp_path, d)
    assert "delayed_wills=1" in d2.output()
    s = Client(p, client_id="sub")
    s.subscribe("will/#", qos=1)
    m = s.get(timeout=15)
    assert (m.topic, m.payload) == ("will/dev", b"lost")
    assert time.time() - t0 >= 3.9, "the remaining delay was not honoured"
    s.assert_nothing(wait=1.5)  # once only
    # Published, so gone from the store: a second crash does not bring it back.
    d3 = restart(imetd, tmp_path, d2)
    assert "delayed_wills=0" in d3.output()


def test_delayed_will_due_while_down_is_published_at_start(imetd, tmp_path):
    d = start_broker(imetd, tmp_path)
    p = d.mqtt_port
    watcher = Client(p, client_id="watcher", clean=False, connect_props=SESSION)
    watcher.subscribe("will/#", qos=1)
    watcher.disconnect()
    wp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=1)
    dev = Client(p, client_id="dev", clean=False, connect_props=SESSION,
                 will=("will/dev", b"while down", 1, False, wp))
    assert dev.rc == 0
    dev.drop()
    time.sleep(0.5)  # the will is stored when the connection drops
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(timeout=10)
    d.log.close()
    time.sleep(1.5)  # its time passes while the node is down
    d2 = imetd("--config", str(tmp_path / "imetd.toml"), name="imetd")
    d2.wait_for("MQTT broker listening")
    back = Client(p, client_id="watcher", clean=False, connect_props=SESSION)
    assert back.flags["session present"] == 1
    m = back.get(timeout=5)
    assert (m.topic, m.payload) == ("will/dev", b"while down")


def write_passwd(path, users):
    path.write_text("")
    for user, password in users:
        subprocess.run(["mosquitto_passwd", "-b", str(path), user, password], check=True)


def sighup(d, marker, count):
    """Sends SIGHUP and waits until `marker` appears `count` times in the log."""
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 15
    while d.output().count(marker) < count:
        assert time.time() < deadline, d.output()
        assert d.proc.poll() is None, d.output()
        time.sleep(0.05)


def test_sighup_reloads_password_and_acl_files(imetd, tmp_path):
    pw = tmp_path / "passwd"
    acl = tmp_path / "acl"
    write_passwd(pw, [("alice", "wonderland")])
    acl.write_text("user alice\ntopic readwrite home/#\n")
    d = start_broker(imetd, tmp_path, f'allow_anonymous = false\npassword_file = "{pw}"\n'
                     f'acl_file = "{acl}"')
    p = d.mqtt_port
    assert Client(p, username="bob", password="builder").rc == 0x86
    alice = Client(p, username="alice", password="wonderland")
    assert alice.rc == 0
    assert alice.subscribe("home/#", qos=1)[0].value == 1
    assert alice.subscribe("garden/#", qos=1)[0].value == 0x87

    # New files: bob exists, alice may use garden/# instead of home/#.
    write_passwd(pw, [("alice", "wonderland"), ("bob", "builder")])
    acl.write_text("user alice\ntopic readwrite garden/#\nuser bob\ntopic readwrite bob/#\n")
    sighup(d, "MQTT password and ACL files reloaded", 1)
    bob = Client(p, username="bob", password="builder")
    assert bob.rc == 0
    assert bob.subscribe("bob/#", qos=1)[0].value == 1
    # The connected alice is checked against the new ACL from now on.
    assert alice.subscribe("garden/#", qos=1)[0].value == 1
    assert alice.subscribe("home/x", qos=1)[0].value == 0x87
    alice.publish("garden/rose", b"red", qos=1)
    m = alice.get()
    assert (m.topic, m.payload) == ("garden/rose", b"red")

    # A file that fails to parse: logged, and the files in force stay.
    acl.write_text("user bob\ntopic sometimes bob/#\n")
    sighup(d, "MQTT password/ACL reload failed", 1)
    out = d.output()
    assert f"{acl}:2" in out and "unknown access 'sometimes'" in out
    bob2 = Client(p, username="bob", password="builder")
    assert bob2.rc == 0
    assert bob2.subscribe("bob/#", qos=1)[0].value == 1
    # A broken password file as well.
    pw.write_text("this line has no colon\n")
    sighup(d, "MQTT password/ACL reload failed", 2)
    assert Client(p, username="bob", password="builder").rc == 0
    assert d.proc.poll() is None
    d.stop()
