"""`imet notarize FILE`, `imet verify FILE` and `imet verify-proof` against a running dev node:
who registered a file and when, checked against the state proof and the block header."""
import hashlib
import json

from test_cli_tx import cli  # noqa: F401  (fixture)


def blake2b_256(data):
    return hashlib.blake2b(data, digest_size=32).hexdigest()


def test_notarize_then_verify_a_file(cli, tmp_path):  # noqa: F811
    doc = tmp_path / "contract.pdf"
    doc.write_bytes(b"%PDF-1.7 the terms" * 1000)
    r = cli.run("notarize", str(doc), "--from", "bob", "--metadata", '{"title":"terms"}', ok=False)
    assert r.returncode == 1 and "insufficient_funds" in r.stderr  # bob has no coins yet
    cli.tx("transfer", "--from", "dev", "--to", "bob", "--amount", "5")
    r = cli.run("notarize", str(doc), "--from", "bob", "--metadata", '{"title":"terms"}')
    assert blake2b_256(doc.read_bytes()) in r.stdout and "final at height" in r.stdout
    bob = cli.address("bob")

    v = cli.json("verify", str(doc))
    assert v["owner"] == bob and v["content_hash"] == blake2b_256(doc.read_bytes())
    assert v["size"] == doc.stat().st_size and v["metadata"] == '{"title":"terms"}'
    block = cli.json("query", "block", str(v["height"]))
    assert v["time_ms"] == block["time_ms"]
    assert v["verified_at_height"] >= v["height"]
    human = cli.run("verify", str(doc)).stdout
    assert f"notarized by {bob} at height {v['height']}" in human and "verified:" in human

    r = cli.run("notarize", str(doc), "--from", "dev", ok=False)
    assert r.returncode == 1 and "already_notarized (reason 24)" in r.stderr

    other = tmp_path / "other.txt"
    other.write_text("never registered")
    r = cli.run("verify", str(other), ok=False)
    assert r.returncode == 1 and "is not notarized" in r.stderr


def test_verify_proof_checks_account_and_registry_proofs(cli, tmp_path):  # noqa: F811
    bob = cli.address("bob")
    cli.tx("transfer", "--from", "dev", "--to", "bob", "--amount", "42")
    cli.tx("name", "--from", "dev", "--name", "home", "--kind", "url", "--target", "https://h")
    proof = tmp_path / "bob.json"
    proof.write_text(cli.run("query", "account", "bob", "--json").stdout)
    out = cli.json("verify-proof", str(proof))
    assert out["valid"] and out["present"] and f"account {bob} holds balance 42 IMET" in \
        out["statement"]

    # The same check against a header given by hand (offline light-client style).
    acc = json.loads(proof.read_text())
    header = cli.json("query", "block", str(acc["height"]))["header"]
    assert cli.json("verify-proof", str(proof), "--header", header)["valid"]
    # Another block's header has another state root: refused.
    older = cli.json("query", "block", str(acc["height"] - 1))["header"]
    r = cli.run("verify-proof", str(proof), "--header", older, ok=False)
    assert r.returncode == 1 and "proof is for height" in r.stderr
    # A tampered record (balance changed) does not verify.
    forged = dict(acc)
    rec = bytearray(bytes.fromhex(acc["record"]))
    rec[1] ^= 0x01
    forged["record"] = rec.hex()
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    r = cli.run("verify-proof", str(tmp_path / "forged.json"), ok=False)
    assert r.returncode == 1 and "state proof does not verify" in r.stderr

    # Registry proof (a name) and a non-membership proof (an unused account).
    (tmp_path / "name.json").write_text(cli.run("query", "names", "home", "--json").stdout)
    assert cli.json("verify-proof", str(tmp_path / "name.json"))["present"]
    cli.run("keys", "new", "nobody", "--unencrypted")
    (tmp_path / "nobody.json").write_text(cli.run("query", "account", "nobody", "--json").stdout)
    absent = cli.json("verify-proof", str(tmp_path / "nobody.json"))
    assert absent["valid"] and not absent["present"] and "is absent" in absent["statement"]
    r = cli.run("verify-proof", str(tmp_path / "bob.json"), "--header", "zz", ok=False)
    assert r.returncode == 1 and "--header" in r.stderr
