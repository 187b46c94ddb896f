"""systemd service notifications (sd_notify) without a dependency.

    notify.ready()                 # once the service is up
    while running:
        ...
        notify.watchdog()          # at least every WatchdogSec/2; cheap and rate-limited

Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op, so services call these
unconditionally.
"""
from __future__ import annotations

import os
import socket
import time

_last_watchdog = 0.0


def _send(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):          # abstract namespace socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            return False
    return True


def ready(status: str = "") -> bool:
    return _send("READY=1" + (f"\nSTATUS={status}" if status else ""))


def status(text: str) -> bool:
    return _send(f"STATUS={text}")


def stopping() -> bool:
    return _send("STOPPING=1")


def watchdog_interval_s() -> float | None:
    """Half of WatchdogSec, or None when systemd asked for no watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


def watchdog() -> bool:
    """Pet the watchdog, at most once a second (callers may call it every frame)."""
    global _last_watchdog
    now = time.monotonic()
    if now - _last_watchdog < 1.0:
        return False
    _last_watchdog = now
    return _send("WATCHDOG=1")
