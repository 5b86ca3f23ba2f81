"""Protein behaviour: config loading, determinism, independence, minimize, failures/NaN, pending, JSON state."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from metta.common.errors import OptimizerError
from metta.sweep import ParameterConfig, ProteinConfig, ProteinSettings
from metta.sweep.optim.config import flatten
from metta.sweep.optim.protein import Protein

SEED_001_YAML = """
protein:
  num_random_samples: 20
  max_suggestion_cost: 3600
  resample_frequency: 3
  global_search_scale: 1.0
  random_suggestions: 15
  suggestions_per_pareto: 32
  expansion_rate: 0.15
  seed_with_search_center: true
metric: reward
goal: maximize
method: bayes
parameters:
  trainer:
    total_timesteps: {distribution: int_uniform, min: 500000000, max: 2000000000, mean: 1000000000, scale: auto}
    batch_size: {distribution: uniform_pow2, min: 262144, max: 2097152, mean: 524288, scale: auto}
    optimizer:
      learning_rate: {distribution: log_normal, min: 1e-4, max: 1e-2, mean: 3e-4, scale: auto}
"""


def quad_config(goal: str = "maximize", **settings) -> ProteinConfig:
    base = {"num_random_samples": 5, "random_suggestions": 256, "suggestions_per_pareto": 64}
    return ProteinConfig(
        metric="score",
        goal=goal,
        parameters={
            "x": ParameterConfig(min=-2.0, max=2.0, distribution="uniform"),
            "y": {"z": ParameterConfig(min=1e-3, max=1.0, distribution="log_normal")},
        },
        settings=ProteinSettings(**{**base, **settings}),
    )


def quad(s: dict) -> float:
    """Maximum 0 at x = 0.7, log10(y.z) = -2."""
    return -((s["x"] - 0.7) ** 2) - (math.log10(s["y"]["z"]) + 2.0) ** 2


def run(opt: Protein, steps: int, fn=quad, sign: float = 1.0) -> list[float]:
    values = []
    for _ in range(steps):
        ((s, _info),) = opt.suggest()
        v = sign * fn(s)
        values.append(v)
        opt.observe(s, v, 1.0)
    return values


def test_loads_seed_001_yaml_and_tool_layout() -> None:
    cfg = ProteinConfig.from_dict(yaml.safe_load(SEED_001_YAML))
    assert cfg.settings.suggestions_per_pareto == 32 and cfg.settings.expansion_rate == 0.15
    assert list(cfg.flat_parameters()) == [
        "trainer.batch_size",
        "trainer.optimizer.learning_rate",
        "trainer.total_timesteps",
    ]
    again = ProteinConfig.from_dict({**cfg.to_dict()})
    assert again == cfg
    tool = ProteinConfig.from_dict(
        {
            "metric": {"name": "arena", "goal": "minimize"},
            "settings": {"num_random_samples": 3},
            "parameters": {
                "lr": {"min": 1e-4, "max": 1e-2, "distribution": "log_normal"},
                "act": {"values": ["relu", "gelu"]},
            },
        }
    )
    assert tool.goal == "minimize" and tool.metric == "arena" and tool.settings.num_random_samples == 3
    assert tool.flat_parameters()["act"].distribution == "categorical"


@pytest.mark.parametrize(
    "leaf, match",
    [
        ({"distribution": "uniform", "min": 2, "max": 1}, "min=2.0 > max=1.0"),
        ({"distribution": "log_normal", "min": 0, "max": 1}, "min > 0"),
        ({"distribution": "gaussian", "min": 0, "max": 1}, "distribution"),
        ({"distribution": "uniform", "min": 0, "max": 1, "mean": 2}, "mean=2.0 is outside"),
        ({"distribution": "uniform", "min": 0, "max": 1, "sigma": 2}, "sigma"),
    ],
)
def test_invalid_parameters_name_the_path(leaf: dict, match: str) -> None:
    with pytest.raises(OptimizerError, match="trainer.ppo.clip_coef") as err:
        ProteinConfig.from_dict({"parameters": {"trainer": {"ppo": {"clip_coef": leaf}}}})
    assert match in str(err.value)


def test_invalid_settings_and_method() -> None:
    with pytest.raises(OptimizerError, match="expansion_rate"):
        ProteinConfig.from_dict({"protein": {"expansion_rate": -1}, "parameters": {"a": {"min": 0, "max": 1}}})
    with pytest.raises(OptimizerError, match="method"):
        ProteinConfig.from_dict({"method": "hyperband", "parameters": {"a": {"min": 0, "max": 1}}})


def test_first_suggestion_is_search_centre_then_design_is_used() -> None:
    cfg = ProteinConfig.from_dict(yaml.safe_load(SEED_001_YAML))
    opt = Protein(cfg, seed=0)
    first = opt.suggest(5)
    s0 = first[0][0]["trainer"]
    assert s0["batch_size"] == 524288 and s0["total_timesteps"] == 1000000000
    assert s0["optimizer"]["learning_rate"] == pytest.approx(3e-4)
    assert isinstance(s0["batch_size"], int) and isinstance(s0["total_timesteps"], int)
    rest = [flatten(s) for s, _ in first[1:]]
    assert len({tuple(sorted(r.items())) for r in rest}) == 4  # design points, not the centre again
    assert all("design" in info["reason"] for _, info in first[1:])


def test_deterministic_for_same_seed_and_observations() -> None:
    a, b = Protein(quad_config(), seed=7), Protein(quad_config(), seed=7)
    assert run(a, 12) == run(b, 12)
    c = Protein(quad_config(), seed=8)
    assert run(c, 12) != run(Protein(quad_config(), seed=7), 12)


def test_two_instances_are_independent() -> None:
    solo = run(Protein(quad_config(), seed=3), 10)
    a, b = Protein(quad_config(), seed=3), Protein(quad_config(goal="minimize"), seed=3)
    interleaved = []
    for _ in range(10):
        interleaved += run(a, 1)
        run(b, 1, fn=lambda s: 1e6 * s["x"])  # a very different problem in the same process
    assert interleaved == solo


def test_maximize_and_minimize_find_the_optimum() -> None:
    best_max = max(run(Protein(quad_config(), seed=0), 25))
    best_min = min(run(Protein(quad_config(goal="minimize"), seed=0), 25, sign=-1.0))
    assert best_max > -0.05
    assert best_min < 0.05


def test_failures_and_nan_are_kept_out_of_the_model_but_steer_away() -> None:
    opt = Protein(quad_config(), seed=1)
    for _ in range(20):
        ((s, _),) = opt.suggest()
        if s["x"] > 1.0:
            opt.observe(s, float("nan"), 1.0)  # NaN: recorded as a failure
        elif s["x"] < -1.0:
            opt.observe(s, None, 1.0, is_failure=True)
        else:
            opt.observe(s, quad(s), 1.0)
    state = opt.state_dict()
    fails = [o for o in state["observations"] if o["is_failure"]]
    assert fails and all(o["score"] is None for o in fails)
    assert len(state["observations"]) == 20
    late = [flatten(s)["x"] for s, _ in opt.suggest(5)]
    assert sum(1 for x in late if abs(x) > 1.0) <= 1


def test_cost_must_be_positive_and_scores_finite_numbers() -> None:
    opt = Protein(quad_config(), seed=0)
    ((s, _),) = opt.suggest()
    for bad in (0.0, -1.0, float("nan"), float("inf"), "x"):
        with pytest.raises(OptimizerError, match="cost"):
            opt.observe(s, 1.0, bad)
    with pytest.raises(OptimizerError, match="outside"):
        opt.observe({"x": 5.0, "y": {"z": 0.1}}, 1.0, 1.0)
    assert opt.state_dict()["observations"] == []


def test_repeated_points_are_averaged() -> None:
    opt = Protein(quad_config(), seed=0)
    s = {"x": 0.5, "y": {"z": 0.01}}
    opt.observe(s, 1.0, 2.0)
    opt.observe(s, 3.0, 8.0)
    opt.observe({"x": -0.5, "y": {"z": 0.1}}, 0.0, 1.0)
    x, y, c, reps, _ = opt._averaged()
    i = int(np.argmax(reps))
    assert reps[i] == 2 and y[i] == pytest.approx(2.0) and c[i] == pytest.approx(4.0)
    # the score GP sees the repeat's scatter (1 and 3 around their mean: the noise is measured, not only guessed)
    opt.observe({"x": 1.5, "y": {"z": 0.5}}, 0.5, 1.0)
    opt.observe({"x": -1.5, "y": {"z": 0.05}}, 0.2, 1.0)
    opt._fit(np.random.default_rng(0), *opt._averaged()[:3], opt._averaged()[4])
    ss, extra = opt._score_gp._within
    assert extra == 1 and ss > 0.1


def test_pending_points_give_distinct_useful_suggestions() -> None:
    opt = Protein(quad_config(), seed=2)
    run(opt, 12)
    batch = [flatten(s) for s, _ in opt.suggest(4)]
    xs = np.array([[b["x"], math.log10(b["y.z"])] for b in batch])
    dists = np.linalg.norm(xs[:, None] - xs[None], axis=-1)[np.triu_indices(4, 1)]
    assert dists.min() > 1e-3
    assert all(quad({"x": b["x"], "y": {"z": b["y.z"]}}) > -1.0 for b in batch)  # still near the optimum
    other = Protein(quad_config(), seed=2)
    run(other, 12)
    other.mark_pending({"x": batch[0]["x"], "y": {"z": batch[0]["y.z"]}})
    ((s, _),) = other.suggest()
    assert flatten(s) != batch[0]


def test_state_round_trips_through_json() -> None:
    opt = Protein(quad_config(), seed=4)
    run(opt, 9)
    opt.suggest(2)  # leave two pending
    state = json.loads(json.dumps(opt.state_dict()))
    clone = Protein(quad_config(), seed=0)
    clone.load_state_dict(state)
    assert clone.state_dict() == opt.state_dict()
    assert [flatten(s) for s, _ in clone.suggest(2)] == [flatten(s) for s, _ in opt.suggest(2)]


def test_over_budget_fallback_picks_cheap_points() -> None:
    cfg = quad_config(max_suggestion_cost=0.5, expansion_rate=0.25)
    opt = Protein(cfg, seed=0)
    for _ in range(8):
        ((s, _),) = opt.suggest()
        opt.observe(s, quad(s), 1.0 + 10.0 * (s["x"] + 2.0))  # every cost is above the budget
    ((s, info),) = opt.suggest()
    assert "max_suggestion_cost" in info["reason"]
    assert s["x"] < -1.0  # the cheap end


def test_cost_aware_search_respects_budget_mask() -> None:
    cfg = quad_config(max_suggestion_cost=20.0, expansion_rate=0.25)
    opt = Protein(cfg, seed=0)
    costs = []
    for i in range(20):
        ((s, info),) = opt.suggest()
        cost = 1.0 + 10.0 * (s["x"] + 2.0)  # expensive at large x; x > -0.1 predicted over 20
        if i >= 8:
            costs.append(cost)
        opt.observe(s, quad(s), cost)
    assert np.median(costs) < 25.0


def test_wall_clock_noise_in_costs_does_not_change_the_suggestions() -> None:
    """Equal-budget trials whose costs differ only by timing noise: the same seed gives the same sweep."""

    def sweep(cost_rng: np.random.Generator) -> list[dict]:
        opt = Protein(quad_config(expansion_rate=0.25), seed=4)
        out = []
        for _ in range(12):
            ((s, info),) = opt.suggest()
            out.append(flatten(s))
            opt.observe(s, quad(s), 20.0 * math.exp(cost_rng.normal(0.0, 0.2)))
        assert "cost target" not in info["reason"]  # cost-blind: the costs do not depend on x
        return out

    assert sweep(np.random.default_rng(0)) == sweep(np.random.default_rng(1))
