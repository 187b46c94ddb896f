"""ByteTrack-style multi-object tracker that measures its detector's score scale, vectorised over tracks.

    tracker = Tracker(frame_rate=10)
    for frame in frames:
        people = tracker.update(detector.detect(frame))   # tracker_id filled, confirmed tracks only
        for track_id in tracker.ended:                    # tracks dropped by this update
            ...

**Scores.** No threshold is a fixed score. The tracker keeps the stream's *score level*, the
median score of boxes matched to tracks it trusts (vision/score_level.py), and a box is
*confident* at ``HIGH_RATIO`` (0.68) of that level, may start a track at ``NEW_RATIO`` (0.8) and
is ignored below ``LOW_RATIO`` (0.34). With NanoDet (level ~0.74) that is ByteTrack's 0.5 / 0.6
and the 0.25 floor that keeps NanoDet's static junk out; with SSDLite (~0.57) 0.38 / 0.45;
with the 8-bit NanoDet, whose scores stop at 0.69, 0.47 / 0.55. Scores are otherwise used only
as weights in the assignment cost.

**Association**, per update, against the Kalman prediction of every track:
1. Confirmed tracks (followed, or lost for up to ``lost_s``) vs every box above the floor, in one
   Hungarian assignment with cost 1 - IoU x relative score. A confident box needs IoU >= 0.1, a
   low one IoU >= 0.3 (a partly hidden person, as in ByteTrack's second stage). Doing both in
   one assignment, rather than confident boxes first, means a confident false positive that
   barely touches a track cannot take it from the low-scored box that fits it. A low box
   shorter than its track is extended down to the track's height (the legs are what is
   hidden), so the feet point lines and zones read does not jump.
2. Tracks lost behind someone coast on their velocity while their position uncertainty grows;
   once the predicted box no longer overlaps the box they reappear in, they take back a free
   confident box whose centre lies within the prediction's uncertainty (Mahalanobis distance,
   chi-square 99 %) and whose height is within 25 % of theirs. Motion and size only: no
   appearance is used or stored.
3. Tentative tracks (seen once) vs the confident boxes left; a confident box still free starts
   a tentative track, confirmed when matched on the next update.

All tracks live in a few numpy arrays (structure of arrays), so predicting, projecting and
correcting N tracks is a handful of batched elementwise operations instead of N small ones.
Between detector runs, ``peek()`` extrapolates the tracks being followed along their motion,
so lines and zones still see people move on the frames the detector skipped.
Measured against Roboflow's ByteTrack on the same detections: ``bench/tracker_peer.py``.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from vision.detections import Detections
from vision.score_level import ScoreLevel

_NEW, _TRACKED, _LOST = 0, 1, 2
# Detections.data key: seconds of video since the track's first sighting. A track is shown
# only once confirmed (a step after it was first seen); zones and visits count from the
# sighting, not from the confirmation.
TRACK_AGE = "track_age_s"
# How long a lost track waits to be found again. ByteTrack's 30 frames at 30 fps is 1 s; 1.5 s
# bridges a person hidden behind another for a few steps at 5-10 fps. With NanoDet's junk
# low-score boxes kept out of the second stage (the LOW_RATIO floor) the longer wait no longer
# lets a lost track latch onto them: on PETS and its mirror image, median IDF1 0.791 -> 0.802.
LOST_S = 1.5

# Kalman noise as fractions of the box height, as in SORT/DeepSORT/ByteTrack. Those values were
# set for 30 fps video; a person's velocity changes more between two frames at a lower rate, so
# the velocity noise is scaled by the frame interval (x3 at 10 fps).
_STD_POS = 1.0 / 20
_STD_VEL = 1.0 / 160
_REFERENCE_FPS = 30.0

# Noise = (scale * box height)^2 + constant, per measured dimension (cx, cy, aspect, h).
# The aspect's process noise is 3x ByteTrack's 1e-2: a box cut by the frame edge as someone
# walks in, or a gait, changes width faster than that lets the track follow, and a track left
# too narrow loses its person to a neighbour (S3-MF1). Mean IDF1 over the 18 clip x detection
# sets of bench/tracker_peer.py 0.819 -> 0.826 (0.05: 0.823).
_POS_SCALE = np.array([_STD_POS, _STD_POS, 0.0, _STD_POS])
_Q_POS_CONST = np.array([0.0, 0.0, 3e-2, 0.0]) ** 2
_Q_VEL_CONST = np.array([0.0, 0.0, 1e-5, 0.0]) ** 2
_R_CONST = np.array([0.0, 0.0, 1e-1, 0.0]) ** 2
_PP, _PV, _VV = 0, 1, 2
# Score thresholds as fractions of the stream's score level (the median score of trusted
# people, vision/score_level.py). With NanoDet's level near 0.74 they give ByteTrack's 0.5 / 0.6
# and the 0.25 floor that keeps its static junk out of the second stage.
HIGH_RATIO, NEW_RATIO, LOW_RATIO = 0.68, 0.8, 0.34
# IoU a low box needs with a track (ByteTrack's second stage asks 0.5). Confident boxes compete
# in the same assignment, so a looser gate no longer lets a low box steal a track; SSDLite's
# loose boxes and jittered ones need it: over the 18 clip x detection sets of
# bench/tracker_peer.py mean IDF1 0.815 at 0.5, 0.821 at 0.3 (0.2: more miscounted crossings).
LOW_MATCH_IOU = 0.3
# A track feeds the score level once matched more than this many times and moved by this
# share of its height (a one-off box or a static shape is no evidence of a person's score).
_ESTABLISHED_HITS, _EVIDENCE_MOVE = 3, 0.5
# Evidence is sampled every few updates: the level moves slowly, and it saves time per frame.
_EVIDENCE_EVERY = 3
# Re-finding a lost track: chi-square 2 dof at 99 %, and boxes within 25 % of its height.
REFIND_GATE, REFIND_SIZE = 9.21, 1.25
# A low-score box shorter than this share of its track's predicted height is taken as a person
# whose lower body is hidden (see Tracker._extend_occluded).
_OCCLUDED_HEIGHT = 0.85
# ... provided its top edge is within this share of the height of where the track's head is.
_HEAD_TOLERANCE = 0.1


def _nonzero(mask: np.ndarray) -> np.ndarray:
    return mask.nonzero()[0]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of xyxy boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.maximum(ix2 - ix1, 0.0) * np.maximum(iy2 - iy1, 0.0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def _xyxy_to_xyah(b: np.ndarray) -> np.ndarray:
    out = np.empty((len(b), 4))
    out[:, 3] = np.maximum(b[:, 3] - b[:, 1], 1e-3)
    out[:, 2] = (b[:, 2] - b[:, 0]) / out[:, 3]
    out[:, 0] = (b[:, 0] + b[:, 2]) * 0.5
    out[:, 1] = (b[:, 1] + b[:, 3]) * 0.5
    return out


def _xyah_to_xyxy(m: np.ndarray) -> np.ndarray:
    half = np.empty((len(m), 2))
    half[:, 1] = m[:, 3] * 0.5
    half[:, 0] = m[:, 2] * half[:, 1]
    return np.concatenate([m[:, :2] - half, m[:, :2] + half], axis=1)


class Tracker:
    """ByteTrack-style tracker: ``update(detections) -> detections with tracker_id``.

    Score thresholds are fractions of the stream's score level (vision/score_level.py):
    high_ratio splits confident boxes from low ones, new_ratio is what a box needs to start a
    track, low_ratio is the floor under which a box is ignored. match_iou: minimum IoU of a
    confident box with a track, low_match_iou of a low one; tentative_match_iou confirms a new
    track. lost_s: how long a track may go unmatched before it ends (seconds of video);
    refind_gate: Mahalanobis distance (chi-square, 2 dof) within which a lost track takes back
    a confident box its predicted box no longer overlaps, refind_size the height ratio it
    allows. low_rescues_lost: low-score boxes may also continue a lost track (a person coming
    out from behind someone is often first seen as a low-score box). level: the ScoreLevel
    to use (tests pass one to pin it).
    """

    @classmethod
    def for_detector(cls, detector, frame_rate: float) -> "Tracker":
        """The tracker for `detector`'s stream: it learns the score scale itself (see
        vision/score_level.py), so a detector has nothing to set."""
        return cls(frame_rate=frame_rate)

    def __init__(self, frame_rate: float = 30.0, high_ratio: float = HIGH_RATIO,
                 new_ratio: float = NEW_RATIO, low_ratio: float = LOW_RATIO,
                 match_iou: float = 0.1, low_match_iou: float = LOW_MATCH_IOU,
                 tentative_match_iou: float = 0.3, lost_s: float = LOST_S,
                 refind_gate: float = REFIND_GATE, refind_size: float = REFIND_SIZE,
                 fuse_score: bool = True, low_rescues_lost: bool = True,
                 extend_occluded: bool = True, level: ScoreLevel | None = None):
        if frame_rate <= 0:
            raise ValueError(f"frame_rate must be > 0, got {frame_rate}")
        if not 0 <= low_ratio <= high_ratio <= new_ratio:
            raise ValueError("need 0 <= low_ratio <= high_ratio <= new_ratio")
        if refind_size < 1:
            raise ValueError(f"refind_size is a height ratio >= 1, got {refind_size}")
        self.high_ratio, self.low_ratio, self.new_ratio = high_ratio, low_ratio, new_ratio
        self.match_iou, self.low_match_iou = match_iou, low_match_iou
        self.tentative_match_iou = tentative_match_iou
        self.refind_gate, self.refind_size = refind_gate, refind_size
        self.level = ScoreLevel() if level is None else level
        self.frame_rate = float(frame_rate)
        self.max_lost = max(1, int(round(lost_s * frame_rate)))
        self.fuse_score = fuse_score
        self.low_rescues_lost = low_rescues_lost
        self.extend_occluded = extend_occluded
        self._std_vel = _STD_VEL * _REFERENCE_FPS / frame_rate
        self._vel_scale = np.array([1.0, 1.0, 0.0, 1.0]) * self._std_vel
        self.frame = 0
        self._next_id = 1
        self.ended: list[int] = []
        self._mean = np.zeros((0, 8))
        # F, H, Q and R act on each of the 4 measured dimensions separately, so the 8x8
        # covariance stays block-diagonal: per dimension a 2x2 [[pp, pv], [pv, vv]]. We keep
        # just those three numbers, (T, 3, 4), and every Kalman step becomes elementwise.
        self._cov = np.zeros((0, 3, 4))
        self._id = np.zeros(0, np.int64)
        self._state = np.zeros(0, np.int8)
        self._last = np.zeros(0, np.int64)      # frame of the last match
        self._born = np.zeros(0, np.int64)      # frame of the first sighting
        self._hits = np.zeros(0, np.int64)      # matches so far
        self._origin = np.zeros((0, 2))          # centre where first seen
        self._score = np.zeros(0, np.float32)

    @property
    def thresholds(self) -> tuple[float, float, float]:
        """(low, high, new) score thresholds in force now."""
        v = self.level.value
        return self.low_ratio * v, self.high_ratio * v, self.new_ratio * v

    # -- public -------------------------------------------------------------------------
    @property
    def active_ids(self) -> np.ndarray:
        """Ids of confirmed tracks still alive (tracked or briefly lost)."""
        return self._id[self._state != _NEW].copy()

    def update(self, detections: Detections) -> Detections:
        """Associate one frame's detections; returns the matched, confirmed ones with ids."""
        self.frame += 1
        self.ended = []
        self._predict()
        det = detections
        boxes = det.xyxy.astype(np.float64)
        scores = det.confidence
        out_track = np.full(len(det), -1, np.int64)      # row -> track index
        low_t, high_t, new_t = self.thresholds
        is_high = scores >= high_t
        state = self._state
        # One IoU matrix for every track and box; the stages take slices of it.
        sim = iou_matrix(_xyah_to_xyxy(self._mean[:, :4]), boxes)

        # Stage 1: confirmed tracks vs every box above the floor, in one assignment. A low box
        # needs a close overlap and, with score fusion, loses to a confident box of similar
        # overlap; but a confident box that barely touches a track no longer beats the low box
        # that fits it (a false positive must not drag a track away from its person).
        candidates = _nonzero(scores >= low_t)
        confirmed = _nonzero(state != _NEW)
        t1, d1 = self._associate_stage1(sim, scores / self.level.value, confirmed, candidates,
                                        is_high)
        out_track[d1] = t1
        low_matched = ~is_high[d1]
        if self.extend_occluded and low_matched.any():
            rows = d1[low_matched]
            boxes[rows] = self._extend_occluded(boxes[rows], t1[low_matched])
        # Stage 2: lost tracks the prediction no longer overlaps take back a confident box
        # where their motion model says they should be, at their size.
        free_high = _nonzero(is_high & (out_track < 0))
        taken = np.zeros(len(state), bool)
        taken[t1] = True
        t2, d2 = self._refind(_nonzero((state == _LOST) & ~taken), free_high, boxes)
        out_track[d2] = t2
        # Stage 3: tentative tracks vs the confident boxes nobody took.
        free_high = free_high[out_track[free_high] < 0]
        t3, d3 = self._associate(sim, scores, _nonzero(state == _NEW), free_high,
                                 self.tentative_match_iou, self.fuse_score)
        out_track[d3] = t3
        starters = free_high[(out_track[free_high] < 0) & (scores[free_high] >= new_t)]

        matched_rows = _nonzero(out_track >= 0)
        tracks = out_track[matched_rows]
        self._correct(tracks, boxes[matched_rows])
        self._state[tracks] = _TRACKED
        self._last[tracks] = self.frame
        self._hits[tracks] += 1
        self._score[tracks] = scores[matched_rows]
        self.level.seen(scores)
        if self.frame % _EVIDENCE_EVERY == 0:
            self.level.add(scores[matched_rows[self._is_evidence(tracks)]])
        ids = np.full(len(det), -1, np.int64)
        ids[matched_rows] = self._id[tracks]
        age = np.zeros(len(det))
        age[matched_rows] = (self.frame - self._born[tracks]) / self.frame_rate

        # A tentative track that misses its second frame dies at once, as in ByteTrack.
        lost = (self._state == _TRACKED) & (self._last < self.frame)
        self._state[lost] = _LOST
        dead = ((self._state == _NEW) & (self._last < self.frame)) | \
               ((self._state == _LOST) & (self.frame - self._last > self.max_lost))
        self._drop(dead)
        started = self._start(boxes[starters], scores[starters])
        if self.frame == 1 and len(started):
            # The very first frame has nothing to confirm against; trust it, as ByteTrack does.
            self._state[started] = _TRACKED
            ids[starters] = self._id[started]
        keep = ids >= 0
        result = det[keep]
        result.xyxy = boxes[keep].astype(np.float32)
        result.tracker_id = ids[keep]
        result.data[TRACK_AGE] = age[keep]
        return result

    def peek(self, fraction: float = 1.0) -> Detections:
        """Where the tracks being followed will be ``fraction`` of a step ahead; no state change.

        For frames between two detector runs: with the detector on every k-th frame, build the
        tracker with ``frame_rate = fps / k`` and call ``peek(j / k)`` on the j-th frame after
        an update, so the motion model and the lost-track time stay in real seconds.
        """
        show = _nonzero(self._state == _TRACKED)
        mean = self._mean[show]
        boxes = _xyah_to_xyxy(mean[:, :4] + fraction * mean[:, 4:])
        age = (self.frame - self._born[show] + fraction) / self.frame_rate
        return Detections(boxes, self._score[show], np.zeros(len(show), np.int32),
                          tracker_id=self._id[show].copy(), data={TRACK_AGE: age})

    def end_all(self) -> list[int]:
        """End every confirmed track (end of stream); returns their ids."""
        ids = [int(i) for i in self._id[self._state != _NEW]]
        self._drop(np.ones(len(self._id), bool))
        self.ended = ids
        return ids

    # -- internals ------------------------------------------------------------------------
    @staticmethod
    def _associate(sim_all, scores, tracks, dets, min_iou: float, fuse: bool):
        """Hungarian matching of track rows to detection rows by IoU (>= min_iou)."""
        if not len(tracks) or not len(dets):
            return tracks[:0], dets[:0]
        sim = sim_all[tracks[:, None], dets[None, :]]
        cost = 1.0 - (sim * scores[dets][None, :] if fuse else sim)
        cost[sim < min_iou] = 2.0
        rows, cols = linear_sum_assignment(cost)
        keep = cost[rows, cols] < 1.0
        return tracks[rows[keep]], dets[cols[keep]]

    def _associate_stage1(self, sim_all, rel, tracks, dets, is_high):
        """Confirmed tracks vs confident and low boxes at once; cost 1 - IoU x relative score."""
        if not len(tracks) or not len(dets):
            return tracks[:0], dets[:0]
        sim = sim_all[tracks[:, None], dets[None, :]]
        weight = np.minimum(rel[dets], 1.0) if self.fuse_score else np.ones(len(dets))
        cost = 1.0 - sim * weight[None, :]
        high = is_high[dets][None, :]
        may_take_low = self._state[tracks] == _TRACKED
        if self.low_rescues_lost:
            may_take_low[:] = True
        gate = np.where(high, sim >= self.match_iou,
                        (sim >= self.low_match_iou) & may_take_low[:, None])
        cost[~gate] = 2.0
        rows, cols = linear_sum_assignment(cost)
        keep = cost[rows, cols] < 1.0
        return tracks[rows[keep]], dets[cols[keep]]

    def _is_evidence(self, tracks: np.ndarray) -> np.ndarray:
        """Which matched tracks are surely people: matched several times, and moved by half
        their height since first seen (a static shape the detector keeps finding is not)."""
        moved = np.abs(self._mean[tracks, :2] - self._origin[tracks]).max(1) >= \
            _EVIDENCE_MOVE * self._mean[tracks, 3]
        return (self._hits[tracks] > _ESTABLISHED_HITS) & moved

    def _refind(self, tracks: np.ndarray, dets: np.ndarray, boxes: np.ndarray):
        """Lost tracks vs free confident boxes by where the motion model puts them and size.

        While a person is hidden their track coasts on its velocity and its position
        uncertainty grows; once their predicted box no longer overlaps the box they reappear
        in, IoU cannot match them. The centre's Mahalanobis distance under that uncertainty
        can, and the box height (the person's distance to the camera changes slowly) keeps a
        neighbour of another size from taking the track. No appearance is used."""
        if not len(tracks) or not len(dets):
            return tracks[:0], dets[:0]
        mean = self._mean[tracks]
        h = mean[:, 3:4]
        var = self._cov[tracks, _PP, :2] + (h * _STD_POS) ** 2                   # (T, 2)
        z = _xyxy_to_xyah(boxes[dets])
        d2 = ((z[None, :, :2] - mean[:, None, :2]) ** 2 / var[:, None, :]).sum(2)
        ratio = z[None, :, 3] / h
        fits = (d2 <= self.refind_gate) & (ratio <= self.refind_size) & \
               (ratio >= 1 / self.refind_size)
        if not fits.any():
            return tracks[:0], dets[:0]
        cost = np.where(fits, d2, 1e6)
        rows, cols = linear_sum_assignment(cost)
        keep = fits[rows, cols]
        return tracks[rows[keep]], dets[cols[keep]]

    def _extend_occluded(self, boxes: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        """Low-score boxes matched to a track, made as tall as the track where they are shorter.

        From an elevated camera a person nearer the camera stands lower in the image, so it
        hides the lower body of the person behind: the detector then sees a shortened box whose
        bottom edge, the feet point, jumps up and can fake a line crossing. The top edge
        (head) is still right, so the box keeps its top and takes the predicted height. Only
        where the top is where the track expects the head: a box short at the top instead
        (the detector cut the head, or another person's box) would push the feet down."""
        predicted_h = self._mean[tracks, 3]
        predicted_top = self._mean[tracks, 1] - predicted_h / 2
        height = boxes[:, 3] - boxes[:, 1]
        short = (height < _OCCLUDED_HEIGHT * predicted_h) & \
            (np.abs(boxes[:, 1] - predicted_top) <= _HEAD_TOLERANCE * predicted_h)
        out = boxes.copy()
        out[short, 3] = boxes[short, 1] + predicted_h[short]
        return out

    def _predict(self) -> None:
        if not len(self._mean):
            return
        mean = self._mean
        # A track we cannot see should not keep growing or shrinking.
        mean[self._state != _TRACKED, 7] = 0.0
        mean[:, :4] += mean[:, 4:]
        h2 = mean[:, 3:4] ** 2
        c = self._cov
        # [[pp, pv], [pv, vv]] <- F P F^T + Q with F = [[1, 1], [0, 1]]
        c[:, _PP] += 2 * c[:, _PV] + c[:, _VV] + h2 * _POS_SCALE ** 2 + _Q_POS_CONST
        c[:, _PV] += c[:, _VV]
        c[:, _VV] += h2 * self._vel_scale ** 2 + _Q_VEL_CONST

    def _correct(self, tracks: np.ndarray, boxes: np.ndarray) -> None:
        if not len(tracks):
            return
        z = _xyxy_to_xyah(boxes)
        mean, c = self._mean[tracks], self._cov[tracks]
        s = c[:, _PP] + (mean[:, 3:4] * _POS_SCALE) ** 2 + _R_CONST
        k_pos, k_vel = c[:, _PP] / s, c[:, _PV] / s               # Kalman gain per dimension
        innovation = z - mean[:, :4]
        mean[:, :4] += k_pos * innovation
        mean[:, 4:] += k_vel * innovation
        c[:, _VV] -= k_vel * c[:, _PV]
        c[:, _PV] -= k_pos * c[:, _PV]
        c[:, _PP] -= k_pos * c[:, _PP]
        self._mean[tracks] = mean
        self._cov[tracks] = c

    def _drop(self, mask: np.ndarray) -> None:
        if not mask.any():
            return
        gone = mask & (self._state != _NEW)
        self.ended.extend(int(i) for i in self._id[gone])
        keep = ~mask
        self._mean, self._cov = self._mean[keep], self._cov[keep]
        self._id, self._state = self._id[keep], self._state[keep]
        self._last, self._score = self._last[keep], self._score[keep]
        self._born, self._hits = self._born[keep], self._hits[keep]
        self._origin = self._origin[keep]

    def _start(self, boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
        n = len(boxes)
        first = len(self._id)
        if n == 0:
            return np.zeros(0, np.intp)
        xyah = _xyxy_to_xyah(boxes)
        mean = np.concatenate([xyah, np.zeros((n, 4))], axis=1)
        h = xyah[:, 3:4]
        cov = np.zeros((n, 3, 4))
        cov[:, _PP] = (2 * h * _POS_SCALE) ** 2 + _Q_POS_CONST
        cov[:, _VV] = (10 * h * self._vel_scale) ** 2 + _Q_VEL_CONST
        new_ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        self._mean = np.concatenate([self._mean, mean])
        self._cov = np.concatenate([self._cov, cov])
        self._id = np.concatenate([self._id, new_ids])
        self._state = np.concatenate([self._state, np.full(n, _NEW, np.int8)])
        self._last = np.concatenate([self._last, np.full(n, self.frame, np.int64)])
        self._born = np.concatenate([self._born, np.full(n, self.frame, np.int64)])
        self._hits = np.concatenate([self._hits, np.ones(n, np.int64)])
        self._origin = np.concatenate([self._origin, xyah[:, :2]])
        self._score = np.concatenate([self._score, scores.astype(np.float32)])
        return np.arange(first, first + n)
