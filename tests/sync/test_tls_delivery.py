"""cx-sync and cx-hq over TLS with passwords, through the real sync.mqtt client factory."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from station.config import load_config
from station.store import Response, Store
from sync_testlib import hq_rows, wait_until, write_config

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("openssl", "mosquitto_passwd")),
    reason="needs openssl and mosquitto_passwd")

TLS_TEMPLATE = """\
listener {port} 127.0.0.1
cafile {pki}/ca.crt
certfile {pki}/server.crt
keyfile {pki}/server.key
allow_anonymous false
password_file {pki}/passwd
persistence true
persistence_location {data_dir}/
max_queued_messages 100000
log_dest file {log}
{user}
"""


def make_pki(pki):
    pki.mkdir()

    def ssl(*args):
        subprocess.run(["openssl", *args], cwd=pki, check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=cx-test-ca")
    ssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (pki / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    passwd = pki / "passwd"
    for i, (user, password) in enumerate((("acme-s1-k1", "station-pw"), ("hq", "hq-pw"))):
        subprocess.run(["mosquitto_passwd", *([] if i else ["-c"]), "-b", str(passwd), user,
                        password], check=True, capture_output=True)
        creds = pki / f"{user}.toml"
        creds.write_text(f'username = "{user}"\npassword = "{password}"\n')
        os.chmod(creds, 0o600)
    os.chmod(passwd, 0o600)
    for key in pki.glob("*.key"):
        os.chmod(key, 0o644)          # the broker drops to its own user when not root


def test_station_and_hq_deliver_over_tls_with_passwords(tmp_path, broker_factory, services):
    pki = tmp_path / "pki"
    make_pki(pki)
    broker = broker_factory(config=TLS_TEMPLATE, pki=pki)
    cfg = write_config(tmp_path / "station.toml", broker,
                       sync={"tls": True, "ca_file": str(pki / "ca.crt"), "ack_timeout_s": 2,
                             "credentials_file": str(pki / "acme-s1-k1.toml")},
                       hq={"tls": True, "ca_file": str(pki / "ca.crt"),
                           "credentials_file": str(pki / "hq.toml")})
    store = Store.open(load_config(cfg))
    for nps in (10, 9, 8):
        store.append_response(Response(nps=nps))
    services("hq", cfg)
    services("sync", cfg)
    wait_until(lambda: store.outbox_status()["pending"] == 0, 30, message="delivery over TLS")
    rows = hq_rows(tmp_path / "hq.db")
    assert (rows["count"], rows["acked_seq"], rows["status"]) == (3, 3, "online")


def test_wrong_password_delivers_nothing_and_keeps_the_backlog(tmp_path, broker_factory,
                                                             services):
    pki = tmp_path / "pki"
    make_pki(pki)
    bad = pki / "bad.toml"
    bad.write_text('username = "acme-s1-k1"\npassword = "wrong"\n')
    os.chmod(bad, 0o600)
    broker = broker_factory(config=TLS_TEMPLATE, pki=pki)
    cfg = write_config(tmp_path / "station.toml", broker,
                       sync={"tls": True, "ca_file": str(pki / "ca.crt"),
                             "credentials_file": str(bad)})
    store = Store.open(load_config(cfg))
    store.append_response(Response(nps=7))
    sync = services("sync", cfg)
    wait_until(lambda: "broker refused the connection: Not authorized" in sync.log_text(), 15,
               message="the broker's refusal, logged by cx-sync")
    assert sync.alive and store.outbox_status()["pending"] == 1
