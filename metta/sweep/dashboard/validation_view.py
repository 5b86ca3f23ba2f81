"""The validation view: per configuration the mean, the 95% CI and the score of each seed, beside the baseline, with
the acceptance criteria of the validation plan marked pass or fail, and the progress of the validation.

The statistics come from ``metta.sweep.validation.build_report`` (the same code ``tools/validate_sweep.py`` prints);
this module only judges the criteria and arranges the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

BASELINE = "baseline"
MIN_SHARE_OF_SWEEP = 0.90  # validated mean keeps at least 90% of the score the sweep found
MAX_RELATIVE_STD = 0.15  # seed-to-seed standard deviation below 15% of the mean


@dataclass(frozen=True)
class SeedScore:
    """One (configuration, seed) result: score for a success, None with the status and reason otherwise."""

    seed: int
    score: float | None
    status: str
    reason: str = ""


@dataclass(frozen=True)
class Criterion:
    """One acceptance criterion of one configuration; ``passed`` None = not enough data yet."""

    name: str
    passed: bool | None
    detail: str


@dataclass(frozen=True)
class ConfigView:
    """A configuration's statistics (from the validation report), its seeds and its criteria."""

    config_id: str
    suggestion: dict[str, Any]
    n: int
    n_failed: int
    pending: int
    sweep_score: float | None
    mean: float
    std: float
    ci_low: float
    ci_high: float
    delta: float
    p: float
    verdict: str
    seeds: tuple[SeedScore, ...] = ()
    criteria: tuple[Criterion, ...] = ()

    @property
    def is_baseline(self) -> bool:
        return self.config_id == BASELINE

    @property
    def passed(self) -> bool | None:
        """True when every criterion passed, False when any failed, None while any is undecided."""
        states = [c.passed for c in self.criteria]
        if any(s is False for s in states):
            return False
        return None if any(s is None for s in states) or not states else True


@dataclass(frozen=True)
class ValidationView:
    """Everything the validation section shows."""

    configs: tuple[ConfigView, ...]
    seeds: tuple[int, ...]
    done: int
    total: int
    results_path: str
    metric: str = ""
    goal: str = "maximize"
    last_result_at: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def baseline(self) -> ConfigView | None:
        return next((c for c in self.configs if c.is_baseline), None)


def _finite(*xs: float | None) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def judge(cfg: ConfigView, base: ConfigView | None, goal: str) -> tuple[Criterion, ...]:
    """The plan's three criteria: keeps >= 90% of the sweep score, std < 15% of the mean, and a 95% CI that does not
    overlap the baseline's (on the better side)."""
    maximize = goal != "minimize"
    out = []
    if _finite(cfg.mean, cfg.sweep_score) and cfg.n > 0:
        s = float(cfg.sweep_score)  # type: ignore[arg-type]
        margin = (1.0 - MIN_SHARE_OF_SWEEP) * abs(s)
        ok = cfg.mean >= s - margin if maximize else cfg.mean <= s + margin
        out.append(Criterion("keeps 90% of sweep score", ok, f"mean {cfg.mean:.4g} vs sweep {s:.4g}"))
    else:
        out.append(Criterion("keeps 90% of sweep score", None, "no successful seed yet"))
    if _finite(cfg.std, cfg.mean) and cfg.n >= 2:
        rel = cfg.std / abs(cfg.mean) if cfg.mean != 0 else math.inf
        out.append(Criterion("std < 15% of mean", rel < MAX_RELATIVE_STD, f"std/|mean| = {rel:.1%}"))
    else:
        out.append(Criterion("std < 15% of mean", None, "needs 2 successful seeds"))
    if base is not None and _finite(cfg.ci_low, cfg.ci_high, base.ci_low, base.ci_high):
        ok = cfg.ci_low > base.ci_high if maximize else cfg.ci_high < base.ci_low
        out.append(
            Criterion(
                "95% CI clear of baseline",
                ok,
                f"[{cfg.ci_low:.4g}, {cfg.ci_high:.4g}] vs baseline [{base.ci_low:.4g}, {base.ci_high:.4g}]",
            )
        )
    else:
        out.append(Criterion("95% CI clear of baseline", None, "needs 2 successful seeds here and in the baseline"))
    return tuple(out)


def build_view(
    reports: Sequence[Any],
    seed_scores: dict[str, list[SeedScore]],
    seeds: Sequence[int],
    results_path: str,
    metric: str,
    goal: str,
    last_result_at: float = 0.0,
    notes: Sequence[str] = (),
) -> ValidationView:
    """Combine ``ConfigReport`` objects of ``build_report`` with the per-seed results into a :class:`ValidationView`."""
    plain = [
        ConfigView(
            config_id=r.config_id,
            suggestion=dict(r.suggestion),
            n=r.n,
            n_failed=r.n_failed,
            pending=r.seeds_pending,
            sweep_score=r.sweep_score,
            mean=r.mean,
            std=r.std,
            ci_low=r.ci_low,
            ci_high=r.ci_high,
            delta=r.delta,
            p=r.p,
            verdict=r.verdict,
            seeds=tuple(seed_scores.get(r.config_id, ())),
        )
        for r in reports
    ]
    base = next((c for c in plain if c.is_baseline), None)
    configs = tuple(c if c.is_baseline else _with_criteria(c, base, goal) for c in plain)
    total = len(configs) * len(seeds)
    done = sum(c.n + c.n_failed for c in configs)
    return ValidationView(configs, tuple(seeds), done, total, results_path, metric, goal, last_result_at, tuple(notes))


def _with_criteria(c: ConfigView, base: ConfigView | None, goal: str) -> ConfigView:
    from dataclasses import replace

    return replace(c, criteria=judge(c, base, goal))
