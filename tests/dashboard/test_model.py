"""Pure data-model functions on hand-made observations with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from metta.sweep.dashboard.model import (
    Snapshot,
    best_row,
    build_rows,
    filter_rows,
    moving_average,
    pareto_rows,
    phase_spans,
    summarize,
    value_range,
)
from metta.sweep.phases import PhaseConfig
from metta.sweep.store import Trial
from tests.dashboard.conftest import SWEEP, obs

# (score, cost): E and A and B and D are the Pareto front; C is dominated by B; F failed.
POINTS = [(1.0, 10.0), (2.0, 20.0), (1.5, 30.0), (3.0, 50.0), (0.5, 5.0), (None, 1.0)]


def _rows():
    return build_rows([obs(i, s, c, run=i, x=float(i)) for i, (s, c) in enumerate(POINTS)])


def test_pareto_front_and_best_run_are_the_known_ones():
    rows = _rows()
    front = pareto_rows(rows)
    assert [(r.score, r.cost) for r in front] == [(0.5, 5.0), (1.0, 10.0), (2.0, 20.0), (3.0, 50.0)]
    assert best_row(rows).run_id == f"{SWEEP}.r.3"
    # minimizing: the lowest score wins; only the cheapest point with the lowest score is on the front
    assert best_row(rows, maximize=False).score == 0.5
    assert [(r.score, r.cost) for r in pareto_rows(rows, maximize=False)] == [(0.5, 5.0)]


def test_best_run_ties_prefer_the_cheaper_then_the_older():
    rows = build_rows([obs(0, 2.0, 9.0, run=0), obs(1, 2.0, 3.0, run=1), obs(2, 2.0, 3.0, run=2)])
    assert best_row(rows).run_id == f"{SWEEP}.r.1"


def test_rows_keep_failures_with_their_reason_and_take_workers_from_trials():
    trials = [Trial(f"{SWEEP}.r.5", SWEEP, {}, "failed", "hostA:12:ab", 0.0, 0.0)]
    rows = build_rows([obs(i, s, c, run=i) for i, (s, c) in enumerate(POINTS)], trials=trials)
    failed = rows[5]
    assert failed.is_failure and failed.score is None and failed.reason == "train crashed"
    assert failed.worker == "hostA:12:ab" and rows[0].worker == ""
    assert [r.trial for r in rows] == list(range(6))


def test_phases_follow_run_numbers_and_spans_mark_the_boundaries():
    phases = [PhaseConfig(name="explore", num_runs=3), PhaseConfig(name="exploit", num_runs=2)]
    observations = [obs(i, 1.0, 1.0, run=i) for i in range(7)]
    observations.insert(4, obs(99, None, 0.1))  # a rejected suggestion (no run id) after 4 launches
    rows = build_rows(sorted(observations, key=lambda o: o.seq), phases)
    by_id = {r.run_id: r.phase for r in rows}
    assert [by_id[f"{SWEEP}.r.{i}"] for i in range(7)] == ["explore"] * 3 + ["exploit"] * 4
    assert rows[-1].run_id is None and rows[-1].phase == "exploit"
    spans = phase_spans(rows)
    assert [(s.name, s.start, s.end) for s in spans] == [("explore", 0, 3), ("exploit", 3, None)]


def test_moving_average_matches_the_closed_form():
    np.testing.assert_allclose(moving_average([1, 2, 3, 4], 2), [1.0, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(moving_average([4, 2, 6], 10), [4.0, 3.0, 4.0])
    with pytest.raises(Exception, match="window"):
        moving_average([1.0], 0)


def test_summary_counts_costs_and_money():
    rows = _rows()
    snap = Snapshot(SWEEP, "score", "maximize", tuple(rows), running=("x",), current_phase="explore")
    s = summarize(snap, hourly_cost=3.6)
    total = sum(c for _, c in POINTS)
    assert (s.runs, s.successes, s.failures, s.running) == (6, 5, 1, 1)
    assert s.best_score == 3.0 and s.best_run == f"{SWEEP}.r.3"
    assert s.total_cost_s == pytest.approx(total)
    assert s.total_cost_money == pytest.approx(total / 3600 * 3.6)
    assert s.avg_runtime_s == pytest.approx(total / 6)
    assert s.current_phase == "explore"
    assert summarize(snap).total_cost_money is None


def test_filters_keep_failures_in_the_score_range_but_not_outside_the_cost_range():
    rows = _rows()
    kept = filter_rows(rows, score_range=[0.9, 2.1])
    assert sorted(r.score or -1 for r in kept) == [-1, 1.0, 1.5, 2.0]
    kept = filter_rows(rows, cost_range=[4.0, 25.0])
    assert sorted(r.cost for r in kept) == [5.0, 10.0, 20.0]


def test_value_range_rounds_outwards_and_contains_every_value():
    lo, hi = value_range([0.0533269, 1.2465893, None, float("nan")])
    assert (lo, hi) == (0.05, 1.25)
    assert value_range([]) == (0.0, 1.0)
    lo, hi = value_range([5.0, 5.0])
    assert lo < 5.0 < hi
