"""station/simulate.py: synthetic data through the store API, reproducible by seed."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from station.config import load_config
from station.simulate import AGE_BRACKETS, simulate
from station.store import Store
from station_testlib import assert_seqs_contiguous, outbox_consistency

NOW = 1_800_000_000.0


def _run(config_path, seed, **kw):
    config = load_config(config_path)
    store = Store.open(config)
    result = simulate(store, config, seed=seed, now=NOW, **kw)
    rows = store.db.execute("SELECT ts, nps, csat, ces, presence, visit_id FROM responses "
                            "ORDER BY ts").fetchall()
    store.close()
    return config, result, rows


def test_same_seed_gives_the_same_data(demo_config, tmp_path):
    _, a, rows_a = _run(demo_config, seed=3, responses=120, visits=300)
    config = load_config(demo_config)
    config.database.path.unlink()
    _, b, rows_b = _run(demo_config, seed=3, responses=120, visits=300)
    assert a == b
    assert [r[:4] for r in rows_a] == [r[:4] for r in rows_b]


def test_simulated_data_is_plausible_and_consistent(demo_config):
    config, result, rows = _run(demo_config, seed=11, responses=300, visits=800, days=7)
    assert result["responses"] == len(rows) == 300 and result["visits"] == 800
    assert 0 < result["cases_resolved"] <= result["cases"]
    tz = config.tz
    hours = {datetime.fromtimestamp(ts, tz).hour for ts, *_ in rows}
    assert hours <= set(range(8, 22))                      # opening hours, local time
    # `days` counts calendar days back in local time, so the first one may start up to a day
    # earlier; a linked tap comes a little after its visitor entered
    assert all(NOW - 8 * 86400 <= ts < NOW + 600 for ts, *_ in rows)
    assert min(ts for ts, *_ in rows) < NOW - 5 * 86400        # spread over the period
    scores = [r[1] for r in rows]
    assert len(set(scores)) >= 6                            # a spread, not one answer
    assert all(csat is None or 1 <= csat <= 5 for _, _, csat, _, _, _ in rows)
    assert all(ces is None or 1 <= ces <= 7 for _, _, _, ces, _, _ in rows)
    assert any(ces is not None for _, _, _, ces, _, _ in rows)         # demo asks CES
    linked = [r for r in rows if r[4] == "linked"]
    assert len(linked) > 0.6 * len(rows) and all(r[5] for r in linked)
    db = sqlite3.connect(config.database.path)
    outbox_consistency(db)
    assert_seqs_contiguous(db)
    ages = {a for (a,) in db.execute("SELECT DISTINCT age_bracket FROM visits")}
    assert ages - {None} <= set(AGE_BRACKETS) and None in ages
    # a till's hourly counts beside the camera's, for conversion: about a quarter buy
    sold, pos_hours = db.execute("SELECT sum(transactions), count(*) FROM pos_hours").fetchone()
    assert pos_hours == result["pos_hours"] > 0 and 0.15 * 800 < sold < 0.4 * 800


def test_younger_visitors_score_lower_so_post_stratification_has_work(demo_config):
    config, _, _ = _run(demo_config, seed=5, responses=800, visits=800)
    db = sqlite3.connect(config.database.path)
    mean = dict(db.execute("SELECT v.age_bracket, avg(r.nps) FROM responses r JOIN visits v "
                           "ON v.id = r.visit_id WHERE v.age_bracket IN ('18-24', '65+') "
                           "GROUP BY 1").fetchall())
    assert mean["18-24"] < mean["65+"] - 1


def test_zero_responses_and_zero_visits_write_nothing(demo_config):
    config, result, rows = _run(demo_config, seed=1, responses=0, visits=0)
    assert rows == [] and result == {"responses": 0, "visits": 0, "cases": 0,
                                     "cases_resolved": 0, "pos_hours": 0, "complaints": 0,
                                     "occupancy_minutes": 0}


def test_simulated_data_has_every_issue_17_kpi(demo_config):
    """First-visit answers (the demo asks), complaints with contact details, people in the
    store per minute for HQ, and a POS file: the demo shows every new figure."""
    config, result, rows = _run(demo_config, seed=3, responses=400, visits=800)
    assert result["complaints"] > 0 and result["occupancy_minutes"] > 0
    assert result["pos_hours"] > 0
    store = Store.open(config)
    answered = store.db.execute("SELECT first_visit, count(*) FROM responses WHERE "
                                "first_visit IS NOT NULL GROUP BY 1").fetchall()
    assert dict(answered).keys() == {0, 1}
    contacts = store.db.execute("SELECT count(*) FROM complaints WHERE contact IS NOT NULL "
                                "OR contact_name IS NOT NULL").fetchone()[0]
    assert 0 < contacts <= result["complaints"]
    occupancy = [json.loads(e.payload)["data"] for e in store.pending_outbox(limit=100_000)
                 if e.type == "occupancy"]
    assert max(o["people"] for o in occupancy) > 0
    store.close()
