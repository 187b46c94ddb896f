"""The admin screen read at arm's length and used by touch (issue 20): case rows of the touch
minimum with their text wrapped and only whole rows shown, plain words instead of 'n =' and
'p90', chart axes with titles and legible ticks, period buttons only where they mean something,
and the screen shown before its figures are read."""
import re
import threading
import time

import pytest
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel

from kiosk import theme
from kiosk.case_list import TEXT_MARGIN
from kiosk.typeset import plain
from kiosk_testlib import open_admin, tap
from station.simulate import simulate
from station.store import Response

SIZES = [(1920, 1080), (1280, 800), (1080, 1920)]
LONG = "Nhân viên không nhiệt tình, Hết hàng size M, chờ thanh toán gần 15 phút ở quầy số 2"
# 'n = 42', 'p90', '95% CI' and its Vietnamese 'KTC' (a word of their own, not 'align=')
JARGON = re.compile(r"\bn\s?=|\bp90\b|\bCI\b|\bKTC\b")


def sized(window, size):
    window.apply_scale(*size)
    window.resize(*size)
    QApplication.processEvents()


def add_cases(store, n=50):
    """n detractors, newest first in the inbox, every third with a long comment."""
    now = time.time()
    with store.transaction():
        for i in range(n):
            store.append_response(Response(
                nps=i % 7, reasons=["staff", "wait"] if i % 2 else ["stock"], language="vi",
                comment=LONG if i % 3 == 0 else None, ts=now - 60 * (i + 1)))


def shown_rows(view):
    """(row, rect) of the rows that show at least in part, top to bottom."""
    port = view.viewport().rect()
    return [(r, view.visualItemRect(view.item(r))) for r in range(view.count())
            if view.visualItemRect(view.item(r)).intersects(port)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_case_rows_are_touch_high_wrapped_and_only_whole(qtbot, kiosk, config, size):
    window, writer = kiosk
    add_cases(writer.store)
    sized(window, size)
    window.set_language("vi")
    admin = open_admin(qtbot, window)
    view, panel = admin.case_list, admin.case_panel
    QApplication.processEvents()
    minimum = theme.min_touch_px(size, config.kiosk.screen_diagonal_in)
    assert view.horizontalScrollBarPolicy() == Qt.ScrollBarAlwaysOff
    assert not view.horizontalScrollBar().isVisible()
    rows = shown_rows(view)
    assert len(rows) >= 2
    port = view.viewport().rect()
    for row, rect in rows:
        assert rect.height() >= minimum, (row, rect.height(), minimum)
        assert port.contains(rect), f"row {row} is cut by the list's edge: {rect} in {port}"
        text = view.item(row).text()
        need = QFontMetrics(view.font()).boundingRect(
            QRect(0, 0, rect.width() - 2 * TEXT_MARGIN, 10_000), int(Qt.TextWordWrap.value),
            text)
        assert need.height() <= rect.height() and need.width() <= rect.width(), (row, text)
    # what is not shown is said, and the button pages to it
    hidden = 50 - len(rows)
    assert panel.more.isVisible() and panel.more.height() >= minimum
    assert plain(panel.more.text()).startswith(f"{hidden} trường hợp chưa hiện")
    first_hidden = rows[-1][0] + 1
    tap(qtbot, panel.more)
    assert shown_rows(view)[0][0] == first_hidden
    for _ in range(60):                       # to the end, then back to the newest
        if panel.below == 0:
            break
        tap(qtbot, panel.more, wait_ms=0)
    assert plain(panel.more.text()) == window.strings.get("vi", "admin.cases.top")
    tap(qtbot, panel.more)
    assert shown_rows(view)[0][0] == 0


def test_the_case_a_note_is_for_is_named_above_it(qtbot, kiosk):
    window, writer = kiosk
    add_cases(writer.store, 3)
    window.set_language("en")
    admin = open_admin(qtbot, window)
    admin.case_list.setCurrentRow(1)
    first_line = plain(admin.case_list.item(1).text()).split("\n")[0]
    assert plain(admin.case_chosen.text()) == f"Note for {first_line}"


def _texts(widget):
    """Every text the manager can read on `widget` as it shows now."""
    texts = [w.text() for w in widget.findChildren(QLabel) if w.isVisibleTo(widget)]
    texts += [w.text() for w in widget.findChildren(QAbstractButton) if w.isVisibleTo(widget)]
    for view in (widget.case_list, widget.alerts.list):
        texts += [view.item(i).text() for i in range(view.count())]
    return [plain(t) for t in texts if t]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_counts_and_intervals_are_said_in_plain_words(qtbot, kiosk, config, lang):
    window, writer = kiosk
    simulate(writer.store, config, responses=400, visits=1500, days=8, seed=3, now=time.time())
    writer.store.raise_alert("kpi_below_target", "warning", "nps", {
        "value": 12.0, "n": 240, "interval": [4.0, 19.5], "span": "last 7 days", "target": 30.0,
        "direction": "higher", "target_period": "week"})
    window.set_language(lang)
    admin = open_admin(qtbot, window)
    admin.set_period("7d")
    seen = _texts(admin)
    with qtbot.waitSignal(admin.goals.drawn, timeout=10000):
        admin.show_goals()
    qtbot.waitUntil(lambda: not admin.goals.reading_now, timeout=10000)
    seen += _texts(admin)
    with qtbot.waitSignal(admin.alerts.drawn, timeout=5000):
        admin.show_alerts()
    admin.alerts.select(next(a.id for a in admin.alerts.alerts if a.kind == "kpi_below_target"))
    seen += _texts(admin)
    said = "\n".join(seen)
    assert not JARGON.findall(said), f"{JARGON.findall(said)} on the admin screen ({lang})"
    n = admin.figures.scorecard.nps.n
    from_ = {"vi": f"dựa trên {n} câu trả lời", "en": f"from {n} responses"}[lang]
    interval = {"vi": "khoảng tin cậy 95%", "en": "95% interval"}[lang]
    nine = {"vi": "9 trên 10", "en": "9 in 10"}[lang]
    assert from_ in said and interval in said.lower() and nine in said
    kpi = {"vi": "dựa trên 240 câu trả lời", "en": "from 240 responses"}[lang]
    assert kpi in plain(admin.alerts.facts.text())


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 800)], ids=["1920x1080", "1280x800"])
def test_chart_axes_have_titles_in_the_managers_language_and_legible_ticks(qtbot, kiosk,
                                                                           config, size):
    window, writer = kiosk
    simulate(writer.store, config, responses=200, visits=800, days=2, seed=4, now=time.time())
    sized(window, size)
    window.set_language("vi")
    admin = open_admin(qtbot, window)
    admin.set_period("7d")
    small = theme.sizes(theme.scale_for(*size))["small"]
    if size == (1920, 1080):
        assert small >= 18
    get = lambda key: window.strings.get("vi", key)          # noqa: E731
    for name, chart in admin.charts.items():
        assert chart.plot.isVisible()
        for side, axis_key in (("bottom", "x"), ("left", "y")):
            axis = chart.plot.getAxis(side)
            assert axis.labelText == get(f"admin.axis.{name}.{axis_key}")
            assert axis.label.isVisible()
            assert axis.style["tickFont"].pixelSize() >= small
    assert admin.charts["traffic"].plot.getAxis("bottom").labelText == "Giờ trong ngày"
    with qtbot.waitSignal(admin.goals.drawn, timeout=10000):
        admin.show_goals()
    for card in admin.goals.cards.values():
        bottom, left = card.plot.getAxis("bottom"), card.plot.getAxis("left")
        assert bottom.labelText == get("goals.axis.by_day")
        assert left.labelText == get(f"goals.axis.{card.kpi}")
        assert bottom.style["tickFont"].pixelSize() >= small
        assert left.style["tickFont"].pixelSize() >= small
    window.set_language("en")
    assert admin.charts["traffic"].plot.getAxis("bottom").labelText == "Hour of day"
    assert admin.charts["traffic"].plot.getAxis("left").labelText == "Entries"


def test_period_buttons_only_with_the_dashboard(qtbot, kiosk):
    window, _ = kiosk
    admin = open_admin(qtbot, window)
    periods = list(admin.period_buttons.values())
    assert all(b.isVisible() for b in periods)
    assert not admin.goals.span_box.isVisible()
    tap(qtbot, admin.goals_button)
    assert not any(b.isVisible() for b in periods)
    assert admin.goals.span_box.isVisible()                  # the Goals page's own day/week
    tap(qtbot, admin.alerts_button)
    assert not any(b.isVisible() for b in periods)
    assert not admin.goals.span_box.isVisible()
    tap(qtbot, admin.dashboard_button)
    assert all(b.isVisible() for b in periods)
    assert admin.pages.currentWidget() is admin.overview
    assert admin.period_buttons[admin.period].isChecked()


class _Paints(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Paint:
            self.count += 1
        return False


def test_the_screen_shows_before_its_figures_are_read(qtbot, kiosk, monkeypatch):
    window, writer = kiosk
    add_cases(writer.store, 2)
    admin = window.screens["admin"]
    release, reading = threading.Event(), threading.Event()
    read = admin.dashboard.figures

    def slow(store, period, now=None):             # a database that takes its time
        reading.set()
        release.wait(10)
        return read(store, period, now)

    monkeypatch.setattr(admin.dashboard, "figures", slow)
    paints = _Paints()
    admin.installEventFilter(paints)
    start = time.perf_counter()
    window.open_admin()
    opened_s = time.perf_counter() - start
    try:
        assert opened_s < 0.5, f"open_admin waited {opened_s:.1f} s for the read"
        assert window.current == "admin" and admin.isVisible()
        assert admin.reading.isVisible()
        assert plain(admin.reading.text()) == window.strings.get("vi", "admin.reading")
        qtbot.waitUntil(lambda: paints.count > 0, timeout=2000)    # painted, figures or not
        qtbot.waitUntil(reading.is_set, timeout=2000)              # the read began after it
        assert admin.figures is None
    finally:
        release.set()
    qtbot.waitUntil(lambda: admin.figures is not None and not admin.reading.isVisible(),
                    timeout=5000)
    assert admin.case_list.count() == 2
    admin.removeEventFilter(paints)


def test_times_and_counts_in_words(config):
    from kiosk.admin_words import AdminWords
    from kiosk.i18n import Strings
    strings = Strings.load(["vi", "en"])
    en, vi = AdminWords(config, strings, "en"), AdminWords(config, strings, "vi")
    assert plain(en.ago(86400 + 5)) == "1 day ago"                 # not '1 days ago'
    assert plain(en.ago(3 * 86400)) == "3 days ago"
    assert plain(vi.ago(3 * 86400)) == "3 ngày trước"
    assert plain(vi.duration(5400)) == "1,5 giờ" and plain(en.duration(5400)) == "1.5 h"
    assert plain(en.count(1, "responses")) == "1 response"
    assert " " not in en.count(1234, "responses")                  # one word to the wrapping
    assert plain(vi.count(1234, "responses")) == "1.234 câu trả lời"
