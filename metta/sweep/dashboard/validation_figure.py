"""The validation chart: per configuration the mean with its 95% CI and each seed's score, beside the baseline."""

from __future__ import annotations

import math
from typing import Any

from metta.sweep.dashboard.figures import _GRID, BLUE, GREEN, GREY, RED, Figure, _empty, _layout
from metta.sweep.dashboard.validation_view import ConfigView, ValidationView


def _seed_trace(configs: list[ConfigView]) -> dict[str, Any]:
    sx, sy, st = [], [], []
    for c in configs:
        for s in c.seeds:
            if s.score is not None:
                sx.append(c.config_id)
                sy.append(s.score)
                st.append(f"seed {s.seed}")
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "seed scores",
        "x": sx,
        "y": sy,
        "text": st,
        "marker": {"size": 7, "color": "rgba(31,119,180,0.5)"},
        "hovertemplate": "%{x} %{text}: %{y:.4g}<extra></extra>",
    }


def validation_figure(view: ValidationView) -> Figure:
    """Means with 95% CI error bars (green: every criterion passed, red: one failed, blue: pending; the baseline
    grey with a dashed line at its mean) and each seed's score."""
    configs = list(view.configs)
    if not configs:
        return _empty("Validation", "no validation results yet")
    fin = math.isfinite
    colors = [GREY if c.is_baseline else GREEN if c.passed else RED if c.passed is False else BLUE for c in configs]
    means = {
        "type": "scatter",
        "mode": "markers",
        "name": "mean ± 95% CI",
        "x": [c.config_id for c in configs],
        "y": [c.mean if fin(c.mean) else None for c in configs],
        "marker": {"size": 14, "color": colors, "symbol": "diamond"},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": [c.ci_high - c.mean if fin(c.ci_high) and fin(c.mean) else 0 for c in configs],
            "arrayminus": [c.mean - c.ci_low if fin(c.ci_low) and fin(c.mean) else 0 for c in configs],
            "thickness": 2,
        },
        "hovertemplate": "%{x}<br>mean %{y:.4g}<extra></extra>",
    }
    shapes = []
    base = view.baseline
    if base is not None and fin(base.mean):
        line = {"color": GREY, "dash": "dash"}
        shapes.append(
            {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": base.mean, "y1": base.mean, "line": line}
        )
    layout = _layout(
        f"Validation: {view.metric} per configuration",
        shapes=shapes,
        xaxis={"type": "category", **_GRID},
        yaxis={"title": {"text": view.metric}, **_GRID},
    )
    return {"data": [means, _seed_trace(configs)], "layout": layout}
