"""Every GPU of a node is used by a sweep: devops/sweep.sh pins workers to their GPUs (--gpus-per-trial), and a
worker with several GPUs trains each trial with torchrun through devops/train.sh while it alone allocates the run
id, evaluates and records (checked for real with two CPU ranks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT
from metta.common.device import visible_gpu_count
from metta.sweep.store import open_store
from metta.tools.entrypoints import default_train_command

SWEEP_SH = REPO_ROOT / "devops" / "sweep.sh"


def _plan(*args: str, gpus: str | None = None, visible: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "SKYPILOT_NUM_GPUS_PER_NODE")}
    if gpus is not None:
        env["SKYPILOT_NUM_GPUS_PER_NODE"] = gpus
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    return subprocess.run(
        [str(SWEEP_SH), "run=g", *args, "--dry-run"], capture_output=True, text=True, env=env, timeout=60
    )


def test_default_is_one_worker_with_torchrun_over_all_gpus() -> None:
    r = _plan(gpus="8")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "worker 1: CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 NPROC=8 .venv/bin/python tools/sweep_execute.py sweep_name=g"
    ]


def test_one_gpu_per_trial_starts_one_pinned_worker_per_gpu() -> None:
    r = _plan("--gpus-per-trial", "1", "num_trials=0", gpus="8")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 8
    assert [line.split()[2] for line in lines] == [f"CUDA_VISIBLE_DEVICES={i}" for i in range(8)]
    assert all(line.endswith("sweep_name=g num_trials=0") for line in lines)


def test_pinning_respects_an_existing_device_list_and_workers_split_evenly() -> None:
    r = _plan("--workers", "2", visible="4,5,6,7")
    assert [line.split()[2] for line in r.stdout.splitlines()] == [
        "CUDA_VISIBLE_DEVICES=4,5",
        "CUDA_VISIBLE_DEVICES=6,7",
    ]


@pytest.mark.parametrize(
    ("args", "gpus", "message"),
    [
        (("--gpus-per-trial", "3"), "8", "does not divide the 8 GPUs"),
        (("--gpus-per-trial", "1"), "0", "no GPU is visible"),
        (("--gpus-per-trial", "2", "--workers", "3"), "8", "conflicts with --gpus-per-trial"),
    ],
)
def test_impossible_gpu_splits_are_refused(args: tuple[str, ...], gpus: str, message: str) -> None:
    r = _plan(*args, gpus=gpus)
    assert r.returncode == 2 and message in r.stderr


def test_default_train_command_uses_torchrun_when_several_gpus_are_visible(monkeypatch) -> None:
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "0,1"}) == 2
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "-1"}) == 0
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": ""}) == 0
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert default_train_command() == [str(REPO_ROOT / "devops" / "train.sh")]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert default_train_command()[-1].endswith("tools/train.py")


@pytest.mark.slow
def test_torchrun_trial_is_recorded_once_by_the_worker(tmp_path: Path) -> None:
    """Two ranks train one trial (NPROC=2 stands in for two GPUs); the store holds one id and one observation."""
    env = {**os.environ, "NPROC": "2", "METTA_NO_REEXEC": "1", "OMP_NUM_THREADS": "1"}
    env.pop("METTA_SWEEP_SERVER_URI", None)
    r = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "tools" / "sweep_execute.py"),
            "sweep_name=tr",
            f"data_dir={tmp_path}",
            "num_trials=1",
            "settings.train_command=[devops/train.sh]",
            "++sweep_job_overrides.trainer.num_envs=2",
            "++sweep_job_overrides.trainer.total_timesteps=1536",
            "++sweep_job_overrides.trainer.batch_size=768",
            "++sweep_job_overrides.trainer.minibatch_size=384",
            "++sweep_job_overrides.hardware.torch_threads=1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=str(REPO_ROOT),
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    obs = store.load_observations("tr")
    assert [(o.run_id, o.is_failure) for o in obs] == [("tr.r.0", False)], [o.reason for o in obs]
    assert store.list_trials("tr") == []  # nothing left running
    run_dir = tmp_path / "sweep" / "tr" / "runs" / "tr.r.0"
    assert json.loads((run_dir / "config.json").read_text())["effective"]["world_size"] == 2
    assert "torchrun --nproc_per_node=2" in (run_dir / "train.log").read_text()
