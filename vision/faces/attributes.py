"""Age and gender from face chips: face-api.js's AgeGenderNet, plus dlib's gender net as a second vote.

    >>> est = AgeGenderEstimator(models_dir, threads=2)                     # doctest: +SKIP
    >>> ages, p_male = est.estimate(chips112_rgb, chips32_rgb)             # doctest: +SKIP
    >>> age_confidence(ages[0], AGE_SIGMA_YEARS, bracket_of(ages[0]))      # doctest: +SKIP

- AgeGenderNet (`converted/face_api_age_gender.onnx`, see models/README.md): a square crop around
  the face box at 112 px; outputs age in years and [male, female].
- dlib's `dnn_gender_classifier_v1` (`gender-v1.onnx`, Cydral, CC0): a 5-point aligned 32 px chip;
  outputs [female, male].
Both take RGB, (byte - (122.782, 117.001, 104.298)) / 256, NCHW, and both see each chip and its
mirror image. On FairFace-540 (bench/faces_accuracy.py) AgeGenderNet reads age far better than
dlib's age net (age group exact 0.46 vs 0.34), which is why that net is no longer used; for
gender each net wins at one face size (AgeGenderNet on ~45 px and larger faces, dlib's on
~27 px), so p(male) is the mean of the two.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from station.store import AGE_BRACKETS
from vision.detectors.base import onnx_session

MEANS_RGB = np.array([122.781998, 117.000999, 104.297997], np.float32)
AGE_GENDER_CHIP, GENDER_CHIP = 112, 32
AGE_GENDER_MODEL = "converted/face_api_age_gender.onnx"
GENDER_MODEL = "gender-v1.onnx"

# Spread assumed for one age reading, in years. An assumption, not fitted: small age regressors
# are typically 5-7 years off on faces in the wild. It turns an age into a bracket confidence.
AGE_SIGMA_YEARS = 7.0

# The product's brackets (what is stored per visit) and their lower bounds, inclusive.
BRACKETS = AGE_BRACKETS
_BRACKET_LOWER = tuple(int(b.split("-")[0].rstrip("+")) for b in BRACKETS)


def bracket_of(age: float) -> str:
    return BRACKETS[int(np.searchsorted(_BRACKET_LOWER, round(float(age)), side="right") - 1)]


def age_confidence(age: float, sigma: float, bracket: str) -> float:
    """Probability that the true age falls in `bracket` if it is N(age, sigma^2) (whole years:
    a bracket 25-34 covers [24.5, 34.5))."""
    i = BRACKETS.index(bracket)
    lo = -math.inf if i == 0 else _BRACKET_LOWER[i] - 0.5
    hi = math.inf if i + 1 == len(BRACKETS) else _BRACKET_LOWER[i + 1] - 0.5

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf((x - age) / (sigma * math.sqrt(2)))) if math.isfinite(x) else float(x > 0)
    return float(cdf(hi) - cdf(lo))


def bracket_probabilities(age: float, sigma: float) -> tuple[float, ...]:
    """Probability of each of BRACKETS if the true age is N(age, sigma^2): what a visit stores,
    so the period's shares can use the whole estimate, not only its most likely bracket."""
    return tuple(age_confidence(age, sigma, b) for b in BRACKETS)


def _prepare(chips_rgb: np.ndarray, size: int) -> np.ndarray:
    """[N, 3, size, size] normalised, the chips followed by their mirror images."""
    chips = np.asarray(chips_rgb)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.dtype != np.uint8 or chips.shape[1:] != (size, size, 3):
        raise ValueError(f"chips must be uint8 [N, {size}, {size}, 3] RGB, got {chips.dtype} {chips.shape}")
    values = chips.astype(np.float32)
    values -= MEANS_RGB
    values /= np.float32(256.0)
    values = values.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(np.concatenate([values, values[:, :, :, ::-1]]))


def _mirror_mean(values: np.ndarray) -> np.ndarray:
    half = len(values) // 2
    return ((values[:half] + values[half:]) / 2).astype(np.float32)


class AgeGenderEstimator:
    def __init__(self, models_dir: Path, threads: int = 2):
        models_dir = Path(models_dir)
        self._age_gender = onnx_session(models_dir / AGE_GENDER_MODEL, threads, "age/gender model")
        self._gender = onnx_session(models_dir / GENDER_MODEL, threads, "gender model")

    def estimate(self, chips112_rgb: np.ndarray, chips32_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(age in years [N], p(male) [N]) from one 112 px face crop and one aligned 32 px chip per face."""
        big, small = _prepare(chips112_rgb, AGE_GENDER_CHIP), _prepare(chips32_rgb, GENDER_CHIP)
        if len(big) != len(small):
            raise ValueError("need one 112 px crop and one 32 px chip per face")
        if len(big) == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        age, male_female = self._age_gender.run(None, {"images": big})
        female_male = self._gender.run(None, {"images": small})[0]
        ages = np.clip(_mirror_mean(age[:, 0]), 0, None)
        p_male = (_mirror_mean(male_female[:, 0]) + _mirror_mean(female_male[:, 1])) / 2
        return ages, p_male
