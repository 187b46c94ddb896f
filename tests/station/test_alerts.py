"""Alerts: each rule fires once for its condition and not for noise; dedup and rate limit."""
from __future__ import annotations

import json

import pytest

from station.alerts import DETRACTOR, KPI_BELOW_TARGET, RESEND_AFTER_S, evaluate_targets
from station.config import load_config
from station.store import Presence, Response, Visit
from station.targets import Target

T0 = 1_800_000_000.0
CONFIG = """
[station]
org = "acme"
store = "hcm-01"
id = "kiosk-1"
[database]
path = "station.db"
[privacy]
min_n = 30
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


def alert_events(store) -> list[dict]:
    return [json.loads(e.payload)["data"] for e in store.pending_outbox() if e.type == "alert"]


def test_a_detractor_answer_raises_an_alert_at_once_with_the_answer(store):
    case_id = store.append_response(Response(nps=2, reasons=["wait"], comment="slow", ts=T0))
    (alert,) = store.alerts()
    assert (alert.kind, alert.state, alert.count, alert.first_seen) == (DETRACTOR, "open", 1, T0)
    assert alert.context == {"response_id": alert.context["response_id"], "case_id": case_id,
                             "score": 2, "reasons": ["wait"], "comment": "slow",
                             "visit_id": None}
    (sent,) = alert_events(store)
    assert sent["alert_id"] == alert.id and sent["state"] == "open" and sent["count"] == 1


def test_a_linked_detractor_alert_names_the_visitors_dwell_and_age_bracket(store):
    store.append_visits([Visit(entered_at=T0 - 300, left_at=T0 - 5, dwell={"kiosk": 40.0},
                               age_bracket="25-34", id="v1")])
    store.update_presence([Presence("v1", "kiosk", T0 - 45, T0 - 5)])
    store.append_response(Response(nps=0, ts=T0))
    context = store.alerts()[0].context
    assert (context["visit_id"], context["kiosk_dwell_s"], context["age_bracket"],
            context["dwell"]) == ("v1", 40.0, "25-34", {"kiosk": 40.0})


def test_a_detractor_alert_goes_with_its_response_or_not_at_all(store):
    with pytest.raises(KeyError):
        with store.transaction():
            store.append_response(Response(nps=1, ts=T0))
            raise KeyError
    assert store.alerts() == [] and store.pending_outbox() == []


def test_promoters_and_passives_raise_nothing(store):
    for score in (7, 8, 9, 10):
        store.append_response(Response(nps=score, ts=T0 + score))
    assert store.alerts() == []


def test_repeats_count_on_the_open_alert_and_reach_hq_at_most_once_per_rate_limit(store):
    for dt in (0, 60, 120, RESEND_AFTER_S + 1):
        store.append_response(Response(nps=3, ts=T0 + dt))
    (alert,) = store.alerts()
    assert (alert.count, alert.first_seen, alert.last_seen) == (4, T0, T0 + RESEND_AFTER_S + 1)
    assert [(e["count"], e["state"]) for e in alert_events(store)] == [(1, "open"), (4, "open")]


def test_an_acknowledged_alert_keeps_counting_and_a_resolved_one_makes_room(store):
    store.append_response(Response(nps=3, ts=T0))
    first = store.alerts()[0].id
    assert store.acknowledge_alert(first, at=T0 + 10).state == "acknowledged"
    store.append_response(Response(nps=4, ts=T0 + 20))
    assert [(a.id, a.state, a.count) for a in store.alerts()] == [(first, "acknowledged", 2)]
    store.resolve_alert(DETRACTOR, store.station, at=T0 + 30)
    store.append_response(Response(nps=5, ts=T0 + 40))
    newest, resolved = store.alerts()
    assert resolved.id == first and resolved.state == "resolved"
    assert newest.id != first and (newest.state, newest.count) == ("open", 1)
    assert [e["state"] for e in alert_events(store)] == ["open", "acknowledged", "resolved",
                                                         "open"]


def _answers(store, scores, ts):
    for score in scores:
        store.append_response(Response(nps=score, ts=ts))


def test_one_low_score_among_promoters_raises_only_the_detractor_alert(store, config):
    """29 tens and one 3: NPS 93.3, 95 % interval about 68 .. 100. Against a target of 95 it
    is a dip inside its interval: no KPI alert."""
    store.set_target(Target("nps", 95, "higher", "week"), "admin")
    _answers(store, [10] * 29 + [3], T0 - 3600)
    assert evaluate_targets(store, config, T0) == []
    assert [a.kind for a in store.alerts()] == [DETRACTOR]


def test_a_kpi_turning_below_target_raises_one_alert_until_it_recovers(store, config):
    """10 tens, 10 eights, 10 zeros: NPS 0, interval -27.5 .. +27.5, wholly under 40."""
    store.set_target(Target("nps", 40, "higher", "week"), "admin")
    _answers(store, [10] * 10 + [8] * 10 + [0] * 10, T0 - 3600)
    assert evaluate_targets(store, config, T0) == ["nps"]
    assert evaluate_targets(store, config, T0 + 300) == ["nps"]       # still below: counted
    (alert,) = [a for a in store.alerts() if a.kind == KPI_BELOW_TARGET]
    assert (alert.subject, alert.count, alert.state) == ("nps", 2, "open")
    assert alert.context["value"] == 0 and alert.context["target"] == 40
    assert len([e for e in alert_events(store) if e["kind"] == KPI_BELOW_TARGET]) == 1
    _answers(store, [10] * 60, T0 + 400)                     # NPS (70 - 10) / 90 = +66.7
    assert evaluate_targets(store, config, T0 + 500) == []
    assert store.alert(alert.id).state == "resolved"
    assert [e["state"] for e in alert_events(store) if e["kind"] == KPI_BELOW_TARGET] == \
        ["open", "resolved"]


def test_a_kpi_with_too_few_answers_raises_nothing(store, config):
    store.set_target(Target("complaint_rate", 5, "lower", "week"), "admin")
    _answers(store, [0] * 20, T0 - 3600)             # 100 % complaints, but only 20 answers
    assert evaluate_targets(store, config, T0) == []
    assert [a.kind for a in store.alerts()] == [DETRACTOR]


def test_answers_written_out_of_order_widen_first_and_last_seen(store):
    for dt in (100, 0, 50):                          # a backfill: not in time order
        store.append_response(Response(nps=3, ts=T0 + dt))
    (alert,) = store.alerts()
    assert (alert.first_seen, alert.last_seen, alert.count) == (T0, T0 + 100, 3)


def test_a_kpi_alert_stays_open_while_the_kpi_is_only_not_distinguishable(store, config):
    """Below (NPS 0 against 40), then 30 more answers bring it to +26.7 over 60, interval
    +6.4 .. +44.4: not distinguishable from 40, so the alert neither resolves nor counts."""
    store.set_target(Target("nps", 40, "higher", "week"), "admin")
    _answers(store, [10] * 10 + [8] * 10 + [0] * 10, T0 - 3600)
    assert evaluate_targets(store, config, T0) == ["nps"]
    _answers(store, [10] * 18 + [8] * 10 + [5] * 2, T0 + 60)
    assert evaluate_targets(store, config, T0 + 120) == []
    (alert,) = [a for a in store.alerts() if a.kind == KPI_BELOW_TARGET]
    assert (alert.state, alert.count) == ("open", 1)


def test_the_manager_acknowledges_and_resolves_with_a_note_and_hq_gets_both(store):
    store.append_response(Response(nps=1, ts=T0))
    (alert,) = store.alerts()
    seen = store.acknowledge_alert(alert.id, note="  on my way ", who="lan", at=T0 + 5)
    assert (seen.state, seen.note, seen.changed_by) == ("acknowledged", "on my way", "lan")
    done = store.close_alert(alert.id, note="called the customer back", who="lan", at=T0 + 60)
    assert (done.state, done.note) == ("resolved", "called the customer back")
    assert store.alert(alert.id) == done
    assert [(e["state"], e.get("note"), e.get("changed_by")) for e in alert_events(store)] == [
        ("open", None, None), ("acknowledged", "on my way", "lan"),
        ("resolved", "called the customer back", "lan")]
    # resolved is final: the next detractor opens a new alert
    store.append_response(Response(nps=1, ts=T0 + 70))
    assert [a.state for a in store.alerts()] == ["open", "resolved"]


def test_the_detractor_rule_can_be_switched_off(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(CONFIG + "[alerts]\ndetractor = false\n", encoding="utf-8")
    from station.store import Store
    store = Store.open(load_config(path))
    assert store.append_response(Response(nps=0, ts=T0)) is not None     # the case still opens
    assert store.alerts() == [] and alert_events(store) == []
