"""The dashboard's data model: one :class:`RunRow` per observation and a :class:`Snapshot` of a whole sweep, plus the
pure numbers the page shows (summary, filters, Pareto front, moving average, phase spans).

Everything here is plain Python/numpy on a list of store observations; nothing imports plotly or dash.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from metta.common.errors import MettaError
from metta.sweep.optim.config import flatten
from metta.sweep.optim.pareto import pareto_front
from metta.sweep.phases import PhaseConfig, select_phase
from metta.sweep.store import Observation, Trial

LOG_DISTRIBUTIONS = ("log_normal", "uniform_pow2")
_RUN_NUMBER = re.compile(r"\.r\.(\d+)$")


@dataclass(frozen=True)
class RunRow:
    """One observation as the dashboard shows it (``score`` is None for a failure)."""

    seq: int
    trial: int
    run_id: str | None
    score: float | None
    is_failure: bool
    cost: float
    params: dict[str, Any]
    reason: str = ""
    created_at: float = 0.0
    phase: str = "base"
    worker: str = ""

    @cached_property
    def ok(self) -> bool:
        """A success with a score (computed once; the figures ask often)."""
        return not self.is_failure and self.score is not None


@dataclass(frozen=True)
class PhaseSpan:
    """A phase and the trial indices it covers, ``[start, end)`` (``end`` None: still open)."""

    name: str
    start: int
    end: int | None


@dataclass(frozen=True)
class Snapshot:
    """Everything the page needs about one sweep at one moment."""

    sweep_name: str
    metric: str
    goal: str
    rows: tuple[RunRow, ...]
    distributions: dict[str, str] = field(default_factory=dict)
    phases: tuple[PhaseSpan, ...] = ()
    current_phase: str = "base"
    running: tuple[str, ...] = ()
    source: str = ""
    sweep_dir: str | None = None
    validation: Any = None
    loaded_at: float = 0.0

    @property
    def maximize(self) -> bool:
        return self.goal != "minimize"

    @property
    def param_names(self) -> list[str]:
        """Every swept parameter that appears in a row, in the config's order first."""
        present: dict[str, None] = {}
        for r in self.rows:
            present.update(dict.fromkeys(r.params))
        ordered = [k for k in self.distributions if k in present]
        return ordered + [k for k in present if k not in self.distributions]

    def successes(self) -> list[RunRow]:
        return [r for r in self.rows if r.ok]


def run_number(run_id: str | None) -> int | None:
    """``n`` of a ``<sweep>.r.<n>`` run id (None for other ids and rejected suggestions)."""
    m = _RUN_NUMBER.search(run_id or "")
    return int(m.group(1)) if m else None


def build_rows(
    observations: Iterable[Observation], phases: Sequence[PhaseConfig] = (), trials: Iterable[Trial] = ()
) -> list[RunRow]:
    """Rows in recording order (oldest first). The phase of a launched trial comes from its run number (the launched
    count the sweep loop saw when it started it; a rejected suggestion takes the count launched before it); the
    worker comes from the trial table when the store has it."""
    workers = {t.run_id: t.worker for t in trials}
    ordered = sorted(observations, key=lambda o: (o.seq, o.created_at))
    rows = []
    launched = 0
    for i, o in enumerate(ordered):
        n = run_number(o.run_id)
        index = n if n is not None else launched
        phase_idx = select_phase(phases, index) if phases else None
        phase = phases[phase_idx].name if phase_idx is not None else "base"
        if o.run_id:
            launched += 1
        score = None if o.is_failure or o.objective is None or not math.isfinite(o.objective) else float(o.objective)
        rows.append(
            RunRow(
                seq=o.seq,
                trial=i,
                run_id=o.run_id,
                score=score,
                is_failure=score is None,
                cost=float(o.cost),
                params=flatten(o.suggestion),
                reason=o.reason,
                created_at=o.created_at,
                phase=phase,
                worker=workers.get(o.run_id or "", ""),
            )
        )
    return rows


def phase_spans(rows: Sequence[RunRow]) -> list[PhaseSpan]:
    """Contiguous runs of the same phase along the trial axis (boundaries drawn on the progression charts)."""
    spans: list[PhaseSpan] = []
    for r in rows:
        if spans and spans[-1].name == r.phase:
            continue
        if spans:
            spans[-1] = PhaseSpan(spans[-1].name, spans[-1].start, r.trial)
        spans.append(PhaseSpan(r.phase, r.trial, None))
    return spans


def best_row(rows: Sequence[RunRow], maximize: bool = True) -> RunRow | None:
    """The best successful row (ties: cheaper, then older), as ``best_params.rank_observations`` ranks them."""
    ok = [r for r in rows if r.ok]
    if not ok:
        return None
    sign = -1.0 if maximize else 1.0
    return min(ok, key=lambda r: (sign * float(r.score), r.cost, r.seq))  # type: ignore[arg-type]


def pareto_rows(rows: Sequence[RunRow], maximize: bool = True) -> list[RunRow]:
    """Successful rows on the (score, cost) Pareto front, cheapest first."""
    ok = [r for r in rows if r.ok]
    if not ok:
        return []
    idx = pareto_front(np.array([r.score for r in ok]), np.array([r.cost for r in ok]), maximize=maximize)
    return [ok[i] for i in idx]


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values (the first entries average what exists so far)."""
    if window < 1:
        raise MettaError(f"moving-average window {window} must be >= 1")
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return a
    c = np.concatenate([[0.0], np.cumsum(a)])
    idx = np.arange(1, a.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def best_so_far(values: Sequence[float], maximize: bool = True) -> np.ndarray:
    """Running best score."""
    a = np.asarray(values, dtype=float)
    return np.maximum.accumulate(a) if maximize else np.minimum.accumulate(a)


def default_window(n: int) -> int:
    """Moving-average window: about a tenth of the trials, between 3 and 50."""
    return int(min(50, max(3, round(n / 10))))


@dataclass(frozen=True)
class Summary:
    """The numbers of the summary cards."""

    runs: int
    successes: int
    failures: int
    running: int
    best_score: float | None
    best_run: str | None
    total_cost_s: float
    total_cost_money: float | None
    avg_runtime_s: float | None
    current_phase: str


def summarize(snap: Snapshot, hourly_cost: float | None = None) -> Summary:
    """Counts, best run, total and mean cost (seconds; money when ``hourly_cost`` per hour is given)."""
    rows = snap.rows
    launched = [r for r in rows if r.run_id]
    best = best_row(rows, snap.maximize)
    total = float(sum(r.cost for r in rows))
    money = None if hourly_cost is None else total / 3600.0 * float(hourly_cost)
    avg = float(np.mean([r.cost for r in launched])) if launched else None
    return Summary(
        len(rows),
        sum(r.ok for r in rows),
        sum(not r.ok for r in rows),
        len(snap.running),
        None if best is None else best.score,
        None if best is None else (best.run_id or f"seq{best.seq}"),
        total,
        money,
        avg,
        snap.current_phase,
    )


def value_range(values: Iterable[float | None]) -> tuple[float, float]:
    """(min, max) of the finite values rounded outwards to a hundredth of the span's order of magnitude (so slider
    bounds read well and still contain every value); (0, 1) without values; widened when all are equal."""
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return 0.0, 1.0
    lo, hi = min(xs), max(xs)
    if lo == hi:
        pad = abs(lo) * 0.01 or 1.0
        lo, hi = lo - pad, hi + pad
    q_exp = math.floor(math.log10(hi - lo)) - 2
    q = 10.0**q_exp
    digits = max(0, -q_exp)
    return round(math.floor(lo / q) * q, digits), round(math.ceil(hi / q) * q, digits)


def filter_rows(
    rows: Sequence[RunRow], score_range: Sequence[float] | None = None, cost_range: Sequence[float] | None = None
) -> list[RunRow]:
    """Rows inside the slider ranges (inclusive). Failures have no score: the score range does not hide them, the
    cost range does."""
    out = []
    for r in rows:
        if cost_range is not None and not (cost_range[0] <= r.cost <= cost_range[1]):
            continue
        if score_range is not None and r.ok and not (score_range[0] <= r.score <= score_range[1]):  # type: ignore
            continue
        out.append(r)
    return out


def numeric_matrix(rows: Sequence[RunRow], names: Sequence[str], distributions: Mapping[str, str]) -> np.ndarray:
    """(n_rows, n_params) matrix of parameter values, log10 for log-distributed parameters; NaN where missing or
    not numeric (categorical values are coded by their order of appearance)."""
    out = np.full((len(rows), len(names)), np.nan)
    for j, name in enumerate(names):
        codes: dict[str, int] = {}
        log = distributions.get(name) in LOG_DISTRIBUTIONS
        for i, r in enumerate(rows):
            v = r.params.get(name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                if v is not None:
                    out[i, j] = codes.setdefault(repr(v), len(codes))
                continue
            if log and v > 0:
                out[i, j] = math.log10(v)
            elif not log:
                out[i, j] = float(v)
    return out


def open_range(value: Sequence[float] | None, lo: float, hi: float) -> list[float] | None:
    """A slider value with ends at the slider's bounds read as unbounded (new runs past the old range stay in)."""
    if not value:
        return None
    a, b = float(value[0]), float(value[1])
    return [-float("inf") if a <= lo else a, float("inf") if b >= hi else b]
