"""./tools/sim.py end to end as a subprocess: JSON output, DB rows, exit codes, no outputs/ litter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from metta.common.config import REPO_ROOT
from metta.sim import StatsDB

TOOL = REPO_ROOT / "tools" / "sim.py"
TINY = ["sim=sweep_eval", "sim.num_episodes=1", "++sim.env_overrides={game.max_steps:30}"]


def _tool(args: list[str], cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "METTA_NO_REEXEC": "1"}
    return subprocess.run(
        [sys.executable, str(TOOL), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _checkpoint(run_dir, epoch: int = 4):
    from metta.agent.config import AgentConfig
    from metta.agent.factory import make_policy
    from metta.rl.checkpoint import save_checkpoint

    torch.manual_seed(0)
    cfg = AgentConfig(name="mlp", hidden_size=16, lstm_layers=1, fc_size=16, actor_hidden=16, critic_hidden=16)
    return save_checkpoint(run_dir / "checkpoints", epoch, 10, make_policy(cfg, 19), None, {"run": "r"})


def test_tool_json_and_tables(tmp_path):
    _checkpoint(tmp_path / "r")
    proc = _tool([f"data_dir={tmp_path}", "run=r", "json=true", *TINY], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    res = out["results"][0]
    assert out["stats_db_path"] == f"{tmp_path}/r/stats.db"
    assert res["policy_version"] == 4 and res["suite"] == "sweep_eval"
    assert res["simulations"][0]["episodes_completed"] == 1 and res["simulations"][0]["status"] == "complete"
    assert set(res["category_scores"]) == {"sweep_eval"}
    with StatsDB(out["stats_db_path"]) as db:
        assert db.query("SELECT steps FROM episodes") == [(30,)]
    # second run appends (tables this time) and writes no outputs/ directory or log file
    proc = _tool([f"data_dir={tmp_path}", "run=r", *TINY], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "sweep_eval/basic_easy_shaped" in proc.stdout and "avg_category_score" in proc.stdout
    with StatsDB(out["stats_db_path"]) as db:
        assert db.query("SELECT COUNT(*) FROM episodes") == [(2,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_tool_errors_and_timeout(tmp_path):
    bad = tmp_path / "model_0001.pt"
    bad.write_bytes(b"not a checkpoint")
    proc = _tool([f"policy_uri=file://{bad}", f"data_dir={tmp_path}", "run=x", *TINY], cwd=tmp_path)
    assert proc.returncode == 1 and "model_0001.pt" in proc.stderr and "Traceback" not in proc.stderr
    _checkpoint(tmp_path / "r")
    proc = _tool([f"data_dir={tmp_path}", "run=r", "json=true", "sim.max_time_s=0.000001", *TINY], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    sim = json.loads(proc.stdout)["results"][0]["simulations"][0]
    assert sim["status"] == "timeout" and sim["episodes_completed"] == 0


@pytest.mark.slow
def test_tool_on_tiny_real_training_run(tmp_path):
    train = REPO_ROOT / "tools" / "train.py"
    if not train.exists():
        pytest.skip("tools/train.py not available yet")
    env = {**os.environ, "METTA_NO_REEXEC": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            str(train),
            "run=tiny",
            f"data_dir={tmp_path}",
            "hardware=cpu",
            "trainer.total_timesteps=2000",
            "trainer.num_envs=2",
            "trainer.batch_size=768",
            "trainer.minibatch_size=384",
            "trainer.bptt_horizon=16",
            "trainer.checkpoint.checkpoint_interval=1",
            "trainer.simulation.evaluate_interval=0",
            "wandb=disabled",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ckpts = sorted((tmp_path / "tiny" / "checkpoints").glob("model_*.pt"))
    assert ckpts
    proc = _tool(
        [f"data_dir={tmp_path}", "run=tiny", "json=true", "replay_dir=" + str(tmp_path / "replays"), *TINY],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)["results"][0]
    assert res["policy_version"] == max(int(p.stem.split("_")[1]) for p in ckpts)
    assert res["avg_category_score"] is not None and res["avg_category_score"] >= 0
    assert (tmp_path / "replays" / "sweep_eval__basic_easy_shaped.html").is_file()
