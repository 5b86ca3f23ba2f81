"""A self-contained HTML report of a sweep (for sharing without a server): summary cards, every figure (plotly.js
inlined once, no CDN), the best runs, the validation table and the runs table."""

from __future__ import annotations

import html
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metta.sweep.dashboard.model import Snapshot
from metta.sweep.dashboard.page import FIGURE_IDS, build_page, summary_cards

_CSS = Path(__file__).resolve().parent / "assets" / "dashboard.css"


def _table_html(records: Sequence[dict[str, Any]], columns: Sequence[dict[str, str]], table_id: str) -> str:
    head = "".join(f"<th>{html.escape(c['name'])}</th>" for c in columns)
    body = []
    for rec in records:
        cells = "".join(
            f"<td>{html.escape('' if rec.get(c['id']) is None else str(rec.get(c['id'])))}</td>" for c in columns
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="report-table" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
        "</tbody></table>"
    )


def _figure_html(fig: dict[str, Any], div_id: str, first: bool) -> str:
    import plotly.io as pio

    return pio.to_html(
        fig,
        include_plotlyjs=True if first else False,
        full_html=False,
        div_id=div_id,
        validate=False,
        config={"displaylogo": False, "toImageButtonOptions": {"format": "png"}},
    )


def report_html(snap: Snapshot, hourly_cost: float | None = None) -> str:
    """The whole report as one HTML string."""
    page = build_page(snap, hourly_cost=hourly_cost)
    cards = "".join(
        f'<div class="card"><div class="card-title">{html.escape(t)}</div><div class="card-value">'
        f'{html.escape(v)}</div><div class="card-note">{html.escape(n)}</div></div>'
        for t, v, n in summary_cards(page.summary, snap.metric)
    )
    figs = [_figure_html(page.figures[g], f"fig-{g}", i == 0) for i, g in enumerate(FIGURE_IDS)]
    best = "".join(
        f"<li>{html.escape(str(r.run_id))}: {html.escape(snap.metric)}={r.score:.5g}, cost="
        f"{r.cost:.1f}s; " + html.escape(", ".join(f"{k}={v}" for k, v in r.params.items())) + "</li>"
        for r in page.best
    )
    parts = [
        f"<h1>Sweep {html.escape(snap.sweep_name)}</h1>",
        f'<div class="subtitle">{html.escape(snap.metric)} ({html.escape(snap.goal)}) from '
        f"{html.escape(snap.source)}; exported {time.strftime('%Y-%m-%d %H:%M:%S')}</div>",
        f'<div class="cards">{cards}</div>',
        f'<h2>Best runs</h2><ol id="best-runs">{best}</ol>',
    ]
    parts += [f'<div class="row"><div style="flex:1">{f}</div></div>' for f in figs]
    if page.validation_figure is not None and page.validation_table is not None:
        v = snap.validation
        parts += [
            f'<h2>Validation</h2><div class="note">{v.done} of {v.total} runs done</div>',
            _figure_html(page.validation_figure, "fig-validation", False),
            _table_html(*page.validation_table, "validation-table"),
        ]
    parts += ["<h2>All runs</h2>", _table_html(*page.table, "runs-table")]
    css = _CSS.read_text() if _CSS.exists() else ""
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sweep {html.escape(snap.sweep_name)}</title>'
        f'<style>{css}</style></head><body><div class="page">{"".join(parts)}</div></body></html>'
    )


def write_report(snap: Snapshot, path: str | Path, hourly_cost: float | None = None) -> Path:
    """Write :func:`report_html` to ``path`` atomically; returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(report_html(snap, hourly_cost), encoding="utf-8")
    os.replace(tmp, out)
    return out
