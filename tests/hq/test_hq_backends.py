"""The HQ readers on both backends: the same station events delivered to an SQLite file and to
a real PostgreSQL database give the same report, export, stats and goals, figure for figure;
values no JSON engine reads (Infinity, NaN, NUL) are stored and read without failing."""
from __future__ import annotations

import json
import math
import time

import pytest

import hq_sample
import test_report_goals as goals_sample
from sync.envelope import Topic, parse_message
from hq import export, report, stats
from hq.config import load_hq_config
from hq.db import HqDb
from hq.views import VIEWS, open_database

NOW = hq_sample.NOW


class Both:
    """An HqDb stand-in that commits every delivery to two databases."""

    def __init__(self, *dbs: HqDb):
        self.dbs = dbs

    def commit(self, *args, **kwargs):
        results = [db.commit(*args, **kwargs) for db in self.dbs]
        assert results[0].acks == results[1].acks      # the writers agree, ack for ack
        return results[0]


def pg_config(tmp, url, min_n=30, k=5):
    """The sample HQ config with [database] url naming PostgreSQL."""
    path = tmp / "hq-pg.toml"
    text = hq_sample.HQ_TOML.format(db=tmp / "unused.db", min_n=min_n, k=k)
    path.write_text(text.replace("[database]\n", f'[database]\nurl = "{url}"\n', 1),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def both(tmp_path_factory, pg_server):
    tmp = tmp_path_factory.mktemp("hq-both")
    url = pg_server.new_database("hq_both")
    lite, pg = HqDb.open(tmp / "hq.db"), HqDb.open(url)
    tee = Both(lite, pg)
    hq_sample.three_stores(tmp, responses=300, visits=600, hq=tee)
    hq_sample.known_store(tmp, tee)
    hq_sample.tiny_store(tmp, tee)
    goals_sample.goals_store(tmp, tee)
    goals_sample.many_alerts_store(tmp, tee)
    lite.close()
    pg.close()
    configs = {"sqlite": load_hq_config(hq_sample.hq_config(tmp, tmp / "hq.db")),
               "postgresql": load_hq_config(pg_config(tmp, url))}
    return {"tmp": tmp, "url": url, "configs": configs}


def read_both(both, fn):
    out = {}
    for backend, config in both["configs"].items():
        db = open_database(config)
        assert db.backend == backend
        try:
            out[backend] = fn(db, config)
        finally:
            db.close()
    return out["sqlite"], out["postgresql"]


def test_the_report_is_the_same_figure_for_figure(both):
    lite, pg = read_both(both, lambda db, c: report.build(db, c, None, None, now=NOW))
    assert lite["all"]["responses"] > 300 and len(lite["stores"]) >= 5
    assert any(s["targets"] for s in lite["stores"]) and lite["reasons"]
    assert same(lite, pg)


def test_the_report_over_a_period_is_the_same(both):
    since, until = NOW - 14 * 86400, NOW - 86400
    lite, pg = read_both(both, lambda db, c: report.build(db, c, since, until, now=NOW))
    assert lite["all"]["responses"] and same(lite, pg)


@pytest.mark.parametrize("type_", sorted(export.TYPES))
def test_every_export_is_the_same(both, type_):
    lite, pg = read_both(both, lambda db, c: (export.export_to_string(db, type_, "csv"),
                                              export.export_to_string(db, type_, "jsonl")))
    assert lite == pg


def test_stats_are_the_same(both):
    lite, pg = read_both(both, lambda db, c: stats.collect(db, now=NOW))
    assert lite["stations"] and lite == pg


def test_each_view_has_the_same_columns_and_rows(both):
    def rows(db, _config):
        out = {}
        for view in VIEWS:
            cursor = db.execute(f"SELECT * FROM {view} ORDER BY station, seq")
            names = [d[0] for d in cursor.description]
            out[view] = (names, [tuple(_plain(v) for v in row) for row in cursor.fetchall()])
        return out
    lite, pg = read_both(both, rows)
    assert sum(len(r) for _, r in lite.values()) > 1000
    assert lite == pg


def same(a, b) -> bool:
    """Equal, floats to 12 significant digits (the engines add group rows in other orders)."""
    return json.dumps(_rounded(a), sort_keys=True) == json.dumps(_rounded(b), sort_keys=True)


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _plain(value):
    """Lists and objects come back as JSON text on both backends, spaced differently."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def test_analyst_commands_read_postgresql_from_the_config(both, capsys):
    from hq.__main__ import main
    config = str(both["tmp"] / "hq-pg.toml")
    assert main(["stats", "--config", config, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stations"]
    assert main(["export", "--config", config, "--type", "response", "--format", "jsonl"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 300
    out = both["tmp"] / "pg.html"
    assert main(["report", "--config", config, "--html", str(out)]) == 0
    assert "acme/known" in out.read_text(encoding="utf-8")


def test_a_missing_postgresql_database_is_a_clear_error(both, tmp_path, capsys):
    from hq.__main__ import main
    url = both["url"].replace("/hq_both?", "/no_such_db?")
    config = pg_config(tmp_path, url)
    assert main(["stats", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "cx-hq stats" in err and "no_such_db" in err


ODD = (b'{"v":1,"station":"acme/odd/k1","seq":1,"id":"00000000-0000-4000-8000-000000000001",'
       b'"type":"traffic","ts":"2026-11-17T10:00:00.000Z","data":{"line":"door","in":2,'
       b'"out":1,"inf":1e999,"ninf":-1e999,"nan":NaN,"note":"a\\u0000b","\\u0000":0,'
       b'"big":' + b"1" + b"0" * 400 + b'}}')


def test_infinity_nan_and_nul_are_stored_and_read_back_on_both(both, tmp_path, pg_server):
    """1e999 arrives as Infinity; JSON engines refuse Infinity and NaN, jsonb refuses NUL:
    the views read them as strings, the export prints the station's exact values."""
    url = pg_server.new_database("hq_odd")
    envs, rejects = parse_message(Topic("acme/odd/k1", "traffic"), ODD, now=time.time())
    assert envs and not rejects
    dbs = [HqDb.open(tmp_path / "hq.db"), HqDb.open(url)]
    for db in dbs:
        assert db.commit(envs, [], now=NOW).marks == {"acme/odd/k1": 1}
        db.close()
    configs = [load_hq_config(hq_sample.hq_config(tmp_path, tmp_path / "hq.db")),
               load_hq_config(pg_config(tmp_path, url))]
    outs = []
    for config in configs:
        db = open_database(config)
        assert db.execute("SELECT entries, exits, line FROM traffic").fetchall() == \
            [(2, 1, "door")]
        rows = [json.loads(line) for line in export.export_to_string(db, "traffic",
                                                                     "jsonl").splitlines()]
        db.close()
        (row,) = rows
        assert row["inf"] == math.inf and row["ninf"] == -math.inf and math.isnan(row["nan"])
        assert row["note"] == "a\x00b" and row["\x00"] == 0 and row["big"] == 10 ** 400
        outs.append(rows)
    assert json.dumps(outs[0]) == json.dumps(outs[1])


def readme_queries() -> list[str]:
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "hq" / "README.md").read_text(encoding="utf-8")
    return [q for q in re.findall(r"```sql\n(.*?)```", text, re.S) if q.lstrip().startswith(
        "SELECT")]


def test_every_query_of_the_readme_runs_on_both_and_agrees(both):
    queries = readme_queries()
    assert len(queries) >= 6                    # one per KPI, targets and alerts

    def run(db, _config):
        return [[tuple(_plain(v) for v in row) for row in db.execute(q).fetchall()]
                for q in queries]
    lite, pg = read_both(both, run)
    assert all(lite), [q[:60] for q, rows in zip(queries, lite) if not rows]
    assert same(lite, pg)
    # the NPS query says what the report says
    report_nps = read_both(both, lambda db, c: report.build(db, c, None, None, now=NOW))[0]
    known = next(s for s in report_nps["stores"] if s["store"] == "acme/known")
    nps_rows = {row[0]: row[2] for row in lite[0]}
    assert float(nps_rows["acme/known"]) == pytest.approx(known["nps"]["value"], abs=0.05)
