"""`imet keys …` and `imet address check` end to end, including every bad-input case."""
import json
import os
import stat

import pytest


def new_key(imet, name, passphrase="pw-1"):
    r = imet("keys", "new", name, "--json", passphrase=passphrase)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_version(imet):
    r = imet("--version")
    assert r.returncode == 0 and r.stdout.startswith("imet ")


def test_new_list_show(imet):
    a = new_key(imet, "alice")
    b = new_key(imet, "bob")
    assert a["address"].startswith("imet1") and a["address"] != b["address"]
    assert a["encrypted"] is True
    path = imet.keydir / "alice.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(imet.keydir).st_mode) == 0o700
    r = imet("keys", "list")
    assert r.returncode == 0
    assert r.stdout.splitlines() == [f"alice\t{a['address']}", f"bob\t{b['address']}"]
    r = imet("keys", "show", "alice")
    assert r.returncode == 0 and a["address"] in r.stdout and a["public_key"] in r.stdout
    # The file holds no secret in clear.
    assert "seed" not in json.loads(path.read_text())


def test_passphrase_file_and_no_terminal(imet, tmp_path):
    pf = tmp_path / "pass"
    pf.write_text("from-file\n")
    r = imet("keys", "--passphrase-file", str(pf), "new", "k1")
    assert r.returncode == 0, r.stderr
    # No passphrase, no env, no terminal: a clear error, no file created.
    r = imet("keys", "new", "k2")
    assert r.returncode == 1
    assert "no passphrase given and no terminal" in r.stderr
    assert not (imet.keydir / "k2.key").exists()
    empty = tmp_path / "empty"
    empty.write_text("")
    r = imet("keys", "--passphrase-file", str(empty), "new", "k3")
    assert r.returncode == 1 and "is empty" in r.stderr


def test_duplicate_name_never_overwrites(imet):
    a = new_key(imet, "alice")
    before = (imet.keydir / "alice.key").read_text()
    r = imet("keys", "new", "alice", passphrase="other")
    assert r.returncode == 1 and "already exists" in r.stderr
    assert (imet.keydir / "alice.key").read_text() == before
    assert a["address"] in before


def test_export_import_roundtrip(imet, tmp_path):
    a = new_key(imet, "alice", passphrase="pw-a")
    out = tmp_path / "alice.backup"
    r = imet("keys", "export", "alice", "--out", str(out))
    assert r.returncode == 0, r.stderr
    r = imet("keys", "export", "alice", "--out", str(out))
    assert r.returncode == 1 and "already exists" in r.stderr  # no overwrite
    # Wrong passphrase on import: refused, nothing stored.
    r = imet("keys", "import", "alice2", str(out), passphrase="nope")
    assert r.returncode == 1 and "wrong passphrase" in r.stderr
    assert not (imet.keydir / "alice2.key").exists()
    r = imet("keys", "import", "alice2", str(out), "--json", passphrase="pw-a")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["address"] == a["address"]
    # Raw seed export/import gives the same address.
    r = imet("keys", "export", "alice", "--unsafe-raw", passphrase="pw-a")
    assert r.returncode == 0 and len(r.stdout.strip()) == 64
    raw = tmp_path / "seed.hex"
    raw.write_text(r.stdout)
    r = imet("keys", "import", "alice3", str(raw), "--raw", "--json", passphrase="new-pw")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["address"] == a["address"]
    r = imet("keys", "export", "alice", "--unsafe-raw", passphrase="bad")
    assert r.returncode == 1 and "wrong passphrase" in r.stderr


def test_unencrypted_dev_key(imet):
    r = imet("keys", "new", "dev", "--unencrypted", "--json")
    assert r.returncode == 0
    assert json.loads(r.stdout)["encrypted"] is False
    r = imet("keys", "list")
    assert "(unencrypted)" in r.stdout


@pytest.mark.parametrize("mutate,fragment", [
    (lambda t: t[: len(t) // 2], "is corrupted: not valid JSON"),
    (lambda t: "", "is corrupted: not valid JSON"),
    (lambda t: t.replace('"ciphertext": "', '"ciphertext": "zz'), "field 'ciphertext'"),
    (lambda t: t.replace('"ed25519"', '"rsa"'), "unsupported key type 'rsa'"),
])
def test_damaged_key_files(imet, mutate, fragment):
    new_key(imet, "alice")
    path = imet.keydir / "alice.key"
    path.write_text(mutate(path.read_text()))
    r = imet("keys", "show", "alice")
    assert r.returncode == 1 and fragment in r.stderr, r.stderr
    r = imet("keys", "export", "alice", "--unsafe-raw", passphrase="pw-1")
    assert r.returncode == 1 and fragment in r.stderr
    r = imet("keys", "list")
    assert r.returncode == 1 and "alice.key" in r.stderr


def test_tampered_ciphertext_fails_decryption(imet):
    new_key(imet, "alice")
    path = imet.keydir / "alice.key"
    j = json.loads(path.read_text())
    ct = j["ciphertext"]
    j["ciphertext"] = ("0" if ct[0] != "0" else "1") + ct[1:]
    path.write_text(json.dumps(j))
    r = imet("keys", "export", "alice", "--unsafe-raw", passphrase="pw-1")
    assert r.returncode == 1 and "wrong passphrase, or the key file was modified" in r.stderr


def test_bad_names_and_missing_keys(imet):
    r = imet("keys", "new", "../evil", passphrase="x")
    assert r.returncode == 1 and "invalid key name" in r.stderr
    r = imet("keys", "show", "ghost")
    assert r.returncode == 1 and "key directory" in r.stderr  # dir does not exist yet
    new_key(imet, "alice")
    r = imet("keys", "show", "ghost")
    assert r.returncode == 1 and "no key named 'ghost'" in r.stderr
    r = imet("keys", "import", "x", "/nonexistent/file", passphrase="x")
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_address_check(imet):
    addr = new_key(imet, "alice")["address"]
    r = imet("address", "check", addr)
    assert r.returncode == 0 and "valid IMET address" in r.stdout
    # Every single-character typo is rejected.
    charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    for pos in range(5, len(addr), 7):
        c = charset[(charset.index(addr[pos]) + 1) % 32]
        typo = addr[:pos] + c + addr[pos + 1:]
        r = imet("address", "check", typo)
        assert r.returncode == 1 and "checksum mismatch" in r.stderr, typo
    r = imet("address", "check", "imet1")
    assert r.returncode == 1
    r = imet("address", "check", addr.replace("imet1", "btc1", 1))
    assert r.returncode == 1
    r = imet("address", "check", addr.upper())
    assert r.returncode == 0  # all-upper-case is a valid bech32m spelling


def _run_on_terminal(argv, env, answers, timeout=30):
    """Runs argv with a pseudo-terminal as its controlling terminal, typing each answer after
    each 'assphrase' prompt. Returns (exit code, everything the terminal showed)."""
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    shown, pending, deadline = b"", list(answers), time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.count(b"assphrase") > len(answers) - len(pending):
                os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_interactive_prompt_without_echo(imet, tmp_path):
    from conftest import BIN
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    argv = [str(BIN / "imet"), "keys", "--keydir", str(imet.keydir), "new", "tty"]
    code, shown = _run_on_terminal(argv, env, ["typed-secret", "typed-secret"])
    assert code == 0, shown
    assert "New passphrase for key 'tty'" in shown and "Repeat passphrase" in shown
    assert "typed-secret" not in shown, "passphrase echoed"
    # The typed passphrase opens the key; a mismatch on creation is refused.
    r = imet("keys", "export", "tty", "--unsafe-raw", passphrase="typed-secret")
    assert r.returncode == 0, r.stderr
    argv[-1] = "tty2"
    code, shown = _run_on_terminal(argv, env, ["one", "two"])
    assert code == 1 and "the two passphrases differ" in shown
    assert not (imet.keydir / "tty2.key").exists()


def test_genesis_new(imet, tmp_path):
    d = new_key(imet, "d")["address"]
    out = tmp_path / "dev.json"
    r = imet("genesis", "new", "--dev", "--delegate", d, "--out", str(out), "--time-ms", "1000")
    assert r.returncode == 0, r.stderr
    g = json.loads(out.read_text())
    assert g["chain_id"] == "imet-dev" and g["params"]["slot_ms"] == 1000
    # The dev delegate votes for itself, so it is elected (the witness of the dev chain).
    assert g["accounts"] == [{"address": d, "balance": "40000000", "votes": [d]}]
    assert g["pod_pool"] == "60000000" and g["params"]["fees"]["transfer"] == "0.5"
    r = imet("genesis", "new", "--dev", "--delegate", d, "--out", str(out))
    assert r.returncode == 1 and "already exists" in r.stderr  # never overwritten

    addrs = [new_key(imet, n)["address"] for n in ["f", "t", "c", "a"]]
    r = imet("genesis", "new", "--chain-id", "imet-test-1", "--foundation", addrs[0], "--team",
             addrs[1], "--consensus-round", addrs[2], "--angel-round", addrs[3], "--delegate",
             f"d1={d}", "--time-ms", "1700000000000")
    assert r.returncode == 0, r.stderr
    g = json.loads(r.stdout)
    balances = {a["address"]: a["balance"] for a in g["accounts"]}
    assert balances == {addrs[0]: "10000000", addrs[1]: "10000000", addrs[2]: "6000000",
                        addrs[3]: "14000000"}
    lock = [a for a in g["accounts"] if a["address"] == addrs[0]][0]["lock"]
    assert lock["cliff_ms"] == 1700000000000 + 730 * 86400000
    typo = addrs[0][:-1] + ("q" if addrs[0][-1] != "q" else "p")
    r = imet("genesis", "new", "--chain-id", "x", "--foundation", typo, "--team", addrs[1],
             "--consensus-round", addrs[2], "--angel-round", addrs[3], "--delegate", f"d1={d}")
    assert r.returncode == 1 and "--foundation" in r.stderr and "checksum" in r.stderr
    r = imet("genesis", "new", "--chain-id", "Bad_Id", "--foundation", addrs[0], "--team",
             addrs[1], "--consensus-round", addrs[2], "--angel-round", addrs[3], "--delegate",
             f"d1={d}")
    assert r.returncode == 1 and "chain_id 'Bad_Id'" in r.stderr
