"""The seed commands for real: a tiny training run and its evaluation through ./tools/run.py (subprocesses)."""

import json
import os
import subprocess
import sys

import pytest

from metta.common.config import REPO_ROOT
from metta.sim.stats_db import StatsDB

RUN = REPO_ROOT / "tools" / "run.py"
RECIPE = "experiments.recipes.arena_basic_easy_shaped"


def run_py(*args):
    env = {**os.environ, "METTA_NO_REEXEC": "1"}
    return subprocess.run(
        [sys.executable, str(RUN), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env
    )


@pytest.mark.slow
def test_train_then_evaluate_in_sweep(tmp_path):
    r = run_py(
        f"{RECIPE}.train",
        "--args",
        "run=tiny",
        "hardware=cpu",
        "--overrides",
        f"data_dir={tmp_path}",
        "trainer.num_envs=1",
        "trainer.batch_size=1536",
        "trainer.minibatch_size=768",
        "trainer.total_timesteps=1536",
        "wandb.mode=disabled",
        "system.seed=42",
        "system.torch_deterministic=true",
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    result = json.loads((tmp_path / "tiny" / "train_result.json").read_text())
    assert result["status"] == "success" and result["agent_steps"] == 1536 and result["epochs"] == 1
    assert (tmp_path / "tiny" / "checkpoints" / "model_0001.pt").is_file()
    assert "seed 42" in r.stdout and "schedules: lr cosine" in r.stdout

    db = tmp_path / "eval.db"
    r = run_py(
        f"{RECIPE}.evaluate_in_sweep",
        "--args",
        f"policy_uri=file://{tmp_path}/tiny/checkpoints",
        f"stats_db_path={db}",
        "--overrides",
        "system.seed=42",
        "suite.simulations.0.num_episodes=1",
        "suite.simulations.0.env_overrides={game.max_steps: 30}",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout[r.stdout.index("{") :])
    assert summary["suite"] == "sweep_eval" and summary["sweep_eval"] == summary["avg_category_score"]
    assert summary["sweep_eval"] >= 0.0
    assert db.is_file()
    StatsDB(db).close()  # the evaluation wrote a readable stats database


def test_failing_tool_exits_1_with_the_error(tmp_path, capsys):
    from metta.tools.runner import main

    code = main(
        [f"{RECIPE}.evaluate", "--args", f"policy_uri=file://{tmp_path}/none", f"stats_db_path={tmp_path}/s.db"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "SimTool failed: CheckpointError" in err and "does not exist" in err
