"""The broker's limits (docs/mqtt.md, "Limits") against a real imetd: connection limits in total
and per address, the connect timeout, the client -> broker Receive Maximum, topic length and depth,
the session queue's drop rule and its $SYS counters, and a subscriber that never reads. Each limit
gets the reason code and log line docs/mqtt.md gives for it, and the clients inside the limits
carry on unaffected."""
import os
import re
import resource
import socket
import threading
import time

import pytest

from mqtt_client import Client, connect_packet, props, PacketTypes, raw_connect, read_all
from test_mqtt_broker import start_broker
from test_mqtt_conformance import raw_client, recv_packet

DISCONNECT, PUBACK, PUBREC = 0xE0, 0x40, 0x50


def raw_from(source_ip, port, client_id=None):
    """A raw TCP connection from a given loopback address; with a client id, also CONNECT (5.0)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source_ip, 0))
    if client_id is not None:
        s.sendall(connect_packet(client_id))
    return s


def refused_without_connack(sock):
    data, closed = read_all(sock)
    return data == b"" and closed


def sys_value(port, topic, want, timeout=15):
    """Waits until the retained $SYS topic shows `want` (bytes, or a predicate on the payload); it
    is republished every sys_interval."""
    ok = want if callable(want) else (lambda v: v == want)
    c = Client(port)
    c.subscribe(topic)
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        try:
            m = c.get(timeout=max(0.1, deadline - time.time()))
        except Exception:
            break
        seen.append(m.payload)
        if ok(m.payload):
            c.disconnect()
            return m.payload
    raise AssertionError(f"{topic}: wanted {want!r}, saw {seen!r}")


def publish_packet(topic, payload, qos=0, packet_id=1, v5=True):
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t
    if qos:
        body += packet_id.to_bytes(2, "big")
    if v5:
        body += b"\x00"  # no properties
    body += payload
    n, length = len(body), b""
    while True:
        b, n = n % 128, n // 128
        length += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    return bytes([0x30 | (qos << 1)]) + length + body


def test_connection_limits_total_and_per_address(imetd, tmp_path):
    b = start_broker(imetd, tmp_path, "max_connections = 3\nmax_connections_per_ip = 2\n"
                     "sys_interval = 1")
    p = b.mqtt_port
    a1 = raw_client(p, "a1", v5=True)
    a2 = raw_client(p, "a2", v5=True)
    # A third socket from 127.0.0.1: closed at once, before any CONNACK.
    assert refused_without_connack(raw_from("127.0.0.1", p, "a3"))
    b.wait_for("mqtt connection refused: max_connections_per_ip reached")
    # Another address still gets in, up to max_connections in all.
    c1 = raw_from("127.0.0.2", p, "c1")
    first, body = recv_packet(c1)
    assert first == 0x20 and body[1] == 0
    assert refused_without_connack(raw_from("127.0.0.3", p, "d1"))
    b.wait_for("mqtt connection refused: max_connections reached")
    # The admitted clients were not disturbed: a1 still answers PINGREQ.
    a1.sendall(b"\xc0\x00")
    assert recv_packet(a1) == (0xD0, b"")
    # Once a connection ends, its place is free again.
    a2.sendall(b"\xe0\x00")
    a2.close()
    deadline = time.time() + 10
    while True:
        s = raw_from("127.0.0.1", p, "a4")
        data, _ = read_all(s, timeout=1)
        if data[:1] == b"\x20":
            break
        assert time.time() < deadline, "a closed connection's place was not freed"
    s.close()
    time.sleep(0.2)
    a1.close()
    sys_value(p, "$SYS/broker/connections/refused", b"2")


def test_low_soft_fd_limit_is_raised_to_the_hard_limit(imetd, tmp_path):
    """Started with a soft RLIMIT_NOFILE of 256 (the hard limit as usual), imetd raises it, logs
    it, and holds 600 connections, which the soft limit alone would not allow."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"hard RLIMIT_NOFILE {hard} is too low for this test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # inherited by imetd
    try:
        b = start_broker(imetd, tmp_path)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), hard))
    assert "soft_at_start=256" in b.output()
    clients = [raw_client(b.mqtt_port, f"c{i}", v5=True) for i in range(600)]
    clients[0].sendall(b"\xc0\x00")  # PINGREQ: the first is still served
    assert recv_packet(clients[0]) == (0xD0, b"")
    for c in clients:
        c.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_file_descriptors_neither_spins_nor_floods_the_log(imetd, tmp_path):
    """With imetd's descriptors used up (its RLIMIT_NOFILE lowered from outside), connections
    wait in the listen backlogs of the MQTT and P2P listeners: each listener retries accept()
    after a pause instead of spinning on EMFILE, logs the failure once per interval, and serves
    the waiting client once descriptors are free again."""
    b = start_broker(imetd, tmp_path)
    pid = b.proc.pid
    p2p_port = int(re.search(r'127\.0\.0\.1:(\d+)"\s*$',
                             (tmp_path / "imetd.toml").read_text()).group(1))
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    limit = in_use + 30
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    clients = []
    try:
        for i in range(40):  # the first ~30 are accepted, the rest wait in the backlog
            clients.append(raw_connect(b.mqtt_port, connect_packet(f"fd{i}")))
        b.wait_for("mqtt accept failed")
        # A descriptor imetd frees meanwhile (a file it had open at start) goes to the next P2P
        # connection, which is accepted at once: connect until one is not.
        p2p = []
        while "p2p accept failed" not in b.output():
            assert len(p2p) < 200, "the P2P listener never ran out of descriptors"
            p2p.append(socket.create_connection(("127.0.0.1", p2p_port), timeout=5))
            time.sleep(0.05)
        cpu0, t0 = cpu_seconds(pid), time.time()
        time.sleep(3)
        busy = (cpu_seconds(pid) - cpu0) / (time.time() - t0)
        assert busy < 0.3, f"imetd used {busy:.0%} of a core while out of descriptors"
        out = b.output()
        assert out.count("mqtt accept failed") == 1, out
        assert out.count("p2p accept failed") == 1, out
        assert "Too many open files" in out
    finally:
        for c in clients[:30]:
            c.close()
    # Descriptors are free again: a client still waiting in the backlog gets its CONNACK.
    first, body = recv_packet(clients[-1])
    assert first == 0x20 and body[1] == 0
    for s in p2p:
        s.close()
    for c in clients[30:]:
        c.close()
    assert b.proc.poll() is None


def test_connect_timeout_closes_silent_and_incomplete_sockets(imetd, tmp_path):
    b = start_broker(imetd, tmp_path, "connect_timeout_ms = 500")
    p = b.mqtt_port
    sub = Client(p)
    sub.subscribe("ok/#")
    silent = raw_connect(p)
    partial = raw_connect(p, connect_packet("partial")[:7])  # half a CONNECT, then nothing
    t0 = time.time()
    for s in (silent, partial):
        data, closed = read_all(s, timeout=5)
        assert closed and data == b""
    assert 0.3 < time.time() - t0 < 4
    b.wait_for("mqtt connect timeout")
    Client(p).publish("ok/1", b"unaffected", qos=1)
    assert sub.get().payload == b"unaffected"


def test_connection_flood_and_slow_connect(imetd, tmp_path):
    """900 sockets opened at once that never send a CONNECT, and one that sends its CONNECT a
    byte at a time (slowloris): the connect timeout counts from the accept, not from the last
    byte, so all are closed; a client connecting in the middle of the flood is served at once."""
    b = start_broker(imetd, tmp_path, "connect_timeout_ms = 1000\nsys_interval = 1")
    p = b.mqtt_port
    # paho's loop uses select(), which takes no descriptor above 1023: its clients come first.
    c = Client(p)
    c.subscribe("f/#")
    pub = Client(p)
    flood = [raw_connect(p) for _ in range(900)]
    slow = raw_connect(p)
    t0 = time.time()
    pub.publish("f/1", b"served during the flood", qos=1)
    assert c.get().payload == b"served during the flood"
    packet = connect_packet("slow")
    closed_after = None
    for i in range(len(packet)):
        try:
            slow.sendall(packet[i:i + 1])
        except OSError:
            closed_after = time.time() - t0
            break
        time.sleep(0.2)
    if closed_after is None:
        data, closed = read_all(slow, timeout=5)
        assert closed and data == b"", "a CONNECT sent a byte at a time outlived the timeout"
        closed_after = time.time() - t0
    assert closed_after < 4, closed_after
    for s in flood:
        data, closed = read_all(s, timeout=5)
        assert closed and data == b""
        s.close()
    slow.close()
    assert time.time() - t0 < 8
    # Only the subscriber and the publisher are left (the $SYS reader itself makes three).
    sys_value(p, "$SYS/broker/clients/connected", b"3")
    c.disconnect()


def test_receive_maximum_exceeded_is_disconnect_0x93(imetd, tmp_path):
    b = start_broker(imetd, tmp_path, "receive_maximum = 2")
    p = b.mqtt_port
    sub = Client(p)
    sub.subscribe("rm/#")
    c = raw_client(p, "greedy", v5=True)
    # Two QoS 2 PUBLISH without PUBREL fill the Receive Maximum (2, advertised in CONNACK): each
    # is held awaiting PUBREL. A third exceeds it.
    c.sendall(publish_packet("rm/x", b"1", qos=2, packet_id=1) +
              publish_packet("rm/x", b"2", qos=2, packet_id=2))
    assert [recv_packet(c) for _ in range(2)] == [(PUBREC, b"\x00\x01"), (PUBREC, b"\x00\x02")]
    c.sendall(publish_packet("rm/x", b"3", qos=2, packet_id=3))
    first, body = recv_packet(c)
    assert first == DISCONNECT and body[0] == 0x93, (hex(first), body)
    assert read_all(c)[1]
    # The two accepted messages were routed (on receipt, once each); the third was not.
    assert sorted(m.payload for m in sub.get_all(2)) == [b"1", b"2"]
    sub.assert_nothing()
    Client(p).publish("rm/ok", b"fine", qos=2)
    assert sub.get().payload == b"fine"


def test_topic_length_and_depth_limits(imetd, tmp_path):
    b = start_broker(imetd, tmp_path, "max_topic_levels = 3\nmax_topic_length = 24")
    p = b.mqtt_port
    everything = Client(p)
    everything.subscribe("#")
    # 5.0 QoS 1 PUBLISH too deep / too long: PUBACK 0x90, the connection stays.
    c = raw_client(p, "deep", v5=True)
    c.sendall(publish_packet("a/b/c/d", b"x", qos=1, packet_id=7))
    assert recv_packet(c) == (PUBACK, b"\x00\x07\x90")
    c.sendall(publish_packet("t" * 25, b"x", qos=1, packet_id=8))
    assert recv_packet(c) == (PUBACK, b"\x00\x08\x90")
    c.sendall(publish_packet("a/b/c", b"at the limit", qos=1, packet_id=9))
    assert recv_packet(c) == (PUBACK, b"\x00\x09")  # success: the reason code may be left out
    assert everything.get().payload == b"at the limit"
    # 5.0 QoS 0 too deep: DISCONNECT 0x90. 3.1.1: closed.
    c.sendall(publish_packet("a/b/c/d", b"x"))
    first, body = recv_packet(c)
    assert first == DISCONNECT and body[0] == 0x90
    v3 = raw_client(p, "deep3", v5=False)
    v3.sendall(publish_packet("a/b/c/d", b"x", v5=False))
    data, closed = read_all(v3)
    assert closed and data == b""
    # SUBSCRIBE too deep: SUBACK 0x8F (5.0) / 0x80 (3.1.1); a filter within the limits is granted.
    assert [rc.value for rc in Client(p).subscribe("a/b/c/#")] == [0x8F]
    assert Client(p, v5=False).subscribe("a/b/c/#") == (0x80,)
    assert Client(p, v5=False).subscribe("a/b/#") == (0,)
    everything.assert_nothing()


def test_queue_limit_drops_oldest_qos0_first_and_counts(imetd, tmp_path):
    b = start_broker(imetd, tmp_path,
                     "max_queued_messages = 5\nqueue_qos0_offline = true\nsys_interval = 1")
    p = b.mqtt_port
    expiry = props(PacketTypes.CONNECT, SessionExpiryInterval=300)
    s = Client(p, client_id="offline", clean=True, connect_props=expiry)
    s.subscribe("q/#", qos=1)
    s.disconnect()
    pub = Client(p)
    for i in (1, 2, 3):
        pub.publish("q/0", b"q0-%d" % i, qos=0)
    for i in (1, 2, 3, 4, 5, 6):
        pub.publish("q/1", b"q1-%d" % i, qos=1)  # every one PUBACKed, also the one dropped
    # The queue holds 5: q1-1..q1-3 pushed out q0-1..q0-3 (oldest QoS 0 first); with no QoS 0
    # left, q1-6 itself was dropped.
    back = Client(p, client_id="offline", clean=False, connect_props=expiry)
    assert back.flags["session present"] == 1
    got = [m.payload for m in back.get_all(5)]
    assert got == [b"q1-%d" % i for i in (1, 2, 3, 4, 5)]
    back.assert_nothing()
    sys_value(p, "$SYS/broker/publish/messages/dropped", b"4")
    sys_value(p, "$SYS/broker/publish/messages/qos0_dropped", b"3")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_subscriber_that_never_reads_cannot_exhaust_memory(imetd, tmp_path):
    """Two subscribers that never read (QoS 0 and QoS 1 subscriptions) are sent 512 MiB of QoS 0
    and then 64 MiB of QoS 1 (64 KiB messages) by a publisher as fast as it can: the broker's
    memory stays far below what was sent (unsent bytes are bounded per connection, queued QoS 1 by
    max_queued_bytes and max_inflight, and what waits for the message log by the committer's
    backpressure, which stops reading from clients while the log is behind), it drops what it
    cannot hold and counts it, every QoS 1 message is PUBACKed, and a subscriber that reads gets
    all of them."""
    b = start_broker(imetd, tmp_path,
                     f"max_queued_bytes = {4 << 20}\nmax_inflight = 16\nsys_interval = 1")
    p = b.mqtt_port
    stuck = []
    for qos in (0, 1):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", p))
        s.sendall(connect_packet(f"stuck{qos}"))
        assert recv_packet(s)[0] == 0x20
        t = b"big/#"
        body = b"\x00\x01\x00" + len(t).to_bytes(2, "big") + t + bytes([qos])
        s.sendall(bytes([0x82, len(body)]) + body)
        assert recv_packet(s)[0] == 0x90
        stuck.append(s)  # never read again
    reader = raw_client(p, "reader", v5=True)
    t = b"big/#"
    body = b"\x00\x01\x00" + len(t).to_bytes(2, "big") + t + b"\x01"
    reader.sendall(bytes([0x82, len(body)]) + body)
    assert recv_packet(reader)[0] == 0x90
    received = {0: 0, 1: 0}

    def drain():  # what a subscriber that keeps up sees; QoS 0 may be dropped when it lags
        while True:
            first, body = recv_packet(reader, timeout=30)
            if first >> 4 != 3:
                continue
            qos = (first >> 1) & 3
            tlen = int.from_bytes(body[:2], "big")
            if qos:
                reader.sendall(b"\x40\x02" + body[2 + tlen:4 + tlen])
            if body[2:2 + tlen] == b"big/end":
                return
            received[qos] += 1

    th = threading.Thread(target=drain)
    th.start()
    before = rss_kib(b.proc.pid)
    pub = raw_client(p, "flood", v5=True)
    chunk = b"z" * (64 * 1024)
    for i in range(8192):
        pub.sendall(publish_packet("big/0", chunk))
    pub.sendall(publish_packet("big/sync", b"", qos=1, packet_id=1))
    assert recv_packet(pub, timeout=30)[0] == PUBACK  # every QoS 0 message before it was read
    grown_mib = (rss_kib(b.proc.pid) - before) / 1024
    # Measured: 60-82 MiB (the committer's backlog bound, 16 MiB, pending plus the round being
    # written; the connections' 4 MiB output buffers; allocator slack), the same after 1 GiB.
    # Without the committer's backpressure it grew by 268-302 MiB here, in step with the flood.
    assert grown_mib < 128, f"imetd grew by {grown_mib:.0f} MiB for 512 MiB sent to stuck readers"
    for i in range(1024):
        pub.sendall(publish_packet("big/1", chunk, qos=1, packet_id=i + 1))
        assert recv_packet(pub, timeout=30)[0] == PUBACK  # stored and routed
    pub.sendall(publish_packet("big/end", b"", qos=1, packet_id=1))
    assert recv_packet(pub, timeout=30)[0] == PUBACK
    th.join(timeout=60)
    assert not th.is_alive()
    assert received[1] == 1024 + 1 and received[0] > 0, received  # + big/sync
    # stuck1 holds at most 16 in flight + 4 MiB queued + 4 MiB unsent of the 1,024 QoS 1 messages.
    sys_value(p, "$SYS/broker/publish/messages/dropped",
              lambda v: int(v) - int(sys_value(p, "$SYS/broker/publish/messages/qos0_dropped",
                                               lambda _: True)) >= 1024 - 16 - 64 - 64)
    # The broker is fine, also for the stuck subscribers' next messages (dropped or queued).
    sub = Client(p)
    sub.subscribe("after")
    Client(p).publish("after", b"small", qos=1)
    assert sub.get().payload == b"small"
    for s in stuck:
        s.close()
