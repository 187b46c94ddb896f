"""Vietnamese tone keys put the mark on the syllable's main vowel."""
import pytest

from kiosk.keyboard import with_tone

ACUTE, GRAVE, HOOK, TILDE, DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"


@pytest.mark.parametrize("typed, mark, expected", [
    ("tot", ACUTE, "tót"), ("tôt", ACUTE, "tốt"), ("tốt", GRAVE, "tồt"),
    ("mua", ACUTE, "múa"), ("toan", ACUTE, "toán"), ("ư", HOOK, "ử"),
    ("dich vu", DOT, "dich vụ"), ("nhân viên", TILDE, "nhân viễn"), ("123", ACUTE, "123"),
])
def test_tone_goes_on_the_main_vowel(typed, mark, expected):
    assert with_tone(typed, mark) == expected


def test_translation_files_have_the_same_keys():
    from kiosk.i18n import Strings
    strings = Strings.load(["vi", "en"])
    assert set(strings.tables["vi"]) == set(strings.tables["en"])
    assert strings.get("vi", "score.low") == "0 = Hoàn toàn không"
