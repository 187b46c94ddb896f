"""station/shares.py: adjusted classify-and-count on hand-computed cases, the interval, the
calibration file and its loader."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station import shares
from station.shares import (AGE_GROUPS, Calibration, CalibrationError, adjusted,
                            demographic_shares, estimate, load_calibration, one_hot, period_shares,
                            solve)
from station.store import AGE_BRACKETS


def _calibration(tpr_hits: int, fpr_hits: int, per_class: int = 10):
    """Hard labels of `per_class` faces of each class: class 0 called 0 `tpr_hits` times,
    class 1 called 0 `fpr_hits` times."""
    labels = np.repeat([0, 1], per_class)
    called = np.concatenate([[0] * tpr_hits + [1] * (per_class - tpr_hits),
                             [0] * fpr_hits + [1] * (per_class - fpr_hits)])
    return one_hot(called, 2), labels


def test_identity_confusion_gives_the_plain_shares():
    cal_features, labels = _calibration(10, 0)             # a perfect classifier
    visits = one_hot([0] * 30 + [1] * 70, 2)
    assert adjusted(cal_features, labels, visits, 2) == pytest.approx([0.3, 0.7], abs=1e-9)


def test_known_confusion_is_inverted_exactly():
    # tpr 0.8, fpr 0.3; half the visits labelled 0: (0.5 - 0.3) / (0.8 - 0.3) = 0.4
    cal_features, labels = _calibration(8, 3)
    visits = one_hot([0] * 50 + [1] * 50, 2)
    assert adjusted(cal_features, labels, visits, 2) == pytest.approx([0.4, 0.6], abs=1e-9)


def test_probabilistic_form_inverts_mean_posteriors():
    # mean p(class 0) is 0.7 on class-0 faces, 0.2 on class-1 faces; the day's mean is 0.45
    matrix = np.array([[0.7, 0.3], [0.2, 0.8]])
    assert solve(matrix, [0.45, 0.55]) == pytest.approx([0.5, 0.5], abs=1e-9)
    cal_p = np.array([0.6, 0.8, 0.1, 0.3])                  # class means 0.7 and 0.2
    features = np.column_stack([cal_p, 1 - cal_p])
    visits = np.column_stack([[0.45] * 4, [0.55] * 4])
    assert adjusted(features, [0, 0, 1, 1], visits, 2) == pytest.approx([0.5, 0.5], abs=1e-9)


def test_more_features_than_classes_recover_the_mix():
    matrix = np.array([[0.6, 0.3, 0.1], [0.1, 0.3, 0.6]])   # 2 classes, 3 features
    truth = np.array([0.25, 0.75])
    assert solve(matrix, truth @ matrix) == pytest.approx(truth, abs=1e-9)


def test_a_day_outside_what_the_confusion_allows_is_clipped_to_the_simplex():
    cal_features, labels = _calibration(8, 3)              # labels 0 on >= 30 % even with none
    visits = one_hot([0] * 25 + [1] * 75, 2)
    pi = adjusted(cal_features, labels, visits, 2)
    assert pi == pytest.approx([0.0, 1.0], abs=1e-9)
    assert (pi >= 0).all() and pi.sum() == pytest.approx(1)


def test_interval_holds_the_estimate_and_widens_with_fewer_calibration_faces():
    visits = one_hot([0] * 100 + [1] * 100, 2)
    few = estimate(*_calibration(8, 3, per_class=10), visits, ("a", "b"), seed=1)
    many = estimate(*_calibration(80, 30, per_class=100), visits, ("a", "b"), seed=1)
    assert few.share("a").estimate == pytest.approx(many.share("a").estimate) == pytest.approx(0.4)
    for s in (few.share("a"), many.share("a")):
        assert s.low <= s.estimate <= s.high
    width = lambda s: s.share("a").high - s.share("a").low          # noqa: E731
    assert width(few) > 1.5 * width(many)
    assert few.n == 200 and few.level == 0.95


def test_interval_narrows_with_more_visits():
    cal = _calibration(80, 30, per_class=100)
    small = estimate(*cal, one_hot([0, 1] * 25, 2), ("a", "b"), seed=2)
    large = estimate(*cal, one_hot([0, 1] * 500, 2), ("a", "b"), seed=2)
    assert (large.share("a").high - large.share("a").low) < (small.share("a").high - small.share("a").low)


def _synthetic_calibration(per_cell: int = 20) -> Calibration:
    """Children's gender is a coin toss (p = 0.5), adults' is always right; ages always right."""
    p, probs, gender, group = [], [], [], []
    bracket_of_group = {0: 0, 1: 2, 2: 5}
    for g in (0, 1):
        for a in range(len(AGE_GROUPS)):
            for _ in range(per_cell):
                p.append(0.5 if a == 0 else 1.0 - g)
                probs.append(one_hot([bracket_of_group[a]], len(AGE_BRACKETS))[0])
                gender.append(g)
                group.append(a)
    return Calibration(np.array(p), np.array(probs), np.array(gender), np.array(group), 0.8,
                       AGE_BRACKETS)


def test_gender_is_corrected_jointly_with_age():
    """On a day of adults only, the gender errors measured on children must not be 'corrected'
    away: the joint estimate is exact where gender alone would say 20 % instead of 30 %."""
    cal = _synthetic_calibration()
    women, men = 30, 70
    p_female = [1.0] * women + [0.0] * men
    age_probs = [one_hot([2], 7)[0]] * 50 + [one_hot([5], 7)[0]] * 50
    d = demographic_shares(cal, p_female, age_probs, rounds=50)
    assert d.gender.share("female").estimate == pytest.approx(0.3, abs=1e-6)
    assert [s.estimate for s in d.age.shares] == pytest.approx([0.0, 0.5, 0.5], abs=1e-6)
    alone = adjusted(shares.gender_features(cal.p_female), cal.gender,
                     shares.gender_features(p_female), 2)
    assert alone[0] == pytest.approx(0.2, abs=1e-6)


def test_period_shares_hide_small_periods_and_say_why():
    cal = _synthetic_calibration()
    assert period_shares(cal, [], [], 5) == {"n": 0, "reason": "none"}
    assert period_shares(cal, [0.9] * 4, [[1 / 7] * 7] * 4, 5) == \
        {"n": 4, "reason": "below_k", "k_floor": 5}
    assert period_shares(None, [0.9] * 5, [[1 / 7] * 7] * 5, 5) == {"n": 5, "reason": "no_calibration"}
    shown = period_shares(cal, [0.9] * 5, [[1 / 7] * 7] * 5, 5)
    assert shown["n"] == 5 and [s["name"] for s in shown["age"]] == list(AGE_GROUPS)


# -- the calibration file -------------------------------------------------------------------------
def test_the_committed_calibration_is_for_the_models_in_the_manifest():
    import tomllib
    doc = json.loads(shares.CALIBRATION_FILE.read_text(encoding="utf-8"))
    manifest = tomllib.loads((shares.CALIBRATION_FILE.parent / "manifest.toml").read_text())["models"]
    for name, sha in doc["models_sha256"].items():
        assert manifest[name]["sha256"] == sha, f"{name} changed: run python -m vision.calibrate_demographics --write"
    cal = load_calibration()
    assert len(cal) == 540 and cal.brackets == AGE_BRACKETS
    assert np.allclose(cal.age_probs.sum(axis=1), 1, atol=0.01)
    folds = np.array([f["fold"] for f in doc["faces"]])
    assert (folds == 0).sum() == (folds == 1).sum() == 270


def test_the_stored_cross_fit_follows_from_the_stored_faces():
    """Threshold picks and held-out figures recomputed from the per-face rows match the file,
    and the stored threshold is the larger pick."""
    from vision.calibrate_demographics import cross_fit
    doc = json.loads(shares.CALIBRATION_FILE.read_text(encoding="utf-8"))
    again = cross_fit(doc["faces"])
    assert again["folds"] == doc["cross_fit"]["folds"]
    assert doc["gender_min_confidence"] == max(f["threshold"] for f in again["folds"])


def _write(tmp_path, doc) -> object:
    path = tmp_path / "demographics.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _valid_doc() -> dict:
    faces = [{"gender": g, "age_group": a, "p_female": 0.5, "age_probs": [1 / 7] * 7}
             for g in ("female", "male") for a in AGE_GROUPS]
    return {"age_groups": list(AGE_GROUPS), "age_brackets": list(AGE_BRACKETS),
            "gender_min_confidence": 0.85, "faces": faces}


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("faces"), "key 'faces'"),
    (lambda d: d.update(gender_min_confidence=0.3), "gender_min_confidence must be in 0.5..1"),
    (lambda d: d.update(age_groups=["0-17", "18+"]), "age_groups must be"),
    (lambda d: d["faces"][3].update(age_probs=[0.5, 0.5]), "faces[3]"),
    (lambda d: d["faces"][2].update(gender="other"), "faces[2]"),
    (lambda d: d.update(faces=d["faces"][:3]), "every gender and age group"),
])
def test_a_bad_calibration_file_is_refused_naming_the_key(tmp_path, change, message):
    doc = _valid_doc()
    change(doc)
    with pytest.raises(CalibrationError, match=message.replace("[", r"\[").replace("]", r"\]")) as err:
        load_calibration(_write(tmp_path, doc))
    assert str(tmp_path) in str(err.value)
    assert len(load_calibration(_write(tmp_path, _valid_doc()))) == 6


def test_a_missing_calibration_file_is_a_clear_error(tmp_path):
    with pytest.raises(CalibrationError, match="cannot read"):
        load_calibration(tmp_path / "nope.json")
    assert shares.calibration_or_none(tmp_path / "nope.json") is None


json_values = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() |
                           st.text(max_size=8), lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(doc=st.fixed_dictionaries({}, optional={
    "age_groups": st.just(list(AGE_GROUPS)) | json_values,
    "age_brackets": st.just(list(AGE_BRACKETS)) | json_values,
    "gender_min_confidence": st.floats(0, 1.2) | json_values,
    "faces": st.lists(st.fixed_dictionaries({}, optional={
        "gender": st.sampled_from(["female", "male"]) | json_values,
        "age_group": st.sampled_from(AGE_GROUPS) | json_values,
        "p_female": st.floats(0, 1) | json_values,
        "age_probs": st.lists(st.floats(0, 1), min_size=7, max_size=7) | json_values}), max_size=12)
        | json_values}))
def test_any_calibration_file_loads_or_is_refused_with_calibration_error(tmp_path_factory, doc):
    path = _write(tmp_path_factory.mktemp("cal"), doc)
    try:
        cal = load_calibration(path)
    except CalibrationError:
        return
    assert len(cal) == len(doc["faces"]) and 0.5 <= cal.gender_min_confidence <= 1


def test_large_periods_draw_the_visits_mean_from_its_normal_limit_with_the_same_interval(monkeypatch):
    """Above EXACT_RESAMPLING_MAX visits the bootstrap draws the mean feature vector instead of
    the visits; on real calibration estimates both intervals agree to a point."""
    cal = load_calibration()
    rows = np.random.default_rng(5).integers(0, len(cal), 3000)
    fast = demographic_shares(cal, cal.p_female[rows], cal.age_probs[rows], seed=3)
    monkeypatch.setattr(shares, "EXACT_RESAMPLING_MAX", 10 ** 9)
    exact = demographic_shares(cal, cal.p_female[rows], cal.age_probs[rows], seed=3)
    for a, b in zip(fast.gender.shares + fast.age.shares, exact.gender.shares + exact.age.shares):
        assert a.estimate == b.estimate
        assert a.low == pytest.approx(b.low, abs=0.015) and a.high == pytest.approx(b.high, abs=0.015)
