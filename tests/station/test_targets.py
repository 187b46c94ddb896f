"""KPI targets: config defaults, the store's current target, its audit and the `target` event."""
from __future__ import annotations

import json

import pytest

from station.config import ConfigError, load_config
from station.targets import Target

NPS_40 = Target("nps", 40, "higher", "week")


def _target_events(store) -> list[dict]:
    return [json.loads(e.payload)["data"] for e in store.pending_outbox() if e.type == "target"]


def test_setting_a_target_writes_the_target_its_audit_row_and_one_event(store):
    assert store.set_target(NPS_40, "admin", who="manager", at=1000.0)
    assert store.set_target(Target("nps", 45, "higher", "month"), "hq", at=2000.0)
    assert store.target("nps") == Target("nps", 45, "higher", "month")
    changes = store.target_changes("nps")
    assert [(c["source"], c["who"], c["old_value"], c["new_value"], c["new_period"])
            for c in changes] == [("admin", "manager", None, 40, "week"),
                                  ("hq", None, 40, 45, "month")]
    sent = _target_events(store)
    assert [(d["value"], d["period"], d["source"], d.get("old_value")) for d in sent] == \
        [(40, "week", "admin", None), (45, "month", "hq", 40)]
    assert changes[1]["outbox_seq"] == store.pending_outbox()[-1].seq


def test_setting_the_same_target_again_changes_nothing(store):
    store.set_target(NPS_40, "admin")
    assert not store.set_target(Target("nps", 40.0, "higher", "week"), "admin")
    assert len(store.target_changes()) == 1 and len(_target_events(store)) == 1


def test_a_target_that_fails_mid_write_leaves_neither_row_nor_event(store):
    with pytest.raises(ValueError, match="source"):
        store.set_target(NPS_40, "someone")
    assert store.target("nps") is None and _target_events(store) == []


@pytest.mark.parametrize("kpi, value, direction, period, needle", [
    ("nps", 140, "higher", "week", "-100..100"),
    ("dwell", 1, "higher", "week", "no target"),
    ("csat", 80, "up", "week", "direction"),
    ("csat", 80, "higher", "day", "period"),
])
def test_a_bad_target_is_refused_with_what_is_wrong(kpi, value, direction, period, needle):
    with pytest.raises(ValueError, match=needle):
        Target(kpi, value, direction, period)


def test_config_targets_are_applied_once_and_only_when_they_differ(store):
    configured = [NPS_40, Target("complaint_rate", 15, "lower", "month")]
    assert store.apply_config_targets(configured) == ["nps", "complaint_rate"]
    assert store.apply_config_targets(configured) == []           # a restart: nothing new
    assert {c["source"] for c in store.target_changes()} == {"config"}
    assert len(_target_events(store)) == 2


def test_a_managers_change_stands_until_the_config_file_itself_changes(store):
    store.apply_config_targets([NPS_40])
    store.set_target(Target("nps", 50, "higher", "week"), "admin")
    assert store.apply_config_targets([NPS_40]) == []              # restart, same file
    assert store.target("nps").value == 50
    assert store.apply_config_targets([Target("nps", 42, "higher", "week")]) == ["nps"]
    assert store.target("nps").value == 42
    assert store.target_changes("nps")[-1]["old_value"] == 50


def test_the_config_targets_section_resolves_each_kpis_natural_direction(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('[station]\norg = "a"\nstore = "b"\nid = "c"\n[database]\npath = "s.db"\n'
                    '[targets.nps]\nvalue = 40\n[targets.complaint_rate]\nvalue = 12\n'
                    'period = "month"\n', encoding="utf-8")
    assert load_config(path).targets.targets() == [
        NPS_40, Target("complaint_rate", 12, "lower", "month")]


def test_a_config_target_out_of_range_names_its_key(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('[station]\norg = "a"\nstore = "b"\nid = "c"\n[database]\npath = "s.db"\n'
                    '[targets.csat]\nvalue = 120\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == "targets.csat.value" and "0..100" in info.value.message
