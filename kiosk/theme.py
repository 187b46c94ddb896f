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

# The store's colour ([kiosk] brand_color) on the attract screen and primary buttons, with
# the text that reads on it (text_on).
BRAND = "#0b5cab"              # [kiosk] brand_color's default: the kiosk's blue
INK = "#16181d"                # the kiosk's dark text
WHITE, BLACK = "#ffffff", "#000000"
MIN_CONTRAST = 4.5             # WCAG AA for normal text


def scale_for(width: int, height: int) -> float:
    return max(0.5, min(width / 1920, height / 1080))


def shopper_scale_for(width: int, height: int) -> float:
    """The shopper's screens' scale: as scale_for, but a portrait screen is the same glass
    turned, so 1080x1920 gets the full sizes of 1920x1080 rather than the half its width
    alone would give (those screens lay out in a column there: the score in two rows). The
    admin screen, laid out for landscape, keeps scale_for."""
    return max(0.5, min(max(width, height) / 1920, min(width, height) / 1080))


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


def stylesheet(scale: float, brand: str = BRAND, min_touch: int = 0) -> str:
    """style.qss with its sizes for `scale`, the "touch" size at least `min_touch` px (see
    min_touch_px), and the store's colour `brand` with the text that reads on it."""
    template = Template((resources.files("kiosk") / "style.qss").read_text(encoding="utf-8"))
    values = sizes(scale)
    values["touch"] = max(values["touch"], min_touch)
    tokens = {k: f"{v}px" for k, v in values.items()}
    tokens.update(brand=brand, on_brand=text_on(brand), brand_pressed=mix(brand, "#000000", 0.2))
    return template.substitute(tokens)


# -- the store's colour ---------------------------------------------------------------------


def text_on(background: str) -> str:
    """The text colour that reads on `background` (#rrggbb): white on a dark colour, the
    kiosk's ink on a light one, pure black where even the ink would fall under 4.5:1.

        text_on("#0b5cab")      # '#ffffff'
        text_on("#ffd200")      # '#16181d'
    """
    best = max((WHITE, INK), key=lambda text: contrast(text, background))
    if contrast(best, background) < MIN_CONTRAST:
        best = max((WHITE, BLACK), key=lambda text: contrast(text, background))
    return best


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours, 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def luminance(colour: str) -> float:
    """WCAG relative luminance of #rrggbb, 0 (black) to 1 (white)."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def mix(colour: str, other: str, amount: float) -> str:
    """`colour` moved `amount` (0..1) of the way to `other` (a pressed shade, a tint)."""
    parts = (round(int(colour[i:i + 2], 16) * (1 - amount) + int(other[i:i + 2], 16) * amount)
             for i in (1, 3, 5))
    return "#" + "".join(f"{c:02x}" for c in parts)
