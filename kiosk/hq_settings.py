"""Settings HQ pushed, picked up while the kiosk runs: cx-sync applies a push to the station
database (station/remote_settings.py); this watch sees the applied version change and hands
the window the effective config (the TOML with the push on top), with no restart.

    watch = SettingsWatch(config)
    watch.changed.connect(window.use_settings)      # Config: new wording, reasons, review URL
    watch.start()                                   # looks now and every POLL_MS until close()

A look is one indexed one-row read on a worker thread with its own connection, so a shopper's
tap never waits for it; the effective config is built only when the version moved.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from kiosk.reader import StoreReader
from station.remote_settings import effective_config

log = logging.getLogger("kiosk.hq_settings")

POLL_MS = 2000


class SettingsWatch(QObject):
    changed = Signal(object)            # the effective Config
    _looked = Signal(object)            # (version, Config | None) | Exception (worker)

    def __init__(self, config, parent=None):
        super().__init__(parent)
        self.config = config
        self.version: int | None = None     # the applied version on show; None: the TOML's
        self.reader = StoreReader(config, "hq-settings")
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.look)
        self._looked.connect(self._on_look)

    def start(self) -> None:
        self.look()
        self.timer.start()

    def close(self) -> None:
        self.timer.stop()
        self.reader.close()

    def look(self) -> bool:
        known = self.version

        def work(store):
            applied = store.applied_settings()
            version = applied.version if applied else None
            if version == known:
                return version, None
            return version, effective_config(self.config, store)

        return self.reader.read(work, self._looked.emit)

    def _on_look(self, result) -> None:
        if isinstance(result, Exception):
            log.warning("cannot read the settings from HQ: %s", result)
            return
        version, config = result
        if config is None or version == self.version:
            return
        self.version = version
        log.info("using the settings from HQ version %s", version)
        self.changed.emit(config)
