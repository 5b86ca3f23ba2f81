"""Phase selection (boundaries), deep merging over the base, and validation of every phase before any trial."""

from __future__ import annotations

import pytest

from metta.common.config import compose
from metta.common.errors import ConfigError
from metta.sweep.phases import PhaseConfig, deep_merge, merged_sweep, select_phase
from metta.sweep.sweep_config import build_sweep_spec, resolve_sweep_job

PHASES = (PhaseConfig(name="a", num_runs=3), PhaseConfig(name="b", num_runs=2), PhaseConfig(name="c", num_runs=1))


@pytest.mark.parametrize(("n", "idx"), [(0, 0), (2, 0), (3, 1), (4, 1), (5, 2), (6, 2), (1000, 2)])
def test_select_phase_boundaries(n: int, idx: int) -> None:
    assert select_phase(PHASES, n) == idx


def test_no_phases_means_base() -> None:
    assert select_phase((), 7) is None
    assert merged_sweep({"x": 1}, (), 7) == ("base", {"x": 1})


def test_deep_merge_keeps_unrelated_keys_and_does_not_mutate() -> None:
    base = {"protein": {"a": 1, "b": 2}, "parameters": {"t": {"lr": {"min": 1, "max": 3, "mean": 2}}}}
    over = {"protein": {"b": 5}, "parameters": {"t": {"lr": {"mean": 2.5}}}}
    out = deep_merge(base, over)
    assert out == {"protein": {"a": 1, "b": 5}, "parameters": {"t": {"lr": {"min": 1, "max": 3, "mean": 2.5}}}}
    assert base["protein"]["b"] == 2 and base["parameters"]["t"]["lr"]["mean"] == 2


def test_phased_yaml_merges_each_phase_over_full() -> None:
    job = resolve_sweep_job(compose("sweep_job", ["sweep_name=p", "sweep=phased"]))
    names = [p.name for p in job.sweep.phases]
    assert names == ["explore_cheap", "exploit_medium", "peak_expensive"]
    for n, want_name, cost, mean_steps, batch in [
        (0, "explore_cheap", 1800, 300_000_000, 524288),
        (99, "explore_cheap", 1800, 300_000_000, 524288),
        (100, "exploit_medium", 3600, 750_000_000, 1048576),
        (170, "peak_expensive", 7200, 1_000_000_000, 1048576),
        (5000, "peak_expensive", 7200, 1_000_000_000, 1048576),
    ]:
        name, pc = job.sweep.protein_for(n)
        flat = pc.flat_parameters()
        assert name == want_name
        assert pc.settings.max_suggestion_cost == cost
        assert flat["trainer.total_timesteps"].mean == mean_steps
        assert flat["trainer.batch_size"].mean == batch
        assert flat["trainer.optimizer.learning_rate"].max == pytest.approx(1e-2)  # inherited from full
        assert pc.settings.num_random_samples == 20  # untouched base setting


def test_invalid_phase_fails_naming_phase_and_parameter() -> None:
    base = {
        "metric": "reward",
        "parameters": {"trainer": {"gamma": {"distribution": "uniform", "min": 0.9, "max": 0.99, "mean": 0.95}}},
    }
    sched = {
        "phases": [
            {"name": "ok", "num_runs": 2, "sweep": {}},
            {"name": "bad", "num_runs": 2, "sweep": {"parameters": {"trainer": {"gamma": {"mean": 2.0}}}}},
        ]
    }
    with pytest.raises(ConfigError, match=r"phase 'bad'.*trainer\.gamma.*outside"):
        build_sweep_spec({**base, "schedule": sched})


def test_phase_with_unknown_keys_or_zero_runs_is_rejected() -> None:
    base = {"metric": "reward", "parameters": {"trainer": {"gamma": {"min": 0.9, "max": 0.99}}}}
    with pytest.raises(ConfigError, match="unknown keys"):
        build_sweep_spec({**base, "schedule": {"phases": [{"name": "x", "num_runs": 1, "sweep": {"protien": {}}}]}})
    with pytest.raises(ConfigError, match="num_runs"):
        build_sweep_spec({**base, "schedule": {"phases": [{"name": "x", "num_runs": 0}]}})
