"""Settings pushed from HQ: which keys HQ may set, the message that carries them, and how a
station applies them on top of its own TOML.

    overlay = check_settings(tomllib.loads(text))   # HQ, before publishing; ConfigError names the key
    payload = encode_push(version=7, who="alice", hq="hq", settings=raw)
    outcome = receive_push(store, config, payload)       # cx-sync, on its config topic
    config = effective_config(config, store)            # kiosk, cx-watch: TOML + applied push

Both sides validate with the station's own typed rules (station/config.py), restricted to the
keys in HQ_SETTABLE: HQ refuses a bad file before it publishes, and the station refuses a bad
message (one that bypassed HQ, or that its own TOML contradicts) without applying any of it.

A push is the whole of what HQ sets on a station: the newest one replaces the one before, so
a key left out goes back to the station's TOML (the broker keeps only the newest, retained,
so a station installed later gets exactly that). Targets are the exception: they become the
store's current targets (source 'hq', with their audit row and `target` event) and stay until
someone changes them, as an admin's change does.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
import typing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from station.config import AlertsSection, Config, ConfigError, _convert, _join, _show

log = logging.getLogger("station.remote_settings")

PUSH_FORMAT = 1
MAX_VERSION = 2 ** 53                   # exact in every JSON reader
MAX_PAYLOAD_BYTES = 256 * 1024
KEPT_BYTES = 64 * 1024                  # of a refused payload, for the audit
ALERT_KIND, ALERT_SUBJECT = "settings_rejected", "hq"
HEALTH_COMPONENT = "settings"


def _numeric(cls) -> tuple[str, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] in (int, float))


# The keys HQ may set, as dotted paths of the station's config: a path covers everything under
# it. Paths, the broker, the PIN, the database and command hooks are never here. To let HQ set
# another key, add its path.
HQ_SETTABLE: tuple[str, ...] = (
    "targets",
    "kiosk.wording",
    "kiosk.reasons",
    "kiosk.review_url",
    "kiosk.review_urls",          # per language, over review_url
    *(f"alerts.{name}" for name in _numeric(AlertsSection)),
)


def settable(key: str) -> bool:
    return any(key == entry or key.startswith(entry + ".") for entry in HQ_SETTABLE)


def _holds_settable(table: str) -> bool:
    """Whether HQ may set some key inside this table (an empty [database] is refused too)."""
    return any(entry.startswith(table + ".") or settable(table) for entry in HQ_SETTABLE)


def check_settings(raw) -> dict:
    """Validate pushed settings (a TOML or JSON table) against the config's typed rules and
    HQ_SETTABLE; returns the overlay ({section: {key: typed value or nested overlay}}).
    Each section's own cross-checks run on its defaults with these values; a station checks
    again against its real config (overlay_config). Raises ConfigError naming the key."""
    overlay = _check(Config, raw, "")
    for name, sub in overlay.items():
        section = typing.get_type_hints(Config)[name]
        _overlay(section(), sub, name)
    return overlay


def _check(cls, raw, path: str) -> dict:
    if not isinstance(raw, dict):
        raise ConfigError(path or "<settings>", f"must be a table, got {_show(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    overlay = {}
    for name, value in raw.items():
        key = _join(path, name[:60] if name else '""')
        if name not in fields:
            raise ConfigError(key, f"unknown key; allowed keys here: {', '.join(sorted(fields))}")
        if dataclasses.is_dataclass(hints[name]):
            # A table sets only the keys it names; the refused key is named inside it.
            overlay[name] = _check(hints[name], value, key)
            if not _holds_settable(key):     # an empty table HQ may not set: [database]
                raise ConfigError(key, "HQ may not set this table or any key in it")
        elif settable(key):
            overlay[name] = _convert(hints[name], value, key, fields[name].metadata, Path("/"))
            if isinstance(overlay[name], float) and not math.isfinite(overlay[name]):
                raise ConfigError(key, f"must be a finite number, got {value}")
        else:
            raise ConfigError(key, f"HQ may not set this key; HQ may set only "
                                   f"{', '.join(HQ_SETTABLE[:4])} and the numeric [alerts] "
                                   f"thresholds")
    return overlay


def overlay_config(config: Config, overlay: dict) -> Config:
    """`config` with the overlay's values in place (each section re-checked as a whole)."""
    return _overlay(config, overlay, "")


def _overlay(obj, overlay: dict, path: str):
    changes = {}
    for name, value in overlay.items():
        changes[name] = (_overlay(getattr(obj, name), value, _join(path, name))
                         if isinstance(value, dict) else value)
    try:
        return dataclasses.replace(obj, **changes)
    except ConfigError as exc:
        if path and not exc.path.startswith(path):
            raise ConfigError(_join(path, exc.path), exc.message) from None
        raise


# -- the message on <prefix>/<station>/config ----------------------------------------------------
@dataclass(frozen=True)
class Push:
    version: int
    who: str
    hq: str
    pushed_at: str
    settings: dict          # as HQ sent it (JSON), validated by check_settings


def encode_push(version: int, who: str, hq: str, settings: dict,
                pushed_at: float | None = None) -> bytes:
    doc = {"v": PUSH_FORMAT, "hq": hq, "version": version, "who": who,
           "pushed_at": _iso(time.time() if pushed_at is None else pushed_at),
           "settings": settings}
    try:
        return json.dumps(doc, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()
    except ValueError as exc:
        raise ConfigError("<settings>", f"cannot be sent as JSON: {exc}") from None


def decode_push(payload: bytes) -> Push:
    """The push in `payload`; raises ConfigError naming the bad field (``version``, ``who``,
    ...) or, for the settings, the bad key (``kiosk.review_url``)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ConfigError("<payload>", f"{len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        doc = json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError("<payload>", f"is not UTF-8 JSON: {str(exc)[:200]}") from None
    if not isinstance(doc, dict):
        raise ConfigError("<payload>", f"must be a JSON object, got {_show(doc)}")
    if doc.get("v") != PUSH_FORMAT or isinstance(doc.get("v"), bool):
        raise ConfigError("v", f"push format {_show(doc.get('v'))} is not supported "
                               f"(this station reads {PUSH_FORMAT})")
    version = push_version(doc)
    if version is None:
        raise ConfigError("version", f"must be an integer 1..{MAX_VERSION}, got "
                                     f"{_show(doc.get('version'))}")
    for key in ("who", "hq", "pushed_at"):
        if not isinstance(doc.get(key), str) or not 0 < len(doc[key]) <= 200:
            raise ConfigError(key, f"must be a non-empty string, got {_show(doc.get(key))}")
    unknown = sorted(set(doc) - {"v", "version", "who", "hq", "pushed_at", "settings"})
    if unknown:
        raise ConfigError(unknown[0][:60], "unknown field of a push")
    settings = doc.get("settings")
    check_settings(settings)
    return Push(version, doc["who"], doc["hq"], doc["pushed_at"], settings)


def push_version(doc) -> int | None:
    version = doc.get("version") if isinstance(doc, dict) else None
    if type(version) is int and 1 <= version <= MAX_VERSION:
        return version
    return None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


# -- the station side -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    state: str                      # 'applied', 'rejected' or 'ignored'
    version: int | None
    key: str | None = None          # rejected: the key at fault
    reason: str = ""


def receive_push(store, config: Config, payload: bytes, now: float | None = None) -> Outcome:
    """Apply one message of the station's config topic, atomically, or refuse all of it.

    Ignored: an empty message (HQ cleared it), a version not newer than the one applied
    (retained redelivery, restarts), and a refused message seen again. Refused: anything
    check_settings or the station's own config rejects, or a push of another HQ than
    ``[sync] hq_name``; it is recorded with the key and reason, shown in the station's health
    and raised as a `settings_rejected` alert, which the next applied push resolves."""
    now = time.time() if now is None else now
    if not payload:
        return Outcome("ignored", None, reason="empty message")
    applied = store.applied_settings()
    applied_version = applied.version if applied else 0
    text = payload[:KEPT_BYTES].decode("utf-8", "replace")
    try:
        version = push_version(json.loads(payload, parse_constant=_no_constant))
    except (ValueError, RecursionError):
        version = None
    if version is not None and version <= applied_version:
        return Outcome("ignored", version, reason=f"version {version} is not newer than the "
                                                  f"applied {applied_version}")
    if store.settings_refused_before(version, text):
        return Outcome("ignored", version, reason="refused before")
    try:
        push = decode_push(payload)
        if push.hq != config.sync.hq_name:
            raise ConfigError("hq", f"{push.hq!r} is not the HQ this station trusts "
                                    f"({config.sync.hq_name!r}, [sync] hq_name)")
        overlay = check_settings(push.settings)
        effective = overlay_config(config, overlay)
    except ConfigError as exc:
        _refuse(store, version, text, exc, now)
        return Outcome("rejected", version, exc.path, exc.message)
    settings_text = json.dumps(push.settings, ensure_ascii=False, separators=(",", ":"))
    with store.transaction():
        store.record_settings(push.version, "applied", now, push.pushed_at, push.who,
                              settings_text, old=applied.settings if applied else None)
        for kpi in overlay.get("targets", {}):
            store.set_target(effective.targets.target(kpi), "hq", who=push.who, at=now)
        store.put_health(HEALTH_COMPONENT, {"version": push.version, "applied_at": now,
                                            "who": push.who, "pushed_at": push.pushed_at,
                                            "rejected": None}, ts=now)
        store.resolve_alert(ALERT_KIND, ALERT_SUBJECT, at=now)
    log.info("applied HQ settings version %d from %s", push.version, push.who)
    return Outcome("applied", push.version)


def _refuse(store, version: int | None, text: str, exc: ConfigError, now: float) -> None:
    log.warning("refused HQ settings version %s: %s", version, exc)
    applied = store.applied_settings()
    rejected = {"version": version, "key": exc.path, "reason": exc.message, "at": now}
    with store.transaction():
        store.record_settings(version, "rejected", now, None, None, text,
                              error_key=exc.path, error=exc.message)
        store.put_health(HEALTH_COMPONENT, {
            "version": applied.version if applied else None,
            "applied_at": applied.received_at if applied else None,
            "who": applied.who if applied else None,
            "pushed_at": applied.pushed_at if applied else None,
            "rejected": rejected}, ts=now)
        store.raise_alert(ALERT_KIND, "warning", ALERT_SUBJECT, rejected, at=now)


def effective_config(config: Config, store) -> Config:
    """The station's TOML with the applied HQ settings on top (the TOML alone when none is
    applied, or when the TOML changed since so that they no longer fit: logged)."""
    applied = store.applied_settings()
    if applied is None:
        return config
    try:
        return overlay_config(config, check_settings(json.loads(applied.settings)))
    except (ConfigError, ValueError) as exc:
        log.error("the applied HQ settings version %d no longer fit this config (%s): using "
                  "the TOML alone", applied.version, exc)
        return config


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds") \
        .replace("+00:00", "Z")
