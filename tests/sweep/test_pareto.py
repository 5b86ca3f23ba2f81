"""Pareto front over (score, cost) against a brute-force reference, both goals."""

from __future__ import annotations

import numpy as np
import pytest

from metta.common.errors import OptimizerError
from metta.sweep.optim.pareto import front_value, pareto_front, pareto_front_bruteforce


@pytest.mark.parametrize("maximize", [True, False])
def test_front_matches_brute_force_on_random_data_with_ties(maximize: bool) -> None:
    rng = np.random.default_rng(1)
    for trial in range(200):
        n = int(rng.integers(1, 30))
        scores = rng.integers(0, 6, n).astype(float)  # many ties on purpose
        costs = rng.integers(1, 6, n).astype(float)
        got = pareto_front(scores, costs, maximize=maximize)
        ref = pareto_front_bruteforce(scores, costs, maximize=maximize)
        assert got.tolist() == ref.tolist(), (trial, scores, costs)
        signed = scores if maximize else -scores
        assert np.all(np.diff(costs[got]) > 0) and np.all(np.diff(signed[got]) > 0)


def test_known_front() -> None:
    scores = np.array([1.0, 3.0, 2.0, 3.0, 0.5])
    costs = np.array([1.0, 5.0, 2.0, 6.0, 0.5])
    assert pareto_front(scores, costs).tolist() == [4, 0, 2, 1]
    assert pareto_front(scores, costs, maximize=False).tolist() == [4]


def test_front_value_is_a_step_function() -> None:
    fs, fc = np.array([0.5, 1.0, 2.0, 3.0]), np.array([0.5, 1.0, 2.0, 5.0])
    got = front_value(fs, fc, np.array([0.1, 0.5, 1.5, 4.9, 5.0, 100.0]))
    assert got[0] == -np.inf
    assert got[1:].tolist() == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_rejects_nan_and_mismatched_lengths() -> None:
    with pytest.raises(OptimizerError, match="finite"):
        pareto_front(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    with pytest.raises(OptimizerError, match="differ"):
        pareto_front(np.array([1.0]), np.array([1.0, 2.0]))
