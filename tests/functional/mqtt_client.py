"""A thin wrapper over paho-mqtt (Debian python3-paho-mqtt 1.6) for the broker's functional tests:
a client connects, and everything the broker sends back (CONNACK, messages, DISCONNECT) lands in
queues the test reads with timeouts."""
import queue
import socket
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def props(packet_type, **values):
    p = Properties(packet_type)
    for k, v in values.items():
        setattr(p, k, v)
    return p


class Client:
    def __init__(self, port, client_id="", v5=True, clean=True, keepalive=60, will=None,
                 connect_props=None, username=None, password=None, wait=True):
        self.v5 = v5
        kwargs = {"client_id": client_id, "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311}
        if not v5:
            kwargs["clean_session"] = clean
        self.c = mqtt.Client(**kwargs)
        self.messages = queue.Queue()
        self.connacks = queue.Queue()
        self.disconnects = queue.Queue()
        self.subacks = queue.Queue()
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        if v5:
            self.c.on_connect = lambda c, u, f, rc, p=None: self.connacks.put((f, rc, p))
            self.c.on_disconnect = lambda c, u, rc, p=None: self.disconnects.put(rc)
            self.c.on_subscribe = lambda c, u, mid, codes, p=None: self.subacks.put(codes)
        else:
            self.c.on_connect = lambda c, u, f, rc: self.connacks.put((f, rc, None))
            self.c.on_disconnect = lambda c, u, rc: self.disconnects.put(rc)
            self.c.on_subscribe = lambda c, u, mid, codes: self.subacks.put(codes)
        if username is not None:
            self.c.username_pw_set(username, password)
        if will is not None:
            topic, payload, qos, retain, wprops = (list(will) + [None] * 5)[:5]
            self.c.will_set(topic, payload, qos or 0, bool(retain), properties=wprops)
        connect_kwargs = {"keepalive": keepalive}
        if v5:
            connect_kwargs["clean_start"] = clean
            connect_kwargs["properties"] = connect_props
        self.c.connect("127.0.0.1", port, **connect_kwargs)
        self.c.loop_start()
        self.flags = self.rc = self.connack_props = None
        if wait:
            self.flags, self.rc, self.connack_props = self.connacks.get(timeout=10)

    def subscribe(self, topic, qos=0, options=None, properties=None):
        if self.v5:
            opts = options or mqtt.SubscribeOptions(qos=qos)
            self.c.subscribe(topic, options=opts, properties=properties)
        else:
            self.c.subscribe(topic, qos)
        return self.subacks.get(timeout=10)

    def publish(self, topic, payload, qos=0, retain=False, properties=None, wait=True):
        info = self.c.publish(topic, payload, qos, retain, properties=properties)
        if wait and qos > 0:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
        return info

    def get(self, timeout=5):
        return self.messages.get(timeout=timeout)

    def get_all(self, n, timeout=10):
        deadline = time.time() + timeout
        out = []
        while len(out) < n:
            out.append(self.messages.get(timeout=max(0.01, deadline - time.time())))
        return out

    def assert_nothing(self, wait=0.5):
        try:
            m = self.messages.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected message on {m.topic}: {m.payload!r}")

    def disconnect(self, properties=None, reasoncode=None):
        if self.v5:
            self.c.disconnect(reasoncode=reasoncode, properties=properties)
        else:
            self.c.disconnect()
        self.c.loop_stop()

    def drop(self):
        """Closes the socket without DISCONNECT (a crash or a lost network)."""
        self.c.loop_stop()
        sock = self.c.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def raw_connect(port, packet=None, timeout=5):
    """A raw TCP socket to the broker, optionally sending bytes first."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if packet:
        s.sendall(packet)
    return s


def read_all(sock, timeout=5):
    """Everything the broker sends until it closes the connection (or the timeout)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        return data, True


CONNECT_V5_PREFIX = bytes([0x00, 0x04]) + b"MQTT" + bytes([0x05])
CONNECT_V311_PREFIX = bytes([0x00, 0x04]) + b"MQTT" + bytes([0x04])


def connect_packet(client_id, v5=True, keepalive=60, props=b""):
    body = (CONNECT_V5_PREFIX if v5 else CONNECT_V311_PREFIX) + bytes([0x02]) + \
        keepalive.to_bytes(2, "big")
    if v5:
        body += bytes([len(props)]) + props
    body += len(client_id).to_bytes(2, "big") + client_id.encode()
    return bytes([0x10, len(body)]) + body


PacketTypes = PacketTypes
