"""The dashboard's data layer (hq/web/data.py) on both backends: the same deliveries to an
SQLite file and to a real PostgreSQL database give the same figures on every page, with the
settings HQ pushed and what the stations reported about them."""
from __future__ import annotations

import dataclasses
import json

import pytest

import web_sample
from test_hq_backends import Both, pg_config, read_both, same
from web_sample import NOW
from hq import report_goals as goals
from hq import stats
from hq.config import load_hq_config
from hq.db import HqDb
from hq.push import _record
from hq.web import data

KIOSK_1, KIOSK_2 = "acme/hcm-d1/kiosk-1", "acme/hcm-d1/kiosk-2"


def plain(value):
    """Dataclasses (scorecards, figures) as dicts, tuples as lists, dict keys as text: what
    `same` compares."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def differences(a, b, path="") -> list[str]:
    """Where two plain values differ (a failing comparison says which figure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b))
                for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if same(a, b) else [f"{path}: {a!r} != {b!r}"]


def read_plain(both, fn):
    lite, pg = read_both(both, fn)
    lite, pg = plain(lite), plain(pg)
    assert not differences(lite, pg)[:10]
    return lite


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg_server):
    tmp = tmp_path_factory.mktemp("web-both")
    url = pg_server.new_database("web_both")
    lite, pg = HqDb.open(tmp / "hq.db"), HqDb.open(url)
    paths = web_sample.web_hq(tmp, hq=Both(lite, pg))
    reported = {KIOSK_1: {"version": 2}, KIOSK_2: {"version": 1, "rejected": {
        "version": 2, "key": "targets.nps.value", "reason": "out of range"}}}
    for db in (lite, pg):
        assert _record(db, [KIOSK_1, KIOSK_2], "[targets.nps]\nvalue = 50\n", "root", NOW) == 1
        assert _record(db, [KIOSK_1, KIOSK_2], "[targets.nps]\nvalue = 55\n", "root", NOW) == 2
        db.db.execute("UPDATE settings_pushes SET published_at = ?", (NOW,))
        for station, settings in reported.items():
            health = json.loads(db.db.execute("SELECT health FROM stations WHERE station = ?",
                                              (station,)).fetchone()[0])
            db.db.execute("UPDATE stations SET health = ? WHERE station = ?",
                          (json.dumps({**health, "settings": settings}), station))
        db.close()
    text = paths["config"].read_text(encoding="utf-8")
    pg_path = pg_config(tmp, url)
    pg_path.write_text(pg_path.read_text(encoding="utf-8") + text[text.index("[web]"):],
                       encoding="utf-8")
    return {"configs": {"sqlite": load_hq_config(paths["config"]),
                        "postgresql": load_hq_config(pg_path)}}


def test_the_stores_page_figures_are_the_same(both):
    lite = read_plain(both, lambda db, config: data.overview(db, config, NOW))
    assert len(lite["stores"]) == 4 and lite["chain"]["responses"] > 800
    hcm = next(row for row in lite["stores"] if row["store"] == "acme/hcm-d1")
    assert hcm["targets"] and hcm["alerts"]["unresolved"] >= 2 and hcm["conversion"]


@pytest.mark.parametrize("store", ["acme/hcm-d1", "acme/hn-hk", "acme/tiny"])
def test_a_store_page_is_the_same(both, store):
    lite = read_plain(both, lambda db, config: data.store_detail(db, config, store, NOW))
    assert lite["daily"] and lite["weekly"] and lite["stations"]


def test_settings_state_and_goals_are_the_same(both):
    def read(db, config):
        return {"settings": {s["station"]: s["settings"]
                             for s in stats.collect(db, NOW)["stations"]},
                "targets": goals.current_targets(db, None),
                "alerts": goals.unresolved_alerts(db, None),
                "cases": data.open_cases(db), "last": data.last_events(db)}
    lite = read_plain(both, read)
    assert lite["settings"][KIOSK_1]["pushed"] == 2 and lite["settings"][KIOSK_1]["applied"] == 2
    assert lite["settings"][KIOSK_2]["rejected"]["key"] == "targets.nps.value"
    assert lite["targets"] and lite["alerts"]


@pytest.mark.parametrize("path", ["/", "/chain", "/store/acme/hcm-d1"])
def test_the_pages_read_the_same_on_both(both, path):
    """The app itself on PostgreSQL: each page renders, cell for cell as on SQLite."""
    from test_web_pages import keyed_cells
    from web_server import logged_in, serving
    from hq.web.app import create_app
    shown = {}
    for backend, config in both["configs"].items():
        with serving(create_app(config, clock=lambda: NOW)) as base:
            http = logged_in(base, "ana", web_sample.PASSWORDS["ana"][1])
            r = http.get(base + path)
            assert r.status_code == 200, (backend, r.text[:500])
            shown[backend] = keyed_cells(r.text)
    assert len(shown["sqlite"]) >= 10 and shown["sqlite"] == shown["postgresql"]
