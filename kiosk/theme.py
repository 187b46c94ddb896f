"""Sizes that scale with the screen: touch targets stay >= 64 px at 1080p and shrink in step."""
from __future__ import annotations

import math
from importlib import resources
from string import Template

# Pixel sizes at 1920x1080; everything else is derived by scaling.
BASE = {"huge": 64, "title": 40, "button": 30, "body": 26, "small": 20, "touch": 96,
        "small_touch": 56, "key": 60, "pad": 12, "smallpad": 8, "radius": 14, "chipradius": 40,
        "border": 2}

# An alert's severity (station/alerts.py): its text colour, dark enough on its tint and on
# white for WCAG AA small text, and the row's tint. Info is the kiosk's blue, critical the
# Goals page's red, warning a shade darker than its amber (for the tint).
SEVERITY_COLOURS = {"info": "#0b5cab", "warning": "#7a4f00", "critical": "#b3261e"}
SEVERITY_TINTS = {"info": "#e8f0fa", "warning": "#fcf1dc", "critical": "#fbe7e5"}


def scale_for(width: int, height: int) -> float:
    return max(0.5, min(width / 1920, height / 1080))


DEFAULT_DIAGONAL_IN = 21.5            # [kiosk] screen_diagonal_in's default
MIN_TOUCH_MM = 9.0                    # a fingertip on the glass


def min_touch_px(window_size: tuple[int, int], diagonal_in: float = DEFAULT_DIAGONAL_IN) -> int:
    """The smallest side a touch key may have on a window of (width, height) pixels filling a
    screen of `diagonal_in` inches: the theme's "touch" size, and never under 9 mm.

        min_touch_px((1920, 1080), 21.5)      # 96: the theme's size (9 mm is 37 px there)
        min_touch_px((1920, 1080), 7.0)       # 112: a small dense screen, where 9 mm wins
    """
    width, height = window_size
    return max(sizes(scale_for(width, height))["touch"],
               math.ceil(MIN_TOUCH_MM * px_per_mm(window_size, diagonal_in)))


def px_per_mm(window_size: tuple[int, int], diagonal_in: float = DEFAULT_DIAGONAL_IN) -> float:
    """Pixels per millimetre of a window of (width, height) filling a `diagonal_in` screen."""
    return math.hypot(*window_size) / diagonal_in / 25.4


def sizes(scale: float) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in BASE.items()}


def stylesheet(scale: float) -> str:
    template = Template((resources.files("kiosk") / "style.qss").read_text(encoding="utf-8"))
    return template.substitute({k: f"{v}px" for k, v in sizes(scale).items()})
