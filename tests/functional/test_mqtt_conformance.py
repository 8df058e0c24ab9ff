"""MQTT 3.1.1 / 5.0 rules found by the Eclipse Mosquitto 2.0.11 broker suite
(docs/mqtt-conformance.md), checked here against imetd with raw sockets and paho-mqtt, so they hold
without the suite: a client acknowledging with the wrong packet type is disconnected, a session
takeover publishes the old connection's will only when the session ends, Request Problem
Information 0 keeps Reason Strings and User Properties off everything but PUBLISH, CONNACK and
DISCONNECT."""
import socket

import pytest

from mqtt_client import Client, PacketTypes, connect_packet, props, raw_connect, read_all
from test_mqtt_broker import start_broker


@pytest.fixture
def broker(imetd, tmp_path):
    return start_broker(imetd, tmp_path)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def recv_packet(sock, timeout=5):
    """One MQTT packet: (first byte, body)."""
    sock.settimeout(timeout)
    first = recv_exact(sock, 1)[0]
    length, shift = 0, 0
    while True:
        b = recv_exact(sock, 1)[0]
        length |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            break
    return first, recv_exact(sock, length)


def raw_client(port, client_id, v5, request_problem_info=None):
    p = b""
    if request_problem_info is not None:
        p = bytes([0x17, request_problem_info])
    s = raw_connect(port, connect_packet(client_id, v5=v5, props=p))
    first, body = recv_packet(s)
    assert first == 0x20 and body[1] == 0, body
    return s


def subscribe(sock, topic, qos, v5, packet_id=1):
    t = topic.encode()
    body = packet_id.to_bytes(2, "big") + (b"\x00" if v5 else b"") + \
        len(t).to_bytes(2, "big") + t + bytes([qos])
    sock.sendall(bytes([0x82, len(body)]) + body)
    first, ack = recv_packet(sock)
    assert first == 0x90 and ack[-1] == qos, ack


def publish_id(first, body):
    """Packet id of a QoS 1/2 PUBLISH."""
    assert first >> 4 == 3 and (first >> 1) & 3 > 0, hex(first)
    tlen = int.from_bytes(body[:2], "big")
    return int.from_bytes(body[2 + tlen:4 + tlen], "big")


PUBACK, PUBREC, PUBCOMP = 0x40, 0x50, 0x70


@pytest.mark.parametrize("v5", [False, True], ids=["v311", "v5"])
@pytest.mark.parametrize("qos,wrong,after_pubrec", [
    (1, PUBREC, False),   # MQTT-4.3.2-4: QoS 1 is answered with PUBACK
    (1, PUBCOMP, False),
    (2, PUBACK, False),   # MQTT-4.3.3-8: QoS 2 is answered with PUBREC ...
    (2, PUBCOMP, False),
    (2, PUBACK, True),    # ... and its PUBREL with PUBCOMP (MQTT-4.3.3-11)
], ids=["qos1-pubrec", "qos1-pubcomp", "qos2-puback", "qos2-pubcomp", "qos2-puback-after-pubrec"])
def test_wrong_acknowledgement_type_closes_the_connection(broker, v5, qos, wrong, after_pubrec):
    p = broker.mqtt_port
    sub = raw_client(p, "wrong-ack", v5)
    subscribe(sub, "wa/t", qos, v5)
    Client(p).publish("wa/t", b"m", qos=qos)
    pid = publish_id(*recv_packet(sub))
    if after_pubrec:
        sub.sendall(bytes([PUBREC, 2]) + pid.to_bytes(2, "big"))
        first, body = recv_packet(sub)
        assert first == 0x62 and body[:2] == pid.to_bytes(2, "big")  # PUBREL
    sub.sendall(bytes([wrong, 2]) + pid.to_bytes(2, "big"))
    sub.sendall(bytes([0xC0, 0]))  # PINGREQ: must not be answered
    data, closed = read_all(sub)
    assert closed
    # 5.0: DISCONNECT 0x82 Protocol Error first (MQTT 5 section 4.13); 3.1.1: just closed.
    assert data[:1] == (b"\xe0" if v5 else b"") and (not v5 or data[2] == 0x82), data
    assert b"\xd0\x00" not in data  # no PINGRESP


def test_stray_acknowledgements_are_ignored(broker):
    sub = raw_client(broker.mqtt_port, "stray-ack", False)
    sub.sendall(bytes([PUBACK, 2, 0, 9]) + bytes([PUBCOMP, 2, 0, 9]) + bytes([0xC0, 0]))
    assert recv_packet(sub) == (0xD0, b"")  # only the PINGRESP: nothing in flight had id 9


def connect_raw(port, client_id, v5, clean, expiry=0, will=None):
    """CONNECT (optionally with a QoS 1 will) on a raw socket; returns (socket, session present)."""
    flags = (0x02 if clean else 0) | (0x0C if will else 0)
    body = b"\x00\x04MQTT" + bytes([5 if v5 else 4, flags]) + (60).to_bytes(2, "big")
    if v5:
        p = bytes([0x11]) + expiry.to_bytes(4, "big") if expiry else b""
        body += bytes([len(p)]) + p
    body += len(client_id).to_bytes(2, "big") + client_id.encode()
    if will:
        topic, payload = will
        body += (b"\x00" if v5 else b"") + len(topic).to_bytes(2, "big") + topic.encode() + \
            len(payload).to_bytes(2, "big") + payload
    s = raw_connect(port, bytes([0x10, len(body)]) + body)
    first, ack = recv_packet(s)
    assert first == 0x20 and ack[1] == 0, ack
    return s, ack[0] & 1


@pytest.mark.parametrize("v5", [False, True], ids=["v311", "v5"])
def test_takeover_publishes_the_will_only_when_the_session_ends(broker, v5):
    p = broker.mqtt_port
    watcher = Client(p)
    watcher.subscribe("will/#", qos=1)
    expiry = 60 if v5 else 0

    # Continued session (clean 0 / clean 0): the new connection came before the will delay (0,
    # from the close) had elapsed, so no will (MQTT-3.1.2-8); mosquitto's 07-will-takeover.
    old, _ = connect_raw(p, "tk", v5, clean=False, expiry=expiry, will=("will/tk", b"continued"))
    new, present = connect_raw(p, "tk", v5, clean=False, expiry=expiry)
    assert present == 1
    assert read_all(old)[1]  # the old connection was closed
    watcher.assert_nothing(wait=1.0)

    # Clean start on the new connection ends the session: the will goes at once.
    old, _ = connect_raw(p, "tk2", v5, clean=False, expiry=expiry, will=("will/tk2", b"ended"))
    new2, present = connect_raw(p, "tk2", v5, clean=True)
    assert present == 0
    assert read_all(old)[1]
    assert watcher.get().payload == b"ended"
    watcher.assert_nothing()
    new.close()
    new2.close()


def test_request_problem_information_0_keeps_reason_strings_off_acks(broker):
    # MQTT-3.1.2-29: with Request Problem Information 0 no Reason String or User Property on
    # anything but PUBLISH, CONNACK and DISCONNECT. imetd sends Reason Strings only on CONNACK
    # and DISCONNECT in any case; this guards it for the refusals a client meets most often.
    s = raw_client(broker.mqtt_port, "rpi-0", True, request_problem_info=0)
    topic = b"$SYS/broker/uptime"
    body = len(topic).to_bytes(2, "big") + topic + b"\x00\x07\x00" + b"spoof"
    s.sendall(bytes([0x32, len(body)]) + body)
    first, ack = recv_packet(s)
    assert first == 0x40 and ack[:3] == b"\x00\x07\x87" and ack[3:] in (b"", b"\x00"), ack
    subscribe_body = b"\x00\x08\x00" + len(b"a/#/b").to_bytes(2, "big") + b"a/#/b" + b"\x00"
    s.sendall(bytes([0x82, len(subscribe_body)]) + subscribe_body)
    first, ack = recv_packet(s)
    assert (first, ack) == (0x90, b"\x00\x08\x00\x8f")  # SUBACK 0x8F, property length 0
