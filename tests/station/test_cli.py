"""`cx-station` as real processes: simulate, report (text/JSON, periods), doctor, pin-hash."""
from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from station import kpi
from station.config import load_config
from station.pin import verify_pin
from station.store import Store
from station.store.schema import SCHEMA_VERSION
from station.supervisor import find_mosquitto
from station_testlib import demo_text, run_cli

RESPONSES, VISITS = 400, 1200


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """One simulated demo station shared by the report tests (simulating is the slow part)."""
    tmp = tmp_path_factory.mktemp("cli")
    path = tmp / "station.toml"
    path.write_text(demo_text(tmp), encoding="utf-8")
    result = run_cli("simulate", "--config", path, "--responses", RESPONSES, "--visits", VISITS,
                     "--seed", 7, cwd="/")
    assert result.returncode == 0, result.stderr
    m = re.search(r"simulated (\d+) responses, (\d+) visits, (\d+) detractor cases "
                  r"\((\d+) resolved\), \d+ hours of POS counts, (\d+) complaints, "
                  r"(\d+) minutes of occupancy", result.stdout)
    assert m, result.stdout
    made = dict(zip(("responses", "visits", "cases", "resolved", "complaints", "occupancy"),
                    map(int, m.groups())))
    return path, made


def _report(config, *args):
    result = run_cli("report", "--config", config, "--json", *args, cwd="/")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_simulate_writes_into_the_configured_database(simulated):
    config, made = simulated
    assert made["responses"] == RESPONSES and made["visits"] == VISITS
    assert (config.parent / "station.db").exists()
    db = sqlite3.connect(config.parent / "station.db")
    assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == RESPONSES
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == VISITS
    assert db.execute("SELECT count(*) FROM cases").fetchone()[0] == made["cases"]
    assert db.execute("SELECT count(*) FROM cases WHERE resolved_at IS NOT NULL"
                      ).fetchone()[0] == made["resolved"]
    # detractor cases are opened for exactly the detractors
    detractors = db.execute("SELECT count(*) FROM responses WHERE nps <= 6").fetchone()[0]
    assert detractors == made["cases"]
    # the same write API as the services: every domain row has its event
    n_events = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    traffic = db.execute("SELECT count(*) FROM traffic").fetchone()[0]
    targets = db.execute("SELECT count(*) FROM target_changes").fetchone()[0]
    alerts = db.execute("SELECT count(*) FROM outbox WHERE type = 'alert'").fetchone()[0]
    pos = db.execute("SELECT count(*) FROM pos_hours").fetchone()[0]
    assert pos > 0
    assert made["complaints"] > 0 and made["occupancy"] > 0
    assert n_events == (RESPONSES + VISITS + made["cases"] + made["resolved"] + traffic +
                        targets + alerts + pos + made["complaints"] + made["occupancy"])
    # every detractor counted on the one detractor alert
    assert db.execute("SELECT sum(count) FROM alerts WHERE kind = 'detractor'"
                      ).fetchone()[0] == made["cases"]
    # the demo config's targets, applied as the config's
    assert db.execute("SELECT count(*), min(source) FROM target_changes "
                      "WHERE source = 'config'").fetchone() == (6, "config")


def test_report_json_counts_match_what_was_simulated(simulated):
    config, made = simulated
    r = _report(config)
    assert r["station"] == "demo/store-1/kiosk-1" and r["timezone"] == "Asia/Ho_Chi_Minh"
    assert r["responses"] == RESPONSES and sum(r["score_distribution"]) == RESPONSES
    assert r["visits"] == VISITS
    assert r["entries"] == VISITS and r["exits"] == VISITS     # one in and one out per visit
    assert r["cases_opened"] == made["cases"] and r["cases_resolved"] == made["resolved"]
    assert r["participation_rate"]["value"] == pytest.approx(100 * RESPONSES / VISITS)
    # complaints (the act) per response and per entry; each one a detractor's
    assert r["complaints"] == made["complaints"] < made["cases"]
    assert r["complaint_rate"]["value"] == pytest.approx(100 * made["complaints"] / RESPONSES)
    assert r["complaint_rate_per_entry"]["value"] == pytest.approx(
        100 * made["complaints"] / VISITS)
    assert r["returning_share"]["n"] > 0 and r["returning_share"]["interval"]
    assert 0 < r["linked_to_visitor"] < RESPONSES        # most responses are linked to a visitor
    assert r["handling_median_s"]["value"] <= r["handling_p90_s"]["value"]
    assert sum(cell["n"] for cell in r["nps_by_day"].values()) == RESPONSES


def test_report_nps_agrees_with_kpi_recomputed_from_the_rows(simulated):
    config, _ = simulated
    r = _report(config)
    db = sqlite3.connect(config.parent / "station.db")
    scores = [s for (s,) in db.execute("SELECT nps FROM responses")]
    expected = kpi.nps_from_scores(scores, min_n=30)
    assert r["nps"]["value"] == pytest.approx(expected.nps)
    assert r["nps"]["interval"] == pytest.approx([expected.ci_low, expected.ci_high])
    assert r["nps"]["reason"] is None
    csat = dict(db.execute("SELECT csat, count(*) FROM responses WHERE csat IS NOT NULL "
                           "GROUP BY csat").fetchall())
    assert r["csat"]["value"] == pytest.approx(kpi.csat_from_counts(csat).value)
    durations = [d for (d,) in db.execute("SELECT resolved_at - opened_at FROM cases "
                                          "WHERE resolved_at IS NOT NULL")]
    assert r["handling_median_s"]["value"] == pytest.approx(kpi.handling_time(durations)[0])
    # footfall-weighted NPS differs from the plain one: the simulated mix is skewed by age
    ps = r["nps_post_stratified"]
    assert ps["value"] is not None and ps["n"] <= RESPONSES


def test_report_since_until_narrows_the_period(simulated):
    config, _ = simulated
    full = _report(config)
    day = sorted(full["nps_by_day"])[len(full["nps_by_day"]) // 2]
    next_day = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    r = _report(config, "--since", day, "--until", day)       # a bare --until includes its day
    assert r["since"].startswith(day) and r["until"].startswith(next_day)
    assert r["responses"] == full["nps_by_day"][day]["n"]
    assert 0 < r["responses"] < full["responses"]
    assert list(r["nps_by_day"]) == [day]
    # same count straight from the rows, local day in the station's zone
    tz = load_config(config).tz
    start = datetime.fromisoformat(day).replace(tzinfo=tz).timestamp()
    end = datetime.fromisoformat(next_day).replace(tzinfo=tz).timestamp()
    db = sqlite3.connect(config.parent / "station.db")
    assert db.execute("SELECT count(*) FROM responses WHERE ts >= ? AND ts < ?",
                      (start, end)).fetchone()[0] == r["responses"]
    hours = _report(config, "--since", f"{day}T12:00", "--until", f"{day}T13:00")
    assert set(hours["nps_by_hour"]) <= {"12"}
    assert hours["responses"] <= r["responses"]


def test_report_text_is_a_readable_table(simulated):
    config, _ = simulated
    result = run_cli("report", "--config", config, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "demo/store-1/kiosk-1" in result.stdout
    assert re.search(r"NPS\s+[+-]\d+\.\d", result.stdout)
    assert f"responses                    {RESPONSES}" in result.stdout


def test_report_with_a_bad_date_exits_2(simulated):
    config, _ = simulated
    result = run_cli("report", "--config", config, "--since", "last tuesday", cwd="/")
    assert result.returncode == 2
    assert "--since" in result.stderr and "last tuesday" in result.stderr


def test_report_below_min_n_gives_no_value_and_says_why(demo_config):
    result = run_cli("simulate", "--config", demo_config, "--responses", 5, "--seed", 1)
    assert result.returncode == 0, result.stderr
    r = _report(demo_config)
    assert r["responses"] == 5
    for key in ("nps", "promoter_share", "passive_share", "detractor_share", "csat", "ces",
                "complaint_rate"):
        assert r[key]["value"] is None and r[key]["interval"] is None, key
        assert r[key]["reason"].startswith("only "), key
    assert "5 responses" in r["nps"]["reason"]
    text = run_cli("report", "--config", demo_config).stdout
    assert "hidden: only 5 responses" in text


def test_report_refuses_a_database_from_a_newer_release(demo_config):
    config = load_config(demo_config)
    Store.open(config).close()
    db = sqlite3.connect(config.database.path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    result = run_cli("report", "--config", demo_config)
    assert result.returncode == 1
    assert "database error" in result.stderr and "newer" in result.stderr
    assert "Traceback" not in result.stderr


def test_doctor_prints_one_ok_or_fail_line_per_part(demo_config):
    result = run_cli("doctor", "--config", demo_config)
    lines = result.stdout.strip().splitlines()
    assert lines and all(re.match(r"^(OK  |FAIL) \S", line) for line in lines), result.stdout
    by_name = {line[5:].split()[0]: line for line in lines}
    assert by_name["config"].startswith("OK")
    assert by_name["database"].startswith("OK") and f"schema v{SCHEMA_VERSION}" in \
        by_name["database"]
    assert by_name["camera"].startswith("FAIL") and "no camera configured" in by_name["camera"]
    assert "broker" in by_name
    assert result.returncode == 1          # something failed (no camera)


def test_doctor_with_a_broken_config_fails_on_config(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[station]\norg = 'x'\n", encoding="utf-8")
    result = run_cli("doctor", "--config", path)
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL config") and "station.store" in result.stdout


def test_pin_hash_output_verifies():
    result = run_cli("pin-hash", "--pin", "1234")
    assert result.returncode == 0, result.stderr
    stored = result.stdout.strip()
    assert verify_pin("1234", stored)
    assert not verify_pin("4321", stored)


def test_pin_hash_refuses_a_bad_pin():
    result = run_cli("pin-hash", "--pin", "12ab")
    assert result.returncode == 2 and "4 to 12 digits" in result.stderr


def test_no_command_is_a_usage_error():
    assert run_cli().returncode == 2


def _quiet_config(tmp_path, extra=""):
    path = tmp_path / "station.toml"
    path.write_text(f"""
[station]
org = "acme"
store = "s1"
id = "k1"
[database]
path = "station.db"
[kiosk]
enabled = false
[vision]
enabled = false
[sync]
enabled = false
{extra}
""", encoding="utf-8")
    return path


def test_run_for_a_while_with_nothing_to_start_prints_the_report(tmp_path):
    path = _quiet_config(tmp_path)
    result = run_cli("run", "--config", path, "--for", "0.5")
    assert result.returncode == 0, result.stderr
    assert "CX Station acme/s1/k1: starting" in result.stdout
    assert "CX report  acme/s1/k1" in result.stdout


@pytest.mark.skipif(find_mosquitto() is None, reason="Debian package mosquitto not installed")
def test_run_stops_its_children_on_sigterm(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = _quiet_config(tmp_path, f"[broker]\nmanaged = true\nport = {port}\n")
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "run", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid = None
        deadline = time.monotonic() + 30
        while pid is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            m = re.search(r"started broker \(pid (\d+)\)", line)
            pid = int(m.group(1)) if m else None
        assert pid, "the broker was not started"
        time.sleep(0.5)
        assert Path(f"/proc/{pid}").exists()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "CX report" in out
    # the child is gone (not merely a zombie: its parent reaped it before exiting)
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_prune_drops_only_old_acknowledged_events(demo_config):
    assert run_cli("simulate", "--config", demo_config, "--responses", 40, "--visits", 60,
                   "--seed", 2).returncode == 0
    config = load_config(demo_config)
    store = Store.open(config)
    last = store.outbox_status()["last_seq"]
    half = last // 2
    store.mark_acked(half, at=time.time() - (config.retention.acked_outbox_days + 1) * 86400)
    store.close()
    result = run_cli("prune", "--config", demo_config)
    assert result.returncode == 0, result.stderr
    assert f"{half} outbox" in result.stdout
    store = Store.open(config)
    assert [e.seq for e in store.pending_outbox(limit=10_000)] == list(range(half + 1, last + 1))
    assert store.table_counts()["responses"] == 40         # survey rows are kept
    store.close()


def test_alerts_lists_the_unresolved_ones_and_evaluate_checks_the_targets(demo_config):
    result = run_cli("simulate", "--config", demo_config, "--responses", 60, "--seed", 3)
    cases = int(re.search(r"(\d+) detractor cases", result.stdout).group(1))
    listed = json.loads(run_cli("alerts", "--config", demo_config, "--json").stdout)
    assert listed["below_target"] is None                   # nothing evaluated
    (detractor,) = [a for a in listed["alerts"] if a["kind"] == "detractor"]
    assert detractor["count"] == cases and detractor["state"] == "open"
    evaluated = json.loads(run_cli("alerts", "--config", demo_config, "--evaluate",
                                   "--json").stdout)
    kpis = {a["subject"] for a in evaluated["alerts"] if a["kind"] == "kpi_below_target"}
    assert kpis == set(evaluated["below_target"])
    text = run_cli("alerts", "--config", demo_config).stdout
    assert "detractor" in text and f"open, {cases} times" in text
