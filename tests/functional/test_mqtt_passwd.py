"""`imet mqtt passwd` and `imet mqtt token` end to end, and interoperation with the real
mosquitto_passwd and mosquitto broker: a file mosquitto_passwd wrote keeps working (in IMET and in
mosquitto) after IMET edits it, and mosquitto_passwd keeps IMET's Argon2id entries."""
import json
import os
import pty
import select
import shutil
import stat
import subprocess
import time

import pytest

from conftest import _binary, free_port

MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                          if os.path.exists("/usr/sbin/mosquitto") else None)
MOSQUITTO_PUB = shutil.which("mosquitto_pub")
# mosquitto started as root drops to the 'mosquitto' user, which cannot read files in the test's
# private temporary directory: keep it as the current user.
AS_ME = "user root\n" if os.geteuid() == 0 else ""


def entries(path):
    """user -> hash, from a password file."""
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.lstrip().startswith("#"):
            user, _, h = line.partition(":")
            out[user] = h
    return out


def check(imet, path, user, password):
    return imet("mqtt", "passwd", "--check", "-b", str(path), user, password)


def test_create_add_update_delete(imet, tmp_path):
    f = tmp_path / "passwd"
    r = imet("mqtt", "passwd", "-c", "-b", str(f), "alice", "alice pw")
    assert r.returncode == 0, r.stderr
    assert "added user 'alice'" in r.stdout
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert entries(f)["alice"].startswith("$argon2id$v=19$m=65536,t=2,p=1$")

    r = imet("mqtt", "passwd", "-b", str(f), "bob", "bob pw")
    assert r.returncode == 0, r.stderr
    assert list(entries(f)) == ["alice", "bob"]
    assert check(imet, f, "alice", "alice pw").returncode == 0
    assert check(imet, f, "bob", "bob pw").returncode == 0
    r = check(imet, f, "alice", "bob pw")
    assert r.returncode == 1 and "wrong password for user 'alice'" in r.stderr

    # Update: the entry changes in place, the other one is untouched.
    before = entries(f)
    r = imet("mqtt", "passwd", "-b", str(f), "alice", "new pw")
    assert r.returncode == 0 and "updated user 'alice'" in r.stdout
    after = entries(f)
    assert list(after) == ["alice", "bob"]
    assert after["bob"] == before["bob"] and after["alice"] != before["alice"]
    assert check(imet, f, "alice", "new pw").returncode == 0
    assert check(imet, f, "alice", "alice pw").returncode == 1

    r = imet("mqtt", "passwd", "-D", str(f), "alice")
    assert r.returncode == 0, r.stderr
    assert list(entries(f)) == ["bob"]
    r = imet("mqtt", "passwd", "-D", str(f), "alice")
    assert r.returncode == 1 and f"user 'alice' is not in '{f}'" in r.stderr
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600

    # -c starts over, as with mosquitto_passwd.
    r = imet("mqtt", "passwd", "-c", "-b", str(f), "carol", "c")
    assert r.returncode == 0 and list(entries(f)) == ["carol"]


def test_password_file_option_and_no_terminal(imet, tmp_path):
    f = tmp_path / "passwd"
    pwf = tmp_path / "pw.txt"
    pwf.write_text("from file\nsecond line ignored\n")
    r = imet("mqtt", "passwd", "-c", "--password-file", str(pwf), str(f), "dev")
    assert r.returncode == 0, r.stderr
    assert check(imet, f, "dev", "from file").returncode == 0
    # No -b, no --password-file, no terminal: a clear error and no change.
    before = f.read_text()
    r = imet("mqtt", "passwd", str(f), "dev")
    assert r.returncode == 1
    assert "no password given and no terminal to ask on" in r.stderr
    assert f.read_text() == before


@pytest.mark.parametrize("args,fragment", [
    (["-b", "{f}", "u"], "-b needs FILE USER PASSWORD"),
    (["{f}", "u", "pw"], "a password on the command line needs -b"),
    (["-D", "-b", "{f}", "u", "pw"], "-D takes only FILE USER"),
    (["-c", "--check", "-b", "{f}", "u", "pw"], "--check cannot be combined with -c"),
    (["-b", "--password-file", "x", "{f}", "u", "pw"], "-b and --password-file cannot be combined"),
    (["-c", "-b", "{f}", "a:b", "pw"], "contains ':'"),
    (["-c", "-b", "{f}", " a", "pw"], "starts or ends with a blank"),
])
def test_bad_arguments(imet, tmp_path, args, fragment):
    f = tmp_path / "passwd"
    r = imet("mqtt", "passwd", *[a.format(f=f) for a in args])
    assert r.returncode == 1 and fragment in r.stderr, r.stderr
    assert not f.exists()


def test_missing_or_broken_file(imet, tmp_path):
    f = tmp_path / "passwd"
    r = imet("mqtt", "passwd", "-b", str(f), "u", "pw")
    assert r.returncode == 1
    assert f"password file '{f}' does not exist (use -c to create it)" in r.stderr
    f.write_text("ok:$6$c2FsdHNhbHRzYWx0$" + "A" * 86 + "==\nbroken line\n")
    r = imet("mqtt", "passwd", "-b", str(f), "u", "pw")
    assert r.returncode == 1
    assert f"{f}:2: expected 'username:hash' (no ':')" in r.stderr
    assert "broken line" in f.read_text()  # left as it was


def test_interactive_prompt_twice_without_echo(tmp_path):
    """On a terminal the password is asked twice, with echo off."""
    f = tmp_path / "passwd"
    env = {k: v for k, v in os.environ.items() if k != "IMET_PASSPHRASE"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(_binary("imet"), ["imet", "mqtt", "passwd", "-c", str(f), "eve"], env)
    transcript = b""

    def read_until(marker, timeout=30):
        nonlocal transcript
        deadline = time.time() + timeout
        while marker not in transcript:
            assert time.time() < deadline, transcript
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    transcript += os.read(fd, 1024)
                except OSError:
                    break

    read_until(b"Password: ")
    os.write(fd, b"typed secret\n")
    read_until(b"Repeat")
    os.write(fd, b"typed secret\n")
    read_until(b"added user 'eve'")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, transcript
    assert b"typed secret" not in transcript  # never echoed
    assert entries(f)["eve"].startswith("$argon2id$")


@pytest.mark.skipif(not MOSQUITTO_PASSWD, reason="mosquitto_passwd is not installed")
def test_mosquitto_file_keeps_working_after_imet_edits(imet, tmp_path):
    f = tmp_path / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(f), "alice", "alice pw"], check=True)
    subprocess.run([MOSQUITTO_PASSWD, "-H", "sha512", "-b", str(f), "bob", "bob pw"], check=True)
    original = entries(f)
    assert original["alice"].startswith("$7$") and original["bob"].startswith("$6$")

    # IMET adds and updates users: mosquitto's entries are kept byte for byte.
    assert imet("mqtt", "passwd", "-b", str(f), "carol", "carol pw").returncode == 0
    assert imet("mqtt", "passwd", "-b", str(f), "bob", "bob pw 2").returncode == 0
    edited = entries(f)
    assert edited["alice"] == original["alice"]
    assert edited["bob"].startswith("$argon2id$")
    assert check(imet, f, "alice", "alice pw").returncode == 0
    assert check(imet, f, "carol", "carol pw").returncode == 0
    assert check(imet, f, "bob", "bob pw 2").returncode == 0

    # mosquitto_passwd can still edit the file and keeps IMET's Argon2id entries.
    subprocess.run([MOSQUITTO_PASSWD, "-b", str(f), "dave", "dave pw"], check=True)
    again = entries(f)
    assert again["carol"] == edited["carol"] and again["alice"] == original["alice"]
    assert check(imet, f, "dave", "dave pw").returncode == 0
    assert check(imet, f, "carol", "carol pw").returncode == 0


@pytest.mark.skipif(not (MOSQUITTO and MOSQUITTO_PUB and MOSQUITTO_PASSWD),
                    reason="mosquitto is not installed")
def test_real_mosquitto_accepts_its_entries_after_imet_edits(imet, tmp_path):
    f = tmp_path / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(f), "alice", "alice pw"], check=True)
    assert imet("mqtt", "passwd", "-b", str(f), "carol", "carol pw").returncode == 0
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"{AS_ME}listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {f}\n")
    log = open(tmp_path / "mosquitto.log", "w")
    broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        def pub(user, password):
            return subprocess.run([MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(port), "-u", user,
                                   "-P", password, "-t", "t", "-m", "x"],
                                  capture_output=True, text=True, timeout=10)
        deadline = time.time() + 10
        while True:
            r = pub("alice", "alice pw")
            if r.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.1)
        assert r.returncode == 0, r.stderr + (tmp_path / "mosquitto.log").read_text()
        assert pub("alice", "wrong").returncode != 0
    finally:
        broker.terminate()
        broker.wait(timeout=10)
        log.close()


def test_device_token(imet, tmp_path):
    keydir = tmp_path / "keys"
    r = imet("keys", "new", "dev", "--unencrypted", "--json")
    assert r.returncode == 0, r.stderr
    address = json.loads(r.stdout)["address"]
    before = int(time.time())
    r = imet("mqtt", "token", "--keydir", str(keydir), "--key", "dev", "--client-id", "sensor-1",
             "--chain-id", "imet-dev", "--ttl", "15m", "--json")
    assert r.returncode == 0, r.stderr
    t = json.loads(r.stdout)
    assert t["username"] == address
    prefix, expiry, sig = t["password"].split(".")
    assert prefix == "imet-dt1" and int(expiry) == t["expiry"]
    assert before + 900 <= t["expiry"] <= int(time.time()) + 900
    assert len(sig) == 86 and "=" not in sig
    r = imet("mqtt", "token", "--keydir", str(keydir), "--key", "dev", "--client-id", "s",
             "--chain-id", "imet-dev")
    assert r.returncode == 0 and r.stdout.splitlines()[0] == address
    assert r.stdout.splitlines()[1].startswith("imet-dt1.")
    r = imet("mqtt", "token", "--keydir", str(keydir), "--key", "dev", "--client-id", "s",
             "--chain-id", "imet-dev", "--ttl", "40d")
    assert r.returncode == 1 and "--ttl must be between 1 s and 30 days" in r.stderr
    r = imet("mqtt", "token", "--keydir", str(keydir), "--key", "dev", "--client-id", "s",
             "--chain-id", "imet-dev", "--ttl", "soon")
    assert r.returncode == 1 and "is not a duration" in r.stderr


# ---- ACL decisions compared with the real mosquitto broker ----------------------------------

DIFF_ACL = """# anonymous
topic read public/#
topic write inbox/anon
user alice
topic readwrite alice/#
topic deny alice/secret/#
topic read shared/#
user bob
topic write bob/out
topic read read
pattern deny shared/%u/private
pattern read shared/#
pattern readwrite dev/%c/#
pattern read users/%u/in
"""

# (username or None, client id): the identities compared.
DIFF_CLIENTS = [("alice", "a1"), ("bob", "b1"), ("carol", "c1"), (None, "anon1"),
                ("a+b", "x1"), ("dave", "d+1")]
DIFF_TOPICS = ["public/news", "inbox/anon", "alice/x", "alice/secret/k", "shared/x",
               "shared/alice/private", "shared/bob/private", "shared/carol/private", "bob/out",
               "read", "dev/a1/t", "dev/b1/t", "dev/c1/t", "dev/anon1/t", "users/alice/in",
               "users/carol/in", "other"]


def _paho():
    return pytest.importorskip("paho.mqtt.client")


def _connect(mqtt, port, client_id, username):
    c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311)
    if username is not None:
        c.username_pw_set(username, "unused")
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def _mosquitto_decisions(tmp_path, acl):
    """Observes mosquitto 2.x: which (client, topic) publishes get through, and which messages
    each client receives on a '#' subscription (mosquitto's ACL filters at delivery)."""
    mqtt = _paho()
    port = free_port()
    conf = tmp_path / "mosquitto-acl.conf"
    admin_acl = tmp_path / "acl-with-admin"
    admin_acl.write_text(acl + "user admin\ntopic readwrite #\n")
    conf.write_text(f"{AS_ME}listener {port} 127.0.0.1\nallow_anonymous true\nacl_file {admin_acl}\n")
    log = open(tmp_path / "mosquitto-acl.log", "w")
    broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    clients = []
    try:
        deadline = time.time() + 10
        while True:
            try:
                admin = _connect(mqtt, port, "admin-watch", "admin")
                break
            except OSError:
                assert time.time() < deadline, "mosquitto did not start"
                time.sleep(0.1)
        clients.append(admin)
        seen_by_admin = []
        admin.on_message = lambda c, u, m: seen_by_admin.append(m.payload.decode())
        admin.subscribe("#", qos=1)
        received = {who: set() for who in DIFF_CLIENTS}
        conns = {}
        for who in DIFF_CLIENTS:
            c = _connect(mqtt, port, who[1], who[0])
            clients.append(c)
            c.on_message = (lambda w: lambda cl, u, m: received[w].add(m.topic))(who)
            c.subscribe("#", qos=1)
            conns[who] = c
        time.sleep(0.5)
        # Publishes by each client, tagged so the admin can tell who got through.
        for who, c in conns.items():
            for t in DIFF_TOPICS:
                c.publish(t, f"{who[1]}|{t}", qos=1).wait_for_publish()
        # Publishes by the admin: what each client receives.
        publisher = _connect(mqtt, port, "admin-pub", "admin")
        clients.append(publisher)
        for t in DIFF_TOPICS:
            publisher.publish(t, f"admin-pub|{t}", qos=1).wait_for_publish()
        time.sleep(1.0)
        published = {(who, t) for who in DIFF_CLIENTS for t in DIFF_TOPICS
                     if f"{who[1]}|{t}" in seen_by_admin}
        receives = {(who, t) for who in DIFF_CLIENTS for t in received[who]
                    if t in DIFF_TOPICS}
        return published, receives
    finally:
        for c in clients:
            c.loop_stop()
            c.disconnect()
        broker.terminate()
        broker.wait(timeout=10)
        log.close()


@pytest.mark.skipif(not MOSQUITTO, reason="mosquitto is not installed")
def test_acl_decisions_match_mosquitto(imet, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text(DIFF_ACL)
    published, receives = _mosquitto_decisions(tmp_path, DIFF_ACL)
    assert published and receives  # the observation itself worked
    mismatches = []
    for who in DIFF_CLIENTS:
        for t in DIFF_TOPICS:
            for action, mosq in (("--publish", (who, t) in published),
                                 ("--receive", (who, t) in receives)):
                args = ["mqtt", "acl-check", str(acl), "--client-id", who[1], action, t]
                if who[0] is not None:
                    args += ["--username", who[0]]
                r = imet(*args)
                assert r.returncode == 0, r.stderr
                ours = r.stdout.strip() == "allowed"
                if ours != mosq:
                    mismatches.append(f"{who} {action} {t}: mosquitto {mosq}, imet {ours}")
    assert not mismatches, "\n".join(mismatches)


def test_acl_check_command(imet, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text("user u\ntopic read s/#\npattern readwrite d/%c/#\npattern read all/#\n")
    def ask(*args):
        r = imet("mqtt", "acl-check", str(acl), *args)
        return r.returncode, r.stdout.strip(), r.stderr
    assert ask("--client-id", "c", "--username", "u", "--subscribe", "s/#")[1] == "allowed"
    assert ask("--client-id", "c", "--username", "u", "--subscribe", "x/#")[1] == "denied"
    assert ask("--client-id", "c", "--publish", "d/c/1")[1] == "allowed"
    # Patterns are disabled for a client id with '/', which mosquitto 2.0 still allows.
    assert ask("--client-id", "c/1", "--publish", "d/c/1/x")[1] == "denied"
    code, out, err = ask("--client-id", "c", "--receive", "all/1")
    assert out == "allowed" and "contains neither %c nor %u" in err
    code, _, err = ask("--client-id", "c", "--publish", "a/+")
    assert code == 1 and "wildcard" in err
    code, _, err = ask("--client-id", "c")
    assert code == 1 and "exactly one of --publish, --receive or --subscribe" in err
    acl.write_text("topic read a\nfoo\n")
    code, _, err = ask("--client-id", "c", "--receive", "a")
    assert code == 1 and f"{acl}:2: unknown keyword 'foo'" in err
