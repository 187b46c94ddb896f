"""`cx-hq serve` runs the dashboard; `cx-hq passwd` prints a password hash for [[web.users]].

    cx-hq serve --config hq.toml          # http://127.0.0.1:8470 (the [web] host and port)
    cx-hq passwd                          # asks twice, prints scrypt$16384$8$1$<salt>$<hash>
"""
from __future__ import annotations

import asyncio
import getpass
import sys

MIN_PASSWORD = 10


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("serve", help="the live web dashboard ([web] in the HQ config)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="the HQ's TOML config ([web], [database])")
    p.set_defaults(func=serve)
    p = subparsers.add_parser("passwd", help="print a password hash for [[web.users]]")
    p.add_argument("--stdin", action="store_true",
                   help="read the password from standard input (scripts) instead of asking")
    p.set_defaults(func=passwd)


def serve(args) -> int:
    import logging

    import uvicorn

    from hq.config import load_hq_config
    from hq.views import HqReadError
    from hq.web.app import create_app
    from hq.web.data import open_db
    from station.config import ConfigError
    try:
        config = load_hq_config(args.config)
        open_db(config).close()           # a wrong database path fails now, not per request
    except (ConfigError, HqReadError) as exc:
        print(f"cx-hq serve: {exc}", file=sys.stderr)
        return 2
    if not config.web.users and config.web.demo_login_file:
        try:
            config = with_demo_login(config)
        except (OSError, ValueError) as exc:
            print(f"cx-hq serve: web.demo_login_file: {exc}", file=sys.stderr)
            return 2
    if not config.web.users:
        print("cx-hq serve: no [[web.users]] in the config: add one with a hash from "
              "`cx-hq passwd`", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.logging.level)
    # proxy_headers: behind the documented reverse proxy on this host, the client address
    # (lockout) is the one the proxy saw, never the proxy's own
    server = uvicorn.Server(uvicorn.Config(
        create_app(config), host=config.web.host, port=config.web.port, proxy_headers=True,
        forwarded_allow_ips="127.0.0.1,::1", log_level=config.logging.level.lower(),
        server_header=False))
    asyncio.run(_serve_under_systemd(server))
    return 0


async def _serve_under_systemd(server) -> None:
    """uvicorn's serve, telling systemd when it listens (Type=notify) and petting the
    watchdog from the event loop that answers requests: a loop that hangs stops the pets and
    systemd restarts the dashboard. Outside systemd the notifications are no-ops."""
    from station import notify
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if server.started:
        notify.ready(f"listening on {server.config.host}:{server.config.port}")
    while not serving.done():
        notify.watchdog()
        await asyncio.wait({serving}, timeout=1.0)
    notify.stopping()
    await serving


def with_demo_login(config):
    """`config` with the demo's one admin, 'demo', whose password is made at the first start
    into [web] demo_login_file (0600, never a password shipped in a file) and printed then."""
    import dataclasses
    import os
    import secrets
    import tomllib

    from hq.config import WebUser
    from station.pin import hash_secret
    path = config.web.demo_login_file
    made = False
    if not path.exists():
        password = secrets.token_urlsafe(12)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# The demo dashboard's login (cx-hq serve); delete this file for a new "
                    f'password.\nusername = "demo"\npassword = "{password}"\n')
        made = True
    login = tomllib.loads(path.read_text(encoding="utf-8"))
    if not isinstance(login.get("password"), str) or len(login["password"]) < MIN_PASSWORD:
        raise ValueError(f"{path} holds no password of {MIN_PASSWORD}+ characters: delete it "
                         "for a new one")
    user = WebUser("demo", hash_secret(login["password"]), "admin")
    if made:
        print(f"cx-hq serve: the dashboard at http://{config.web.host}:{config.web.port}/ - "
              f"user demo, password {login['password']} (shown this once; kept in {path})",
              flush=True)
    return dataclasses.replace(config, web=dataclasses.replace(config.web, users=[user]))


def passwd(args) -> int:
    from station.pin import hash_secret
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("cx-hq passwd: the two passwords differ", file=sys.stderr)
            return 2
    if len(password) < MIN_PASSWORD:
        print(f"cx-hq passwd: use at least {MIN_PASSWORD} characters", file=sys.stderr)
        return 2
    print(hash_secret(password))
    return 0
