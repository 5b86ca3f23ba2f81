#!/usr/bin/env python
"""HPO benchmark: Protein vs random search, Optuna TPE and Optuna GP, side by side, fixed seeds, one thread each.

Track A (cost 1): Branin, Hartmann6, Rosenbrock-4, Ackley-5, Levy-8 (budget 40, 60 for d=8) plus Hartmann6 through
mixed log_normal/uniform_pow2/int_uniform/logit_normal parameters; median simple regret, IQR, ratio to random.
Track B (cost-aware): Hartmann6 x training length T in [2^10, 2^20]; score = -h6(x) (1 - exp(-T / 2^16)),
cost = T (0.5 + x0) / 1024; budget 10,000 cost units (<= 150 evaluations); regret within budget and cost to reach
90% of the optimum 3.32237 (an oracle needs 103.4).
Hard landscapes (also Track A): Rastrigin-4, Schwefel-4, Griewank-6 (shifted boxes), noisy Branin (noise std 5) and
noisy Hartmann6 (std 0.2) with regret of the TRUE function at the recommended point (Protein: posterior-mean pick;
others: best observation), a mixed integer/categorical space (mixed_cat) and Levy-20.
Latency: median / p95 seconds per suggestion at n = 10, 50, 200 observations, d = 6.

    python bench/hpo.py            # full tier (a few minutes on 2 cores)
    python bench/hpo.py --smoke    # Branin + Hartmann6 + noisy Branin + mixed_cat, 30 evaluations, 5 seeds
    python bench/hpo.py --problems rastrigin4,schwefel4,griewank6,branin_noisy,hartmann6_noisy,mixed_cat,levy20

The last line printed is one JSON object with the headline figures, including how sure each comparison is
(``p_<function>_protein_vs_<optimizer>``: two-sided Mann-Whitney U over the seeds) and Hartmann6's seeds below
regret 0.05 (``hartmann6_below_0.05_<optimizer>``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.common.errors import ConfigError  # noqa: E402
from metta.sweep.optim.config import ProteinConfig, ProteinSettings, flatten  # noqa: E402
from metta.sweep.optim.registry import make_optimizer  # noqa: E402
from metta.tools.overrides import overridden_values  # noqa: E402

SMOKE = ["branin", "hartmann6", "branin_noisy", "mixed_cat"]
OPTIMIZERS = {"protein": "bayes", "random": "random", "tpe": "optuna_tpe", "gp": "optuna_gp"}
H6_OPT = 3.32236801141551
_H6_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(x: np.ndarray) -> float:
    """Hartmann 6-d on [0, 1]^6 (minimum -3.32237)."""
    return float(-_H6_ALPHA @ np.exp(-(_H6_A * (np.asarray(x) - _H6_P) ** 2).sum(1)))


def branin(x: np.ndarray) -> float:
    """Branin on [-5, 10] x [0, 15] (minimum 0.397887)."""
    a, b = x
    return float(
        (b - 5.1 / (4 * math.pi**2) * a**2 + 5 / math.pi * a - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(a) + 10
    )


def rosenbrock(x: np.ndarray) -> float:
    """Rosenbrock (minimum 0 at 1)."""
    x = np.asarray(x)
    return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum())


def ackley(x: np.ndarray) -> float:
    """Ackley (minimum 0 at 0)."""
    x = np.asarray(x)
    d = x.size
    return float(
        -20 * math.exp(-0.2 * math.sqrt((x**2).sum() / d)) - math.exp(np.cos(2 * math.pi * x).sum() / d) + 20 + math.e
    )


def levy(x: np.ndarray) -> float:
    """Levy (minimum 0 at 1)."""
    w = 1 + (np.asarray(x) - 1) / 4
    t = (w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2)
    return float(math.sin(math.pi * w[0]) ** 2 + t.sum() + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2))


def rastrigin(x: np.ndarray) -> float:
    """Rastrigin (minimum 0 at 0; a local optimum at every integer point)."""
    x = np.asarray(x)
    return float(10 * x.size + (x**2 - 10 * np.cos(2 * math.pi * x)).sum())


def schwefel(x: np.ndarray) -> float:
    """Schwefel on [-500, 500]^d (minimum 0 at 420.9687 in every coordinate; the second best is far away)."""
    x = np.asarray(x)
    return float(418.9828872724338 * x.size - (x * np.sin(np.sqrt(np.abs(x)))).sum())


def griewank(x: np.ndarray) -> float:
    """Griewank (minimum 0 at 0; many shallow local optima on a bowl)."""
    x = np.asarray(x)
    return float(1 + (x**2).sum() / 4000 - np.prod(np.cos(x / np.sqrt(np.arange(1, x.size + 1)))))


_CAT_PENALTY = {"a": 1.0, "b": 0.0, "c": 0.5, "d": 2.0}


def mixed_cat(x: np.ndarray) -> float:
    """Integer x0 in 0..10 (best 7), categorical x1 (best "b", coded 0..3), Branin on (x2, x3); minimum 0.397887."""
    cat = list(_CAT_PENALTY.values())[int(x[1])]
    return float((x[0] - 7) ** 2 / 10 + cat + branin(np.asarray(x[2:4])))


@dataclass(frozen=True)
class Problem:
    """A minimisation problem over named uniform parameters (or a custom parameter tree and decoder)."""

    name: str
    fn: Callable[[np.ndarray], float]
    bounds: tuple[tuple[float, float], ...]
    f_min: float
    budget: int
    noise: float = 0.0  # std of Gaussian noise on every observation; regret is then measured on the true function

    def parameters(self) -> dict[str, Any]:
        if self.name == "mixed_cat":
            return {
                "x0": {"distribution": "int_uniform", "min": 0, "max": 10},
                "x1": {"values": list(_CAT_PENALTY)},
                "x2": {"distribution": "uniform", "min": -5.0, "max": 10.0},
                "x3": {"distribution": "uniform", "min": 0.0, "max": 15.0},
            }
        if self.name == "hartmann6_mixed":
            return {
                "x0": {"distribution": "log_normal", "min": 1e-3, "max": 1.0},
                "x1": {"distribution": "uniform_pow2", "min": 1, "max": 2**16},
                "x2": {"distribution": "int_uniform", "min": 0, "max": 100},
                "x3": {"distribution": "logit_normal", "min": 0.01, "max": 0.99},
                "x4": {"distribution": "uniform", "min": 0.0, "max": 1.0},
                "x5": {"distribution": "uniform", "min": 0.0, "max": 1.0},
            }
        return {f"x{i}": {"distribution": "uniform", "min": lo, "max": hi} for i, (lo, hi) in enumerate(self.bounds)}

    def point(self, flat: dict[str, Any]) -> np.ndarray:
        v = [flat[f"x{i}"] for i in range(len(self.bounds))]
        if self.name == "mixed_cat":
            v[1] = list(_CAT_PENALTY).index(v[1])
        if self.name == "hartmann6_mixed":
            lg = math.log(0.99 / 0.01)
            v = [
                (math.log10(v[0]) + 3) / 3,
                math.log2(v[1]) / 16,
                v[2] / 100,
                (math.log(v[3] / (1 - v[3])) + lg) / (2 * lg),
                v[4],
                v[5],
            ]
        return np.asarray(v, dtype=float)


PROBLEMS = {
    "branin": Problem("branin", branin, ((-5.0, 10.0), (0.0, 15.0)), 0.397887357729739, 40),
    "hartmann6": Problem("hartmann6", hartmann6, ((0.0, 1.0),) * 6, -H6_OPT, 40),
    "rosenbrock4": Problem("rosenbrock4", rosenbrock, ((-5.0, 10.0),) * 4, 0.0, 40),
    # the usual box shifted by +10 so that the optimum (0) is not the search centre every method may try first
    "ackley5": Problem("ackley5", ackley, ((-22.768, 42.768),) * 5, 0.0, 40),
    "levy8": Problem("levy8", levy, ((-10.0, 10.0),) * 8, 0.0, 60),
    "hartmann6_mixed": Problem("hartmann6_mixed", hartmann6, ((0.0, 1.0),) * 6, -H6_OPT, 40),
    # hard landscapes: many local optima, noise (regret at the recommended point), mixed types, 20 dimensions
    "rastrigin4": Problem("rastrigin4", rastrigin, ((-5.12 + 1.7, 5.12 + 1.7),) * 4, 0.0, 60),
    "schwefel4": Problem("schwefel4", schwefel, ((-500.0, 500.0),) * 4, 0.0, 60),
    "griewank6": Problem("griewank6", griewank, ((-60.0 + 17.0, 60.0 + 17.0),) * 6, 0.0, 60),
    "branin_noisy": Problem("branin_noisy", branin, ((-5.0, 10.0), (0.0, 15.0)), 0.397887357729739, 40, noise=5.0),
    "hartmann6_noisy": Problem("hartmann6_noisy", hartmann6, ((0.0, 1.0),) * 6, -H6_OPT, 60, noise=0.2),
    "mixed_cat": Problem("mixed_cat", mixed_cat, ((0, 10), (0, 3), (-5.0, 10.0), (0.0, 15.0)), 0.397887357729739, 40),
    "levy20": Problem("levy20", levy, ((-10.0, 10.0),) * 20, 0.0, 100),
}


def recommended(opt: Any, history: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
    """What the optimizer would hand to the user: Protein's posterior-mean pick, else the best observed point."""
    if hasattr(opt, "recommend"):
        rec = opt.recommend()
        if rec is not None:
            return flatten(rec[0])
    return flatten(min(history, key=lambda h: h[1])[0])


def run_track_a(
    problem: str, optimizer: str, seed: int, budget: int, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One optimisation run; returns final simple regret and the seconds spent suggesting."""
    prob = PROBLEMS[problem]
    cfg = ProteinConfig(
        metric=problem,
        goal="minimize",
        method=OPTIMIZERS[optimizer],
        parameters=prob.parameters(),
        settings=settings or {},
    )
    opt = make_optimizer(cfg, seed=seed)
    rng = np.random.default_rng([seed, 7919])
    best, spent, history = math.inf, 0.0, []
    for _ in range(budget):
        t0 = time.perf_counter()
        ((sugg, _info),) = opt.suggest(1)
        spent += time.perf_counter() - t0
        value = prob.fn(prob.point(flatten(sugg))) + (rng.normal(0.0, prob.noise) if prob.noise else 0.0)
        best = min(best, value)
        history.append((sugg, value))
        opt.observe(sugg, value, 1.0)
    if prob.noise:  # the true value at the point the optimizer recommends, not the luckiest observation
        t0 = time.perf_counter()
        best = prob.fn(prob.point(recommended(opt, history)))
        spent += time.perf_counter() - t0
    return {
        "track": "A",
        "problem": problem,
        "optimizer": optimizer,
        "seed": seed,
        "regret": max(best - prob.f_min, 0.0),
        "suggest_s": spent / budget,
    }


TRACK_B_BUDGET, TRACK_B_MAX_EVALS, T_MIN, T_MAX = 10_000.0, 150, 2.0**10, 2.0**20


def track_b_eval(x: np.ndarray, t: float) -> tuple[float, float]:
    """(score to maximise, cost) of Track B."""
    return -hartmann6(x) * (1.0 - math.exp(-t / 2.0**16)), t * (0.5 + x[0]) / 1024.0


def run_track_b(optimizer: str, seed: int) -> dict[str, Any]:
    """One cost-aware run; returns regret within budget and cumulative cost to reach 90% of the optimum."""
    params = {f"x{i}": {"distribution": "uniform", "min": 0.0, "max": 1.0} for i in range(6)}
    params["T"] = {"distribution": "log_normal", "min": T_MIN, "max": T_MAX}
    cfg = ProteinConfig(metric="h6_time", goal="maximize", method=OPTIMIZERS[optimizer], parameters=params)
    opt = make_optimizer(cfg, seed=seed)
    spent, best, cost_to_90, evals = 0.0, -math.inf, None, 0
    while evals < TRACK_B_MAX_EVALS:
        ((sugg, _info),) = opt.suggest(1)
        x = np.array([sugg[f"x{i}"] for i in range(6)])
        score, cost = track_b_eval(x, sugg["T"])
        if spent + cost > TRACK_B_BUDGET:
            break
        spent += cost
        evals += 1
        best = max(best, score)
        if cost_to_90 is None and best >= 0.9 * H6_OPT:
            cost_to_90 = spent
        opt.observe(sugg, score, cost)
    return {
        "track": "B",
        "problem": "hartmann6_time",
        "optimizer": optimizer,
        "seed": seed,
        "regret": H6_OPT - best if math.isfinite(best) else H6_OPT,
        "cost_to_90": cost_to_90,
        "evals": evals,
    }


def run_latency(optimizer: str, n: int, seed: int = 0, reps: int = 5) -> dict[str, Any]:
    """Seconds per suggestion after ``n`` random observations of Hartmann6 (d = 6)."""
    prob = PROBLEMS["hartmann6"]
    cfg = ProteinConfig(metric="h6", goal="minimize", method=OPTIMIZERS[optimizer], parameters=prob.parameters())
    opt = make_optimizer(cfg, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = rng.uniform(0, 1, 6)
        opt.observe({f"x{i}": float(v) for i, v in enumerate(x)}, hartmann6(x), 1.0)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        ((sugg, _info),) = opt.suggest(1)
        times.append(time.perf_counter() - t0)
        opt.observe(sugg, prob.fn(prob.point(flatten(sugg))), 1.0)
    return {"track": "latency", "optimizer": optimizer, "n": n, "times": times}


def _run(task: tuple) -> dict[str, Any]:
    kind, *args = task
    if kind == "A":
        return run_track_a(*args)
    if kind == "B":
        return run_track_b(*args)
    return run_latency(*args)


def run_tasks(tasks: Sequence[tuple], workers: int) -> list[dict[str, Any]]:
    """Run tasks in a pool of ``workers`` single-threaded processes (inline when workers <= 1)."""
    if workers <= 1:
        return [_run(t) for t in tasks]
    with get_context("spawn").Pool(workers) as pool:
        return pool.map(_run, tasks, chunksize=1)


def _q(values: Sequence[float], q: float) -> float:
    return float(np.quantile(np.asarray(values, dtype=float), q))


def _regrets(a: list[dict[str, Any]], problem: str, optimizer: str) -> list[float]:
    """Track-A regrets of one optimizer on one problem, one per seed."""
    return [r["regret"] for r in a if r["problem"] == problem and r["optimizer"] == optimizer]


def compare(a: list[dict[str, Any]], optimizers: Sequence[str], head: dict[str, Any]) -> list[str]:
    """How sure each Track-A comparison is: per function, the two-sided Mann-Whitney U p-value of Protein's regrets
    against each other optimizer's over the seeds (``p_<function>_protein_vs_<optimizer>``; small = a real
    difference, the medians say which way), and Hartmann6's seeds below regret 0.05 per optimizer."""
    from scipy.stats import mannwhitneyu

    others = [o for o in optimizers if o != "protein"]
    if "protein" not in optimizers or not others:
        return []
    lines = ["", f"{'Protein vs':<18}" + "".join(f"{'p (Mann-Whitney U, two-sided)':>34}" for _ in others)]
    lines.append(f"{'':<18}" + "".join(f"{o:>34}" for o in others))
    for prob in dict.fromkeys(r["problem"] for r in a):
        mine = _regrets(a, prob, "protein")
        row = f"{prob:<18}"
        for o in others:
            theirs = _regrets(a, prob, o)
            p = float(mannwhitneyu(mine, theirs, alternative="two-sided").pvalue) if mine and theirs else math.nan
            head[f"p_{prob}_protein_vs_{o}"] = round(p, 4)
            row += f"{p:.3g}".rjust(34)
        lines.append(row)
    for o in optimizers:
        h6 = _regrets(a, "hartmann6", o)
        if h6:
            head[f"hartmann6_below_0.05_{o}"] = f"{sum(v < 0.05 for v in h6)}/{len(h6)}"
    return lines


def summarise(results: list[dict[str, Any]], optimizers: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """Text table lines and the headline JSON dict."""
    lines, head = [], {"bench": "hpo"}
    a = [r for r in results if r["track"] == "A"]
    lines.append(f"{'Track A':<18}" + "".join(f"{o:>34}" for o in optimizers))
    lines.append(f"{'median regret':<18}" + "".join(f"{'median [IQR] (x random)':>34}" for _ in optimizers))
    for prob in dict.fromkeys(r["problem"] for r in a):
        rand = _regrets(a, prob, "random")
        row = f"{prob:<18}"
        for o in optimizers:
            vals = _regrets(a, prob, o)
            med = _q(vals, 0.5)
            ratio = med / _q(rand, 0.5) if rand and _q(rand, 0.5) > 0 else float("nan")
            row += f"{med:>12.4g} [{_q(vals, 0.25):.3g}, {_q(vals, 0.75):.3g}] ({ratio:.3f})".rjust(34)
            head[f"regret_{prob}_{o}"] = round(med, 6)
        lines.append(row)
    lines += compare(a, optimizers, head)
    b = [r for r in results if r["track"] == "B"]
    if b:
        lines.append("")
        lines.append(f"{'Track B':<18}" + "".join(f"{o:>34}" for o in optimizers))
        r1, r2, r3 = f"{'regret@10k cost':<18}", f"{'seeds reach 90%':<18}", f"{'median cost->90%':<18}"
        for o in optimizers:
            rs = [r for r in b if r["optimizer"] == o]
            reached = [r["cost_to_90"] for r in rs if r["cost_to_90"] is not None]
            med = _q([r["regret"] for r in rs], 0.5)
            regs = [r["regret"] for r in rs]
            r1 += f"{med:>12.4g} [{_q(regs, 0.25):.3g}, {_q(regs, 0.75):.3g}]".rjust(34)
            r2 += f"{len(reached)}/{len(rs)}".rjust(34)
            c90 = _q(reached, 0.5) if reached else None
            r3 += (f"{c90:.0f}" if c90 is not None else "never").rjust(34)
            head[f"trackb_regret_{o}"] = round(med, 6)
            head[f"trackb_reach90_{o}"] = f"{len(reached)}/{len(rs)}"
            head[f"trackb_cost90_{o}"] = None if c90 is None else round(c90, 1)
        lines += [r1, r2, r3]
    lat = [r for r in results if r["track"] == "latency"]
    if lat:
        lines.append("")
        lines.append(f"{'Latency (s)':<18}" + "".join(f"{o:>34}" for o in optimizers))
        for n in sorted({r["n"] for r in lat}):
            row = f"{f'n={n} median/p95':<18}"
            for o in optimizers:
                ts = [t for r in lat if r["optimizer"] == o and r["n"] == n for t in r["times"]]
                row += (f"{_q(ts, 0.5):.3f} / {_q(ts, 0.95):.3f}" if ts else "-").rjust(34)
                if ts:
                    key = f"latency_n{n}_s" + ("" if o == "protein" else f"_{o}")
                    head[key] = round(_q(ts, 0.5), 4)
                    if o == "protein":
                        head[f"latency_n{n}_p95_s"] = round(_q(ts, 0.95), 4)
            lines.append(row)
    return lines, head


def parse_settings(ap: argparse.ArgumentParser, pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings -> the settings they set, checked by ProteinSettings; bad ones are a usage error."""
    try:
        return overridden_values(ProteinSettings(), pairs)
    except ConfigError as exc:
        ap.error(f"--set: {exc}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="Branin, Hartmann6, noisy Branin, mixed_cat")
    ap.add_argument("--workers", type=int, default=2, help="single-threaded worker processes")
    ap.add_argument("--optimizers", default=",".join(OPTIMIZERS), help="comma list of " + ",".join(OPTIMIZERS))
    ap.add_argument("--problems", default=None, help="comma list of Track A problems (default: the tier's)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per problem (default 10, smoke 5)")
    ap.add_argument("--no-track-b", action="store_true", help="skip Track B")
    ap.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a sweep setting for Track A, e.g. --set num_random_samples=10 (repeatable; applies to every optimizer)",
    )
    args = ap.parse_args(argv)
    settings = parse_settings(ap, args.set)
    opts = [o.strip() for o in args.optimizers.split(",") if o.strip()]
    unknown = [o for o in opts if o not in OPTIMIZERS]
    if unknown:
        ap.error(f"unknown optimizers {unknown}; choose from {list(OPTIMIZERS)}")
    seeds = args.seeds or (5 if args.smoke else 10)
    problems = args.problems.split(",") if args.problems else (SMOKE if args.smoke else list(PROBLEMS))
    tasks: list[tuple] = []
    for n in (10, 50, 200) if not args.no_latency and not args.smoke else ():
        tasks += [("L", o, n) for o in opts if o in ("protein", "gp")]
    if args.smoke and not args.no_latency:
        tasks += [("L", o, 200) for o in opts if o in ("protein", "gp")]
    if not args.smoke and not args.no_track_b:
        tasks += [("B", o, s) for o in opts for s in range(seeds)]
    for p in problems:
        budget = 30 if args.smoke else PROBLEMS[p].budget
        tasks += [("A", p, o, s, budget, settings) for o in opts for s in range(seeds)]
    t0 = time.perf_counter()
    results = run_tasks(tasks, args.workers)
    lines, head = summarise(results, opts)
    head["tier"] = "smoke" if args.smoke else "full"
    head["seeds"] = seeds
    head["settings"] = settings
    head["wall_s"] = round(time.perf_counter() - t0, 1)
    print("\n".join(lines))
    print(f"(wall {head['wall_s']} s, {args.workers} workers, one thread each; other jobs may share the CPU)")
    print(json.dumps(head, sort_keys=True))
    return head


if __name__ == "__main__":
    main()
