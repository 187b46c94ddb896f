"""station/notify.py: sd_notify over a real AF_UNIX datagram socket standing in for systemd."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest

from station import notify


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    """A bound datagram socket as $NOTIFY_SOCKET; yields a function returning what arrived."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setattr(notify, "_last_watchdog", 0.0)

    def received(expect_nothing=False):
        if expect_nothing:
            sock.settimeout(0.2)
            with pytest.raises(socket.timeout):
                sock.recv(4096)
            sock.settimeout(2)
            return None
        return sock.recv(4096).decode()

    yield received
    sock.close()


def test_ready_sends_ready_1_with_an_optional_status(systemd):
    assert notify.ready() is True
    assert systemd() == "READY=1"
    assert notify.ready("camera open") is True
    assert systemd() == "READY=1\nSTATUS=camera open"


def test_status_and_stopping(systemd):
    assert notify.status("12.5 fps")
    assert systemd() == "STATUS=12.5 fps"
    assert notify.stopping()
    assert systemd() == "STOPPING=1"


def test_watchdog_sends_watchdog_1_at_most_once_a_second(systemd, monkeypatch):
    assert notify.watchdog() is True
    assert systemd() == "WATCHDOG=1"
    assert notify.watchdog() is False           # called again at once: rate-limited
    systemd(expect_nothing=True)
    monkeypatch.setattr(notify, "_last_watchdog", notify._last_watchdog - 1.01)
    assert notify.watchdog() is True
    assert systemd() == "WATCHDOG=1"


def test_abstract_namespace_socket(monkeypatch):
    name = f"cx-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify.ready()
        assert sock.recv(4096) == b"READY=1"


def test_outside_systemd_every_call_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setattr(notify, "_last_watchdog", 0.0)
    assert notify.ready() is False and notify.status("x") is False
    assert notify.watchdog() is False and notify.stopping() is False


def test_a_socket_that_went_away_is_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert notify.ready() is False


def test_watchdog_interval_is_half_of_watchdog_sec(monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert notify.watchdog_interval_s() == 10.0
    monkeypatch.delenv("WATCHDOG_PID")
    assert notify.watchdog_interval_s() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))    # meant for another process
    assert notify.watchdog_interval_s() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    assert notify.watchdog_interval_s() is None


def test_a_service_process_notifies_the_socket_it_was_given(tmp_path):
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        code = "from station import notify; notify.ready('up'); notify.watchdog()"
        subprocess.run([sys.executable, "-c", code], check=True, timeout=30,
                       env={**os.environ, "NOTIFY_SOCKET": str(path)})
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"
        assert sock.recv(4096) == b"WATCHDOG=1"
