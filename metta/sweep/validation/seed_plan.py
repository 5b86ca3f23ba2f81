"""The two-phase seed-validation plan: phase 1 re-trains the sweep's top 5 configurations (and the baseline) with
10 seeds; phase 2 re-trains the 3 best of phase 1 (by validated mean) with 20 seeds. Phase 2 reuses phase 1's
runs (results are keyed by configuration and seed), so it only adds seeds 11-20, and both phases resume."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from metta.common.errors import SweepError
from metta.sweep.validation.config import BASELINE, ValidationConfig
from metta.sweep.validation.plan import Candidate
from metta.sweep.validation.report import ConfigReport, build_report
from metta.sweep.validation.resume import ResultLog


@dataclass(frozen=True)
class Phase:
    """One phase: how many configurations (besides the baseline) and which seeds."""

    name: str
    top_n: int
    seeds: tuple[int, ...]


SEED_PLAN = (Phase("phase 1", 5, tuple(range(1, 11))), Phase("phase 2", 3, tuple(range(1, 21))))
PLANS = {"seed000": SEED_PLAN}


def plan_phases(name: str) -> tuple[Phase, ...]:
    """The phases of a named plan (raises naming the known plans)."""
    if name not in PLANS:
        raise SweepError(f"unknown validation plan {name!r}; known: {', '.join(sorted(PLANS))}")
    return PLANS[name]


def promote(
    candidates: Sequence[Candidate], reports: Sequence[ConfigReport], k: int, goal: str = "maximize"
) -> list[Candidate]:
    """Baseline plus the ``k`` candidates with the best validated mean of the previous phase.

    Raises when a candidate has no successful run yet (the previous phase is incomplete), so a promotion is never
    decided on missing data."""
    by_id = {r.config_id: r for r in reports}
    rest = [c for c in candidates if c.config_id != BASELINE]
    missing = [c.config_id for c in rest if c.config_id not in by_id or not math.isfinite(by_id[c.config_id].mean)]
    if missing:
        raise SweepError(f"cannot pick the next phase: no successful validation run yet for {missing}")
    sign = -1.0 if goal == "maximize" else 1.0
    best = sorted(rest, key=lambda c: sign * by_id[c.config_id].mean)[:k]
    base = [c for c in candidates if c.config_id == BASELINE]
    return base + best


@dataclass(frozen=True)
class PhaseResult:
    """What one phase validated and its report (``stopped``: why the phase could not start, else empty)."""

    phase: Phase
    cfg: ValidationConfig
    candidates: tuple[Candidate, ...]
    reports: tuple[ConfigReport, ...]
    stopped: str = ""


def run_phases(
    phases: Sequence[Phase],
    cfg: ValidationConfig,
    candidates: Sequence[Candidate],
    execute: Callable[[ValidationConfig, list[Candidate]], None],
) -> list[PhaseResult]:
    """Run each phase in order: ``execute(phase_cfg, candidates)`` (runs, or just prints, the pairs), then the
    report from the results file; the next phase validates the best of this one. ``candidates`` are the sweep's best
    first (baseline included), at least as many as the first phase needs."""
    out: list[PhaseResult] = []
    cands = list(candidates)
    for i, phase in enumerate(phases):
        pcfg = cfg.model_copy(update={"seeds": phase.seeds, "top_n": phase.top_n})
        if i == 0:
            base = [c for c in cands if c.config_id == BASELINE]
            cands = base + [c for c in cands if c.config_id != BASELINE][: phase.top_n]
        else:
            try:
                cands = promote(cands, out[-1].reports, phase.top_n, cfg.goal)
            except SweepError as exc:
                out.append(PhaseResult(phase, pcfg, tuple(cands), (), str(exc)))
                break
        execute(pcfg, cands)
        reports = build_report(pcfg, cands, ResultLog(pcfg.results_path, lambda s: None).load())
        out.append(PhaseResult(phase, pcfg, tuple(cands), tuple(reports)))
    return out
