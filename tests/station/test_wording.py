"""Counts and numbers in words, both languages (station/wording.py)."""
import pytest
from hypothesis import given, strategies as st

from station import kpi
from station.wording import NOUNS, noun, number, quantity


def test_one_is_singular_in_english_and_vietnamese_never_inflects():
    assert quantity(1, "responses") == "1 response"
    assert quantity(0, "responses") == "0 responses"
    assert quantity(2, "times") == "2 times"
    assert quantity(1, "responses", "vi") == "1 câu trả lời"
    assert quantity(5, "responses", "vi") == "5 câu trả lời"


def test_numbers_use_each_languages_separators():
    assert number(1234567) == "1,234,567"
    assert number(1234567, "vi") == "1.234.567"
    assert number(1234.5, "en", 1) == "1,234.5"
    assert number(1234.5, "vi", 1) == "1.234,5"
    assert quantity(1.0, "hours", "en", 1) == "1.0 hour"


def test_an_unknown_noun_is_an_error_that_says_where_to_add_it():
    with pytest.raises(KeyError, match="station/wording.NOUNS"):
        noun(2, "widgets")


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(sorted(NOUNS)),
       st.sampled_from(["en", "vi"]))
def test_every_quantity_reads_as_number_then_noun(n, plural, lang):
    text = quantity(n, plural, lang)
    digits, _, word = text.partition(" ")
    assert int(digits.replace(",", "").replace(".", "")) == n
    assert word == noun(n, plural, lang) and word.strip() == word


def test_the_min_n_reason_says_one_response_not_one_responses():
    assert kpi.min_n_reason(1, 30, "responses", "NPS").startswith("only 1 response;")


def test_a_weighted_nps_reason_names_the_responses_it_shows():
    reason = kpi.min_n_reason(8.4, 30, "responses", "NPS", counted=9)
    assert reason.startswith("only 9 responses, worth 8 after weighting;")
    assert kpi.min_n_reason(8.4, 30, "responses", "NPS", counted=8).startswith(
        "only 8 responses;")
