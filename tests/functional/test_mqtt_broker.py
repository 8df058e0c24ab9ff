"""The MQTT broker of imetd against real clients: mosquitto_pub/mosquitto_sub (3.1.1 and 5.0) and
paho-mqtt, one scenario per feature of SPEC section 4, plus hostile input."""
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

from conftest import free_port
from mqtt_client import (Client, PacketTypes, connect_packet, props, raw_connect, read_all)


def start_broker(imetd, tmp_path, extra_mqtt="", name="imetd"):
    mqtt_port, http_port, p2p_port = free_port(), free_port(), free_port()
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(f"""
data_dir = "{tmp_path / name}"
dev = true
[mqtt]
listen = "127.0.0.1:{mqtt_port}"
{extra_mqtt}
[http]
listen = "127.0.0.1:{http_port}"
[p2p]
listen = "127.0.0.1:{p2p_port}"
""")
    d = imetd("--config", str(cfg), name=name)
    d.wait_for("MQTT broker listening")
    d.mqtt_port = mqtt_port
    return d


@pytest.fixture
def broker(imetd, tmp_path):
    return start_broker(imetd, tmp_path)


def after_connack(data):
    """The bytes after a successful CONNACK (which must come first)."""
    assert data[0] == 0x20 and data[1] < 128 and data[3] == 0, data
    return data[2 + data[1]:]


def mosquitto_sub(port, *args):
    return subprocess.Popen(["mosquitto_sub", "-p", str(port), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def mosquitto_pub(port, *args):
    subprocess.run(["mosquitto_pub", "-p", str(port), *args], check=True, timeout=10)


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
@pytest.mark.parametrize("qos", ["0", "1", "2"])
def test_mosquitto_clients_pub_sub(broker, version, qos):
    sub = mosquitto_sub(broker.mqtt_port, "-V", version, "-q", qos, "-t", "sensors/#", "-v",
                        "-C", "3", "-W", "10")
    time.sleep(0.3)
    for i in range(3):
        mosquitto_pub(broker.mqtt_port, "-V", version, "-q", qos, "-t", f"sensors/{i}",
                      "-m", f"value {i}")
    out, err = sub.communicate(timeout=15)
    assert sub.returncode == 0, err
    assert out.splitlines() == ["sensors/0 value 0", "sensors/1 value 1", "sensors/2 value 2"]


def test_retained_messages_and_clearing(broker):
    p = broker.mqtt_port
    mosquitto_pub(p, "-t", "home/temp", "-m", "21.5", "-r", "-q", "1")
    s = Client(p)
    s.subscribe("home/#", qos=1)
    m = s.get()
    assert (m.topic, m.payload, m.retain, m.qos) == ("home/temp", b"21.5", True, 1)
    # A live message on an established subscription has RETAIN 0 (without retain-as-published).
    mosquitto_pub(p, "-t", "home/temp", "-m", "22", "-r")
    m = s.get()
    assert (m.payload, m.retain) == (b"22", False)
    # An empty retained message clears it.
    mosquitto_pub(p, "-t", "home/temp", "-n", "-r")
    s.get()
    s2 = Client(p)
    s2.subscribe("home/#")
    s2.assert_nothing()


def test_dollar_topics_not_matched_by_wildcards(broker):
    p = broker.mqtt_port
    s = Client(p)
    s.subscribe("#")
    s.subscribe("+/broker/#")
    d = Client(p)
    d.subscribe("$SYS/broker/uptime")
    m = d.get(timeout=15)  # $SYS is published every 10 s, and retained
    assert m.topic == "$SYS/broker/uptime" and m.payload.endswith(b"seconds")
    Client(p).publish("$app/x", b"1")
    Client(p).publish("normal", b"2")
    got = s.get()
    assert got.topic == "normal"
    s.assert_nothing()


def test_will_on_abnormal_disconnect_only(broker):
    p = broker.mqtt_port
    s = Client(p)
    s.subscribe("wills/#", qos=1)
    a = Client(p, client_id="dev-a", will=("wills/a", b"a died", 1))
    a.drop()
    m = s.get()
    assert (m.topic, m.payload) == ("wills/a", b"a died")
    b = Client(p, client_id="dev-b", will=("wills/b", b"b died", 1))
    b.disconnect()
    s.assert_nothing(1.0)


def test_v5_will_delay_cancelled_by_reconnect(broker):
    p = broker.mqtt_port
    s = Client(p)
    s.subscribe("wills/#")
    wp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=2)
    cp = props(PacketTypes.CONNECT, SessionExpiryInterval=60)
    a = Client(p, client_id="delayed", clean=False, will=("wills/delayed", b"gone", 0, False, wp),
               connect_props=cp)
    a.drop()
    time.sleep(0.5)
    a2 = Client(p, client_id="delayed", clean=False, connect_props=cp)
    assert a2.flags["session present"] == 1
    s.assert_nothing(3.0)
    # Without the reconnect the will arrives after its delay.
    a2.c.will_set("wills/delayed", b"gone", 0, properties=wp)
    a2.drop()
    t0 = time.time()
    a3 = Client(p, client_id="delayed2", clean=False, will=("wills/d2", b"late", 0, False, wp),
                connect_props=cp)
    a3.drop()
    m = s.get(timeout=6)
    assert m.topic == "wills/d2" and time.time() - t0 >= 1.5


def test_persistent_session_queues_while_offline_v311(broker):
    p = broker.mqtt_port
    s = Client(p, client_id="sensor-hub", v5=False, clean=False)
    s.subscribe("q/#", qos=1)
    s.disconnect()
    pub = Client(p)
    for i in range(20):
        pub.publish("q/x", f"m{i}".encode(), qos=1)
    s2 = Client(p, client_id="sensor-hub", v5=False, clean=False)
    assert s2.flags["session present"] == 1
    got = [m.payload for m in s2.get_all(20)]
    assert got == [f"m{i}".encode() for i in range(20)]
    # clean session discards it
    s2.disconnect()
    s3 = Client(p, client_id="sensor-hub", v5=False, clean=True)
    assert s3.flags["session present"] == 0


def test_session_expiry_v5(broker):
    p = broker.mqtt_port
    cp = props(PacketTypes.CONNECT, SessionExpiryInterval=1)
    s = Client(p, client_id="short", clean=False, connect_props=cp)
    s.subscribe("e/#", qos=1)
    s.disconnect()
    time.sleep(2.5)  # expiry 1 s + the 1 s housekeeping tick
    s2 = Client(p, client_id="short", clean=False, connect_props=cp)
    assert s2.flags["session present"] == 0


def test_qos2_exactly_once_and_qos_downgrade(broker):
    p = broker.mqtt_port
    s2 = Client(p)
    s2.subscribe("x/#", qos=2)
    s0 = Client(p)
    s0.subscribe("x/#", qos=0)
    pub = Client(p)
    for i in range(50):
        pub.publish("x/y", str(i).encode(), qos=2)
    got2 = s2.get_all(50)
    got0 = s0.get_all(50)
    assert [m.payload for m in got2] == [str(i).encode() for i in range(50)]
    assert all(m.qos == 2 for m in got2) and all(m.qos == 0 for m in got0)
    s2.assert_nothing()


def test_shared_subscription_round_robin(broker):
    p = broker.mqtt_port
    a, b = Client(p), Client(p)
    a.subscribe("$share/workers/jobs/#", qos=1)
    b.subscribe("$share/workers/jobs/#", qos=1)
    pub = Client(p)
    for i in range(10):
        pub.publish("jobs/n", str(i).encode(), qos=1)
    time.sleep(0.5)
    na, nb = a.messages.qsize(), b.messages.qsize()
    assert (na, nb) == (5, 5)


def test_subscription_options_and_identifiers(broker):
    p = broker.mqtt_port
    c = Client(p, client_id="self")
    c.subscribe("loop/#", options=mqtt.SubscribeOptions(qos=1, noLocal=True))
    c.publish("loop/a", b"mine", qos=1)
    c.assert_nothing()
    Client(p).publish("loop/a", b"theirs", qos=1)
    assert c.get().payload == b"theirs"

    Client(p).publish("rap/t", b"r", retain=True, qos=1)
    r = Client(p)
    r.subscribe("rap/#", options=mqtt.SubscribeOptions(qos=1, retainAsPublished=True,
                                                        retainHandling=2),
                properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=7))
    r.assert_nothing()  # retain handling 2: no retained message at subscribe
    Client(p).publish("rap/t", b"r2", retain=True, qos=1)
    m = r.get()
    assert m.retain and m.properties.SubscriptionIdentifier == [7]


def test_request_response_and_user_properties_pass_through(broker):
    p = broker.mqtt_port
    s = Client(p)
    s.subscribe("req/#")
    pp = props(PacketTypes.PUBLISH, ResponseTopic="resp/1", CorrelationData=b"\x01\x02",
               UserProperty=[("a", "1"), ("b", "2")], ContentType="text/plain")
    Client(p).publish("req/x", b"?", properties=pp)
    m = s.get()
    assert m.properties.ResponseTopic == "resp/1"
    assert m.properties.CorrelationData == b"\x01\x02"
    assert m.properties.UserProperty == [("a", "1"), ("b", "2")]
    assert m.properties.ContentType == "text/plain"


def test_message_expiry_for_offline_session(broker):
    p = broker.mqtt_port
    cp = props(PacketTypes.CONNECT, SessionExpiryInterval=300)
    s = Client(p, client_id="exp", clean=False, connect_props=cp)
    s.subscribe("exp/#", qos=1)
    s.disconnect()
    pub = Client(p)
    pub.publish("exp/a", b"short", qos=1, properties=props(PacketTypes.PUBLISH,
                                                            MessageExpiryInterval=1))
    pub.publish("exp/a", b"long", qos=1, properties=props(PacketTypes.PUBLISH,
                                                           MessageExpiryInterval=100))
    time.sleep(2)
    s2 = Client(p, client_id="exp", clean=False, connect_props=cp)
    m = s2.get()
    assert m.payload == b"long"
    assert 95 <= m.properties.MessageExpiryInterval <= 100
    s2.assert_nothing()


def test_topic_aliases_both_directions(broker):
    p = broker.mqtt_port
    s = Client(p, connect_props=props(PacketTypes.CONNECT, TopicAliasMaximum=5))
    assert s.connack_props.TopicAliasMaximum > 0
    s.subscribe("alias/#")
    pub = Client(p)
    pub.publish("alias/long/topic/name", b"1", properties=props(PacketTypes.PUBLISH, TopicAlias=1))
    pub.publish("", b"2", properties=props(PacketTypes.PUBLISH, TopicAlias=1))
    m1, m2 = s.get(), s.get()
    # The broker resolved the publisher's alias and assigned its own towards the subscriber.
    assert m1.topic == "alias/long/topic/name" and m1.properties.TopicAlias == 1
    assert m2.topic == "" and m2.properties.TopicAlias == 1 and m2.payload == b"2"


def test_maximum_packet_size_of_subscriber(broker):
    p = broker.mqtt_port
    s = Client(p, connect_props=props(PacketTypes.CONNECT, MaximumPacketSize=200))
    s.subscribe("big/#")
    pub = Client(p)
    pub.publish("big/x", b"x" * 1000)
    pub.publish("big/x", b"small")
    assert s.get().payload == b"small"
    s.assert_nothing()


def test_assigned_client_id_and_connack_properties(broker):
    c = Client(broker.mqtt_port, client_id="")
    assert c.connack_props.AssignedClientIdentifier.startswith("imet-")
    assert c.connack_props.ReceiveMaximum > 0
    assert c.connack_props.MaximumPacketSize > 0


def test_server_keep_alive(imetd, tmp_path):
    b = start_broker(imetd, tmp_path, "max_keepalive = 10")
    c = Client(b.mqtt_port, keepalive=60)
    assert c.connack_props.ServerKeepAlive == 10
    # 3.1.1 cannot be told: refused like mosquitto (identifier rejected).
    v3 = Client(b.mqtt_port, v5=False, keepalive=60)
    assert v3.rc == 2


def test_session_takeover(broker):
    p = broker.mqtt_port
    a = Client(p, client_id="same")
    Client(p, client_id="same")
    rc = a.disconnects.get(timeout=5)
    assert rc == 142  # 0x8E Session taken over


def test_tier_property_and_tier1_size_limit(broker):
    p = broker.mqtt_port
    s = Client(p)
    s.subscribe("t/#")
    pub = Client(p)
    pub.publish("t/x", b"y", properties=props(PacketTypes.PUBLISH, UserProperty=[("imet-tier", "3")]))
    assert s.get().payload == b"y"  # same-node subscribers get every tier at once
    big = Client(p)
    big.publish("t/big", b"z" * (65 * 1024), properties=props(PacketTypes.PUBLISH,
                                                              UserProperty=[("imet-tier", "1")]),
                wait=False)
    assert big.disconnects.get(timeout=5) == 0x95
    s.assert_nothing()


def test_hostile_input_does_not_hurt_other_clients(broker):
    p = broker.mqtt_port
    s = Client(p)
    s.subscribe("ok/#")
    # Garbage instead of CONNECT: closed.
    g = raw_connect(p, b"\xff\xff\xff\xff\xff garbage")
    _, closed = read_all(g)
    assert closed
    # PUBLISH with a wildcard topic after a valid CONNECT: DISCONNECT 0x90 (v5), then closed.
    c = raw_connect(p, connect_packet("hostile"))
    topic = b"a/+"
    body = len(topic).to_bytes(2, "big") + topic + b"\x00" + b"x"
    c.sendall(bytes([0x30, len(body)]) + body)
    data, closed = read_all(c)
    assert closed and after_connack(data)[:3] == bytes([0xE0, after_connack(data)[1], 0x90])
    # A remaining length over the maximum packet size: DISCONNECT 0x95 before it is buffered.
    c = raw_connect(p, connect_packet("huge"))
    c.sendall(bytes([0x30, 0xFF, 0xFF, 0xFF, 0x7F]))
    data, closed = read_all(c)
    assert closed and after_connack(data)[0] == 0xE0 and after_connack(data)[2] == 0x95
    # A silent socket is closed after the connect timeout... and everyone else is fine.
    Client(p).publish("ok/1", b"still here")
    assert s.get().payload == b"still here"
    broker.wait_for("finalized block")


def test_tier_rules_from_config_for_v311_devices(imetd, tmp_path):
    b = start_broker(imetd, tmp_path, 'tier_rules = [ { filter = "alarm/#", tier = 1 } ]')
    p = b.mqtt_port
    s = Client(p)
    s.subscribe("#")
    dev = Client(p, v5=False)
    dev.publish("alarm/fire", b"x" * (65 * 1024), wait=False)  # tier 1 by rule: over 64 KiB
    dev.disconnects.get(timeout=5)
    s.assert_nothing()
    Client(p, v5=False).publish("other/big", b"y" * (65 * 1024))  # default tier 2: accepted
    assert len(s.get().payload) == 65 * 1024


def test_bad_tier_rule_is_a_config_error(imetd, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('dev = true\n[mqtt]\ntier_rules = [ { filter = "a/#", tier = 7 } ]\n')
    d = imetd("--config", str(cfg), "--data-dir", str(tmp_path / "bad"))
    assert d.proc.wait(timeout=10) != 0
    assert "mqtt.tier_rules" in d.output() and "tier must be 1, 2 or 3" in d.output()
