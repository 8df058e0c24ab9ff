"""The MQTT broker of imetd over TLS and WebSocket ([mqtt] tls_listen, ws_listen, wss_listen) with
real clients: mosquitto_pub/mosquitto_sub over TLS (server certificate, client certificates
required or not), paho-mqtt over TLS, WebSocket and WebSocket over TLS (3.1.1 and 5.0), messages
crossing transports, and what the listeners refuse: wrong WebSocket path or subprotocol, text
frames, old TLS versions, missing client certificates, garbage and silent clients. The test CA,
server and client certificates are made at test time with the openssl command-line tool."""
import base64
import os
import queue
import socket
import ssl
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

from conftest import free_port, run_imetd
from mqtt_client import connect_packet, props, PacketTypes

# ---------------------------------------------------------------------------------------------
# Certificates


def _openssl(cwd, *args):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(args)}:\n{r.stderr}"


def _make_ca(d, name, cn):
    _openssl(d, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={cn}")


def _make_cert(d, name, cn, ca, ext):
    _openssl(d, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
    (d / f"{name}.ext").write_text(ext)
    _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")


class Certs:
    def __init__(self, d):
        self.dir = d
        _make_ca(d, "ca", "IMET test CA")
        _make_cert(d, "server", "localhost", "ca",
                   "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        _make_cert(d, "client", "device-1", "ca", "extendedKeyUsage=clientAuth\n")
        # A client certificate from a CA the broker does not trust.
        _make_ca(d, "rogue_ca", "Rogue CA")
        _make_cert(d, "rogue", "device-2", "rogue_ca", "extendedKeyUsage=clientAuth\n")

    def __getattr__(self, name):  # certs.ca_crt -> <dir>/ca.crt
        stem, _, ext = name.rpartition("_")
        return str(self.dir / f"{stem}.{ext}")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certs(tmp_path_factory.mktemp("certs"))


# ---------------------------------------------------------------------------------------------
# The node


def node_config(tmp_path, name, mqtt_extra):
    cfg = tmp_path / f"{name}.toml"
    ports = {k: free_port() for k in ("mqtt", "http", "p2p")}
    cfg.write_text(f"""
data_dir = "{tmp_path / name}"
dev = true
[mqtt]
listen = "127.0.0.1:{ports['mqtt']}"
{mqtt_extra}
[http]
listen = "127.0.0.1:{ports['http']}"
[p2p]
listen = "127.0.0.1:{ports['p2p']}"
""")
    return cfg, ports["mqtt"]


def start_node(imetd, tmp_path, certs, name="imetd", tls=True, ws=True, wss=True, ws_path=None,
               require_client_cert=False, ca=True, extra=""):
    lines = []
    ports = {}
    for key, on in (("tls", tls), ("ws", ws), ("wss", wss)):
        if on:
            ports[key] = free_port()
            lines.append(f'{key}_listen = "127.0.0.1:{ports[key]}"')
    if ws_path is not None:
        lines.append(f'ws_path = "{ws_path}"')
    lines.append(f'tls_cert_file = "{certs.server_crt}"')
    lines.append(f'tls_key_file = "{certs.server_key}"')
    if ca:
        lines.append(f'tls_ca_file = "{certs.ca_crt}"')
    if require_client_cert:
        lines.append("tls_require_client_cert = true")
    cfg, tcp_port = node_config(tmp_path, name, "\n".join(lines) + "\n" + extra)
    d = imetd("--config", str(cfg), name=name)
    for key in ports:
        d.wait_for(f"transport={key}")
    d.ports = dict(ports, tcp=tcp_port)
    return d


@pytest.fixture
def node(imetd, tmp_path, certs):
    return start_node(imetd, tmp_path, certs)


# ---------------------------------------------------------------------------------------------
# Clients


class Client:
    """paho-mqtt over tcp, tls, ws or wss; received messages and CONNACKs land in queues."""

    def __init__(self, port, transport="tcp", certs=None, v5=True, client_id="", path="/mqtt",
                 client_cert=None, wait=True):
        kwargs = {"client_id": client_id, "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                  "transport": "websockets" if transport in ("ws", "wss") else "tcp"}
        self.v5 = v5
        self.c = mqtt.Client(**kwargs)
        self.messages = queue.Queue()
        self.connacks = queue.Queue()
        self.subacks = queue.Queue()
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        if v5:
            self.c.on_connect = lambda c, u, f, rc, p=None: self.connacks.put((rc, p))
            self.c.on_subscribe = lambda c, u, mid, codes, p=None: self.subacks.put(codes)
        else:
            self.c.on_connect = lambda c, u, f, rc: self.connacks.put((rc, None))
            self.c.on_subscribe = lambda c, u, mid, codes: self.subacks.put(codes)
        if transport in ("ws", "wss"):
            self.c.ws_set_options(path=path)
        if transport in ("tls", "wss"):
            cert, key = client_cert if client_cert else (None, None)
            self.c.tls_set(ca_certs=certs.ca_crt, certfile=cert, keyfile=key)
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        self.rc = self.connack_props = None
        if wait:
            self.rc, self.connack_props = self.connacks.get(timeout=10)

    def subscribe(self, topic, qos=0):
        if self.v5:
            self.c.subscribe(topic, options=mqtt.SubscribeOptions(qos=qos))
        else:
            self.c.subscribe(topic, qos)
        return self.subacks.get(timeout=10)

    def publish(self, topic, payload, qos=0, properties=None):
        info = self.c.publish(topic, payload, qos, properties=properties)
        if qos > 0:
            info.wait_for_publish(timeout=10)
            assert info.is_published()

    def get(self, timeout=5):
        return self.messages.get(timeout=timeout)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def mosquitto(tool, port, *args, certs=None, client_cert=None):
    argv = [tool, "-h", "127.0.0.1", "-p", str(port)]
    if certs is not None:
        argv += ["--cafile", certs.ca_crt]
    if client_cert is not None:
        argv += ["--cert", client_cert[0], "--key", client_cert[1]]
    return argv + list(args)


class Sub:
    """mosquitto_sub, started and subscribed: with -d (line-buffered) it reports the SUBACK, and the
    constructor returns once it has one, so nothing published after it can be missed."""

    def __init__(self, port, *args, **kw):
        argv = ["stdbuf", "-oL"] + mosquitto("mosquitto_sub", port, "-d", *args, **kw)
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.head = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                break  # it ended (the caller's assertions on returncode say why)
            self.head.append(line)
            if "received SUBACK" in line:
                break

    def communicate(self, timeout):
        """(message lines without the debug lines, stderr); sets returncode."""
        out, err = self.p.communicate(timeout=timeout)
        self.returncode = self.p.returncode
        lines = "".join(self.head).splitlines() + out.splitlines()
        debug = ("Client ", "Subscribed (mid")
        return [x for x in lines if not x.startswith(debug)], err


def pub(port, *args, **kw):
    return subprocess.run(mosquitto("mosquitto_pub", port, *args, **kw), capture_output=True,
                          text=True, timeout=15)


# ---------------------------------------------------------------------------------------------
# Raw WebSocket (to control framing and the upgrade request)


def ws_upgrade(port, path="/mqtt", protocol="mqtt", extra_headers="", tls_ctx=None):
    """Sends an upgrade request; returns (socket, the HTTP response head, bytes after it)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls_ctx is not None:
        s = tls_ctx.wrap_socket(s, server_hostname="localhost")
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    if protocol is not None:
        req += f"Sec-WebSocket-Protocol: {protocol}\r\n"
    req += extra_headers + "\r\n"
    s.sendall(req.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return s, head.decode(errors="replace"), rest


def ws_frame(payload, opcode=0x2, fin=True):
    """A masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class WsConn:
    """The client side of an upgraded WebSocket: reads server frames, and MQTT packets from the
    payload of binary messages taken as one byte stream."""

    def __init__(self, sock, rest=b""):
        self.s = sock
        self.buf = bytearray(rest)
        self.stream = b""

    def frame(self, timeout=5):
        """(fin, opcode, payload) of the next server frame; None when the connection ends."""
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                n, off = self.buf[1] & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = int.from_bytes(self.buf[2:4], "big"), 4
                elif n == 127 and len(self.buf) >= 10:
                    n, off = int.from_bytes(self.buf[2:10], "big"), 10
                if n < 126 and len(self.buf) >= off + n:
                    assert not self.buf[1] & 0x80, "server frames are not masked"
                    fin, opcode = bool(self.buf[0] & 0x80), self.buf[0] & 0x0F
                    payload = bytes(self.buf[off:off + n])
                    del self.buf[:off + n]
                    return fin, opcode, payload
            try:
                chunk = self.s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def read(self, n):
        """n bytes of the binary-message stream; None if the connection ends first."""
        while len(self.stream) < n:
            f = self.frame()
            if f is None or f[1] == 0x8:
                return None
            assert f[1] in (0x0, 0x2), f
            self.stream += f[2]
        out, self.stream = self.stream[:n], self.stream[n:]
        return out

    def packet(self):
        """One MQTT packet (fixed header included); None if the connection ends."""
        head = self.read(2)
        if head is None:
            return None
        length, shift, i = 0, 0, 1
        while True:
            length |= (head[i] & 0x7F) << shift
            if not head[i] & 0x80:
                break
            head += self.read(1)
            i, shift = i + 1, shift + 7
        return head + self.read(length)


def subscribe_packet(packet_id, topic, v5=True):
    body = packet_id.to_bytes(2, "big") + (b"\x00" if v5 else b"")
    body += len(topic).to_bytes(2, "big") + topic.encode() + b"\x00"
    return bytes([0x82, len(body)]) + body


# ---------------------------------------------------------------------------------------------
# TLS


@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_clients_over_tls(node, certs, version):
    port = node.ports["tls"]
    sub = Sub(port, "-V", version, "-q", "1", "-t", "secure/#", "-v", "-C", "2", "-W", "10",
              certs=certs)
    for i in range(2):
        r = pub(port, "-V", version, "-q", "1", "-t", f"secure/{i}", "-m", f"v{i}", certs=certs)
        assert r.returncode == 0, r.stderr
    out, err = sub.communicate(timeout=15)
    assert sub.returncode == 0, err
    assert out == ["secure/0 v0", "secure/1 v1"]


def test_tls_client_without_ca_trust_fails(node, certs):
    # The server certificate is checked by the client: a client trusting another CA refuses it.
    r = pub(node.ports["tls"], "-t", "x", "-m", "y", "--cafile", certs.rogue_ca_crt)
    assert r.returncode != 0


def test_plain_mqtt_on_tls_port_is_refused_and_node_survives(node, certs):
    s = socket.create_connection(("127.0.0.1", node.ports["tls"]), timeout=5)
    s.sendall(connect_packet("plain-on-tls"))
    s.settimeout(5)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    # Never a CONNACK: at most a TLS alert record (content type 21).
    assert not data.startswith(b"\x20"), data
    assert data == b"" or data[0] == 21, data
    r = pub(node.ports["tls"], "-t", "after", "-m", "ok", certs=certs)
    assert r.returncode == 0, r.stderr


def test_client_certificate_required(imetd, tmp_path, certs):
    d = start_node(imetd, tmp_path, certs, ws=False, wss=False, require_client_cert=True)
    port = d.ports["tls"]
    good = (certs.client_crt, certs.client_key)
    sub = Sub(port, "-t", "devices/#", "-C", "1", "-W", "10", certs=certs, client_cert=good)
    # Without a certificate, or with one from an untrusted CA: the handshake fails.
    r = pub(port, "-t", "devices/1", "-m", "no cert", certs=certs)
    assert r.returncode != 0
    r = pub(port, "-t", "devices/1", "-m", "rogue", certs=certs,
            client_cert=(certs.rogue_crt, certs.rogue_key))
    assert r.returncode != 0
    r = pub(port, "-t", "devices/1", "-m", "with cert", certs=certs, client_cert=good)
    assert r.returncode == 0, r.stderr
    out, err = sub.communicate(timeout=15)
    assert sub.returncode == 0, err
    assert out == ["with cert"]
    # paho with the client certificate, too.
    c = Client(port, "tls", certs, client_cert=good)
    assert c.rc == 0
    c.close()


def test_optional_client_certificate(node, certs):
    # tls_ca_file without tls_require_client_cert: a client without a certificate is accepted, a
    # presented certificate must verify.
    port = node.ports["tls"]
    assert pub(port, "-t", "a", "-m", "1", certs=certs).returncode == 0
    assert pub(port, "-t", "a", "-m", "1", certs=certs,
               client_cert=(certs.client_crt, certs.client_key)).returncode == 0
    assert pub(port, "-t", "a", "-m", "1", certs=certs,
               client_cert=(certs.rogue_crt, certs.rogue_key)).returncode != 0


def test_paho_over_tls(node, certs):
    port = node.ports["tls"]
    s = Client(port, "tls", certs)
    assert s.rc == 0
    assert [c.value for c in s.subscribe("paho/tls", qos=1)] == [1]
    p = Client(port, "tls", certs, v5=False)
    p.publish("paho/tls", b"\x00\x01binary" * 1000, qos=1)
    m = s.get()
    assert (m.topic, m.payload, m.qos) == ("paho/tls", b"\x00\x01binary" * 1000, 1)
    p.close()
    s.close()


def _s_client(port, *args):
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                          input="", capture_output=True, text=True, timeout=20)


def test_only_tls_1_2_and_newer(node, certs):
    port = node.ports["tls"]
    for version, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        r = _s_client(port, version, "-CAfile", certs.ca_crt, "-verify_return_error")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"Protocol  : {name}" in r.stdout or f"New, {name}" in r.stdout, r.stdout
    for version in ("-tls1_1", "-tls1"):
        # SECLEVEL=0 lets this client offer the old version; the broker must refuse it.
        r = _s_client(port, version, "-cipher", "DEFAULT@SECLEVEL=0")
        assert r.returncode != 0, r.stdout
        assert "Cipher is (NONE)" in r.stdout or "no protocols available" in r.stderr \
            or "alert protocol version" in r.stderr or "unsupported protocol" in r.stderr, \
            r.stdout + r.stderr


def test_silent_and_garbage_tls_clients_are_cut_off(imetd, tmp_path, certs):
    d = start_node(imetd, tmp_path, certs, ws=False, extra="connect_timeout_ms = 500\n")
    for port in (d.ports["tls"], d.ports["wss"]):
        # Silent TCP client: no ClientHello. The connect timeout closes the socket.
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)
        # A client that finishes the TLS handshake but never sends CONNECT (or never upgrades).
        ctx = ssl.create_default_context(cafile=certs.ca_crt)
        idle = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                               server_hostname="localhost")
        start = time.time()
        for s in (silent, idle):
            s.settimeout(5)
            try:
                assert s.recv(100) == b""
            except (ConnectionResetError, ssl.SSLError):
                pass
        assert time.time() - start < 4
        # Garbage bytes on the TLS port.
        for blob in (os.urandom(3000), b"\x16\x03\x01\xff\xff" + os.urandom(200), b"GET / HTTP/1.1"
                     b"\r\n\r\n"):
            g = socket.create_connection(("127.0.0.1", port), timeout=5)
            g.sendall(blob)
            g.close()
    r = pub(d.ports["tls"], "-t", "still", "-m", "alive", certs=certs)
    assert r.returncode == 0, r.stderr
    assert d.proc.poll() is None


# ---------------------------------------------------------------------------------------------
# WebSocket


@pytest.mark.parametrize("v5", [False, True])
def test_paho_over_websocket(node, v5):
    port = node.ports["ws"]
    s = Client(port, "ws", v5=v5)
    assert s.rc == 0
    s.subscribe("ws/+", qos=1)
    p = Client(port, "ws", v5=v5)
    big = bytes(range(256)) * 600  # 150 KiB: one WebSocket message, many TCP segments
    p.publish("ws/a", b"small", qos=1)
    p.publish("ws/b", big, qos=1)
    m1, m2 = s.get(), s.get()
    assert (m1.topic, m1.payload) == ("ws/a", b"small")
    assert (m2.topic, m2.payload) == ("ws/b", big)
    p.close()
    s.close()


def test_v5_client_over_websocket_with_properties(imetd, tmp_path, certs):
    d = start_node(imetd, tmp_path, certs, tls=False, wss=False, extra="receive_maximum = 77\n")
    port = d.ports["ws"]
    s = Client(port, "ws", v5=True, client_id="ws-v5-sub")
    assert s.rc == 0
    # CONNACK properties arrive over WebSocket as over TCP.
    assert s.connack_props.ReceiveMaximum == 77
    s.subscribe("req/#", qos=1)
    p = Client(port, "ws", v5=True)
    p.publish("req/x", b"ping", qos=1,
              properties=props(PacketTypes.PUBLISH, ResponseTopic="resp/x",
                               CorrelationData=b"c1", UserProperty=[("k", "v")]))
    m = s.get()
    assert m.payload == b"ping"
    assert m.properties.ResponseTopic == "resp/x"
    assert m.properties.CorrelationData == b"c1"
    assert ("k", "v") in m.properties.UserProperty
    p.close()
    s.close()


def test_paho_over_secure_websocket(node, certs):
    port = node.ports["wss"]
    s = Client(port, "wss", certs)
    assert s.rc == 0
    s.subscribe("wss/t", qos=1)
    p = Client(port, "wss", certs, v5=False)
    p.publish("wss/t", b"over wss", qos=1)
    assert s.get().payload == b"over wss"
    p.close()
    s.close()


def test_message_crosses_transports(node, certs):
    ws_sub = Client(node.ports["ws"], "ws", client_id="ws-sub")
    ws_sub.subscribe("cross/#", qos=1)
    wss_sub = Client(node.ports["wss"], "wss", certs, client_id="wss-sub")
    wss_sub.subscribe("cross/#", qos=1)
    tls_sub = Sub(node.ports["tls"], "-t", "cross/#", "-v", "-q", "1", "-C", "2", "-W", "15",
                  certs=certs)
    tcp_sub = Sub(node.ports["tcp"], "-t", "cross/#", "-v", "-q", "1", "-C", "2", "-W", "15")
    # A TCP publisher reaches WebSocket, WSS and TLS subscribers ...
    r = pub(node.ports["tcp"], "-t", "cross/from-tcp", "-m", "hello", "-q", "1")
    assert r.returncode == 0, r.stderr
    # ... and a WebSocket publisher reaches TLS and TCP subscribers.
    ws_pub = Client(node.ports["ws"], "ws", v5=False)
    ws_pub.publish("cross/from-ws", b"world", qos=1)
    for c in (ws_sub, wss_sub):
        got = sorted((m.topic, m.payload) for m in (c.get(), c.get()))
        assert got == [("cross/from-tcp", b"hello"), ("cross/from-ws", b"world")]
    for proc in (tls_sub, tcp_sub):
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert sorted(out) == ["cross/from-tcp hello", "cross/from-ws world"]
    for c in (ws_pub, ws_sub, wss_sub):
        c.close()


def test_websocket_wrong_path_is_refused(node):
    port = node.ports["ws"]
    s, head, _ = ws_upgrade(port, path="/other")
    assert head.startswith("HTTP/1.1 404"), head
    s.close()
    with pytest.raises(mqtt.WebsocketConnectionError):
        Client(port, "ws", path="/other", wait=False)
    # The configured path works; a query string is ignored.
    s, head, _ = ws_upgrade(port, path="/mqtt?client=1")
    assert head.startswith("HTTP/1.1 101"), head
    assert "sec-websocket-protocol: mqtt" in head.lower(), head
    s.close()


def test_custom_websocket_path(imetd, tmp_path, certs):
    d = start_node(imetd, tmp_path, certs, tls=False, ws_path="/iot/mqtt")
    for transport in ("ws", "wss"):
        c = Client(d.ports[transport], transport, certs, path="/iot/mqtt")
        assert c.rc == 0
        c.close()
        with pytest.raises(mqtt.WebsocketConnectionError):
            Client(d.ports[transport], transport, certs, path="/mqtt", wait=False)


@pytest.mark.parametrize("protocol,expect", [
    ("mqtt", "101"), ("chat, mqtt", "101"), (None, "400"), ("mqttv3.1", "400"), ("chat", "400")])
def test_websocket_subprotocol(node, protocol, expect):
    s, head, _ = ws_upgrade(node.ports["ws"], protocol=protocol)
    assert head.startswith(f"HTTP/1.1 {expect}"), head
    if expect == "101":
        assert "sec-websocket-protocol: mqtt\r\n" in head.lower() + "\r\n", head
    s.close()


def test_websocket_non_upgrade_requests_are_refused(node):
    port = node.ports["ws"]
    for req in (b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /mqtt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
                b"garbage\r\n\r\n", os.urandom(2000)):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(req)
        s.settimeout(5)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        assert not data.startswith(b"HTTP/1.1 101"), data
        s.close()
    # A missing Sec-WebSocket-Key is refused by the accept itself.
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /mqtt HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 400")
    s.close()
    c = Client(port, "ws")
    assert c.rc == 0
    c.close()


@pytest.mark.parametrize("secure", [False, True])
def test_mqtt_packets_span_and_share_websocket_messages(node, certs, secure):
    tls_ctx = ssl.create_default_context(cafile=certs.ca_crt) if secure else None
    s, head, rest = ws_upgrade(node.ports["wss" if secure else "ws"], tls_ctx=tls_ctx)
    assert head.startswith("HTTP/1.1 101"), head
    ws = WsConn(s, rest)
    connect = connect_packet("frames", v5=True)
    # CONNECT split over three messages, the middle one empty.
    s.sendall(ws_frame(connect[:3]) + ws_frame(b"") + ws_frame(connect[3:]))
    connack = ws.packet()
    assert connack is not None and connack[0] == 0x20 and connack[3] == 0, connack
    # SUBSCRIBE without its last byte in one message; that byte and a PINGREQ in a second message
    # sent as two fragments (a continuation frame).
    sub = subscribe_packet(1, "frames/t")
    s.sendall(ws_frame(sub[:-1]) + ws_frame(sub[-1:] + b"\xc0", fin=False) +
              ws_frame(b"\x00", opcode=0x0))
    suback = ws.packet()
    assert suback[0] == 0x90 and suback[2:4] == b"\x00\x01" and suback[-1] == 0, suback
    assert ws.packet() == b"\xd0\x00"  # PINGRESP
    # A message published over TCP arrives as a PUBLISH.
    p = Client(node.ports["tcp"], "tcp")
    p.publish("frames/t", b"payload", qos=0)
    publish = ws.packet()
    assert publish[0] & 0xF0 == 0x30 and publish.endswith(b"payload"), publish
    p.close()
    # A text message ends the connection (MQTT 5.0 section 6.0).
    s.sendall(ws_frame(b"\xc0\x00", opcode=0x1))
    assert ws.packet() is None
    s.close()


def test_websocket_ping_frames_are_answered(node):
    s, head, rest = ws_upgrade(node.ports["ws"])
    assert head.startswith("HTTP/1.1 101"), head
    ws = WsConn(s, rest)
    s.sendall(ws_frame(connect_packet("pinger")))
    assert ws.packet()[0] == 0x20
    s.sendall(ws_frame(b"hi", opcode=0x9))
    assert ws.frame() == (True, 0xA, b"hi")  # PONG with the same payload
    s.close()


# ---------------------------------------------------------------------------------------------
# Configuration errors


def _run_with(tmp_path, name, mqtt_extra):
    cfg, _ = node_config(tmp_path, name, mqtt_extra)
    return run_imetd("--config", str(cfg))


def test_bad_tls_files_stop_start_up_with_the_key_and_file(tmp_path, certs):
    missing = tmp_path / "nope.pem"
    port = free_port()
    r = _run_with(tmp_path, "a", f'tls_listen = "127.0.0.1:{port}"\n'
                  f'tls_cert_file = "{missing}"\ntls_key_file = "{certs.server_key}"\n')
    assert r.returncode != 0
    assert "tls_cert_file" in r.stderr and str(missing) in r.stderr, r.stderr

    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    r = _run_with(tmp_path, "b", f'wss_listen = "127.0.0.1:{port}"\n'
                  f'tls_cert_file = "{not_pem}"\ntls_key_file = "{certs.server_key}"\n')
    assert r.returncode != 0
    assert "tls_cert_file" in r.stderr and str(not_pem) in r.stderr, r.stderr

    # A key that belongs to another certificate.
    r = _run_with(tmp_path, "c", f'tls_listen = "127.0.0.1:{port}"\n'
                  f'tls_cert_file = "{certs.server_crt}"\ntls_key_file = "{certs.client_key}"\n')
    assert r.returncode != 0
    assert "tls_key_file" in r.stderr and certs.client_key in r.stderr, r.stderr

    r = _run_with(tmp_path, "d", f'tls_listen = "127.0.0.1:{port}"\n'
                  f'tls_cert_file = "{certs.server_crt}"\ntls_key_file = "{certs.server_key}"\n'
                  f'tls_ca_file = "{not_pem}"\n')
    assert r.returncode != 0
    assert "tls_ca_file" in r.stderr and str(not_pem) in r.stderr, r.stderr

    # An encrypted key is refused, never prompted for.
    enc = tmp_path / "enc.key"
    _openssl(tmp_path, "pkey", "-in", certs.server_key, "-aes256", "-passout", "pass:secret",
             "-out", str(enc))
    r = _run_with(tmp_path, "e", f'tls_listen = "127.0.0.1:{port}"\n'
                  f'tls_cert_file = "{certs.server_crt}"\ntls_key_file = "{enc}"\n')
    assert r.returncode != 0
    assert "tls_key_file" in r.stderr and str(enc) in r.stderr, r.stderr


@pytest.mark.parametrize("extra,key", [
    ('tls_listen = "127.0.0.1:{p}"\n', "mqtt.tls_cert_file"),
    ('wss_listen = "127.0.0.1:{p}"\ntls_cert_file = "x.pem"\n', "mqtt.tls_key_file"),
    ('tls_require_client_cert = true\n', "mqtt.tls_require_client_cert"),
    ('ws_path = "mqtt"\n', "mqtt.ws_path"),
    ('ws_listen = "127.0.0.1"\n', "mqtt.ws_listen"),
    ('tls_listn = "127.0.0.1:{p}"\n', "mqtt.tls_listn"),
])
def test_config_errors_name_the_key(tmp_path, extra, key):
    r = _run_with(tmp_path, "n", extra.format(p=free_port()))
    assert r.returncode == 2, r.stderr
    assert f"'{key}'" in r.stderr, r.stderr


def test_listeners_may_not_share_an_address(tmp_path):
    p = free_port()
    r = _run_with(tmp_path, "n", f'ws_listen = "127.0.0.1:{p}"\nwss_listen = "127.0.0.1:{p}"\n'
                  'tls_cert_file = "a"\ntls_key_file = "b"\n')
    assert r.returncode == 2, r.stderr
    assert "mqtt.ws_listen" in r.stderr and "mqtt.wss_listen" in r.stderr, r.stderr
