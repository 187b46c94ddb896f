"""The kiosk process: its window and response writer, the Qt application, the systemd loop.

    window, writer = build(config)              # what tests and benches drive; nothing shown
    config, app = start("config/demo.toml")     # config, logging, QApplication (None: bad config)
    sys.exit(run(config, app))                  # the kiosk on screen until SIGTERM or Ctrl-C

``cx-kiosk`` (``kiosk/__main__.py``) reads the command line and calls these;
``kiosk/screenshots.py`` renders every screen from ``build``.
"""
from __future__ import annotations

import logging
import os
import signal
import sys

from station import notify
from station.service import start_service

log = logging.getLogger("kiosk")

# The offscreen platform (demo without a screen) warns on every window resize.
_QT_NOISE = ("does not support propagateSizeHints",)


def build(config, app=None):
    """The window and its writer, without showing anything (also used by tests and bench)."""
    from kiosk.window import KioskWindow
    from kiosk.writer import ResponseWriter
    from station.store import Store

    writer = ResponseWriter(lambda: Store.open(config))
    window = KioskWindow(config, writer)
    return window, writer


def start(config_path, offscreen: bool = False):
    """(config, QApplication), or None on a bad config (the reason is already on stderr)."""
    config = start_service("cx-kiosk", config_path)
    if config is None:
        return None
    if offscreen:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    qInstallMessageHandler(_qt_log)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("cx-kiosk")
    return config, app


def _qt_log(mode, context, message: str) -> None:
    """Qt's own messages go to our log, minus known harmless noise."""
    if any(noise in message for noise in _QT_NOISE):
        return
    logging.getLogger("qt").warning(message)


def run(config, app) -> int:
    """Show the kiosk and run Qt's loop; the exit code once stopped, pending answers saved."""
    from PySide6.QtCore import Qt, QTimer

    window, writer = build(config)
    window.exit_requested.connect(app.quit)
    if config.kiosk.fullscreen:
        app.setOverrideCursor(Qt.BlankCursor)          # a touch screen: no arrow on top
        window.showFullScreen()
    else:
        window.resize(1280, 800)
        window.show()
    notify.ready(f"kiosk up, database {config.database.path}")
    # Sum the last 30 days once, off the GUI thread, before a manager asks for them.
    QTimer.singleShot(3000, lambda: window.screens["admin"].refresh_in_background("30d",
                                                                                draw=False))
    watchdog = QTimer()
    watchdog.timeout.connect(notify.watchdog)
    interval = notify.watchdog_interval_s()
    watchdog.start(int((interval or 5.0) * 1000 / 2))
    # Ctrl-C / SIGTERM: let Qt's loop notice, so pending responses get a last try.
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    tick = QTimer()
    tick.timeout.connect(lambda: None)        # wakes Python so signal handlers run
    tick.start(500)
    code = app.exec()
    notify.stopping()
    if writer.pending:
        writer.flush()
        if writer.pending:
            log.error("exiting with %d response(s) that could not be saved: %s",
                      len(writer.pending), writer.last_error)
    window.screens["admin"].close_connections()
    writer.close()
    return code
