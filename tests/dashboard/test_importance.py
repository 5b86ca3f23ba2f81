"""Parameter importance: closed forms and the synthetic sweep's known ranking."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from metta.sweep.dashboard.importance import parameter_importance, permutation_importance, spearman
from metta.sweep.dashboard.source import load_snapshot
from metta.sweep.dashboard.synthetic import CLIP, ENT, GAE, LR
from tests.dashboard.conftest import SWEEP


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float)
    y = x + rng.normal(0, 1, 40)
    assert spearman(x, y) == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-12)
    assert np.isnan(spearman(np.ones(5), np.arange(5.0)))


def test_permutation_importance_is_the_explained_variance_share_of_an_additive_model():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(4000, 2))
    y = 2.0 * x[:, 0]  # column 1 is irrelevant; column 0 explains all the variance
    imp = permutation_importance(x, y, np.random.default_rng(2))
    assert imp[0] == pytest.approx(1.0, abs=0.05)
    assert imp[1] == pytest.approx(0.0, abs=1e-3)


def test_synthetic_sweep_ranks_the_learning_rate_first(synthetic_store: str):
    snap = load_snapshot(synthetic_store, SWEEP)
    imp = parameter_importance(snap.rows, snap.param_names, snap.distributions, np.random.default_rng(0))
    by = {i.name: i for i in imp}
    assert imp[0].name == LR
    # the learning rate peaks inside its range: its correlation is weak, its permutation importance dominant
    assert abs(by[LR].correlation) < 0.2 and by[LR].permutation > 0.5
    assert by[CLIP].correlation > 0.1 and by[CLIP].permutation > by[ENT].permutation
    assert by[ENT].permutation < 0.01 and by[GAE].permutation < 0.01
    assert {i.n for i in imp} == {len(snap.successes())}
