"""`cx-kiosk --config F [--screenshot DIR]`: the touchscreen survey and the manager dashboard.

    cx-kiosk --config config/demo.toml                       # run the kiosk
    cx-kiosk --config config/demo.toml --screenshot out/     # every screen, both languages, PNG
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from station import notify
from station.service import start_service

log = logging.getLogger("kiosk")


def build(config, app=None):
    """The window and its writer, without showing anything (also used by tests and bench)."""
    from kiosk.window import KioskWindow
    from kiosk.writer import ResponseWriter
    from station.store import Store

    writer = ResponseWriter(lambda: Store.open(config))
    window = KioskWindow(config, writer)
    return window, writer


# The offscreen platform (demo without a screen) warns on every window resize.
_QT_NOISE = ("does not support propagateSizeHints",)


def _qt_log(mode, context, message: str) -> None:
    """Qt's own messages go to our log, minus known harmless noise."""
    if any(noise in message for noise in _QT_NOISE):
        return
    logging.getLogger("qt").warning(message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx-kiosk", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="station TOML file")
    parser.add_argument("--screenshot", metavar="DIR",
                        help="render every screen in every language to PNGs in DIR and exit")
    parser.add_argument("--size", default="1920x1080",
                        help="window size for --screenshot, e.g. 1280x800 (default 1920x1080)")
    args = parser.parse_args(argv)
    config = start_service("cx-kiosk", args.config)
    if config is None:
        return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import Qt, QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    qInstallMessageHandler(_qt_log)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("cx-kiosk")
    if args.screenshot:
        from kiosk.screenshots import render_all
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.size.split(",")]
        for path in render_all(config, args.screenshot, sizes):
            print(path)
        return 0

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


if __name__ == "__main__":
    sys.exit(main())
