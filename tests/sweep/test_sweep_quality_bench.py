"""bench/sweep_quality.py plumbing with the fake trainer: four methods sweep, recommend, validate, plot, JSON."""

from __future__ import annotations

import importlib.util
import json
import sys
import zlib
from pathlib import Path

import pytest

from metta.sweep.trial import EvalOutcome
from metta.sweep.validation.stats import min_detectable_difference, welch_t_test

from .conftest import fake_trainer  # noqa: F401  (fixture)

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sweep_quality.py"


def _load_bench():
    """bench/sweep_quality.py as a module (registered, so its dataclasses resolve their own module)."""
    spec = importlib.util.spec_from_file_location("bench_sweep_quality", BENCH)
    sq = importlib.util.module_from_spec(spec)
    sys.modules["bench_sweep_quality"] = sq
    spec.loader.exec_module(sq)
    return sq


class NoisyEvaluator:
    """The fake trainer's score, -(log10(lr) + 3)^2 (best at lr 1e-3), plus a small deterministic noise."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed

    def evaluate(self, run_dir: Path, timeout_s: float) -> EvalOutcome:
        data = json.loads((run_dir / "fake_score.json").read_text())
        noise = (zlib.crc32(run_dir.name.encode()) % 1000) / 1000.0 * 0.02
        return EvalOutcome(float(data["score"]) + noise, 0.01)


def test_plumbing_with_a_fake_trainer(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    sq = _load_bench()
    a = sq.parse(
        [
            "--trials",
            "3",
            "--repeats",
            "1",
            "--seeds",
            "2",
            "--methods",
            "protein,random",
            "--data-dir",
            str(tmp_path / "d"),
            "--plot",
            str(tmp_path / "sq.png"),
        ]
    )
    head = sq.run(a, sq.Harness(fake_trainer, NoisyEvaluator), lambda s: None)
    assert set(head) >= {"validated_protein", "validated_random", "baseline", "p_protein_vs_baseline", "curves"}
    assert head["baseline"] == pytest.approx(0.01, abs=0.011)  # the default lr 1e-3 is the fake optimum (score 0)
    assert head["seeds"] == [[101, 102]] and head["baseline_per_repeat"] == [head["baseline"]]
    assert all(-4.1 <= head[f"validated_{m}"] <= 0.021 for m in ("protein", "random"))
    assert len(head["curves"]["protein"][0]) == 3 and (tmp_path / "sq.png").stat().st_size > 1000
    rec = head["recommendations"]["protein"][0]
    assert rec["run"].startswith("sq_protein_0.r.") and "learning_rate" in json.dumps(rec["suggestion"])
    assert head["winner_beats_baseline"] is False  # nothing beats the optimum
    assert head["noise_sd"] is not None and head["noise_sd"] >= 0.0
    sd, n_p = head["noise_sd"], len(head["recommendations"]["protein"]) * 2
    if sd > 0:
        assert head["min_detectable_difference"] == pytest.approx(min_detectable_difference(sd, n_p, 2), rel=1e-3)
    assert head["bias_sweep_score_n"] == 2 and head["bias_posterior_n"] == 2  # one pick per method and repeat
    json.dumps(head, allow_nan=False)  # the last line is strict JSON

    # resuming on the same data dir runs nothing new: each sweep already holds its 3 trials (num_trials counts one
    # worker's trials, so a naive re-run would have added 3 more to every sweep)
    again = sq.run(a, sq.Harness(fake_trainer, NoisyEvaluator), lambda s: None)
    assert [len(c) for c in again["curves"]["protein"]] == [3]
    assert again["recommendations"] == head["recommendations"]
    assert again["validated_protein"] == head["validated_protein"]


def test_sweep_option_benchmarks_another_sweep_config(tmp_path: Path) -> None:
    sq = _load_bench()
    assert sq.parse([]).sweep == "quick_clip"  # the demo's sweep
    a = sq.parse([])
    job = sq.make_job(tmp_path, "s", "random", 4, 1000, a.extra, a.sweep)
    flat = job.sweep.protein_for(0)[1].flat_parameters()
    assert sorted(flat) == ["trainer.optimizer.learning_rate", "trainer.ppo.clip_coef"]  # seed 003's example space
    assert flat["trainer.ppo.clip_coef"].mean == 0.1  # the search centre is the trainer default (the baseline)
    assert job.num_trials == 4 and job.sweep.train_overrides["trainer"]["total_timesteps"] == 1000
    quick = sq.make_job(tmp_path, "s", "random", 4, 1000).sweep.protein_for(0)[1].flat_parameters()
    assert sorted(quick) == ["trainer.optimizer.learning_rate", "trainer.ppo.ent_coef"]


def test_each_repeat_validates_with_its_own_fresh_seeds() -> None:
    sq = _load_bench()
    assert sq.repeat_seeds(0, 5) == (101, 102, 103, 104, 105)  # repeat 0 keeps the seeds of earlier runs
    assert sq.repeat_seeds(2, 5) == (111, 112, 113, 114, 115)
    every = [s for r in range(3) for s in sq.repeat_seeds(r, 20)]
    assert len(set(every)) == 60 and min(every) == 101  # disjoint across repeats, never the sweep's seeds 0..100


def test_summary_takes_medians_over_repeats_and_welch_tests_over_all_validated_runs() -> None:
    sq = _load_bench()
    a = sq.parse(["--repeats", "3", "--methods", "protein,tpe"])
    tally = sq.Tally(["protein", "tpe"], base_scores=[0.2, 0.3, 0.25, 0.28, 0.3, 0.35], base_means=[0.25, 0.265, 0.325])
    tally.validated.update(protein=[0.30, 0.40, 0.35], tpe=[0.2, 0.3, 0.1])
    tally.all_scores.update(protein=[0.3, 0.3, 0.4, 0.4, 0.35, 0.35], tpe=[0.2, 0.2, 0.3, 0.3, 0.1, 0.1])
    head = sq.summarize(a, tally)
    assert head["validated_protein"] == 0.35 and head["validated_tpe"] == 0.2 and head["baseline"] == 0.265
    assert head["seeds"] == [[101, 102, 103, 104, 105], [106, 107, 108, 109, 110], [111, 112, 113, 114, 115]]
    assert head["p_protein_vs_baseline"] == pytest.approx(
        welch_t_test(tally.all_scores["protein"], tally.base_scores).p
    )
    assert head["p_protein_vs_tpe"] == pytest.approx(
        welch_t_test(tally.all_scores["protein"], tally.all_scores["tpe"]).p
    )
    assert head["p_tpe_vs_baseline"] > 0.05 and head["p_protein_vs_baseline"] < 0.05
    assert head["winner_beats_baseline"] is True


def test_calibration_compares_each_reported_figure_with_the_validated_mean() -> None:
    sq = _load_bench()
    recs = [
        {"sweep_score": 0.40, "posterior": [0.39, 0.003], "cautious": [0.31, 0.03], "validated": 0.30},
        {"sweep_score": 0.36, "posterior": [0.35, 0.004], "cautious": None, "validated": 0.32},
        {"sweep_score": 0.50, "posterior": None, "cautious": None, "validated": float("nan")},  # validation failed
    ]
    out = sq.calibration(recs)
    assert out["bias_sweep_score"] == pytest.approx(0.07) and out["bias_sweep_score_n"] == 2
    assert out["bias_posterior"] == pytest.approx(0.06) and out["bias_cautious"] == pytest.approx(0.01)
    assert out["bias_cautious_n"] == 1 and sq.calibration([])["bias_posterior"] is None
