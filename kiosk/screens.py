"""The shopper's screens. Each one only lays out widgets and re-labels itself per language;
the flow between them lives in `kiosk.window`."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.keyboard import OnScreenKeyboard
from kiosk.widgets import AnswerScale, LanguageBar, ReasonChips, qr_pixmap


def _label(name: str, wrap: bool = True, align=Qt.AlignCenter) -> QLabel:
    label = QLabel()
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


class AttractScreen(Screen):
    """Store name and an invitation; a tap anywhere starts. A long press in the top-left
    corner (invisible, for staff) asks for the manager PIN."""
    tapped = Signal()
    admin_requested = Signal()
    LONG_PRESS_MS = 1500

    def __init__(self, strings, languages, store_name: str, parent=None):
        super().__init__(strings, languages, parent)
        self.store_name = store_name
        self.welcome = _label("welcome")
        self.prompt = _label("prompt")
        self.tap = _label("tap")
        self.body.addStretch(2)
        for label in (self.welcome, self.prompt):
            self.body.addWidget(label)
        self.body.addStretch(1)
        self.body.addWidget(self.tap)
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
        self.welcome.setText(self.strings.get(lang, "attract.welcome", store=self.store_name))
        self.prompt.setText(self.strings.get(lang, "attract.prompt"))
        self.tap.setText(self.strings.get(lang, "attract.tap"))

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


class FollowUpScreen(Screen):
    """'What went wrong / what would make it a 10 / what did you like': reason chips from the
    config and an optional comment typed on the on-screen keyboard."""
    submitted = Signal(list, str)

    def __init__(self, strings, languages, reasons, free_text: bool, parent=None):
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
        self.keyboard = OnScreenKeyboard(strings)
        self.keyboard.attach(self.comment)
        self.keyboard.hide()
        self.keyboard.done.connect(self.keyboard.hide)
        self.comment.mousePressEvent = lambda event: self.keyboard.show()
        self.next = QPushButton()
        self.next.setObjectName("primary")
        self.next.clicked.connect(
            lambda: self.submitted.emit(self.chips.selected(), self.comment.text()))
        self.body.addWidget(self.question)
        self.body.addWidget(self.hint)
        self.body.addStretch(1)
        self.body.addWidget(self.chips)
        self.body.addStretch(1)
        self.body.addWidget(self.comment)
        self.body.addWidget(self.keyboard)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.next)
        self.body.addLayout(row)

    def start(self, group: str) -> None:
        self.group = group
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


class ThanksScreen(Screen):
    """A thank-you that fits the shopper's answer; promoters also get the review QR code."""
    tapped = Signal()

    def __init__(self, strings, languages, review_url: str, parent=None):
        super().__init__(strings, languages, parent)
        self.languages.hide()
        self.review_url = review_url
        self.group = "promoter"
        self.thanks = _label("thanks")
        self.review = _label("prompt")
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignCenter)
        self.body.addStretch(1)
        self.body.addWidget(self.thanks)
        self.body.addWidget(self.review)
        self.body.addWidget(self.qr)
        self.body.addStretch(1)

    def start(self, group: str, lang: str) -> None:
        self.group = group
        self.retranslate(lang)

    def mousePressEvent(self, event):
        event.accept()

    def mouseReleaseEvent(self, event):
        self.tapped.emit()

    def retranslate(self, lang: str) -> None:
        self.thanks.setText(self.strings.get(lang, f"thanks.{self.group}"))
        show_qr = self.group == "promoter" and bool(self.review_url)
        self.review.setText(self.strings.get(lang, "thanks.review") if show_qr else "")
        self.review.setVisible(show_qr)
        self.qr.setVisible(show_qr)
        if show_qr:
            self.qr.setPixmap(qr_pixmap(self.review_url, max(160, self.height() // 3)))


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
