"""One contract suite for every optimizer behind the protocol (bayes, random, grid, optuna_tpe, optuna_gp)."""

from __future__ import annotations

import json

import pytest

from metta.common.errors import OptimizerError
from metta.sweep import ParameterConfig, ProteinConfig
from metta.sweep.optim.config import flatten
from metta.sweep.optim.optimizer import Optimizer
from metta.sweep.optim.registry import make_optimizer

METHODS = ["bayes", "random", "grid", "optuna_tpe", "optuna_gp"]


def config(method: str) -> ProteinConfig:
    return ProteinConfig(
        metric="score",
        goal="maximize",
        method=method,
        parameters={
            "trainer": {
                "lr": ParameterConfig(min=1e-4, max=1e-2, distribution="log_normal"),
                "bs": ParameterConfig(min=64, max=1024, distribution="uniform_pow2"),
                "epochs": ParameterConfig(min=1, max=4, distribution="int_uniform"),
                "drop": ParameterConfig(min=0.05, max=0.5, distribution="logit_normal"),
                "act": ParameterConfig(values=["relu", "tanh"]),
            }
        },
        settings={"num_random_samples": 3, "grid_points": 3},
    )


def score(s: dict) -> float:
    t = s["trainer"]
    return -abs(t["lr"] - 3e-3) * 100 + t["epochs"] * 0.1 + (t["act"] == "relu") - t["drop"]


@pytest.fixture(params=METHODS)
def method(request) -> str:
    if request.param.startswith("optuna"):
        pytest.importorskip("optuna")
    return request.param


def test_protocol_and_valid_typed_suggestions(method: str) -> None:
    opt = make_optimizer(config(method), seed=0)
    assert isinstance(opt, Optimizer)
    for _ in range(6):
        pairs = opt.suggest(2)
        assert len(pairs) == 2
        for s, info in pairs:
            t = s["trainer"]
            assert 1e-4 <= t["lr"] <= 1e-2 and isinstance(t["lr"], float)
            assert t["bs"] in (64, 128, 256, 512, 1024) and isinstance(t["bs"], int)
            assert t["epochs"] in (1, 2, 3, 4) and isinstance(t["epochs"], int)
            assert 0.05 <= t["drop"] <= 0.5
            assert t["act"] in ("relu", "tanh")
            assert isinstance(info, dict) and "reason" in info
            opt.observe(s, score(s), 1.0)


def test_batch_suggestions_are_distinct(method: str) -> None:
    opt = make_optimizer(config(method), seed=1)
    for s, _ in opt.suggest(3):
        opt.observe(s, score(s), 1.0)
    batch = [json.dumps(flatten(s), sort_keys=True) for s, _ in opt.suggest(4)]
    assert len(set(batch)) == 4


def test_failures_and_bad_costs(method: str) -> None:
    opt = make_optimizer(config(method), seed=2)
    ((s, _),) = opt.suggest()
    with pytest.raises(OptimizerError, match="cost"):
        opt.observe(s, 1.0, 0.0)
    opt.observe(s, float("inf"), 1.0)
    ((s2, _),) = opt.suggest()
    opt.observe(s2, None, 3.0, is_failure=True)
    obs = opt.state_dict()["observations"]
    assert [o["is_failure"] for o in obs] == [True, True]
    ((s3, _),) = opt.suggest()  # still works after failures only
    opt.observe(s3, score(s3), 1.0)


def test_state_dict_is_json_and_reloads(method: str) -> None:
    opt = make_optimizer(config(method), seed=3)
    for _ in range(4):
        ((s, _),) = opt.suggest()
        opt.observe(s, score(s), 2.0)
    state = json.loads(json.dumps(opt.state_dict()))
    clone = make_optimizer(config(method), seed=3)
    clone.load_state_dict(state)
    assert clone.state_dict()["observations"] == state["observations"]
    ((s, _),) = clone.suggest()
    clone.observe(s, score(s), 1.0)


def test_grid_enumerates_every_point_once_then_stops() -> None:
    cfg = ProteinConfig(
        method="grid", parameters={"a": {"values": [1, 2, 3]}, "b": {"min": 0, "max": 1}}, settings={"grid_points": 2}
    )
    opt = make_optimizer(cfg, seed=0)
    points = [(s["a"], s["b"]) for s, _ in opt.suggest(6)]
    assert sorted(points) == [(a, b) for a in (1, 2, 3) for b in (0.0, 1.0)]
    assert opt.exhausted
    with pytest.raises(OptimizerError, match="exhausted"):
        opt.suggest()


def test_registry_rejects_unknown_method() -> None:
    with pytest.raises(OptimizerError, match="method"):
        ProteinConfig(method="hyperband", parameters={"a": {"min": 0, "max": 1}})


def test_negative_seed_is_rejected(method: str) -> None:
    with pytest.raises(OptimizerError, match="seed"):
        make_optimizer(config(method), seed=-1)


@pytest.mark.parametrize("method", ["optuna_tpe", "optuna_gp"])
def test_optuna_samplers_leave_random_startup_after_the_sweeps_initial_design(method: str) -> None:
    """num_random_samples is the initial design of every model-based method: with 3, Optuna's fourth suggestion is
    model-based (it differs from the fourth of a 10-trial random startup with the same seed, while the first three
    random ones are equal)."""
    pytest.importorskip("optuna")

    def run(startup: int) -> list[dict]:
        cfg = config(method).model_copy(
            update={"settings": config(method).settings.model_copy(update={"num_random_samples": startup})}
        )
        opt = make_optimizer(cfg, seed=5)
        out = []
        for _ in range(4):
            ((s, _),) = opt.suggest(1)
            opt.observe(s, score(s), 1.0)
            out.append(s)
        return out

    three, ten = run(3), run(10)
    assert three[:3] == ten[:3]
    assert three[3] != ten[3]
