"""LineCounter walked step by step: feet points, hysteresis, segment ends, directions."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.detections import Detections
from vision.lines import LineCounter


def feet(*points, ids=None):
    """Detections whose bottom-centre is exactly at each point (20x50 boxes)."""
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    boxes = np.stack([pts[:, 0] - 10, pts[:, 1] - 50, pts[:, 0] + 10, pts[:, 1]], 1)
    ids = np.arange(1, len(pts) + 1) if ids is None else np.asarray(ids)
    return Detections(boxes, np.ones(len(pts)), np.zeros(len(pts)), tracker_id=ids)


def walk(line, xs, y=200.0, track=1):
    out = []
    for x in xs:
        out += line.trigger(feet((x, y), ids=[track]))
    return out


def vertical():
    # a above b: "in" is moving left to right (x increasing).
    return LineCounter("door", (240, 100), (240, 300), hysteresis_px=2.0, hysteresis_frac=0.0)


def test_left_to_right_is_in_for_a_line_drawn_downwards():
    line = vertical()
    crossings = walk(line, [200, 230, 250, 280])
    assert [c.direction for c in crossings] == ["in"]
    assert (line.in_count, line.out_count) == (1, 0)
    assert crossings[0].point == pytest.approx((240.0, 200.0))


def test_upwards_is_in_for_a_line_drawn_left_to_right():
    line = LineCounter("edge", (160, 220), (420, 220))
    out = []
    for y in (260, 240, 221, 200, 180):
        out += line.trigger(feet((300, y)))
    assert [c.direction for c in out] == ["in"]


def test_jitter_on_the_line_counts_once():
    line = vertical()
    xs = [200, 238.5, 241.5, 238.5, 241.9, 238.1, 241.0, 243, 239, 260, 300]
    crossings = walk(line, xs)
    assert len(crossings) == 1 and crossings[0].direction == "in"


def test_recrossing_counts_in_its_own_direction():
    line = vertical()
    crossings = walk(line, [200, 260, 200, 260])
    assert [c.direction for c in crossings] == ["in", "out", "in"]
    assert (line.in_count, line.out_count) == (2, 1)


def test_walking_round_the_end_of_the_segment_does_not_count():
    line = vertical()
    out = []
    # Start left, go below the segment's lower end (y > 300), come up on the right.
    for p in [(200, 200), (200, 320), (280, 320), (280, 200)]:
        out += line.trigger(feet(p))
    assert out == [] and line.in_count == 0


def test_crossing_beyond_the_end_in_one_big_step_does_not_count():
    line = vertical()
    assert walk(line, [200, 280], y=350) == []


def test_no_count_until_the_point_leaves_the_hysteresis_band():
    line = vertical()
    assert walk(line, [200, 241, 241.9]) == []
    assert len(walk(line, [242.1])) == 1


def test_a_track_that_starts_on_the_line_has_no_side_yet():
    line = vertical()
    assert walk(line, [240, 241, 250]) == []        # first side it takes is not a crossing
    assert [c.direction for c in walk(line, [220])] == ["out"]


def test_each_track_has_its_own_state():
    line = vertical()
    line.trigger(feet((200, 200), (280, 200), ids=[1, 2]))
    out = line.trigger(feet((280, 200), (200, 200), ids=[1, 2]))
    assert sorted((c.track_id, c.direction) for c in out) == [(1, "in"), (2, "out")]


def test_untracked_rows_are_ignored():
    line = vertical()
    line.trigger(feet((200, 200), ids=[-1]))
    assert line.trigger(feet((280, 200), ids=[-1])) == []


def test_bad_geometry_is_a_clear_error():
    with pytest.raises(ValueError, match="same point"):
        LineCounter("x", (1, 1), (1, 1))
    with pytest.raises(ValueError, match="hysteresis"):
        LineCounter("x", (0, 0), (1, 1), hysteresis_px=-1)
    with pytest.raises(ValueError, match="hysteresis_frac"):
        LineCounter("x", (0, 0), (1, 1), hysteresis_frac=1.5)


def test_the_band_grows_with_the_person_so_a_tall_persons_jitter_does_not_count():
    """A 200 px tall person standing with their feet 6 px from the line, their box's bottom edge
    wandering by up to 10 px: no crossing. A fixed 2 px band counts it going out and back."""
    jitter = [6, -2, 7, -1, 5, -3, 6, 0, 7]
    for frac, expected in ((0.05, 0), (0.0, 2)):
        line = LineCounter("door", (240, 0), (240, 400), hysteresis_px=2.0, hysteresis_frac=frac)
        crossings = []
        for dx in jitter:
            x = 240 + dx
            box = np.array([[x - 30, 100, x + 30, 300]], np.float32)
            crossings += line.trigger(Detections(box, np.ones(1), np.zeros(1), tracker_id=np.array([1])))
        assert len(crossings) == expected, frac
    # A real walk across still counts, once, however tall the person is.
    line = LineCounter("door", (240, 0), (240, 400))
    crossings = []
    for x in (150, 200, 230, 250, 280, 330):
        box = np.array([[x - 30, 100, x + 30, 300]], np.float32)
        crossings += line.trigger(Detections(box, np.ones(1), np.zeros(1), tracker_id=np.array([1])))
    assert [c.direction for c in crossings] == ["in"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-160, 160).map(lambda i: i / 4), min_size=2, max_size=60),
       st.sampled_from([0.6, 1.3, 2.7, 4.1]))
def test_counts_never_exceed_real_side_changes(offsets, h):
    """Whatever the path, in and out alternate and match side changes beyond the band.

    (Offsets are exact in float32 and never equal to the band, so the oracle is exact.)"""
    line = LineCounter("door", (240, 0), (240, 400), hysteresis_px=h, hysteresis_frac=0.0)
    crossings = walk(line, [240 + o for o in offsets])
    directions = [c.direction for c in crossings]
    assert all(a != b for a, b in zip(directions, directions[1:]))
    sides = [np.sign(o) for o in offsets if abs(o) > h]
    changes = sum(1 for a, b in zip(sides, sides[1:]) if a != b)
    assert len(crossings) == changes
