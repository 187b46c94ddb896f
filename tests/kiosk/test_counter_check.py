"""The hand-count round trip on the admin screen's Counter page, real widgets on a real store:
enter a count on the number pad -> stored (and sent to HQ) -> the cameras' count of the same
period and the error beside it -> correction on -> corrected, labelled figures on the
dashboard and in `cx-station report`."""
import json
import time

from kiosk.typeset import plain
from kiosk_testlib import open_admin, tap
from station.report import build_report, render_text
from station.store import Crossing, Response


def camera_entries(store, config, start, end, n):
    """`n` people crossing the entrance line 'in' during [start, end), and one the inner line
    (not footfall) and one going out: neither is an entry."""
    door = config.vision.entrance_lines[0]
    inner = next(line.name for line in config.vision.lines if not line.entrance)
    step = (end - start) / (n + 1)
    store.append_crossings([Crossing(start + (i + 1) * step, door, "in", camera="main")
                            for i in range(n)] +
                           [Crossing(start + step, inner, "in", camera="main"),
                            Crossing(start + step, door, "out", camera="main")])


def open_counter(qtbot, admin):
    with qtbot.waitSignal(admin.counter.drawn, timeout=10000):
        tap(qtbot, admin.counter_button)
    return admin.counter


def test_a_hand_count_is_stored_compared_and_corrects_the_figures_when_turned_on(
        qtbot, kiosk, config):
    window, writer = kiosk
    store = writer.store
    window.set_language("en")
    admin = open_admin(qtbot, window)
    counter = open_counter(qtbot, admin)
    assert admin.pages.currentWidget() is counter
    assert "No hand counts yet" in counter.checks.text()
    start, end = counter.period()                 # the last whole hour that is over
    assert end - start == 3600 and end <= time.time()
    camera_entries(store, config, start, end, 40)
    for _ in range(12):                           # answers in the same hour: participation
        store.append_response(Response(nps=9, ts=start + 60))

    tap(qtbot, counter.save_button)               # no count yet: refused, nothing stored
    assert counter.entry_note.text() == "Enter the number counted first (number pad)."
    assert store.hand_counts() == []
    for key in ("5", "9", "back", "0"):           # 5, 59, 5, 50 on the number pad
        tap(qtbot, counter.pad[key])
    assert counter.count_value.text() == "50"
    with qtbot.waitSignal(counter.drawn, timeout=10000):
        tap(qtbot, counter.save_button)

    (row,) = store.hand_counts()
    assert (row["start"], row["end"], row["count"], row["camera_count"]) == (start, end, 50, 40)
    table = plain(counter.checks.text())
    assert "50" in table and "40" in table and "−20.0 %" in table      # 40 / 50 - 1
    assert "error −20.0 %" in counter.summary.text()
    assert "×1.250" in counter.summary.text()                          # 50 / 40
    assert "camera's own" in counter.correction_note.text()
    assert not counter.correction_button.isChecked()

    # not applied yet: the report and the dashboard show the camera's own count
    since, until = start - 3600, end + 3600
    report = build_report(store, config, since, until)
    assert report["entries"] == 40 and report["entries_corrected"] is None
    assert not report["counter"]["corrected"]

    with qtbot.waitSignal(counter.drawn, timeout=10000):
        tap(qtbot, counter.correction_button)
    assert counter.correction_button.isChecked()
    assert "corrected ×1.250 by 1 hand count" in plain(counter.correction_note.text())

    report = build_report(store, config, since, until)
    assert report["entries"] == 40 and report["entries_corrected"] == 50
    assert report["counter"]["corrected"] and report["counter"]["factor"] == 1.25
    assert report["participation_rate"]["value"] == 100 * 12 / 50
    text = render_text(report)
    assert "entries, corrected" in text and "[corrected ×1.250 by 1 hand count]" in text
    participation = next(line for line in text.splitlines() if "participation rate" in line)
    assert participation.endswith("[corrected ×1.250 by 1 hand count]")

    admin.set_period("7d")                        # the dashboard, read again
    qtbot.waitUntil(lambda: admin.figures is not None and admin.figures.counter is not None
                    and admin.figures.counter.applied, timeout=10000)
    assert admin.figures.entries == 50
    shown = plain(admin.participation_value.text())
    assert "50 entries" in shown and "corrected ×1.250 by 1 hand count" in shown
    window.set_language("vi")
    assert "đã hiệu chỉnh ×1,250 theo 1 lần đếm tay" in plain(admin.participation_value.text())

    # HQ gets the count and the switch, with the factor, so it can label its figures too
    events = [json.loads(e.payload)["data"] for e in store.pending_outbox(limit=10_000)
              if e.type == "handcount"]
    assert [(e["action"], e["correction"], e["factor"]) for e in events] == \
        [("added", False, 1.25), ("correction", True, 1.25)]
    assert (events[0]["count"], events[0]["camera_count"]) == (50, 40)


def test_a_period_not_over_yet_is_refused_and_the_day_stops_at_today(qtbot, kiosk):
    window, writer = kiosk
    window.set_language("en")
    admin = open_admin(qtbot, window)
    counter = open_counter(qtbot, admin)
    today = counter.day
    tap(qtbot, counter.rows["day"][3])             # + : no day after today
    assert counter.day == today
    for _ in range(8):                             # the end 2 hours later: not over yet
        tap(qtbot, counter.rows["end"][3], wait_ms=20)
    if counter.period()[1] > time.time() + 60:     # (not at 22:00 or later: 24:00 is the cap)
        tap(qtbot, counter.pad["7"])
        tap(qtbot, counter.save_button)
        assert "not over yet" in counter.entry_note.text()
        assert writer.store.hand_counts() == []
    tap(qtbot, counter.rows["day"][2])             # - : yesterday, over whatever the hours
    assert (today - counter.day).days == 1
    for _ in range(3):
        tap(qtbot, counter.rows["start"][3], wait_ms=20)
    assert counter.end_min - counter.start_min >= 15
