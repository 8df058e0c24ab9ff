#!/usr/bin/python3
"""MQTT broker macro benchmark: IMET's imetd against mosquitto, side by side, same machine and load.

Driven by scripts/bench-mqtt.sh (see its --help). For each scenario and each broker: start the
broker fresh on free ports, run imet-mqtt-load against it, read the broker's CPU time
(utime + stime of /proc/PID/stat, all threads) before and after the load and its VmRSS before and
after opening idle connections, stop it. Prints a markdown table with every figure and the ratio of
each broker to the first one, and writes it to bench-mqtt-results.md (raw JSON next to it).

Thread-safety: a single-threaded script. Invariants: every broker and generator process it starts
is stopped before it returns (also on Ctrl-C); nothing outside its temporary directory is written
except the two result files.
Standard library only; run with /usr/bin/python3.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLK_TCK = os.sysconf("SC_CLK_TCK")

MOSQUITTO_CMD = "/usr/sbin/mosquitto -c {config}"
IMETD_CMD = ("{build}/bin/imetd --dev --data-dir {data_dir} --mqtt 127.0.0.1:{port} "
             "--http 127.0.0.1:{http_port} --p2p 127.0.0.1:{p2p_port}")

# mosquitto as shipped (persistence off, default inflight window of 20), except: a queue large
# enough for the generator's window, and only errors/warnings logged (no per-connection lines).
MOSQUITTO_CONF = """listener {port} 127.0.0.1
allow_anonymous true
max_queued_messages 1000000
persistence false
log_dest stderr
log_type error
log_type warning
"""


class Scenario:
    def __init__(self, key, title, args, kind, figures):
        self.key = key
        self.title = title
        # generator arguments (after the binary), or for idle scenarios the connection count and
        # optionally (count, keep-alive seconds)
        self.args = args
        self.kind = kind  # "load" or "idle"
        self.figures = figures  # [(figure key, label, better, target)]


def scenarios(quick, duration, only):
    d = str(duration if duration else (2 if quick else 10))
    cpu = ("cpu_us_per_msg", "broker CPU per delivered message (µs)", "lower")
    thr = ("throughput", "throughput (delivered msg/s)", "higher")
    p50 = ("p50_us", "latency p50 (µs)", "lower")
    p99 = ("p99_us", "latency p99 (µs)", "lower")
    lost = ("lost", "lost messages", "lower")
    mem = ("bytes_per_conn", "broker memory per idle connection (bytes)", "lower")
    held = ("held", "connections held", "higher")
    peak = ("peak_mib", "broker peak memory growth during the load (MiB, VmHWM - VmRSS before)",
            "lower")
    idle_small, idle_large = (1000, 10000) if quick else (10000, 50000)
    common = ["--size", "64", "--duration", d]
    all_s = [
        Scenario("qos0-fanin", "QoS 0 fan-in 4 → 1, 64 B, pipelined (up to 256 messages per write)",
                 ["fanin", "--pubs", "4", "--subs", "1", "--qos", "0"] + common, "load",
                 [cpu + ("≤ 0.5×",), thr + ("≥ 1.2×",), lost + ("0",)]),
        Scenario("qos0-fanin-1", "QoS 0 fan-in 4 → 1, 64 B, one message per write",
                 ["fanin", "--pubs", "4", "--subs", "1", "--qos", "0", "--batch", "1"] + common,
                 "load", [cpu + ("≤ 0.5×",), thr + ("",), lost + ("0",)]),
        # Large messages: as many bytes per second as the publishers can send, more than the
        # message log's disk takes (imetd's committer then holds the clients back).
        Scenario("qos0-fanin-4k", "QoS 0 fan-in 4 → 1, 4 KiB, pipelined (500 deliveries "
                 "outstanding)",
                 ["fanin", "--pubs", "4", "--subs", "1", "--qos", "0", "--size", "4096",
                  "--window", "500", "--duration", d], "load",
                 [cpu + ("",), thr + ("",), peak + ("",), lost + ("0",)]),
        Scenario("qos1-fanin", "QoS 1 fan-in 4 → 1, 64 B, pipelined (256 in flight per publisher)",
                 ["fanin", "--pubs", "4", "--subs", "1", "--qos", "1"] + common, "load",
                 [cpu + ("≤ 1.0×",), thr + ("≥ 1.0×",), lost + ("0",)]),
        Scenario("qos1-fanin-1", "QoS 1 fan-in 4 → 1, 64 B, one in flight per publisher",
                 ["fanin", "--pubs", "4", "--subs", "1", "--qos", "1", "--batch", "1",
                  "--inflight", "1"] + common, "load",
                 [cpu + ("≤ 1.0×",), thr + ("",), lost + ("0",)]),
        Scenario("fanout", "QoS 0 fan-out, 1 publisher → 100 subscribers, 64 B",
                 ["fanout", "--pubs", "1", "--subs", "100", "--qos", "0"] + common, "load",
                 [cpu + ("",), thr + ("",), lost + ("0",)]),
        Scenario("latency-qos0", "latency at 5,000 msg/s, QoS 0, 1 → 1, 64 B",
                 ["latency", "--rate", "5000", "--qos", "0"] + common, "load",
                 [p50 + ("",), p99 + ("≤ 1.0×",), cpu + ("",), lost + ("0",)]),
        Scenario("latency-qos1", "latency at 5,000 msg/s, QoS 1, 1 → 1, 64 B",
                 ["latency", "--rate", "5000", "--qos", "1"] + common, "load",
                 [p50 + ("",), p99 + ("≤ 1.0×",), cpu + ("",), lost + ("0",)]),
        Scenario("idle-%d" % idle_small, "%s idle connections" % format(idle_small, ","),
                 idle_small, "idle", [mem + ("≤ 2.0×",), held + ("all",)]),
        Scenario("idle-%d" % idle_large, "%s idle connections" % format(idle_large, ","),
                 idle_large, "idle", [mem + ("≤ 2.0×",), held + ("all",)]),
        # Device clients keep a keep-alive (each imetd connection then has a timer wait pending).
        Scenario("idle-ka-%d" % idle_small,
                 "%s idle connections, keep alive 60 s" % format(idle_small, ","),
                 (idle_small, 60), "idle", [mem + ("",), held + ("all",)]),
    ]
    if only:
        keys = only.split(",")
        unknown = [k for k in keys if k not in {s.key for s in all_s}]
        if unknown:
            sys.exit("bench-mqtt: unknown scenario(s) %s; known: %s" %
                     (", ".join(unknown), ", ".join(s.key for s in all_s)))
        all_s = [s for s in all_s if s.key in keys]
    return all_s


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


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kb(pid, field="VmRSS"):
    """VmRSS (or VmHWM: the peak since the process started) in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Broker:
    """One broker process started fresh for one measurement."""

    def __init__(self, name, kind, cmd_template, workdir):
        self.name, self.kind, self.template, self.workdir = name, kind, cmd_template, workdir
        self.proc = None
        self.port = None
        self.log_path = None

    def start(self):
        self.port = free_port()
        d = tempfile.mkdtemp(prefix="%s-" % self.kind, dir=self.workdir)
        values = {
            "port": self.port, "http_port": free_port(), "p2p_port": free_port(),
            "data_dir": os.path.join(d, "data"), "config": os.path.join(d, "mosquitto.conf"),
            "build": os.environ.get("IMET_BUILD_DIR", os.path.join(REPO, "build")),
        }
        with open(values["config"], "w") as f:
            f.write(MOSQUITTO_CONF.format(port=self.port))
        argv = [a.format(**values) for a in shlex.split(self.template)]
        if not os.path.exists(argv[0]):
            raise RuntimeError("%s: %s not found (build it, set IMET_BUILD_DIR, or pass --%s-cmd)"
                               % (self.name, argv[0], self.kind))
        self.log_path = os.path.join(d, "broker.log")
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=d,
                                     preexec_fn=raise_nofile)
        log.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with status %s at start; log %s: %s" %
                                   (self.name, self.proc.returncode, self.log_path, self.log_tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s does not accept MQTT connections on 127.0.0.1:%d after 20 s; "
                           "log %s: %s" % (self.name, self.port, self.log_path, self.log_tail()))

    def log_tail(self):
        try:
            with open(self.log_path) as f:
                return " | ".join(f.read().strip().splitlines()[-3:])
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    return None


def run_load(load_bin, broker, sc, timeout):
    pid = broker.proc.pid
    cpu0 = proc_cpu_s(pid)
    rss0 = proc_rss_kb(pid)
    argv = [load_bin, "--port", str(broker.port)] + sc.args
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if not broker.alive():
        return {"error": "%s died during the run; log: %s" % (broker.name, broker.log_tail())}
    cpu_s = proc_cpu_s(pid) - cpu0
    peak_mib = round((proc_rss_kb(pid, "VmHWM") - rss0) / 1024, 1)
    j = last_json_line(p.stdout)
    if j is None:
        return {"error": "no result from imet-mqtt-load: %s" % p.stderr.strip()[-300:]}
    out = {"gen": j, "cpu_s": round(cpu_s, 3), "peak_mib": peak_mib, "command": " ".join(argv[1:])}
    delivered = j.get("delivered", 0)
    if j.get("error"):
        out["error"] = j["error"]
    if delivered:
        out["cpu_us_per_msg"] = round(cpu_s * 1e6 / delivered, 3)
        out["throughput"] = j["throughput"]
        out["lost"] = j["lost"]
        lat = j.get("latency_us", {})
        out["p50_us"], out["p99_us"] = lat.get("p50"), lat.get("p99")
        out["gen_cpu_us_per_msg"] = j.get("gen_cpu_us_per_msg")
    return out


def run_idle(load_bin, broker, sc, quick):
    n, keepalive = sc.args if isinstance(sc.args, tuple) else (sc.args, 0)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < n + 100:
        return {"skipped": "hard RLIMIT_NOFILE is %d here: neither the broker nor the generator "
                           "can hold %s connections (raise the hard limit, e.g. "
                           "/etc/security/limits.conf)" % (hard, format(n, ","))}
    pid = broker.proc.pid
    time.sleep(0.3)
    rss0 = proc_rss_kb(pid)
    argv = [load_bin, "--port", str(broker.port), "idle", "--conns", str(n),
            "--connect-timeout", "60"]
    if keepalive:
        argv += ["--keepalive", str(keepalive)]
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=raise_nofile)
    try:
        line = gen.stdout.readline()  # printed once every connection is up (or failed)
        j = json.loads(line) if line.strip().startswith("{") else None
        if j is None:
            gen.wait(timeout=10)
            return {"error": "no result from imet-mqtt-load idle: %s" % gen.stderr.read()[-300:]}
        time.sleep(0.5 if quick else 1.0)  # let the broker settle its buffers
        if not broker.alive():
            return {"error": "%s died holding the connections; log: %s" %
                             (broker.name, broker.log_tail())}
        rss1 = proc_rss_kb(pid)
        still = j.get("connected", 0)
    finally:
        gen.send_signal(signal.SIGTERM)
        try:
            gen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gen.kill()
            gen.wait()
    out = {"gen": j, "rss_before_kb": rss0, "rss_after_kb": rss1, "held": still,
           "command": " ".join(argv[1:])}
    if still:
        out["bytes_per_conn"] = round((rss1 - rss0) * 1024 / still)
    if j.get("error"):
        out["error"] = j["error"]
    return out


def median_result(results):
    """Median of every numeric figure over the repetitions (the first result keeps the rest)."""
    if len(results) == 1:
        return results[0]
    merged = dict(results[0])
    for k, v in results[0].items():
        vals = [r.get(k) for r in results if isinstance(r.get(k), (int, float))]
        if isinstance(v, (int, float)) and len(vals) == len(results):
            merged[k] = statistics.median(vals)
    merged["reps"] = [{k: r.get(k) for k in r if k != "gen"} for r in results]
    return merged


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return format(round(v), ",")
        return "%.2f" % v if abs(v) < 100 else "%.1f" % v
    if isinstance(v, int):
        return format(v, ",")
    return str(v)


def table(scs, brokers, results):
    names = [b.name for b in brokers]
    head = ["scenario", "figure"] + names
    if len(names) > 1:
        head += ["%s / %s" % (n, names[0]) for n in names[1:]] + ["target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes, seen_skips = [], set()
    for sc in scs:
        first = True
        for fkey, label, _better, target in sc.figures:
            row = [sc.title if first else "", label]
            first = False
            vals = []
            for b in brokers:
                r = results[sc.key][b.name]
                if "skipped" in r:
                    row.append("skipped")
                    vals.append(None)
                    continue
                v = r.get(fkey)
                cell = fmt(v)
                if r.get("error") and fkey in ("lost", "held", "cpu_us_per_msg"):
                    cell += " (error)"
                row.append(cell)
                vals.append(v)
            if len(names) > 1:
                for v in vals[1:]:
                    ok = isinstance(v, (int, float)) and isinstance(vals[0], (int, float))
                    row.append("%.2f×" % (v / vals[0]) if ok and vals[0] else "—")
                row.append(target)
            lines.append("| " + " | ".join(row) + " |")
        for b in brokers:
            r = results[sc.key][b.name]
            if r.get("error"):
                notes.append("- %s, %s: %s" % (sc.key, b.name, r["error"]))
            if r.get("skipped") and r["skipped"] not in seen_skips:
                seen_skips.add(r["skipped"])
                notes.append("- %s: skipped: %s" % (sc.key, r["skipped"]))
    gen = []
    for sc in scs:
        for b in brokers:
            r = results[sc.key][b.name]
            if r.get("gen_cpu_us_per_msg") is not None:
                gen.append("%s/%s %.2f" % (sc.key, b.name, r["gen_cpu_us_per_msg"]))
    return lines, notes, gen


def main():
    ap = argparse.ArgumentParser(prog="bench-mqtt.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--brokers", default="mosquitto,imetd",
                    help="comma-separated, in column order; ratios are to the first "
                         "(mosquitto, imetd; a name may repeat, e.g. mosquitto,mosquitto)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 2 s per load, 1,000 and 10,000 idle connections")
    ap.add_argument("--duration", type=float, help="seconds per load scenario (default 10, quick 2)")
    ap.add_argument("--reps", type=int, default=1, help="repetitions; the median is reported")
    ap.add_argument("--scenarios", help="subset, comma-separated (default: all)")
    ap.add_argument("--gen-args", default="",
                    help="extra imet-mqtt-load options for the load scenarios, e.g. "
                         "'--batch 1 --inflight 1' (unbatched, stop-and-wait publishers)")
    ap.add_argument("--load", help="imet-mqtt-load binary (default: build-bench/bin, build/bin)")
    ap.add_argument("--mosquitto-cmd", default=MOSQUITTO_CMD,
                    help="command template; {config} {port} {data_dir} (default: %(default)s)")
    ap.add_argument("--imetd-cmd", action="append",
                    help="command template; {build} {port} {http_port} {p2p_port} {data_dir} "
                         "(default: %s; {build} = $IMET_BUILD_DIR or build). Repeat it to compare "
                         "imetd variants in one interleaved run: the k-th imetd in --brokers "
                         "uses the k-th template (the last one if there are fewer)" % IMETD_CMD)
    ap.add_argument("--out", default="bench-mqtt-results.md", help="markdown result file")
    args = ap.parse_args()

    load_bin = args.load or os.environ.get("IMET_MQTT_LOAD")
    if not load_bin:
        for d in ("build-bench", "build"):
            cand = os.path.join(REPO, d, "bin", "imet-mqtt-load")
            if os.path.exists(cand):
                load_bin = cand
                break
    if not load_bin or not os.path.exists(load_bin):
        sys.exit("bench-mqtt: imet-mqtt-load not found; build it (ninja -C build imet-mqtt-load) "
                 "or pass --load PATH")

    brokers, seen = [], {}
    workdir = tempfile.mkdtemp(prefix="bench-mqtt-")
    for name in args.brokers.split(","):
        name = name.strip()
        if name not in ("mosquitto", "imetd"):
            sys.exit("bench-mqtt: unknown broker '%s' (mosquitto or imetd)" % name)
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else "%s#%d" % (name, seen[name])
        if name == "mosquitto":
            cmd = args.mosquitto_cmd
        else:
            templates = args.imetd_cmd or [IMETD_CMD]
            cmd = templates[min(seen[name], len(templates)) - 1]
        brokers.append(Broker(label, name, cmd, workdir))

    scs = scenarios(args.quick, args.duration, args.scenarios)
    for sc in scs:
        if sc.kind == "load":
            sc.args = sc.args + shlex.split(args.gen_args)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    results = {sc.key: {} for sc in scs}
    raw = {sc.key: {} for sc in scs}
    t0 = time.time()
    try:
        for sc in scs:
            per = {b.name: [] for b in brokers}
            for _ in range(args.reps):
                for b in brokers:
                    try:
                        b.start()
                        if sc.kind == "load":
                            r = run_load(load_bin, b, sc, timeout=120 + 2 * (args.duration or 10))
                        else:
                            r = run_idle(load_bin, b, sc, args.quick)
                    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                        r = {"error": str(e)}
                    finally:
                        b.stop()
                    per[b.name].append(r)
                    brief = {k: r.get(k) for k in ("cpu_us_per_msg", "throughput", "lost", "p50_us",
                                                   "p99_us", "peak_mib", "bytes_per_conn", "held",
                                                   "error", "skipped") if r.get(k) is not None}
                    print("[%5.1fs] %-13s %-12s %s" % (time.time() - t0, sc.key, b.name,
                                                       json.dumps(brief, ensure_ascii=False)),
                          file=sys.stderr, flush=True)
            for b in brokers:
                results[sc.key][b.name] = median_result(per[b.name])
                raw[sc.key][b.name] = per[b.name]
    finally:
        for b in brokers:
            b.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    lines, notes, gen = table(scs, brokers, results)
    try:
        mosq = subprocess.run(["/usr/sbin/mosquitto", "-h"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True).stdout.splitlines()[0]
    except OSError:
        mosq = "mosquitto: not installed"
    header = [
        "MQTT broker benchmark, %s UTC; %s; %d cores; load average before: %.2f; %s; "
        "%d repetition(s), median; %.0f s." % (
            started.strftime("%Y-%m-%d %H:%M"), platform.node(), os.cpu_count(), load_before[0],
            mosq, args.reps, time.time() - t0),
        "Command: `scripts/bench-mqtt.sh %s`" % " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "",
    ]
    footer = []
    if notes:
        footer += ["", "Notes:"] + notes
    if gen:
        footer += ["", "Generator CPU per delivered message (µs): " + "; ".join(gen)]
    text = "\n".join(header + lines + footer) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)
    json_out = os.path.splitext(args.out)[0] + ".json"
    with open(json_out, "w") as f:
        json.dump({"brokers": [b.name for b in brokers], "results": raw}, f, indent=1)
    print("written: %s, %s" % (args.out, json_out), file=sys.stderr)
    # Exit status 1 if any run failed, lost a message or did not hold every idle connection.
    failed = any(r.get("error") or r.get("lost") or ("held" in r and r["held"] < r["gen"]["conns"])
                 for sc in results.values() for r in sc.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
