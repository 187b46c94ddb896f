"""An HQ database and config for the dashboard's tests: real station stores, simulated days,
targets, alerts and health, delivered through the receiver's own checks (tests/hq/hq_sample.py).

    paths = web_hq(tmp_path)          # {"config": hq.toml, "db": hq.db}
    config = load_hq_config(paths["config"])
"""
from __future__ import annotations

from pathlib import Path

import hq_sample
from hq_sample import NOW, copy_outbox, new_hq_db, station_store
from station.pin import hash_secret
from station.simulate import simulate
from station.targets import Target

PASSWORDS = {"ana": ("analyst", "ana-password-1"), "root": ("admin", "root-password-1")}
DAY = 86400.0

WEB_TOML = """
[web]
lockout_failures = 3
lockout_minutes = 10
refresh_s = 2
"""


def users_toml() -> str:
    return "".join(f'[[web.users]]\nusername = "{name}"\npassword_hash = "{hash_secret(pw)}"\n'
                   f'role = "{role}"\n' for name, (role, pw) in PASSWORDS.items())


def web_hq(tmp: Path, min_n: int = 30, hq=None) -> dict:
    """Four stores: three simulated over 28 days (POS sales too), one of them with two kiosks,
    targets and alerts; `acme/tiny` with 12 answers and its kiosk offline. Delivered to `hq`
    (an HqDb, or anything with its commit) where given, else to a new SQLite file."""
    hq_path = tmp / "hq.db"
    own = hq is None
    if own:
        hq = new_hq_db(hq_path)
    layout = [("hcm-d1", "kiosk-1", 400, 7), ("hcm-d1", "kiosk-2", 150, 8),
              ("hn-hk", "kiosk-1", 250, 9), ("dn-hc", "kiosk-1", 120, 10)]
    for name, sid, responses, seed in layout:
        store, config = station_store(tmp, "acme", name, sid)
        simulate(store, config, responses=responses, visits=900, days=28, seed=seed, now=NOW)
        if (name, sid) == ("hcm-d1", "kiosk-1"):
            store.set_target(Target("nps", 60, "higher", "week"), "hq", who="hq-analyst",
                             at=NOW - 3 * DAY)
            store.set_target(Target("participation_rate", 5, "higher", "month"), "config",
                             at=NOW - 20 * DAY)
            store.raise_alert("camera_offline", "critical", "entrance", context={},
                              at=NOW - 3600)
            store.raise_alert("kpi_below_target", "warning", "nps",
                              context={"figure": 20}, at=NOW - 7200)
        if name == "hn-hk":
            store.set_target(Target("nps", -20, "higher", "week"), "config", at=NOW - 9 * DAY)
        health = {"backlog": 3 if sid == "kiosk-2" else 0, "vision": {"fps": 9.5 + seed / 10},
                  "versions": {"cx-station": "0.9.0"}}
        copy_outbox(store, hq, health=health, status="online",
                    received_at=NOW - (600 if sid == "kiosk-2" else 30))
        store.close()
    hq_sample.tiny_store(tmp, hq)
    if own:
        hq.close()
    config = hq_sample.hq_config(tmp, hq_path, min_n=min_n)
    config.write_text(config.read_text(encoding="utf-8") + WEB_TOML + users_toml(),
                      encoding="utf-8")
    return {"config": config, "db": hq_path}
