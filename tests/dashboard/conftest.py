"""Shared fixtures: a synthetic sweep in a real SQLite store, and small hand-made observation lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metta.sweep.dashboard.synthetic import write_synthetic_sweep
from metta.sweep.store import Observation, open_store

SWEEP = "syn"


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 300-trial synthetic sweep (known answers, see metta.sweep.dashboard.synthetic) in a SQLite file."""
    path = tmp_path_factory.mktemp("dash") / "sweeps.db"
    store = open_store(path)
    try:
        write_synthetic_sweep(store, SWEEP, 300, seed=1)
    finally:
        store.close()
    return str(path)


def obs(seq: int, score: float | None, cost: float, run: int | None = None, **params: float) -> Observation:
    """A hand-made observation; ``score=None`` makes a failure."""
    return Observation(
        sweep=SWEEP,
        run_id=None if run is None else f"{SWEEP}.r.{run}",
        suggestion={"p": dict(params)} if params else {},
        objective=score,
        cost=cost,
        is_failure=score is None,
        reason="train crashed" if score is None else "",
        created_at=1000.0 + seq,
        seq=seq,
    )


def write_run_dir(sweep_dir: Path, run_id: str, seed: int = 7) -> Path:
    """A run directory laid out as tools/train.py writes it."""
    run_dir = sweep_dir / "runs" / run_id
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "model_0001.pt").write_bytes(b"x")
    (run_dir / "train.log").write_text("training\n")
    (run_dir / "config.json").write_text(json.dumps({"system": {"seed": seed}}))
    (run_dir / "metrics.jsonl").write_text(
        '{"step": 1, "losses/policy_loss": 0.5}\n{"step": 2, "losses/policy_loss": 0.25}\n'
    )
    (run_dir / "train_result.json").write_text('{"status": "success", "agent_steps": 98304}')
    return run_dir
