"""The shipped broker config (config/mosquitto/) against a real mosquitto and real paho clients.

A throwaway CA and server certificate are made with openssl; mosquitto runs the shipped
cx-broker.conf and acl with only the paths and the port swapped for a temp dir on loopback.
"""
from __future__ import annotations

import os
import sys
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "mosquitto"
STATION = "acme/hcm-d1/kiosk-1"
OTHER = "acme/hn-hk/kiosk-1"
PASSWORDS = {STATION: "s1-correct-horse", OTHER: "s2-battery-staple", "cx-hq": "hq-secret"}

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("mosquitto", "mosquitto_passwd", "openssl")),
    reason="needs the Debian mosquitto package and openssl")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(folder: Path) -> None:
    """CA + server cert for localhost/127.0.0.1 (EC P-256: fast), the README's recipe."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=cx-test-ca", cwd=folder)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
             cwd=folder)
    (folder / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext",
             cwd=folder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_config(shipped: str, folder: Path, port: int) -> str:
    """The shipped config with its paths and port pointed at `folder`; nothing else changes."""
    swaps = {"cafile": folder / "ca.crt", "certfile": folder / "server.crt",
             "keyfile": folder / "server.key", "password_file": folder / "passwd",
             "acl_file": CONFIG_DIR / "acl", "persistence_location": str(folder / "data") + "/"}
    out = []
    for line in shipped.splitlines():
        key = line.split(" ", 1)[0]
        if key == "listener":
            line = f"listener {port} 127.0.0.1"
        elif key in swaps:
            line = f"{key} {swaps[key]}"
        out.append(line)
    if os.geteuid() == 0:
        out.append("user root")      # as root mosquitto would switch to a user that cannot read tmp
    return "\n".join(out) + "\n"


test_config.__test__ = False     # a helper, not a test


def start_secure_broker(folder: Path):
    """PKI, password file and the shipped config in `folder`; returns (info, process)."""
    make_pki(folder)
    passwd = folder / "passwd"
    passwd.touch(mode=0o600)
    for user, password in PASSWORDS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, password], check=True,
                       capture_output=True)
    (folder / "data").mkdir()
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(test_config((CONFIG_DIR / "cx-broker.conf").read_text(), folder, port))
    log = open(folder / "mosquitto.log", "wb")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("mosquitto did not start:\n" + (folder / "mosquitto.log").read_text())
            time.sleep(0.05)
    return {"port": port, "ca": folder / "ca.crt", "folder": folder}, proc


def stop_broker(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    info, proc = start_secure_broker(tmp_path_factory.mktemp("secure-broker"))
    yield info
    stop_broker(proc)


@pytest.fixture
def fresh_broker(tmp_path_factory):
    """A broker of its own: no retained acks left over from other tests."""
    info, proc = start_secure_broker(tmp_path_factory.mktemp("fresh-broker"))
    yield info
    stop_broker(proc)


class Client:
    """A real paho MQTT 5 client over TLS that records what happens to it."""

    def __init__(self, broker, username, password, client_id, ca=None, tls=True):
        self.connected = threading.Event()
        self.ended = threading.Event()          # CONNACK or the connection closed
        self.connect_rc = None
        self.messages: list[tuple[str, bytes]] = []
        self.message_seen = threading.Condition()
        self.puback: dict[int, object] = {}
        self.suback = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        if tls:
            self.client.tls_set(ca_certs=str(ca or broker["ca"]),
                                tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = lambda *a: self.suback.set()
        self.client.on_disconnect = lambda *a: self.ended.set()
        self.port = broker["port"]

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connect_rc = reason_code
        self.connected.set()
        self.ended.set()

    def _on_message(self, client, userdata, message):
        with self.message_seen:
            self.messages.append((message.topic, message.payload))
            self.message_seen.notify_all()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self.puback[mid] = reason_code

    def connect(self, timeout=10.0):
        """Returns the CONNACK reason code (None if none came)."""
        self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        self.ended.wait(timeout)
        return self.connect_rc

    def subscribe(self, topic):
        self.suback.clear()
        self.client.subscribe(topic, qos=1)
        assert self.suback.wait(5), f"no SUBACK for {topic}"

    def publish(self, topic, payload, retain=False):
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS
        deadline = time.monotonic() + 5
        while info.mid not in self.puback and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.puback.get(info.mid)

    def wait_for(self, payload, timeout=5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.message_seen:
            while not any(p == payload for _, p in self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.message_seen.wait(left)
        return True

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(broker):
    made = []

    def _connect(username, password=None, client_id=None, **kwargs):
        password = PASSWORDS.get(username) if password is None else password
        c = Client(broker, username, password, client_id or f"t-{len(made)}-{time.time_ns()}",
                   **kwargs)
        made.append(c)
        return c

    yield _connect
    for c in made:
        c.close()


def _refused(reason_code) -> bool:
    return reason_code is not None and reason_code.is_failure


def test_station_publishes_under_its_own_prefix_and_hq_receives_it(connect):
    hq = connect("cx-hq")
    assert hq.connect() == 0
    hq.subscribe("$share/hq/cx/v1/#")
    station = connect(STATION)
    assert station.connect() == 0
    rc = station.publish(f"cx/v1/{STATION}/response", b'{"seq":1}')
    assert rc is not None and not rc.is_failure
    assert hq.wait_for(b'{"seq":1}')
    assert (f"cx/v1/{STATION}/response", b'{"seq":1}') in hq.messages


def test_station_publishing_under_another_stations_prefix_is_refused(connect):
    hq = connect("cx-hq")
    assert hq.connect() == 0
    hq.subscribe("cx/v1/#")
    station = connect(STATION)
    assert station.connect() == 0
    forged = station.publish(f"cx/v1/{OTHER}/response", b"forged")
    assert forged is not None and forged.is_failure, f"forged publish got {forged}"
    assert str(forged) == "Not authorized"
    # the same client's next message arrives at HQ, so the forged one had its chance to arrive
    station.publish(f"cx/v1/{STATION}/response", b"after-forged")
    assert hq.wait_for(b"after-forged")
    assert not any(p == b"forged" for _, p in hq.messages)
    assert not any(t.startswith(f"cx/v1/{OTHER}/") for t, _ in hq.messages)


def test_station_cannot_forge_hq_acknowledgements(connect):
    hq = connect("cx-hq")
    assert hq.connect() == 0
    hq.subscribe(f"cx/v1/{STATION}/ack")
    station = connect(STATION)
    assert station.connect() == 0
    assert station.publish(f"cx/v1/{STATION}/ack", b"999999").is_failure
    assert station.publish(f"cx/v1/{OTHER}/ack", b"999999").is_failure
    assert not hq.wait_for(b"999999", timeout=0.5)


def test_station_reads_only_its_own_ack(connect):
    hq = connect("cx-hq")
    assert hq.connect() == 0
    assert not hq.publish(f"cx/v1/{STATION}/ack", b"41", retain=True).is_failure
    assert not hq.publish(f"cx/v1/{OTHER}/ack", b"42", retain=True).is_failure
    station = connect(STATION)
    assert station.connect() == 0
    station.subscribe("cx/v1/#")            # asking for everything gets only what it may read
    assert station.wait_for(b"41")
    other = connect(OTHER)
    assert other.connect() == 0
    assert not other.publish(f"cx/v1/{OTHER}/response", b"other-station-event").is_failure
    hq.publish(f"cx/v1/{STATION}/ack", b"43", retain=True)      # a barrier that must arrive
    assert station.wait_for(b"43")
    assert {t for t, _ in station.messages} == {f"cx/v1/{STATION}/ack"}
    assert b"42" not in {p for _, p in station.messages}


def test_wrong_password_is_refused(connect):
    station = connect(STATION, password="not-the-password")
    rc = station.connect()
    assert _refused(rc), f"connect with a wrong password gave {rc}"
    assert not station.client.is_connected()


def test_unknown_user_and_anonymous_are_refused(connect):
    assert _refused(connect("acme/evil/kiosk-9", password="x").connect())
    assert _refused(connect(None).connect())


def test_plain_tcp_to_the_tls_port_fails(connect):
    station = connect(STATION, tls=False)
    try:
        rc = station.connect(timeout=5)
    except OSError:
        rc = None                           # the TLS listener hangs up on a plain CONNECT
    else:
        assert station.ended.is_set(), "the broker neither answered nor hung up"
    assert rc is None or _refused(rc)
    assert not station.connected.is_set() or _refused(station.connect_rc)
    assert not station.client.is_connected()


def test_client_rejects_a_broker_certificate_from_another_ca(connect, tmp_path):
    make_pki(tmp_path)                      # a different CA, same names
    station = connect(STATION, ca=tmp_path / "ca.crt")
    with pytest.raises(ssl.SSLCertVerificationError):
        station.connect(timeout=3)


# -- the real services through the secure broker -------------------------------------------------
REPO = Path(__file__).resolve().parents[2]


def _credentials(folder: Path, name: str, username: str) -> Path:
    path = folder / f"{name}.credentials"
    path.write_text(f'username = "{username}"\npassword = "{PASSWORDS[username]}"\n')
    path.chmod(0o600)
    return path


def _station_toml(folder: Path, broker, org, store, station, credentials: Path) -> Path:
    path = folder / f"{store}-{station}.toml"
    path.write_text(f"""
[station]
org = "{org}"
store = "{store}"
id = "{station}"
[database]
path = "{folder / (store + '-' + station + '.db')}"
[vision]
enabled = false
[sync]
broker_host = "127.0.0.1"
broker_port = {broker['port']}
tls = true
ca_file = "{broker['ca']}"
credentials_file = "{credentials}"
ack_timeout_s = 2
health_interval_s = 1
""")
    # HQ's own config file, beside it (`services("hq", station_config)` starts HQ from it).
    path.with_name(path.stem + "-hq.toml").write_text(f"""
[hq]
broker_host = "127.0.0.1"
broker_port = {broker['port']}
tls = true
ca_file = "{broker['ca']}"
credentials_file = "{_credentials(folder, 'hq', 'cx-hq')}"
client_id = "cx-hq-{time.time_ns()}"
[database]
path = "{folder / 'hq.db'}"
""")
    return path


@pytest.fixture
def services(tmp_path):
    procs = []

    def start(module, config):
        if module == "hq":
            config = config.with_name(config.stem + "-hq.toml")
        log = open(tmp_path / f"{module}-{len(procs)}.log", "wb")
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", module, "run", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        procs.append((proc, log))
        return proc

    yield start
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _hq_rows(folder, sql, params=()):
    import sqlite3
    if not (folder / "hq.db").exists():
        return []
    try:
        with sqlite3.connect(folder / "hq.db", timeout=5) as db:
            return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:        # not created yet by the receiver
        return []


def _station(config_path):
    from station.config import load_config
    from station.store import Store
    return Store.open(load_config(config_path))


@pytest.mark.slow
def test_real_cx_sync_and_cx_hq_deliver_through_the_secure_broker(fresh_broker, services,
                                                                  tmp_path):
    broker = fresh_broker
    from station.store import Response
    org, store_name, station_id = STATION.split("/")
    config = _station_toml(tmp_path, broker, org, store_name, station_id,
                           _credentials(tmp_path, "station", STATION))
    store = _station(config)
    for i in range(40):
        store.append_response(Response(nps=i % 11, language="vi"))
    services("hq", config)
    services("sync", config)
    assert _wait(lambda: store.outbox_status()["pending"] == 0), \
        "HQ's acknowledgement never reached the station"
    seqs = [s for (s,) in _hq_rows(tmp_path, "SELECT seq FROM events WHERE station = ? "
                                             "ORDER BY seq", (STATION,))]
    assert seqs == list(range(1, store.outbox_status()["last_seq"] + 1))
    assert _wait(lambda: _hq_rows(tmp_path, "SELECT status FROM stations WHERE station = ?",
                                  (STATION,)) == [("online",)])
    store.close()


@pytest.mark.slow
def test_station_with_another_stations_credentials_delivers_nothing(fresh_broker, services,
                                                                   tmp_path):
    """acme/hn-hk/kiosk-1 configured with acme/hcm-d1/kiosk-1's login: the ACL drops every
    publish under hn-hk's prefix, its status included; its events stay pending on disk. The
    real hcm-d1 station, running beside it, is the barrier: once it is fully acknowledged,
    HQ and broker are demonstrably working."""
    broker = fresh_broker
    from station.store import Response
    credentials = _credentials(tmp_path, "station", STATION)
    honest = _station_toml(tmp_path, broker, *STATION.split("/"), credentials)
    impostor = _station_toml(tmp_path, broker, *OTHER.split("/"), credentials)
    honest_store, impostor_store = _station(honest), _station(impostor)
    for i in range(20):
        impostor_store.append_response(Response(nps=10, language="vi"))
        honest_store.append_response(Response(nps=9, language="vi"))
    services("hq", honest)
    services("sync", impostor)
    services("sync", honest)
    assert _wait(lambda: honest_store.outbox_status()["pending"] == 0)
    time.sleep(5)          # > 2 ack timeouts (2 s): the impostor has resent its window by now
    assert _hq_rows(tmp_path, "SELECT count(*) FROM events WHERE station = ?", (OTHER,)) == [(0,)]
    assert _hq_rows(tmp_path, "SELECT count(*) FROM stations WHERE station = ?", (OTHER,)) \
        == [(0,)]
    assert _hq_rows(tmp_path, "SELECT count(*) FROM events WHERE station = ?", (STATION,)) \
        == [(20,)]
    status = impostor_store.outbox_status()
    assert status["pending"] == 20 and status["last_acked_seq"] is None
    honest_store.close()
    impostor_store.close()


def test_only_hq_publishes_settings_and_each_station_reads_only_its_own(fresh_broker):
    """The settings pushed by `cx-hq push` (retained on <station>/config): a station can
    neither forge them (for itself or another) nor read another station's."""
    made = []

    def connect(username):
        c = Client(fresh_broker, username, PASSWORDS[username], f"cfg-{len(made)}-{time.time_ns()}")
        made.append(c)
        assert c.connect() == 0
        return c

    try:
        hq = connect("cx-hq")
        assert not hq.publish(f"cx/v1/{STATION}/config", b"mine-v1", retain=True).is_failure
        assert not hq.publish(f"cx/v1/{OTHER}/config", b"other-v1", retain=True).is_failure
        station = connect(STATION)
        for topic in (f"cx/v1/{OTHER}/config", f"cx/v1/{STATION}/config"):
            rc = station.publish(topic, b"forged", retain=True)
            assert rc is not None and rc.is_failure, f"{topic}: {rc}"
        station.subscribe(f"cx/v1/{OTHER}/config")     # refused quietly: nothing arrives
        station.subscribe(f"cx/v1/{STATION}/config")
        assert station.wait_for(b"mine-v1")
        hq.publish(f"cx/v1/{OTHER}/config", b"other-v2", retain=True)
        hq.publish(f"cx/v1/{STATION}/config", b"mine-v2", retain=True)      # a barrier
        assert station.wait_for(b"mine-v2")
        assert {t for t, _ in station.messages} == {f"cx/v1/{STATION}/config"}
        other = connect(OTHER)
        other.subscribe("cx/v1/#")
        assert other.wait_for(b"other-v2")          # the retained one, not a forged one
        assert b"forged" not in {p for _, p in other.messages + station.messages}
        assert not any(t.startswith(f"cx/v1/{STATION}/") for t, _ in other.messages)
    finally:
        for c in made:
            c.close()
