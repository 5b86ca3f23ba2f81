"""bench/sweep_surrogate.py: the surrogate is fitted to the real runs, simulated sweeps are paired and deterministic,
and --export rebuilds the data file from a sweep_quality data directory."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from metta.common.errors import OptimizerError
from metta.sweep.store import open_store

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sweep_surrogate.py"


@pytest.fixture(scope="module")
def ss():
    spec = importlib.util.spec_from_file_location("bench_sweep_surrogate", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_sweep_surrogate"] = module
    spec.loader.exec_module(module)
    return module


def test_surrogate_reproduces_the_real_runs(ss) -> None:
    runs = ss.load_runs()
    space = ss.data_space()
    sur = ss.Surrogate(runs, space)
    default = [r["score"] for r in runs if r["learning_rate"] == 4.57e-4 and r["ent_coef"] == 2.1e-3]
    assert len(default) >= 10  # the baseline's validation runs are in the data
    assert sur.truth(ss.DEFAULT) == pytest.approx(np.mean(default), abs=0.02)
    # the learning rate matters: the real runs at lr 1e-4 are far below those near 2.5e-3, and so is the surrogate
    assert sur.truth({ss.LR: 2.5e-3, ss.ENT: 6e-4}) > sur.truth({ss.LR: 1e-4, ss.ENT: 6e-4}) + 0.05
    assert 0.02 < sur.noise_sd < 0.08  # training-seed noise of one run, as measured by sweep_quality (0.04-0.06)
    with pytest.raises(ValueError, match="at least 5"):
        ss.Surrogate(runs[:3], space)


def test_simulated_sweeps_are_paired_deterministic_and_bounded_by_the_oracle(ss) -> None:
    a = ss.parse(["--repeats", "3", "--trials", "4", "--methods", "protein,random"])
    head = ss.run(a, log=lambda s: None)
    again = ss.run(a, log=lambda s: None)
    assert head == again  # seeds are explicit: the same arguments give the same figures
    for m in ("protein", "random"):
        assert head[f"true_{m}"] <= head[f"oracle_{m}"] + 1e-12  # a pick is one of the sampled points
        assert 0.15 < head[f"true_{m}"] < 0.40
    assert head["diff_protein_vs_random"] == pytest.approx(head["true_protein"] - head["true_random"], abs=2e-5)
    assert 0.0 < head["protein_noise_fitted_median"] < 0.2 and 0.0 <= head["protein_noise_interval_coverage"] <= 1.0
    assert abs(head["protein_posterior_bias"]) < 0.2 and 0.0 <= head["protein_posterior_2sd_coverage"] <= 1.0
    json.dumps(head, allow_nan=False)
    with pytest.raises(SystemExit):
        ss.parse(["--set", "no_such_setting=1"])
    with pytest.raises(SystemExit):
        ss.run(ss.parse(["--methods", "protein,bogus"]), log=lambda s: None)


def test_export_collects_sweep_trials_and_validation_runs(ss, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "d" / "sweep"
    (sweep_dir / "sq_random_0" / "validation").mkdir(parents=True)
    store = open_store(sweep_dir / "sweeps.db")
    store.register_sweep("sq_random_0")
    for lr, score in [(1e-3, 0.3), (2e-3, None)]:
        run_id = store.next_run_id("sq_random_0")
        sugg = {"trainer": {"optimizer": {"learning_rate": lr}}}
        store.start_trial("sq_random_0", run_id, sugg, "w")
        store.record_observation("sq_random_0", run_id, sugg, score, 40.0, score is None, "" if score else "crashed")
    store.close()
    line = {
        "config_id": "sq_random_0.r.0", "seed": 101, "run_id": "v1", "status": "success", "score": 0.25,
        "reason": "", "suggestion": {"trainer": {"ppo": {"ent_coef": 5e-4}}}, "protocol": "p",
    }  # fmt: skip
    (sweep_dir / "sq_random_0" / "validation" / "results.jsonl").write_text(json.dumps(line) + "\n")
    out = tmp_path / "runs.json"
    assert ss.export(tmp_path / "d", out) == 2  # the failed trial is not a data point
    runs = json.loads(out.read_text())["runs"]
    assert [(r["learning_rate"], r["ent_coef"], r["score"]) for r in runs] == [
        (1e-3, 2.1e-3, 0.3),
        (4.57e-4, 5e-4, 0.25),
    ]
    # a copy of the directory (a resumed benchmark) adds nothing; merging keeps what the file held
    shutil.copytree(tmp_path / "d", tmp_path / "copy")
    assert ss.export([tmp_path / "d", tmp_path / "copy"], out) == 2
    out.write_text(json.dumps({"meta": {}, "runs": [ss._row({}, 0.2, "older run")]}))
    assert ss.export([tmp_path / "copy"], out, merge=True) == 3
    assert json.loads(out.read_text())["runs"][0]["source"] == "older run"
    with pytest.raises(SystemExit, match="no sweep_quality data"):
        ss.export([tmp_path], out)


def test_quick_space_lies_inside_the_surrogate_box(ss) -> None:
    # the surrogate is fitted in DATA_BOX (where the real runs were gathered); simulated sweeps search quick.yaml,
    # so every quick parameter must lie inside the box, or the surrogate would be asked about points it never saw
    quick = ss.quick_config("bayes", {}).flat_parameters()
    box = ss.data_space()
    assert sorted(quick) == sorted(box.names)
    for name, p in zip(box.names, box.params, strict=True):
        assert p.min <= quick[name].min and quick[name].max <= p.max, name
    assert quick[ss.LR].max == pytest.approx(5e-3)  # quick.yaml stops at 5e-3; the box (and the data) at 1e-2
    box.encode({ss.LR: 1e-2, ss.ENT: 2.1e-3})  # the data's largest learning rate fits the box ...
    with pytest.raises(OptimizerError, match="outside"):
        ss.SearchSpace.from_flat(quick).encode({ss.LR: 1e-2, ss.ENT: 2.1e-3})  # ... but not the quick space


def test_timing_noise_in_trial_costs_leaves_protein_sweeps_unchanged(ss) -> None:
    sur = ss.Surrogate(ss.load_runs(), ss.data_space())
    quiet = [ss.one_sweep(sur, "protein", r, 6, {}) for r in range(3)]
    noisy = [ss.one_sweep(sur, "protein", r, 6, {}, cost_noise=0.3) for r in range(3)]
    assert np.array_equal(np.array(quiet), np.array(noisy), equal_nan=True)  # cost-blind: costs follow no parameter
    old = [ss.one_sweep(sur, "protein", r, 6, {"cost_signal_p": 1.0}, cost_noise=0.3) for r in range(3)]
    assert not np.array_equal(np.array(quiet), np.array(old), equal_nan=True)  # the old rule followed the noise
    with pytest.raises(SystemExit):
        ss.parse(["--cost-noise", "-0.1"])
