"""The event records of issue 17 (station/events.py): HQ's check of a complaint, an occupancy
minute and a response's first-visit answer accepts what a station sends and refuses anything
else with Invalid, never another exception (fuzzed: they arrive from the network)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from station import events

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def fields(keys):
    return st.fixed_dictionaries({}, optional={k: JSON for k in keys})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["complaint", "occupancy", "response"]), st.data())
def test_any_data_is_accepted_or_refused_with_a_reason(type_, data):
    record = events.TYPES[type_]
    drawn = data.draw(fields(events.keys(type_) + ["zones", "first_visit"]))
    try:
        record.check(drawn)
    except events.Invalid as exc:
        assert str(exc)


def test_what_a_station_sends_passes_and_the_contact_is_not_in_it():
    complaint = events.Complaint(complaint_id="k", case_id="c", response_id="r",
                                 at="2026-12-06T10:00:00.000Z", contact_requested=True).to_data()
    events.Complaint.check(complaint)
    assert set(complaint) == {"complaint_id", "case_id", "response_id", "at",
                              "contact_requested"}
    events.Occupancy.check(events.Occupancy(minute="2026-12-06T10:00:00.000Z", people=3,
                                            zones={"kiosk": 1}).to_data())
    response = events.Response(response_id="r", nps=3, csat=None, ces=None, reasons=(),
                               comment=None, language="vi", complete=True, presence="unknown",
                               visit_id=None).to_data()
    assert "first_visit" not in response                     # not asked: left out


def test_bad_values_are_refused_with_the_field_named():
    for record, data, field in (
            (events.Occupancy, {"minute": "m", "people": -1}, "people"),
            (events.Occupancy, {"minute": "m", "people": 1, "zones": {"a": "x"}}, "zones"),
            (events.Complaint, {"complaint_id": "k", "case_id": 7, "at": "t"}, "case_id"),
            (events.Response, {"nps": 5, "first_visit": "yes"}, "first_visit")):
        try:
            record.check(data)
        except events.Invalid as exc:
            assert field in str(exc)
        else:
            raise AssertionError(f"{data} passed")
