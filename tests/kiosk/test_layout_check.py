"""The layout checker itself (tests/kiosk/layout_check.py) on small made-up windows: each rule
finds what it is for, and a window where everything fits passes."""
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (QApplication, QLabel, QLineEdit, QListWidget, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from layout_check import check_window, lone_words

TOUCH = 48
TEXT = "Thanks for your answer today"


@pytest.fixture
def window(qtbot):
    """A plain 600x400 window (no layout: each test places its widgets) in a fixed font."""
    w = QWidget()
    w.setStyleSheet("* { font-family: 'DejaVu Sans'; font-size: 16px; }")
    w.resize(600, 400)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def place(widget, parent, x, y, width, height):
    widget.setParent(parent)
    widget.setGeometry(x, y, width, height)
    widget.show()
    widget.ensurePolished()
    return widget


def font_of(window) -> QFont:
    probe = place(QLabel("x"), window, 0, 0, 10, 10)
    font = probe.font()
    probe.hide()
    return font


def problems(window, **kw):
    return check_window(window, where="test", min_touch=TOUCH, **kw)


def test_a_window_where_everything_fits_passes(window):
    place(QLabel("Fits easily"), window, 10, 10, 300, 40)
    wrapped = place(QLabel("A sentence that wraps onto two lines of its own"), window,
                    10, 60, 260, 80)
    wrapped.setWordWrap(True)
    place(QPushButton("OK"), window, 10, 150, 120, 60)
    field = place(QLineEdit(), window, 10, 220, 400, 56)
    field.setPlaceholderText("Type here")
    rich = place(QLabel("<b>Bold</b> and plain"), window, 10, 290, 300, 40)
    rich.setTextFormat(Qt.RichText)
    assert problems(window) == []


def test_a_label_too_narrow_for_its_text_is_clipped(window):
    place(QLabel(TEXT), window, 10, 10, 80, 40)
    found = problems(window)
    assert len(found) == 1 and "is clipped" in found[0] and TEXT in found[0]


def test_a_wrapped_label_too_short_for_its_lines_is_clipped(window):
    label = place(QLabel(TEXT + ", and some more words to wrap"), window, 10, 10, 120, 20)
    label.setWordWrap(True)
    found = problems(window)
    assert any("is clipped" in p for p in found), found


def test_rich_text_is_measured_as_a_document(window):
    label = place(QLabel("<table><tr><td>a</td></tr><tr><td>b</td></tr>"
                         "<tr><td>c</td></tr></table>"), window, 10, 10, 200, 20)
    label.setTextFormat(Qt.RichText)
    assert any("is clipped" in p for p in problems(window))


def test_an_ellipsis_the_source_does_not_have_is_elided(window):
    place(QLabel("Thanks for your ans…"), window, 10, 10, 400, 40)
    place(QLabel("Reading the figures…"), window, 10, 60, 400, 40)
    found = problems(window, sources=["Reading the figures…"])
    assert len(found) == 1 and "elided" in found[0] and "Thanks" in found[0]


def test_a_line_edit_placeholder_wider_than_the_field_is_elided(window):
    field = place(QLineEdit(), window, 10, 10, 90, 56)
    field.setPlaceholderText("What was done about it? (note)")
    found = problems(window)
    assert len(found) == 1 and "placeholder" in found[0], found


def test_the_last_word_alone_on_a_line_is_a_widow(window):
    words = "one two three four"
    fm = QFontMetrics(font_of(window))
    # room for the first three words and not the fourth: 'four' drops alone
    width = fm.horizontalAdvance("one two three ") + 4
    assert lone_words(words, font_of(window), width) == ["four"]
    label = place(QLabel(words), window, 10, 10, width, 120)
    label.setWordWrap(True)
    found = problems(window)
    assert len(found) == 1 and "leaves 'four' alone" in found[0], found


def test_two_words_on_two_lines_or_a_wide_label_are_no_widow(window):
    fm = QFontMetrics(font_of(window))
    two = place(QLabel("Hello world"), window, 10, 10, fm.horizontalAdvance("Hello ") + 2, 80)
    two.setWordWrap(True)
    wide = place(QLabel("one two three four"), window, 10, 100, 500, 40)
    wide.setWordWrap(True)
    assert problems(window) == []


def test_a_small_button_is_under_the_touch_minimum(window):
    place(QPushButton("OK"), window, 10, 10, 40, 40)
    place(QPushButton("Fine"), window, 10, 60, 100, 60)
    off = place(QPushButton("Off"), window, 10, 130, 40, 40)
    off.setEnabled(False)                   # a disabled button is no target
    found = problems(window)
    assert len(found) == 1 and "'OK'" in found[0] and "touch minimum" in found[0], found


def test_alike_small_buttons_are_told_in_one_line(window):
    for i, key in enumerate("abc"):
        place(QPushButton(key), window, 10 + 50 * i, 10, 40, 40)
    found = problems(window)
    assert len(found) == 1 and found[0].startswith("test: 3 x QPushButton"), found


def test_a_button_whose_text_does_not_fit_is_clipped(window):
    place(QPushButton("Mark the case as resolved"), window, 10, 10, 60, 60)
    found = problems(window)
    assert any("is clipped" in p for p in found), found


def test_a_widget_partly_outside_its_parent_is_clipped(window):
    box = place(QWidget(), window, 0, 0, 200, 100)
    place(QPushButton("Go"), box, 150, 20, 100, 60)
    found = problems(window)
    assert len(found) == 1 and "is clipped" in found[0] and "of it shows" in found[0], found


def test_list_rows_short_or_cut_sideways(window):
    rows = place(QListWidget(), window, 10, 10, 200, 200)
    rows.addItem("short")
    rows.addItem("a row much wider than the list that shows it, by far")
    found = problems(window)
    assert any("2 row(s) (0-1)" in p and "touch minimum" in p for p in found), found
    assert any("row 1 is cut at the list's edge" in p for p in found), found


def test_a_row_that_cannot_be_chosen_need_not_be_touch_high(window):
    rows = place(QListWidget(), window, 10, 10, 300, 200)
    rows.addItem("Nothing here")
    rows.item(0).setFlags(Qt.NoItemFlags)
    assert problems(window) == []


def test_a_window_that_grew_past_its_screen_says_which_page_needs_more(window):
    stack = QStackedWidget()
    small, big = QWidget(), QWidget()
    big.setObjectName("big")
    big.setMinimumSize(500, 700)
    stack.addWidget(small)
    stack.addWidget(big)
    layout = QVBoxLayout(window)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(stack)
    window.resize(600, 400)
    found = problems(window, size=(600, 400))
    assert len(found) == 1 and "grew to 600x700" in found[0], found
    assert "QWidget#big needs 500x700" in found[0]


def test_an_overlay_may_not_hide_a_field_part_of_a_text_or_leave_a_sliver_of_a_button(window):
    layout = QVBoxLayout(window)
    go = QPushButton("Continue")
    go.setMinimumHeight(60)
    note = QLabel("Some words to read")
    note.setMinimumHeight(40)
    field = QLineEdit()
    field.setMinimumHeight(56)
    for widget in (go, note, field):
        layout.addWidget(widget)
    layout.addStretch(1)
    window.resize(600, 400)
    QApplication.processEvents()
    badge = QLabel("3", window)             # in no layout: laid over the others
    badge.setGeometry(0, note.y() + 10, 60, 20)
    badge.show()
    found = problems(window)
    assert len(found) == 1 and "'Some words to read' is covered by" in found[0], found
    badge.hide()
    sheet = QWidget(window)                 # docked across the top: text may slide under
    sheet.setGeometry(0, 0, 600, go.y() + go.height() - 10)
    sheet.show()
    found = problems(window)
    assert len(found) == 1 and "'Continue' is covered" in found[0] and "sliver" in found[0]
    sheet.setGeometry(0, 0, 600, note.y() + 20)            # the button wholly, the text half
    assert problems(window) == []
    sheet.setGeometry(0, 0, 600, 400)       # over everything: the field is hidden
    found = problems(window)
    assert len(found) == 1 and "QLineEdit" in found[0] and "wholly" in found[0], found


def test_widgets_in_nested_layouts_are_no_overlays(window):
    outer = QVBoxLayout(window)
    inner = QVBoxLayout()
    outer.addLayout(inner)
    inner.addWidget(QPushButton("One"))
    inner.addWidget(QPushButton("Two"))
    for button in window.findChildren(QPushButton):
        button.setMinimumHeight(60)
    window.resize(600, 400)
    assert problems(window) == []


def test_chart_tick_labels_that_overlap_or_are_left_out_and_a_cut_title(window):
    import pyqtgraph as pg

    plot = place(pg.PlotWidget(), window, 10, 10, 200, 150)
    plot.setXRange(0, 5, padding=0)
    plot.getAxis("bottom").setTicks([[(i, f"label {i} long") for i in range(6)]])
    plot.setLabel("left", "a title far longer than the chart is high")
    window.repaint()
    found = problems(window)
    assert any("bottom axis: tick labels" in p and "overlap" in p for p in found), found
    assert any("not drawn" in p and "'label 5 long'" in p for p in found), found
    assert any("left axis: its title is cut" in p for p in found), found


def test_a_roomy_chart_passes(window):
    import pyqtgraph as pg

    plot = place(pg.PlotWidget(), window, 10, 10, 560, 360)
    plot.setXRange(-0.5, 3.5, padding=0)
    plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(4)]])
    plot.setLabel("left", "count")
    window.repaint()
    assert problems(window) == []
