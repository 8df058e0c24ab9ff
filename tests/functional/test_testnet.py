"""A 4-node local testnet of real imetd processes (`imet testnet`), issue 5's scenarios: blocks
become final with certificates on every node; a transaction sent to any node becomes final
everywhere; kill -9 one node and finality continues, restart it and it catches up; stop 2 of 4 and
nothing becomes final (and no fork), bring one back and finality resumes; a node whose data dir is
wiped resyncs from its peers."""
import json
import shutil
import socket
import time
import urllib.request

import pytest

from conftest import _binary

SLOT_MS = 300


def ports_free(base, count):
    for p in range(base, base + count):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def free_base(n):
    """A base port such that base .. base+10n are free (testnet ports are base+10i+{0,1,2}), below
    the kernel's ephemeral range (32768+), so the nodes' own outgoing connections cannot take a
    port a node is about to listen on."""
    import random
    start = random.randrange(20000, 32000 - 10 * n)
    for base in list(range(start, 32000 - 10 * n, 53)) + list(range(20000, start, 53)):
        if ports_free(base, 10 * n):
            return base
    pytest.fail("no free port range")


class Network:
    def __init__(self, imet, path, nodes=4):
        self.imet, self.dir, self.n = imet, path, nodes
        self.base = free_base(nodes)

    def cli(self, *args, ok=True):
        r = self.imet("testnet", "--dir", str(self.dir), *args)
        if ok:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def start(self, node=None):
        args = ["start", "--nodes", str(self.n), "--slot-ms", str(SLOT_MS), "--base-port",
                str(self.base), "--imetd", _binary("imetd")]
        if node is not None:
            args += ["--node", str(node)]
        return self.cli(*args)

    def stop(self, node=None, kill=False):
        args = ["stop"] + (["--node", str(node)] if node is not None else [])
        return self.cli(*args, *(["--kill"] if kill else []))

    def api(self, i):
        return f"http://127.0.0.1:{self.base + 10 * i + 1}"

    def get(self, i, path):
        with urllib.request.urlopen(self.api(i) + path, timeout=5) as r:
            return json.loads(r.read())

    def status(self, i):
        try:
            return self.get(i, "/v1/status")
        except OSError:
            return None

    def final(self, i):
        s = self.status(i)
        return s["final_height"] if s else -1

    def block_hash(self, i, height):
        return self.get(i, f"/v1/blocks/{height}")["hash"]

    def wait(self, pred, what, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out: {what}; statuses: "
                             + json.dumps([self.status(i) for i in range(self.n)])[:3000]
                             + "\n" + self.logs())

    def logs(self):
        out = []
        for i in range(self.n):
            p = self.dir / f"node{i}" / "imetd.log"
            if p.exists():
                out.append(f"--- node{i} ---\n" + "\n".join(p.read_text().splitlines()[-25:]))
        return "\n".join(out)

    def same_chain(self, nodes, upto):
        for h in range(1, upto + 1):
            hashes = {self.block_hash(i, h) for i in nodes}
            assert len(hashes) == 1, f"fork at height {h}: {hashes}"


@pytest.fixture
def net(imet, tmp_path):
    t = Network(imet, tmp_path / "tn")
    t.start()
    yield t
    t.stop(kill=True)


def test_four_nodes_finalize_and_a_tx_sent_anywhere_is_final_everywhere(net, imet):
    net.wait(lambda: min(net.final(i) for i in range(4)) >= 5, "4 nodes final >= 5")
    s = net.status(0)
    assert s["chain_id"] == "imet-testnet"
    # The P2P host's counters: every peer got in, nobody was evicted or refused for its netgroup
    # (all nodes share 127.0.0.1, which the netgroup limits exempt).
    p2p = s["p2p"]
    assert p2p["handshakes_ok"] >= 3, p2p
    assert p2p["evicted_inbound"] == 0 and p2p["refused_full"] == 0, p2p
    assert p2p["refused_netgroup"] == 0, p2p
    net.same_chain(range(4), 5)
    blk = net.get(1, "/v1/blocks/3")
    assert blk["certificate"]["height"] == 3
    assert len(blk["certificate"]["commits"]) >= 3  # quorum of 4 witnesses
    # A transfer from node0's key, submitted to node2, is final on every node.
    key = str(net.dir / "node0" / "node_key.json")
    bob = imet("keys", "new", "bob", "--unencrypted")
    assert bob.returncode == 0, bob.stderr
    to = json.loads(imet("keys", "show", "bob", "--json").stdout)["address"]
    r = imet("tx", "transfer", "--from", key, "--to", to, "--amount", "7", "--json",
             env_extra={"IMET_NODE": net.api(2)})
    assert r.returncode == 0, (r.stdout, r.stderr)
    txid = json.loads(r.stdout)["id"]

    def final_everywhere():
        for i in range(4):
            try:
                if net.get(i, f"/v1/txs/{txid}")["status"] != "final":
                    return False
            except OSError:
                return False
        return True

    net.wait(final_everywhere, "transfer final on all nodes")
    for i in range(4):
        assert net.get(i, f"/v1/accounts/{to}")["balance"] == "7"


def test_kill_one_finality_continues_restart_catches_up(net):
    net.wait(lambda: net.final(3) >= 3, "node3 final >= 3")
    net.stop(node=3, kill=True)
    h = net.final(0)
    net.wait(lambda: min(net.final(i) for i in range(3)) >= h + 6,
             "finality continues with 3 of 4")
    net.start(node=3)
    net.wait(lambda: net.final(3) >= net.final(0) - 1 and net.final(3) > h + 6,
             "restarted node catches up")
    net.same_chain(range(4), net.final(3))


def test_two_of_four_down_halts_without_fork_and_one_back_resumes(net):
    net.wait(lambda: min(net.final(i) for i in range(4)) >= 3, "final >= 3")
    net.stop(node=2, kill=True)
    net.stop(node=3, kill=True)
    time.sleep(SLOT_MS / 1000 * 2)  # in-flight decisions land
    h0, h1 = net.final(0), net.final(1)
    time.sleep(SLOT_MS / 1000 * 10)
    assert net.final(0) == h0 and net.final(1) == h1, "blocks became final with 2 of 4 witnesses"
    net.same_chain([0, 1], min(h0, h1))
    net.start(node=2)
    net.wait(lambda: min(net.final(i) for i in range(3)) >= max(h0, h1) + 3,
             "finality resumes with 3 of 4", timeout=90)
    net.same_chain([0, 1, 2], min(net.final(i) for i in range(3)))


def test_wiped_node_resyncs_from_peers(net):
    net.wait(lambda: min(net.final(i) for i in range(4)) >= 8, "final >= 8")
    net.stop(node=1)
    node1 = net.dir / "node1"
    # Bans and learned addresses are saved at stop (docs/running-a-network.md).
    peers_file = json.loads((node1 / "p2p_peers.json").read_text())
    assert peers_file["version"] == 1 and isinstance(peers_file["banned_ids"], list)
    for sub in ("db", "msglog"):
        shutil.rmtree(node1 / sub, ignore_errors=True)
    net.start(node=1)
    target = net.final(0)
    net.wait(lambda: net.final(1) >= target, "wiped node resynced")
    net.same_chain([0, 1], target)
    log = (node1 / "imetd.log").read_text()
    assert "sync" in log
    sync = net.status(1)["sync"]
    assert sync["best_peer_height"] >= target
    assert sync["buffered_blocks"] >= 0 and sync["requests_in_flight"] >= 0
