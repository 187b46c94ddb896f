"""Connection settings (sync/mqtt.py): credentials stay safe."""
import os

import pytest

from sync.mqtt import Link, SecurityError, is_loopback, read_credentials


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
