"""Aggregating validation results: per-configuration statistics against the baseline (Welch t-test, Holm
adjustment, Cohen's d, bootstrap CI) and the human-readable table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from metta.common.seeding import derive_seed, make_rng
from metta.sweep.optim.config import flatten
from metta.sweep.store.base import dumps
from metta.sweep.validation import stats
from metta.sweep.validation.config import BASELINE, FAILED, INTERRUPTED, SUCCESS, ValidationConfig
from metta.sweep.validation.plan import Candidate
from metta.sweep.validation.resume import RunResult, latest_results


@dataclass(frozen=True)
class ConfigReport:
    """Validation statistics of one configuration (the baseline has no delta/p/verdict)."""

    config_id: str
    suggestion: dict[str, Any]
    sweep_score: float | None
    n: int
    n_failed: int
    seeds_pending: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    delta: float = math.nan
    p: float = math.nan
    p_holm: float = math.nan
    cohens_d: float = math.nan
    detectable: float = math.nan  # smallest true difference these seeds find with 80% power (at cfg.alpha)
    seeds_for_delta: int | None = None  # seeds per configuration that would resolve the observed delta
    verdict: str = ""
    failures: tuple[str, ...] = ()
    keeps_90pct: str = ""  # seed-plan criteria: pass / fail / n/a (empty for the baseline)
    std_below_15pct: str = ""
    ci_separate: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (NaN becomes null)."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(self).items()
        }


def build_report(
    cfg: ValidationConfig, candidates: Sequence[Candidate], results: Sequence[RunResult], bootstrap_seed: int = 0
) -> list[ConfigReport]:
    """Per-configuration statistics over the planned seeds (newest result per pair, this protocol only)."""
    latest = latest_results(cfg, results)
    scores: dict[str, list[float]] = {}
    fails: dict[str, list[str]] = {}
    pending: dict[str, int] = {}
    for c in candidates:
        key = dumps(c.suggestion)
        rs = [latest.get((c.config_id, s)) for s in cfg.seeds]
        rs = [r if r is not None and r.suggestion_key == key else None for r in rs]
        scores[c.config_id] = [r.score for r in rs if r is not None and r.status == SUCCESS]  # type: ignore[misc]
        fails[c.config_id] = [f"seed {r.seed}: {r.reason}" for r in rs if r is not None and r.status == FAILED]
        pending[c.config_id] = sum(1 for r in rs if r is None or r.status == INTERRUPTED)
    base = scores.get(BASELINE, [])
    tests = {c.config_id: stats.welch_t_test(scores[c.config_id], base) for c in candidates if c.config_id != BASELINE}
    adjusted = dict(zip(tests, stats.holm([t.p for t in tests.values()]), strict=True))
    out = []
    summaries = [
        stats.summarize(scores[c.config_id], make_rng(derive_seed(bootstrap_seed, i))) for i, c in enumerate(candidates)
    ]
    base_s = next((s for c, s in zip(candidates, summaries, strict=True) if c.config_id == BASELINE), None)
    base_ci = (base_s.ci_low, base_s.ci_high) if base_s is not None else (math.nan, math.nan)
    for c, s in zip(candidates, summaries, strict=True):
        xs = scores[c.config_id]
        extra: dict[str, Any] = {}
        if c.config_id != BASELINE:
            delta = s.mean - stats.mean(base) if xs and base else math.nan
            t = tests[c.config_id]
            sd = stats.pooled_std(xs, base)
            extra = {
                "delta": delta,
                "p": t.p,
                "p_holm": adjusted[c.config_id],
                "cohens_d": stats.cohens_d(xs, base),
                "detectable": stats.min_detectable_difference(sd, len(xs), len(base), cfg.alpha),
                "seeds_for_delta": stats.seeds_needed(delta, sd, cfg.alpha),
                "verdict": stats.verdict(delta, t.p, cfg.alpha, cfg.goal),
                **stats.seed_plan_criteria(s.mean, s.std, (s.ci_low, s.ci_high), c.sweep_score, base_ci, cfg.goal),
            }
        out.append(
            ConfigReport(
                c.config_id,
                c.suggestion,
                c.sweep_score,
                s.n,
                len(fails[c.config_id]),
                pending[c.config_id],
                s.mean,
                s.std,
                s.ci_low,
                s.ci_high,
                failures=tuple(fails[c.config_id]),
                **extra,
            )
        )
    return out


def _g(v: float | None, spec: str = ".4g") -> str:
    return "-" if v is None or not math.isfinite(v) else format(v, spec)


def _criteria(r: ConfigReport) -> str:
    if r.config_id == BASELINE:
        return ""
    return f"90%:{r.keeps_90pct} std:{r.std_below_15pct} ci:{r.ci_separate}"


def format_report(cfg: ValidationConfig, reports: Sequence[ConfigReport]) -> str:
    """The human table: n, mean ± std, 95% CI, delta vs baseline, p, verdict per configuration."""
    head = (
        f"sweep {cfg.sweep_name}: {cfg.metric} ({cfg.goal}) on suite {cfg.sim_name}, seeds "
        f"{','.join(map(str, cfg.seeds))}, Welch t-test vs baseline at alpha {cfg.alpha}"
    )
    rows = [("config", "n", "fail", "mean ± std", "95% CI", "delta", "p", "p_holm", "d", "verdict", "criteria")]
    for r in reports:
        rows.append(
            (
                r.config_id,
                str(r.n),
                str(r.n_failed),
                f"{_g(r.mean)} ± {_g(r.std)}",
                f"[{_g(r.ci_low)}, {_g(r.ci_high)}]",
                _g(r.delta, "+.4g"),
                _g(r.p, ".3g"),
                _g(r.p_holm, ".3g"),
                _g(r.cohens_d, ".2f"),
                r.verdict or ("(reference)" if r.config_id == BASELINE else ""),
                _criteria(r),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    head += "\ncriteria: >=90% of own sweep score / std < 15% of mean / 95% CI apart from the baseline's"
    lines = [head, ""] + ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    for r in reports:
        notes = []
        if r.config_id != BASELINE:
            params = ", ".join(
                f"{k}={_g(v, '.4g') if isinstance(v, float) else v}" for k, v in flatten(r.suggestion).items()
            )
            notes.append(f"  {r.config_id}: sweep score {_g(r.sweep_score)}; {params}")
        if r.config_id != BASELINE and r.verdict == stats.VERDICT_SAME and math.isfinite(r.detectable):
            need = f"~{r.seeds_for_delta}" if r.seeds_for_delta else "more than 1000"
            notes.append(
                f"    {r.config_id}: these seeds resolve differences of {_g(r.detectable)} or more (80% power); "
                f"telling the observed {_g(r.delta, '+.3g')} apart needs {need} seeds per configuration"
            )
        if r.n < 2:
            notes.append(f"    {r.config_id}: {r.n} successful run(s); a t-test needs at least 2 per configuration")
        if r.seeds_pending:
            notes.append(f"    {r.seeds_pending} seed(s) not run yet")
        notes.extend(f"    failed {f}" for f in r.failures)
        lines.extend(notes)
    return "\n".join(lines)
