"""Seed-plan criteria (pure) and the two-phase plan run through the validation runner with the fake trainer."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT
from metta.common.errors import SweepError
from metta.sweep.store import open_store
from metta.sweep.validation import BASELINE, ResultLog, ValidationConfig, plan_runs, select_candidates
from metta.sweep.validation.seed_plan import SEED_PLAN, Phase, plan_phases, run_phases
from metta.sweep.validation.stats import seed_plan_criteria

from .conftest import fake_trainer  # noqa: F401  (fixture)
from .test_validation import _runner

NAN = math.nan


def test_seed_plan_criteria_pass_fail_and_na() -> None:
    c = seed_plan_criteria(0.95, 0.1, (0.9, 1.0), 1.0, (0.5, 0.6))
    assert c == {"keeps_90pct": "pass", "std_below_15pct": "pass", "ci_separate": "pass"}
    c = seed_plan_criteria(0.57, 0.2, (0.4, 0.7), 1.0, (0.5, 0.6))  # the demo's winner: 57% of its sweep score
    assert c == {"keeps_90pct": "fail", "std_below_15pct": "fail", "ci_separate": "fail"}
    assert seed_plan_criteria(0.9, 0.1349, (0.7, 0.8), 1.0, (0.85, 0.95))["ci_separate"] == "pass"  # below is apart
    assert seed_plan_criteria(0.9, 0.1351, (0.7, 0.8), 1.0, (0.85, 0.95))["std_below_15pct"] == "fail"
    # minimize: a validated loss at most 10% above the sweep's
    assert seed_plan_criteria(1.09, 0.1, (1, 1.2), 1.0, (2, 3), "minimize")["keeps_90pct"] == "pass"
    assert seed_plan_criteria(1.11, 0.1, (1, 1.2), 1.0, (2, 3), "minimize")["keeps_90pct"] == "fail"
    assert seed_plan_criteria(1.0, NAN, (NAN, NAN), None, (0, 1)) == {
        "keeps_90pct": "n/a",
        "std_below_15pct": "n/a",
        "ci_separate": "n/a",
    }


def _sweep(tmp_path: Path) -> None:
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    store.register_sweep("p", {"metric": "reward", "goal": "maximize", "sim_name": "sweep_eval"})
    # fake trainer score = -(log10(lr) + 3)^2 (+0.01 x seed from the evaluator): best at lr 1e-3
    for i, (lr, sweep_score) in enumerate([(0.02, 0.9), (0.001, 0.8), (0.003, 0.7), (0.0001, 0.6), (0.05, 0.5)]):
        store.record_observation(
            "p", f"p.r.{i}", {"trainer": {"optimizer": {"learning_rate": lr}}}, sweep_score, 1.0, False
        )
    store.close()


def test_two_phases_promote_by_validated_mean_and_resume(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    assert SEED_PLAN == (Phase("phase 1", 5, tuple(range(1, 11))), Phase("phase 2", 3, tuple(range(1, 21))))
    assert plan_phases("seed000") == SEED_PLAN
    with pytest.raises(SweepError, match="seed000"):
        plan_phases("nope")
    _sweep(tmp_path)
    store = open_store(tmp_path / "sweep" / "sweeps.db")
    cands = select_candidates(store, "p", "maximize", 5)
    store.close()
    cfg = ValidationConfig(
        sweep_name="p",
        data_dir=str(tmp_path),
        sweep_dir=str(tmp_path / "sweep" / "p"),
        sim_name="sweep_eval",
        metric="reward",
        seeds=(1,),
    )
    small = (Phase("phase 1", 3, (1, 2)), Phase("phase 2", 2, (1, 2, 3)))  # same logic, fewer runs
    calls: list[int] = []
    execute = lambda pcfg, cs: _runner(pcfg, fake_trainer, calls).run(plan_runs(pcfg, cs))  # noqa: E731
    out = run_phases(small, cfg, cands, execute)
    assert [c.config_id for c in out[0].candidates] == [BASELINE, "p.r.0", "p.r.1", "p.r.2"]  # top 3 by sweep score
    # phase 2 takes the 2 best VALIDATED (lr 1e-3 then 3e-3), not the sweep's lucky 0.9 at lr 0.02
    assert [c.config_id for c in out[1].candidates] == [BASELINE, "p.r.1", "p.r.2"]
    assert len(calls) == 4 * 2 + 3 * 1  # phase 2 reuses seeds 1 and 2 of phase 1
    r1 = next(r for r in out[1].reports if r.config_id == "p.r.1")
    assert r1.n == 3 and r1.mean == pytest.approx(0.02) and r1.keeps_90pct == "fail"  # 0.02 << 0.8
    again = run_phases(small, cfg, cands, execute)  # resumable: nothing re-runs
    assert len(calls) == 11 and [r.n for r in again[1].reports] == [3, 3, 3]
    assert len(ResultLog(cfg.results_path).load()) == 11


def test_tool_plan_dry_run_lists_phase_one_and_waits_for_phase_two(tmp_path: Path) -> None:
    _sweep(tmp_path)
    r = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "tools" / "validate_sweep.py"),
            "sweep_name=p",
            f"data_dir={tmp_path}",
            "--plan",
            "seed000",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "5 configurations + baseline x 10 seeds" in r.stdout
    assert r.stdout.count("[to run]") == 60 and "p.v.r4.s10" in r.stdout
    assert "phase 2: not started" in r.stdout and "no successful validation run yet" in r.stdout
