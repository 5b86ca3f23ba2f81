"""The smoke tier of bench/hpo.py (Branin, Hartmann6, 30 evaluations, 5 fixed seeds): Protein beats random search."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "hpo.py"


@pytest.fixture(scope="module")
def hpo():
    saved = dict(os.environ)  # the bench pins BLAS threads at import; keep this process's environment as it was
    spec = importlib.util.spec_from_file_location("bench_hpo", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_hpo"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    os.environ.clear()
    os.environ.update(saved)
    return module


def test_reference_functions_hit_their_known_optima(hpo) -> None:
    assert hpo.branin(np.array([np.pi, 2.275])) == pytest.approx(0.397887, abs=1e-6)
    x = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])
    assert hpo.hartmann6(x) == pytest.approx(-hpo.H6_OPT, abs=1e-4)
    assert hpo.rosenbrock(np.ones(4)) == 0 and hpo.levy(np.ones(8)) == pytest.approx(0, abs=1e-12)
    assert hpo.ackley(np.zeros(5)) == pytest.approx(0, abs=1e-12)
    score, cost = hpo.track_b_eval(x, 2.0**16 * np.log(10))  # T reaching 90% of the optimum
    assert score == pytest.approx(0.9 * hpo.H6_OPT, rel=1e-4) and cost == pytest.approx(103.4, abs=0.1)


def test_smoke_tier_protein_beats_random_by_a_clear_margin(hpo) -> None:
    results = []
    for problem in ("branin", "hartmann6"):
        for opt in ("protein", "random"):
            results += [hpo.run_track_a(problem, opt, seed, 30) for seed in range(5)]
    _, head = hpo.summarise(results, ["protein", "random"])
    for problem in ("branin", "hartmann6"):
        protein, random = head[f"regret_{problem}_protein"], head[f"regret_{problem}_random"]
        assert protein < 0.25 * random, (problem, protein, random)
    assert head["regret_branin_protein"] < 0.05
    assert head["regret_hartmann6_protein"] < 0.6


def test_hard_landscape_functions_hit_their_known_optima(hpo) -> None:
    assert hpo.rastrigin(np.zeros(4)) == 0 and hpo.rastrigin(np.ones(4)) == pytest.approx(4.0)
    assert hpo.schwefel(np.full(4, 420.968746)) == pytest.approx(0, abs=1e-4)
    assert hpo.griewank(np.zeros(6)) == pytest.approx(0, abs=1e-12) and hpo.griewank(np.full(6, 5.0)) > 0.1
    assert hpo.mixed_cat(np.array([7, 1, np.pi, 2.275])) == pytest.approx(0.397887, abs=1e-6)
    for name in ("rastrigin4", "griewank6"):  # the shifted boxes still contain the optimum at 0
        assert all(lo < 0 < hi for lo, hi in hpo.PROBLEMS[name].bounds)
    # noisy problems report the true regret at the recommended point (never the noisy observation)
    r = hpo.run_track_a("branin_noisy", "random", 0, 12)
    assert r["regret"] >= 0 and hpo.PROBLEMS["branin_noisy"].noise == 5.0


def test_set_passes_a_checked_setting_to_every_optimizer(hpo) -> None:
    import argparse

    ap = argparse.ArgumentParser()
    assert hpo.parse_settings(ap, ["num_random_samples=10", "acquisition=ucb"]) == {
        "num_random_samples": 10,
        "acquisition": "ucb",
    }
    for bad in (["num_random_samples"], ["no_such_setting=1"], ["num_random_samples=-1"]):
        with pytest.raises(SystemExit):
            hpo.parse_settings(ap, bad)
    # the setting reaches the optimizer: with a 12-point design, 12 evaluations are all initial-design points
    a = hpo.run_track_a("branin", "protein", 0, 12, {"num_random_samples": 12})
    b = hpo.run_track_a("branin", "protein", 0, 12, {"num_random_samples": 3})
    assert a["regret"] != b["regret"]


def test_compare_reports_mann_whitney_p_values_and_hartmann6_counts(hpo) -> None:
    """Hand-made regrets: fully separated samples of 5 give the exact two-sided p = 2 / C(10, 5) = 0.00794; identical
    samples give p = 1."""
    rows = [{"problem": "hartmann6", "optimizer": "protein", "regret": v} for v in (0.01, 0.02, 0.03, 0.04, 0.2)]
    rows += [{"problem": "hartmann6", "optimizer": "tpe", "regret": v} for v in (0.5, 0.6, 0.7, 0.8, 0.9)]
    rows += [{"problem": "hartmann6", "optimizer": "gp", "regret": v} for v in (0.01, 0.02, 0.03, 0.04, 0.2)]
    head: dict = {}
    lines = hpo.compare(rows, ["protein", "tpe", "gp"], head)
    assert head["p_hartmann6_protein_vs_tpe"] == pytest.approx(2 / 252, abs=1e-4)
    assert head["p_hartmann6_protein_vs_gp"] == pytest.approx(1.0)
    assert head["hartmann6_below_0.05_protein"] == "4/5" and head["hartmann6_below_0.05_tpe"] == "0/5"
    assert any(line.startswith("hartmann6") and "0.00794" in line for line in lines)
    assert hpo.compare(rows, ["tpe", "gp"], {}) == []  # nothing to compare without Protein
