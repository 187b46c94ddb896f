"""How high this stream's detector scores a person it sees clearly, learnt while tracking.

    level = ScoreLevel()
    level.seen(scores_of_every_box_in_the_frame)            # only used until evidence comes
    level.add(scores_of_boxes_matched_to_moving_established_tracks)
    confident = scores >= 0.68 * level.value

Detectors disagree on what a score means: NanoDet gives a clearly visible person 0.7-0.85 and
its junk 0.1-0.25; SSDLite gives small pedestrians 0.2-0.5 and loose boxes up to 0.9; NanoDet's
8-bit file never goes above 0.69; another model, or the same one on another camera, will differ
again. Thresholds fixed for one of them (ByteTrack's 0.5 / 0.6) misjudge the others: with the
8-bit NanoDet, ByteTrack's 0.7 start threshold starts no track at all. The tracker therefore
measures the scale on the stream itself and sets its thresholds as fractions of it:

* **Evidence.** The ``quantile`` (median) of the scores of boxes matched to tracks it already
  trusts (see vision/tracker.py: matched several times and moved, so a static background shape
  the detector keeps finding is no evidence), in a 100-bin histogram whose old content fades
  (``half_life`` boxes).
* **Before evidence.** Until ``min_evidence`` boxes of evidence have come in, the level is the
  ``prior`` (0.74: NanoDet's median person score on PETS), lowered to the median of each
  frame's best score when that is lower, so a detector that scores everyone low still gets
  tracks started (and then evidence). The best box of a frame is a person whenever one is in
  view; taking all boxes instead let NanoDet's many junk boxes set the level on a clip that
  opens with one person in view (S3-MF1), and junk tracks started.
* **Bounds.** The level stays within ``bounds``, so a stream of junk cannot drag it to nothing.

Scaling every score by a constant scales the level with it, so association does not change; a
shift moves it only a little (tests/vision/test_tracker.py measures both).
"""
from __future__ import annotations

import numpy as np

BINS = 100
BATCH = 20


class ScoreLevel:
    def __init__(self, quantile: float = 0.5, prior: float = 0.74, min_evidence: float = 20.0,
                 half_life: float = 500.0, bounds: tuple[float, float] = (0.25, 1.0)):
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        if not 0 < bounds[0] <= prior <= bounds[1] <= 1:
            raise ValueError(f"need 0 < bounds[0] <= prior <= bounds[1] <= 1, got {bounds}, {prior}")
        if half_life <= 0 or min_evidence < 0:
            raise ValueError("half_life must be > 0 and min_evidence >= 0")
        self.quantile = quantile
        self.prior = float(prior)
        self.min_evidence = min_evidence
        self.bounds = bounds
        self.half_life = half_life
        self._evidence = np.zeros(BINS)
        self._best = np.zeros(BINS)               # each frame's best score
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self.value = float(prior)

    @property
    def learnt(self) -> bool:
        """Whether the level now comes from evidence rather than the prior."""
        return self._evidence.sum() >= self.min_evidence

    def seen(self, scores: np.ndarray) -> float:
        """Every box of a frame: before there is evidence, its best score guides the level."""
        if len(scores) == 0 or self.learnt:
            return self.value
        self._best[self._bin(np.max(scores, keepdims=True))[0]] += 1
        self.value = self._bounded(min(self.prior, self._quantile(self._best, 0.5)))
        return self.value

    def add(self, scores: np.ndarray) -> float:
        """Take in the scores of boxes that are people for sure; returns the new level.

        Scores are taken in batches of ``BATCH`` boxes (the level moves slowly anyway), which
        keeps the per-frame cost of the tracker down."""
        if len(scores):
            self._pending.append(scores)
            self._n_pending += len(scores)
        if self._n_pending < BATCH:
            return self.value
        scores = np.concatenate(self._pending)
        self._pending, self._n_pending = [], 0
        self._evidence *= 0.5 ** (len(scores) / self.half_life)
        self._evidence += np.bincount(self._bin(scores), minlength=BINS)
        if self.learnt:
            self.value = self._bounded(self._quantile(self._evidence, self.quantile))
        return self.value

    def _bounded(self, value: float) -> float:
        return min(max(value, self.bounds[0]), self.bounds[1])

    @staticmethod
    def _quantile(hist: np.ndarray, q: float) -> float:
        cum = np.cumsum(hist)
        return (int(np.searchsorted(cum, q * cum[-1])) + 0.5) / BINS

    @staticmethod
    def _bin(scores: np.ndarray) -> np.ndarray:
        return np.minimum((np.maximum(scores, 0.0) * BINS).astype(np.intp), BINS - 1)
