"""How high this stream's detector scores a person it sees clearly, learnt while tracking.

    level = ScoreLevel()
    level.add(scores_of_boxes_matched_to_established_tracks)
    confident = scores >= 0.6 * level.value

Detectors disagree on what a score means: NanoDet gives a clearly visible person 0.8-0.9 and
its junk 0.1-0.25; SSDLite gives small pedestrians 0.3-0.5; another model, or the same one on
another camera, will differ again. Thresholds fixed for one of them (ByteTrack's 0.5 / 0.6)
misjudge the others. The tracker therefore measures the scale on the stream itself: the
``quantile`` (0.9) of the scores of boxes it has matched to tracks it already trusts, with old
evidence fading (``half_life`` boxes), and sets its thresholds as fractions of that level (see
vision/tracker.py). Scaling every score by a constant scales the level with it, so association
does not change; a shift moves it only a little. Until evidence arrives the level is a prior
(``prior``, worth ``prior_weight`` boxes), and it is kept within ``bounds`` so that a stream
of junk cannot drag it to nothing.
"""
from __future__ import annotations

import numpy as np

BINS = 100


class ScoreLevel:
    def __init__(self, quantile: float = 0.5, prior: float = 0.74, prior_weight: float = 20.0,
                 half_life: float = 500.0, bounds: tuple[float, float] = (0.25, 1.0)):
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {quantile}")
        if not 0 < bounds[0] <= prior <= bounds[1] <= 1:
            raise ValueError(f"need 0 < bounds[0] <= prior <= bounds[1] <= 1, got {bounds}, {prior}")
        if half_life <= 0 or prior_weight < 0:
            raise ValueError("half_life must be > 0 and prior_weight >= 0")
        self.quantile = quantile
        self.bounds = bounds
        self.half_life = half_life
        self._hist = np.zeros(BINS)
        self._hist[self._bin(np.array([prior]))] = prior_weight
        self.value = float(prior)

    def add(self, scores: np.ndarray) -> float:
        """Take in the scores of boxes that are people for sure; returns the new level."""
        n = len(scores)
        if n == 0:
            return self.value
        self._hist *= 0.5 ** (n / self.half_life)
        self._hist += np.bincount(self._bin(scores), minlength=BINS)
        cum = np.cumsum(self._hist)
        top = int(np.searchsorted(cum, self.quantile * cum[-1]))
        self.value = min(max((top + 0.5) / BINS, self.bounds[0]), self.bounds[1])
        return self.value

    @staticmethod
    def _bin(scores: np.ndarray) -> np.ndarray:
        return np.minimum((np.maximum(scores, 0.0) * BINS).astype(np.intp), BINS - 1)
