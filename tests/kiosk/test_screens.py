"""Issue 20, the shopper's screens: the review QR code as large for the first promoter as for
the next (and scannable: a third of the screen's short side or more), the store's logo or
name on its colour with readable text, a time promise that matches the survey configured, no
word alone on a wrapped question and touch-sized answer buttons at 1920x1080, 1280x800 and
portrait 1080x1920, in Vietnamese and English. Real widgets, offscreen."""
import itertools
import math
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage, QTextLayout, QTextOption
from PySide6.QtWidgets import QApplication, QLabel

from kiosk import theme
from kiosk.screens import length_promise
from kiosk_testlib import DEMO, make_config, tap

SIZES = [(1920, 1080), (1280, 800), (1080, 1920)]
LANGUAGES = ("vi", "en")
NBSP = "\u00a0"


def sized(qtbot, window, size):
    """The kiosk window on a screen of `size`, laid out (scaled first, as on start-up)."""
    window.apply_scale(*size)
    window.resize(*size)
    qtbot.wait(20)
    QApplication.instance().processEvents()
    assert (window.width(), window.height()) == size


def to_thanks(qtbot, window, score):
    """Through a survey of NPS and follow-up to the thank-you screen."""
    qtbot.waitUntil(lambda: window.current == "attract", timeout=3000)
    tap(qtbot, window.screens["attract"])
    tap(qtbot, window.screens["score"].scale.buttons[score])
    tap(qtbot, window.screens["followup"].next)
    assert window.current == "thanks"


def dark_extent(pixmap) -> int:
    """How wide the QR code's dark modules spread (its quiet zone left out), in px."""
    image = pixmap.toImage()
    dark = [x for y in range(0, image.height(), 3) for x in range(image.width())
            if QColor(image.pixel(x, y)).lightness() < 128]
    return max(dark) - min(dark) + 1 if dark else 0


# -- the review QR code ------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)])
def test_the_first_promoters_qr_is_as_large_as_the_next_and_a_third_of_the_short_side(
        qtbot, make_kiosk, tmp_path, size):
    config = make_config(tmp_path, csat=False, ces=False, thank_you_s=0.3)
    window, _ = make_kiosk(config)
    sized(qtbot, window, size)
    qr = window.screens["thanks"].qr
    seen = []
    for _ in range(2):
        to_thanks(qtbot, window, 10)
        assert qr.isVisibleTo(window)
        seen.append((qr.pixmap().width(), qr.pixmap().height(), dark_extent(qr.pixmap())))
    assert seen[0] == seen[1]
    short = min(size)
    width, height, dark = seen[0]
    assert width == height and dark >= short / 3, (seen, short)
    # it fits: the whole code shows on the screen
    assert qr.geometry().height() >= height and qr.mapTo(window, qr.rect().bottomRight()).y() \
        <= window.height()


def test_the_qr_follows_the_screen_when_it_is_resized(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, csat=False, ces=False, thank_you_s=5)
    window, _ = make_kiosk(config)
    sized(qtbot, window, (1280, 800))
    to_thanks(qtbot, window, 9)
    small = window.screens["thanks"].qr.pixmap().width()
    sized(qtbot, window, (1920, 1080))
    large = window.screens["thanks"].qr.pixmap().width()
    assert small >= 800 / 3 and large >= 1080 / 3 and large > small


# -- branding ----------------------------------------------------------------------------
def test_the_attract_screen_shows_the_configured_logo(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path)
    assert config.kiosk.logo == DEMO.parent / "demo-logo.svg"
    window, _ = make_kiosk(config)
    attract = window.screens["attract"]
    assert attract.logo.isVisibleTo(window) and not attract.logo.pixmap().isNull()
    assert config.station.name not in attract.welcome.text()
    assert attract.welcome.text() == window.strings.get("vi", "attract.welcome.logo")
    # at most a quarter of the short side high, and inside the window
    logo = attract.logo.pixmap()
    assert 0 < logo.height() <= 800 / 4 and logo.width() <= 1280


def test_a_png_logo_shows_too(qtbot, make_kiosk, tmp_path):
    path = tmp_path / "logo.png"
    image = QImage(400, 100, QImage.Format_ARGB32)
    image.fill(QColor("#e30613"))
    assert image.save(str(path))
    window, _ = make_kiosk(make_config(tmp_path, logo=path))
    logo = window.screens["attract"].logo
    assert logo.isVisibleTo(window)
    assert logo.pixmap().width() / logo.pixmap().height() == pytest.approx(4, rel=0.02)


@pytest.mark.parametrize("logo", [None, "broken"])
def test_without_a_readable_logo_the_attract_screen_names_the_store(qtbot, make_kiosk,
                                                                     tmp_path, logo):
    if logo == "broken":
        logo = tmp_path / "logo.png"
        logo.write_bytes(b"not an image")
    config = make_config(tmp_path, logo=logo)
    window, _ = make_kiosk(config)
    attract = window.screens["attract"]
    assert not attract.logo.isVisibleTo(window)
    assert attract.welcome.text() == window.strings.get("vi", "attract.welcome",
                                                        store="CX Demo Store")
    tap(qtbot, window.screens["attract"].languages.buttons["en"])
    assert attract.welcome.text() == "Welcome to CX Demo Store"


def pixel(widget, x, y) -> str:
    return QColor(widget.grab().toImage().pixel(x, y)).name()


@pytest.mark.parametrize("brand", ["#ffd200", "#2f6f5e"])
def test_the_brand_colour_paints_the_attract_screen_and_primary_buttons_with_readable_text(
        qtbot, make_kiosk, tmp_path, brand):
    window, _ = make_kiosk(make_config(tmp_path, brand_color=brand))
    attract = window.screens["attract"]
    assert pixel(attract, attract.width() - 5, attract.height() - 5) == brand
    ink = theme.text_on(brand)
    assert theme.contrast(ink, brand) >= 4.5
    welcome = attract.welcome
    assert welcome.palette().color(welcome.foregroundRole()).name() == ink
    # the pill is the reverse: the brand colour on the text colour
    pill = attract.tap
    assert pixel(pill, pill.width() // 2, 3) == ink
    assert pill.palette().color(pill.foregroundRole()).name() == brand
    # the follow-up's Next button
    tap(qtbot, attract)
    tap(qtbot, window.screens["score"].scale.buttons[9])
    button = window.screens["followup"].next
    assert pixel(button, 8, button.height() // 2) == brand
    assert button.palette().color(button.foregroundRole()).name() == ink


def test_text_on_picks_white_or_dark_text_readable_on_any_colour():
    assert theme.text_on("#0b5cab") == "#ffffff"          # the default blue: white
    assert theme.text_on("#ffd200") == theme.INK          # a yellow: the kiosk's ink
    assert theme.text_on("#ffffff") == theme.INK
    assert theme.text_on("#000000") == "#ffffff"
    steps = range(0, 256, 15)
    for r, g, b in itertools.product(steps, steps, steps):
        colour = f"#{r:02x}{g:02x}{b:02x}"
        assert theme.contrast(theme.text_on(colour), colour) >= 4.5, colour


def test_contrast_is_the_wcag_ratio():
    assert theme.contrast("#ffffff", "#000000") == pytest.approx(21)
    assert theme.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert theme.contrast("#0b5cab", "#ffffff") == theme.contrast("#ffffff", "#0b5cab")


# -- the time promise --------------------------------------------------------------------
@pytest.mark.parametrize("csat, ces, en, vi", [
    (False, False, "2 quick questions, about 20 seconds", "2 câu hỏi ngắn, khoảng 20 giây"),
    (True, False, "3 quick questions, about 25 seconds", "3 câu hỏi ngắn, khoảng 25 giây"),
    (True, True, "4 quick questions, about 30 seconds", "4 câu hỏi ngắn, khoảng 30 giây"),
])
def test_the_attract_screen_promises_the_survey_configured(qtbot, make_kiosk, tmp_path,
                                                           csat, ces, en, vi):
    window, _ = make_kiosk(make_config(tmp_path, csat=csat, ces=ces))
    prompt = window.screens["attract"].prompt
    assert prompt.text().replace(NBSP, " ").endswith(vi)
    tap(qtbot, window.screens["attract"].languages.buttons["en"])
    assert prompt.text().replace(NBSP, " ") == f"Tell us about your visit: {en}"
    # and it is as many questions as the progress counts
    tap(qtbot, window.screens["attract"])
    total = len(window.survey.steps)
    assert window.screens["score"].progress.text() == f"Question 1 of {total}"
    assert en.startswith(f"{total} ")


def test_the_promise_never_parts_a_number_from_its_noun():
    promise = length_promise(["score", "followup", "csat"], "vi")
    assert promise == {"questions": f"3{NBSP}câu hỏi ngắn", "seconds": f"25{NBSP}giây"}


# -- no word alone on a line ---------------------------------------------------------------
def lines_of(label: QLabel) -> list[str]:
    """The lines Qt wraps `label`'s text into at its width (QTextLayout, as the label)."""
    option = QTextOption()
    option.setWrapMode(QTextOption.WordWrap)
    layout = QTextLayout(label.text(), label.font())
    layout.setTextOption(option)
    layout.beginLayout()
    lines = []
    while (line := layout.createLine()).isValid():
        line.setLineWidth(label.contentsRect().width())
        lines.append(label.text()[line.textStart():line.textStart() + line.textLength()])
    layout.endLayout()
    return lines


def shopper_labels(window):
    """Every wrapped label the shopper may see, screen by screen, in every state."""
    s = window.screens
    yield "attract", s["attract"]
    for key in ("score", "csat", "ces"):
        yield key, s[key]
    for group in ("detractor", "passive", "promoter"):
        s["followup"].start(group)
        yield f"followup-{group}", s["followup"]
        s["thanks"].start(group, window.lang)
        yield f"thanks-{group}", s["thanks"]
    yield "unavailable", s["unavailable"]


@pytest.mark.parametrize("size", SIZES)
def test_no_word_is_left_alone_on_a_wrapped_line(qtbot, make_kiosk, tmp_path, size):
    window, _ = make_kiosk(make_config(tmp_path))
    sized(qtbot, window, size)
    checked = wrapped = 0
    for lang in LANGUAGES:
        window.set_language(lang)
        for name, screen in shopper_labels(window):
            window.stack.setCurrentWidget(screen)
            QApplication.instance().processEvents()
            for label in screen.findChildren(QLabel):
                if not (label.isVisibleTo(window) and label.wordWrap() and label.text()):
                    continue
                lines = lines_of(label)
                checked += 1
                wrapped += len(lines) > 1
                if len(label.text().split()) >= 3:
                    alone = [line for line in lines if len(line.split()) == 1]
                    assert not alone, f"{name}/{lang}/{size}: {lines}"
                # the text is as translated: the lines are balanced, the words untouched
                assert NBSP not in label.text() or name == "attract"
    assert checked > 40 and (wrapped > 0 or size == (1920, 1080))


def test_the_nps_question_wraps_in_balanced_lines_at_full_hd(qtbot, make_kiosk, tmp_path):
    window, _ = make_kiosk(make_config(tmp_path))
    sized(qtbot, window, (1920, 1080))
    question = window.screens["score"].question
    window.stack.setCurrentWidget(window.screens["score"])
    QApplication.instance().processEvents()
    assert question.text() == window.strings.get("vi", "score.question", store="CX Demo Store")
    first, last = lines_of(question)                      # two lines, "không?" not alone
    assert len(last.split()) >= 3
    assert abs(len(first) - len(last)) < max(len(first), len(last)) / 2


# -- touch targets -------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_answer_buttons_are_at_least_the_touch_minimum(qtbot, make_kiosk, tmp_path, size):
    config = make_config(tmp_path)
    window, _ = make_kiosk(config)
    sized(qtbot, window, size)
    least = max(theme.min_touch_px(size, config.kiosk.screen_diagonal_in),
                theme.sizes(theme.shopper_scale_for(*size))["touch"])
    nine_mm = 9 * theme.px_per_mm(size, config.kiosk.screen_diagonal_in)
    for key in ("score", "csat", "ces"):
        screen = window.screens[key]
        window.stack.setCurrentWidget(screen)
        QApplication.instance().processEvents()
        buttons = [screen.skip] if key != "score" else []
        buttons += list(screen.scale.buttons.values()) + list(screen.languages.buttons.values())
        for button in buttons:
            assert min(button.width(), button.height()) >= max(least, nine_mm), \
                (key, button.text(), button.size(), least)
            corner = button.mapTo(window, button.rect().bottomRight())
            assert corner.x() < window.width() and corner.y() < window.height()
    rows = {b.y() for b in window.screens["score"].scale.buttons.values()}
    assert len(rows) == (2 if size[1] > size[0] else 1)


def test_a_small_dense_screen_gets_buttons_of_9_mm(qtbot, make_kiosk, tmp_path):
    config = make_config(tmp_path, screen_diagonal_in=7.0)
    window, _ = make_kiosk(config)
    sized(qtbot, window, (1920, 1080))
    nine_mm = math.ceil(9 * theme.px_per_mm((1920, 1080), 7.0))
    assert nine_mm > theme.sizes(1.0)["touch"]
    window.stack.setCurrentWidget(window.screens["score"])
    QApplication.instance().processEvents()
    for button in window.screens["score"].scale.buttons.values():
        assert min(button.width(), button.height()) >= nine_mm


@pytest.mark.parametrize("size", SIZES)
def test_the_reason_chips_fit_the_screen(qtbot, make_kiosk, tmp_path, size):
    window, _ = make_kiosk(make_config(tmp_path))
    sized(qtbot, window, size)
    least = theme.min_touch_px(size, 21.5)
    follow = window.screens["followup"]
    for lang, group in itertools.product(LANGUAGES, ("detractor", "passive", "promoter")):
        window.set_language(lang)
        follow.start(group)
        window.stack.setCurrentWidget(follow)
        QApplication.instance().processEvents()
        for chip in follow.chips.chips.values():
            assert chip.width() >= chip.sizeHint().width(), (lang, chip.text(), size)
            assert min(chip.width(), chip.height()) >= least
            right = chip.mapTo(window, chip.rect().bottomRight())
            assert right.x() < window.width() and right.y() < window.height()


def test_the_demo_logo_is_a_small_svg_of_our_own():
    logo = Path(DEMO).parent / "demo-logo.svg"
    text = logo.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text and len(text) < 4000
    assert "<image" not in text                        # drawn, not an embedded picture
