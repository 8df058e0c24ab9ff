#!/usr/bin/python3
"""Stand-in for `../../src/mosquitto` when the Eclipse Mosquitto broker test suite runs.

Purpose: the mosquitto 2.0.11 broker tests (test/broker/*.py, unmodified) start "the broker" as
`../../src/mosquitto -v -p PORT` or `../../src/mosquitto -v -c NAME.conf`, relative to their
working directory. run_suite.py installs this file there. It starts the broker under test:

  * CONFORMANCE_TARGET=mosquitto: execs CONFORMANCE_MOSQUITTO (default /usr/sbin/mosquitto)
    with the arguments unchanged.
  * CONFORMANCE_TARGET=imetd: translates the arguments and the mosquitto configuration file into
    imetd flags and an imetd TOML config, then execs CONFORMANCE_IMETD. Only directives with an
    exact imetd equivalent are translated (table DIRECTIVES below); for any other directive it
    records the test as not applicable (a line in $CONFORMANCE_TESTDIR/unsupported.txt, read by
    run_suite.py) and exits with status 3, so the test cannot start a broker and fails; the
    runner reports it as N/A, never as a pass.

Settings that mosquitto has by default and that the suite's byte-exact packet checks depend on
are given to imetd too (MOSQUITTO_DEFAULTS): topic alias maximum 10 and receive maximum/inflight
20, as in mosquitto 2.0.11. These are configuration only; they change no behaviour the spec fixes.

Diagnostic mode (CONFORMANCE_NORMALISE=1, run_suite.py --normalise): the suite compares packets
byte for byte, and imetd's MQTT 5 CONNACK differs from mosquitto's in ways the spec leaves open
(property order, an always-present Maximum Packet Size, reason strings), which stops every MQTT 5
test at its first CONNACK. In this mode the shim runs imetd on a private port and relays the
suite's connections through a proxy that rewrites only server-to-client CONNACK and DISCONNECT
packets: Topic Alias Maximum first and Receive Maximum last (mosquitto's order), Maximum Packet
Size dropped unless the test configured max_packet_size, Reason String dropped. Everything else
passes through unchanged. Results in this mode are diagnostics, never the suite's verdict.

Thread-safety: a short-lived single-threaded process (a proxy thread per connection in
diagnostic mode); it ends by exec'ing the broker, so the
broker receives the suite's signals (SIGTERM, SIGHUP) directly.
Invariants: never starts imetd with a configuration it could not translate exactly; each start
gets its own HTTP/P2P ports; a data directory is reused across restarts only when the test's
configuration asks for persistence (mosquitto without persistence also forgets everything) and
only while the test has not deleted mosquitto's database file.
"""

import os
import shutil
import socket
import sys
import time

# mosquitto 2.0.11 defaults that show up in packets: CONNACK Topic Alias Maximum (max_topic_alias
# 10) and Receive Maximum (max_inflight_messages 20, which mosquitto applies in both directions);
# no max_packet_size, i.e. the protocol's limit, which imetd then leaves out of CONNACK as
# mosquitto does.
MOSQUITTO_DEFAULTS = {
    "topic_alias_maximum": 10,
    "receive_maximum": 20,
    "max_inflight": 20,
    "max_packet_size": 268435460,
}

# mosquitto directives that are harmless to drop: logging and autosave timing. (The persistence
# file's name and place decide which imetd data directory a start uses, see main().)
IGNORED = {
    "log_type", "log_dest", "log_timestamp", "connection_messages", "autosave_interval",
    "autosave_on_changes",
}


def fail_unsupported(testdir, conf, reason):
    """Records why the test cannot run against imetd and exits without starting a broker."""
    line = "%s: %s\n" % (os.path.basename(conf) if conf else "-", reason)
    if testdir:
        with open(os.path.join(testdir, "unsupported.txt"), "a") as f:
            f.write(line)
    sys.stderr.write("conformance shim: not applicable to imetd: " + line)
    sys.exit(3)


_handed_out = set()


def free_port():
    """An unused loopback port, never one handed out before (two closed binds in a row may get
    the same port from the kernel)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def parse_bool(value):
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("not true/false: %r" % value)


def translate(conf_path, testdir):
    """Returns (port or None, mqtt settings dict, persistence file or None) for a mosquitto config
    file; the persistence file is where mosquitto would keep its database (absolute path)."""
    port = None
    mqtt = {}
    persistence = False
    persistence_file = "mosquitto.db"
    persistence_location = ""
    listeners = 0
    with open(conf_path) as f:
        lines = f.readlines()
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        key, args = parts[0], parts[1:]
        where = "%s:%d: %s" % (os.path.basename(conf_path), lineno, line)
        try:
            if key in IGNORED:
                continue
            if key == "port" or key == "listener":
                listeners += 1
                if listeners > 1:
                    fail_unsupported(testdir, conf_path, where + " (imetd has one MQTT listener)")
                if key == "listener" and len(args) > 1 and args[1] not in ("127.0.0.1", "localhost"):
                    fail_unsupported(testdir, conf_path, where + " (bind address)")
                port = int(args[0])
            elif key == "allow_anonymous":
                mqtt["allow_anonymous"] = parse_bool(args[0])
            elif key == "password_file":
                mqtt["password_file"] = os.path.abspath(args[0])
            elif key == "acl_file":
                mqtt["acl_file"] = os.path.abspath(args[0])
            elif key == "max_keepalive":
                mqtt["max_keepalive"] = int(args[0])
            elif key == "max_packet_size":
                n = int(args[0])
                if n < 64:
                    fail_unsupported(testdir, conf_path, where + " (imetd minimum is 64)")
                mqtt["max_packet_size"] = n
            elif key == "max_inflight_messages":
                n = int(args[0])
                n = 65535 if n == 0 else n
                mqtt["max_inflight"] = n
                mqtt["receive_maximum"] = n
            elif key == "max_queued_messages":
                n = int(args[0])
                if n == 0:
                    fail_unsupported(testdir, conf_path, where + " (imetd has no unlimited queue)")
                mqtt["max_queued_messages"] = n
            elif key == "max_queued_bytes":
                n = int(args[0])
                if n < 1024:
                    fail_unsupported(testdir, conf_path, where + " (imetd minimum is 1024)")
                mqtt["max_queued_bytes"] = n
            elif key == "retain_available":
                mqtt["retain_available"] = parse_bool(args[0])
            elif key == "sys_interval":
                mqtt["sys_interval"] = int(args[0])
            elif key == "max_connections":
                n = int(args[0])
                mqtt["max_connections"] = 0 if n < 0 else n
            elif key == "queue_qos0_messages":
                mqtt["queue_qos0_offline"] = parse_bool(args[0])
            elif key == "persistence":
                persistence = parse_bool(args[0])
            elif key == "persistence_file":
                persistence_file = args[0]
            elif key == "persistence_location":
                persistence_location = args[0]
            elif key == "per_listener_settings" and args == ["false"]:
                continue
            else:
                fail_unsupported(testdir, conf_path, where + " (no imetd equivalent)")
        except (IndexError, ValueError) as e:
            fail_unsupported(testdir, conf_path, "%s (%s)" % (where, e))
    if not persistence:
        return port, mqtt, None
    return port, mqtt, os.path.abspath(os.path.join(persistence_location, persistence_file))


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')


def read_varint(buf, i):
    """(value, next index) of an MQTT variable byte integer at buf[i], or None if incomplete."""
    value, mult = 0, 1
    for k in range(4):
        if i + k >= len(buf):
            return None
        b = buf[i + k]
        value += (b & 0x7F) * mult
        mult *= 128
        if not b & 0x80:
            return value, i + k + 1
    raise ValueError("malformed variable byte integer")


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


PROP_SIZES = {0x01: 1, 0x02: 4, 0x11: 4, 0x13: 2, 0x17: 1, 0x19: 1, 0x21: 2, 0x22: 2, 0x23: 2,
              0x24: 1, 0x25: 1, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1}  # others: strings/binary/pairs


def split_props(props):
    out, i = [], 0
    while i < len(props):
        pid = props[i]
        j = i + 1
        if pid in PROP_SIZES:
            j += PROP_SIZES[pid]
        elif pid == 0x0B:
            j = read_varint(props, j)[1]
        elif pid == 0x26:
            j += 2 + int.from_bytes(props[j:j + 2], "big")
            j += 2 + int.from_bytes(props[j:j + 2], "big")
        else:
            j += 2 + int.from_bytes(props[j:j + 2], "big")
        out.append((pid, props[i:j]))
        i = j
    return out


def normalise_packet(pkt, body_at, keep_max_packet_size):
    """Rewrites a v5 CONNACK/DISCONNECT's properties as described in the module comment."""
    kind = pkt[0] >> 4
    body = pkt[body_at:]
    if kind == 2 and len(body) > 2:
        head, rest = body[:2], body[2:]
    elif kind == 14 and len(body) > 1:
        head, rest = body[:1], body[1:]
    else:
        return pkt
    plen, at = read_varint(rest, 0)
    props = split_props(rest[at:at + plen])
    props = [(p, b) for p, b in props if p != 0x1F and (p != 0x27 or keep_max_packet_size)]
    first = [b for p, b in props if p == 0x22]
    middle = [b for p, b in props if p not in (0x21, 0x22)]
    last = [b for p, b in props if p == 0x21]
    newprops = b"".join(first + middle + last)
    if kind == 14 and not newprops and head == b"\x00":
        newbody = b""
    elif kind == 14 and not newprops:
        newbody = head
    else:
        newbody = head + varint(len(newprops)) + newprops
    return bytes([pkt[0]]) + varint(len(newbody)) + newbody


def relay(src, dst, rewrite, keep_max_packet_size):
    import socket as _s
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if not rewrite:
                dst.sendall(data)
                continue
            buf += data
            out = b""
            while True:
                lv = read_varint(buf, 1) if len(buf) > 1 else None
                if lv is None or lv[1] + lv[0] > len(buf):
                    break
                n, at = lv
                pkt = buf[:at + n]
                buf = buf[at + n:]
                if rewrite[0] == 5:
                    pkt = normalise_packet(pkt, at, keep_max_packet_size)
                out += pkt
            if out:
                dst.sendall(out)
    except (OSError, ValueError):
        pass
    for s in (src, dst):
        try:
            s.shutdown(_s.SHUT_RDWR)
        except OSError:
            pass


def proxy_main(args, log_fd, port, inner_port, keep_max_packet_size):
    """Diagnostic mode: imetd on inner_port, normalising relay on port; exits with imetd."""
    import signal
    import subprocess
    import threading
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd)
    signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
    signal.signal(signal.SIGHUP, lambda *_: proc.send_signal(signal.SIGHUP))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.time() + 10
    while time.time() < deadline and proc.poll() is None:  # listen only once imetd does
        try:
            socket.create_connection(("127.0.0.1", inner_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    srv.settimeout(0.2)

    def serve(client):
        try:
            upstream = socket.create_connection(("127.0.0.1", inner_port))
        except OSError:
            client.close()
            return
        # The protocol level is in the client's first bytes; peek it to pick the rewriting.
        version = [4]
        first = b""
        client.settimeout(None)
        try:
            first = client.recv(65536)
        except OSError:
            pass
        if len(first) > 8 and first[0] >> 4 == 1:
            at = read_varint(first, 1)
            if at and len(first) > at[1] + 6:
                version[0] = first[at[1] + 6]
        if first:
            upstream.sendall(first)
        t = threading.Thread(target=relay, args=(client, upstream, None, False), daemon=True)
        t.start()
        relay(upstream, client, version, keep_max_packet_size)

    while proc.poll() is None:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    srv.close()
    sys.exit(proc.wait())


def main(argv):
    target = os.environ.get("CONFORMANCE_TARGET", "imetd")
    if target == "mosquitto":
        exe = os.environ.get("CONFORMANCE_MOSQUITTO", "/usr/sbin/mosquitto")
        os.execv(exe, [exe] + argv)

    imetd = os.environ["CONFORMANCE_IMETD"]
    testdir = os.environ.get("CONFORMANCE_TESTDIR", os.getcwd())
    port = None
    conf = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-v":
            i += 1
        elif a == "-p" and i + 1 < len(argv):
            port = int(argv[i + 1])
            i += 2
        elif a == "-c" and i + 1 < len(argv):
            conf = argv[i + 1]
            i += 2
        else:
            fail_unsupported(testdir, conf, "command-line argument %r" % a)

    mqtt = dict(MOSQUITTO_DEFAULTS)
    mqtt["allow_anonymous"] = True  # mosquitto -p without a config allows anonymous clients
    persistence = None
    if conf is not None:
        mqtt["allow_anonymous"] = False  # mosquitto 2.0 with a config file: anonymous only if said
        conf_port, settings, persistence = translate(conf, testdir)
        mqtt.update(settings)
        if port is None:
            port = conf_port
    if port is None:
        port = 1883

    # One data directory per start, except that a persistent configuration reuses its own for as
    # long as mosquitto's database file would exist: the tests delete that file to start afresh
    # (e.g. between their MQTT 3.1.1 and 5.0 runs), so the shim leaves an empty file in its place
    # and starts with an empty data directory when the file is gone.
    if persistence:
        data_dir = os.path.join(testdir, "data-persistent-%s" % os.path.basename(conf))
        if not os.path.exists(persistence):
            if os.path.exists(data_dir):
                shutil.rmtree(data_dir)
            open(persistence, "a").close()
    else:
        n = 0
        while os.path.exists(os.path.join(testdir, "data-%d" % n)):
            n += 1
        data_dir = os.path.join(testdir, "data-%d" % n)

    toml = os.path.join(testdir, "imetd-%d.toml" % port)
    with open(toml, "w") as f:
        f.write("# written by tests/conformance/mosquitto_shim.py from %s\n" % (conf or "-p"))
        f.write("[mqtt]\n")
        for k in sorted(mqtt):
            f.write("%s = %s\n" % (k, toml_value(mqtt[k])))

    normalise = os.environ.get("CONFORMANCE_NORMALISE") == "1"
    listen_port = free_port() if normalise else port
    log_file = os.path.join(testdir, "imetd.log")
    args = [imetd, "--dev", "--config", toml, "--data-dir", data_dir,
            "--mqtt", "127.0.0.1:%d" % listen_port,
            "--http", "127.0.0.1:%d" % free_port(),
            "--p2p", "127.0.0.1:%d" % free_port(),
            "--log-file", "/dev/null",
            "--log-level", os.environ.get("CONFORMANCE_LOG_LEVEL", "debug")]
    with open(os.path.join(testdir, "starts.txt"), "a") as f:
        f.write(" ".join(args) + "\n")
    # imetd logs to stderr; the suite reads the broker's stderr pipe only after the test, so a
    # chatty broker could fill the pipe and stall. Its log goes to a file in the test directory.
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    if normalise:
        proxy_main(args, fd, port, listen_port,
                   mqtt["max_packet_size"] != MOSQUITTO_DEFAULTS["max_packet_size"])
    os.dup2(fd, 2)
    os.close(fd)
    os.execv(imetd, args)


if __name__ == "__main__":
    main(sys.argv[1:])
