"""The attract screen's staff badge: the number of open items only, hidden at zero, and up to
date within 2 s of a new detractor case while the kiosk shows."""
import time

from kiosk_testlib import read_store
from station.store import Response


def test_badge_is_hidden_with_nothing_open(qtbot, kiosk):
    window, _ = kiosk
    assert window.current == "attract"
    qtbot.wait(300)
    assert not window.screens["attract"].badge.isVisible()


def test_a_new_detractor_case_shows_within_2_s_as_a_number_only(qtbot, kiosk, config):
    window, _ = kiosk
    attract = window.screens["attract"]
    # written by another connection, as another process would: the kiosk has to notice
    store = read_store(config)
    try:
        store.append_response(Response(nps=2, language="en", reasons=["wait"],
                                       comment="the queue was far too long"))
    finally:
        store.close()
    start = time.monotonic()
    qtbot.waitUntil(lambda: attract.badge.isVisible(), timeout=2000)
    assert time.monotonic() - start < 2.0
    assert attract.badge.text() == "1"                   # no reason, no customer text
    assert window.current == "attract"


def test_resolved_cases_leave_the_badge_and_it_hides_at_zero(qtbot, kiosk, config):
    window, writer = kiosk
    attract = window.screens["attract"]
    store = read_store(config)
    try:
        for _ in range(2):
            store.append_response(Response(nps=1, language="vi"))
        qtbot.waitUntil(lambda: attract.badge.text() == "2" and attract.badge.isVisible(),
                        timeout=2000)
        for case in store.cases(0, time.time() + 60, open_only=True):
            store.resolve_case(case.id, "called back")
    finally:
        store.close()
    qtbot.waitUntil(lambda: not attract.badge.isVisible(), timeout=2000)
    assert attract.open_items == 0


def test_not_counted_while_a_survey_is_on_screen(qtbot, kiosk, config):
    window, _ = kiosk
    window.start_survey()
    assert window.current == "score"
    assert not window.open_items.timer.isActive()
    window.show_attract()
    assert window.open_items.timer.isActive()


def test_open_alerts_count_once_beside_the_cases(qtbot, kiosk, config):
    window, _ = kiosk
    attract = window.screens["attract"]
    store = read_store(config)
    try:
        store.append_response(Response(nps=3, language="vi"))    # a case and its detractor alert
        store.raise_alert("kpi_below_target", "warning", "nps", context={})
    finally:
        store.close()
    # the detractor's alert is its case again: 1 case + 1 KPI alert, not 3
    qtbot.waitUntil(lambda: attract.badge.text() == "2", timeout=2000)
    qtbot.wait(1200)
    assert attract.badge.text() == "2"
    store = read_store(config)
    try:
        (alert,) = [a for a in store.alerts("open") if a.kind == "kpi_below_target"]
        store.acknowledge_alert(alert.id)           # seen by the manager: no longer waiting
    finally:
        store.close()
    qtbot.waitUntil(lambda: attract.badge.text() == "1", timeout=2000)
