"""ScoreLevel: the stream's own score scale, learnt from the boxes the tracker trusts."""
import numpy as np
import pytest

from vision.score_level import ScoreLevel


def test_starts_at_the_prior_and_moves_to_the_median_of_what_it_is_fed():
    level = ScoreLevel(prior=0.74)
    assert level.value == pytest.approx(0.74)
    rng = np.random.default_rng(0)
    for _ in range(50):
        level.add(rng.uniform(0.3, 0.5, 10))
    assert level.value == pytest.approx(0.4, abs=0.02)


def test_scaling_every_score_scales_the_level():
    rng = np.random.default_rng(1)
    a, b = ScoreLevel(), ScoreLevel()
    for _ in range(100):
        s = rng.uniform(0.5, 1.0, 8)
        a.add(s)
        b.add(0.5 * s)
    assert b.value / a.value == pytest.approx(0.5, abs=0.02)


def test_junk_cannot_drag_it_below_its_floor():
    level = ScoreLevel(bounds=(0.25, 1.0))
    for _ in range(100):
        level.add(np.full(10, 0.02))
    assert level.value == 0.25


def test_old_evidence_fades():
    level = ScoreLevel(half_life=200)
    for _ in range(200):
        level.add(np.full(10, 0.8))
    for _ in range(200):
        level.add(np.full(10, 0.4))
    assert level.value == pytest.approx(0.4, abs=0.01)


def test_nothing_to_learn_from_leaves_it_alone():
    level = ScoreLevel(prior=0.6)
    assert level.add(np.zeros(0)) == pytest.approx(0.6)


@pytest.mark.parametrize("kwargs", [{"quantile": 0.0}, {"quantile": 1.0}, {"prior": 0.1},
                                    {"bounds": (0.5, 0.4)}, {"half_life": 0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        ScoreLevel(**kwargs)
