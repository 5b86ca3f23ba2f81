"""Pure figure builders: rows of a sweep in, plotly figures out.

Figures are returned as plain dicts in plotly's JSON schema (``{"data": [...], "layout": {...}}``): ``dcc.Graph``
renders them directly and ``plotly.graph_objects.Figure(fig)`` accepts them, but building them does not pay for
plotly's per-property validation, which keeps a 5,000-run page fast. Every point carries its observation's ``seq``
in ``customdata`` so a click can show that run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metta.sweep.dashboard.importance import Importance
from metta.sweep.dashboard.model import (
    LOG_DISTRIBUTIONS,
    PhaseSpan,
    RunRow,
    best_row,
    best_so_far,
    default_window,
    moving_average,
    pareto_rows,
)

Figure = dict[str, Any]
BLUE, ORANGE, GREEN, RED, GREY, PURPLE = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f", "#9467bd"
_GRID = {"gridcolor": "#e5e5e5", "zerolinecolor": "#cccccc"}


def _layout(title: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0.02, "font": {"size": 15}},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "hovermode": "closest",
        "clickmode": "event",
        "plot_bgcolor": "#fafafa",
        "paper_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.2},
        "uirevision": "keep",
    }
    base.update(kw)
    return base


def _label(r: RunRow) -> str:
    return r.run_id or f"rejected #{r.seq}"


def _empty(title: str, message: str) -> Figure:
    return {
        "data": [],
        "layout": _layout(
            title,
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[{"text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}],
        ),
    }


def _points(rows: Sequence[RunRow], x: Sequence[Any], y: Sequence[Any], name: str, **marker: Any) -> dict:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": list(x),
        "y": list(y),
        "customdata": [r.seq for r in rows],
        "text": [_label(r) for r in rows],
        "hovertemplate": "%{text}<br>x=%{x:.4g}<br>y=%{y:.4g}<extra></extra>",
        "marker": {"size": 7, **marker},
    }


def cost_score_figure(rows: Sequence[RunRow], maximize: bool = True, metric: str = "score") -> Figure:
    """Cost (s) vs score of every successful run, the Pareto frontier as a step line, the best run as a star and
    failures as red crosses along the bottom."""
    ok = [r for r in rows if r.ok]
    if not ok:
        return _empty("Cost vs score", "no successful runs yet")
    front = pareto_rows(ok, maximize)
    best = best_row(ok, maximize)
    data = [
        _points(
            ok,
            [r.cost for r in ok],
            [r.score for r in ok],
            "runs",
            color=[r.trial for r in ok],
            colorscale="Viridis",
            opacity=0.75,
            colorbar={"title": {"text": "trial"}, "thickness": 12},
        )
    ]
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Pareto frontier",
            "line": {"shape": "hv", "color": ORANGE, "width": 2},
            "marker": {"size": 9, "color": ORANGE, "symbol": "diamond"},
            "x": [r.cost for r in front],
            "y": [r.score for r in front],
            "customdata": [r.seq for r in front],
            "text": [_label(r) for r in front],
            "hovertemplate": "%{text} (Pareto)<br>cost=%{x:.4g}s<br>score=%{y:.4g}<extra></extra>",
        }
    )
    if best is not None:
        data.append(
            _points(
                [best],
                [best.cost],
                [best.score],
                f"best: {_label(best)}",
                color=RED,
                size=18,
                symbol="star",
                line={"color": "black", "width": 1},
            )
        )
    failed = [r for r in rows if not r.ok]
    if failed:
        lo = min(float(r.score) for r in ok)  # type: ignore[arg-type]
        pt = _points(failed, [r.cost for r in failed], [lo] * len(failed), "failed", color=RED, symbol="x")
        pt["hovertemplate"] = "%{text} FAILED<br>cost=%{x:.4g}s<extra></extra>"
        data.append(pt)
    return {
        "data": data,
        "layout": _layout(
            "Cost vs score", xaxis={"title": {"text": "cost (s)"}, **_GRID}, yaxis={"title": {"text": metric}, **_GRID}
        ),
    }


def importance_figure(importances: Sequence[Importance]) -> Figure:
    """Two bar charts: Spearman correlation with the score (signed) and permutation importance."""
    items = [i for i in importances if not (math.isnan(i.correlation) and math.isnan(i.permutation))]
    if not items:
        return _empty("Parameter importance", "needs at least 3 successful runs")
    names = [i.name.rsplit(".", 1)[-1] for i in items][::-1]
    corr = [0.0 if math.isnan(i.correlation) else i.correlation for i in items][::-1]
    perm = [0.0 if math.isnan(i.permutation) else i.permutation for i in items][::-1]
    full = [i.name for i in items][::-1]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "correlation",
                "x": corr,
                "y": names,
                "customdata": full,
                "marker": {"color": [GREEN if c >= 0 else RED for c in corr]},
                "hovertemplate": "%{customdata}<br>Spearman %{x:.3f}<extra></extra>",
            },
            {
                "type": "bar",
                "orientation": "h",
                "name": "permutation importance",
                "x": perm,
                "y": names,
                "customdata": full,
                "xaxis": "x2",
                "yaxis": "y2",
                "marker": {"color": PURPLE},
                "hovertemplate": "%{customdata}<br>share of score variance %{x:.3f}<extra></extra>",
            },
        ],
        "layout": _layout(
            "Parameter importance",
            showlegend=False,
            xaxis={"domain": [0.0, 0.45], "range": [-1, 1], "title": {"text": "Spearman correlation"}, **_GRID},
            xaxis2={
                "domain": [0.55, 1.0],
                "anchor": "y2",
                "rangemode": "tozero",
                "title": {"text": "permutation importance (quadratic model)"},
                **_GRID,
            },
            yaxis={"automargin": True},
            yaxis2={"anchor": "x2", "showticklabels": False},
        ),
    }


def _cumulative_cost(rows: Sequence[RunRow]) -> dict[int, float]:
    total, out = 0.0, {}
    for r in rows:
        total += r.cost
        out[r.seq] = total
    return out


def _phase_marks(
    rows: Sequence[RunRow], spans: Sequence[PhaseSpan], by: str, cum: dict[int, float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A dashed vertical line and a label where each phase starts (nothing for a sweep without phases)."""
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    by_trial = {r.trial: r for r in rows}
    for s in spans if not (len(spans) == 1 and spans[0].name == "base") else ():
        start = by_trial.get(s.start)
        if start is None:
            continue
        x = float(s.start) if by == "trial" else cum[start.seq] - start.cost
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": {"color": GREY, "dash": "dash", "width": 1},
            }
        )
        notes.append(
            {
                "x": x,
                "y": 1.0,
                "xref": "x",
                "yref": "paper",
                "text": s.name,
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"size": 10, "color": GREY},
            }
        )
    return shapes, notes


def progression_figure(
    rows: Sequence[RunRow],
    spans: Sequence[PhaseSpan] = (),
    maximize: bool = True,
    by: str = "trial",
    window: int | None = None,
    metric: str = "score",
) -> Figure:
    """Score by trial (or by cumulative cost): points, a trailing moving average, the best so far, and a dashed
    line where each phase starts. ``rows`` are the recording order of the whole sweep."""
    title = "Score by trial" if by == "trial" else "Score by cumulative cost"
    ok = [r for r in rows if r.ok]
    if not ok:
        return _empty(title, "no successful runs yet")
    cum = _cumulative_cost(rows)
    xs = [float(r.trial) if by == "trial" else cum[r.seq] for r in ok]
    ys = [float(r.score) for r in ok]  # type: ignore[arg-type]
    w = window or default_window(len(ok))
    data = [
        _points(ok, xs, ys, "runs", color=BLUE, opacity=0.6),
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"moving average ({w})",
            "x": xs,
            "y": moving_average(ys, w).tolist(),
            "line": {"color": ORANGE, "width": 2},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "best so far",
            "x": xs,
            "y": best_so_far(ys, maximize).tolist(),
            "line": {"color": GREEN, "shape": "hv", "dash": "dot"},
            "hoverinfo": "skip",
        },
    ]
    shapes, notes = _phase_marks(rows, spans, by, cum)
    xt = "trial" if by == "trial" else "cumulative cost (s)"
    return {
        "data": data,
        "layout": _layout(
            title,
            shapes=shapes,
            annotations=notes,
            xaxis={"title": {"text": xt}, **_GRID},
            yaxis={"title": {"text": metric}, **_GRID},
        ),
    }


def distributions_figure(rows: Sequence[RunRow], metric: str = "score") -> Figure:
    """Histograms of the score (successes) and of the cost (every run), side by side."""
    ok = [r for r in rows if r.ok]
    if not rows:
        return _empty("Distributions", "no runs yet")
    return {
        "data": [
            {"type": "histogram", "name": metric, "x": [r.score for r in ok], "marker": {"color": BLUE}, "nbinsx": 30},
            {
                "type": "histogram",
                "name": "cost (s)",
                "x": [r.cost for r in rows],
                "marker": {"color": ORANGE},
                "xaxis": "x2",
                "yaxis": "y2",
                "nbinsx": 30,
            },
        ],
        "layout": _layout(
            "Distributions",
            bargap=0.05,
            xaxis={"domain": [0.0, 0.46], "title": {"text": metric}, **_GRID},
            xaxis2={"domain": [0.54, 1.0], "anchor": "y2", "title": {"text": "cost (s)"}, **_GRID},
            yaxis={"title": {"text": "runs"}, **_GRID},
            yaxis2={"anchor": "x2", **_GRID},
        ),
    }


def trend_line(
    x: Sequence[float], y: Sequence[float], log_x: bool = False, n: int = 20
) -> tuple[list[float], list[float]] | None:
    """Least-squares line of ``y`` on ``x`` (on log10 x for log axes), sampled at ``n`` points over the x range."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(xa) & np.isfinite(ya) & ((xa > 0) if log_x else True)
    xa, ya = xa[keep], ya[keep]
    u = np.log10(xa) if log_x else xa
    if u.size < 3 or np.ptp(u) == 0:
        return None
    slope, icpt = np.polyfit(u, ya, 1)
    grid = np.linspace(u.min(), u.max(), n)
    return (10**grid if log_x else grid).tolist(), (slope * grid + icpt).tolist()


def scatter_grid_figure(
    rows: Sequence[RunRow],
    names: Sequence[str],
    distributions: Mapping[str, str],
    metric: str = "score",
    ncols: int = 3,
) -> Figure:
    """One scatter of score against each parameter, with a trend line; log x axes for log-distributed parameters."""
    ok = [r for r in rows if r.ok]
    if not ok or not names:
        return _empty("Parameters vs score", "no successful runs yet")
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    gap_x, gap_y = 0.06, 0.5 / max(nrows * 3, 1)
    width, height = (1 - gap_x * (ncols - 1)) / ncols, (1 - gap_y * (nrows - 1)) / nrows
    data, layout = [], _layout("Parameters vs score", showlegend=False, height=max(320, 260 * nrows))
    for k, name in enumerate(names):
        i, j = divmod(k, ncols)
        ax = "" if k == 0 else str(k + 1)
        pts = [r for r in ok if isinstance(r.params.get(name), (int, float))]
        log = distributions.get(name) in LOG_DISTRIBUTIONS
        xs, ys = [float(r.params[name]) for r in pts], [float(r.score) for r in pts]  # type: ignore[arg-type]
        tr = _points(pts, xs, ys, name, color=BLUE, opacity=0.6, size=5)
        tr.update({"xaxis": f"x{ax}", "yaxis": f"y{ax}"})
        data.append(tr)
        line = trend_line(xs, ys, log)
        if line is not None:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": line[0],
                    "y": line[1],
                    "xaxis": f"x{ax}",
                    "yaxis": f"y{ax}",
                    "line": {"color": RED, "width": 2},
                    "hoverinfo": "skip",
                }
            )
        x0 = j * (width + gap_x)
        y1 = 1 - i * (height + gap_y)
        layout[f"xaxis{ax}"] = {
            "domain": [x0, x0 + width],
            "anchor": f"y{ax}",
            "type": "log" if log else "linear",
            "title": {"text": name.rsplit(".", 1)[-1] + (" (log)" if log else ""), "font": {"size": 11}},
            **_GRID,
        }
        layout[f"yaxis{ax}"] = {
            "domain": [max(y1 - height, 0), y1],
            "anchor": f"x{ax}",
            **_GRID,
            "title": {"text": metric if j == 0 else "", "font": {"size": 11}},
        }
    return {"data": data, "layout": layout}
