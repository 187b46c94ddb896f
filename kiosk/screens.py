"""The shopper's screens. Each one only lays out widgets and re-labels itself per language;
the flow between them lives in `kiosk.window`."""
from __future__ import annotations

import logging
import math

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.keyboard import OnScreenKeyboard
from kiosk.theme import DEFAULT_DIAGONAL_IN
from kiosk.widgets import (AnswerScale, BalancedLabel, LanguageBar, ReasonChips, logo_pixmap,
                           qr_pixmap)
from station.wording import quantity

log = logging.getLogger("kiosk")

# Seconds a shopper takes per screen of the survey, reading included (the comment is optional
# and not counted): what the attract screen promises, rounded up to 5 s.
SECONDS = {"score": 8, "followup": 10, "csat": 6, "ces": 6, "first_visit": 4}
NBSP = "\u00a0"


def length_promise(steps: list[str], lang: str) -> dict[str, str]:
    """'4 quick questions' and 'about 30 seconds' for a survey of these steps, in `lang`
    (station.wording decides 1 question / 2 questions; a number never parts from its noun).

        length_promise(["score", "followup", "csat", "ces"], "en")
        # {'questions': '4 quick questions', 'seconds': '30 seconds'}
    """
    seconds = 5 * math.ceil(sum(SECONDS.get(step, 8) for step in steps) / 5)
    return {"questions": quantity(len(steps), "quick questions", lang).replace(" ", NBSP, 1),
            "seconds": quantity(seconds, "seconds", lang).replace(" ", NBSP, 1)}


def _label(name: str, wrap: bool = True, align=Qt.AlignCenter) -> QLabel:
    """A label styled by `name`; centred wrapped text gets balanced lines (no lone last word)."""
    label = BalancedLabel() if wrap and align == Qt.AlignCenter else QLabel()
    label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setAlignment(align)
    return label


class Screen(QWidget):
    """A page with a language toggle and a progress hint at the top."""

    def __init__(self, strings, languages, parent=None):
        super().__init__(parent)
        self.strings = strings
        self.languages = LanguageBar(strings, languages)
        self.progress = _label("progress", align=Qt.AlignLeft | Qt.AlignVCenter)
        top = QHBoxLayout()
        top.addWidget(self.progress, 1)
        top.addWidget(self.languages)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(48, 24, 48, 32)
        self.body.addLayout(top)

    def retranslate(self, lang: str) -> None:
        self.languages.set_current(lang)

    def set_progress(self, lang: str, step: int | None, total: int | None) -> None:
        self.progress.setText(self.strings.get(lang, "progress", step=step, total=total)
                              if step else "")

    def fit(self, size: tuple[int, int], min_touch: int) -> None:
        """Called by the window when it is sized for a (width, height) screen whose touch
        targets must be at least `min_touch` px: what a screen lays out by the screen's
        size, not its own (a hidden page of the stack keeps an old size)."""


class AttractScreen(Screen):
    """The store's logo (on a white card, as logos are drawn for paper) or its name on the
    store's colour, an invitation that says how long the survey takes, and 'tap anywhere'.
    A tap anywhere starts. A long press in the top-left corner (invisible, for staff) asks
    for the manager PIN.

        screen = AttractScreen(strings, ["vi", "en"], "CX Demo Store", logo="logo.svg",
                               steps=["score", "followup", "csat"])
    """
    tapped = Signal()
    admin_requested = Signal()
    LONG_PRESS_MS = 1500

    def __init__(self, strings, languages, store_name: str, logo=None, steps=("score",
                 "followup"), parent=None):
        super().__init__(strings, languages, parent)
        self.setObjectName("attract")
        self.setAttribute(Qt.WA_StyledBackground, True)     # the store's colour, from QSS
        self.store_name = store_name
        self.logo_path = logo
        self.steps = list(steps)
        self.logo = QLabel()
        self.logo.setObjectName("logo")
        self.logo.setAlignment(Qt.AlignCenter)
        self.logo.hide()
        self.welcome = _label("welcome")
        self.prompt = _label("prompt")
        self.tap = _label("tap", wrap=False)
        self.body.addStretch(2)
        self.body.addWidget(self.logo, 0, Qt.AlignHCenter)
        for label in (self.welcome, self.prompt):
            self.body.addWidget(label)
        self.body.addStretch(1)
        self.body.addWidget(self.tap, 0, Qt.AlignHCenter)
        self.body.addStretch(2)
        self.corner = QWidget(self)          # the hidden staff hot-spot
        self.corner.setObjectName("corner")
        self.corner.setAttribute(Qt.WA_TranslucentBackground)
        self.corner.setStyleSheet("background: transparent;")
        self.corner.setGeometry(0, 0, 140, 140)
        self.corner.mousePressEvent = self._corner_down
        self.corner.mouseReleaseEvent = self._corner_up
        self.long_press = QTimer(self)
        self.long_press.setSingleShot(True)
        self.long_press.setInterval(self.LONG_PRESS_MS)
        self.long_press.timeout.connect(self.admin_requested)
        # For staff, without the PIN: how many items wait (cases, alerts), never what they
        # say -- a shopper sees it too. Taps go through it to the screen.
        self.badge = _label("badge", wrap=False)
        self.badge.setParent(self)
        self.badge.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.badge.hide()
        self.open_items = 0
        self.lang = languages[0]
        self.logo_box = QSize()

    @property
    def has_logo(self) -> bool:
        return not self.logo.isHidden()

    def fit(self, size: tuple[int, int], min_touch: int) -> None:
        """Space the lines for a window of `size` and size the logo: up to a quarter of the
        short side high and two thirds of the width wide."""
        width, height = size
        self.body.setSpacing(min_touch // 4)
        box = QSize(int(width * 2 / 3), int(min(width, height) / 4))
        if box == self.logo_box or self.logo_path is None:
            return
        self.logo_box = box
        pixmap = logo_pixmap(self.logo_path, box)
        if pixmap.isNull():
            log.warning("the logo %s cannot be read: the store name is shown instead",
                        self.logo_path)
            self.logo_path = None
            self.logo.hide()
        else:
            self.logo.setPixmap(pixmap)
            self.logo.show()
        self.retranslate(self.lang)

    def set_open_items(self, n: int) -> None:
        self.open_items = n
        self.badge.setText(self.strings.get(self.lang, "attract.badge",
                                            n=n if n <= 99 else "99+"))
        self.badge.adjustSize()
        self.badge.setVisible(n > 0)
        self._place_badge()

    def _place_badge(self) -> None:
        margin = max(8, self.height() // 60)
        self.badge.move(margin, margin)
        self.badge.raise_()
        self.corner.raise_()

    def retranslate(self, lang: str) -> None:
        super().retranslate(lang)
        self.lang = lang
        get = self.strings.get
        if self.has_logo:
            self.welcome.setText(get(lang, "attract.welcome.logo"))
        else:
            self.welcome.setText(get(lang, "attract.welcome", store=self.store_name))
        self.prompt.setText(get(lang, "attract.prompt", **length_promise(self.steps, lang)))
        self.tap.setText(get(lang, "attract.tap"))

    def resizeEvent(self, event):
        side = max(80, min(self.width(), self.height()) // 8)
        self.corner.setGeometry(0, 0, side, side)
        self._place_badge()
        super().resizeEvent(event)

    def mousePressEvent(self, event):
        event.accept()

    def mouseReleaseEvent(self, event):
        self.tapped.emit()

    def _corner_down(self, event):
        self.long_press.start()

    def _corner_up(self, event):
        if self.long_press.isActive():       # a short tap in the corner starts the survey
            self.long_press.stop()
            self.tapped.emit()


class ScaleScreen(Screen):
    """One question answered on a number scale (NPS 0-10, CSAT 1-5, CES 1-7)."""
    chosen = Signal(int)
    skipped = Signal()

    def __init__(self, strings, languages, key: str, lo: int, hi: int, store_name: str = "",
                 skippable: bool = True, parent=None):
        super().__init__(strings, languages, parent)
        self.key, self.store_name = key, store_name
        self.question = _label("question")
        self.scale = AnswerScale(lo, hi)
        self.scale.chosen.connect(self.chosen)
        self.skip = QPushButton()
        self.skip.setObjectName("skip")
        self.skip.clicked.connect(self.skipped)
        self.skip.setVisible(skippable)
        self.body.addStretch(1)
        self.body.addWidget(self.question)
        self.body.addStretch(1)
        self.body.addWidget(self.scale, 3)
        self.body.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.skip)
        self.body.addLayout(row)

    def retranslate(self, lang: str) -> None:
        super().retranslate(lang)
        get = self.strings.get
        self.question.setText(get(lang, f"{self.key}.question", store=self.store_name))
        self.scale.set_labels(get(lang, f"{self.key}.low"), get(lang, f"{self.key}.high"))
        self.skip.setText(get(lang, "button.skip"))

    def fit(self, size: tuple[int, int], min_touch: int) -> None:
        """One row of buttons where each gets at least 1.25 touch sizes across, else two rows
        (0-10 on a portrait screen); a button at most twice the touch size high."""
        margins = self.body.contentsMargins()
        room = size[0] - margins.left() - margins.right()
        gap = max(6, min_touch // 8)
        count = len(self.scale.buttons)
        one_row = (room - gap * (count - 1)) / count >= 1.25 * min_touch
        self.scale.grid.setSpacing(gap)
        self.scale.set_per_row(count if one_row else math.ceil(count / 2))
        for button in self.scale.buttons.values():
            button.setMaximumHeight(2 * min_touch)


class FollowUpScreen(Screen):
    """'What went wrong / what would make it a 10 / what did you like': reason chips from the
    config and an optional comment typed on the on-screen keyboard, which floats over the
    window clear of the comment field (kiosk/keyboard.py), so Continue stays where it is.
    While it is open the chips and their hint step aside (still chosen): a chip half under the
    keyboard would leave a sliver to tap by mistake. After a low score it also offers 'report
    a problem / I'd like to be contacted' (`complain`), which leads to the complaint screen."""
    submitted = Signal(list, str)
    complain = Signal(list, str)

    def __init__(self, strings, languages, reasons, free_text: bool,
                 diagonal_in: float = DEFAULT_DIAGONAL_IN, parent=None):
        super().__init__(strings, languages, parent)
        self.reasons = reasons                  # config.kiosk.reasons
        self.group = "promoter"
        self.lang = None
        self.question = _label("question")
        self.hint = _label("hint")
        self.chips = ReasonChips()
        self.comment = QLineEdit()
        self.comment.setMaxLength(500)
        self.comment.setVisible(free_text)
        self.keyboard = OnScreenKeyboard(strings, self, diagonal_in)
        self.keyboard.attach(self.comment)
        self.keyboard.hide()
        self.keyboard.done.connect(self.keyboard.hide)
        self.keyboard.shown.connect(lambda typing: (self.chips.setVisible(not typing),
                                                    self.hint.setVisible(not typing)))
        self.comment.mousePressEvent = lambda event: self.keyboard.show()
        self.next = QPushButton()
        self.next.setObjectName("primary")
        self.next.clicked.connect(
            lambda: self.submitted.emit(self.chips.selected(), self.comment.text()))
        self.report = QPushButton()
        self.report.setObjectName("report")
        self.report.clicked.connect(
            lambda: self.complain.emit(self.chips.selected(), self.comment.text()))
        self.report.hide()
        self.body.addWidget(self.question)
        self.body.addWidget(self.hint)
        self.body.addStretch(1)
        self.body.addWidget(self.chips)
        self.body.addStretch(1)
        self.body.addWidget(self.comment)
        row = QHBoxLayout()
        row.addWidget(self.report)
        row.addStretch(1)
        row.addWidget(self.next)
        self.body.addLayout(row)

    def start(self, group: str, offer_complaint: bool = False) -> None:
        self.group = group
        self.report.setVisible(offer_complaint)
        self.chips.clear()
        self.comment.clear()
        self.keyboard.hide()
        if self.lang:
            self.retranslate(self.lang)

    def retranslate(self, lang: str) -> None:
        super().retranslate(lang)
        self.lang = lang
        get = self.strings.get
        self.question.setText(get(lang, f"followup.{self.group}"))
        reasons = getattr(self.reasons, self.group)
        self.hint.setText(get(lang, "followup.hint") if reasons else "")
        self.chips.show_reasons(reasons, lang)
        self.comment.setPlaceholderText(get(lang, "comment.placeholder"))
        self.keyboard.set_language(lang)
        self.next.setText(get(lang, "button.next"))
        self.report.setText(get(lang, "complaint.offer"))

    def fit(self, size: tuple[int, int], min_touch: int) -> None:
        """The reason chips in as many columns as their texts have room for."""
        margins = self.body.contentsMargins()
        self.chips.set_room(size[0] - margins.left() - margins.right())


class ThanksScreen(Screen):
    """A thank-you that fits the shopper's answer; promoters also get the review QR code, two
    fifths of the screen's short side (scannable from arm's length), with a caption.

    The code is sized from the window, not from this page: a page of a QStackedWidget that
    has never shown keeps Qt's 640x480 until it does, and the first promoter would get a
    code a third the size of the next one's."""
    tapped = Signal()
    QR_SHARE = 0.4                       # of the short side, quiet zone included

    def __init__(self, strings, languages, review_urls: dict[str, str], parent=None):
        super().__init__(strings, languages, parent)
        self.languages.hide()
        self.review_urls = review_urls        # per language ([kiosk] review_urls, review_url)
        self.complained = False
        self.group = "promoter"
        self.lang = languages[0]
        self.thanks = _label("thanks")
        self.review = _label("prompt")
        self.qr = QLabel()
        self.qr.setObjectName("qr")
        self.qr.setAlignment(Qt.AlignCenter)
        self.caption = _label("caption")
        self.qr_key = None
        self.body.addStretch(1)
        self.body.addWidget(self.thanks)
        self.body.addWidget(self.review)
        self.body.addWidget(self.qr)
        self.body.addWidget(self.caption)
        self.body.addStretch(1)

    @property
    def review_url(self) -> str:
        return self.review_urls.get(self.lang, "")

    def start(self, group: str, lang: str, complained: bool = False) -> None:
        self.group = group
        self.complained = complained
        self.retranslate(lang)

    def fit(self, size: tuple[int, int], min_touch: int) -> None:
        self._show_qr(size)

    def mousePressEvent(self, event):
        event.accept()

    def mouseReleaseEvent(self, event):
        self.tapped.emit()

    def retranslate(self, lang: str) -> None:
        self.lang = lang
        get = self.strings.get
        self.thanks.setText(get(lang, "thanks.complaint" if self.complained
                                else f"thanks.{self.group}"))
        show_qr = self.group == "promoter" and bool(self.review_url)
        self.review.setText(get(lang, "thanks.review") if show_qr else "")
        self.caption.setText(get(lang, "thanks.qr.caption") if show_qr else "")
        for widget in (self.review, self.qr, self.caption):
            widget.setVisible(show_qr)
        if show_qr:
            self._show_qr()

    def _show_qr(self, size: tuple[int, int] | None = None) -> None:
        if not self.review_url:
            return
        window = self.window()
        width, height = size or (window.width(), window.height())
        side = math.ceil(min(width, height) * self.QR_SHARE)
        if (self.review_url, side) != self.qr_key:
            self.qr_key = (self.review_url, side)
            self.qr.setPixmap(qr_pixmap(self.review_url, side))


class ChoiceScreen(Screen):
    """One question answered by a choice of two (the first-visit question: yes / no), each a
    whole-width button, with Skip: `chosen` carries True, False or None (skipped)."""
    chosen = Signal(object)

    def __init__(self, strings, languages, key: str, parent=None):
        super().__init__(strings, languages, parent)
        self.key = key
        self.question = _label("question")
        self.yes, self.no = QPushButton(), QPushButton()
        self.skip = QPushButton()
        self.skip.setObjectName("skip")
        for button, value in ((self.yes, True), (self.no, False), (self.skip, None)):
            button.clicked.connect(lambda _=False, v=value: self.chosen.emit(v))
        for button in (self.yes, self.no):
            button.setObjectName("choice")
        self.body.addStretch(1)
        self.body.addWidget(self.question)
        self.body.addStretch(1)
        self.body.addWidget(self.yes)
        self.body.addWidget(self.no)
        self.body.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.skip)
        self.body.addLayout(row)

    def retranslate(self, lang: str) -> None:
        super().retranslate(lang)
        get = self.strings.get
        self.question.setText(get(lang, f"{self.key}.question"))
        self.yes.setText(get(lang, f"{self.key}.yes"))
        self.no.setText(get(lang, f"{self.key}.no"))
        self.skip.setText(get(lang, "button.skip"))

    def fit(self, size: tuple[int, int], min_touch: int) -> None:
        self.body.setSpacing(min_touch // 3)
        for button in (self.yes, self.no):
            button.setMinimumHeight(int(1.5 * min_touch))


class ComplaintScreen(Screen):
    """'Tell us about the problem': what happened, and -- only if the shopper wants to be
    contacted -- a name and a phone number or e-mail, each optional, typed on the on-screen
    keyboard (it floats clear of the field typed into). While it is open the other fields and
    the hint step aside (their text kept): a field half under the keyboard would be a sliver
    to tap by mistake; Done brings them back. Send is the complaint; Back returns to the
    survey without one. The fields are cleared for every shopper."""
    sent = Signal(str, str, str)            # problem, name, phone or e-mail
    cancelled = Signal()

    def __init__(self, strings, languages, diagonal_in: float = DEFAULT_DIAGONAL_IN,
                 parent=None):
        super().__init__(strings, languages, parent)
        self.question = _label("question")
        self.hint = _label("hint")
        self.problem, self.name, self.contact = QLineEdit(), QLineEdit(), QLineEdit()
        self.problem.setMaxLength(500)
        self.name.setMaxLength(100)
        self.contact.setMaxLength(100)
        self.keyboard = OnScreenKeyboard(strings, self, diagonal_in)
        self.keyboard.hide()
        self.keyboard.done.connect(self.keyboard.hide)
        self.keyboard.shown.connect(self._step_aside)
        for field in self.fields:
            field.mousePressEvent = lambda event, f=field: self.type_into(f)
        self.send = QPushButton()
        self.send.setObjectName("primary")
        self.send.clicked.connect(lambda: self.sent.emit(
            self.problem.text(), self.name.text(), self.contact.text()))
        self.back = QPushButton()
        self.back.setObjectName("skip")
        self.back.clicked.connect(self.cancelled)
        # top-aligned, Send right under the fields: the keyboard docks below them all
        self.body.addWidget(self.question)
        self.body.addWidget(self.hint)
        for field in self.fields:
            self.body.addWidget(field)
        row = QHBoxLayout()
        row.addWidget(self.back)
        row.addStretch(1)
        row.addWidget(self.send)
        self.body.addLayout(row)
        self.body.addStretch(1)

    @property
    def fields(self) -> tuple[QLineEdit, QLineEdit, QLineEdit]:
        return self.problem, self.name, self.contact

    def type_into(self, field: QLineEdit) -> None:
        self.keyboard.attach(field)
        field.setFocus()
        if self.keyboard.isVisible():
            self._step_aside(True)
        else:
            self.keyboard.show()

    def _step_aside(self, typing: bool) -> None:
        """Only the field typed into stays in view while the keyboard is open."""
        self.hint.setVisible(not typing)
        for field in self.fields:
            field.setVisible(not typing or field is self.keyboard.target)
        if typing:                  # the field moved: dock the keyboard clear of where it is now
            self.body.activate()
            self.keyboard.place()

    def start(self) -> None:
        for field in self.fields:
            field.clear()
        self.keyboard.hide()

    def retranslate(self, lang: str) -> None:
        super().retranslate(lang)
        get = self.strings.get
        self.question.setText(get(lang, "complaint.title"))
        self.hint.setText(get(lang, "complaint.hint"))
        for field, key in zip(self.fields, ("problem", "name", "contact")):
            field.setPlaceholderText(get(lang, f"complaint.{key}"))
        self.keyboard.set_language(lang)
        self.send.setText(get(lang, "complaint.send"))
        self.back.setText(get(lang, "complaint.cancel"))


class UnavailableScreen(Screen):
    """Shown while the database cannot be written; the kiosk retries behind it."""

    def __init__(self, strings, languages, parent=None):
        super().__init__(strings, languages, parent)
        self.languages.hide()
        self.title = _label("question")
        self.text = _label("prompt")
        self.body.addStretch(1)
        self.body.addWidget(self.title)
        self.body.addWidget(self.text)
        self.body.addStretch(1)

    def retranslate(self, lang: str) -> None:
        self.title.setText(self.strings.get(lang, "unavailable.title"))
        self.text.setText(self.strings.get(lang, "unavailable.body"))
