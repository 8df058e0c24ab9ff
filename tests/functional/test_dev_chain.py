"""imetd --dev runs a one-witness chain with 1-second blocks, finalized by the consensus engine
(a quorum of one), durable across kill -9."""
import json
import re
import signal
import time

from conftest import run_imetd

BLOCK = re.compile(r"finalized block height=(\d+) txs=\d+ hash=(\w+) state_root=(\w+)")
LOADED = re.compile(r"chain loaded chain_id=\S+ height=(\d+) hash=(\w+) state_root=(\w+)")


def produced(output):
    return {int(h): (bh, root) for h, bh, root in BLOCK.findall(output)}


def wait_height(d, height, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if max(produced(d.output()) or {0: None}) >= height:
            return
        time.sleep(0.1)
    raise AssertionError("no block %d:\n%s" % (height, d.output()))


def test_dev_node_creates_genesis_and_produces_blocks(tmp_path, imetd):
    d = imetd("--dev", "--data-dir", str(tmp_path / "n"))
    wait_height(d, 3)
    g = json.loads((tmp_path / "n" / "genesis.json").read_text())
    key = json.loads((tmp_path / "n" / "node_key.json").read_text())
    assert g["delegates"] == [{"address": key["address"], "name": "dev"}]
    assert g["params"]["slot_ms"] == 1000
    blocks = produced(d.output())
    assert sorted(blocks)[:3] == [1, 2, 3]
    assert d.stop() == 0


def test_kill_9_loses_no_block_and_restarts_at_same_root(tmp_path, imetd):
    args = ["--dev", "--data-dir", str(tmp_path / "n")]
    for round_ in range(3):
        d = imetd(*args, name="run%d" % round_)
        wait_height(d, 3 * (round_ + 1))
        time.sleep(0.35 * round_)  # vary where in the slot the kill lands
        d.stop(signal.SIGKILL)
        before = produced(d.output())
        top = max(before)
        d2 = imetd(*args, name="check%d" % round_)
        d2.wait_for("chain loaded")
        m = LOADED.search(d2.output())
        height, bhash, root = int(m.group(1)), m.group(2), m.group(3)
        # Every block reported as produced was committed before it was logged: none is lost.
        assert height >= top, (height, top)
        if height == top:
            assert (bhash, root) == before[top]
        d2.stop(signal.SIGKILL)


def test_other_chain_in_data_dir_is_refused(tmp_path, imetd):
    d = imetd("--dev", "--data-dir", str(tmp_path / "n"))
    wait_height(d, 1)
    assert d.stop() == 0
    (tmp_path / "n" / "genesis.json").rename(tmp_path / "n" / "genesis.old")
    r = run_imetd("--dev", "--data-dir", str(tmp_path / "n"))
    assert r.returncode == 1
    assert "the database holds another chain" in r.stdout + r.stderr


def test_bad_genesis_file_is_refused(tmp_path):
    bad = tmp_path / "g.json"
    bad.write_text('{"chain_id": "x"}')
    r = run_imetd("--dev", "--data-dir", str(tmp_path / "n"), "--genesis", str(bad))
    assert r.returncode == 1
    assert "missing field" in r.stdout + r.stderr
