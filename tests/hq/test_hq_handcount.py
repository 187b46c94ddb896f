"""The counter check at HQ (issue 19): each station's hand counts reach HQ as `handcount`
events; the HQ report corrects that station's entries (participation, complaints per entry,
POS conversion) when its latest event says so, labelled as the station labels them, and shows
each store's running camera error. Hand-computed cases, on SQLite and PostgreSQL alike; and
the all-stores occupancy (people now, peak of the per-minute sums)."""
from __future__ import annotations

import pytest

import hq_sample
from hq import report, report_html
from hq.config import load_hq_config
from hq.db import HqDb
from station.handcount import calibration
from station.pos import PosHour
from station.report import build_report
from station.store import Crossing
from test_hq_backends import Both, pg_config

T0 = hq_sample.KNOWN_START            # 10:00 local, 15 Nov 2026
SINCE, UNTIL = T0 - 3600, T0 + 86400
NOW = hq_sample.NOW


def _entries(store, n: int, every: float, start: float = T0) -> None:
    store.append_crossings([Crossing(start + every * i, "entrance", "in") for i in range(n)])
    store.roll_up_traffic(start + 7200)


def _single(tmp, hq) -> dict:
    """acme/single: 200 entries 10:00-11:00 (one per 18 s), 50 responses, 20 receipts that
    hour. Hand count 10:00-10:30: 125 where the camera saw 100 -> factor 1.25, error -20 %;
    the correction switched on."""
    store, config = hq_sample.station_store(tmp, "acme", "single", "kiosk-1")
    hq_sample.known_mix(store, 25, 15, 10)
    _entries(store, 200, 18)
    store.import_pos([PosHour(T0, 20, None)], source="till.csv")
    store.add_hand_count(T0, T0 + 1800, 125, who="manager", at=T0 + 7200)
    store.set_count_correction(True, who="manager", at=T0 + 7300)
    station = build_report(store, config, SINCE, UNTIL)
    label = calibration(store).label("en")
    hq_sample.copy_outbox(store, hq)
    store.close()
    return {"station_report": station, "label": label}


def _pair(tmp, hq) -> None:
    """acme/pair: kiosk-1 as acme/single (200 entries, factor 1.25, on); kiosk-2 100 entries
    and no hand count. Corrected entries 250 + 100 = 350."""
    one, _ = hq_sample.station_store(tmp, "acme", "pair", "kiosk-1")
    hq_sample.known_mix(one, 25, 15, 10)
    _entries(one, 200, 18)
    one.add_hand_count(T0, T0 + 1800, 125, at=T0 + 7200)
    one.set_count_correction(True, at=T0 + 7300)
    hq_sample.copy_outbox(one, hq)
    one.close()
    two, _ = hq_sample.station_store(tmp, "acme", "pair", "kiosk-2")
    _entries(two, 100, 36)
    hq_sample.copy_outbox(two, hq)
    two.close()


def _off(tmp, hq) -> None:
    """acme/off: 300 entries (one per 12 s); checks 10:00-10:30 (camera 150, hand 165) and
    10:30-11:00 (camera 150, hand 200, then removed as a mistake); correction on, then off:
    raw figures, error over the check in force 150 / 165 - 1."""
    store, _ = hq_sample.station_store(tmp, "acme", "off", "kiosk-1")
    hq_sample.known_mix(store, 25, 15, 10)
    _entries(store, 300, 12)
    store.add_hand_count(T0, T0 + 1800, 165, at=T0 + 7200)
    wrong = store.add_hand_count(T0 + 1800, T0 + 3600, 200, at=T0 + 7210)
    store.set_count_correction(True, at=T0 + 7300)
    store.remove_hand_count(wrong, at=T0 + 7400)
    store.set_count_correction(False, at=T0 + 7500)
    hq_sample.copy_outbox(store, hq)
    store.close()


def _occupied(tmp, hq) -> None:
    """acme/busy: two stations' people per minute. kiosk-1 sees 30 in from 10:00 (one per
    10 s, for 5 min) and 20 leave 10:30-10:33; kiosk-2 sees 12 in from 10:20 (one per 10 s),
    nobody leaves. Store now 10 + 12 = 22; peak 30 + 12 = 42 first in the minute 10:21."""
    one, _ = hq_sample.station_store(tmp, "acme", "busy", "kiosk-1")
    one.append_crossings([Crossing(T0 + 10 * i, "entrance", "in") for i in range(30)]
                         + [Crossing(T0 + 1800 + 9 * i, "entrance", "out") for i in range(20)])
    one.roll_up_traffic(T0 + 7200)
    one.roll_up_occupancy(T0 + 7200, max_minutes=180)
    hq_sample.copy_outbox(one, hq)
    one.close()
    two, _ = hq_sample.station_store(tmp, "acme", "busy", "kiosk-2")
    two.append_crossings([Crossing(T0 + 1200 + 10 * i, "entrance", "in") for i in range(12)])
    two.roll_up_traffic(T0 + 7200)
    two.roll_up_occupancy(T0 + 7200, max_minutes=180)
    hq_sample.copy_outbox(two, hq)
    two.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory, pg_server):
    """The same events delivered to SQLite and to PostgreSQL; the report from each."""
    tmp = tmp_path_factory.mktemp("hq-handcount")
    url = pg_server.new_database("hq_handcount")
    lite, pg = HqDb.open(tmp / "hq.db"), HqDb.open(url)
    both = Both(lite, pg)
    single = _single(tmp, both)
    _pair(tmp, both)
    _off(tmp, both)
    _occupied(tmp, both)
    lite.close()
    pg.close()
    out = {}
    for backend, path in (("sqlite", hq_sample.hq_config(tmp, tmp / "hq.db", min_n=30)),
                          ("postgresql", pg_config(tmp, url, min_n=30))):
        config = load_hq_config(path)
        from hq.views import open_database
        with open_database(config) as db:
            r = report.build(db, config, SINCE, UNTIL, now=NOW)
        out[backend] = {"json": r, "html": report_html.render_html(r)}
    return {"single": single, **out}


BACKENDS = ("sqlite", "postgresql")


def store(r, name):
    return next(s for s in r["stores"] if s["store"] == name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_corrected_station_reads_at_hq_as_at_the_station(reports, backend):
    s = store(reports[backend]["json"], "acme/single")
    station = reports["single"]["station_report"]
    assert reports["single"]["label"] == "corrected ×1.250 by 1 hand count"
    assert s["counter"]["label"] == reports["single"]["label"]
    assert s["counter"]["corrected"] and s["counter"]["factor"] == pytest.approx(1.25)
    # raw 200, corrected 250: participation 50 / 250, conversion 20 / 250
    assert (s["entries"], s["entries_corrected"]) == (200, 250)
    assert s["participation_rate"]["value"] == pytest.approx(20.0)
    assert s["participation_rate"]["value"] == pytest.approx(
        station["participation_rate"]["value"])
    assert s["complaint_rate_per_entry"]["value"] == pytest.approx(
        station["complaint_rate_per_entry"]["value"])
    conv = s["conversion"]
    assert conv["rate"] == pytest.approx(8.0) and conv["entries"] == 250
    assert conv["rate"] == pytest.approx(station["conversion"]["pos"]["rate"])
    assert conv["corrected"] and conv["label"] == station["conversion"]["pos"]["label"]
    # the running camera error: 100 / 125 - 1
    assert s["counter"]["error"] == pytest.approx(-0.2)
    assert (s["counter"]["hand"], s["counter"]["camera"]) == (125, 100)
    assert [(c["hand"], c["camera"]) for c in s["counter"]["checks"]] == [(125, 100)]
    assert s["counter"]["checks"][0]["start"].startswith("2026-11-15T10:00")


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_station_is_corrected_by_its_own_factor(reports, backend):
    s = store(reports[backend]["json"], "acme/pair")
    assert (s["entries"], s["entries_corrected"]) == (300, 350)
    assert s["participation_rate"]["value"] == pytest.approx(100 * 50 / 350)
    assert s["counter"]["label"] == "corrected ×1.250 by 1 hand count (1 of 2 stations)"


@pytest.mark.parametrize("backend", BACKENDS)
def test_correction_switched_off_leaves_figures_raw_and_still_shows_the_error(reports, backend):
    s = store(reports[backend]["json"], "acme/off")
    assert not s["counter"]["corrected"] and s["counter"]["label"] == ""
    assert s["entries_corrected"] is None
    assert s["participation_rate"]["value"] == pytest.approx(100 * 50 / 300)
    # the removed check no longer counts: one check, 150 / 165 - 1
    assert s["counter"]["error"] == pytest.approx(150 / 165 - 1, abs=1e-4)
    assert [(c["hand"], c["camera"]) for c in s["counter"]["checks"]] == [(165, 150)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_stores_add_up_corrected_entries(reports, backend):
    r = reports[backend]["json"]
    a = r["all"]
    raw = sum(s["entries"] for s in r["stores"])
    corrected = sum(s["entries_corrected"] if s["entries_corrected"] is not None
                    else s["entries"] for s in r["stores"])
    # acme/single and acme/pair's kiosk-1 add 50 each
    assert corrected == raw + 100
    assert (a["entries"], a["entries_corrected"]) == (raw, corrected)
    assert a["participation_rate"]["value"] == pytest.approx(
        100 * a["responses"] / corrected)
    # both corrected stations apply 1.25; six stations count entries
    assert a["counter"]["label"] == "corrected ×1.250 by 2 hand counts (2 of 6 stations)"
    # every check in force of every store: 125 + 125 + 165 by hand, 100 + 100 + 150 by camera
    assert (a["counter"]["hand"], a["counter"]["camera"]) == (415, 350)
    assert a["counter"]["error"] == pytest.approx(350 / 415 - 1, abs=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_occupancy_of_a_store_and_of_all_stores(reports, backend):
    r = reports[backend]["json"]
    busy = store(r, "acme/busy")["occupancy"]
    assert (busy["people"], busy["peak"]) == (22, 42)
    assert busy["peak_at"][11:16] == "10:21"      # the minute that ends with 12 at kiosk-2
    a = r["all"]["occupancy"]
    assert a["people"] == 22 and a["peak"] == 42          # only acme/busy sends occupancy


@pytest.mark.parametrize("backend", BACKENDS)
def test_html_labels_corrected_figures_and_shows_the_error(reports, backend):
    html = reports[backend]["html"]
    assert "corrected ×1.250 by 1 hand count" in html
    assert "−20.0 %" in html or "-20.0 %" in html


def test_both_backends_give_the_same_counter_figures(reports):
    lite, pg = reports["sqlite"]["json"], reports["postgresql"]["json"]
    for a, b in zip(lite["stores"] + [lite["all"]], pg["stores"] + [pg["all"]]):
        assert (a["store"], a["counter"], a["entries_corrected"], a["occupancy"]) == \
            (b["store"], b["counter"], b["entries_corrected"], b["occupancy"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_participation_per_hour_divides_by_the_corrected_entries(reports, backend):
    by_hour = reports[backend]["json"]["by_hour"]
    # the camera's own counts stay as they are; 10:00-11:00 local holds every entry
    assert by_hour["entries"]["acme/single"][10] == 200
    assert by_hour["entries_corrected"]["acme/single"][10] == 250
    assert by_hour["entries_corrected"]["acme/pair"][10] == 350
    assert "acme/off" not in by_hour["entries_corrected"]
    html = reports[backend]["html"]
    per_hour = html[html.index("Participation per hour"):]
    row = per_hour[per_hour.index("acme/single"):].split("</tr>")[0]
    assert "corrected ×1.250 by 1 hand count" in row
    assert row.split("<td>")[11].startswith("20 %")        # hour 10: 50 / 250


def test_stations_with_different_factors_are_labelled_by_their_entries_after_over_before():
    from hq.report_kpis import counter_summary, no_counter
    from station.handcount import Check
    one = {**no_counter("acme/x"), "corrected": True, "factor": 1.25, "checks": 1,
           "entries": 200, "in_force": {"a": Check("a", T0, T0 + 1800, 125, 100, T0)}}
    two = {**no_counter("acme/x"), "corrected": True, "factor": 1.1, "checks": 2,
           "entries": 100, "in_force": {"b": Check("b", T0, T0 + 900, 55, 50, T0),
                                        "c": Check("c", T0 + 900, T0 + 1800, 55, 50, T0)}}
    three = {**no_counter("acme/x"), "entries": 40}
    summary = counter_summary([one, two, three], None)
    # 250 + 110 corrected over 300 before: x1.2; the third station's 40 stay as they are
    assert summary["entries_corrected"] == 400
    assert summary["label"] == "corrected ×1.200 by 3 hand counts (2 of 3 stations)"
    # error over every check: (100 + 50 + 50) / (125 + 55 + 55) - 1
    assert summary["error"] == pytest.approx(200 / 235 - 1, abs=1e-4)
    assert counter_summary([three], None) == {**counter_summary([three], None),
                                              "corrected": False, "label": "",
                                              "entries_corrected": None, "error": None}
