"""Reading a sweep from a real SQLite store and a run directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from metta.common.errors import StoreError
from metta.sweep.dashboard.model import build_rows
from metta.sweep.dashboard.source import load_snapshot, parameter_distributions, run_details
from metta.sweep.dashboard.synthetic import CLIP, LR, PARAMETERS
from metta.sweep.phases import PhaseConfig
from metta.sweep.store import open_store
from tests.dashboard.conftest import SWEEP, obs, write_run_dir


def test_snapshot_reads_observations_trials_and_the_stored_search_space(synthetic_store: str):
    snap = load_snapshot(synthetic_store, SWEEP)
    assert len(snap.rows) == 300 and snap.metric == "score" and snap.goal == "maximize"
    assert snap.distributions[LR] == "log_normal" and snap.distributions[CLIP] == "uniform"
    assert snap.param_names[:2] == [LR, CLIP]
    assert {r.worker for r in snap.rows} == {"host0:1000:synthetic", "host1:1001:synthetic"}
    assert 0 < sum(r.is_failure for r in snap.rows) < 40
    assert all(r.reason for r in snap.rows if r.is_failure)
    newest = load_snapshot(synthetic_store, SWEEP, max_observations=50)
    assert [r.run_id for r in newest.rows] == [r.run_id for r in snap.rows[-50:]]


def test_running_trials_and_the_current_phase(tmp_path: Path):
    uri = str(tmp_path / "s.db")
    store = open_store(uri)
    try:
        store.register_sweep("p", {})
        for i in range(3):
            rid = store.next_run_id("p")
            store.start_trial("p", rid, {"x": i}, "w:1:t")
            store.record_observation("p", rid, {"x": i}, float(i), 1.0, False)
        store.start_trial("p", store.next_run_id("p"), {"x": 9}, "w:1:t")
    finally:
        store.close()
    phases = (PhaseConfig(name="a", num_runs=2), PhaseConfig(name="b", num_runs=5))
    snap = load_snapshot(uri, "p", phases=phases)
    assert snap.running == ("p.r.3",) and snap.current_phase == "b"
    assert [s.name for s in snap.phases] == ["a", "b"]


def test_unknown_sweep_names_the_store(synthetic_store: str):
    with pytest.raises(StoreError, match="nope.*not registered"):
        load_snapshot(synthetic_store, "nope")


def test_parameter_distributions_flatten_the_stored_config():
    d = parameter_distributions({"parameters": PARAMETERS})
    assert d == {
        LR: "log_normal",
        CLIP: "uniform",
        "trainer.ppo.ent_coef": "log_normal",
        "trainer.ppo.gae_lambda": "logit_normal",
    }
    assert parameter_distributions(None) == {}


def test_run_details_read_seed_metrics_and_paths(tmp_path: Path):
    sweep_dir = tmp_path / "sweep" / SWEEP
    run_dir = write_run_dir(sweep_dir, f"{SWEEP}.r.0", seed=42)
    row = build_rows([obs(0, 0.7, 12.0, run=0, lr=0.01)])[0]
    d = run_details(row, str(sweep_dir))
    assert d["run_id"] == f"{SWEEP}.r.0" and d["seed"] == 42 and d["score"] == 0.7
    assert d["metrics"] == {"step": 2, "losses/policy_loss": 0.25}
    assert d["train_result"]["agent_steps"] == 98304
    assert d["log_path"] == str(run_dir / "train.log") and d["checkpoints"] == ["model_0001.pt"]
    failed = build_rows([obs(1, None, 3.0, run=1)])[0]
    d = run_details(failed, str(sweep_dir))
    assert d["status"] == "failed" and d["failure_reason"] == "train crashed" and "not on this machine" in d["note"]


class _FakeRun:
    def __init__(self, name: str, objective: float | None, cost: float) -> None:
        self.name = name
        obs = {
            "suggestion": {"lr": 0.01},
            "objective": objective,
            "cost": cost,
            "is_failure": objective is None,
            "reason": "" if objective is not None else "train crashed",
        }
        self.summary = {"protein_observation": obs}


class _FakeApi:
    """Stands in for wandb.Api (no W&B server can be reached here)."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def runs(self, path: str, filters: dict, per_page: int) -> list[_FakeRun]:
        self.paths.append(path)
        assert filters == {"group": "wb"}
        return [_FakeRun("wb.r.0", 0.4, 5.0), _FakeRun("wb.r.1", None, 2.0), _FakeRun("wb.r.2", 0.9, 7.0)]


def test_wandb_sweeps_are_read_through_the_mirror_import(tmp_path: Path):
    from metta.sweep.dashboard.source import load_wandb_snapshot

    api = _FakeApi()
    uri = load_wandb_snapshot("team", "proj", "wb", str(tmp_path), api=api)
    snap = load_snapshot(uri, "wb")
    assert api.paths == ["team/proj"]
    assert [(r.run_id, r.score) for r in snap.rows] == [("wb.r.0", 0.4), ("wb.r.1", None), ("wb.r.2", 0.9)]
    assert snap.rows[1].reason == "train crashed"
