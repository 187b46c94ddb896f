"""Issue 17 on real widgets: a detractor reports a problem and types contact details on the
on-screen keyboard; the first-visit question; the promoter's QR per language."""
import dataclasses
import json

from kiosk_testlib import make_config, read_store, tap


def type_on_keyboard(qtbot, keyboard, text):
    """Tap each key of `text` (lower case letters, digits, '@' and '.') on the real keyboard."""
    for char in text:
        key = keyboard.keys["space" if char == " " else char]
        tap(qtbot, key, wait_ms=5)


def test_detractor_reports_a_problem_with_contact_details(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, first_visit=True)
    window, writer = make_kiosk(config)
    s = window.screens
    tap(qtbot, s["attract"])
    tap(qtbot, s["score"].scale.buttons[2])
    assert window.current == "followup" and s["followup"].report.isVisible()
    tap(qtbot, s["followup"].chips.chips["wait"])
    tap(qtbot, s["followup"].report)
    assert window.current == "complaint"
    complaint = s["complaint"]
    keyboard = complaint.keyboard
    tap(qtbot, complaint.problem)
    assert keyboard.isVisible() and keyboard.target is complaint.problem
    type_on_keyboard(qtbot, keyboard, "no staff")
    tap(qtbot, complaint.name)
    assert keyboard.target is complaint.name
    type_on_keyboard(qtbot, keyboard, "lan")
    tap(qtbot, complaint.contact)
    type_on_keyboard(qtbot, keyboard, "lan@mail.vn")
    tap(qtbot, keyboard.keys["done"])
    assert not keyboard.isVisible()
    tap(qtbot, complaint.send)
    for key in ("csat", "ces"):
        if getattr(window.kiosk, key):
            assert window.current == key
            tap(qtbot, s[key].skip)
    assert window.current == "first_visit"
    tap(qtbot, s["first_visit"].no)
    assert window.current == "thanks"
    assert s["thanks"].thanks.text() == window.strings.get("vi", "thanks.complaint")

    store = read_store(config)
    (row,) = store.recent_responses()
    assert row["nps"] == 2 and row["reasons"] == ["wait"] and row["first_visit"] == 0
    (case,) = store.cases(0, 2e9)
    assert case.complaint["problem"] == "no staff"
    assert (case.complaint["contact_name"], case.complaint["contact"]) == ("lan", "lan@mail.vn")
    outbox = store.pending_outbox()
    assert [e.type for e in outbox] == ["response", "case", "complaint", "alert"]
    for event in outbox:                # contact details and the problem stay at the station
        assert "lan@mail.vn" not in event.payload and "no staff" not in event.payload
        assert '"lan"' not in event.payload
    data = json.loads(outbox[2].payload)["data"]
    assert data["case_id"] == case.id and data["contact_requested"] is True
    assert json.loads(outbox[0].payload)["data"]["first_visit"] is False


def test_back_from_the_complaint_screen_lodges_no_complaint(qtbot, kiosk, config):
    window, writer = kiosk
    s = window.screens
    tap(qtbot, s["attract"])
    tap(qtbot, s["score"].scale.buttons[0])
    tap(qtbot, s["followup"].report)
    assert window.current == "complaint"
    tap(qtbot, s["complaint"].back)
    assert window.current != "complaint"
    window.finish(complete=True)
    store = read_store(config)
    assert store.complaint_totals(0, 2e9)["complaints"] == 0
    assert len(store.cases(0, 2e9)) == 1                 # the detractor case stays as it is


def test_no_complaint_offer_after_a_passive_or_promoter_score(qtbot, kiosk):
    window, writer = kiosk
    s = window.screens
    tap(qtbot, s["attract"])
    tap(qtbot, s["score"].scale.buttons[7])
    assert window.current == "followup" and not s["followup"].report.isVisible()


def test_skipping_the_first_visit_question_stores_no_answer(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, first_visit=True, csat=False, ces=False)
    window, writer = make_kiosk(config)
    s = window.screens
    tap(qtbot, s["attract"])
    tap(qtbot, s["score"].scale.buttons[9])
    tap(qtbot, s["followup"].next)
    assert window.current == "first_visit"
    assert s["first_visit"].progress.text() == window.strings.get("vi", "progress", step=3,
                                                                  total=3)
    tap(qtbot, s["first_visit"].skip)
    (row,) = read_store(config).recent_responses()
    assert row["first_visit"] is None
    assert "first_visit" not in json.loads(read_store(config).pending_outbox()[0].payload)["data"]


def test_the_promoters_qr_follows_the_language(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path)
    config = dataclasses.replace(config, kiosk=dataclasses.replace(
        config.kiosk, review_url="https://example.com/review",
        review_urls=dataclasses.replace(config.kiosk.review_urls,
                                        en="https://example.com/en/refer")))
    window, writer = make_kiosk(config)
    thanks = window.screens["thanks"]
    thanks.start("promoter", "en")
    assert thanks.review_url == "https://example.com/en/refer"
    english = thanks.qr.pixmap().toImage()
    thanks.start("promoter", "vi")
    assert thanks.review_url == "https://example.com/review"      # no vi link: review_url
    assert thanks.qr.pixmap().toImage() != english


def test_the_admin_screen_shows_complaints_returning_share_and_the_contact(qtbot, kiosk, config):
    from kiosk_testlib import open_admin
    from station.store import Complaint, Response
    window, writer = kiosk
    store = writer.store
    for i in range(30):                  # 30 answers: 12 first visits, 18 returning
        complaint = Complaint(problem="no staff", contact_name="Lan", contact="0901234567") \
            if i == 0 else None
        store.append_response(Response(nps=2 if i < 3 else 9, first_visit=i < 12,
                                       complaint=complaint))
    window.set_language("en")
    admin = open_admin(qtbot, window)
    text = admin.complaints_value.text().replace("\u00a0", " ")
    assert text.startswith("1 complaint (3.3% of responses)")
    assert admin.returning_value.isVisible()
    returning = admin.returning_value.text().replace("\u00a0", " ")
    assert returning.startswith("Returning shoppers 60% (95% interval")
    assert "NPS first visit" in returning
    rows = [admin.case_list.item(i).text().replace("\u00a0", " ")
            for i in range(admin.case_list.count())]
    assert any("0901234567" in row and "Lan" in row and "no staff" in row for row in rows)
