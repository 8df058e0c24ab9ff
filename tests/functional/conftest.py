"""Shared fixtures for functional tests: real imetd / imet processes from IMET_BUILD_DIR/bin."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

BUILD_DIR = Path(os.environ.get("IMET_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))
BIN = BUILD_DIR / "bin"


def _binary(name):
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} not built; run scripts/build.sh first")
    return str(path)


@pytest.fixture
def imet(tmp_path):
    """Runs `imet ARGS`, with a private key dir; returns CompletedProcess."""
    keydir = tmp_path / "keys"

    def run(*args, passphrase=None, input=None, env_extra=None, keydir_arg=True):
        env = {k: v for k, v in os.environ.items() if k != "IMET_PASSPHRASE"}
        env["IMET_HOME"] = str(tmp_path / "home")
        if passphrase is not None:
            env["IMET_PASSPHRASE"] = passphrase
        if env_extra:
            env.update(env_extra)
        argv = [_binary("imet"), *args]
        if keydir_arg and len(args) >= 2 and args[0] in ("keys", "tx"):
            argv = [_binary("imet"), args[0], "--keydir", str(keydir), *args[1:]]
        return subprocess.run(argv, capture_output=True, text=True, env=env, input=input,
                              timeout=60, stdin=subprocess.DEVNULL if input is None else None,
                              start_new_session=True)  # no controlling terminal: never prompts

    run.keydir = keydir
    return run


class Daemon:
    def __init__(self, args, env, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([_binary("imetd"), *args], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return Path(self.log_path).read_text()

    def wait_for(self, text, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"imetd exited ({self.proc.returncode}) before '{text}':\n"
                                     + self.output())
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for '{text}':\n" + self.output())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.log.close()
        return code


@pytest.fixture
def imetd(tmp_path):
    """Starts imetd processes; kills any left running at the end of the test."""
    started = []

    def start(*args, passphrase=None, name="imetd"):
        args = list(args)
        if "--config" not in args:  # never collide with a real node or a system mosquitto
            for flag in ("--http", "--mqtt", "--p2p"):
                if flag not in args:
                    args += [flag, f"127.0.0.1:{free_port()}"]
        env = {k: v for k, v in os.environ.items() if k != "IMET_PASSPHRASE"}
        env["IMET_HOME"] = str(tmp_path / "home")
        if passphrase is not None:
            env["IMET_PASSPHRASE"] = passphrase
        d = Daemon(list(args), env, tmp_path / f"{name}-{len(started)}.out")
        started.append(d)
        return d

    yield start
    for d in started:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


def _port_range():
    """This pytest process's own block of loopback ports, below the kernel's ephemeral range
    (32768 and up on Linux), so no outgoing connection's local port can take one. Under
    pytest-xdist each worker (gw0, gw1, ...) has its own block, so two workers never hand out the
    same port; the start within the block is random, so two separate pytest runs rarely meet."""
    import random
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    workers = max(index + 1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    size = 22000 // workers  # ports 10000-31999, split evenly
    low = 10000 + index * size
    start = random.randrange(size)
    return [low + (start + i) % size for i in range(size)]


_ports = iter(_port_range())


def free_port():
    """A loopback TCP port nothing listens on, never one this process handed out before.

    Ports come from this process's block (_port_range), in turn, skipping any that cannot be
    bound now. Each is handed out once, so a daemon given several ports never gets a duplicate
    (with bind(0), the kernel could return the same port twice in a row: CI once saw
    ws_listen == wss_listen)."""
    import socket
    for port in _ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no unused loopback port left in this test process's block")


def run_imetd(*args, timeout=30, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "IMET_PASSPHRASE"}
    if env_extra:
        env.update(env_extra)
    return subprocess.run([_binary("imetd"), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL,
                          start_new_session=True)
