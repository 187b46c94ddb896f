"""The dashboard on real data: hidden figures say why, privacy floor, no camera, periods."""
import time

from kiosk.typeset import plain
from kiosk_testlib import open_admin as open_admin_in, tap
from station.shares import AGE_GROUPS, load_calibration
from station.store import Response, Visit


def add_responses(store, scores, ts=None, follow_ups=None):
    """Responses with these scores; the first `follow_ups` (default: all) answer CSAT and CES."""
    ts = ts or time.time() - 60
    follow_ups = len(scores) if follow_ups is None else follow_ups
    with store.transaction():
        for i, s in enumerate(scores):
            answers = {"csat": 4, "ces": 5} if i < follow_ups else {}
            store.append_response(Response(nps=s, language="vi", ts=ts, **answers))


def open_admin(qtbot, window):
    """The admin screen in English, once the figures it reads in the background are drawn."""
    window.set_language("en")
    return open_admin_in(qtbot, window)


def test_nps_below_min_n_is_hidden_with_the_reason_and_so_are_its_shares(qtbot, kiosk):
    window, writer = kiosk
    add_responses(writer.store, [10] * 20 + [3] * 9)          # 29 < min_n 30
    admin = open_admin(qtbot, window)
    assert admin.nps_value.text() == "—"
    assert plain(admin.nps_detail.text()) == window.strings.get(
        "en", "admin.nps.hidden", responses="29 responses", min_n=30)
    assert admin.nps_groups.text() == ""         # 69 % promoters would give the NPS away
    hidden = window.strings.get("en", "admin.hidden", answers="29 answers", min_n=30)
    assert plain(admin.csat_value.text()) == hidden and plain(admin.ces_value.text()) == hidden
    assert plain(admin.complaints_value.text()) == \
        "0 complaints; the rate is shown from 30 responses up\n9 cases open"


def test_csat_and_ces_go_by_their_own_answers_in_both_languages(qtbot, kiosk):
    window, writer = kiosk
    add_responses(writer.store, [10] * 20 + [8] * 5 + [3] * 5, follow_ups=11)
    admin = open_admin(qtbot, window)
    assert admin.nps_value.text() == "+50"                    # 30 scores: shown
    assert plain(admin.nps_groups.text()) == "Promoters 67% · Passives 17% · Detractors 17%"
    assert plain(admin.csat_value.text()) == "Hidden: 11 answers so far, shown from 30 up"
    assert plain(admin.ces_value.text()) == "Hidden: 11 answers so far, shown from 30 up"
    # the detractors scored low but none reported a problem: no complaint (the act)
    assert plain(admin.complaints_value.text()) == "0 complaints (0.0% of responses)\n5 cases open"
    admin.retranslate("vi")
    assert plain(admin.csat_value.text()) == \
        "Đang ẩn: mới có 11 câu trả lời, hiển thị từ 30 trở lên"
    assert plain(admin.complaints_value.text()) == \
        "0 khiếu nại (0,0% số câu trả lời)\n5 trường hợp chưa xử lý"  # Vietnamese decimal comma
    assert plain(admin.nps_groups.text()).startswith("Ủng hộ 67%")


def test_nps_at_min_n_shows_the_score_and_its_95_percent_interval(qtbot, kiosk):
    window, writer = kiosk
    add_responses(writer.store, [10] * 20 + [8] * 5 + [3] * 5)   # 30: 66.7 % - 16.7 % = +50
    admin = open_admin(qtbot, window)
    assert admin.nps_value.text() == "+50"
    nps = admin.figures.scorecard.nps
    low, high = nps.interval
    assert low < 50 < high
    assert plain(admin.nps_detail.text()) == \
        f"Between {low:+.0f} and {high:+.0f} (95% interval), from 30 responses"
    assert plain(admin.csat_value.text()) == "100% satisfied, from 30 answers"
    assert plain(admin.ces_value.text()) == "5.0 / 7, from 30 answers"
    admin.retranslate("vi")
    assert plain(admin.nps_detail.text()) == \
        f"Khoảng tin cậy 95%: {low:+.0f} đến {high:+.0f}, dựa trên 30 câu trả lời"


def test_without_a_camera_the_vision_panels_say_so(qtbot, kiosk):
    window, writer = kiosk
    add_responses(writer.store, [9, 9])
    admin = open_admin(qtbot, window)
    no_camera = window.strings.get("en", "admin.nocamera")
    assert plain(admin.charts["traffic"].empty.text()) == no_camera
    assert plain(admin.charts["dwell"].empty.text()) == no_camera
    assert admin.demographics.text() == no_camera
    assert plain(admin.participation_value.text()) == window.strings.get(
        "en", "admin.participation.nocamera")
    assert admin.health.text().startswith("Camera: no data")


def _face_visits(store, rows, now):
    """Visits carrying the stored estimates of real calibration faces (models/demographics.json)."""
    cal = load_calibration()
    store.append_visits([Visit(entered_at=now - 300, left_at=now, p_female=float(cal.p_female[r]),
                               age_probs=tuple(float(p) for p in cal.age_probs[r])) for r in rows])
    return cal


def test_demographic_shares_below_k_are_not_shown(qtbot, kiosk):
    window, writer = kiosk
    k = window.config.privacy.k_floor
    _face_visits(writer.store, range(k - 1), time.time() - 120)
    admin = open_admin(qtbot, window)
    assert admin.figures.demographics == {"n": k - 1, "reason": "below_k", "k_floor": k}
    html = admin.demographics.text()
    assert window.strings.get("en", "admin.shares.below_k", n=k - 1, k=k) in html
    assert " %</b>" not in html                  # no share shown
    assert admin.charts["dwell"].plot.isVisibleTo(admin)


def test_demographic_shares_are_shown_with_their_intervals(qtbot, kiosk):
    window, writer = kiosk
    cal = load_calibration()
    men = [i for i in range(len(cal)) if cal.gender[i] == 1][:80]      # a day of men only
    _face_visits(writer.store, men, time.time() - 120)
    admin = open_admin(qtbot, window)
    d = admin.figures.demographics
    women = next(s for s in d["gender"] if s["name"] == "female")
    assert d["n"] == 80 and women["estimate"] < 0.12 and women["low"] == 0
    html = admin.demographics.text()
    assert f"<b>{women['estimate'] * 100:.0f} %</b>" in html
    assert f"{women['low'] * 100:.0f}–{women['high'] * 100:.0f} %" in html
    for group in AGE_GROUPS:
        assert window.strings.get("en", "admin.shares.age", group=group) in html


def test_each_age_bracket_has_its_nps_and_answers_under_its_visitor_column(qtbot, kiosk):
    import re

    from station.simulate import simulate
    window, writer = kiosk
    simulate(writer.store, window.config, responses=400, visits=1500, days=1, seed=3)
    admin = open_admin(qtbot, window)
    admin.set_period("7d")                 # the simulated day, whatever the hour now
    f, k = admin.figures, window.config.privacy.k_floor
    nps_table = admin.demographics.text().split("<table>")[-1]      # after the shares
    rows = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r) for r in nps_table.split("<tr>")[1:]]
    ages = [cell.replace("&nbsp;", "") for cell in rows[0][1:]]
    by_label = {row[0]: [c.replace("&nbsp;", "") for c in row[1:]] for row in rows[1:]}
    nps_row = by_label[window.strings.get("en", "admin.nps_by_age.row")]
    answers_row = by_label[window.strings.get("en", "admin.nps_by_age.answers")]
    assert len(nps_row) == len(answers_row) == len(ages) >= 7
    shown = 0
    for age, nps, answers in zip(ages, nps_row, answers_row):
        result = f.nps_by_age.get("" if age == "?" else age)
        if result is None:
            assert (nps, answers) == ("–", "0")
        elif result.shown:
            assert nps == f"<b>{round(result.value):+d}</b>" and answers == str(result.n)
            shown += 1
        else:
            assert nps == "–"
            assert answers == (str(result.n) if result.n >= k else f"&lt; {k}")
    assert shown >= 2


def test_period_buttons_change_the_window(qtbot, kiosk):
    window, writer = kiosk
    add_responses(writer.store, [10] * 3, ts=time.time() - 3 * 86400)
    add_responses(writer.store, [0], ts=time.time() - 60)
    admin = open_admin(qtbot, window)
    assert admin.figures.nps.n == 1
    tap(qtbot, admin.period_buttons["7d"])
    assert admin.figures.nps.n == 4 and admin.figures.score_counts[10] == 3
    tap(qtbot, admin.period_buttons["30d"])
    assert admin.figures.nps.n == 4


def test_cached_closed_days_match_a_fresh_read_after_late_commits(qtbot, kiosk, config):
    from kiosk.dashboard import Dashboard
    window, writer = kiosk
    now = time.time()
    for days_ago, scores in ((1, [10, 9, 0]), (3, [8, 2]), (12, [7])):
        add_responses(writer.store, scores, ts=now - days_ago * 86400)
    cached = Dashboard(config)
    before = cached.figures(writer.store, "30d")
    assert before.nps.n == 6
    late = Response(nps=1, csat=1, language="vi", ts=now - 3 * 86400)   # waited out an outage
    writer.submit(late)                       # lands on its own (closed) day, by rowid
    add_responses(writer.store, [10], ts=now - 30)
    after, fresh = cached.figures(writer.store, "30d"), Dashboard(config).figures(writer.store,
                                                                                 "30d")
    for f in (after, fresh):
        assert f.score_counts == fresh.score_counts and f.nps.n == 8
        assert f.scorecard == fresh.scorecard
    assert after.case_totals["opened"] == 3


def test_background_refresh_shows_a_new_case_without_blocking(qtbot, kiosk):
    window, writer = kiosk
    admin = open_admin(qtbot, window)
    assert admin.case_list.item(0).text() == window.strings.get("en", "admin.cases.none")
    add_responses(writer.store, [2])
    assert admin.refresh_in_background()
    qtbot.waitUntil(lambda: "score 2" in plain(admin.case_list.item(0).text()), timeout=5000)
    admin.close_connections()


def test_resolving_an_old_case_updates_the_cached_day(qtbot, kiosk):
    window, writer = kiosk
    add_responses(writer.store, [1], ts=time.time() - 3 * 86400)
    admin = open_admin(qtbot, window)
    tap(qtbot, admin.period_buttons["30d"])
    assert admin.figures.case_totals == {"opened": 1, "resolved": 0}
    admin.case_note.setText("Called back")
    tap(qtbot, admin.resolve_button)
    assert admin.figures.case_totals == {"opened": 1, "resolved": 1}
    assert admin.figures.handling[0] > 3 * 86400 - 120


def test_warm_up_fills_the_day_cache_without_drawing(qtbot, kiosk):
    window, writer = kiosk
    add_responses(writer.store, [9, 3], ts=time.time() - 5 * 86400)
    admin = window.screens["admin"]
    assert admin.refresh_in_background("30d", draw=False)
    qtbot.waitUntil(lambda: admin.reader.lock.acquire(blocking=False), timeout=5000)
    admin.reader.lock.release()
    assert admin.figures is None                      # nothing drawn
    assert len(admin.dashboard._days) == 30 and admin.dashboard._marks["responses"] == 2
    admin.close_connections()
