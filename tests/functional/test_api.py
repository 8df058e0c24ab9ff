"""The JSON API of a dev node, end to end with transactions signed offline by `imet`."""
import json
import socket
import time
import urllib.error
import urllib.request

from conftest import free_port


def call(port, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 data=None if body is None else body.encode(),
                                 method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start_node(tmp_path, imetd, imet):
    port = free_port()
    d = imetd("--dev", "--data-dir", str(tmp_path / "n"), "--http", f"127.0.0.1:{port}")
    d.wait_for("HTTP API listening")
    # The dev delegate's key is the node key: import it to sign with it.
    r = imet("keys", "import", "dev", str(tmp_path / "n" / "node_key.json"))
    assert r.returncode == 0, r.stderr
    return d, port


def sign_transfer(imet, to, amount, nonce, expiry, chain="imet-dev", fee="0.5"):
    r = imet("tx", "transfer", "--offline", "--from", "dev", "--to", to, "--amount", amount,
             "--fee", fee, "--chain-id", chain, "--nonce", str(nonce), "--expiry-height",
             str(expiry))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_final(port, tx_id, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        code, body = call(port, f"/v1/txs/{tx_id}")
        if code == 200 and body["status"] == "final":
            return body
        time.sleep(0.2)
    raise AssertionError(f"{tx_id} not final")


def test_transfer_becomes_final_and_is_visible(tmp_path, imetd, imet):
    d, port = start_node(tmp_path, imetd, imet)
    code, status = call(port, "/v1/status")
    assert code == 200 and status["chain_id"] == "imet-dev"
    r = imet("keys", "new", "bob", "--json", passphrase="pw")
    bob = json.loads(r.stdout)["address"]
    signed = sign_transfer(imet, bob, "12.5", 0, status["height"] + 100)
    code, body = call(port, "/v1/txs", json.dumps({"tx": signed["tx"]}))
    assert code == 202 and body == {"id": signed["id"], "status": "pending"}
    final = wait_final(port, signed["id"])
    code, block = call(port, f"/v1/blocks/{final['height']}")
    assert code == 200 and [t["id"] for t in block["txs"]] == [signed["id"]]
    assert block["txs"][0]["kind"] == "transfer" and block["txs"][0]["fee"] == "0.5"
    code, acc = call(port, f"/v1/accounts/{bob}")
    assert code == 200 and acc["balance"] == "12.5" and acc["exists"] is True
    assert len(acc["proof"]) > 0 and len(acc["state_root"]) == 64
    # Replaying the same signed transaction is refused with the ledger's reason.
    code, body = call(port, "/v1/txs", json.dumps({"tx": signed["tx"]}))
    assert code == 400 and body["error"]["code"] == "nonce_too_low"
    assert d.stop() == 0


def test_api_rejects_bad_input_with_reasons(tmp_path, imetd, imet):
    d, port = start_node(tmp_path, imetd, imet)
    code, status = call(port, "/v1/status")
    other = sign_transfer(imet, status["node"], "1", 0, status["height"] + 100, chain="imet-main")
    code, body = call(port, "/v1/txs", json.dumps({"tx": other["tx"]}))
    assert code == 400 and body["error"]["code"] == "wrong_chain"
    cheap = sign_transfer(imet, status["node"], "1", 0, status["height"] + 100, fee="0.1")
    code, body = call(port, "/v1/txs", json.dumps({"tx": cheap["tx"]}))
    assert code == 400 and body["error"]["code"] == "fee_too_low" and body["error"]["reason"] == 9
    for payload, fragment in [("not json", "expected a JSON body"), ('{"tx": "zz"}', "'tx'"),
                              ('{"tx": "00ff"}', "invalid encoding")]:
        code, body = call(port, "/v1/txs", payload)
        assert code == 400 and fragment in body["error"]["message"], body
    addr = status["node"]
    typo = addr[:-1] + ("q" if addr[-1] != "q" else "p")
    code, body = call(port, f"/v1/accounts/{typo}")
    assert code == 400 and body["error"]["code"] == "invalid_address"
    assert call(port, "/v1/blocks/abc")[0] == 400
    assert call(port, "/v1/blocks/99999999")[0] == 404
    assert call(port, "/v1/txs/" + "00" * 32)[0] == 404
    assert call(port, "/v1/nothing")[0] == 404
    # A raw garbage request does not crash the node.
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"\x00\xff garbage\r\n\r\n")
        s.recv(4096)
    assert call(port, "/v1/status")[0] == 200
    assert d.stop() == 0


def test_batch_submission_answers_each_transaction(tmp_path, imetd, imet):
    d, port = start_node(tmp_path, imetd, imet)
    code, status = call(port, "/v1/status")
    r = imet("keys", "new", "carol", "--json", passphrase="pw")
    carol = json.loads(r.stdout)["address"]
    expiry = status["height"] + 100
    first = sign_transfer(imet, carol, "1", 0, expiry)
    second = sign_transfer(imet, carol, "2", 1, expiry)
    foreign = sign_transfer(imet, carol, "3", 2, expiry, chain="imet-main")
    batch = [first["tx"], "zz", second["tx"], foreign["tx"], first["tx"]]
    code, body = call(port, "/v1/txs", json.dumps({"txs": batch}))
    assert code == 200, body
    res = body["results"]
    assert body["accepted"] == 2 and len(res) == 5
    assert res[0] == {"id": first["id"], "status": "pending"}
    assert res[1]["error"]["code"] == "malformed" and "id" not in res[1]
    assert res[2] == {"id": second["id"], "status": "pending"}
    assert res[3]["id"] == foreign["id"] and res[3]["error"]["code"] == "wrong_chain"
    assert res[4]["error"]["code"] == "duplicate"
    wait_final(port, first["id"])
    wait_final(port, second["id"])
    code, acc = call(port, f"/v1/accounts/{carol}")
    assert acc["balance"] == "3"
    # The whole request is refused when it is not a list or too long.
    code, body = call(port, "/v1/txs", json.dumps({"txs": "abc"}))
    assert code == 400 and body["error"]["code"] == "bad_request"
    code, body = call(port, "/v1/txs", json.dumps({"txs": ["00"] * 4097}))
    assert code == 400 and body["error"]["code"] == "too_many"
    assert d.stop() == 0


def call_with_headers(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body.encode(),
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def test_a_busy_node_answers_503_with_retry_after(tmp_path, imetd, imet):
    # Admission limit of 2 pending transactions ([mempool] in the config file): the third is
    # refused as busy before its signature is looked at, and /v1/status shows it.
    cfg = tmp_path / "imetd.toml"
    cfg.write_text("[mempool]\nadmission_slots = 1\nadmission_floor = 2\n")
    port = free_port()
    d = imetd("--dev", "--config", str(cfg), "--data-dir", str(tmp_path / "n"), "--http",
              f"127.0.0.1:{port}", "--mqtt", f"127.0.0.1:{free_port()}", "--p2p",
              f"127.0.0.1:{free_port()}")
    d.wait_for("HTTP API listening")
    r = imet("keys", "import", "dev", str(tmp_path / "n" / "node_key.json"))
    assert r.returncode == 0, r.stderr
    code, status = call(port, "/v1/status")
    assert status["mempool"]["admission_slots"] == 1
    assert status["mempool"]["admission_floor"] == 2
    r = imet("keys", "new", "dave", "--json", passphrase="pw")
    dave = json.loads(r.stdout)["address"]
    nonce, refused_single = 0, False
    # A block can drain the mempool between two requests (one per 1 s slot): try a few times.
    for _ in range(5):
        code, status = call(port, "/v1/status")
        nonce = call(port, f"/v1/accounts/{status['node']}")[1]["nonce"]
        expiry = status["height"] + 100
        txs = [sign_transfer(imet, dave, "1", nonce + k, expiry) for k in range(4)]
        code, headers, body = call_with_headers(
            port, "/v1/txs", json.dumps({"txs": [t["tx"] for t in txs[:3]]}))
        if body["accepted"] != 2:
            wait_final(port, txs[0]["id"])
            continue
        assert code == 200 and headers.get("Retry-After") == "1", (code, headers, body)
        assert body["results"][2]["error"]["code"] == "mempool_full"
        assert "busy" in body["results"][2]["error"]["message"]
        code, headers, body = call_with_headers(port, "/v1/txs", json.dumps({"tx": txs[2]["tx"]}))
        if code == 503:
            assert headers.get("Retry-After") == "1", headers
            assert body["error"]["code"] == "mempool_full" and body["error"]["reason"] == 33
            refused_single = True
            break
        wait_final(port, txs[2]["id"])
    assert refused_single, "never saw a 503"
    code, status = call(port, "/v1/status")
    assert status["mempool"]["refused_busy"] >= 2
    assert status["mempool"]["admission_limit"] >= 2
    assert d.stop() == 0
