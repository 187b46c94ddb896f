"""sync/mqtt.py: credentials stay safe; paho's network thread is ours and its end is seen."""
import os
import threading
import time

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync.mqtt import Link, NetworkLoop, SecurityError, is_loopback, read_credentials
from sync_testlib import wait_until


def creds(tmp_path, mode=0o600):
    path = tmp_path / "mqtt.toml"
    path.write_text('username = "acme-s1-k1"\npassword = "s3cret"\n')
    os.chmod(path, mode)
    return path


def test_credentials_are_refused_over_plain_tcp_to_another_host(tmp_path):
    link = Link("c", "10.1.2.3", 1883, credentials_file=creds(tmp_path))
    with pytest.raises(SecurityError, match="plain TCP to 10.1.2.3"):
        link.client()


def test_plain_tcp_credentials_allowed_to_loopback_tls_or_when_config_says_so(tmp_path):
    path = creds(tmp_path)
    Link("c", "127.0.0.1", 1883, credentials_file=path).client()
    Link("c", "10.1.2.3", 1883, credentials_file=path, allow_plaintext_credentials=True).client()
    Link("c", "broker.example", 8883, credentials_file=path, tls=True).client()


def test_credentials_file_readable_by_others_is_refused(tmp_path):
    with pytest.raises(SecurityError, match="chmod 600"):
        read_credentials(creds(tmp_path, 0o644))
    assert read_credentials(creds(tmp_path)) == ("acme-s1-k1", "s3cret")


def test_credentials_file_without_password_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('username = "x"\n')
    os.chmod(path, 0o600)
    with pytest.raises(SecurityError, match="username and password"):
        read_credentials(path)


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("192.168.1.10") and not is_loopback("hq.example")


# -- NetworkLoop: paho's network thread, ours, against a real mosquitto -------------------------
class Inbox:
    """A plain subscriber on paho's own loop_start() thread (the reference the tests compare to)."""

    def __init__(self, broker, topic):
        self.messages: list[paho.MQTTMessage] = []
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"inbox-{topic}")
        self.client.on_message = lambda c, u, m: self.messages.append(m)
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def started(broker, client_id="net", will: str | None = None, **callbacks):
    """A Link client on a NetworkLoop, connected (or failing the test)."""
    link = Link(client_id, broker.host, broker.port)
    client = link.client()
    if will:
        client.will_set(will, "gone", qos=1)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    for name, callback in callbacks.items():
        setattr(client, name, callback)
    network = NetworkLoop(client, name=f"{client_id}-network")
    link.connect_async(client)
    network.start()
    assert connected.wait(10), "no CONNACK"
    return client, network


def test_network_loop_runs_until_stop_then_disconnects_cleanly(broker):
    inbox = Inbox(broker, "t/#")
    client, network = started(broker, will="t/will")
    try:
        client.publish("t/x", b"hello", qos=1).wait_for_publish(5)
        wait_until(lambda: inbox.messages, 5, message="the message")
        assert network.alive() and network.error is None
        network.stop()
        assert not network.alive() and network.error is None
        assert not any(t.name == "net-network" for t in threading.enumerate())
        time.sleep(0.3)
        assert [m.topic for m in inbox.messages] == ["t/x"]     # a clean DISCONNECT: no will
    finally:
        network.stop()
        inbox.close()


def test_network_loop_tells_what_ended_its_thread(broker):
    """paho's loop ends at an exception out of a callback (callbacks must be total); the loop
    says so instead of leaving a process that looks alive and delivers nothing."""
    def broken(client, userdata, message):
        raise ValueError("a callback that is not total")

    client, network = started(broker, on_message=broken)
    try:
        client.subscribe("t/in", qos=1)
        time.sleep(0.3)
        client.publish("t/in", b"boom", qos=1)
        wait_until(lambda: not network.alive(), 5, message="the thread to end")
        assert isinstance(network.error, ValueError)
    finally:
        network.stop()


def test_a_publish_from_another_thread_leaves_at_once(broker):
    """The loop waits in select() up to 1 s; a publish from the caller's thread must wake it
    (as with loop_start()), not wait for the timeout."""
    client, network = started(broker)
    try:
        for _ in range(5):
            time.sleep(0.3)                             # the loop is idle in select()
            began = time.monotonic()
            info = client.publish("t/x", b"x", qos=1)
            info.wait_for_publish(5)
            assert info.is_published() and time.monotonic() - began < 0.25
    finally:
        network.stop()


def test_large_publishes_from_another_thread_arrive_whole_and_in_order(broker):
    """With paho's loop on a plain thread of ours, publish() would write to the socket from
    the caller's thread while the loop writes too: with 1 MB messages the two interleave
    mid-packet and the broker drops the connection (here in about a third of the runs)."""
    inbox = Inbox(broker, "big")
    drops = []
    client, network = started(broker, on_disconnect=lambda *args: drops.append(args[3]))
    body = b"y" * 1_000_000
    try:
        for i in range(1000):
            assert client.publish("big", b"%08d" % i + body, qos=1).rc == 0
        wait_until(lambda: len(inbox.messages) >= 1000, 60, message="1000 messages")
        assert drops == []
        assert [int(m.payload[:8]) for m in inbox.messages] == list(range(1000))
    finally:
        network.stop()
        inbox.close()


def test_stop_returns_while_the_broker_is_unreachable(broker):
    broker.kill()
    link = Link("net", broker.host, broker.port)
    client = link.client()
    network = NetworkLoop(client, name="net-network")
    link.connect_async(client)
    network.start()
    time.sleep(0.5)                                     # retrying the first connection
    assert network.alive()
    began = time.monotonic()
    network.stop()
    assert not network.alive() and time.monotonic() - began < 2
