import math

import pytest

from metta.rl.schedules import hyperparameters_at, progress, schedule_value, scheduled
from metta.rl.trainer_config import ScheduleConfig, TrainerConfig


def test_progress_is_capped():
    assert progress(0, 100) == 0.0
    assert progress(50, 100) == 0.5
    assert progress(250, 100) == 1.0


@pytest.mark.parametrize("p", [0.0, 0.1, 0.37, 0.5, 0.9, 1.0])
def test_closed_forms(p):
    v0, v1 = 0.1, 0.05
    assert schedule_value("constant", p, v0, v1) == v0
    assert schedule_value("linear", p, v0, v1) == pytest.approx(v0 + (v1 - v0) * p)
    assert schedule_value("cosine", p, v0, v1) == pytest.approx(v1 + (v0 - v1) * 0.5 * (1 + math.cos(math.pi * p)))
    assert schedule_value("exponential", p, v0, 0.0, 0.5) == pytest.approx(v0 * 0.5**p)
    log_expected = v0 + (v1 - v0) * math.log(1 + p / 0.1) / math.log(1 + 1 / 0.1)
    assert schedule_value("logarithmic", p, v0, v1, 0.1) == pytest.approx(log_expected)


def test_endpoints_and_shapes():
    for kind in ("linear", "cosine", "logarithmic"):
        assert schedule_value(kind, 0.0, 2.0, 1.0) == pytest.approx(2.0)
        assert schedule_value(kind, 1.0, 2.0, 1.0) == pytest.approx(1.0)
    # logarithmic decays faster early than linear; cosine slower early
    assert schedule_value("logarithmic", 0.1, 1.0, 0.0) < schedule_value("linear", 0.1, 1.0, 0.0)
    assert schedule_value("cosine", 0.1, 1.0, 0.0) > schedule_value("linear", 0.1, 1.0, 0.0)
    assert schedule_value("exponential", 1.0, 1.0, 0.3, 0.1) == pytest.approx(0.3)  # floored at min


def test_unknown_schedule_type():
    with pytest.raises(ValueError, match="unknown schedule type 'wavy'"):
        schedule_value("wavy", 0.5, 1.0, 0.0)


def test_null_initial_value_follows_the_base_coefficient():
    s = ScheduleConfig(type="linear", min_value=0.0)
    assert scheduled(s, 0.3, 0.0) == pytest.approx(0.3)
    assert scheduled(s, 0.7, 0.0) == pytest.approx(0.7)
    assert scheduled(None, 0.7, 0.5) == 0.7


def test_default_schedules_take_effect_and_end_at_their_targets():
    tr = TrainerConfig(total_timesteps=1000)
    start, mid, end = hyperparameters_at(tr, 0), hyperparameters_at(tr, 500), hyperparameters_at(tr, 1000)
    assert start.learning_rate == pytest.approx(0.000457)
    assert start.ent_coef == pytest.approx(0.0021)
    assert start.clip_coef == pytest.approx(0.1) and start.vf_clip_coef == pytest.approx(0.1)
    assert end.learning_rate == pytest.approx(0.00003)
    assert end.ent_coef == pytest.approx(0.0)
    assert end.clip_coef == pytest.approx(0.05)
    assert end.vf_clip_coef == pytest.approx(0.05)
    assert end.learning_rate < mid.learning_rate < start.learning_rate
    assert hyperparameters_at(tr, 5000) == end
