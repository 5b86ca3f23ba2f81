"""The Dash application of the sweep dashboard (the only module that imports dash).

All data comes from a ``loader()`` returning a fresh :class:`Snapshot`; the server keeps the newest one and reloads it
at most once per refresh interval, so moving a slider only rebuilds figures. Dash's and plotly's JavaScript and the
page's CSS are served by this server (no CDN), so the page works offline.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from metta.sweep.dashboard.model import Snapshot, open_range, value_range
from metta.sweep.dashboard.page import FIGURE_IDS, build_page, summary_cards
from metta.sweep.dashboard.source import run_details
from metta.sweep.dashboard.tables import runs_csv

ASSETS = Path(__file__).resolve().parent / "assets"
CLICKABLE = ("cost-score", "progress-trial", "progress-cost", "scatter-grid")


class SnapshotCache:
    """The newest snapshot; ``get()`` reloads when it is older than ``max_age`` seconds (thread-safe)."""

    def __init__(self, loader: Callable[[], Snapshot], max_age: float) -> None:
        self.loader, self.max_age = loader, max_age
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._at = 0.0

    def get(self, force: bool = False) -> Snapshot:
        with self._lock:
            if force or self._snap is None or time.monotonic() - self._at > self.max_age:
                self._snap = self.loader()
                self._at = time.monotonic()
            return self._snap


def _cards(snap: Snapshot, hourly_cost: float | None, page_summary: Any) -> list[Any]:
    from dash import html

    return [
        html.Div(
            [
                html.Div(t, className="card-title"),
                html.Div(v, className="card-value"),
                html.Div(n, className="card-note"),
            ],
            className="card",
            id=f"card-{i}",
        )
        for i, (t, v, n) in enumerate(summary_cards(page_summary, snap.metric))
    ]


def _graph(gid: str, sweep: str, height: int = 380) -> Any:
    from dash import dcc

    return dcc.Graph(
        id=gid,
        style={"height": f"{height}px"} if gid != "scatter-grid" else {},
        config={
            "displaylogo": False,
            "toImageButtonOptions": {"format": "png", "filename": f"{sweep}_{gid}", "scale": 2},
        },
    )


def _table(tid: str, page_size: int = 15) -> Any:
    import warnings

    from dash import dash_table

    with warnings.catch_warnings():  # DataTable works in dash 4; its future removal is announced on every use
        warnings.filterwarnings(
            "ignore", message=r"\s*The dash_table.DataTable will be removed", category=DeprecationWarning
        )
        return dash_table.DataTable(  # type: ignore[attr-defined]
            id=tid,
            page_size=page_size,
            sort_action="native",
            filter_action="native",
            export_format="csv",
            style_table={"overflowX": "auto"},
            style_cell={
                "fontFamily": "inherit",
                "fontSize": 12,
                "padding": "4px",
                "maxWidth": 260,
                "overflow": "hidden",
                "textOverflow": "ellipsis",
            },
            style_header={"fontWeight": "bold", "backgroundColor": "#f0f0f0"},
        )


def _slider(sid: str, label: str, lo: float, hi: float) -> Any:
    from dash import dcc, html

    return html.Div(
        [
            html.Label(label, htmlFor=sid),
            dcc.RangeSlider(
                id=sid,
                min=lo,
                max=hi,
                value=[lo, hi],
                step=(hi - lo) / 200 or None,
                marks=None,
                allow_direct_input=True,
                tooltip={"placement": "bottom", "always_visible": False},
                updatemode="mouseup",
            ),
        ],
        className="slider",
    )


def layout(snap: Snapshot, refresh_s: float) -> Any:
    from dash import dcc, html

    s_lo, s_hi = value_range(r.score for r in snap.rows)
    c_lo, c_hi = value_range(r.cost for r in snap.rows)
    g = lambda gid, h=380: _graph(gid, snap.sweep_name, h)  # noqa: E731
    return html.Div(
        [
            html.H1(f"Sweep {snap.sweep_name}"),
            html.Div(id="subtitle", className="subtitle"),
            html.Div(id="cards", className="cards"),
            html.Div(
                [
                    _slider("score-range", f"{snap.metric} range", s_lo, s_hi),
                    _slider("cost-range", "cost range (s)", c_lo, c_hi),
                    html.Div(id="filter-note", className="note"),
                    html.Button("Reload now", id="reload", className="button"),
                ],
                className="controls",
            ),
            html.Div(
                [
                    html.Div(g("cost-score", 420), className="wide"),
                    html.Div(
                        [
                            html.H3("Run details"),
                            html.Div(
                                "Click any point (or a table row) to see its run.", id="details", className="details"
                            ),
                        ],
                        className="narrow panel",
                    ),
                ],
                className="row",
            ),
            html.Div(
                [html.Div(g("progress-trial"), className="half"), html.Div(g("progress-cost"), className="half")],
                className="row",
            ),
            html.Div(
                [html.Div(g("importance"), className="half"), html.Div(g("distributions"), className="half")],
                className="row",
            ),
            html.Div(g("scatter-grid"), className="row"),
            html.H2("Best runs"),
            html.Div(id="best-runs"),
            html.H2("All runs"),
            html.Div(
                [html.Button("Download CSV", id="csv-button", className="button"), dcc.Download(id="csv-download")]
            ),
            _table("runs-table"),
            html.H2("Validation"),
            html.Div(id="validation-progress", className="note"),
            _graph("validation-figure", snap.sweep_name, 380),
            _table("validation-table", 20),
            dcc.Interval(id="refresh", interval=max(refresh_s, 0.5) * 1000, disabled=refresh_s <= 0),
        ],
        className="page",
    )


def _best_list(page: Any, metric: str) -> Any:
    from dash import html

    if not page.best:
        return html.Div("no successful runs in the selected ranges", className="note")
    items = []
    for i, r in enumerate(page.best, 1):
        params = ", ".join(
            f"{k.rsplit('.', 1)[-1]}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.params.items()
        )
        items.append(html.Li(f"#{i} {r.run_id}: {metric}={r.score:.5g}, cost={r.cost:.1f}s; {params}"))
    return html.Ol(items)


def _details(d: dict[str, Any]) -> Any:
    from dash import html

    head = [
        "run_id",
        "status",
        "score",
        "cost_s",
        "seed",
        "phase",
        "trial",
        "worker",
        "failure_reason",
        "recorded_at",
        "log_path",
        "checkpoint_dir",
        "note",
    ]
    rows = [html.Tr([html.Th(k), html.Td(str(d[k]))]) for k in head if k in d]
    rest = {k: v for k, v in d.items() if k not in head}
    return html.Div([html.Table(rows, className="kv"), html.Pre(json.dumps(rest, indent=2, default=str))])


def _validation_outputs(snap: Snapshot, page: Any) -> tuple[Any, Any, Any, Any]:
    from metta.sweep.dashboard.figures import _empty

    v = snap.validation
    if v is None:
        msg = (
            "no validation results yet: ./tools/validate_sweep.py sweep_name="
            + snap.sweep_name
            + " writes them (this view updates while it runs)"
        )
        return msg, _empty("Validation", "no validation results"), [], []
    when = time.strftime("%H:%M:%S", time.localtime(v.last_result_at)) if v.last_result_at else "-"
    pct = 100.0 * v.done / v.total if v.total else 0.0
    msg = (
        f"{v.done} of {v.total} runs done ({pct:.0f}%) over seeds {', '.join(map(str, v.seeds))}; newest result "
        f"at {when}; {v.results_path}" + ("; " + "; ".join(v.notes) if v.notes else "")
    )
    records, cols = page.validation_table
    return msg, page.validation_figure, records, cols


def create_app(
    loader: Callable[[], Snapshot],
    *,
    hourly_cost: float | None = None,
    refresh_s: float = 10.0,
    title: str = "Sweep dashboard",
) -> Any:
    """Build the Dash app; ``loader`` is called (at most once per ``refresh_s``) to read the sweep."""
    from dash import Dash

    cache = SnapshotCache(loader, max(refresh_s * 0.9, 0.2) if refresh_s > 0 else float("inf"))
    first = cache.get()
    app = Dash(
        __name__,
        title=title,
        assets_folder=str(ASSETS),
        serve_locally=True,
        update_title=None,  # type: ignore[arg-type]
    )
    app.layout = lambda: layout(cache.get(), refresh_s)
    _register_bounds(app, cache)
    _register_page(app, cache, hourly_cost, refresh_s)
    _register_details_and_csv(app, cache, hourly_cost)
    app._metta_first_snapshot = first  # type: ignore[attr-defined]  # what was loaded at start (for bench)
    return app


def _register_bounds(app: Any, cache: SnapshotCache) -> None:
    """On refresh (or "Reload now"): new slider bounds; a slider at its old ends follows, a narrowed one stays."""
    from dash import Input, Output, State, ctx, no_update

    @app.callback(
        Output("score-range", "min"),
        Output("score-range", "max"),
        Output("score-range", "value"),
        Output("cost-range", "min"),
        Output("cost-range", "max"),
        Output("cost-range", "value"),
        Input("refresh", "n_intervals"),
        Input("reload", "n_clicks"),
        State("score-range", "value"),
        State("score-range", "min"),
        State("score-range", "max"),
        State("cost-range", "value"),
        State("cost-range", "min"),
        State("cost-range", "max"),
        prevent_initial_call=True,
    )
    def _bounds(_n: Any, _c: Any, sv: Any, smin: Any, smax: Any, cv: Any, cmin: Any, cmax: Any) -> tuple:
        snap = cache.get(force=ctx.triggered_id == "reload")
        out: list[Any] = []
        for vals, value, lo, hi in (
            ([r.score for r in snap.rows], sv, smin, smax),
            ([r.cost for r in snap.rows], cv, cmin, cmax),
        ):
            nlo, nhi = value_range(vals)
            v = value or [lo, hi]
            new = [nlo if v[0] <= lo else max(v[0], nlo), nhi if v[1] >= hi else min(v[1], nhi)]
            out += [nlo, nhi, new if (nlo, nhi) != (lo, hi) else no_update]
        return tuple(out)


def _register_page(app: Any, cache: SnapshotCache, hourly_cost: float | None, refresh_s: float) -> None:
    """Sliders or refresh: rebuild the cards, every figure, the tables and the validation view."""
    from dash import Input, Output, State

    outputs = [Output("subtitle", "children"), Output("cards", "children"), Output("filter-note", "children")]
    outputs += [Output(g, "figure") for g in FIGURE_IDS]
    outputs += [
        Output("runs-table", "data"),
        Output("runs-table", "columns"),
        Output("best-runs", "children"),
        Output("validation-progress", "children"),
        Output("validation-figure", "figure"),
        Output("validation-table", "data"),
        Output("validation-table", "columns"),
    ]

    @app.callback(
        *outputs,
        Input("score-range", "value"),
        Input("cost-range", "value"),
        Input("refresh", "n_intervals"),
        State("score-range", "min"),
        State("score-range", "max"),
        State("cost-range", "min"),
        State("cost-range", "max"),
    )
    def _page(sv: Any, cv: Any, _n: Any, smin: Any, smax: Any, cmin: Any, cmax: Any) -> tuple:
        snap = cache.get()
        page = build_page(snap, open_range(sv, smin, smax), open_range(cv, cmin, cmax), hourly_cost)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snap.loaded_at))
        sub = f"{snap.metric} ({snap.goal}) from {snap.source}; loaded {when}" + (
            f"; refreshes every {refresh_s:g}s" if refresh_s > 0 else ""
        )
        note = f"showing {page.shown} of {page.total} observations"
        records, cols = page.table
        return (
            sub,
            _cards(snap, hourly_cost, page.summary),
            note,
            *[page.figures[g] for g in FIGURE_IDS],
            records,
            cols,
            _best_list(page, snap.metric),
            *_validation_outputs(snap, page),
        )


def _register_details_and_csv(app: Any, cache: SnapshotCache, hourly_cost: float | None) -> None:
    """A click on a point or a table cell fills the details panel; the CSV button downloads the filtered runs."""
    from dash import Input, Output, State, ctx, dcc, no_update

    @app.callback(
        Output("details", "children"),
        *[Input(g, "clickData") for g in CLICKABLE],
        Input("runs-table", "active_cell"),
        State("runs-table", "derived_viewport_data"),
        prevent_initial_call=True,
    )
    def _click(*args: Any) -> Any:
        seq = _clicked_seq(ctx.triggered_id, args)
        if seq is None:
            return no_update
        snap = cache.get()
        row = next((r for r in snap.rows if r.seq == seq), None)
        if row is None:
            return f"observation {seq} is no longer loaded (raise --max-observations)"
        return _details(run_details(row, snap.sweep_dir))

    @app.callback(
        Output("csv-download", "data"),
        Input("csv-button", "n_clicks"),
        State("score-range", "value"),
        State("cost-range", "value"),
        State("score-range", "min"),
        State("score-range", "max"),
        State("cost-range", "min"),
        State("cost-range", "max"),
        prevent_initial_call=True,
    )
    def _csv(_n: Any, sv: Any, cv: Any, smin: Any, smax: Any, cmin: Any, cmax: Any) -> Any:
        snap = cache.get()
        page = build_page(snap, open_range(sv, smin, smax), open_range(cv, cmin, cmax), hourly_cost)
        return dcc.send_string(runs_csv(*page.table), f"{snap.sweep_name}_runs.csv")


def _clicked_seq(trigger: Any, args: Sequence[Any]) -> int | None:
    """The observation ``seq`` of whatever was clicked: a point's customdata, or the table row's seq column."""
    if trigger in CLICKABLE:
        data = args[CLICKABLE.index(trigger)] or {}
        points = data.get("points") or []
        if points and points[0].get("customdata") is not None:
            cd = points[0]["customdata"]
            return int(cd[0] if isinstance(cd, list) else cd)
        return None
    cell, viewport = args[len(CLICKABLE)], args[len(CLICKABLE) + 1]
    if cell and viewport and 0 <= cell.get("row", -1) < len(viewport):
        return int(viewport[cell["row"]]["seq"])
    return None
