"""W&B sweep files: distributions against their definitions, the reader's mapping and errors, the exporter."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from metta.common.config import REPO_ROOT
from metta.common.errors import ConfigError
from metta.sweep.optim.config import ProteinConfig
from metta.sweep.optim.random_search import RandomSearch
from metta.sweep.optim.spaces import decode
from metta.sweep.wandb_format import WANDB_DISTRIBUTIONS, export_wandb_sweep, read_wandb_sweep, sample, to_parameter

N = 4000


def _ours(spec: dict, method: str = "random", n: int = N) -> np.ndarray:
    """Values our random search draws for the mapped parameter (uniform in the normalised space, then decoded)."""
    leaf, _ = to_parameter(spec, "p", method)
    p = ProteinConfig.from_dict({"method": method, "parameters": {"p": leaf}}).flat_parameters()["p"]
    z = np.random.default_rng(3).uniform(-1.0, 1.0, n)
    return np.array([decode(p, float(v)) for v in z])


def test_random_search_draws_from_the_mapped_space() -> None:
    spec = {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}
    leaf, _ = to_parameter(spec, "p", "random")
    opt = RandomSearch(ProteinConfig.from_dict({"method": "random", "parameters": {"p": leaf}}), seed=3)
    xs = [opt.suggest(1)[0][0]["p"] for _ in range(200)]
    assert min(xs) >= 1e-4 and max(xs) <= 1e-2
    assert stats.kstest(np.log(xs), stats.uniform(math.log(1e-4), math.log(100)).cdf).pvalue > 1e-3


@pytest.mark.parametrize(
    ("spec", "lo", "hi"),
    [
        ({"distribution": "log_uniform", "min": math.log(1e-4), "max": math.log(1e-2)}, 1e-4, 1e-2),
        ({"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}, 1e-4, 1e-2),
        ({"distribution": "inv_log_uniform", "min": 2.0, "max": 6.0}, math.exp(-6), math.exp(-2)),
        ({"distribution": "inv_log_uniform_values", "min": 1e-3, "max": 1e-1}, 1e-3, 1e-1),
    ],
)
def test_log_family_matches_definition_on_log_scale(spec: dict, lo: float, hi: float) -> None:
    ref = sample(spec, np.random.default_rng(0), N)
    ours = _ours(spec, n=1500)
    for x in (ref, ours):
        assert x.min() >= lo * (1 - 1e-9) and x.max() <= hi * (1 + 1e-9)
        # log-uniform: log(x) is uniform on [log lo, log hi]
        assert stats.kstest(np.log(x.astype(float)), stats.uniform(math.log(lo), math.log(hi / lo)).cdf).pvalue > 1e-3


def test_uniform_and_int_uniform_match_definition() -> None:
    u = {"distribution": "uniform", "min": -1.0, "max": 3.0}
    for x in (sample(u, np.random.default_rng(1), N), _ours(u, n=1500)):
        assert stats.kstest(x.astype(float), stats.uniform(-1, 4).cdf).pvalue > 1e-3
    iu = {"min": 2, "max": 5}  # int bounds -> int_uniform
    for x in (sample(iu, np.random.default_rng(1), N), _ours(iu, n=1200)):
        counts = np.bincount(x.astype(int), minlength=6)[2:6]
        assert set(np.unique(x)) == {2, 3, 4, 5}
        assert stats.chisquare(counts).pvalue > 1e-3


def test_quantised_support_and_categorical_constant() -> None:
    q = {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25}
    ref = sample(q, np.random.default_rng(2), N)
    assert set(np.round(ref, 9)) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert to_parameter(q, "p", "grid")[0]["values"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    ql = {"distribution": "q_log_uniform_values", "min": 1, "max": 100, "q": 1}
    leaf = to_parameter(ql, "p", "bayes")[0]
    assert leaf["values"][0] == 1 and leaf["values"][-1] == 100 and all(isinstance(v, int) for v in leaf["values"])
    assert set(sample(ql, np.random.default_rng(2), N)) <= set(leaf["values"])
    assert to_parameter({"value": 7}, "p", "grid")[0] == {"distribution": "categorical", "values": [7]}
    cat = {"values": ["a", "b"], "probabilities": [0.8, 0.2]}
    freq = np.mean(sample(cat, np.random.default_rng(0), N) == "a")
    assert abs(freq - 0.8) < 0.03
    with pytest.raises(ConfigError, match="unequal probabilities"):
        to_parameter(cat, "p", "random")
    assert "ignored" in to_parameter(cat, "p", "grid")[1][0]


@pytest.mark.parametrize("d", ["normal", "log_normal", "beta"])
def test_unbounded_shapes_bayes_mapped_random_refused(d: str) -> None:
    spec = {"distribution": d, "mu": 0.5, "sigma": 0.1, "a": 2.0, "b": 5.0}
    spec = {
        k: v for k, v in spec.items() if k in (("a", "b") if d == "beta" else ("mu", "sigma")) or k == "distribution"
    }
    ref = sample(spec, np.random.default_rng(0), N).astype(float)
    if d == "normal":
        assert stats.kstest(ref, stats.norm(0.5, 0.1).cdf).pvalue > 1e-3
    elif d == "log_normal":
        assert ref.min() > 0 and stats.kstest(np.log(ref), stats.norm(0.5, 0.1).cdf).pvalue > 1e-3
    else:
        assert stats.kstest(ref, stats.beta(2, 5).cdf).pvalue > 1e-3
    leaf, notes = to_parameter(spec, "p", "bayes")
    ProteinConfig.from_dict({"parameters": {"p": leaf}})
    assert notes
    with pytest.raises(ConfigError, match="not supported with method 'random'"):
        to_parameter(spec, "p", "random")


@pytest.mark.parametrize("d", ["q_normal", "q_log_normal", "q_beta"])
def test_quantised_unbounded_refused_but_sampled(d: str) -> None:
    spec = {"distribution": d, "q": 0.5}
    x = sample(spec, np.random.default_rng(0), 500).astype(float)
    assert np.allclose(x / 0.5, np.round(x / 0.5))
    with pytest.raises(ConfigError, match="no equivalent"):
        to_parameter(spec, "p", "bayes")


def test_every_distribution_is_handled() -> None:
    for d in WANDB_DISTRIBUTIONS:
        spec = {"distribution": d, "min": 1, "max": 3, "value": 1, "values": [1, 2], "q": 1, "mu": 0.0, "sigma": 1.0}
        spec = {k: v for k, v in spec.items() if k == "distribution" or k in _KEYS[d]}
        try:
            leaf, _ = to_parameter(spec, "p", "bayes")
        except ConfigError as exc:
            assert "not supported" in str(exc) or "no equivalent" in str(exc)
            continue
        ProteinConfig.from_dict({"parameters": {"p": leaf}})


_KEYS = {
    "constant": ("value",),
    "categorical": ("values",),
    **{d: ("min", "max") for d in ("int_uniform", "uniform", "log_uniform", "log_uniform_values")},
    **{d: ("min", "max") for d in ("inv_log_uniform", "inv_log_uniform_values")},
    **{d: ("min", "max", "q") for d in ("q_uniform", "q_log_uniform", "q_log_uniform_values")},
    **{d: ("mu", "sigma") for d in ("normal", "log_normal")},
    **{d: ("mu", "sigma", "q") for d in ("q_normal", "q_log_normal")},
    "beta": (),
    "q_beta": ("q",),
}


def test_log_uniform_value_like_bounds_warn_with_fix() -> None:
    wb = read_wandb_sweep(
        {
            "method": "bayes",
            "metric": {"name": "r", "goal": "maximize"},
            "parameters": {"lr": {"min": 0.0001, "max": 0.01, "distribution": "log_uniform"}},
        }
    )
    assert len(wb.notes) == 1 and "EXPONENTS" in wb.notes[0] and "log_uniform_values" in wb.notes[0]
    p = wb.sweep["parameters"]["lr"]
    assert p["distribution"] == "log_normal" and p["min"] == pytest.approx(math.exp(0.0001))
    ok = read_wandb_sweep(
        {
            "method": "bayes",
            "metric": {"name": "r"},
            "parameters": {"lr": {"min": -9.2, "max": -4.6, "distribution": "log_uniform"}},
        }
    )
    assert ok.notes == () and ok.goal == "minimize"  # W&B's default goal


def test_reader_top_level_nested_and_errors() -> None:
    wb = read_wandb_sweep(
        {
            "name": "s",
            "project": "P",
            "entity": "E",
            "description": "d",
            "method": "random",
            "run_cap": 5,
            "metric": {"name": "m", "goal": "maximize", "target": 0.9},
            "parameters": {
                "trainer.optimizer.learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
                "policy_lr": {"parameters": {"start": {"min": 0.1, "max": 0.2}, "end": {"value": 0.0}}},
            },
            "program": "train.py",
        }
    )
    assert (wb.name, wb.project, wb.entity, wb.run_cap, wb.target) == ("s", "P", "E", 5, 0.9)
    assert wb.sweep["method"] == "random" and wb.keys == ("trainer.optimizer.learning_rate", "policy_lr")
    assert wb.sweep["parameters"]["trainer"]["optimizer"]["learning_rate"]["distribution"] == "log_normal"
    assert wb.sweep["parameters"]["policy_lr"]["end"] == {"distribution": "categorical", "values": [0.0]}
    assert read_wandb_sweep({**_base(), "method": "bayes"}).sweep["method"] == "bayes"
    with pytest.raises(ConfigError, match="early_terminate is not supported yet"):
        read_wandb_sweep({**_base(), "early_terminate": {"type": "hyperband", "min_iter": 3}})
    with pytest.raises(ConfigError, match="grid needs a finite set"):
        read_wandb_sweep({**_base(), "method": "grid", "parameters": {"x": {"min": 0.0, "max": 1.0}}})
    with pytest.raises(ConfigError, match="method='hyperopt'"):
        read_wandb_sweep({**_base(), "method": "hyperopt"})


def _base() -> dict:
    return {"method": "random", "metric": {"name": "m"}, "parameters": {"x": {"values": [1, 2]}}}


def test_export_round_trip() -> None:
    ours = {
        "metric": "reward",
        "goal": "maximize",
        "method": "bayes",
        "parameters": {
            "trainer": {
                "optimizer": {"learning_rate": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2}},
                "batch_size": {"distribution": "uniform_pow2", "min": 1024, "max": 4096},
            }
        },
    }
    doc, _ = export_wandb_sweep(ours, name="x")
    assert doc["parameters"]["trainer.batch_size"] == {"values": [1024, 2048, 4096]}
    back = read_wandb_sweep(doc)
    lr = back.sweep["parameters"]["trainer"]["optimizer"]["learning_rate"]
    assert lr == {"distribution": "log_normal", "min": 1e-4, "max": 1e-2} and back.goal == "maximize"


def test_cli_convert_examples_and_export(tmp_path: Path) -> None:
    tool = [sys.executable, str(REPO_ROOT / "tools" / "wandb_sweep.py")]
    for src in sorted((REPO_ROOT / "experiments" / "sweeps" / "wandb").glob("*.yaml")):
        out = tmp_path / src.name
        proc = subprocess.run([*tool, "convert", str(src), "-o", str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        ours = yaml.safe_load(out.read_text())
        assert ProteinConfig.from_dict(ours).method in ("grid", "bayes")
    proc = subprocess.run([*tool, "export", "quick"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load(proc.stdout)
    assert doc["parameters"]["trainer.optimizer.learning_rate"]["distribution"] == "log_uniform_values"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "method: bayes\nmetric: {name: m}\nparameters: {x: {values: [1]}}\nearly_terminate: {type: hyperband}\n"
    )
    proc = subprocess.run([*tool, "convert", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "not supported yet" in proc.stderr
