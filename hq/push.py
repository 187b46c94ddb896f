"""`cx-hq push`: settings from HQ to one station, one store's stations or the whole chain.

    cx-hq push --config hq.toml --station acme/hcm-d1/kiosk-1 --file settings.toml
    cx-hq push --config hq.toml --store acme/hcm-d1 --file settings.toml
    cx-hq push --config hq.toml --all --file settings.toml

    result = publish_settings(config, text, store="acme/hcm-d1", who="alice")   # the dashboard
    result.version, result.stations

The file holds only keys HQ may set (station/remote_settings.py HQ_SETTABLE: targets, survey
wording and reason chips per language, the review URL, numeric alert thresholds), checked with
the station's own typed rules before anything is published: a bad file raises PushError naming
the key, and nothing is sent. Each push gets the next version (one counter for the HQ, so it
rises for every station) and is kept in the HQ database (settings_pushes: station, version,
who, when, the file). It goes out retained, QoS 1, on each station's own
``<prefix>/<station>/config``, so a station that is offline gets it when it connects. The
station reports what it applied, or the key it refused, in its health (`cx-hq stats`).
"""
from __future__ import annotations

import getpass
import json
import os
import sys
import threading
import time
import tomllib
from dataclasses import dataclass

from hq.config import HqConfig
from station.config import ConfigError
from station.remote_settings import MAX_VERSION, check_settings, encode_push
from sync.envelope import CONFIG

PUBACK_TIMEOUT_S = 10.0
_PUSH_LOCK = 0x63787075          # advisory lock key: one push numbering at a time


class PushError(ValueError):
    """The settings (or the stations named) are wrong; `key` is the settings key at fault."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


class PublishError(RuntimeError):
    """The broker could not be reached or refused a message (the push is recorded as not
    published)."""


@dataclass(frozen=True)
class PushResult:
    version: int
    stations: list[str]


def publish_settings(config: HqConfig, settings_text: str, *, station: str | None = None,
                     store: str | None = None, chain: bool = False, who: str) -> PushResult:
    """Check `settings_text` (TOML), record it under the next version for each station
    chosen, and publish it to them; raises PushError for bad settings or an unknown target,
    PublishError when the broker did not take it."""
    if sum((station is not None, store is not None, bool(chain))) != 1:
        raise ValueError("name exactly one of station, store or chain")
    if not who or not who.strip():
        raise ValueError("who must name the person pushing")
    settings = parse_settings_text(settings_text)
    from hq.db import HqDb
    hq_db = HqDb.for_config(config.database)
    try:
        stations = _stations(hq_db.db, station, store)
        version = _record(hq_db, stations, settings_text, who, time.time())
        payload = encode_push(version, who, config.hq.name, settings)
        _publish(config, [f"{config.hq.topic_prefix}/{s}/{CONFIG}" for s in stations], payload)
        hq_db.db.execute("UPDATE settings_pushes SET published_at = ? WHERE version = ?",
                         (time.time(), version))
    finally:
        hq_db.close()
    return PushResult(version, stations)


def parse_settings_text(text: str) -> dict:
    """The settings table of a TOML text, checked; PushError names the bad key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PushError(f"<file>: not valid TOML: {exc}", "<file>") from None
    try:
        check_settings(raw)
        encode_push(1, "check", "check", raw)       # e.g. inf: no JSON number
    except ConfigError as exc:
        raise PushError(str(exc), exc.path) from None
    return raw


def _stations(db, station: str | None, store: str | None) -> list[str]:
    known = [row[0] for row in db.execute("SELECT station FROM stations ORDER BY station")]
    if station is not None:
        if station not in known:
            raise PushError(f"station {station!r} is not known to this HQ (it has not "
                            f"delivered anything yet); known: {', '.join(known[:10]) or 'none'}")
        return [station]
    if store is not None:
        chosen = [s for s in known if s.startswith(store.rstrip("/") + "/")]
        if not chosen:
            raise PushError(f"no station of store {store!r} (org/store) is known to this HQ")
        return chosen
    if not known:
        raise PushError("no station is known to this HQ yet")
    return known


def _record(hq_db, stations: list[str], text: str, who: str, now: float) -> int:
    """The next version, recorded for every station in one transaction. It is above every
    version a station reported applied too, so a reset HQ database does not restart at
    versions the stations would ignore as old (a refused version blocks nothing). Pushes
    take turns (SQLite's one writer; an advisory lock on PostgreSQL, where a plain read of
    max(version) would let two concurrent pushes take the same number)."""
    with hq_db.transaction(lock=_PUSH_LOCK) as db:
        pushed = db.execute("SELECT coalesce(max(version), 0) FROM settings_pushes").fetchone()[0]
        version = max([pushed, *map(_reported_version, db.execute(
            "SELECT health FROM stations WHERE health IS NOT NULL"))]) + 1
        db.executemany("INSERT INTO settings_pushes (station, version, pushed_at, who, settings) "
                       "VALUES (?,?,?,?,?)", [(s, version, now, who, text) for s in stations])
    return version


def _reported_version(row) -> int:
    try:
        version = (json.loads(row[0]).get("settings") or {}).get("version")
    except (ValueError, TypeError, AttributeError):
        return 0
    return version if type(version) is int and version < MAX_VERSION else 0


def _publish(config: HqConfig, topics: list[str], payload: bytes) -> None:
    """Retained, QoS 1, each acknowledged by the broker (MQTT 5: a refusal by its ACL shows)."""
    from sync.mqtt import Link, NetworkLoop
    link = Link.to(config.hq, f"{config.hq.client_id}-push-{os.getpid()}", version="5",
                   session_expiry_s=0)
    client = link.client()
    connected, cond = threading.Event(), threading.Condition()
    acks: dict[int, object] = {}

    def on_connect(client, userdata, flags, reason, properties):
        if not reason.is_failure:
            connected.set()

    def on_publish(client, userdata, mid, reason, properties):
        with cond:
            acks[mid] = reason
            cond.notify_all()

    client.on_connect, client.on_publish = on_connect, on_publish
    network = NetworkLoop(client, name="cx-hq-push")
    link.connect_async(client)
    network.start()
    try:
        if not connected.wait(PUBACK_TIMEOUT_S):
            raise PublishError(f"cannot connect to the broker at {link.host}:{link.port}")
        mids = {}
        for topic in topics:
            info = client.publish(topic, payload, qos=1, retain=True)
            mids[info.mid] = topic
        deadline = time.monotonic() + PUBACK_TIMEOUT_S
        with cond:
            while not set(mids) <= set(acks) and time.monotonic() < deadline:
                cond.wait(0.1)
        missing = [t for m, t in mids.items() if m not in acks]
        refused = [f"{t} ({acks[m]})" for m, t in mids.items()
                   if m in acks and getattr(acks[m], "is_failure", False)]
        if missing or refused:
            raise PublishError("the broker did not take the push for "
                               + ", ".join(refused + [f"{t} (no PUBACK)" for t in missing]))
    finally:
        network.stop()


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("push", help="push settings (targets, survey wording, reasons, "
                                           "review URL, alert thresholds) to stations",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="the HQ's TOML config")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--station", help="one station, org/store/station")
    to.add_argument("--store", help="every station of one store, org/store")
    to.add_argument("--all", action="store_true", help="every station HQ knows")
    p.add_argument("--file", required=True, help="the settings TOML (config/demo-push.toml)")
    p.add_argument("--who", default=None, help="who pushes (default: the login name)")
    p.set_defaults(func=run)


def run(args) -> int:
    from hq.config import load_hq_config
    from hq.db import HqDbError
    from sync.mqtt import SecurityError
    try:
        config = load_hq_config(args.config)
        with open(args.file, encoding="utf-8") as f:
            text = f.read()
        result = publish_settings(config, text, station=args.station, store=args.store,
                                  chain=args.all, who=args.who or getpass.getuser())
    except (ConfigError, PushError, PublishError, HqDbError, SecurityError, OSError,
            UnicodeDecodeError) as exc:
        print(f"cx-hq push: {exc}", file=sys.stderr)
        return 2
    print(f"pushed settings version {result.version} to {len(result.stations)} station"
          f"{'s' if len(result.stations) != 1 else ''}: {', '.join(result.stations)}")
    print("each station reports what it applied or refused: cx-hq stats --config "
          f"{args.config}")
    return 0
