"""Program sweeps: W&B command macros, the metric read from a real offline wandb run, and a 3-worker grid."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT
from metta.sweep.program import expand_command, read_metric, wandb_values

FIX = Path(__file__).parent / "wandb_fixtures"


def test_macros_expand_like_wandb_agent(tmp_path: Path) -> None:
    values = {"lr": 0.001, "flag": True, "off": False, "sched": {"start": 1, "end": 0}}
    cmd = ["${env}", "${interpreter}", "${program}", "--cfg", "${args}"]
    out = expand_command(cmd, "train.py", values, tmp_path / "a.json", python="python")
    assert out == [
        "/usr/bin/env",
        "python",
        "train.py",
        "--cfg",
        "--lr=0.001",
        "--flag=True",
        "--off=False",
        '--sched={"start": 1, "end": 0}',
    ]
    assert expand_command(["${args_no_hyphens}"], None, {"a": 1, "b": "x"}, tmp_path / "a.json") == ["a=1", "b=x"]
    assert expand_command(["${args_no_boolean_flags}"], None, values, tmp_path / "a.json")[:2] == [
        "--lr=0.001",
        "--flag",
    ]
    assert "--off" not in " ".join(expand_command(["${args_no_boolean_flags}"], None, values, tmp_path / "a.json"))
    assert json.loads(expand_command(["${args_json}"], None, values, tmp_path / "a.json")[0]) == values
    path = expand_command(["--file=${args_json_file}"], None, values, tmp_path / "a.json")[0].split("=", 1)[1]
    assert json.loads(Path(path).read_text()) == values
    assert expand_command(None, "p.py", {"a": 1}, tmp_path / "a.json", python="py") == [
        "/usr/bin/env",
        "py",
        "p.py",
        "--a=1",
    ]
    assert wandb_values({"trainer": {"lr": 2}, "s": {"a": 1}}, ["trainer.lr", "s"]) == {"trainer.lr": 2, "s": {"a": 1}}


def test_metric_from_real_offline_wandb_summary(tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    (tmp_path / "config-defaults.yaml").write_text("lr:\n  value: 0.002\n")
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true"}
    env["WANDB_SWEEP_PARAM_PATH"] = str(tmp_path / "config-defaults.yaml")
    proc = subprocess.run(
        [sys.executable, str(FIX / "wandb_logger_program.py")], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    value, reason = read_metric(tmp_path, tmp_path / "no.log", "score")
    assert reason == "" and value == pytest.approx(-1.0)  # the last logged value: -(2-3)^2 - 0
    missing, why = read_metric(tmp_path, tmp_path / "no.log", "loss")
    assert missing is None and "'loss' not found" in why


def test_metric_from_json_line_and_nan_is_failure(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text('noise\n{"score": 1.5}\n{"other": 2}\n{"score": 2.5}\n')
    assert read_metric(tmp_path, log, "score") == (2.5, "")
    log.write_text('{"score": NaN}\n')
    value, reason = read_metric(tmp_path, log, "score")
    assert value is None and "NaN" in reason


@pytest.mark.slow
def test_grid_every_point_once_with_three_workers(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("METTA_SWEEP_SERVER_URI", None)
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "tools" / "sweep_execute.py"),
            "sweep_name=g3",
            f"wandb_sweep={FIX / 'grid.yaml'}",
            f"data_dir={tmp_path}",
            "settings.rollout_retry_delay=0",
            "--workers",
            "3",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with sqlite3.connect(tmp_path / "sweep" / "sweeps.db") as db:
        rows = db.execute("SELECT * FROM observations").fetchall()
        cols = [c[1] for c in db.execute("PRAGMA table_info(observations)")]
    obs = [dict(zip(cols, r, strict=True)) for r in rows]
    points = [json.dumps(json.loads(o["suggestion"]), sort_keys=True) for o in obs if o["sweep"] == "g3"]
    expected = {json.dumps({"x": x, "y": y}, sort_keys=True) for x in (0, 1, 2, 3) for y in (0, 1, 2)}
    assert sorted(points) == sorted(expected)  # all 12 points, each exactly once
    assert proc.stdout.count("grid complete") == 3
    best = max(o["objective"] for o in obs)
    assert best == 0.0


@pytest.mark.slow
def test_cartpole_grid_end_to_end_tiny_budget(tmp_path: Path) -> None:
    pytest.importorskip("gymnasium")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("METTA_SWEEP_SERVER_URI", None)
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "tools" / "sweep_execute.py"),
            "sweep_name=cp",
            f"wandb_sweep={REPO_ROOT / 'experiments' / 'sweeps' / 'wandb' / 'cartpole_ppo_grid.yaml'}",
            f"data_dir={tmp_path}",
            "settings.rollout_retry_delay=0",
            "++sweep_job_overrides.trainer.total_timesteps=2048",  # one epoch per trial
            "--workers",
            "2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    with sqlite3.connect(tmp_path / "sweep" / "sweeps.db") as db:
        rows = db.execute("SELECT suggestion, objective, is_failure FROM observations WHERE sweep = 'cp'").fetchall()
    points = sorted(json.dumps(json.loads(s), sort_keys=True) for s, _, _ in rows)
    expected = sorted(
        json.dumps({"clip_range": c, "policy_lr": lr}, sort_keys=True) for c in (0.1, 0.2) for lr in (0.0003, 0.001)
    )
    assert points == expected
    assert all(not failed and objective is not None and 5.0 < objective <= 500.0 for _, objective, failed in rows)


def _sweep(tmp_path: Path, name: str, fixture: str, *extra: str) -> tuple[subprocess.CompletedProcess, list[tuple]]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("METTA_SWEEP_SERVER_URI", None)
    cmd = [sys.executable, str(REPO_ROOT / "tools" / "sweep_execute.py"), f"sweep_name={name}"]
    cmd += [f"wandb_sweep={FIX / fixture}", f"data_dir={tmp_path}", "settings.rollout_retry_delay=0", *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    with sqlite3.connect(tmp_path / "sweep" / "sweeps.db") as db:
        rows = db.execute("SELECT objective, run_id FROM observations WHERE sweep = ? ORDER BY id", (name,)).fetchall()
    return proc, rows


def test_run_cap_counts_runs_across_workers(tmp_path: Path) -> None:
    proc, rows = _sweep(tmp_path, "cap", "random_capped.yaml", "--workers", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(rows) == 4 and all(obj is not None for obj, _ in rows)  # run_cap=4 for the whole sweep
    assert proc.stdout.count("run_cap=4 runs reached") == 2


def test_target_stops_the_sweep(tmp_path: Path) -> None:
    proc, rows = _sweep(tmp_path, "tgt", "grid_target.yaml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "metric.target=0.0 reached" in proc.stdout
    assert rows[-1][0] == 0.0 and all(obj < 0 for obj, _ in rows[:-1])  # stopped right after the point x=2, y=1
