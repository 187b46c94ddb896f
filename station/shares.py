"""Shares of a period's visitors by class (women / men, age group), corrected for the
classifier's measured confusion, with a 95 % interval.

    cal = load_calibration()                                   # models/demographics.json
    d = demographic_shares(cal, p_female=[0.9, 0.2, ...], age_probs=[[...7 brackets...], ...])
    d.gender.share("female")                                   # Share(estimate=0.56, low=0.44, ...)
    d.age.shares                                               # one Share per AGE_GROUPS

Why not count the labels: a classifier that is right on 80 % of faces turns a store of 20 %
women into ~32 % "female" labels. Adjusted classify-and-count (ACC, Forman 2008) undoes that:
if M[i, j] is the mean feature j of faces whose true class is i (measured on labelled faces),
the expected mean feature of a period is q = Mᵀ·π for the true shares π, so π is solved back
from the observed q. The feature is either the hard label (one-hot: ACC) or the classifier's
probability vector (probabilistic ACC, "PACC", Bella et al. 2010); QuaPy implements both. Here
π is the least-squares solution on the simplex (non-negative, summing to 1), which is the exact
inversion when that lies inside and the clipped one when sampling noise pushes it outside. The
features may have more columns than there are classes (7 product age brackets as features, 3
age groups the labelled faces can check), so M need not be square.

The interval is a bootstrap that redraws both sources of error together: the period's visits
(with replacement) and the calibration faces (with replacement within each true class, so
fewer calibration faces give a wider interval), then takes the percentiles of π.
Pure maths on numpy arrays (and the calibration file's loader); no database, no models.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

GENDERS = ("female", "male")
# The age groups shares are reported in: unions of FairFace's labelled groups (0-2, 3-9, 10-19,
# 20-29, ..., 70+), the only ages the confusion can be measured against. The product's own
# brackets (station.store.AGE_BRACKETS: 0-17, 18-24, ...) cut through those groups, so they
# serve as the classifier's features, not as the classes. Three groups, not four (40-59, 60+):
# on 270 calibration faces the age net cannot tell 40-59 from 60+ well enough, and the
# correction's own error alone (bench/demographic_shares.py's endless day, age only) left a
# total variation of 0.06-0.21 with four groups against 0.00-0.06 with three.
AGE_GROUPS = ("0-19", "20-39", "40+")
CALIBRATION_FILE = Path(__file__).resolve().parents[1] / "models" / "demographics.json"
LEVEL = 0.95
ROUNDS = 400
EXACT_RESAMPLING_MAX = 2000     # visits; above, the bootstrap draws their mean from its normal limit

# Heavy weight on the sum-to-one row of the least-squares system: it makes the constraint
# exact to ~1e-9 while NNLS keeps every share non-negative.
_SIMPLEX_WEIGHT = 1e4


class CalibrationError(ValueError):
    """The calibration file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Share:
    name: str
    estimate: float
    low: float
    high: float

    def as_dict(self) -> dict:
        return {"name": self.name, "estimate": round(self.estimate, 4),
                "low": round(self.low, 4), "high": round(self.high, 4)}


@dataclass(frozen=True)
class Shares:
    """Corrected shares of one period with their interval; n = visits with an estimate."""
    shares: tuple[Share, ...]
    n: int
    method: str
    level: float = LEVEL

    def share(self, name: str) -> Share:
        for s in self.shares:
            if s.name == name:
                return s
        raise KeyError(name)

    def as_dict(self) -> dict:
        return {"n": self.n, "method": self.method, "level": self.level,
                "shares": [s.as_dict() for s in self.shares]}


# -- the maths ----------------------------------------------------------------------------------
def one_hot(indices, k: int) -> np.ndarray:
    """[n, k] hard labels as features (ACC)."""
    indices = np.asarray(indices, int)
    out = np.zeros((len(indices), k))
    out[np.arange(len(indices)), indices] = 1.0
    return out


def class_means(features, labels, n_classes: int) -> np.ndarray:
    """M[i] = mean feature vector of the calibration faces whose true class is i."""
    features, labels = np.asarray(features, float), np.asarray(labels, int)
    rows = []
    for i in range(n_classes):
        members = features[labels == i]
        if len(members) == 0:
            raise ValueError(f"no calibration face of class {i}")
        rows.append(members.mean(axis=0))
    return np.array(rows)


def solve(matrix, observed) -> np.ndarray:
    """π on the simplex minimising ‖Mᵀπ − q‖: the adjusted shares from the class means M
    [classes, features] and the period's mean feature vector q [features]."""
    matrix, observed = np.asarray(matrix, float), np.asarray(observed, float)
    k = matrix.shape[0]
    a = np.vstack([matrix.T, np.full((1, k), _SIMPLEX_WEIGHT)])
    b = np.concatenate([observed, [_SIMPLEX_WEIGHT]])
    pi, _residual = nnls(a, b)
    total = pi.sum()
    return pi / total if total > 0 else np.full(k, 1.0 / k)


def adjusted(cal_features, cal_labels, features, n_classes: int) -> np.ndarray:
    """Point estimate of the true shares of the rows of `features` (ACC or PACC, see above)."""
    return solve(class_means(cal_features, cal_labels, n_classes), np.asarray(features, float).mean(axis=0))


def bootstrap(cal_features, cal_labels, features, n_classes: int, *, rounds: int = ROUNDS,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(point estimate [k], bootstrap draws [rounds, k]) of the true shares of `features`."""
    cal_features, features = np.asarray(cal_features, float), np.asarray(features, float)
    cal_labels = np.asarray(cal_labels, int)
    k = n_classes
    if len(features) == 0:
        raise ValueError("no visits to estimate shares from")
    if features.shape[1] != cal_features.shape[1]:
        raise ValueError(f"visits have {features.shape[1]} features, calibration {cal_features.shape[1]}")
    point = adjusted(cal_features, cal_labels, features, k)
    rng = np.random.default_rng(seed)
    # Each class's mean feature vector from its calibration faces drawn again with replacement.
    matrices = np.stack([cal_features[rng.choice(np.flatnonzero(cal_labels == i), (rounds, (cal_labels == i).sum()))]
                         .mean(axis=1) for i in range(k)], axis=1)            # [rounds, k, features]
    n = len(features)
    if n <= EXACT_RESAMPLING_MAX:
        # The period's visits drawn again: how often each is drawn, times its features. einsum,
        # not @: a BLAS matrix-vector product's threads made this 30 times slower on a busy box.
        observed = np.array([np.einsum("i,ij->j", np.bincount(rng.integers(0, n, n), minlength=n)
                                       .astype(float), features) / n for _ in range(rounds)])
    else:
        # The mean of thousands of redrawn visits is normal to well within the interval's own
        # noise; drawing it directly costs O(features^2) per round instead of O(visits).
        observed = rng.multivariate_normal(features.mean(axis=0), np.cov(features, rowvar=False) / n,
                                           size=rounds, check_valid="ignore")
    return point, np.array([solve(matrices[r], observed[r]) for r in range(rounds)])


def summarize(classes, point, draws, n: int, method: str, level: float = LEVEL) -> Shares:
    """Shares with the percentile interval of the draws (always containing the estimate)."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, tail, axis=0), np.percentile(draws, 100 - tail, axis=0)
    return Shares(tuple(Share(c, float(point[i]), float(min(low[i], point[i])), float(max(high[i], point[i])))
                        for i, c in enumerate(classes)), n=n, method=method, level=level)


def estimate(cal_features, cal_labels, features, classes, *, method: str = "pacc",
             rounds: int = ROUNDS, level: float = LEVEL, seed: int = 0) -> Shares:
    """Corrected shares of `classes` with a bootstrap interval (visits and calibration redrawn)."""
    point, draws = bootstrap(cal_features, cal_labels, features, len(classes), rounds=rounds, seed=seed)
    return summarize(classes, point, draws, len(features), method, level)


# -- features of a visit ------------------------------------------------------------------------
def gender_features(p_female, method: str = "pacc") -> np.ndarray:
    """[n, 2] (female, male) features of visits from their p(female)."""
    p = np.clip(np.asarray(p_female, float).reshape(-1), 0.0, 1.0)
    if method == "acc":
        return one_hot((p < 0.5).astype(int), 2)
    return np.column_stack([p, 1 - p])


def age_features(age_probs, method: str = "pacc") -> np.ndarray:
    """[n, brackets] features of visits from their age-bracket probability vectors."""
    probs = np.asarray(age_probs, float)
    if probs.ndim != 2:
        probs = probs.reshape(len(probs), -1)
    if method == "acc":
        return one_hot(np.argmax(probs, axis=1), probs.shape[1])
    total = probs.sum(axis=1, keepdims=True)
    return probs / np.where(total > 0, total, 1.0)


# -- the calibration ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """Labelled faces as the models see them (models/demographics.json)."""
    p_female: np.ndarray          # [faces]
    age_probs: np.ndarray         # [faces, brackets]
    gender: np.ndarray            # [faces] index into GENDERS
    age_group: np.ndarray         # [faces] index into AGE_GROUPS
    gender_min_confidence: float  # hard gender label only when max(p, 1 - p) is at least this
    brackets: tuple[str, ...]

    def subset(self, rows) -> "Calibration":
        rows = np.asarray(rows)
        return Calibration(self.p_female[rows], self.age_probs[rows], self.gender[rows],
                           self.age_group[rows], self.gender_min_confidence, self.brackets)

    def __len__(self) -> int:
        return len(self.p_female)


def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    """Read the calibration file; raises CalibrationError naming the file and key."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{path}: cannot read the demographics calibration: {exc}") from exc

    def need(key, kind):
        value = doc.get(key) if isinstance(doc, dict) else None
        if not isinstance(value, kind):
            raise CalibrationError(f"{path}: key {key!r} missing or not a {kind.__name__}")
        return value

    faces = need("faces", list)
    brackets = tuple(need("age_brackets", list))
    threshold = need("gender_min_confidence", float)
    if not 0.5 <= threshold <= 1:
        raise CalibrationError(f"{path}: gender_min_confidence must be in 0.5..1, got {threshold}")
    if tuple(need("age_groups", list)) != AGE_GROUPS:
        raise CalibrationError(f"{path}: age_groups must be {list(AGE_GROUPS)}")
    p, probs, gender, group = [], [], [], []
    for i, face in enumerate(faces):
        try:
            p.append(float(face["p_female"]))
            vector = [float(v) for v in face["age_probs"]]
            if len(vector) != len(brackets):
                raise ValueError(f"{len(vector)} age_probs for {len(brackets)} brackets")
            probs.append(vector)
            gender.append(GENDERS.index(face["gender"]))
            group.append(AGE_GROUPS.index(face["age_group"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"{path}: faces[{i}]: {exc!r}") from exc
    if not faces or len(set(gender)) < len(GENDERS) or len(set(group)) < len(AGE_GROUPS):
        raise CalibrationError(f"{path}: faces must cover every gender and age group")
    return Calibration(np.array(p), np.array(probs), np.array(gender), np.array(group),
                       threshold, brackets)


def visit_features(p_female, age_probs, method: str = "pacc") -> np.ndarray:
    """[n, 2 x brackets]: gender features times age features, per visit. Gender and age are
    estimated jointly because the gender net's errors depend on age (children are told apart
    far worse): corrected on its own, the women's share of a day with few children came out
    6-7 points off, whatever the day's size."""
    g, a = gender_features(p_female, method), age_features(age_probs, method)
    return (g[:, :, None] * a[:, None, :]).reshape(len(g), -1)


@dataclass(frozen=True)
class Demographics:
    """A period's corrected shares: women / men, and AGE_GROUPS."""
    gender: Shares
    age: Shares

    @property
    def n(self) -> int:
        return self.gender.n

    def as_dict(self) -> dict:
        return {"n": self.n, "method": self.gender.method, "level": self.gender.level,
                "gender": [s.as_dict() for s in self.gender.shares],
                "age": [s.as_dict() for s in self.age.shares]}


def demographic_shares(cal: Calibration, p_female, age_probs, *, method: str = "pacc",
                       rounds: int = ROUNDS, level: float = LEVEL, seed: int = 0) -> Demographics:
    """Corrected shares of visits from their p(female) and age-bracket probabilities: the joint
    gender x age group shares are solved, then summed into each margin (draws too)."""
    groups = len(AGE_GROUPS)
    point, draws = bootstrap(visit_features(cal.p_female, cal.age_probs, method),
                             cal.gender * groups + cal.age_group,
                             visit_features(p_female, age_probs, method),
                             len(GENDERS) * groups, rounds=rounds, seed=seed)
    point, draws = point.reshape(len(GENDERS), groups), draws.reshape(rounds, len(GENDERS), groups)
    n = len(np.asarray(p_female).reshape(-1))
    return Demographics(summarize(GENDERS, point.sum(axis=1), draws.sum(axis=2), n, method, level),
                        summarize(AGE_GROUPS, point.sum(axis=0), draws.sum(axis=1), n, method, level))


# -- what a report shows --------------------------------------------------------------------------
def period_shares(cal: Calibration | None, p_female, age_probs, k_floor: int, *,
                  seed: int = 0) -> dict:
    """A period's corrected shares for a report, or why there are none: "reason" is "none" (no
    visitor with a face estimate), "below_k" (fewer visitors than the privacy floor k: shares of
    a handful of people would point at them) or "no_calibration" (no models/demographics.json)."""
    n = len(p_female)
    if n == 0:
        return {"n": 0, "reason": "none"}
    if n < k_floor:
        return {"n": n, "reason": "below_k", "k_floor": k_floor}
    if cal is None:
        return {"n": n, "reason": "no_calibration"}
    return demographic_shares(cal, p_female, age_probs, seed=seed).as_dict()


def calibration_or_none(path: Path = CALIBRATION_FILE) -> Calibration | None:
    """The calibration, or None when the file is missing or unusable (shares are then not
    shown; the reason is logged by the caller's report)."""
    try:
        return load_calibration(path)
    except CalibrationError:
        return None


def share_text(share: dict) -> str:
    """'56 % (44-67 %)': a share with its 95 % interval, in whole points."""
    return f"{share['estimate'] * 100:.0f} % ({share['low'] * 100:.0f}-{share['high'] * 100:.0f} %)"
