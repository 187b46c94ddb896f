"""The kiosk takes settings HQ pushed (applied to its database by cx-sync) without a restart:
a shopper mid-survey finishes with the old ones; the admin screen names the version."""
from __future__ import annotations

from kiosk_testlib import open_admin, read_store, tap
from station.remote_settings import encode_push, receive_push

SETTINGS = {
    "kiosk": {"review_url": "https://example.com/hq",
              "wording": {"en": {"question": "HQ asks: recommend {store}?",
                                 "thanks_promoter": "HQ thanks you"},
                          "vi": {"question": "Trụ sở hỏi: giới thiệu {store}?"}},
              "reasons": {"promoter": [{"id": "music", "en": "Good music", "vi": "Nhạc hay"}]}},
}


def test_pushed_settings_reach_the_screens_after_the_survey_in_progress(kiosk, config, qtbot):
    window, writer = kiosk
    s = window.screens
    local_url = s["thanks"].review_url
    tap(qtbot, s["attract"])                     # a shopper has begun
    store = read_store(config)
    try:
        assert receive_push(store, config, encode_push(5, "alice", "hq", SETTINGS)).state == \
            "applied"
    finally:
        store.close()
    qtbot.waitUntil(lambda: window.hq_settings.version == 5, timeout=5000)
    assert s["thanks"].review_url == local_url         # not under the shopper's feet
    tap(qtbot, s["score"].scale.buttons[10])
    assert [r.id for r in s["followup"].reasons.promoter] != ["music"]
    tap(qtbot, s["followup"].next)
    tap(qtbot, s["csat"].scale.buttons[4])
    tap(qtbot, s["ces"].scale.buttons[6])
    window.thanks_timer.timeout.emit()              # the next shopper: HQ's settings
    assert window.current == "attract"
    assert s["thanks"].review_url == "https://example.com/hq"
    assert [r.id for r in s["followup"].reasons.promoter] == ["music"]
    window.set_language("en")
    assert s["score"].question.text().startswith("HQ asks: recommend ")
    assert window.strings.get("en", "thanks.promoter") == "HQ thanks you"
    assert window.strings.get("en", "thanks.passive") != ""      # built-in where HQ set none
    window.set_language("vi")
    assert s["score"].question.text().startswith("Trụ sở hỏi")

    admin = open_admin(qtbot, window)
    assert "Cài đặt từ trụ sở: phiên bản 5, áp dụng" in admin.health.text()
    window.set_language("en")
    assert "Settings from HQ: version 5, applied" in admin.health.text()


def test_the_admin_screen_names_pushed_reasons(kiosk, config, qtbot):
    from station.store import Response
    window, writer = kiosk
    store = read_store(config)
    try:
        receive_push(store, config, encode_push(1, "alice", "hq", {"kiosk": {"reasons": {
            "detractor": [{"id": "parking", "en": "No parking",
                           "vi": "Không chỗ đậu xe"}]}}}))
    finally:
        store.close()
    qtbot.waitUntil(lambda: window.hq_settings.version == 1, timeout=5000)
    writer.store.append_response(Response(nps=3, reasons=["parking"]))
    admin = open_admin(qtbot, window)
    (case,) = admin.figures.open_cases
    assert "Không chỗ đậu xe" in admin.words.case(case).replace("\xa0", " ")
