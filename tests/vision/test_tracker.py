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


# -- detector-agnostic thresholds and occlusion ------------------------------------------------
def _idf1(gt, hyp):
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.pets import idf1
    return idf1(gt, hyp)["idf1"]


def walkers(seed, people=8, frames=150, scores=(0.4, 1.0), false_scores=(0.3, 0.6)):
    """A synthetic crowd: people crossing a 480x360 view in straight lines, boxes jittered,
    10 % missed, scored uniformly in `scores`, one person-sized false positive a frame scored
    in `false_scores`. Returns (ground truth {frame: (ids, xyxy)}, detections {frame: ...})."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 60], [480, 280], (people, 2))
    velocity = rng.uniform(-6, 6, (people, 2))
    size = rng.uniform([25, 70], [40, 100], (people, 2))
    gt, dets = {}, {}
    for f in range(1, frames + 1):
        centre = start + velocity * f
        inside = (centre[:, 0] > 0) & (centre[:, 0] < 480) & (centre[:, 1] > 40) & (centre[:, 1] < 320)
        xyxy = np.concatenate([centre - size / 2, centre + size / 2], 1)[inside]
        gt[f] = (np.arange(1, people + 1)[inside], xyxy.astype(np.float32))
        keep = rng.random(len(xyxy)) >= 0.1
        boxes = xyxy[keep] + rng.normal(0, 2.0, (keep.sum(), 4))
        s = rng.uniform(*scores, len(boxes))
        n_false = rng.poisson(1.0)
        wh = rng.uniform([25, 70], [40, 100], (n_false, 2))
        xy = rng.uniform([0, 0], [440, 260], (n_false, 2))
        boxes = np.concatenate([boxes, np.concatenate([xy, xy + wh], 1)])
        s = np.concatenate([s, rng.uniform(*false_scores, n_false)])
        dets[f] = Detections(boxes, s, np.zeros(len(boxes)))
    return gt, dets


def track(dets, **options):
    tracker = Tracker(frame_rate=10, **options)
    hyp = {}
    for f in sorted(dets):
        out = tracker.update(dets[f])
        hyp[f] = (out.tracker_id, out.xyxy)
    return hyp, tracker


def rescored(dets, scale, shift=0.0):
    return {f: Detections(d.xyxy, np.clip(scale * d.confidence + shift, 0, 1), d.class_id)
            for f, d in dets.items()}


@pytest.mark.parametrize("scale, shift", [(0.5, 0.0), (0.7, 0.0), (0.6, 0.15), (0.8, -0.1)])
def test_an_affine_change_of_every_score_changes_association_very_little(scale, shift):
    """Another detector may score the same people on another scale; the tracker measures the
    scale on the stream, so the identities it gives should hardly move."""
    for seed in (0, 1):
        gt, dets = walkers(seed)
        plain, _ = track(dets)
        moved, _ = track(rescored(dets, scale, shift))
        # the two outputs agree with each other (one taken as the truth) ...
        assert _idf1(plain, moved) > 0.9
        # ... and both track the crowd
        assert _idf1(gt, moved) > 0.8


def test_a_stream_of_low_scored_people_is_still_tracked():
    """A detector that scores people 0.2-0.6 and its junk 0.1-0.3: with ByteTrack's fixed
    0.5 / 0.6 most people would be low boxes that can start nothing. The tracker starts on
    the few that score high and learns the scale from them."""
    gt, dets = walkers(2, scores=(0.2, 0.6), false_scores=(0.1, 0.3))
    hyp, tracker = track(dets)
    low, high, new = tracker.thresholds
    assert high < 0.35 and new < 0.4 and low > 0.1       # came down, still above the junk floor
    assert _idf1(gt, hyp) > 0.8


def test_a_confident_false_positive_that_touches_a_track_does_not_pull_it_away():
    tracker = Tracker(frame_rate=10)
    for f in range(6):
        out = tracker.update(boxes(person(100 + 2 * f)))
    tid = int(out.tracker_id[0])
    # the person, scored low this time, and a confident false positive below them that the
    # track's box barely touches
    out = tracker.update(boxes(person(112), (95, 165, 125, 245), scores=[0.45, 0.7]))
    assert out.tracker_id.tolist() == [tid]
    assert out.xyxy[0].tolist() == pytest.approx(list(person(112)), abs=0.01)


@pytest.mark.parametrize("refind", [True, False])
def test_a_person_hidden_behind_another_comes_back_with_their_id(refind):
    """Walking right at 8 px a step, hidden for 0.8 s, reappearing a little behind where the
    motion model expected (they slowed down): the predicted box no longer overlaps theirs,
    but their position is within its uncertainty and the size fits."""
    options = {} if refind else {"refind_gate": 0.0}
    tracker = Tracker(frame_rate=10, **options)
    for f in range(10):
        out = tracker.update(boxes(person(20 + 8 * f)))
    tid = int(out.tracker_id[0])
    for _ in range(8):
        assert len(tracker.update(boxes(person(400, 20)))) <= 1   # someone else, elsewhere
    x = 20 + 8 * 17 - 36                    # 36 px short of the constant-velocity guess
    seen = [tracker.update(boxes(person(x + 4 * k), person(400, 20))) for k in range(3)]
    ids = {int(i) for out in seen for i, b in zip(out.tracker_id, out.xyxy) if b[1] > 50}
    if refind:
        assert ids == {tid}
    else:
        assert ids and tid not in ids


def test_a_lost_track_is_not_refound_in_a_box_of_another_size():
    tracker = Tracker(frame_rate=10)
    for f in range(10):
        out = tracker.update(boxes(person(20 + 8 * f)))
    tid = int(out.tracker_id[0])
    for _ in range(6):
        tracker.update(Detections.empty())
    child = (20 + 8 * 16 - 30, 130, 20 + 8 * 16, 180)        # half the height, same place
    outs = [tracker.update(boxes(child)) for _ in range(3)]
    assert tid not in {int(i) for out in outs for i in out.tracker_id}


@pytest.mark.skipif(not (PETS / "gt.txt").exists(), reason="PETS 2009 ground truth not present")
@pytest.mark.parametrize("clip_name", ["s2l1", "s3mf1"])
def test_identities_on_pets_ground_truth_scored_on_another_scale(clip_name):
    """Both PETS clips, ground truth as a detector with another calibration would give it:
    people scored 0.4-1.0, a false positive a frame scored 0.3-0.6."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.pets import degraded_detections, idf1, load_clip
    clip = load_clip(clip_name)
    if not clip.exists():
        pytest.skip(f"{clip_name} not present")
    gt = clip.gt()
    frames = min(300, max(gt))
    gt = {f: v for f, v in gt.items() if f <= frames}
    dets = degraded_detections(gt, frames, clip.counts()["frame_size"], seed=5)
    tracker = Tracker(frame_rate=clip.fps)
    hyp = {}
    for f in range(1, frames + 1):
        out = tracker.update(dets[f])
        hyp[f] = (out.tracker_id, out.xyxy)
    assert idf1(gt, hyp)["idf1"] > 0.8


def test_a_low_box_short_at_the_top_is_not_stretched_below_the_feet():
    """A box whose top is well below where the track's head is (the detector cut the head,
    not the legs) keeps its bottom edge: stretching it would put the feet below the ground."""
    tracker = Tracker(frame_rate=10)
    for f in range(5):
        tracker.update(boxes(person(100)))                       # y 100..180
    out = tracker.update(boxes((100, 125, 130, 180), scores=[0.3]))
    assert out.xyxy[0].tolist() == [100, 125, 130, 180]
