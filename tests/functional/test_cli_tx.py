"""The wallet CLI against a running dev node: every transaction kind submitted with `imet tx …`
and seen through `imet query`, offline signing with a later `imet tx submit`, and error cases
(node errors shown with their code and reason)."""
import json

import pytest

from conftest import free_port


class Cli:
    """Runs `imet` against one dev node (IMET_NODE) with the fixture's key dir."""

    def __init__(self, imet, url):
        self.imet, self.url = imet, url

    def run(self, *args, ok=True):
        args = list(args)
        if args[0] in ("query", "notarize", "pod") and "--keydir" not in args:
            args = [args[0], "--keydir", str(self.imet.keydir), *args[1:]]
        r = self.imet(*args, env_extra={"IMET_NODE": self.url})
        if ok:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def json(self, *args):
        return json.loads(self.run(*args, "--json").stdout)

    def tx(self, kind, *args):
        """Submits and waits until final; returns the final status JSON."""
        out = self.json("tx", kind, *args, "--wait")
        assert out["status"] == "final", out
        return out

    def address(self, name):
        r = self.imet("keys", "show", name, "--json")
        return json.loads(r.stdout)["address"]


@pytest.fixture
def cli(tmp_path, imetd, imet):
    port = free_port()
    d = imetd("--dev", "--data-dir", str(tmp_path / "n"), "--http", f"127.0.0.1:{port}")
    d.wait_for("HTTP API listening")
    c = Cli(imet, f"http://127.0.0.1:{port}")
    c.run("keys", "import", "dev", str(tmp_path / "n" / "node_key.json"))
    for name in ("bob", "n1", "n2", "dev1"):
        c.run("keys", "new", name, "--unencrypted")
    c.node_dir = tmp_path / "n"
    yield c
    assert d.stop() == 0


def test_every_kind_through_the_cli_and_seen_through_query(cli):
    bob, dev = cli.address("bob"), cli.address("dev")
    cli.tx("transfer", "--from", "dev", "--to", "bob", "--amount", "1000", "--memo", "hi")
    acc = cli.json("query", "account", "bob")
    assert acc["balance"] == "1000" and acc["nonce"] == 0 and acc["address"] == bob

    cli.tx("stake", "--from", "bob", "--amount", "10")
    cli.tx("unstake", "--from", "bob", "--amount", "2.5")
    acc = cli.json("query", "account", "bob")
    assert acc["stake"] == "7.5" and [u["amount"] for u in acc["unbonding"]] == ["2.5"]
    assert acc["balance"] == "989.8"  # 1000 - 10 staked - 2 x 0.1 fee

    cli.tx("register-delegate", "--from", "bob", "--name", "bob-node")
    names = {d["name"]: d["address"] for d in cli.json("query", "delegates")}
    assert names == {"dev": dev, "bob-node": bob}
    # bob votes (weight ~990 IMET): the dev delegate, backed by its own 40M, stays the one witness
    # of the dev chain. (If dev voted for bob too, the two would tie and, by address, bob could
    # take the only slot: the dev node would then stop producing, as DPoS says it must.)
    cli.tx("vote", "--from", "bob", "--delegate", bob, "--delegate", "dev")
    assert sorted(cli.json("query", "account", "bob")["votes"]) == sorted([bob, dev])

    cli.tx("register-node", "--from", "dev", "--node-key", "n1", "--class", "edge", "--endpoint",
           "tcp://203.0.113.5:7645", "--region", "eu-west", "--capacity", "1000000", "--stake",
           "200")
    cli.tx("register-node", "--from", "bob", "--node-key", "n2", "--stake", "100")
    cli.tx("update-node", "--from", "dev", "--node-key", "n1", "--region", "ap-east")
    nodes = {n["node"]: n for n in cli.json("query", "nodes")}
    n1 = nodes[cli.address("n1")]
    assert n1["owner"] == dev and n1["region"] == "ap-east" and n1["class"] == 1
    assert n1["endpoints"] == ["tcp://203.0.113.5:7645"] and n1["stake"] == "200"
    assert nodes[cli.address("n2")]["owner"] == bob

    cli.tx("device", "--from", "bob", "--device", "dev1", "--tier", "1", "--sponsor", "dev")
    device = cli.json("query", "devices", "dev1")
    assert device["owner"] == bob and device["sponsor"] == dev and device["default_tier"] == 1

    cli.tx("name", "--from", "bob", "--name", "weather.city", "--kind", "topic", "--target",
           "city/weather")
    cli.tx("name", "--from", "bob", "--name", "weather.city", "--kind", "url", "--target",
           "https://example.org/w", "--update")
    name = cli.json("query", "names", "weather.city")
    assert name["owner"] == bob and name["target"] == {"kind": "url",
                                                       "value": "https://example.org/w"}

    anchored = cli.tx("anchor", "--from", "bob", "--log-id", "log-1", "--height", "7", "--root",
                      "ab" * 32)
    assert cli.json("query", "tx", anchored["id"])["tx"]["kind"] == "anchor"

    cli.tx("notarize", "--from", "bob", "--hash", "cd" * 32, "--size", "5", "--metadata", "m")
    notary = cli.json("query", "notarization", "cd" * 32)
    assert notary["owner"] == bob and notary["size"] == 5

    # Proof of Data: n2 (bob's) receipts 5,000 tier-2 bytes relayed by n1 (dev's).
    status = cli.json("query", "status")
    head = status["height"]
    block = cli.json("query", "block", str(head))
    epoch = head // status["epoch_blocks"]
    signed = cli.json("pod", "sign-receipt", "--receiver", "n2", "--relayer", "n1", "--epoch",
                      str(epoch), "--tier", "2", "--messages", "4", "--bytes", "5000",
                      "--entropy", block["hash"], "--chain-id", "imet-dev")
    receipts = cli.node_dir.parent / "receipts.json"
    receipts.write_text(json.dumps({"receipts": [signed["receipt"]]}))
    cli.tx("pod-settle", "--from", "dev", "--receipts", str(receipts))
    ep = cli.json("query", "epoch", str(epoch))
    # 5,000 bytes x tier-2 weight 2, halved while n1 is in its warm-up (the dev genesis has
    # warmup_epochs 1: the epoch it registered in).
    registered = n1["registered_height"] // status["epoch_blocks"]
    weight = 5000 if registered + 1 > epoch else 10000
    assert ep["relayers"] == [{"node": cli.address("n1"), "owner": dev, "weight": weight}]
    again = cli.run("tx", "pod-settle", "--from", "dev", "--receipts", str(receipts), "--wait",
                    ok=False)
    assert again.returncode == 1 and "duplicate_receipt (reason 38)" in again.stderr

    cli.tx("unregister-node", "--from", "bob", "--node-key", "n2")
    assert cli.address("n2") not in {n["node"] for n in cli.json("query", "nodes")}
    assert "100" in [u["amount"] for u in cli.json("query", "account", "bob")["unbonding"]]
    cli.tx("unregister-delegate", "--from", "bob")
    assert [d["name"] for d in cli.json("query", "delegates")] == ["dev"]

    human = cli.run("query", "account", "bob").stdout
    assert "balance: " in human and "stake: 7.5" in human


def test_offline_signing_then_submit(cli, tmp_path):
    bob = cli.address("bob")
    head = cli.json("query", "status")["height"]
    out = tmp_path / "pay.json"
    # --offline never contacts a node: point IMET_NODE at a closed port to prove it.
    r = cli.imet("tx", "transfer", "--offline", "--from", "dev", "--to", bob, "--amount", "12.5",
                 "--chain-id", "imet-dev", "--nonce", "0", "--expiry-height", str(head + 100),
                 "--out", str(out), env_extra={"IMET_NODE": f"http://127.0.0.1:{free_port()}"})
    assert r.returncode == 0, r.stderr
    signed = json.loads(out.read_text())
    assert signed["kind"] == "transfer" and signed["fee"] == "0.5" and signed["nonce"] == 0
    assert cli.imet("tx", "transfer", "--offline", "--from", "dev", "--to", bob, "--amount", "1",
                    "--chain-id", "imet-dev", "--nonce", "0", "--expiry-height", "9",
                    "--out", str(out)).returncode == 1  # never overwrites
    final = cli.json("tx", "submit", str(out), "--wait")
    assert final["status"] == "final" and final["id"] == signed["id"]
    assert cli.json("query", "account", bob)["balance"] == "12.5"
    replay = cli.run("tx", "submit", str(out), ok=False)
    assert replay.returncode == 1
    assert "nonce_too_low (reason 7): nonce 0 already used; next is 1" in replay.stderr


def test_errors_are_explained(cli, tmp_path):
    bob = cli.address("bob")
    typo = bob[:-1] + ("q" if bob[-1] != "q" else "p")
    for args, fragment in [
        (["tx", "transfer", "--from", "dev", "--to", typo, "--amount", "1"], "checksum"),
        (["tx", "transfer", "--from", "dev", "--to", bob, "--amount", "1.123456789"],
         "more than 8 decimal places"),
        (["tx", "transfer", "--from", "dev", "--to", bob, "--amount", "1", "--fee", "0.1"],
         "fee_too_low (reason 9)"),
        (["tx", "transfer", "--from", "nobody", "--to", bob, "--amount", "1"], "nobody"),
        (["tx", "transfer", "--offline", "--from", "dev", "--to", bob, "--amount", "1",
          "--out", str(tmp_path / "x.json")], "--offline needs --chain-id"),
        (["tx", "transfer", "--from", "dev", "--to", bob, "--amount", "1", "--chain-id", "other"],
         "the node at"),
        (["tx", "name", "--from", "dev", "--name", "x", "--kind", "bogus", "--target", "t"],
         "must be node, topic, content or url"),
        (["query", "tx", "00"], "invalid_id"),
        (["query", "block", "99999999"], "not_found"),
        (["query", "names", "BAD"], "invalid_name"),
    ]:
        r = cli.run(*args, ok=False)
        assert r.returncode == 1 and fragment in r.stderr, (args, r.stderr)
    # Accepted by the mempool, dropped when its block is built: the reason is kept.
    r = cli.run("tx", "transfer", "--from", "bob", "--to", "dev", "--amount", "5", "--wait",
                ok=False)
    assert r.returncode == 1 and "insufficient_funds (reason 10)" in r.stderr, r.stderr
    tx_id = r.stdout.split()[1]
    status = cli.json("query", "tx", tx_id)
    assert status["status"] == "rejected" and status["code"] == "insufficient_funds"
    assert status["reason"] == 10 and "does not cover" in status["message"]
    r = cli.imet("query", "status", env_extra={"IMET_NODE": f"http://127.0.0.1:{free_port()}"})
    assert r.returncode == 1 and "cannot connect" in r.stderr
