#!/usr/bin/env python3
"""Do sweeps find better RL hyperparameters? Protein vs random, Optuna TPE and Optuna GP on the arena, validated.

    .venv/bin/python bench/sweep_quality.py --smoke                 # 5 trials, 1 repeat, 196k steps (< 20 min idle)
    .venv/bin/python bench/sweep_quality.py [--trials 8] [--repeats 3] [--budget 393216]   # full tier

Each method runs the demo's sweep (--sweep, default quick_clip: configs/sweep/quick_clip.yaml, the `mlp` agent on
arena/basic_easy_shaped, learning rate x PPO clip; --sweep quick: learning rate x entropy) for the same number of
trials, through the real sweep loop (tools/train.py trials scored by sweep_eval). Its recommended configuration
(Protein: the best posterior mean; the others: the best observed run) is then re-trained and scored with 5 fresh
seeds (--seeds, up to 20) by the validate_sweep machinery, and so is the default configuration (the baseline), with
the same seeds; each repeat has its own seeds (101-105, 106-110, ...). The last line is JSON: ``validated_<method>``
and ``baseline`` (median over repeats of the validated mean), ``p_protein_vs_baseline`` (Welch's test over all
validated runs; also ``p_<method>_vs_baseline`` and ``p_protein_vs_<method>``), ``winner_beats_baseline``, how sure
it is (``noise_sd``, ``min_detectable_difference`` at 80% power, ``seeds_to_resolve_protein_delta``), how far what a
sweep reports of its pick is from the pick's validated mean (``bias_sweep_score``, ``bias_posterior``,
``bias_cautious``; every recommendation also carries its ``posterior`` and ``cautious`` mean and std), and the plot
of best-so-far sweep scores by cumulative cost (bench/out/sweep_quality.png).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.common.config import compose
from metta.sweep.best_params import rank_observations, rank_posterior
from metta.sweep.dispatch import LocalDispatcher
from metta.sweep.loop import SweepLoop
from metta.sweep.store import Observation, open_store
from metta.sweep.sweep_config import SweepJobConfig, resolve_sweep_job
from metta.sweep.trial import Evaluator, SimEvaluator, compose_train_tree
from metta.sweep.validation import (
    BASELINE,
    SUCCESS,
    Candidate,
    ResultLog,
    ValidationConfig,
    ValidationRunner,
    latest_results,
    plan_runs,
)
from metta.sweep.validation.stats import min_detectable_difference, pooled_std, seeds_needed, welch_t_test
from metta.tools.entrypoints import default_train_command

METHODS = {"protein": "bayes", "random": "random", "tpe": "optuna_tpe", "gp": "optuna_gp"}
CALIBRATED = ("sweep_score", "posterior", "cautious")  # the figures calibration() compares with validation
FIRST_VALIDATION_SEED = 101  # repeat r validates with seeds 101 + r*N .. 101 + (r+1)*N - 1 (N = --seeds, 5)
MAX_SEEDS = 20


def repeat_seeds(repeat: int, n: int) -> tuple[int, ...]:
    """The fresh validation seeds of one repeat: its pick and the baseline are trained with the same N seeds, and
    every repeat has its own, so the baseline's noise is not shared by all repeats (trial seeds are 31-bit hashes,
    tests/sweep/test_loop.py)."""
    first = FIRST_VALIDATION_SEED + repeat * n
    return tuple(range(first, first + n))


@dataclass(frozen=True)
class Harness:
    """How trials train and are scored: the trainer command and an evaluator per seed (None = the suite's seed)."""

    train_command: Sequence[str]
    make_evaluator: Callable[[int | None], Evaluator]


def real_harness(metric: str = "avg_category_score") -> Harness:
    """tools/train.py trials scored by the sweep_eval suite in a child process."""
    return Harness(default_train_command(), lambda seed: SimEvaluator("sweep_eval", metric, seed=seed))


def make_job(
    root: Path, name: str, method: str, trials: int, budget: int, extra: Sequence[str] = (), sweep: str = "quick"
) -> SweepJobConfig:
    """The sweep ``configs/sweep/<sweep>.yaml`` with ``method``, ``trials`` trials and ``budget`` agent-steps each."""
    return resolve_sweep_job(
        compose(
            "sweep_job",
            [
                f"sweep_name={name}",
                f"data_dir={root}",
                f"sweep={sweep}",
                f"sweep.method={method}",
                f"num_trials={trials}",
                f"sweep.train_overrides.trainer.total_timesteps={budget}",
                "settings.rollout_retry_delay=0",
                *extra,
            ],
        )
    )


def run_sweep(job: SweepJobConfig, harness: Harness, salt: int, log: Callable[[str], None]) -> list[Observation]:
    """Run the sweep to its trial count through the real loop; returns its observations in order.

    Resumable: a sweep that already holds launched trials (an earlier, interrupted or finished run of this benchmark
    on the same ``--data-dir``) runs only the rest, since ``num_trials`` counts the trials of one worker process."""
    store = open_store(job.settings.sweep_server_uri)
    try:
        done = store.count_observations(job.sweep_name, launched_only=True) if store.get_sweep(job.sweep_name) else 0
        if job.num_trials:  # 0 would mean "until stopped"
            if done >= job.num_trials:
                return sorted(store.load_observations(job.sweep_name), key=lambda o: o.seq)
            job = job.model_copy(update={"num_trials": job.num_trials - done})
        tree = compose_train_tree(job.train_overrides())
        loop = SweepLoop(
            job,
            store,
            LocalDispatcher(list(harness.train_command)),
            harness.make_evaluator(None),
            tree["trainer"],
            log=log,
            seed_salt=salt,
        )
        loop.run()
        return sorted(store.load_observations(job.sweep_name), key=lambda o: o.seq)
    finally:
        store.close()


def recommend(job: SweepJobConfig, obs: Sequence[Observation], method: str) -> tuple[Candidate, dict[str, Any]]:
    """Protein's posterior-mean pick, or the best observed run for the other methods; with what the sweep's GP says
    of the pick (``posterior`` and ``cautious`` mean and std, docs/protein.md), to compare with its validation."""
    config = job.sweep.protein_for(0)[1]
    post = rank_posterior(obs, config)
    if method == "protein":
        ranked = [o for o, _ in post]
    else:
        ranked = rank_observations(obs, config.goal)
    if not ranked:
        raise RuntimeError(f"sweep {job.sweep_name} has no successful trial to recommend")
    best = ranked[0]
    score = best.objective  # the others' pick is their best single run
    figures: dict[str, Any] = {}
    for o, r in post:
        if o.suggestion == best.suggestion:  # the same configuration (repeats share one posterior)
            pairs = {"posterior": (r.posterior_mean, r.posterior_std), "cautious": r.cautious}
            figures = {k: [float(v[0]), float(v[1])] if np.all(np.isfinite(v)) else None for k, v in pairs.items()}
            score = r.observed_mean if method == "protein" else score  # Protein's pick: the mean of its runs
            break
    return Candidate(best.run_id or f"seq{best.seq}", dict(best.suggestion), score), figures


def validate(job: SweepJobConfig, cand: Candidate, harness: Harness, seeds: Sequence[int], log) -> list[float]:
    """Re-train ``cand`` with ``seeds`` (resumable) and return its successful scores."""
    cfg = ValidationConfig(
        sweep_name=job.sweep_name,
        data_dir=job.data_dir,
        sweep_dir=job.sweep_dir,
        sim_name=job.sim_name,
        metric=job.sweep.protein_for(0)[1].metric,
        seeds=tuple(seeds),
        train_overrides=job.train_overrides(),
        train_timeout=job.settings.train_timeout,
        eval_timeout=job.settings.eval_timeout,
    )
    ValidationRunner(cfg, LocalDispatcher(list(harness.train_command)), harness.make_evaluator, log=log).run(
        plan_runs(cfg, [cand])
    )
    latest = latest_results(cfg, ResultLog(cfg.results_path, log).load())
    rs = [latest.get((cand.config_id, s)) for s in seeds]
    return [float(r.score) for r in rs if r is not None and r.status == SUCCESS and r.score is not None]


def best_so_far(obs: Sequence[Observation]) -> list[tuple[float, float]]:
    """(cumulative cost, best score so far) after each successful trial (failures still cost)."""
    out, spent, best = [], 0.0, -np.inf
    for o in obs:
        spent += o.cost
        if not o.is_failure and o.objective is not None:
            best = max(best, float(o.objective))
        if np.isfinite(best):
            out.append((round(spent, 2), round(best, 5)))
    return out


def plot(curves: dict[str, list[list[tuple[float, float]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (method, runs) in enumerate(curves.items()):
        for j, pts in enumerate(runs):
            if pts:
                ax.step(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    where="post",
                    color=f"C{i}",
                    label=method if j == 0 else None,
                    alpha=0.8,
                )
    ax.set_xlabel("cumulative trial cost (s)")
    ax.set_ylabel("best sweep score so far")
    ax.set_title("sweeps on arena/basic_easy_shaped (mlp)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


@dataclass
class Tally:
    """What the repeats produce: per method the validated mean of each pick, every validated run, the best-so-far
    curves and the recommendations; and the baseline's validated runs and per-repeat means."""

    methods: list[str]
    base_scores: list[float] = field(default_factory=list)
    base_means: list[float] = field(default_factory=list)
    validated: dict[str, list[float]] = field(default_factory=dict)
    all_scores: dict[str, list[float]] = field(default_factory=dict)
    curves: dict[str, list[list[tuple[float, float]]]] = field(default_factory=dict)
    recs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in (self.validated, self.all_scores, self.curves, self.recs):
            for m in self.methods:
                table.setdefault(m, [])


def _mean(xs: Sequence[float]) -> float:
    return float(np.mean(xs)) if len(xs) else float("nan")


def run_repeat(a: argparse.Namespace, r: int, root: Path, harness: Harness, tally: Tally, log) -> None:
    """Repeat ``r``: the baseline and every method's sweep, each pick validated with this repeat's seeds."""
    seeds = repeat_seeds(r, a.seeds)
    base_job = make_job(root, "sq_baseline", "random", 1, a.budget, a.extra, a.sweep)
    scores = validate(base_job, Candidate(BASELINE, {}), harness, seeds, log)
    tally.base_scores += scores
    tally.base_means.append(_mean(scores))
    for m in tally.methods:
        job = make_job(root, f"sq_{m}_{r}", METHODS[m], a.trials, a.budget, a.extra, a.sweep)
        obs = run_sweep(job, harness, salt=r, log=log)
        tally.curves[m].append(best_so_far(obs))
        cand, figures = recommend(job, obs, m)
        scores = validate(job, cand, harness, seeds, log)
        tally.all_scores[m] += scores
        tally.validated[m].append(_mean(scores))
        tally.recs[m].append(
            {
                "run": cand.config_id,
                "sweep_score": cand.sweep_score,
                "validated": tally.validated[m][-1],
                "suggestion": cand.suggestion,
                **figures,
            }
        )


def run(a: argparse.Namespace, harness: Harness, log: Callable[[str], None]) -> dict[str, Any]:
    """The whole benchmark; returns the JSON summary."""
    root = Path(a.data_dir or tempfile.mkdtemp(prefix="sweep_quality_"))
    tally = Tally([m for m in a.methods.split(",") if m])
    t0 = time.monotonic()
    for r in range(a.repeats):
        run_repeat(a, r, root, harness, tally, log)
    png = Path(a.plot)
    plot(tally.curves, png)
    head = summarize(a, tally)
    head["png"] = str(png)
    head["wall_s"] = round(time.monotonic() - t0, 1)
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in head.items()}


def summarize(a: argparse.Namespace, tally: Tally) -> dict[str, Any]:
    """The JSON summary: medians over repeats, Welch p-values (each method against the baseline, Protein against
    each other method, over all validated runs), how sure the comparison is, and the calibration of the picks."""
    base_mean = float(np.nanmedian(tally.base_means)) if tally.base_means else float("nan")
    head: dict[str, Any] = {
        "bench": "sweep_quality",
        "tier": "smoke" if a.smoke else "full",
        "trials": a.trials,
        "repeats": a.repeats,
        "budget": a.budget,
        "seeds": [list(repeat_seeds(r, a.seeds)) for r in range(a.repeats)],
    }
    for m in tally.methods:
        v = tally.validated[m]
        head[f"validated_{m}"] = round(float(np.nanmedian(v)), 5) if v else None
    head["baseline"] = round(base_mean, 5)
    head["baseline_per_repeat"] = [round(b, 5) for b in tally.base_means]
    for m in tally.methods:
        head[f"p_{m}_vs_baseline"] = welch_t_test(tally.all_scores[m], tally.base_scores).p
        if m != "protein" and "protein" in tally.methods:
            head[f"p_protein_vs_{m}"] = welch_t_test(tally.all_scores["protein"], tally.all_scores[m]).p
    if "protein" in tally.methods:
        head["winner_beats_baseline"] = bool(
            head["validated_protein"] is not None
            and head["validated_protein"] > base_mean
            and (head["p_protein_vs_baseline"] or 1.0) < 0.05
        )
    head.update(resolution(tally.all_scores.get("protein", []), tally.base_scores))
    head.update(calibration([r for rs in tally.recs.values() for r in rs]))
    head["recommendations"] = tally.recs
    head["curves"] = tally.curves
    return head


def calibration(recs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How far each figure a sweep reports for its pick is from the pick's validated mean, over every pick: the
    sweep score (one run), the fitted GP posterior and the cautious posterior (where the noise was undetermined)."""
    out: dict[str, Any] = {}
    for name in CALIBRATED:
        err = []
        for r in recs:
            v = r.get(name)
            est = v[0] if isinstance(v, list) else v  # (mean, std) pairs, or the sweep score; None = not available
            if est is not None and r.get("validated") is not None and np.isfinite(r["validated"]):
                err.append(float(est) - float(r["validated"]))
        out[f"bias_{name}"] = round(float(np.mean(err)), 5) if err else None
        out[f"bias_{name}_n"] = len(err)
    return out


def resolution(protein: Sequence[float], base: Sequence[float]) -> dict[str, Any]:
    """How sure the comparison is: the seed-to-seed spread, the smallest difference these validation runs detect
    with 80% power, and how many seeds per arm would resolve the observed Protein-vs-baseline difference."""
    sd = pooled_std(protein, base)
    delta = float(np.mean(protein) - np.mean(base)) if len(protein) and len(base) else float("nan")
    return {
        "noise_sd": round(sd, 5) if np.isfinite(sd) else None,
        "min_detectable_difference": round(min_detectable_difference(sd, len(protein), len(base)), 5),
        "seeds_to_resolve_protein_delta": seeds_needed(delta, sd),
    }


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="5 trials, 1 repeat, 196608 agent-steps per trial")
    ap.add_argument("--trials", type=int, default=None, help="trials per sweep (default 8, smoke 5)")
    ap.add_argument("--repeats", type=int, default=None, help="sweeps per method (default 3, smoke 1)")
    ap.add_argument("--budget", type=int, default=None, help="agent-steps per trial (default 393216, smoke 196608)")
    ap.add_argument("--seeds", type=int, default=5, help=f"fresh validation seeds per repeat (5; up to {MAX_SEEDS})")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma list of " + ",".join(METHODS))
    ap.add_argument("--sweep", default="quick_clip", help="configs/sweep/<name>.yaml: quick_clip (the demo's) or quick")
    ap.add_argument("--data-dir", default=None, help="where sweeps go (default: a new temporary directory)")
    ap.add_argument("--plot", default="bench/out/sweep_quality.png")
    ap.add_argument("extra", nargs="*", help="more sweep_job overrides, e.g. settings.train_timeout=300")
    a = ap.parse_args(argv)
    a.trials = a.trials or (5 if a.smoke else 8)
    a.repeats = a.repeats or (1 if a.smoke else 3)
    a.budget = a.budget or (196608 if a.smoke else 393216)
    unknown = [m for m in a.methods.split(",") if m and m not in METHODS]
    if unknown or not 1 <= a.seeds <= MAX_SEEDS:
        ap.error(f"unknown methods {unknown} (choose from {list(METHODS)}) or --seeds not in 1..{MAX_SEEDS}")
    return a


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    a = parse(argv)
    head = run(a, real_harness(), lambda s: print(s, file=sys.stderr, flush=True))
    for m in [m for m in a.methods.split(",") if m]:
        runs = [r["run"] for r in head["recommendations"][m]]
        print(f"{m:<8} validated {head[f'validated_{m}']}  recommendations {runs}")
    print(f"baseline {head['baseline']}  p(protein vs baseline) {head.get('p_protein_vs_baseline')}")
    print(
        f"seed-to-seed sd {head.get('noise_sd')}: these runs resolve differences of "
        f"{head.get('min_detectable_difference')} or more (80% power); the observed Protein-vs-baseline difference "
        f"needs {head.get('seeds_to_resolve_protein_delta') or 'more than 1000'} seeds per arm"
    )
    print(
        "what a sweep reports of its pick, minus the pick's validated mean (mean over picks): "
        + ", ".join(f"{k} {head.get(f'bias_{k}')} (n={head.get(f'bias_{k}_n')})" for k in CALIBRATED)
    )
    print(json.dumps(head, sort_keys=True))
    return head


if __name__ == "__main__":
    main()
