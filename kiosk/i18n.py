"""Shopper- and manager-facing text, loaded from ``kiosk/i18n/<lang>.json``.

    strings = Strings.load(["vi", "en"])
    strings.get("vi", "score.low")                       # '0 = Hoàn toàn không'
    strings.get("en", "progress", step=1, total=3)       # 'Question 1 of 3'

No user-facing string lives in code: a missing key is an error at start-up, not a blank label.
"""
from __future__ import annotations

import json
from importlib import resources


# [kiosk.wording] fields (station/config.py Wording) -> the built-in text each replaces
WORDING_KEYS = {
    "question": "score.question",
    "followup_detractor": "followup.detractor",
    "followup_passive": "followup.passive",
    "followup_promoter": "followup.promoter",
    "thanks_detractor": "thanks.detractor",
    "thanks_passive": "thanks.passive",
    "thanks_promoter": "thanks.promoter",
}


class Strings:
    def __init__(self, tables: dict[str, dict]):
        self.tables = tables
        self.builtin = {lang: dict(table) for lang, table in tables.items()}
        keys = [set(t) for t in tables.values()]
        missing = set.union(*keys) - set.intersection(*keys)
        if missing:
            raise ValueError(f"translation keys missing in some languages: {sorted(missing)}")

    @classmethod
    def load(cls, languages: list[str]) -> "Strings":
        folder = resources.files("kiosk") / "i18n"
        return cls({lang: json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
                    for lang in languages})

    def get(self, lang: str, key: str, **values):
        text = self.tables[lang][key]
        return text.format(**values) if values and isinstance(text, str) else text

    def set_wording(self, wording) -> None:
        """The store's own survey texts ([kiosk.wording], also pushed by HQ) in place of the
        built-in ones; an empty text keeps the built-in one."""
        for lang, table in self.tables.items():
            own = getattr(wording, lang, None)
            for field, key in WORDING_KEYS.items():
                text = getattr(own, field, "") if own is not None else ""
                table[key] = text or self.builtin[lang][key]

    def name(self, lang: str) -> str:
        return self.tables[lang]["lang.name"]
