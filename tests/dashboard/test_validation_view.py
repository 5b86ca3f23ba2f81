"""The validation view reads results.jsonl through the validation module and judges the plan's criteria."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from metta.sweep.dashboard.source import load_snapshot
from metta.sweep.dashboard.tables import validation_table
from metta.sweep.dashboard.validation_figure import validation_figure
from metta.sweep.store import open_store
from metta.sweep.validation import FAILED, SUCCESS, ResultLog, RunResult, ValidationConfig

NAME = "val"


def _sweep(tmp_path: Path) -> tuple[str, Path]:
    uri = str(tmp_path / "sweeps.db")
    store = open_store(uri)
    try:
        store.register_sweep(NAME, {"metric": "score", "goal": "maximize"})
        for i, score in enumerate([0.30, 0.50, 0.10]):
            rid = store.next_run_id(NAME)
            store.record_observation(NAME, rid, {"lr": 0.001 * (i + 1)}, score, 10.0, False)
    finally:
        store.close()
    return uri, tmp_path / "sweep" / NAME


def _write_results(sweep_dir: Path, rows: list[tuple[str, dict, int, float | None]]) -> None:
    cfg = ValidationConfig(
        sweep_name=NAME,
        data_dir=str(sweep_dir),
        sweep_dir=str(sweep_dir),
        sim_name="s",
        metric="score",
        seeds=(1,),
        train_overrides={"trainer": {"total_timesteps": 100}},
    )
    log = ResultLog(cfg.results_path)
    for config_id, suggestion, seed, score in rows:
        status = SUCCESS if score is not None else FAILED
        log.append(
            RunResult(
                config_id,
                seed,
                f"{NAME}.v.{config_id}.s{seed}",
                status,
                score,
                "" if score is not None else "train crashed",
                suggestion,
                cfg.protocol(),
                created_at=time.time(),
            )
        )


def test_view_shows_means_cis_seeds_and_judges_each_criterion(tmp_path: Path):
    uri, sweep_dir = _sweep(tmp_path)
    good, bad = {"lr": 0.001}, {"lr": 0.002}
    rows = []
    for seed, (b, g, x) in enumerate(
        [(0.10, 0.29, 0.20), (0.11, 0.30, 0.40), (0.09, 0.31, 0.10), (0.10, 0.30, 0.30)], start=1
    ):
        rows += [("baseline", {}, seed, b), (f"{NAME}.r.0", good, seed, g), (f"{NAME}.r.1", bad, seed, x)]
    rows.append((f"{NAME}.r.1", bad, 5, None))  # a failure on a fifth seed: counted, never a score
    _write_results(sweep_dir, rows)
    view = load_snapshot(uri, NAME, sweep_dir=str(sweep_dir)).validation
    assert view is not None and view.seeds == (1, 2, 3, 4, 5)
    by = {c.config_id: c for c in view.configs}
    assert list(by) == ["baseline", f"{NAME}.r.0", f"{NAME}.r.1"]
    g = by[f"{NAME}.r.0"]
    assert g.sweep_score == 0.30 and g.n == 4 and g.mean == pytest.approx(0.30)
    assert g.ci_low <= 0.30 <= g.ci_high and g.ci_low > by["baseline"].ci_high
    assert [c.passed for c in g.criteria] == [True, True, True] and g.passed is True
    assert [s.score for s in g.seeds] == [0.29, 0.30, 0.31, 0.30]
    b = by[f"{NAME}.r.1"]
    assert b.n == 4 and b.n_failed == 1 and b.mean == pytest.approx(0.25)
    crit = {c.name: c.passed for c in b.criteria}
    assert crit["keeps 90% of sweep score"] is False  # 0.25 < 0.9 * 0.50
    assert crit["std < 15% of mean"] is False  # std 0.129 is 52% of the mean
    assert b.passed is False and b.seeds[-1].status == FAILED and b.seeds[-1].score is None
    assert (view.done, view.total) == (4 + 4 + 5, 3 * 5)  # baseline and r.0 have no run for seed 5 yet
    records, cols = validation_table(view)
    assert records[1]["overall"] == "PASS" and records[2]["overall"] == "FAIL"
    assert records[0]["verdict"] == "(reference)"
    fig = validation_figure(view)
    assert fig["data"][0]["x"] == ["baseline", f"{NAME}.r.0", f"{NAME}.r.1"]
    assert math.isclose(fig["layout"]["shapes"][0]["y0"], 0.10)


def test_single_seed_leaves_criteria_pending_and_no_file_means_no_view(tmp_path: Path):
    uri, sweep_dir = _sweep(tmp_path)
    assert load_snapshot(uri, NAME, sweep_dir=str(sweep_dir)).validation is None
    _write_results(sweep_dir, [("baseline", {}, 1, 0.1), (f"{NAME}.r.0", {"lr": 0.001}, 1, 0.3)])
    view = load_snapshot(uri, NAME, sweep_dir=str(sweep_dir)).validation
    c = next(c for c in view.configs if not c.is_baseline)
    assert [k.passed for k in c.criteria] == [True, None, None] and c.passed is None
