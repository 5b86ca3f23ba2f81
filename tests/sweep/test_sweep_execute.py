"""./tools/sweep_execute.py end to end: config errors fail before any trial; a REAL two-trial sweep (tools/train.py +
metta.sim.evaluate) stores two observations with positive costs; kill -9 of a worker mid-trial and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT
from metta.sweep.store import open_store

from .conftest import fake_trainer, start_worker  # noqa: F401

TOOL = REPO_ROOT / "tools" / "sweep_execute.py"


def _run_tool(args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=timeout, cwd=str(REPO_ROOT)
    )


def test_bad_parameter_path_fails_before_any_trial(tmp_path: Path) -> None:
    r = _run_tool(
        [
            "sweep_name=bad",
            f"data_dir={tmp_path}",
            "+sweep.parameters.trainer.ppo.gamam={distribution:uniform,min:0.9,max:0.99}",
        ],
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert "trainer.ppo.gamam" in r.stderr and "does not exist" in r.stderr
    assert not (tmp_path / "sweep" / "sweeps.db").exists()  # nothing was registered or run


def test_min_above_max_fails_naming_the_parameter(tmp_path: Path) -> None:
    r = _run_tool(
        ["sweep_name=bad", f"data_dir={tmp_path}", "sweep.parameters.trainer.ppo.ent_coef.min=0.9"], timeout=120
    )
    assert r.returncode == 2 and "ent_coef" in r.stderr and "min=0.9 > max" in r.stderr


@pytest.mark.slow
def test_real_two_trial_sweep_through_the_tool(tmp_path: Path) -> None:
    r = _run_tool(
        [
            "sweep_name=real",
            f"data_dir={tmp_path}",
            "num_trials=2",
            "settings.rollout_retry_delay=0",
            "++sweep_job_overrides.trainer.total_timesteps=3072",
            "++sweep_job_overrides.trainer.num_envs=2",
            "++sweep_job_overrides.trainer.batch_size=3072",
            "++sweep_job_overrides.trainer.minibatch_size=1536",
        ]
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    obs = store.load_observations("real")
    assert len(obs) == 2, [o.reason for o in obs]
    assert all(o.cost > 0 for o in obs)
    assert all(not o.is_failure for o in obs), [o.reason for o in obs]
    assert {o.run_id for o in obs} == {"real.r.0", "real.r.1"}
    cfg = json.loads((tmp_path / "sweep" / "real" / "runs" / "real.r.1" / "config.json").read_text())
    lr = obs[0].suggestion["trainer"]["optimizer"]["learning_rate"]
    assert json.dumps(cfg).count(repr(lr)) >= 1  # the suggestion reached the trainer
    assert "best parameters" in r.stdout and "real.r." in r.stdout


def test_kill_9_mid_trial_then_resume(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    slow = {"FAKE_TRAIN_SLEEP": "60"}
    w = start_worker(tmp_path, fake_trainer, env=slow, num_trials=1)
    store = open_store(tmp_path / "sweeps.db")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if store.list_trials("s"):
                break
        except Exception:  # the worker may not have created the schema yet
            pass
        time.sleep(0.2)
    (running,) = store.list_trials("s")
    assert running.run_id == "s.r.0"
    os.kill(w.pid, signal.SIGKILL)
    w.wait(10)
    from .test_loop import _processes_running

    deadline = time.monotonic() + 10
    while _processes_running(fake_trainer[1]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_running(fake_trainer[1])  # the training subprocess died with its worker (Linux)
    # a second worker resumes: records the interrupted trial as failed, continues numbering, finishes a trial
    w2 = start_worker(tmp_path, fake_trainer, num_trials=1)
    out = w2.communicate(timeout=120)[0]
    assert w2.returncode == 0, out
    obs = {o.run_id: o for o in store.load_observations("s")}
    assert obs["s.r.0"].is_failure and obs["s.r.0"].reason == "interrupted"
    assert not obs["s.r.1"].is_failure and obs["s.r.1"].cost > 0
    assert store.list_trials("s") == []


@pytest.mark.slow
def test_devops_sweep_sh_runs_two_workers_with_legacy_run_spelling(
    tmp_path: Path,
    fake_trainer: list[str],  # noqa: F811
) -> None:
    cmd = "[" + ",".join(fake_trainer) + "]"
    r = subprocess.run(
        [
            str(REPO_ROOT / "devops" / "sweep.sh"),
            "run=sh",
            "--workers",
            "2",
            f"data_dir={tmp_path}",
            "num_trials=1",
            f"settings.train_command={cmd}",
            "settings.rollout_retry_delay=0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(REPO_ROOT),
    )
    logs = [(tmp_path / "sweep" / "sh" / f"worker_{i}.log") for i in (1, 2)]
    assert r.returncode == 0, r.stderr + "".join(p.read_text() for p in logs if p.exists())
    assert all(p.exists() and "[sh] sh.r." in p.read_text() for p in logs)
    obs = open_store(tmp_path / "sweep" / "sweeps.db").load_observations("sh")
    # the fake checkpoint cannot be evaluated, so both trials are recorded failures with the evaluation's reason
    assert sorted(o.run_id for o in obs) == ["sh.r.0", "sh.r.1"]
    assert all(o.cost > 0 and (not o.is_failure or "evaluation" in o.reason) for o in obs)


def test_sigterm_stops_the_tool_like_ctrl_c(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    cmd = "[" + ",".join(fake_trainer) + "]"
    p = subprocess.Popen(
        [
            sys.executable,
            str(TOOL),
            "sweep_name=term",
            f"data_dir={tmp_path}",
            "num_trials=0",
            f"settings.train_command={cmd}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=str(REPO_ROOT),
        env={**os.environ, "FAKE_TRAIN_SLEEP": "60"},
    )
    db = tmp_path / "sweep" / "sweeps.db"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if db.exists():
            try:
                if open_store(db).list_trials("term"):
                    break
            except Exception:  # schema may be mid-creation
                pass
        time.sleep(0.3)
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    out = p.communicate(timeout=60)[0]
    assert p.returncode == 130, out
    (o,) = open_store(db).load_observations("term")
    assert o.is_failure and o.reason == "interrupted by user (Ctrl-C)" and "best parameters" in out
