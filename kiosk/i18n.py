"""Shopper- and manager-facing text, loaded from ``kiosk/i18n/<lang>.json``.

    strings = Strings.load(["vi", "en"])
    strings.get("vi", "score.low")                       # '0 = Hoàn toàn không'
    strings.get("en", "progress", step=1, total=3)       # 'Question 1 of 3'

No user-facing string lives in code: a missing key is an error at start-up, not a blank label.
"""
from __future__ import annotations

import json
from importlib import resources


class Strings:
    def __init__(self, tables: dict[str, dict]):
        self.tables = tables
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

    def name(self, lang: str) -> str:
        return self.tables[lang]["lang.name"]
