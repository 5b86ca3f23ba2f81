"""metta.sweep.integrations.ray_tune.ProteinSearcher: pending trials, cost from time_total_s, failures, state, and
on a local Ray, 20 Branin trials with Protein beat Ray's default random search with the same seed."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("ray.tune", reason="ray is not installed (optional extra: pip install -e '.[ray]')")

from experiments.ray_tune_example import BRANIN_MIN, branin, branin_config, compare
from metta.sweep.integrations.ray_tune import ProteinSearcher


def test_branin_reference_values() -> None:
    for x in ((-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)):
        assert branin(*x) == pytest.approx(BRANIN_MIN, abs=1e-5)
    assert branin(0.0, 0.0) == pytest.approx(36 + 10 * (1 - 1 / (8 * math.pi)) + 10, abs=1e-12)  # (0 - 6)^2 + ...


def test_running_trials_are_pending_and_cost_is_time_total_s() -> None:
    s = ProteinSearcher(branin_config(num_random_samples=2), seed=3)
    assert (s.metric, s.mode) == ("branin", "min")
    a, b = s.suggest("a"), s.suggest("b")
    assert a != b and len(s.protein.history.pending) == 2
    s.on_trial_result("a", {"time_total_s": 1.5, "branin": 9.0})
    s.on_trial_complete("a", {"branin": branin(a["x1"], a["x2"]), "time_total_s": 4.25})
    h = s.protein.history
    assert h.costs == [4.25] and h.scores == [pytest.approx(branin(a["x1"], a["x2"]))]
    assert len(h.pending) == 1  # b still running
    s.on_trial_result("b", {"time_total_s": 2.0})
    s.on_trial_complete("b", None, error=True)  # an errored trial is a failure at its last known cost
    assert h.failures == [False, True] and h.scores[1] is None and h.costs[1] == 2.0 and not h.pending
    c = s.suggest("c")
    s.on_trial_complete("c", {"branin": float("nan"), "time_total_s": 1.0})  # non-finite metric: failure, not a score
    assert h.failures[-1] is True and set(c) == {"x1", "x2"}


def test_state_round_trip_keeps_observations_and_running_trials(tmp_path: Path) -> None:
    s = ProteinSearcher(branin_config(), seed=1)
    first = s.suggest("t1")
    s.on_trial_complete("t1", {"branin": 3.0, "time_total_s": 1.0})
    s.suggest("t2")
    s.save(str(tmp_path / "searcher.json"))
    r = ProteinSearcher(branin_config(), seed=99)
    r.restore(str(tmp_path / "searcher.json"))
    assert r.protein.history.params == [first] and len(r.protein.history.pending) == 1
    assert s.suggest("t3") == r.suggest("t3")  # same state, same next point


def test_tune_metric_and_mode_override_the_config_before_the_first_trial() -> None:
    s = ProteinSearcher(branin_config(), seed=0)
    assert s.set_search_properties("score", "max", {})
    assert (s.metric, s.mode) == ("score", "max") and s.protein.config.goal == "maximize"


@pytest.mark.slow
def test_protein_beats_random_search_on_branin_with_local_ray() -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        out = compare([0], samples=20, concurrency=2)
    finally:
        ray.shutdown()
    protein, random = out["best"]["protein"][0], out["best"]["random"][0]
    print(f"best of 20 Branin trials, seed 0: protein={protein:.4f} random={random:.4f}")
    assert BRANIN_MIN - 1e-6 <= protein < random
