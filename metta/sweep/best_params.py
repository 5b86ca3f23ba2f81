"""Best configurations of a sweep and the Hydra patch that replays them (``+trainer/patch=<sweep>_best``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from metta.common.errors import OptimizerError, SweepError
from metta.sweep.optim.config import ProteinConfig, flatten
from metta.sweep.optim.recommend import Recommendation, interval_is_wide, rank_by_posterior
from metta.sweep.optim.spaces import SearchSpace, encode, is_discrete
from metta.sweep.store import Observation


def rank_observations(observations: Sequence[Observation], goal: str = "maximize") -> list[Observation]:
    """Successful observations, best first (ties: cheaper first, then older first)."""
    if goal not in ("maximize", "minimize"):
        raise SweepError(f"goal {goal!r} must be maximize or minimize")
    sign = -1.0 if goal == "maximize" else 1.0
    ok = [o for o in observations if not o.is_failure and o.objective is not None and math.isfinite(o.objective)]
    return sorted(ok, key=lambda o: (sign * float(o.objective), o.cost, o.seq))  # type: ignore[arg-type]


def rank_posterior(
    observations: Sequence[Observation], config: ProteinConfig, seed: int = 0
) -> list[tuple[Observation, Recommendation]]:
    """Distinct successful configurations, best GP posterior mean first (repeats averaged, noise fitted); each with
    the observation that first ran it. Robust to the winner's curse, unlike :func:`rank_observations`."""
    ok = rank_observations(observations, config.goal)
    if not ok:
        return []
    ok = sorted(ok, key=lambda o: o.seq)
    space = SearchSpace.from_flat(config.flat_parameters())
    try:
        x = np.stack([space.encode(flatten(o.suggestion)) for o in ok])
    except OptimizerError as exc:
        raise SweepError(f"{exc}; the sweep's search space changed since these trials ran: use --by observed") from exc
    recs = rank_by_posterior(x, np.array([float(o.objective) for o in ok]), config.goal, np.random.default_rng(seed))  # type: ignore[arg-type]
    return [(ok[r.index], r) for r in recs]


def format_posterior(ranked: Sequence[tuple[Observation, Recommendation]], top_n: int = 1) -> str:
    """Lines with the posterior mean ± std, observed mean and repeat count of the best ``top_n`` configurations."""
    if not ranked:
        return "no successful observations yet"
    lines = [
        f"ranked by GP posterior mean (repeats averaged; fitted noise std of one evaluation: {_noise(ranked[0][1])})"
    ]
    for i, (o, r) in enumerate(ranked[:top_n], 1):
        sd = "" if not np.isfinite(r.posterior_std) else f" ± {r.posterior_std:.3g}"
        cautious = "" if not np.isfinite(r.cautious[0]) else f"  cautious={r.cautious[0]:.6g} ± {r.cautious[1]:.3g}"
        lines.append(
            f"#{i} {o.run_id or '-'}  posterior={r.posterior_mean:.6g}{sd}{cautious}  observed={r.observed_mean:.6g} "
            f"(x{len(r.members)})  cost={o.cost:.1f}s"
        )
        for k, v in flatten(o.suggestion).items():
            lines.append(f"    {k}: {v:.6g}" if isinstance(v, float) else f"    {k}: {v}")
    return "\n".join(lines)


def _noise(r: Recommendation) -> str:
    if not np.isfinite(r.noise_std):
        return "n/a, fewer than 3 configurations"
    lo, hi = r.noise_interval
    return f"{r.noise_std:.4g}" + (f", 95% interval {lo:.3g}-{hi:.3g}" if np.isfinite(lo) and np.isfinite(hi) else "")


def noise_undetermined(r: Recommendation) -> bool:
    """Whether the data cannot pin the evaluation noise down: its 95% interval is wide (then `cautious` exists)."""
    return interval_is_wide(r.noise_interval)


def format_uncertainty(best: Recommendation, trials: int) -> str:
    """How sure the winner is: the fitted noise of one evaluation, the posterior std, and a caution when the sweep
    is too small to tell noise from real differences (the posterior std is then unreliable)."""
    if not np.isfinite(best.noise_std):
        return "uncertainty: too few configurations to model; a sweep score is one noisy draw. Validate."
    lines = [
        f"uncertainty: one evaluation of a configuration varies by about ±{best.noise_std:.3g} (fitted noise std); "
        f"the winner's posterior std is {best.posterior_std:.3g}. A sweep score is one noisy draw."
    ]
    if noise_undetermined(best):
        lo, hi = best.noise_interval
        lines.append(
            f"caution: with {trials} trials the noise cannot be told apart from real differences (anything from "
            f"{lo:.2g} to {hi:.2g} fits), so that posterior std may be far too small."
        )
        if np.isfinite(best.cautious[0]):
            lines.append(
                f"  if most of the spread is noise, the winner scores {best.cautious[0]:.3g} ± {best.cautious[1]:.3g} "
                "(the 'cautious' posterior; docs/protein.md)."
            )
        lines.append("  Validate before adopting it (command below).")
    return "\n".join(lines)


def edge_warnings(suggestion: dict[str, Any], config: ProteinConfig, margin: float = 0.05) -> list[str]:
    """One warning per numeric parameter of a winner that sits within ``margin`` of its range (in the normalised
    search space) of a bound: the optimum may lie beyond it, and edge settings (learning rates at the top of the
    quick space) often score well in the sweep's seed and collapse in others."""
    flat = flatten(suggestion)
    out = []
    for name, p in config.flat_parameters().items():
        if name not in flat or p.distribution == "categorical":
            continue
        v = flat[name]
        if is_discrete(p):
            side = "upper" if v >= p.max else "lower" if v <= p.min else None
        else:
            z = encode(p, v)
            side = "upper" if z >= 1.0 - 2.0 * margin else "lower" if z <= -1.0 + 2.0 * margin else None
        if side is not None:
            bound = p.max if side == "upper" else p.min
            out.append(
                f"warning: {name} = {v:.4g} is at the {side} bound ({bound:.4g}) of the search space: the optimum may "
                "lie beyond it, and edge settings often score well in one seed and poorly in others. Validate it "
                "across seeds, or widen the range and sweep again."
            )
    return out


def format_report(ranked: Sequence[Observation], total: int, top_n: int = 1, show_scores: bool = False) -> str:
    """Human-readable table of the best ``top_n`` configurations."""
    if not ranked:
        return f"no successful observations yet ({total} recorded, all failures)"
    lines = [f"{len(ranked)} successful of {total} observations; best {min(top_n, len(ranked))}:"]
    for i, o in enumerate(ranked[:top_n], 1):
        head = f"#{i} {o.run_id or '-'}"
        if show_scores or i == 1:
            head += f"  score={o.objective:.6g}  cost={o.cost:.1f}s"
        lines.append(head)
        for k, v in flatten(o.suggestion).items():
            lines.append(f"    {k}: {v:.6g}" if isinstance(v, float) else f"    {k}: {v}")
    return "\n".join(lines)


def patch_text(best: Observation, sweep_name: str, metric: str) -> str:
    """YAML of a Hydra patch (package ``_global_``) setting every swept value of ``best``."""
    header = (
        f"# @package _global_\n"
        f"# Best parameters of sweep {sweep_name!r}: run {best.run_id}, {metric}={best.objective:.6g}, "
        f"cost={best.cost:.1f}s.\n"
        f"# Generated by ./tools/get_best_params_from_sweep.py; use: ./tools/train.py run=<name> "
        f"+trainer/patch={sweep_name}_best\n"
    )
    return header + yaml.safe_dump(_plain(best.suggestion), sort_keys=True, default_flow_style=False)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def write_patch(best: Observation, sweep_name: str, metric: str, output_dir: str | Path) -> Path:
    """Write ``<output_dir>/<sweep_name>_best.yaml`` atomically and return its path."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{sweep_name}_best.yaml"
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(patch_text(best, sweep_name, metric))
    tmp.replace(path)
    return path
