"""The kiosk window: screens in a stack and the survey flow between them.

    window = KioskWindow(config, ResponseWriter(lambda: Store.open(config)))
    window.show()

Flow: attract -> score 0-10 -> follow-up by group (after a low score: 'report a problem' ->
complaint screen, optional) -> CSAT -> CES -> first visit? (each if enabled) -> thank-you ->
attract. The response is committed when the last question is answered, or, with only what
was answered, when the shopper walks away (idle timeout). A detractor's case is opened in the
same transaction, so it is in the admin inbox (and the outbox to HQ) at once.
"""
from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QStackedWidget, QVBoxLayout, QWidget

from kiosk import theme
from kiosk.admin import AdminScreen
from kiosk.hq_settings import SettingsWatch
from kiosk.i18n import Strings
from kiosk.lock import PinLock, PinScreen
from kiosk.open_items import OpenItems
from kiosk.qtfix import RefcountGuard
from kiosk.screens import (AttractScreen, ChoiceScreen, ComplaintScreen, FollowUpScreen,
                           ScaleScreen, ThanksScreen, UnavailableScreen)
from kiosk.survey import Survey
from kiosk.writer import ResponseWriter

log = logging.getLogger("kiosk")

SURVEY_SCREENS = ("score", "followup", "complaint", "csat", "ces", "first_visit")
SHOPPER_SCREENS = ("attract", *SURVEY_SCREENS, "thanks", "unavailable")
TAP_EVENTS = (QEvent.MouseButtonPress, QEvent.MouseButtonDblClick, QEvent.TouchBegin)
RELEASE_EVENTS = (QEvent.MouseButtonRelease, QEvent.TouchEnd)


class KioskWindow(QWidget):
    exit_requested = Signal()
    committed = Signal(object, object)       # Response, case id | None (after the screen moved on)

    def __init__(self, config, writer: ResponseWriter, parent=None):
        super().__init__(parent)
        self.config = config
        self.kiosk = config.kiosk
        self.writer = writer
        self.strings = Strings.load(self.kiosk.languages)
        self.strings.set_wording(self.kiosk.wording)
        self.lang = self.kiosk.default_language
        self._settings_due = None             # HQ settings that wait for the survey to end
        self.survey: Survey | None = None
        self.last_tap = -1e9
        self.last_press_at = 0.0              # perf_counter of the last accepted press (bench)
        self.last_release_at = 0.0            # ... and release: a button fires on release
        self.swallow_release = False
        self.cooldown_until = 0.0
        self._scale = None
        self._seen = None
        self.screen_name = "attract"
        self.setWindowTitle(config.station.name or config.station.path)

        langs, name = self.kiosk.languages, config.station.name or config.station.store
        self.screens: dict[str, QWidget] = {
            "attract": AttractScreen(self.strings, langs, name, self.kiosk.logo,
                                     Survey(self.kiosk, self.lang).steps),
            "score": ScaleScreen(self.strings, langs, "score", 0, 10, name, skippable=False),
            "followup": FollowUpScreen(self.strings, langs, self.kiosk.reasons,
                                       self.kiosk.free_text, self.kiosk.screen_diagonal_in),
            "complaint": ComplaintScreen(self.strings, langs, self.kiosk.screen_diagonal_in),
            "csat": ScaleScreen(self.strings, langs, "csat", 1, 5),
            "ces": ScaleScreen(self.strings, langs, "ces", 1, 7),
            "first_visit": ChoiceScreen(self.strings, langs, "first_visit"),
            "thanks": ThanksScreen(self.strings, langs,
                                   {lang: self.kiosk.review_url_for(lang) for lang in langs}),
            "unavailable": UnavailableScreen(self.strings, langs),
            "pin": PinScreen(self.strings, langs, PinLock(self.kiosk.admin_pin_hash),
                             self.kiosk.screen_diagonal_in),
            "admin": AdminScreen(config, self.strings, writer),
        }
        self.stack = QStackedWidget()
        for screen in self.screens.values():
            self.stack.addWidget(screen)
            if hasattr(screen, "languages"):
                screen.languages.changed.connect(self.set_language)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        s = self.screens
        s["attract"].tapped.connect(self.start_survey)
        s["attract"].admin_requested.connect(self.open_pin)
        s["score"].chosen.connect(self.on_score)
        s["followup"].submitted.connect(self.on_followup)
        s["followup"].complain.connect(self.on_complain)
        s["complaint"].sent.connect(self.on_complaint_sent)
        s["complaint"].cancelled.connect(self.on_complaint_cancelled)
        s["first_visit"].chosen.connect(self.on_first_visit)
        for key in ("csat", "ces"):
            s[key].chosen.connect(lambda value, k=key: self.on_answer(k, value))
            s[key].skipped.connect(lambda k=key: self.on_answer(k, None))
        s["thanks"].tapped.connect(self.show_attract)      # the next shopper need not wait
        s["pin"].accepted.connect(self.open_admin)
        s["pin"].cancelled.connect(self.show_attract)
        s["admin"].closed.connect(self.show_attract)
        s["admin"].exit_requested.connect(self.exit_requested)

        self.idle = self._timer(self.kiosk.idle_timeout_s, self.on_idle)
        self.thanks_timer = self._timer(self.kiosk.thank_you_s, self.show_attract)
        self.admin_idle = self._timer(self.kiosk.admin_idle_s, self.close_admin)
        writer.committed.connect(self.committed)
        writer.failed.connect(self.on_db_failed)
        writer.recovered.connect(self.on_db_recovered)

        # the attract screen's staff badge: counted while it shows, at once after a commit
        self.open_items = OpenItems(config, self)
        self.open_items.counted.connect(s["attract"].set_open_items)
        writer.committed.connect(lambda *_: self.open_items.count())

        # settings pushed from HQ: wording, reasons and review URL without a restart
        self.hq_settings = SettingsWatch(config, self)
        self.hq_settings.changed.connect(self.use_settings)
        self.hq_settings.start()

        self.refcount_guard = RefcountGuard.install(self)
        self.set_language(self.lang)
        self.show_attract()
        QApplication.instance().installEventFilter(self)

    def _timer(self, seconds: float, slot) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(int(seconds * 1000))
        timer.timeout.connect(slot)
        return timer

    # -- navigation ------------------------------------------------------------------------
    @property
    def current(self) -> str:
        """The name of the screen on show (a plain attribute: cheap, safe to poll)."""
        return self.screen_name

    def show_screen(self, key: str) -> None:
        self.stack.setCurrentWidget(self.screens[key])
        self.screen_name = key
        if key == "attract":
            self.open_items.start()
        else:
            self.open_items.stop()
        if self.survey and key in SURVEY_SCREENS:
            steps = self.survey.steps
            step = key if key in steps else "followup"      # the complaint: part of it
            self.screens[key].set_progress(self.lang, steps.index(step) + 1, len(steps))

    def set_language(self, lang: str) -> None:
        self.lang = lang
        if self.survey:
            self.survey.language = lang
        for key, screen in self.screens.items():
            screen.retranslate(lang)
        if self.survey and self.current in SURVEY_SCREENS:
            self.show_screen(self.current)

    def use_settings(self, config) -> None:
        """The survey's texts, reasons and review URL from `config` (the TOML with HQ's
        settings on top); a shopper mid-survey finishes with the ones they started with."""
        if self.survey is not None:
            self._settings_due = config
            return
        self._settings_due = None
        kiosk = config.kiosk
        self.strings.set_wording(kiosk.wording)
        self.screens["followup"].reasons = kiosk.reasons
        self.screens["thanks"].review_urls = {lang: kiosk.review_url_for(lang)
                                              for lang in kiosk.languages}
        admin = self.screens["admin"]
        for part in (admin, admin.goals, admin.alerts):     # they name the reasons too
            part.config = config
        self.set_language(self.lang)

    def show_attract(self) -> None:
        if self._settings_due is not None and self.survey is None:
            self.use_settings(self._settings_due)
        self.thanks_timer.stop()
        self.admin_idle.stop()
        if self.writer.pending or self.writer.last_error:
            self.show_screen("unavailable")
            return
        if self.lang != self.kiosk.default_language:
            self.set_language(self.kiosk.default_language)
        self.show_screen("attract")

    # -- the survey ------------------------------------------------------------------------
    def start_survey(self) -> None:
        if time.monotonic() < self.cooldown_until or self.current != "attract":
            return
        self.survey = Survey(self.kiosk, self.lang)
        self.idle.start()
        self.show_screen("score")

    def on_score(self, score: int) -> None:
        if self.survey is None or self.current != "score":
            return
        self.survey.answer_score(score)
        self.screens["followup"].start(self.survey.group, self.survey.complaint_offered)
        self.show_screen("followup")

    def on_followup(self, reasons: list, comment: str) -> None:
        if self.survey is None or self.current != "followup":
            return
        self.survey.answer_reasons(reasons, comment if self.kiosk.free_text else None)
        self._advance("followup")

    def on_complain(self, reasons: list, comment: str) -> None:
        """'Report a problem': the follow-up's answers are kept, the complaint screen next."""
        if self.survey is None or self.current != "followup" \
                or not self.survey.complaint_offered:
            return
        self.survey.answer_reasons(reasons, comment if self.kiosk.free_text else None)
        self.screens["complaint"].start()
        self.show_screen("complaint")

    def on_complaint_sent(self, problem: str, name: str, contact: str) -> None:
        if self.survey is None or self.current != "complaint":
            return
        self.survey.complain(problem, name, contact)
        self._advance("followup")

    def on_complaint_cancelled(self) -> None:
        """Back: the survey goes on without a complaint."""
        if self.survey is None or self.current != "complaint":
            return
        self._advance("followup")

    def on_first_visit(self, first: bool | None) -> None:
        if self.survey is None or self.current != "first_visit":
            return
        self.survey.answer_first_visit(first)
        self._advance("first_visit")

    def on_answer(self, question: str, value: int | None) -> None:
        if self.survey is None or self.current != question:
            return
        self.survey.answer(question, value)
        self._advance(question)

    def _advance(self, after: str) -> None:
        step = self.survey.next_step(after)
        if step is None:
            self.finish(complete=True)
        else:
            self.show_screen(step)

    def finish(self, complete: bool) -> None:
        """Commit the survey (complete, or what was answered before the shopper left)."""
        survey, self.survey = self.survey, None
        self.idle.stop()
        if survey is None or survey.score is None:
            self.show_attract()
            return
        saved = self.writer.submit(survey.response(complete=complete))
        if complete:
            self.cooldown_until = time.monotonic() + self.kiosk.cooldown_s
        if not saved:
            self.show_screen("unavailable")
        elif complete:
            self.screens["thanks"].start(survey.group, self.lang,
                                         complained=survey.complaint is not None)
            self.show_screen("thanks")
            self.thanks_timer.start()
        else:
            self.show_attract()

    def on_idle(self) -> None:
        if self.survey is not None:
            log.info("survey abandoned after %.0f s idle; keeping what was answered",
                     self.kiosk.idle_timeout_s)
            self.finish(complete=False)

    # -- database trouble ------------------------------------------------------------------
    def on_db_failed(self, reason: str) -> None:
        if self.current not in ("admin", "pin") and self.survey is None:
            self.show_screen("unavailable")

    def on_db_recovered(self) -> None:
        if self.current == "unavailable":
            self.show_attract()

    # -- staff -----------------------------------------------------------------------------
    def open_pin(self) -> None:
        if self.current != "attract":
            return
        self.screens["pin"].start(self.lang)
        self.show_screen("pin")
        self.admin_idle.start()

    def open_admin(self) -> None:
        """The admin screen at once; its figures follow from a background read."""
        self.show_screen("admin")
        self.screens["admin"].open()
        self.admin_idle.start()

    def close_admin(self) -> None:
        if self.current in ("admin", "pin"):
            self.show_attract()

    # -- taps: debounce, idle --------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in TAP_EVENTS and isinstance(obj, QWidget) and obj.window() is self:
            stamp = (kind, event.timestamp())
            if stamp == self._seen:
                return False                          # the same tap, propagating to a parent
            self._seen = stamp
            if self.survey is not None:
                self.idle.start()
            if self.current in ("admin", "pin"):
                self.admin_idle.start()
            elif not _typing(obj):
                now = time.monotonic()
                if (now - self.last_tap) * 1000 < self.kiosk.debounce_ms:
                    self.swallow_release = True
                    return True                       # a double tap: the second one is ignored
                self.last_tap = now
                self.last_press_at = time.perf_counter()
        elif kind in RELEASE_EVENTS:
            if self.swallow_release:
                self.swallow_release = False
                return True
            self.last_release_at = time.perf_counter()
        return False

    def closeEvent(self, event):
        self.open_items.close()
        self.hq_settings.close()
        super().closeEvent(event)

    def apply_scale(self, width: int, height: int) -> None:
        """Size type and touch targets for a screen of width x height pixels (every target at
        least theme.min_touch_px on this kiosk's glass), in the store's colour. The shopper's
        screens take theme.shopper_scale_for (full size on a portrait screen too) and then fit
        themselves to the screen (the score's rows, the QR code, the logo)."""
        brand, diagonal = self.kiosk.brand_color, self.kiosk.screen_diagonal_in
        scale = theme.scale_for(width, height)
        min_touch = theme.min_touch_px((width, height), diagonal)
        shopper = theme.shopper_scale_for(width, height)
        shopper_touch = max(min_touch, theme.sizes(shopper)["touch"])
        if (scale, min_touch, shopper) != self._scale:
            self._scale = (scale, min_touch, shopper)
            self.setStyleSheet(theme.stylesheet(scale, brand, min_touch))
            sheet = theme.stylesheet(shopper, brand, shopper_touch) if shopper != scale else ""
            for key in SHOPPER_SCREENS:
                self.screens[key].setStyleSheet(sheet)
        for key in SHOPPER_SCREENS:
            self.screens[key].fit((width, height), shopper_touch)

    def resizeEvent(self, event):
        self.apply_scale(self.width(), self.height())
        super().resizeEvent(event)


def _typing(widget: QWidget) -> bool:
    while widget is not None:
        if widget.property("typing"):
            return True
        widget = widget.parentWidget()
    return False
