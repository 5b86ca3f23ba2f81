"""./tools/train.py end to end in real subprocesses (tiny budget)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rl.helpers import TINY

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "train.py"


def _run(args, cwd, timeout=240):
    env = {**os.environ, "METTA_NO_REEXEC": "1", "WANDB_MODE": "disabled"}
    return subprocess.run(
        [sys.executable, str(TOOL), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_train_tool_runs_writes_result_and_resumes(tmp_path):
    base = [f"data_dir={tmp_path}/data", "run=cli", *[a for a in TINY if not a.startswith("trainer.total_timesteps")]]
    proc = _run([*base, "trainer.total_timesteps=1536"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "data" / "cli"
    result = json.loads((run_dir / "train_result.json").read_text())
    assert result["status"] == "success" and result["error"] is None
    assert (result["agent_steps"], result["epochs"]) == (1536, 2)
    assert result["final_checkpoint"].endswith("model_0002.pt") and Path(result["final_checkpoint"]).is_file()
    assert result["wall_time_s"] > 0
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2
    assert "hardware profile: cpu" in proc.stdout and "effective 768" in proc.stdout
    assert not (tmp_path / "outputs").exists() and not (tmp_path / ".hydra").exists()  # no Hydra litter
    # resume: a larger budget continues from epoch 2
    proc2 = _run([*base, "trainer.total_timesteps=2304"], cwd=tmp_path)
    assert proc2.returncode == 0, proc2.stderr[-3000:]
    result2 = json.loads((run_dir / "train_result.json").read_text())
    assert (result2["epochs"], result2["agent_steps"]) == (3, 2304)
    assert "resuming from" in proc2.stderr and "model_0002.pt" in proc2.stderr


def test_train_tool_bad_config_fails_cleanly(tmp_path):
    proc = _run([f"data_dir={tmp_path}", "run=bad", "hardware=cpu", "trainer.optimizer.learning_rate=-1"], cwd=tmp_path)
    assert proc.returncode == 2
    assert "trainer.optimizer.learning_rate" in proc.stderr
    result = json.loads((tmp_path / "bad" / "train_result.json").read_text())
    assert result["status"] == "failed" and "ConfigError" in result["error"]


def test_train_tool_cfg_job_prints_resolved_config(tmp_path):
    proc = _run(["run=show", f"data_dir={tmp_path}", "--cfg", "job"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"run_dir: {tmp_path}/show" in proc.stdout  # interpolations resolved
    assert "batch_size: 12288" in proc.stdout  # hardware=cpu auto-selected (no GPU here)
    assert not (tmp_path / "show").exists()


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_average_gradients(tmp_path):
    """torchrun --nproc_per_node=2 (gloo): rank 0 writes; agent_steps count both ranks."""
    args = [
        f"data_dir={tmp_path}",
        "run=ddp",
        *[a for a in TINY if not a.startswith("trainer.total_timesteps")],
        "trainer.total_timesteps=3072",
    ]
    env = {**os.environ, "METTA_NO_REEXEC": "1", "WANDB_MODE": "disabled"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(TOOL), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "ddp" / "train_result.json").read_text())
    assert (result["status"], result["epochs"], result["agent_steps"]) == ("success", 2, 3072)  # 2 ranks x 768 x 2
    cfg = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert cfg["effective"]["world_size"] == 2


def test_sigterm_records_an_interrupted_run_with_its_last_checkpoint(tmp_path):
    import time

    args = [
        f"data_dir={tmp_path}",
        "run=term",
        *[a for a in TINY if not a.startswith("trainer.total_timesteps")],
        "trainer.total_timesteps=100000000",
    ]
    env = {**os.environ, "METTA_NO_REEXEC": "1", "WANDB_MODE": "disabled"}
    proc = subprocess.Popen(
        [sys.executable, str(TOOL), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = tmp_path / "term" / "checkpoints" / "model_0001.pt"
    deadline = time.monotonic() + 120
    while not first.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    result = json.loads((tmp_path / "term" / "train_result.json").read_text())
    assert result["status"] == "failed" and "SIGTERM" in result["error"]
    assert result["final_checkpoint"] and Path(result["final_checkpoint"]).is_file() and result["epochs"] >= 1
