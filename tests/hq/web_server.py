"""A real uvicorn server for the dashboard's tests, in a thread on a free loopback port.

    with serving(create_app(config, clock=...)) as base:      # 'http://127.0.0.1:40123'
        http = logged_in(base, "ana", "ana-password-1")       # a requests.Session
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time

import re

import requests
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def logged_in(base: str, user: str, password: str) -> requests.Session:
    http = requests.Session()
    r = http.post(base + "/login", allow_redirects=False,
                  data={"csrf": csrf_of(http.get(base + "/login").text), "username": user,
                        "password": password})
    assert r.status_code == 303, r.text
    return http
