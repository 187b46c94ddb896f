"""The admin screen's Alerts page on a real store: order and severity colours, acknowledge and
resolve with a note typed on the on-screen keyboard (stored, sent to HQ), a detractor written
by another process showing within 2 s, the beep, both languages, the screenshot sample."""
import dataclasses
import json
import time
from datetime import datetime

import pytest
from PySide6.QtCore import Qt

from kiosk.alerts_panel import SEVERITY_ROLE
from kiosk.theme import SEVERITY_COLOURS, SEVERITY_TINTS
from kiosk.typeset import plain
from kiosk_testlib import make_config, open_admin, read_store, tap
from station.store import Response

KPI_CONTEXT = {"value": 12.0, "n": 240, "interval": [4.0, 19.5], "span": "last 7 days",
               "target": 30.0, "direction": "higher", "target_period": "week"}


def open_alerts(qtbot, window, lang="en"):
    window.set_language(lang)
    window.open_admin()
    admin = window.screens["admin"]
    with qtbot.waitSignal(admin.alerts.drawn, timeout=5000):      # read on a worker thread
        tap(qtbot, admin.alerts_button)
    qtbot.waitUntil(lambda: not admin.alerts.reading_now, timeout=5000)
    return admin, admin.alerts


def rows(panel):
    return [panel.list.item(i) for i in range(panel.list.count())]


def written_elsewhere(config, work):
    """A write by another process's connection (cx-watch, a second kiosk, the simulator)."""
    store = read_store(config)
    try:
        return work(store)
    finally:
        store.close()


def type_on_keyboard(qtbot, keyboard, text):
    for char in text:
        tap(qtbot, keyboard.keys["space" if char == " " else char], wait_ms=10)


def test_alerts_are_listed_newest_first_unresolved_on_top_tinted_by_severity(qtbot, kiosk):
    window, writer = kiosk
    store, now = writer.store, time.time()
    quiet = store.raise_alert("kiosk_quiet", "info", "kiosk",
                              {"entries": 48, "answers": 0, "hours": 2.0}, at=now - 300)
    nps = store.raise_alert("kpi_below_target", "warning", "nps", KPI_CONTEXT, at=now - 200)
    disk = store.raise_alert("disk_low", "critical", "disk",
                             {"free_mb": 300.0, "min_free_mb": 500.0, "path": "/var"}, at=now - 100)
    fixed = store.raise_alert("camera_no_frame", "critical", "camera",
                              {"seconds_without_frame": 90.0, "last_frame": now - 140}, at=now - 50)
    store.close_alert(fixed, note="plugged back in", who="admin", at=now - 40)
    odd = store.raise_alert("fridge_warm", "warning", "fridge-2", {"celsius": 9.5}, at=now - 400)

    _, panel = open_alerts(qtbot, window)
    items = rows(panel)
    assert [i.data(Qt.UserRole) for i in items] == [disk, nps, quiet, odd, fixed]
    for item in items:
        severity = item.data(SEVERITY_ROLE)
        assert item.background().color().name() == SEVERITY_TINTS[severity]
        assert item.foreground().color().name() == SEVERITY_COLOURS[severity]
    texts = [i.text() for i in items]
    assert texts[0].startswith("Critical · Disk almost full\n1× · last ")
    assert texts[0].endswith(" · new")
    assert texts[1].startswith("Warning · KPI below target — NPS")
    assert texts[2].startswith("Info · Kiosk gets no answers")
    assert texts[3].startswith("Warning · fridge_warm — fridge-2")    # a kind not known yet
    assert texts[4].startswith("Critical · Camera has no picture") and \
        texts[4].endswith(" · resolved")
    assert window.screens["admin"].alerts_button.text() == "Alerts (4)"

    panel.select(nps)
    assert panel.heading.text() == "KPI below target"
    assert panel.subject.text() == "About: NPS"
    assert plain(panel.facts.text()).splitlines() == [
        "Now +12, between +4 and +20 (95% interval), from 240 responses",
        "Target ≥ +30 per week", "Judged over the last 7 days"]
    assert SEVERITY_COLOURS["warning"] in panel.status.styleSheet()
    panel.select(odd)
    assert panel.facts.text() == "celsius: 9.5"
    panel.select(fixed)
    assert panel.changed.text() == "Resolved by admin: plugged back in"
    assert not panel.acknowledge_button.isEnabled() and not panel.resolve_button.isEnabled()


def test_a_detractors_facts_and_times_are_shown_in_local_time(qtbot, kiosk, config):
    window, writer = kiosk
    at = time.time() - 60
    writer.store.append_response(Response(nps=2, reasons=["wait", "staff"], comment="Too slow",
                                          language="en", ts=at))
    _, panel = open_alerts(qtbot, window)
    (alert,) = panel.alerts
    panel.select(alert.id)
    assert panel.heading.text() == "Detractor answer"
    assert not panel.subject.isVisible()               # the station itself
    local = datetime.fromtimestamp(at, config.tz).strftime("%d/%m %H:%M")
    assert panel.seen.text() == f"1× · first {local} · last {local}"
    assert panel.facts.text().splitlines() == [
        "Score 2 of 10", "Reasons: Long wait, Unhelpful staff", "Comment: “Too slow”"]


def test_acknowledge_and_resolve_with_a_typed_note_are_stored_and_sent(qtbot, kiosk, config):
    window, writer = kiosk
    alert_id = writer.store.raise_alert("kpi_below_target", "warning", "csat", KPI_CONTEXT)
    _, panel = open_alerts(qtbot, window)
    panel.select(alert_id)
    assert panel.acknowledge_button.isEnabled()
    assert not panel.resolve_button.isEnabled()        # what was done: a note first

    qtbot.mouseClick(panel.note, Qt.LeftButton)
    assert panel.keyboard.isVisible()
    type_on_keyboard(qtbot, panel.keyboard, "seen")
    assert panel.note.text() == "seen"
    tap(qtbot, panel.acknowledge_button)
    assert panel.selected().state == "acknowledged"    # at once, before the read
    assert panel.note.text() == "" and not panel.keyboard.isVisible()
    assert not panel.acknowledge_button.isEnabled()

    qtbot.mouseClick(panel.note, Qt.LeftButton)
    type_on_keyboard(qtbot, panel.keyboard, "new staff")
    assert panel.resolve_button.isEnabled()
    tap(qtbot, panel.resolve_button)
    qtbot.waitUntil(lambda: not panel.reading_now, timeout=5000)
    assert panel.selected().state == "resolved"
    assert panel.changed.text() == "Resolved by admin: new staff"

    def stored(store):
        alert = store.alert(alert_id)
        sent = [json.loads(e.payload)["data"] for e in store.pending_outbox()
                if e.type == "alert"]
        return alert, sent

    alert, sent = written_elsewhere(config, stored)
    assert (alert.state, alert.note, alert.changed_by) == ("resolved", "new staff", "admin")
    changes = [(e["state"], e.get("note"), e.get("changed_by")) for e in sent
               if e["alert_id"] == alert_id]
    assert changes == [("open", None, None), ("acknowledged", "seen", "admin"),
                       ("resolved", "new staff", "admin")]


def test_a_detractor_written_by_another_process_shows_within_2_s(qtbot, kiosk, config):
    window, _ = kiosk
    window.set_language("en")
    window.open_admin()                                # the dashboard, not the Alerts page
    admin = window.screens["admin"]
    qtbot.waitUntil(lambda: admin.watch.last is not None, timeout=5000)
    case_id = written_elsewhere(config, lambda store: store.append_response(
        Response(nps=1, reasons=["stock"], comment="Nothing in my size", language="vi")))

    def shown():
        cases = [i.data(Qt.UserRole) for i in rows_of(admin.case_list)]
        return case_id in cases and any(a.kind == "detractor" for a in admin.alerts.alerts)

    qtbot.waitUntil(shown, timeout=2000)
    assert admin.alerts_button.text() == "Alerts (1)"
    admin.show_alerts()
    assert "Warning · Detractor answer" in admin.alerts.list.item(0).text()
    assert "Comment: “Nothing in my size”" in admin.alerts.facts.text()


def test_the_case_being_resolved_stays_selected_when_a_new_one_comes_in(qtbot, kiosk, config):
    window, writer = kiosk
    old = writer.store.append_response(Response(nps=2, ts=time.time() - 600))
    admin = open_admin(qtbot, window)
    assert admin.case_list.currentItem().data(Qt.UserRole) == old
    new = written_elsewhere(config, lambda store: store.append_response(Response(nps=0)))
    qtbot.waitUntil(lambda: admin.case_list.count() == 2, timeout=2000)
    assert admin.case_list.item(0).data(Qt.UserRole) == new           # newest first
    assert admin.case_list.currentItem().data(Qt.UserRole) == old


def rows_of(list_widget):
    return [list_widget.item(i) for i in range(list_widget.count())]


@pytest.mark.parametrize("sound", [True, False])
def test_a_new_alert_or_case_chimes_once_only_when_sound_is_on(qtbot, make_kiosk, tmp_path,
                                                                sound):
    config = make_config(tmp_path)
    config = dataclasses.replace(config, alerts=dataclasses.replace(config.alerts, sound=sound))
    window, _ = make_kiosk(config)
    window.open_admin()
    admin = window.screens["admin"]
    chimes = []
    admin.chimed.connect(lambda: chimes.append(time.monotonic()))
    qtbot.waitUntil(lambda: admin.watch.last is not None, timeout=5000)

    written_elsewhere(config, lambda store: store.append_response(Response(nps=3)))
    qtbot.waitUntil(lambda: len(admin.alerts.alerts) == 1, timeout=2000)
    qtbot.waitUntil(lambda: len(chimes) == int(sound), timeout=2000)
    # a repeat of the same alert is a new item too (its count goes up, and a new case)
    written_elsewhere(config, lambda store: store.append_response(Response(nps=5)))
    qtbot.waitUntil(lambda: admin.alerts.alerts[0].count == 2, timeout=2000)
    written_elsewhere(config, lambda store: store.raise_alert(
        "sync_stalled", "warning", "hq", {"backlog": 10, "last_acked_at": None}))
    qtbot.waitUntil(lambda: len(admin.alerts.alerts) == 2, timeout=2000)
    qtbot.waitUntil(lambda: len(chimes) == 3 * int(sound), timeout=2000)
    # the manager's own acknowledgement is no arrival
    admin.show_alerts()
    admin.alerts.select(admin.alerts.alerts[0].id)
    admin.alerts.acknowledge()
    qtbot.wait(1500)
    assert len(chimes) == 3 * int(sound)


def test_the_page_speaks_vietnamese_and_english(qtbot, kiosk):
    window, writer = kiosk
    writer.store.append_response(Response(nps=4, reasons=["wait"]))
    writer.store.raise_alert("camera_fps_low", "warning", "camera", {"fps": 1.2, "min_fps": 2.0})
    admin, panel = open_alerts(qtbot, window, "vi")
    assert admin.alerts_button.text() == "Cảnh báo (2)"
    assert panel.title.text() == "Cảnh báo: chưa xử lý trước, mới nhất ở trên"
    assert (panel.acknowledge_button.text(), panel.resolve_button.text()) == \
        ("Đã xem", "Đã xử lý")
    texts = [i.text() for i in rows(panel)]
    assert texts[0].startswith("Cần chú ý · Camera chạy chậm\n1 lần · lần cuối ")
    assert texts[1].startswith("Cần chú ý · Khách chấm điểm thấp")
    panel.select(panel.alerts[1].id)
    assert panel.facts.text().splitlines() == ["Điểm 4/10", "Lý do: Chờ quá lâu"]
    window.set_language("en")
    assert admin.alerts_button.text() == "Alerts (2)"
    assert (panel.acknowledge_button.text(), panel.resolve_button.text()) == \
        ("Acknowledge", "Resolve")
    assert panel.facts.text().splitlines() == ["Score 4 of 10", "Reasons: Long wait"]
    panel.select(panel.alerts[0].id)
    assert panel.facts.text() == "1.2 frames/s, the floor is 2.0"
    for lang in ("en", "vi"):
        names = {k for k in window.strings.tables[lang] if k.startswith("alerts.kind.")}
        assert names == {f"alerts.kind.{k}" for k in (
            "detractor", "kpi_below_target", "camera_no_frame", "camera_fps_low",
            "sync_stalled", "disk_low", "db_write_errors", "kiosk_quiet", "settings_rejected")}


def test_the_screenshot_sample_has_alerts_of_several_kinds_and_severities(tmp_path):
    from kiosk.screenshots import _sample_store
    sample = _sample_store(make_config(tmp_path), tmp_path)
    store = read_store(sample)
    try:
        alerts = store.alerts()
    finally:
        store.close()
    assert {a.severity for a in alerts} >= {"warning", "critical"}
    assert {a.kind for a in alerts} >= {"detractor", "disk_low", "sync_stalled",
                                        "camera_no_frame"}
    assert {a.state for a in alerts} == {"open", "acknowledged", "resolved"}
    detractor = next(a for a in alerts if a.kind == "detractor")
    assert detractor.context["reasons"] and detractor.context["age_bracket"]
