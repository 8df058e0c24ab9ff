#!/usr/bin/python3
"""Runs the Eclipse Mosquitto 2.0.11 broker test suite against a broker and classifies results.

Purpose: the third-party suite (fetched by fetch_suite.sh, used unmodified) is copied into a
scratch directory with mosquitto_shim.py installed as its `../../src/mosquitto`; every test listed
in the suite's own test/broker/test.py runs as its own process with its own ports, and gets one of:

  PASS   the test exited 0
  FAIL   it did not, and the allow-list has no entry for it on this target
  XFAIL  it did not, and the allow-list explains why (see allowlist.txt; an entry may be limited
         to the test's part for one MQTT version)
  XPASS  it passed although the allow-list expects a failure (the entry is stale)
  N/A    the shim could not translate the test's broker configuration for imetd (a mosquitto
         feature without an imetd equivalent, such as bridges, plugins or TLS listeners)

Each test is also tagged with the MQTT versions it exercises (3.1.1, 5.0), read from its source,
so the summary gives the counts per version. Exit status: 0 when there is no FAIL, 1 otherwise.

Thread-safety: runs up to --jobs tests at once; each has its own directory, ports and broker.
Invariants: the suite's files are never modified (they are copied; the tests write their .conf
files into the copy, as they do in mosquitto's tree); a test that outlives --timeout is killed
with its broker and counts as FAIL.
"""

import argparse
import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def suite_tests(broker_dir):
    """The (ports, file name) list from the suite's own test/broker/test.py."""
    with open(os.path.join(broker_dir, "test.py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "tests":
            out = []
            for elt in ast.literal_eval(node.value):
                ports, path = elt
                out.append((ports, os.path.basename(path if isinstance(path, str) else path[0])))
            return out
    raise SystemExit("run_suite.py: no `tests = [...]` list in %s/test.py" % broker_dir)


V5 = re.compile(r"proto_ver\s*=\s*5|do_test\(\s*5\s*[,)]|\(5\)")
V4 = re.compile(r"proto_ver\s*=\s*4|do_test\(\s*4\s*[,)]|\(4\)")
CONNECT = re.compile(r"gen_connect\(([^()]|\([^()]*\))*\)", re.S)


def versions(path):
    """MQTT versions a test file exercises: '5.0' if it sends v5 packets, '3.1.1' if v4."""
    src = open(path).read()
    vs = set()
    if V5.search(src):
        vs.add("5.0")
    if V4.search(src):
        vs.add("3.1.1")
    for m in CONNECT.finditer(src):  # gen_connect without proto_ver defaults to 3.1.1
        if "proto_ver" not in m.group(0):
            vs.add("3.1.1")
    if not vs:
        vs.add("3.1.1")
    return sorted(vs)


QUALIFIED = re.compile(r"^(.+\.py)\[(3\.1|3\.1\.1|5\.0)\]$")
PROTO_VER = re.compile(r"proto_ver=(\d)")
PROTO_NAMES = {"3": "3.1", "4": "3.1.1", "5": "5.0"}


def failed_version(output_path):
    """The MQTT version of the part a failing test stopped in: the suite's tests print
    `proto_ver=N` when they fail; None when the output does not say."""
    try:
        found = PROTO_VER.findall(open(output_path, errors="replace").read())
    except OSError:
        return None
    return PROTO_NAMES.get(found[-1]) if found else None


def load_allowlist(path, target):
    """{test file: (reason, version or None)} for this target; lines are
    `<target|both> <test.py>[<version>] <reason>`. With a version (`test.py[5.0]`), the entry
    covers only a failure in that version's part of the test (as the test's output says), so a
    regression in its other parts still counts as FAIL."""
    allowed = {}
    if not path or not os.path.exists(path):
        return allowed
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3 or parts[0] not in ("imetd", "mosquitto", "both"):
                raise SystemExit("%s:%d: expected `<imetd|mosquitto|both> <test.py> <reason>`" %
                                 (path, lineno))
            if parts[0] in (target, "both"):
                m = QUALIFIED.match(parts[1])
                if m:
                    allowed[m.group(1)] = (parts[2], m.group(2))
                else:
                    allowed[parts[1]] = (parts[2], None)
    return allowed


class PortPool:
    """Hands out ports that were free when checked, never the same one to two running tests."""

    def __init__(self, base):
        self.next = base
        self.free = []

    def take(self, n):
        out = []
        while len(out) < n:
            if self.free:
                out.append(self.free.pop())
                continue
            p = self.next
            self.next += 1
            if self.next > 60999:
                self.next = 20000
            try:
                for host in ("127.0.0.1", "0.0.0.0"):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.bind((host, p))
                    s.close()
                out.append(p)
            except OSError:
                continue
        return out

    def give(self, ports):
        pass  # never reused: a finished test's broker may still hold its port for a moment


def prepare(suite, work, target):
    root = os.path.join(work, target)
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(os.path.join(root, "src"))
    shutil.copytree(os.path.join(suite, "test"), os.path.join(root, "test"), symlinks=True)
    shim = os.path.join(root, "src", "mosquitto")
    shutil.copy(os.path.join(HERE, "mosquitto_shim.py"), shim)
    os.chmod(shim, 0o755)
    os.makedirs(os.path.join(root, "runs"))
    return root


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", required=True, help="unpacked mosquitto-2.0.11 directory")
    ap.add_argument("--target", choices=("imetd", "mosquitto"), required=True)
    ap.add_argument("--imetd", help="imetd binary (target imetd)")
    ap.add_argument("--mosquitto", default="/usr/sbin/mosquitto")
    ap.add_argument("--work", required=True, help="scratch directory (recreated)")
    ap.add_argument("--allowlist", default=os.path.join(HERE, "allowlist.txt"))
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--base-port", type=int, default=21000)
    ap.add_argument("--only", action="append", default=[], help="regex on test names")
    ap.add_argument("--json", help="write per-test results here")
    ap.add_argument("--normalise", action="store_true",
                    help="diagnostic only: relay through the shim's CONNACK/DISCONNECT normaliser")
    args = ap.parse_args()

    root = prepare(os.path.abspath(args.suite), os.path.abspath(args.work), args.target)
    broker_dir = os.path.join(root, "test", "broker")
    tests = suite_tests(broker_dir)
    if args.only:
        tests = [t for t in tests if any(re.search(p, t[1]) for p in args.only)]
    allowed = load_allowlist(args.allowlist, args.target)

    env = dict(os.environ)
    env["CONFORMANCE_TARGET"] = args.target
    env["CONFORMANCE_MOSQUITTO"] = args.mosquitto
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["CONFORMANCE_NORMALISE"] = "1" if args.normalise else "0"
    if args.target == "imetd":
        if not args.imetd or not os.access(args.imetd, os.X_OK):
            raise SystemExit("run_suite.py: --imetd must name an executable imetd")
        env["CONFORMANCE_IMETD"] = os.path.abspath(args.imetd)

    pool = PortPool(args.base_port)
    pending = list(tests)
    running = []
    results = []
    start = time.time()
    while pending or running:
        while pending and len(running) < args.jobs:
            nports, name = pending.pop(0)
            if not os.path.exists(os.path.join(broker_dir, name)):
                r = {"test": name, "status": "N/A", "versions": [], "seconds": 0,
                     "reason": "listed in the suite's test.py but not shipped in its tarball",
                     "output": ""}
                results.append(r)
                print("%-5s %-52s %-11s %5.1fs %s" % ("N/A", name, "-", 0, r["reason"]))
                continue
            ports = pool.take(nports)
            tdir = os.path.join(root, "runs", name[:-3])
            os.makedirs(tdir)
            tenv = dict(env)
            tenv["CONFORMANCE_TESTDIR"] = tdir
            out = open(os.path.join(tdir, "output.txt"), "w")
            proc = subprocess.Popen(["/usr/bin/python3", name] + [str(p) for p in ports],
                                    cwd=broker_dir, env=tenv, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            running.append((proc, name, ports, tdir, out, time.time()))
        time.sleep(0.05)
        for item in list(running):
            proc, name, ports, tdir, out, t0 = item
            timed_out = False
            if proc.poll() is None:
                if time.time() - t0 < args.timeout:
                    continue
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            running.remove(item)
            out.close()
            pool.give(ports)
            unsupported = os.path.join(tdir, "unsupported.txt")
            if proc.returncode == 0 and not timed_out:
                status = "XPASS" if name in allowed else "PASS"
                reason = allowed[name][0] if name in allowed else ""
            elif os.path.exists(unsupported):
                status = "N/A"
                reason = open(unsupported).read().strip().splitlines()[0]
            elif name in allowed and allowed[name][1] is None:
                status, reason = "XFAIL", allowed[name][0]
            elif name in allowed and not timed_out and \
                    failed_version(os.path.join(tdir, "output.txt")) == allowed[name][1]:
                status, reason = "XFAIL", "[%s] %s" % (allowed[name][1], allowed[name][0])
            elif name in allowed:
                status = "FAIL"
                reason = "allow-listed for its MQTT %s part only; failed in %s" % (
                    allowed[name][1],
                    "a timeout" if timed_out else
                    "MQTT %s" % failed_version(os.path.join(tdir, "output.txt")))
            else:
                status, reason = "FAIL", "timed out" if timed_out else "exit %d" % proc.returncode
            r = {"test": name, "status": status, "versions": versions(os.path.join(broker_dir, name)),
                 "seconds": round(time.time() - t0, 2), "reason": reason,
                 "output": os.path.relpath(os.path.join(tdir, "output.txt"), root)}
            results.append(r)
            print("%-5s %-52s %-11s %5.1fs %s" % (status, name, "+".join(r["versions"]),
                                                 r["seconds"], reason), flush=True)

    results.sort(key=lambda r: r["test"])
    print("\n== %s%s: %d tests in %.0fs (suite: Eclipse Mosquitto 2.0.11 test/broker)" %
          (args.target, " (DIAGNOSTIC: normalised CONNACK/DISCONNECT)" if args.normalise else "",
           len(results), time.time() - start))
    for v in ("3.1.1", "5.0"):
        c = {}
        for r in results:
            if v in r["versions"]:
                c[r["status"]] = c.get(r["status"], 0) + 1
        print("MQTT %-5s: %s" % (v, ", ".join("%s %d" % (k, c.get(k, 0)) for k in
                                              ("PASS", "FAIL", "XFAIL", "XPASS", "N/A"))))
    total = {}
    for r in results:
        total[r["status"]] = total.get(r["status"], 0) + 1
    print("all       : %s" % ", ".join("%s %d" % (k, total.get(k, 0)) for k in
                                       ("PASS", "FAIL", "XFAIL", "XPASS", "N/A")))
    for r in results:
        if r["status"] in ("FAIL", "XPASS"):
            print("%s %s (output: %s/%s)" % (r["status"], r["test"], root, r["output"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if total.get("FAIL", 0) else 0


if __name__ == "__main__":
    sys.exit(main())
