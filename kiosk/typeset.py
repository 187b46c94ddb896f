"""Text that wraps without leaving a word alone on its last line.

    keep_together("50 chưa xử lý")           # '50 chưa xử\u00a0lý': 'lý' never wraps alone
    keep_together("Camera: 9.8 fps\nSync: 3 waiting")    # each line on its own
    unbroken("620 câu trả lời")              # a count that wraps as one word

The last two words of each line (of three words or more) are joined by a no-break space, so
wherever Qt wraps the label at whatever width the screen gives it, the last line holds at
least two words. Shorter lines are left as they are.

This is for the admin screen's left-aligned text: built as a string before any widget has it
(kiosk/admin_words.py), often several lines in one label, each kept on its own, at no cost
when the screen is resized. A shopper's centred title is a kiosk.widgets.BalancedLabel
instead: it balances every line of the title at the width it has, which a string cannot.
"""
from __future__ import annotations

NBSP = "\u00a0"


def keep_together(text: str) -> str:
    return "\n".join(_line(line) for line in text.split("\n"))


def _line(line: str) -> str:
    head, space, last = line.rstrip().rpartition(" ")
    if not space or len(line.split()) < 3:
        return line
    return f"{head}{NBSP}{last}"


def unbroken(text: str) -> str:
    """`text` that never wraps inside: a count or a time ('620 câu trả lời', '18 s ago')."""
    return text.replace(" ", NBSP)


def plain(text: str) -> str:
    """`text` with ordinary spaces again (what a test compares with a translation)."""
    return text.replace(NBSP, " ")
