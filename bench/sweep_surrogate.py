#!/usr/bin/env python3
"""Rank sweep methods on a surrogate of the real quick sweep: hundreds of repeats in minutes, with standard errors.

    .venv/bin/python bench/sweep_surrogate.py                        # 100 repeats x 8 trials, four methods
    .venv/bin/python bench/sweep_surrogate.py --repeats 200 --methods protein,random --set num_random_samples=5
    .venv/bin/python bench/sweep_surrogate.py --export DIR [DIR ...] [--merge]   # refresh the data file

bench/sweep_quality.py trains for real, so it affords three repeats, and the differences between methods drown in
training-seed noise. This benchmark replays the quick sweep (configs/sweep/quick.yaml) on a surrogate. The
surrogate is a GP fitted to every real run in bench/data/quick_sweep_runs.json (sweep trials and validation runs of
the `mlp` agent at 393,216 agent-steps). The true score of a configuration is the GP's posterior mean. An observation
adds Gaussian noise with the GP's fitted noise std. Each method runs ``--trials`` suggestions per repeat. It is
scored by the true value of its recommendation (Protein: best posterior mean; the others: best observation), and by
the best true value it sampled (``oracle``). The oracle separates where a method searched from how it picked.
Repeat r uses seed r for every method, so differences are paired. Every trial costs 45 s, or, with
``--cost-noise S``, 45 s times a log-normal timing noise of std S (as wall-clock costs on a busy machine). The last
line is JSON: ``true_<method>`` (mean), ``se_<method>``, ``oracle_<method>``, ``diff_protein_vs_<method>`` with its
paired standard error, ``baseline`` (the true value of the default) and ``noise_sd``, and whether Protein knows the
noise: ``protein_noise_fitted_median`` (its fitted noise std) and ``protein_noise_interval_coverage`` (how often the
95% profile interval of that noise contains the true ``noise_sd``), and how honest its report on the pick is
(``protein_posterior_bias`` / ``_2sd_coverage``, and the same for the ``cautious`` posterior).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metta.common.errors import ConfigError  # noqa: E402
from metta.sweep.optim.config import ProteinConfig, ProteinSettings, flatten  # noqa: E402
from metta.sweep.optim.gp import GaussianProcess  # noqa: E402
from metta.sweep.optim.recommend import pool_repeats  # noqa: E402
from metta.sweep.optim.registry import make_optimizer  # noqa: E402
from metta.sweep.optim.spaces import SearchSpace  # noqa: E402
from metta.tools.overrides import overridden_values  # noqa: E402

DATA = ROOT / "bench" / "data" / "quick_sweep_runs.json"
SWEEP = ROOT / "configs" / "sweep" / "quick.yaml"
METHODS = {"protein": "bayes", "random": "random", "tpe": "optuna_tpe", "gp": "optuna_gp"}
LR, ENT = "trainer.optimizer.learning_rate", "trainer.ppo.ent_coef"
DEFAULT = {LR: 4.57e-4, ENT: 2.1e-3}
# The box the real runs were gathered in (the quick space before lr max went from 1e-2 to 5e-3). The surrogate lives
# in this box, so it keeps every run; the simulated sweeps search quick.yaml's space, which lies inside it.
DATA_BOX = {
    "trainer": {
        "optimizer": {"learning_rate": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2, "mean": 4.57e-4}},
        "ppo": {"ent_coef": {"distribution": "log_normal", "min": 1e-4, "max": 3e-2, "mean": 2.1e-3}},
    }
}


class Surrogate:
    """True score = posterior mean of a GP fitted to real runs over the quick sweep's normalised space."""

    def __init__(self, runs: Sequence[dict[str, Any]], space: SearchSpace, seed: int = 0) -> None:
        if len(runs) < 5:
            raise ValueError(f"the surrogate needs at least 5 real runs, got {len(runs)}; see --export")
        self.space = space
        x = np.stack([space.encode({LR: r["learning_rate"], ENT: r["ent_coef"]}) for r in runs])
        y = np.array([float(r["score"]) for r in runs])
        # runs of one configuration (validation seeds) enter as their mean, trusted in proportion to their count,
        # and their scatter measures the noise directly: the same model as one point per run, at a fraction of the
        # cost (hundreds of runs, a few hundred configurations)
        _, gx, gy, reps, ss = pool_repeats(x, y)
        self.gp = GaussianProcess("matern52", restarts=4).fit(
            gx, gy, np.random.default_rng(seed), repeats=reps, within_ss=ss
        )
        _, _, sn2 = self.gp.hyper()
        self.noise_sd = math.sqrt(sn2) * float(gy.std())  # the GP fits standardised targets

    def truth(self, flat: dict[str, Any]) -> float:
        return float(self.gp.predict(self.space.encode(flat)[None])[0][0])


def data_space() -> SearchSpace:
    """The surrogate's space: DATA_BOX, which contains quick.yaml's space and every real run."""
    box = ProteinConfig(metric="score", parameters=DATA_BOX)
    return SearchSpace.from_flat(box.flat_parameters())


def load_runs(path: Path = DATA) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["runs"])


def quick_config(method: str, settings: dict[str, Any]) -> ProteinConfig:
    q = yaml.safe_load(SWEEP.read_text())
    return ProteinConfig(
        metric="score",
        goal="maximize",
        method=method,
        parameters=q["parameters"],
        settings={**q["protein"], **settings},
    )


def one_sweep(
    sur: Surrogate, method: str, seed: int, trials: int, settings: dict[str, Any], cost_noise: float = 0.0
) -> tuple[float, ...]:
    """One simulated sweep: (true value of the recommendation, best true value sampled, then Protein's report on
    its pick (NaN for the others): fitted noise std, its 95% interval (low, high), posterior mean and std, cautious
    posterior mean and std)."""
    opt = make_optimizer(quick_config(METHODS[method], settings), seed=seed)
    rng = np.random.default_rng([seed, 99])
    cost_rng = np.random.default_rng([seed, 98])  # its own stream: the score noise is the same with or without it
    seen: list[tuple[dict[str, Any], float, float]] = []  # (suggestion, observed, true)
    for _ in range(trials):
        ((sugg, _info),) = opt.suggest(1)
        true = sur.truth(flatten(sugg))
        observed = true + float(rng.normal(0.0, sur.noise_sd))
        seen.append((sugg, observed, true))
        opt.observe(sugg, observed, 45.0 * math.exp(float(cost_rng.normal(0.0, cost_noise))))
    rec = opt.recommend() if method == "protein" else None  # type: ignore[attr-defined]
    pick = flatten(rec[0]) if rec else flatten(max(seen, key=lambda s: s[1])[0])
    keys = ("noise_std", "noise_interval", "posterior_mean", "posterior_std", "cautious_mean", "cautious_std")
    report = np.hstack([rec[1][k] for k in keys]).tolist() if rec else [math.nan] * 7
    return (sur.truth(pick), max(s[2] for s in seen), *report)


def run(a: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    methods = [m for m in a.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose from {list(METHODS)}")
    runs = load_runs(Path(a.data))
    sur = Surrogate(runs, data_space())
    base = sur.truth(DEFAULT)
    res = {
        m: np.array([one_sweep(sur, m, r, a.trials, a.settings, a.cost_noise) for r in range(a.repeats)])
        for m in methods
    }
    head: dict[str, Any] = {"bench": "sweep_surrogate", "repeats": a.repeats, "trials": a.trials}
    head.update({"settings": a.settings, "baseline": round(base, 5), "noise_sd": round(sur.noise_sd, 5)})
    head["cost_noise"] = a.cost_noise
    log(f"surrogate from {len(runs)} real runs; default {base:.4f}; noise sd {sur.noise_sd:.4f}")
    log(f"{'method':<10}{'true (mean ± se)':>20}{'median':>9}{'oracle':>9}{'P(> default)':>14}")
    for m, v in res.items():
        se = float(v[:, 0].std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
        head[f"true_{m}"], head[f"se_{m}"] = round(float(v[:, 0].mean()), 5), round(se, 5)
        head[f"oracle_{m}"] = round(float(v[:, 1].mean()), 5)
        line = f"{m:<10}{v[:, 0].mean():>12.4f} ± {se:.4f}{np.median(v[:, 0]):>9.4f}{v[:, 1].mean():>9.4f}"
        log(line + f"{np.mean(v[:, 0] > base):>14.2f}")
    if "protein" in res:  # does Protein know how noisy the objective is? (the truth is the surrogate's noise)
        fit, lo, hi = res["protein"][:, 2], res["protein"][:, 3], res["protein"][:, 4]
        cover = float(np.mean((lo <= sur.noise_sd) & (sur.noise_sd <= hi)))
        head["protein_noise_fitted_median"] = round(float(np.nanmedian(fit)), 5)
        head["protein_noise_interval_coverage"] = round(cover, 3)
        log(f"Protein's fitted noise std: median {np.nanmedian(fit):.4f} (true {sur.noise_sd:.4f}); its 95% interval")
        log(f"  covers the true noise in {cover:.0%} of sweeps (median width {np.nanmedian(hi / lo):.1f}x)")
        v = res["protein"]
        for name, mean, std in (("posterior", v[:, 5], v[:, 6]), ("cautious", v[:, 7], v[:, 8])):
            ok = np.isfinite(mean)  # cautious: only where the noise interval is wide
            err = mean[ok] - v[ok, 0]
            within = float(np.mean(np.abs(err) <= 2.0 * std[ok])) if ok.any() else math.nan
            head[f"protein_{name}_bias"] = round(float(err.mean()), 5) if ok.any() else None
            head[f"protein_{name}_2sd_coverage"] = round(within, 3) if ok.any() else None
            if not ok.any():
                log(f"Protein's {name} figure: not reported in any sweep (the noise interval was never wide)")
                continue
            log(f"Protein's {name} figure for its pick ({ok.sum()} sweeps): bias {err.mean():+.4f} vs the truth,")
            log(f"  ±2 std contains the truth in {within:.0%}")
    for m in [m for m in methods if m != "protein" and "protein" in res]:
        d = res["protein"][:, 0] - res[m][:, 0]
        head[f"diff_protein_vs_{m}"] = round(float(d.mean()), 5)
        head[f"diff_se_protein_vs_{m}"] = round(float(d.std(ddof=1) / math.sqrt(len(d))), 5) if len(d) > 1 else None
    return head


def export(data_dirs: Path | Sequence[Path], out: Path, merge: bool = False) -> int:
    """Collect every successful real run of one or more sweep_quality data directories into the surrogate's data
    file (``merge``: added to the runs already in it). A run seen twice (a copied or resumed data directory, or the
    same configuration, seed and score) counts once; returns the number of runs written."""
    dirs = [data_dirs] if isinstance(data_dirs, Path) else list(data_dirs)
    runs = load_runs(out) if merge and out.exists() else []
    for d in dirs:
        runs += _collect(d)
    seen: set[tuple[float, float, float]] = set()
    unique = []
    for r in runs:  # first occurrence wins, order kept
        key = (r["learning_rate"], r["ent_coef"], r["score"])
        if key not in seen:
            seen.add(key)
            unique.append(r)
    meta = {
        "what": "sweep_eval avg_category_score of the mlp agent after 393,216 agent-steps (configs/sweep/quick.yaml)"
    }
    out.write_text(json.dumps({"meta": {**meta, "runs": len(unique)}, "runs": unique}, indent=0) + "\n")
    return len(unique)


def _collect(data_dir: Path) -> list[dict[str, Any]]:
    """The successful sweep trials and validation runs of one sweep_quality data directory."""
    from metta.sweep.store import open_store  # only the export needs the store
    from metta.sweep.validation.resume import ResultLog

    sweep_dir = data_dir / "sweep"
    if not (sweep_dir / "sweeps.db").is_file():
        raise SystemExit(f"{data_dir} holds no sweep_quality data ({sweep_dir / 'sweeps.db'} is missing)")
    store = open_store(sweep_dir / "sweeps.db")
    runs: list[dict[str, Any]] = []
    try:
        names = [p.name for p in sorted(sweep_dir.iterdir()) if p.is_dir() and store.get_sweep(p.name)]
        for name in names:
            for o in sorted(store.load_observations(name), key=lambda o: o.seq):
                if not o.is_failure and o.objective is not None:
                    runs.append(_row(o.suggestion, o.objective, f"sweep {name} ({o.run_id}, its trial seed)"))
    finally:
        store.close()
    for path in sorted(sweep_dir.glob("*/validation/results.jsonl")):
        for r in ResultLog(path, log=lambda s: None).load():
            if r.status == "success" and r.score is not None:
                runs.append(_row(r.suggestion, r.score, f"validation of {r.config_id} (training seed {r.seed})"))
    return runs


def _row(suggestion: dict[str, Any], score: float, source: str) -> dict[str, Any]:
    flat = {**DEFAULT, **flatten(suggestion)}
    return {"learning_rate": flat[LR], "ent_coef": flat[ENT], "score": round(float(score), 6), "source": source}


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=100, help="simulated sweeps per method (default 100)")
    ap.add_argument("--trials", type=int, default=8, help="trials per sweep (default 8, as in sweep_quality)")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma list of " + ",".join(METHODS))
    ap.add_argument("--data", default=str(DATA), help="the real runs the surrogate is fitted to")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a sweep setting (repeatable)")
    ap.add_argument(
        "--cost-noise", type=float, default=0.0, help="log-normal std of each trial's cost, 45 s (wall-clock noise)"
    )
    ap.add_argument(
        "--export", nargs="+", metavar="DATA_DIR", help="rebuild --data from sweep_quality --data-dirs and exit"
    )
    ap.add_argument("--merge", action="store_true", help="with --export: keep the runs already in --data")
    a = ap.parse_args(argv)
    try:
        a.settings = overridden_values(ProteinSettings(), a.set)
    except ConfigError as exc:
        ap.error(f"--set: {exc}")
    if not (0.0 <= a.cost_noise <= 2.0):
        ap.error(f"--cost-noise {a.cost_noise} must be in [0, 2] (a log-normal std; 0.1 = about 10% timing noise)")
    if a.repeats < 2 or a.trials < 2:
        ap.error("--repeats and --trials must be at least 2")
    return a


def main(argv: Sequence[str] | None = None) -> dict[str, Any] | None:
    a = parse(argv)
    if a.export:
        print(f"wrote {export([Path(d) for d in a.export], Path(a.data), merge=a.merge)} runs to {a.data}")
        return None
    head = run(a)
    print(json.dumps(head, sort_keys=True))
    return head


if __name__ == "__main__":
    main()
