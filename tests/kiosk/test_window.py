"""The shopper's flow, tapped on real widgets, read back from the real database."""
import json

from PySide6.QtCore import Qt

from kiosk_testlib import DEBOUNCE_MS, make_config, open_admin, read_store, tap


def run_survey(qtbot, window, score, reasons=(), csat=None, ces=None):
    s = window.screens
    tap(qtbot, s["attract"])
    assert window.current == "score"
    tap(qtbot, s["score"].scale.buttons[score])
    assert window.current == "followup"
    for reason in reasons:
        tap(qtbot, s["followup"].chips.chips[reason])
    tap(qtbot, s["followup"].next)
    for key, value in (("csat", csat), ("ces", ces)):
        if getattr(window.kiosk, key):
            assert window.current == key
            tap(qtbot, s[key].scale.buttons[value] if value else s[key].skip)


def test_full_survey_by_taps_writes_one_response_and_one_outbox_row(qtbot, kiosk, config):
    window, writer = kiosk
    run_survey(qtbot, window, 8, reasons=["faster"], csat=4, ces=6)
    assert window.current == "thanks"
    store = read_store(config)
    rows = store.recent_responses()
    assert len(rows) == 1
    row = rows[0]
    assert (row["nps"], row["csat"], row["ces"], row["reasons"], row["language"],
            row["complete"]) == (8, 4, 6, ["faster"], "vi", True)
    events = store.pending_outbox()
    assert [e.type for e in events] == ["response"]
    data = json.loads(events[0].payload)["data"]
    assert data["response_id"] == row["id"] and data["nps"] == 8 and data["reasons"] == ["faster"]
    assert events[0].seq == row["outbox_seq"]
    assert store.table_counts()["cases"] == 0


def test_detractor_opens_a_case_that_the_admin_inbox_shows(qtbot, kiosk, config):
    window, writer = kiosk
    run_survey(qtbot, window, 3, reasons=["wait", "staff"], csat=2, ces=None)
    store = read_store(config)
    (case,) = store.cases(0, 2e9)
    assert case.nps == 3 and case.reasons == ["wait", "staff"] and case.resolved_at is None
    # the detractor alert (station/alerts.py) goes in the same transaction
    assert [e.type for e in store.pending_outbox()] == ["response", "case", "alert"]
    assert window.screens["thanks"].thanks.text() == window.strings.get("vi", "thanks.detractor")
    admin = window.screens["admin"]
    open_admin(qtbot, window)                # shown at once, the figures read in the background
    assert window.current == "admin"
    assert admin.case_list.count() == 1
    assert "3" in admin.case_list.item(0).text()
    assert "Chờ quá lâu" in admin.case_list.item(0).text()


def test_resolving_a_case_on_the_admin_screen_writes_the_note_and_an_event(qtbot, kiosk, config):
    window, writer = kiosk
    run_survey(qtbot, window, 0, csat=1, ces=1)
    admin = open_admin(qtbot, window)
    admin.case_note.setText("Refunded, apologised")
    tap(qtbot, admin.resolve_button)
    store = read_store(config)
    (case,) = store.cases(0, 2e9)
    assert case.resolution_note == "Refunded, apologised" and case.resolved_at is not None
    resolved = [json.loads(e.payload)["data"] for e in store.pending_outbox() if e.type == "case"]
    assert [d["status"] for d in resolved] == ["opened", "resolved"]
    assert admin.figures.case_totals == {"opened": 1, "resolved": 1}
    assert admin.figures.handling[0] is not None
    assert admin.case_list.item(0).text() == window.strings.get("vi", "admin.cases.none")


def test_idle_timeout_keeps_the_score_as_a_partial_response(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, idle_timeout_s=3.0)
    window, writer = make_kiosk(config)
    tap(qtbot, window.screens["attract"])
    tap(qtbot, window.screens["score"].scale.buttons[6])
    tap(qtbot, window.screens["followup"].chips.chips["stock"])   # chosen, never confirmed
    assert window.current == "followup"
    qtbot.waitUntil(lambda: window.current == "attract", timeout=6000)
    (row,) = read_store(config).recent_responses()
    assert (row["nps"], row["complete"], row["reasons"], row["csat"], row["ces"],
            row["comment"]) == (6, False, [], None, None, None)
    assert len(read_store(config).cases(0, 2e9)) == 1        # a 6 is a detractor even if partial


def test_walking_away_before_a_score_saves_nothing(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, idle_timeout_s=3.0)
    window, writer = make_kiosk(config)
    tap(qtbot, window.screens["attract"])
    qtbot.waitUntil(lambda: window.current == "attract", timeout=6000)
    assert read_store(config).recent_responses() == []


def test_double_tap_counts_once(qtbot, make_kiosk, tmp_path):
    # a wide window, so a slow (shared) CPU cannot push the second tap out of it
    config = make_config(tmp_path, debounce_ms=1500)
    window, writer = make_kiosk(config)
    s = window.screens
    pause = 1600
    tap(qtbot, s["attract"], pause)
    qtbot.mouseClick(s["score"].scale.buttons[9], Qt.LeftButton)
    # the same finger lands again on the next screen, where a reason chip now is
    chip = s["followup"].chips.chips["staff"]
    qtbot.mouseClick(chip, Qt.LeftButton)
    assert window.current == "followup" and not chip.isChecked()
    qtbot.wait(pause)
    tap(qtbot, s["followup"].next, pause)
    tap(qtbot, s["csat"].scale.buttons[5], pause)
    last = s["ces"].scale.buttons[7]
    qtbot.mouseClick(last, Qt.LeftButton)
    qtbot.mouseClick(last, Qt.LeftButton)       # a double tap on the final answer
    qtbot.wait(50)
    rows = read_store(config).recent_responses()
    assert len(rows) == 1
    assert rows[0]["nps"] == 9 and rows[0]["reasons"] == [] and rows[0]["ces"] == 7
    assert len(read_store(config).pending_outbox()) == 1


def test_cooldown_after_a_survey_ignores_the_next_start(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, cooldown_s=2.0, thank_you_s=0.5, csat=False, ces=False)
    window, writer = make_kiosk(config)
    tap(qtbot, window.screens["attract"])
    tap(qtbot, window.screens["score"].scale.buttons[10])
    tap(qtbot, window.screens["followup"].next)
    qtbot.waitUntil(lambda: window.current == "attract", timeout=3000)
    tap(qtbot, window.screens["attract"])
    assert window.current == "attract"           # still cooling down
    qtbot.wait(1600)
    tap(qtbot, window.screens["attract"])
    assert window.current == "score"


def test_promoter_sees_the_review_qr_and_a_detractor_does_not(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, csat=False, ces=False, thank_you_s=0.5)
    window, writer = make_kiosk(config)
    thanks = window.screens["thanks"]
    for score, qr in ((10, True), (2, False)):
        qtbot.waitUntil(lambda: window.current == "attract", timeout=3000)
        tap(qtbot, window.screens["attract"])
        tap(qtbot, window.screens["score"].scale.buttons[score])
        tap(qtbot, window.screens["followup"].next)
        assert window.current == "thanks"
        assert thanks.qr.isVisibleTo(window) is qr
        assert (not thanks.qr.pixmap().isNull()) is qr or not qr


def test_language_toggle_relabels_every_screen_and_is_saved(qtbot, kiosk, config):
    window, writer = kiosk
    s = window.screens
    tap(qtbot, s["attract"])
    assert s["score"].scale.low_label.text() == "0 = Hoàn toàn không"
    tap(qtbot, s["score"].languages.buttons["en"])
    assert s["score"].scale.low_label.text() == "0 = Not at all likely"
    assert s["score"].progress.text() == "Question 1 of 4"
    tap(qtbot, s["score"].scale.buttons[7])
    assert s["followup"].question.text() == "What would make it a 10?"
    assert s["followup"].chips.chips["faster"].text() == "Faster checkout"
    tap(qtbot, s["followup"].next)
    tap(qtbot, s["csat"].skip)
    tap(qtbot, s["ces"].skip)
    (row,) = read_store(config).recent_responses()
    assert row["language"] == "en" and row["csat"] is None and row["complete"] is True


def test_comment_typed_on_the_on_screen_keyboard_is_saved(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, csat=False, ces=False)
    window, writer = make_kiosk(config)
    s = window.screens
    tap(qtbot, s["attract"])
    tap(qtbot, s["score"].scale.buttons[4])
    follow = s["followup"]
    qtbot.mouseClick(follow.comment, Qt.LeftButton)
    assert follow.keyboard.isVisibleTo(window)
    keys = follow.keyboard.keys
    for name in ["c", "h", "o", "huyền", "space", "l", "â", "u"]:
        qtbot.mouseClick(keys[name], Qt.LeftButton)         # typing is not debounced
    assert follow.comment.text() == "chò lâu"
    qtbot.wait(DEBOUNCE_MS + 30)
    tap(qtbot, follow.next)
    (row,) = read_store(config).recent_responses()
    assert row["comment"] == "chò lâu"
