"""Sizes that scale with the screen: touch targets stay >= 64 px at 1080p and shrink in step."""
from __future__ import annotations

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


def sizes(scale: float) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in BASE.items()}


def stylesheet(scale: float) -> str:
    template = Template((resources.files("kiosk") / "style.qss").read_text(encoding="utf-8"))
    return template.substitute({k: f"{v}px" for k, v in sizes(scale).items()})
