"""One pure function that turns a :class:`Snapshot` and the filter ranges into everything the page shows: the
summary, every figure, the runs table, the best runs and the validation view. Both the live app and the HTML export
use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metta.sweep.dashboard import figures, tables
from metta.sweep.dashboard.importance import Importance, parameter_importance
from metta.sweep.dashboard.model import RunRow, Snapshot, Summary, filter_rows, summarize
from metta.sweep.dashboard.validation_figure import validation_figure

FIGURE_IDS = ("cost-score", "progress-trial", "progress-cost", "importance", "distributions", "scatter-grid")


@dataclass(frozen=True)
class Page:
    """The built page: summary, figures by id, the runs table, best runs, importance and the filtered rows."""

    summary: Summary
    figures: dict[str, dict[str, Any]]
    table: tuple[list[dict[str, Any]], list[dict[str, str]]]
    best: list[RunRow]
    importance: list[Importance]
    shown: int
    total: int
    validation_figure: dict[str, Any] | None = None
    validation_table: tuple[list[dict[str, Any]], list[dict[str, str]]] | None = None


def build_page(
    snap: Snapshot,
    score_range: Sequence[float] | None = None,
    cost_range: Sequence[float] | None = None,
    hourly_cost: float | None = None,
    seed: int = 0,
) -> Page:
    """Everything shown for ``snap`` with rows filtered to the slider ranges (the summary covers the whole sweep)."""
    rows = filter_rows(snap.rows, score_range, cost_range)
    names = snap.param_names
    imp = parameter_importance(rows, names, snap.distributions, np.random.default_rng(seed))
    m, mx = snap.metric, snap.maximize
    figs = {
        "cost-score": figures.cost_score_figure(rows, mx, m),
        "progress-trial": figures.progression_figure(rows, snap.phases, mx, "trial", metric=m),
        "progress-cost": figures.progression_figure(rows, snap.phases, mx, "cost", metric=m),
        "importance": figures.importance_figure(imp),
        "distributions": figures.distributions_figure(rows, m),
        "scatter-grid": figures.scatter_grid_figure(rows, names, snap.distributions, m),
    }
    vfig = vtab = None
    if snap.validation is not None:
        vfig = validation_figure(snap.validation)
        vtab = tables.validation_table(snap.validation)
    return Page(
        summarize(snap, hourly_cost),
        figs,
        tables.runs_table(rows, names),
        tables.best_runs(rows, mx),
        imp,
        len(rows),
        len(snap.rows),
        vfig,
        vtab,
    )


def summary_cards(s: Summary, metric: str) -> list[tuple[str, str, str]]:
    """(title, value, note) of each summary card."""
    money = (
        f"{s.total_cost_money:,.2f} (at the given hourly cost)"
        if s.total_cost_money is not None
        else "pass --hourly-cost for money"
    )
    best = "-" if s.best_score is None else f"{s.best_score:.5g}"
    avg = "-" if s.avg_runtime_s is None else f"{s.avg_runtime_s:,.1f} s"
    return [
        ("Runs", f"{s.runs}", f"{s.running} running now"),
        ("Successes / failures", f"{s.successes} / {s.failures}", "failures keep their reason"),
        (f"Best {metric}", best, f"run {s.best_run or '-'}"),
        ("Total cost", f"{s.total_cost_s:,.0f} s", money),
        ("Average runtime", avg, "per launched trial"),
        ("Current phase", s.current_phase, "from launched trials"),
    ]
