"""Keep PySide6 6.12.0's reference-count bugs from aborting a kiosk that runs for weeks.

    guard = RefcountGuard.install(parent_qobject)     # None on a PySide6 without the bug

Measured here (PySide6-Essentials 6.12.0, CPython 3.11): every Python ``Signal.emit()``
drops one reference to ``True`` and every call of a Python slot from a C++ signal (a button's
``clicked``, a ``QTimer`` tick) drops one reference to ``None``. Neither is ever given back,
so after a few thousand taps or timer ticks the interpreter aborts with "Fatal Python error:
bool_dealloc / none_dealloc". 6.11.3 does not do this (see tests/kiosk/test_qtfix.py).

The guard gives the two singletons their references back: a timer checks their counts and
adds what went missing (`Py_IncRef` through ctypes: no memory is held). Extra references on
``None``/``True`` are harmless (they are never freed anyway); too few are fatal. It only
switches itself on for the affected version.
"""
from __future__ import annotations

import ctypes
import logging
import sys

import PySide6
from PySide6.QtCore import QObject, QTimer

log = logging.getLogger("kiosk.qtfix")

AFFECTED = {"6.12.0"}
HEADROOM = 1_000_000        # references added up front, so even a stalled timer leaves margin


class RefcountGuard(QObject):
    def __init__(self, parent=None, interval_ms: int = 250):
        super().__init__(parent)
        self.floor = {id(o): (o, sys.getrefcount(o) + HEADROOM) for o in (None, True)}
        self.added = 0
        self.top_up()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.top_up)
        self.timer.start(interval_ms)

    @classmethod
    def install(cls, parent=None, force: bool = False) -> "RefcountGuard | None":
        if not force and PySide6.__version__ not in AFFECTED:
            return None
        log.info("PySide6 %s loses references to None/True; guarding them", PySide6.__version__)
        return cls(parent)

    def top_up(self) -> int:
        added = 0
        for obj, floor in self.floor.values():
            missing = floor - sys.getrefcount(obj)
            if missing > 0:
                ref = ctypes.py_object(obj)
                for _ in range(missing):
                    ctypes.pythonapi.Py_IncRef(ref)
                added += missing
        self.added += added
        return added
