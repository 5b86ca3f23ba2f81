"""Figure builders on known data: what each figure plots, and that plotly accepts every figure."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from metta.sweep.dashboard import figures
from metta.sweep.dashboard.model import build_rows, phase_spans
from metta.sweep.dashboard.page import FIGURE_IDS, build_page
from metta.sweep.dashboard.source import load_snapshot
from metta.sweep.dashboard.synthetic import CLIP, ENT, LR
from metta.sweep.phases import PhaseConfig
from tests.dashboard.conftest import SWEEP, obs

POINTS = [(1.0, 10.0), (2.0, 20.0), (1.5, 30.0), (3.0, 50.0), (0.5, 5.0), (None, 1.0)]


def _trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if str(t.get("name", "")).startswith(name))


def test_cost_score_marks_the_pareto_front_the_best_run_and_failures():
    rows = build_rows([obs(i, s, c, run=i) for i, (s, c) in enumerate(POINTS)])
    fig = figures.cost_score_figure(rows)
    front = _trace(fig, "Pareto")
    assert list(zip(front["x"], front["y"], strict=True)) == [(5.0, 0.5), (10.0, 1.0), (20.0, 2.0), (50.0, 3.0)]
    best = _trace(fig, "best")
    assert best["customdata"] == [3] and best["marker"]["symbol"] == "star"
    failed = _trace(fig, "failed")
    assert failed["customdata"] == [5] and failed["y"] == [0.5]
    assert sorted(_trace(fig, "runs")["customdata"]) == [0, 1, 2, 3, 4]
    go.Figure(fig)  # plotly validates every property


def test_trend_line_matches_the_closed_form_on_log_axes():
    x = [1e-4, 1e-3, 1e-2]
    y = [3 * math.log10(v) + 1 for v in x]
    xs, ys = figures.trend_line(x, y, log_x=True, n=3)
    np.testing.assert_allclose(xs, x)
    np.testing.assert_allclose(ys, y)
    assert figures.trend_line([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None


def test_scatter_grid_uses_log_axes_for_log_parameters(synthetic_store: str):
    snap = load_snapshot(synthetic_store, SWEEP)
    fig = figures.scatter_grid_figure(snap.rows, snap.param_names, snap.distributions)
    axes = {fig["layout"][k]["title"]["text"]: fig["layout"][k]["type"] for k in fig["layout"] if k.startswith("xaxis")}
    assert axes[LR.rsplit(".", 1)[-1] + " (log)"] == "log"
    assert axes[ENT.rsplit(".", 1)[-1] + " (log)"] == "log"
    assert axes[CLIP.rsplit(".", 1)[-1]] == "linear"
    clip_k = snap.param_names.index(CLIP)
    ax = "" if clip_k == 0 else str(clip_k + 1)
    line = next(t for t in fig["data"] if t.get("mode") == "lines" and t["xaxis"] == f"x{ax}")
    assert line["y"][-1] > line["y"][0]  # the score rises with clip_coef
    go.Figure(fig)


def test_progression_draws_phase_boundaries_moving_average_and_best_so_far():
    phases = [PhaseConfig(name="cheap", num_runs=3), PhaseConfig(name="dear", num_runs=3)]
    rows = build_rows([obs(i, float(i % 4), 2.0, run=i) for i in range(6)], phases)
    fig = figures.progression_figure(rows, phase_spans(rows), by="trial", window=2)
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [0.0, 3.0]
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["cheap", "dear"]
    np.testing.assert_allclose(_trace(fig, "moving")["y"], [0, 0.5, 1.5, 2.5, 1.5, 0.5])
    assert _trace(fig, "best so far")["y"] == [0, 1, 2, 3, 3, 3]
    by_cost = figures.progression_figure(rows, phase_spans(rows), by="cost")
    assert _trace(by_cost, "runs")["x"] == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert [s["x0"] for s in by_cost["layout"]["shapes"]] == [0.0, 6.0]
    go.Figure(fig)


def test_every_page_figure_is_valid_plotly_and_empty_sweeps_say_so(synthetic_store: str):
    page = build_page(load_snapshot(synthetic_store, SWEEP), hourly_cost=1.0)
    for gid in FIGURE_IDS:
        go.Figure(page.figures[gid])
    empty = figures.cost_score_figure([])
    assert "no successful runs" in empty["layout"]["annotations"][0]["text"]


def test_distributions_histogram_every_cost_and_every_score():
    rows = build_rows([obs(i, s, c, run=i) for i, (s, c) in enumerate(POINTS)])
    fig = figures.distributions_figure(rows)
    assert sorted(fig["data"][0]["x"]) == [0.5, 1.0, 1.5, 2.0, 3.0]
    assert sorted(fig["data"][1]["x"]) == sorted(c for _, c in POINTS)
