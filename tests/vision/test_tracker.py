"""ByteTrack-style tracker: identities across frames, misses, low scores, prediction."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.detections import Detections
from vision.tracker import TRACK_AGE, Tracker, iou_matrix

PETS = Path(__file__).resolve().parents[3] / "shared" / "data" / "pets2009-s2l1"


def boxes(*xyxy, scores=None):
    b = np.asarray(xyxy, np.float32).reshape(-1, 4)
    s = np.full(len(b), 0.9) if scores is None else np.asarray(scores)
    return Detections(b, s, np.zeros(len(b)))


def person(x, y=100.0):
    return (x, y, x + 30, y + 80)


def test_two_people_walking_past_each_other_keep_their_ids():
    tracker = Tracker(frame_rate=10)
    first = None
    for f in range(40):
        a, b = 10 + 6 * f, 250 - 6 * f                    # they pass at f ~ 20
        out = tracker.update(boxes(person(a, 100), person(b, 130)))
        if f == 2:
            first = dict(zip(out.xyxy[:, 0].round().tolist(), out.tracker_id.tolist()))
            left_id, right_id = first[a], first[b]
    final = dict(zip(out.xyxy[:, 0].round().tolist(), out.tracker_id.tolist()))
    assert final[10 + 6 * 39] == left_id and final[250 - 6 * 39] == right_id


def test_a_one_frame_blip_is_not_reported():
    tracker = Tracker(frame_rate=10)
    tracker.update(boxes(person(10)))
    out = tracker.update(boxes(person(12), person(300)))      # 300: a single-frame blip
    assert len(out) == 1
    out = tracker.update(boxes(person(14)))
    assert len(out) == 1


def test_a_new_person_is_confirmed_on_their_second_frame():
    tracker = Tracker(frame_rate=10)
    tracker.update(boxes(person(10)))
    assert len(tracker.update(boxes(person(12), person(300)))) == 1
    out = tracker.update(boxes(person(14), person(302)))
    assert len(out) == 2 and len(set(out.tracker_id.tolist())) == 2
    # each row says how long ago its track was first seen (zones and visits count from there)
    assert out.data[TRACK_AGE].tolist() == pytest.approx([0.2, 0.1])
    assert tracker.peek(0.5).data[TRACK_AGE].tolist() == pytest.approx([0.25, 0.15])


def test_short_occlusion_keeps_the_id_and_long_one_ends_the_track():
    tracker = Tracker(frame_rate=10, lost_s=1.0)
    for f in range(5):
        out = tracker.update(boxes(person(10 + 3 * f)))
    tid = int(out.tracker_id[0])
    for f in range(5, 10):                                   # 0.5 s unseen
        assert len(tracker.update(Detections.empty())) == 0
    out = tracker.update(boxes(person(10 + 3 * 10)))
    assert out.tracker_id.tolist() == [tid]
    ended = []
    for _ in range(15):                                      # 1.5 s unseen: the track ends
        tracker.update(Detections.empty())
        ended += tracker.ended
    assert ended == [tid]
    assert tid not in tracker.active_ids


def test_low_score_boxes_continue_a_track_but_never_start_one():
    tracker = Tracker(frame_rate=10)
    for f in range(3):
        out = tracker.update(boxes(person(10 + 2 * f)))
    tid = int(out.tracker_id[0])
    out = tracker.update(boxes(person(17), person(300), scores=[0.3, 0.3]))
    assert out.tracker_id.tolist() == [tid]
    for f in range(3):
        out = tracker.update(boxes(person(300), scores=[0.3]))
        assert len(out) == 0


@pytest.mark.parametrize("extend", [True, False])
def test_a_person_whose_legs_are_hidden_keeps_their_feet_where_they_stand(extend):
    """Someone standing with their feet just below a line, then half hidden by a passer-by:
    the detector sees only the upper body, at a low score. Their feet must not jump above the
    line (which would count a crossing up and then one back down)."""
    from vision.lines import LineCounter
    tracker = Tracker(frame_rate=10, extend_occluded=extend)
    line = LineCounter("lawn", (0, 175), (400, 175))
    crossings = []
    for _ in range(5):
        crossings += line.trigger(tracker.update(boxes(person(100))))       # feet at y = 180
    for _ in range(4):
        upper_body = (100, 100, 130, 150)                                   # feet would be 150
        out = tracker.update(boxes(upper_body, scores=[0.3]))
        crossings += line.trigger(out)
    for _ in range(3):
        crossings += line.trigger(tracker.update(boxes(person(100))))
    if extend:
        assert len(out) == 1 and out.xyxy[0, 1] == 100 and abs(out.xyxy[0, 3] - 180) < 2
        assert crossings == []
    else:
        assert [c.direction for c in crossings] == ["in", "out"]   # the false up and down


def test_a_low_score_box_of_full_height_is_left_as_it_is():
    tracker = Tracker(frame_rate=10)
    for f in range(3):
        tracker.update(boxes(person(10 + 2 * f)))
    out = tracker.update(boxes(person(16, 103), scores=[0.3]))
    assert out.xyxy[0].tolist() == list(person(16, 103))


def test_peek_extrapolates_tracks_along_their_velocity_without_changing_them():
    tracker = Tracker(frame_rate=10)
    for f in range(10):
        tracker.update(boxes(person(10 + 6 * f)))
    half = tracker.peek(0.5)
    assert len(half) == 1
    assert half.xyxy[0, 0] == pytest.approx(10 + 6 * 9.5, abs=1.5)
    assert tracker.peek(1.0).xyxy[0, 0] == pytest.approx(10 + 6 * 10, abs=1.5)
    out = tracker.update(boxes(person(10 + 6 * 10)))
    assert out.tracker_id.tolist() == half.tracker_id.tolist()


def test_end_all_reports_every_confirmed_track():
    tracker = Tracker(frame_rate=10)
    tracker.update(boxes(person(10), person(200)))
    tracker.update(boxes(person(12), person(202)))
    assert sorted(tracker.end_all()) == [1, 2]
    assert len(tracker.active_ids) == 0


def test_iou_matrix_matches_hand_computation():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    assert iou_matrix(a, b)[0].tolist() == pytest.approx([50 / 150, 0.0])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.floats(0, 400), st.floats(0, 300), st.floats(0.05, 1)),
                         max_size=8), min_size=1, max_size=15))
def test_output_is_a_subset_of_the_input_with_unique_ids(frames):
    tracker = Tracker(frame_rate=10)
    for dets in frames:
        d = Detections(np.array([person(x, y) for x, y, _ in dets], np.float32).reshape(-1, 4),
                       np.array([s for *_, s in dets]), np.zeros(len(dets)))
        out = tracker.update(d)
        ids = out.tracker_id.tolist()
        assert len(ids) == len(set(ids)) and all(i > 0 for i in ids)
        for box in out.xyxy:
            assert (np.abs(d.xyxy - box).sum(1) < 1e-4).any()


@pytest.mark.skipif(not (PETS / "gt.txt").exists(), reason="PETS 2009 ground truth not present")
def test_identities_on_noisy_pets_ground_truth():
    """Real trajectories (crossing, occlusion by the lamp post) with detector-like noise."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.pets import idf1, load_gt, noisy_detections
    gt = load_gt(PETS / "gt.txt")
    frames = 300
    gt = {f: v for f, v in gt.items() if f <= frames}
    dets = noisy_detections(gt, frames, seed=3)
    tracker = Tracker(frame_rate=10)
    hyp = {}
    for f in range(1, frames + 1):
        out = tracker.update(dets[f])
        hyp[f] = (out.tracker_id, out.xyxy)
    assert idf1(gt, hyp)["idf1"] > 0.7
