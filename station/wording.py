"""Counts and numbers in words, in English and Vietnamese: the one place that decides
"1 response" against "2 responses" and "1,234.5" against "1.234,5".

    quantity(1, "responses")             # '1 response'
    quantity(2, "responses", "vi")       # '2 câu trả lời'
    number(1234.5, "vi", decimals=1)     # '1.234,5'

Nouns are keyed by their English plural. Vietnamese nouns do not inflect for number, so
each has one form. A noun missing from NOUNS is an error, not a guess: add it here.
"""
from __future__ import annotations

# English plural -> (English singular, Vietnamese)
NOUNS = {
    "responses": ("response", "câu trả lời"),
    "answers": ("answer", "câu trả lời"),
    "CSAT answers": ("CSAT answer", "câu trả lời CSAT"),
    "CES answers": ("CES answer", "câu trả lời CES"),
    "camera entries": ("camera entry", "lượt vào (camera)"),
    "entries": ("entry", "lượt vào"),
    "visits": ("visit", "lượt ghé"),
    "visitors": ("visitor", "khách"),
    "cases": ("case", "trường hợp"),
    "resolved cases": ("resolved case", "trường hợp đã xử lý"),
    "complaints": ("complaint", "khiếu nại"),
    "handled complaints": ("handled complaint", "khiếu nại đã xử lý"),
    "first-visit answers": ("first-visit answer", "câu trả lời về lần ghé đầu"),
    "open items": ("open item", "việc cần xử lý"),
    "alerts": ("alert", "cảnh báo"),
    "events": ("event", "sự kiện"),
    "quick questions": ("quick question", "câu hỏi ngắn"),
    "times": ("time", "lần"),
    "hand counts": ("hand count", "lần đếm tay"),
    "days": ("day", "ngày"),
    "weeks": ("week", "tuần"),
    "hours": ("hour", "giờ"),
    "minutes": ("minute", "phút"),
    "seconds": ("second", "giây"),
}

SEPARATORS = {"en": (",", "."), "vi": (".", ",")}     # (thousands, decimal)


def noun(n: float, plural: str, lang: str = "en") -> str:
    """The noun for n of them: singular only for exactly 1 in English."""
    try:
        singular, vietnamese = NOUNS[plural]
    except KeyError:
        raise KeyError(f"no wording for {plural!r}: add it to station/wording.NOUNS") from None
    if lang == "vi":
        return vietnamese
    return singular if n == 1 else plural


def number(value: float, lang: str = "en", decimals: int = 0) -> str:
    """value with the language's thousands and decimal separators."""
    thousands, point = SEPARATORS.get(lang, SEPARATORS["en"])
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", point).replace("\0", thousands)


def quantity(n: float, plural: str, lang: str = "en", decimals: int = 0) -> str:
    """'1 response', '12 responses', '1.234 câu trả lời'."""
    return f"{number(n, lang, decimals)} {noun(round(n, decimals), plural, lang)}"
