"""imetd end to end: start, identity, data-dir lock, signals, config and bad input."""
import json
import signal

import pytest

from conftest import run_imetd



def dev_args(tmp_path, name="node"):
    return ["--dev", "--data-dir", str(tmp_path / name)]


def test_version_and_help():
    r = run_imetd("--version")
    assert r.returncode == 0 and r.stdout.startswith("imetd ")
    r = run_imetd("--help")
    assert r.returncode == 0
    for opt in ["--config", "--data-dir", "--dev", "--mqtt", "--http", "--p2p", "--log-level",
                "--log-file", "--passphrase-file", "--io-threads"]:
        assert opt in r.stdout, opt


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_dev_node_starts_and_stops_cleanly(tmp_path, imetd, sig):
    d = imetd(*dev_args(tmp_path))
    d.wait_for("imetd running")
    key = json.loads((tmp_path / "node" / "node_key.json").read_text())
    assert key["encryption"] == "none" and key["address"].startswith("imet1")
    assert (tmp_path / "node" / "db").is_dir()
    assert d.stop(sig) == 0
    out = d.output()
    assert "received signal, shutting down" in out
    assert out.rstrip().endswith("imetd stopped")
    log = (tmp_path / "node" / "imetd.log").read_text()
    assert "imetd running" in log and "imetd stopped" in log


def test_identity_survives_restart(tmp_path, imetd):
    d = imetd(*dev_args(tmp_path))
    d.wait_for("imetd running")
    addr = json.loads((tmp_path / "node" / "node_key.json").read_text())["address"]
    assert f"created node key address={addr}" in d.output()
    assert d.stop() == 0
    d2 = imetd(*dev_args(tmp_path))
    d2.wait_for("imetd running")
    assert f"loaded node key address={addr}" in d2.output()
    assert d2.stop() == 0


def test_second_daemon_on_same_data_dir_fails(tmp_path, imetd):
    d = imetd(*dev_args(tmp_path))
    d.wait_for("imetd running")
    r = run_imetd(*dev_args(tmp_path))
    assert r.returncode != 0
    err = r.stdout + r.stderr
    assert f"is in use by another imetd (pid {d.proc.pid})" in err, err
    assert d.proc.poll() is None, "the first node must keep running"
    assert d.stop() == 0


def test_kill_9_leaves_no_stale_lock(tmp_path, imetd):
    d = imetd(*dev_args(tmp_path))
    d.wait_for("imetd running")
    d.stop(signal.SIGKILL)
    d2 = imetd(*dev_args(tmp_path))
    d2.wait_for("imetd running")
    assert d2.stop() == 0


def test_config_file_and_flag_precedence(tmp_path, imetd):
    cfg = tmp_path / "imetd.toml"
    cfg.write_text(f"""
data_dir = "{tmp_path / 'fromfile'}"
dev = true
[log]
level = "debug"
[mqtt]
listen = "127.0.0.1:21883"
[http]
listen = "127.0.0.1:28645"
""")
    d = imetd("--config", str(cfg), "--mqtt", "127.0.0.1:31883")
    d.wait_for("imetd running")
    out = d.output()
    assert f"data_dir={tmp_path / 'fromfile'}" in out
    assert "MQTT broker listening address=127.0.0.1:31883" in out  # flag beats file
    assert "HTTP API listening address=127.0.0.1:28645" in out  # file beats default
    assert d.stop() == 0


@pytest.mark.parametrize("content,fragment", [
    ("dev = yes", "is not valid TOML (line 1"),
    ("[mqtt]\nlisten = \"localhost\"", "'mqtt.listen' 'localhost' is not HOST:PORT"),
    ("datadir = \"/x\"", "'datadir' is not a known setting (line 1)"),
])
def test_bad_config_is_rejected_with_reason(tmp_path, content, fragment):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    r = run_imetd("--config", str(cfg), *dev_args(tmp_path))
    assert r.returncode == 2
    assert fragment in r.stderr, r.stderr
    assert not (tmp_path / "node").exists(), "nothing is created on a bad config"


def test_unreadable_config(tmp_path):
    r = run_imetd("--config", str(tmp_path / "missing.toml"))
    assert r.returncode != 0 and "missing.toml" in r.stderr
    r = run_imetd("--config", str(tmp_path))  # a directory
    assert r.returncode != 0


@pytest.mark.parametrize("flag,value,fragment", [
    ("--mqtt", "1883", "--mqtt: '1883' is not HOST:PORT"),
    ("--p2p", "host:99999", "invalid port"),
    ("--log-level", "loud", "--log-level: unknown log level 'loud'"),
])
def test_bad_flags(tmp_path, flag, value, fragment):
    r = run_imetd(*dev_args(tmp_path), flag, value)
    assert r.returncode == 2 and fragment in r.stderr, r.stderr


def test_encrypted_node_key(tmp_path, imetd):
    args = ["--data-dir", str(tmp_path / "prod")]
    r = run_imetd(*args)  # no passphrase anywhere
    assert r.returncode == 1
    assert "needs a passphrase" in r.stdout + r.stderr
    assert not (tmp_path / "prod" / "node_key.json").exists()

    d = imetd(*args, passphrase="s3cret")
    d.wait_for("imetd running")
    key = json.loads((tmp_path / "prod" / "node_key.json").read_text())
    assert key["encryption"] == "argon2id-xchacha20poly1305" and "seed" not in key
    assert d.stop() == 0

    r = run_imetd(*args, env_extra={"IMET_PASSPHRASE": "wrong"})
    assert r.returncode == 1
    assert "wrong passphrase" in r.stdout + r.stderr

    pf = tmp_path / "pass.txt"
    pf.write_text("s3cret\n")
    d = imetd(*args, "--passphrase-file", str(pf))
    d.wait_for("loaded node key")
    assert d.stop() == 0


def test_damaged_node_key_is_not_overwritten(tmp_path, imetd):
    d = imetd(*dev_args(tmp_path))
    d.wait_for("imetd running")
    assert d.stop() == 0
    key_path = tmp_path / "node" / "node_key.json"
    damaged = key_path.read_text()[:40]
    key_path.write_text(damaged)
    r = run_imetd(*dev_args(tmp_path))
    assert r.returncode == 1
    assert "is damaged" in r.stdout + r.stderr
    assert key_path.read_text() == damaged
