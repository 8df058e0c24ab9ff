"""Authentication and authorization of the broker with mosquitto's own files: a password file
written by mosquitto_passwd ($7$ PBKDF2-SHA512), an acl_file with user/topic/pattern lines, and
allow_anonymous."""
import subprocess

import paho.mqtt.client as mqtt

from mqtt_client import Client
from test_mqtt_broker import start_broker


def setup_files(tmp_path):
    pw = tmp_path / "passwd"
    pw.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "alice", "wonderland"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "bob", "builder"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(pw), "carol", "singer"], check=True)
    acl = tmp_path / "acl"
    acl.write_text("""# anonymous clients: nothing
user alice
topic readwrite home/#
topic read public/#
user bob
topic write public/#
user carol
topic write secret/#
pattern readwrite clients/%u/#
""")
    return pw, acl


def test_password_file_acl_and_anonymous(imetd, tmp_path):
    pw, acl = setup_files(tmp_path)
    b = start_broker(imetd, tmp_path, f'allow_anonymous = false\npassword_file = "{pw}"\n'
                     f'acl_file = "{acl}"')
    p = b.mqtt_port
    # Anonymous refused: 0x87 (v5), return code 5 (3.1.1).
    assert Client(p).rc == 0x87
    assert Client(p, v5=False).rc == 5
    # Wrong password: 0x86 / 4.
    assert Client(p, username="alice", password="nope").rc == 0x86
    assert Client(p, v5=False, username="alice", password="nope").rc == 4
    alice = Client(p, username="alice", password="wonderland")
    assert alice.rc == 0
    # Denied subscription: SUBACK 0x87 (v5) / 0x80 (3.1.1).
    assert [c.value for c in alice.subscribe("secret/#")] == [0x87]
    alice3 = Client(p, v5=False, username="alice", password="wonderland")
    assert alice3.subscribe("secret/#") == (128,)
    assert [c.value for c in alice.subscribe("public/#", qos=1)] == [1]
    alice.subscribe("clients/alice/#")
    bob = Client(p, username="bob", password="builder")
    # Allowed publish arrives; a denied one gets PUBACK 0x87 (v5) and is dropped.
    bob.publish("public/news", b"hello", qos=1)
    assert alice.get().payload == b"hello"
    info = bob.c.publish("home/door", b"open", qos=1)
    info.wait_for_publish(5)
    alice.assert_nothing()
    # %u pattern: each user only under clients/<own name>/.
    bob.publish("clients/alice/x", b"not bob's", qos=1)
    alice.assert_nothing()
    # Read rules apply to every message, not only to the filter: a wide subscription does not
    # open topics the ACL does not let the user read.
    wide = Client(p, username="alice", password="wonderland")
    wide.subscribe("#")
    carol = Client(p, username="carol", password="singer")
    carol.publish("secret/plans", b"classified", qos=1)
    bob.publish("public/ok", b"fine", qos=1)
    assert wide.get().payload == b"fine"
    wide.assert_nothing()
    b.wait_for("MQTT authentication")


def test_dev_node_allows_anonymous_by_default(imetd, tmp_path):
    b = start_broker(imetd, tmp_path)
    assert Client(b.mqtt_port).rc == 0
