"""Zone dwell, visits and occupancy per track."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.detections import Detections
from vision.tracker import TRACK_AGE
from vision.zones import Zone

SQUARE = [(100, 100), (200, 100), (200, 200), (100, 200)]


def feet(points, ids):
    pts = np.asarray(points, np.float32).reshape(-1, 2)
    boxes = np.stack([pts[:, 0] - 10, pts[:, 1] - 50, pts[:, 0] + 10, pts[:, 1]], 1)
    return Detections(boxes, np.ones(len(pts)), np.zeros(len(pts)), tracker_id=np.asarray(ids))


def test_dwell_adds_the_time_between_frames_while_inside():
    zone = Zone("kiosk", SQUARE)
    path = [(50, 150), (150, 150), (150, 160), (160, 160), (250, 160)]
    for i, p in enumerate(path):
        zone.trigger(feet([p], [7]), ts=i * 0.5)
    assert zone.dwell[7] == pytest.approx(1.5)          # frames 1, 2, 3 inside
    assert zone.visits[7] == 1
    assert zone.total_dwell_s == pytest.approx(1.5)


def test_a_new_track_counts_from_its_first_sighting_up_to_the_gap_cap():
    zone = Zone("kiosk", SQUARE, max_gap_s=1.0)
    seen = feet([(150, 150), (160, 160), (300, 300)], [1, 2, 3])
    seen.data[TRACK_AGE] = np.array([0.3, 5.0, 0.3])     # confirmed a step after first seen
    zone.trigger(seen, ts=10.0)
    assert zone.dwell[1] == pytest.approx(0.3) and zone.since[1] == pytest.approx(9.7)
    assert zone.dwell[2] == pytest.approx(1.0)             # a long age is capped like a gap
    assert 3 not in zone.dwell and zone.visits == {1: 1, 2: 1}
    zone.trigger(feet([(150, 150)], [1]), ts=10.5)
    assert zone.dwell[1] == pytest.approx(0.8)


def test_occupancy_is_the_number_of_tracks_inside_now():
    zone = Zone("kiosk", SQUARE)
    inside = zone.trigger(feet([(150, 150), (120, 180), (300, 300)], [1, 2, 3]), ts=0)
    assert inside.tolist() == [True, True, False]
    assert zone.occupancy == 2
    zone.trigger(feet([(300, 150)], [1]), ts=0.1)
    assert zone.occupancy == 0


def test_standing_on_the_border_is_one_visit():
    zone = Zone("kiosk", SQUARE, hysteresis_px=2)
    for i, x in enumerate([150, 199, 201, 199.5, 200.5, 201.5, 198.5, 150]):
        zone.trigger(feet([(x, 150)], [1]), ts=i * 0.1)
    assert zone.visits[1] == 1


def test_leaving_and_coming_back_is_a_second_visit():
    zone = Zone("kiosk", SQUARE)
    for i, x in enumerate([150, 300, 150]):
        zone.trigger(feet([(x, 150)], [1]), ts=i)
    assert zone.visits[1] == 2
    assert zone.since[1] == 2


def test_forgotten_tracks_keep_their_totals():
    zone = Zone("kiosk", SQUARE)
    zone.trigger(feet([(150, 150)], [1]), ts=0)
    zone.trigger(feet([(150, 150)], [1]), ts=1)
    zone.forget(1)
    assert zone.total_dwell_s == pytest.approx(1.0) and zone.total_visits == 1
    assert 1 not in zone.dwell


def test_a_camera_stall_is_not_credited_as_dwell():
    zone = Zone("kiosk", SQUARE, max_gap_s=1.0)
    zone.trigger(feet([(150, 150)], [1]), ts=0)
    zone.trigger(feet([(150, 150)], [1]), ts=60)
    assert zone.dwell[1] == pytest.approx(1.0)


def test_bad_polygon_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 3"):
        Zone("z", [(0, 0), (1, 1)])
    with pytest.raises(ValueError, match="zero area"):
        Zone("z", [(0, 0), (1, 1), (2, 2)])


@settings(max_examples=80, deadline=None)
@given(st.floats(-50, 350, allow_nan=False), st.floats(-50, 350, allow_nan=False))
def test_inside_agrees_with_opencv_away_from_the_border(x, y):
    import cv2
    poly = np.array([(100, 100), (220, 80), (260, 200), (150, 260), (90, 180)], np.float32)
    dist = cv2.pointPolygonTest(poly.reshape(-1, 1, 2), (x, y), True)
    if abs(dist) <= 2.5:
        return
    zone = Zone("z", poly)
    inside = zone.trigger(feet([(x, y)], [1]), ts=0)
    assert bool(inside[0]) == (dist > 0)


def test_a_person_missed_for_a_frame_keeps_earning_dwell():
    zone = Zone("kiosk", SQUARE)
    for ts in (0.0, 0.1, 0.2, 0.5, 0.6):              # not detected at 0.3 and 0.4
        zone.trigger(feet([(150, 150)], [1]), ts=ts)
    assert zone.dwell[1] == pytest.approx(0.6)
