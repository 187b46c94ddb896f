"""The admin screen's Goals page on a real store: status per KPI, gaps and why, reasons beside
NPS, the day/week toggle, and a target changed by the manager (stored, audited, sent to HQ)."""
import time

from PySide6.QtWidgets import QApplication

from kiosk.goals import STATUS_COLOURS, card_spots
from kiosk.typeset import plain
from kiosk_testlib import read_store, tap
from station.simulate import simulate
from station.targets import TARGET_KPIS, Target
from station.trends import build_trends


def open_goals(qtbot, window, lang="en"):
    window.set_language(lang)
    window.open_admin()
    admin = window.screens["admin"]
    with qtbot.waitSignal(admin.goals.drawn, timeout=10000):    # read on a worker thread
        tap(qtbot, admin.goals_button)
    # A read begun before the test wrote its data may be the one drawn first; the page then
    # reads once more at once (reading_now): wait for that one too.
    qtbot.waitUntil(lambda: not admin.goals.reading_now, timeout=10000)
    # A card first put in the grid is shown by a call Qt queues: let it run before the test
    # looks at what is visible (the admin screen's other reads can finish first and leave it
    # pending).
    QApplication.processEvents()
    return admin.goals


def test_each_targeted_kpi_shows_its_status_in_plain_coloured_words(qtbot, kiosk, config):
    window, writer = kiosk
    now = time.time()
    simulate(writer.store, config, responses=600, days=8, seed=3, now=now)
    goals = open_goals(qtbot, window)
    assert window.screens["admin"].pages.currentWidget() is goals
    trends = build_trends(writer.store, config, time.time())
    assert set(trends) == {t.kpi for t in config.targets.targets()}
    for kpi, trend in trends.items():
        card = goals.cards[kpi]
        status = trend["overall"]["status"]
        assert card.isVisible()
        assert card.status.text() == window.strings.get("en", f"goals.status.{status}")
        assert STATUS_COLOURS[status] in card.status.styleSheet()
    # the demo's sample has detractors; their top reason, by name, beside NPS
    top = trends["nps"]["overall"]["detractor_reasons"][0]
    name = next(r.en for r in config.kiosk.reasons.detractor if r.id == top["reason"])
    assert goals.cards["nps"].reasons.isVisible()
    assert f"{name}: {top['count']} ({top['share']:.0f}%)" in \
        plain(goals.cards["nps"].reasons.text())
    window.set_language("vi")
    status = trends["nps"]["overall"]["status"]
    assert goals.cards["nps"].status.text() == window.strings.get("vi", f"goals.status.{status}")


def test_an_empty_store_shows_gaps_and_says_why(qtbot, kiosk, config):
    window, _ = kiosk
    goals = open_goals(qtbot, window)
    nps = goals.cards["nps"]
    assert nps.status.text() == "Too few answers"
    assert nps.gaps.isVisible()
    assert plain(nps.gaps.text()) == "Gaps: 12 of 12 with fewer than 30 answers"
    assert plain(goals.cards["conversion"].gaps.text()) == \
        "Gaps: 12 of 12 without camera entries"
    goals.set_span("by_week")
    assert plain(nps.gaps.text()) == "Gaps: 8 of 8 with fewer than 30 answers"
    assert plain(nps.reasons.text()) == "No detractor reasons in this span"


def test_day_and_week_toggle_redraws_the_charts(qtbot, kiosk, config):
    window, writer = kiosk
    simulate(writer.store, config, responses=400, days=8, seed=5, now=time.time())
    goals = open_goals(qtbot, window)
    ticks = lambda: goals.cards["csat"].plot.getAxis("bottom")._tickLevels[0]   # noqa: E731
    assert all("/" in label for _, label in ticks())            # days: 06/12
    tap(qtbot, goals.span_buttons["by_week"])
    assert goals.span == "by_week"
    assert all(label.startswith("W") for _, label in ticks())   # weeks: W49


def test_a_target_changed_on_the_admin_screen_is_stored_audited_and_sent(qtbot, kiosk, config):
    window, writer = kiosk
    goals = open_goals(qtbot, window)
    card = goals.cards["nps"]
    before = config.targets.targets()
    nps_before = next(t for t in before if t.kpi == "nps")
    tap(qtbot, card.change)
    assert goals.editor.isVisible()
    assert goals.editor.direction.text() == "higher is better"
    tap(qtbot, goals.editor.plus)
    tap(qtbot, goals.editor.plus)
    tap(qtbot, goals.editor.minus)
    tap(qtbot, goals.editor.plus)
    tap(qtbot, goals.editor.period_buttons["month"])
    with qtbot.waitSignal(goals.drawn, timeout=10000):
        tap(qtbot, goals.editor.save_button, wait_ms=0)
        # the panel shows it at once, before the trends are read again
        expected = Target("nps", nps_before.value + 2, "higher", "month")
        assert not goals.editor.isVisible()
        assert plain(card.target.text()) == f"Target ≥ {expected.value:+.0f} per month"
        assert card.overall.text().startswith("Last 7 days")      # not judged by month yet
    assert goals.trends["nps"]["target"]["period"] == "month"
    assert goals.trends["nps"]["overall"]["period"] == "last 30 days"     # judged by month
    assert card.overall.text().startswith("Last 30 days")

    store = read_store(config)
    try:
        assert store.target("nps") == expected
        change = store.target_changes("nps")[-1]
        assert change["source"] == "admin"
        assert (change["new_value"], change["new_period"]) == (expected.value, "month")
        event = next(e for e in store.pending_outbox() if e.seq == change["outbox_seq"])
        assert event.type == "target"
    finally:
        store.close()


def test_the_editor_keeps_a_target_in_its_range_and_steps_cleanly(qtbot, kiosk):
    window, _ = kiosk
    goals = open_goals(qtbot, window)
    goals.edit("ces")
    goals.editor.value = 6.8
    for _ in range(5):
        goals.step(+1)
    assert goals.editor.value == 7.0                # CES is 1..7
    goals.step(-1)
    assert goals.editor.value == 6.9 and goals.editor.value_label.text() == "6.9"
    goals.edit("complaint_rate")
    assert goals.editor.direction.text() == "lower is better"


def test_cards_fill_whole_rows_and_seven_take_two_landscape_rows():
    every = list(TARGET_KPIS)
    six = [k for k in every if k != "participation_rate"]
    # landscape: seven cards in two rows of four, NPS's two columns wide (room for reasons)
    assert card_spots(every, 3) == [(0, 0, 2), (0, 2, 1), (0, 3, 1), (1, 0, 1), (1, 1, 1),
                                    (1, 2, 1), (1, 3, 1)]
    assert card_spots(six, 3) == [(r, c, 1) for r in range(2) for c in range(3)]
    # portrait: NPS across the top row, the other six two by two
    assert card_spots(every, 2) == [(0, 0, 2)] + [(r, c, 1) for r in (1, 2, 3) for c in (0, 1)]
    assert card_spots(six, 2) == [(r, c, 1) for r in range(3) for c in range(2)]
    assert card_spots(["csat", "ces"], 3) == [(0, 0, 1), (0, 1, 1)]
    for n in range(1, len(every) + 1):
        for columns in (2, 3):
            spots = card_spots(every[:n], columns)
            cells = [(r, c + i) for r, c, span in spots for i in range(span)]
            assert len(cells) == len(set(cells))                  # no two cards overlap
            width = max(c for _, c in cells) + 1
            assert width <= columns + (columns > 2)
            assert all(c + span <= width for _, c, span in spots)
