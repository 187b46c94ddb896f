"""The only module that knows paho: a client factory with TLS, credentials and a persistent
session, and a network thread whose death the caller can see.

    link = Link(client_id="cx-sync-acme-s1-k1", host="127.0.0.1", port=1883, version="5")
    client = link.client(manual_ack=False)
    network = NetworkLoop(client, name="cx-sync-network")
    link.connect_async(client)
    network.start()                     # paho reconnects by itself while network.alive()

A persistent session needs a fixed client id and, on MQTT 5, both clean_start=False and a
session expiry > 0 (with expiry 0 the broker forgets the session the moment we disconnect).
Credentials come from a TOML file (``username = ".."``, ``password = ".."``) that only the
service user may read; they are never sent in clear text to another machine unless the config
says so explicitly.
"""
from __future__ import annotations

import ipaddress
import ssl
import stat
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SESSION_EXPIRY_S = 7 * 24 * 3600        # a week of downtime keeps a station's session


class SecurityError(RuntimeError):
    """The connection settings would leak credentials or the credentials file is unsafe."""


@dataclass(frozen=True)
class Link:
    client_id: str
    host: str
    port: int
    version: str = "3.1.1"                 # "3.1.1" or "5"
    keepalive: int = 30
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    credentials_file: Path | None = None
    allow_plaintext_credentials: bool = False
    receive_maximum: int = 1000            # MQTT 5: how many unacked messages the broker may send us
    session_expiry_s: int = SESSION_EXPIRY_S

    @classmethod
    def to(cls, broker, client_id: str, version: str = "3.1.1",
           session_expiry_s: int = SESSION_EXPIRY_S) -> "Link":
        """The link to the broker a config section (station.config.BrokerLink: a station's
        [sync], HQ's [hq]) describes."""
        return cls(client_id=client_id, host=broker.broker_host, port=broker.broker_port,
                   version=version, keepalive=broker.keepalive_s, tls=broker.tls,
                   ca_file=broker.ca_file, cert_file=broker.cert_file, key_file=broker.key_file,
                   credentials_file=broker.credentials_file,
                   allow_plaintext_credentials=broker.allow_plaintext_credentials,
                   session_expiry_s=session_expiry_s)

    def client(self, manual_ack: bool = False) -> paho.Client:
        v5 = self.version == "5"
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
                             clean_session=None if v5 else False, manual_ack=manual_ack)
        # paho's own window rescans every in-flight message per PUBACK; ours is in the caller.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(0.2, 5)
        if self.tls:
            client.tls_set(ca_certs=str(self.ca_file) if self.ca_file else None,
                           certfile=str(self.cert_file) if self.cert_file else None,
                           keyfile=str(self.key_file) if self.key_file else None,
                           cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if self.credentials_file:
            if not self.tls and not is_loopback(self.host) and not self.allow_plaintext_credentials:
                raise SecurityError(
                    f"refusing to send the credentials from {self.credentials_file} over plain "
                    f"TCP to {self.host}: enable tls (with ca_file) or set "
                    f"allow_plaintext_credentials = true if this network is trusted")
            username, password = read_credentials(self.credentials_file)
            client.username_pw_set(username, password)
        return client

    def connect_async(self, client: paho.Client) -> None:
        if self.version == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session_expiry_s
            props.ReceiveMaximum = self.receive_maximum
            client.connect_async(self.host, self.port, self.keepalive, clean_start=False,
                                 properties=props)
        else:
            client.connect_async(self.host, self.port, self.keepalive)


class NetworkLoop:
    """paho's network loop on a thread of our own: loop_start()/loop_stop() that can tell
    when the thread has ended. paho's own thread ends, silently, at the first exception out of
    a callback, and the process would go on with no connection at all.

        network = NetworkLoop(client, name="cx-sync-network")
        link.connect_async(client)
        network.start()
        while not stop.is_set():
            if not network.alive():
                raise RuntimeError(f"the MQTT network thread ended: {network.error!r}")
            client.publish(...)         # from this thread, as with loop_start()
        network.stop()                  # disconnect, then join

    ``error`` holds what ended the thread (None while it runs and after stop()).
    """

    def __init__(self, client: paho.Client, name: str):
        self.client = client
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        # Without loop_start() paho writes to the socket from whatever thread calls publish(),
        # racing this loop mid-packet (mid-record under TLS). Any socket-write hook makes it
        # queue the packet and wake the loop instead, through the socket pair that loop()
        # creates (before connecting, loop() does nothing else).
        client.on_socket_register_write = lambda *_: None
        client.loop(timeout=0)

    def start(self) -> "NetworkLoop":
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect (a clean DISCONNECT: the broker drops the last will) and join."""
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            # Again until the loop ends: a connection paho was opening meanwhile overwrites
            # the state that the disconnect set.
            self.client.disconnect()
            self._thread.join(0.2)

    def _run(self) -> None:
        try:
            self.client.loop_forever(retry_first_connection=True)
        except BaseException as exc:        # SystemExit too: no thread of ours ends unseen
            self.error = exc


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_credentials(path: Path) -> tuple[str, str]:
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SecurityError(f"cannot read the credentials file {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecurityError(f"the credentials file {path} is readable by other users "
                            f"(mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SecurityError(f"the credentials file {path} is not valid TOML: {exc}") from None
    username, password = doc.get("username"), doc.get("password")
    if not isinstance(username, str) or not username or not isinstance(password, str):
        raise SecurityError(f"the credentials file {path} needs string keys username and password")
    return username, password


def ok(rc) -> bool:
    return rc == paho.MQTT_ERR_SUCCESS


def error_text(rc) -> str:
    return paho.error_string(rc)

