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

Thread-safety: a short-lived single-threaded process; it ends by exec'ing the broker, so the
broker receives the suite's signals (SIGTERM, SIGHUP) directly.
Invariants: never starts imetd with a configuration it could not translate exactly; each start
gets its own HTTP/P2P ports; a data directory is reused across restarts only when the test's
configuration asks for persistence (mosquitto without persistence also forgets everything).
"""

import os
import socket
import sys

# mosquitto 2.0.11 defaults that show up in packets: CONNACK Topic Alias Maximum (max_topic_alias
# 10) and Receive Maximum (max_inflight_messages 20, which mosquitto applies in both directions).
MOSQUITTO_DEFAULTS = {
    "topic_alias_maximum": 10,
    "receive_maximum": 20,
    "max_inflight": 20,
}

# mosquitto directives that are harmless to drop: logging and persistence file placement.
IGNORED = {
    "log_type", "log_dest", "log_timestamp", "connection_messages", "persistence_file",
    "persistence_location", "autosave_interval", "autosave_on_changes",
}


def fail_unsupported(testdir, conf, reason):
    """Records why the test cannot run against imetd and exits without starting a broker."""
    line = "%s: %s\n" % (os.path.basename(conf) if conf else "-", reason)
    if testdir:
        with open(os.path.join(testdir, "unsupported.txt"), "a") as f:
            f.write(line)
    sys.stderr.write("conformance shim: not applicable to imetd: " + line)
    sys.exit(3)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse_bool(value):
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("not true/false: %r" % value)


def translate(conf_path, testdir):
    """Returns (port or None, mqtt settings dict, persistence flag) for a mosquitto config file."""
    port = None
    mqtt = {}
    persistence = False
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
                mqtt["max_packet_size"] = int(args[0])
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
            elif key == "per_listener_settings" and args == ["false"]:
                continue
            else:
                fail_unsupported(testdir, conf_path, where + " (no imetd equivalent)")
        except (IndexError, ValueError) as e:
            fail_unsupported(testdir, conf_path, "%s (%s)" % (where, e))
    return port, mqtt, persistence


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"')


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
    persistence = False
    if conf is not None:
        mqtt["allow_anonymous"] = False  # mosquitto 2.0 with a config file: anonymous only if said
        conf_port, settings, persistence = translate(conf, testdir)
        mqtt.update(settings)
        if port is None:
            port = conf_port
    if port is None:
        port = 1883

    # One data directory per start, except that a persistent configuration reuses its own.
    if persistence:
        data_dir = os.path.join(testdir, "data-persistent-%s" % os.path.basename(conf))
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

    log_file = os.path.join(testdir, "imetd.log")
    args = [imetd, "--dev", "--config", toml, "--data-dir", data_dir,
            "--mqtt", "127.0.0.1:%d" % port,
            "--http", "127.0.0.1:%d" % free_port(),
            "--p2p", "127.0.0.1:%d" % free_port(),
            "--log-file", "/dev/null",
            "--log-level", os.environ.get("CONFORMANCE_LOG_LEVEL", "debug")]
    with open(os.path.join(testdir, "starts.txt"), "a") as f:
        f.write(" ".join(args) + "\n")
    # imetd logs to stderr; the suite reads the broker's stderr pipe only after the test, so a
    # chatty broker could fill the pipe and stall. Its log goes to a file in the test directory.
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    os.execv(imetd, args)


if __name__ == "__main__":
    main(sys.argv[1:])
