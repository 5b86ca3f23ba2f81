"""Exact GP: gradients vs finite differences, fit quality, independence of instances, closed-form posterior."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from metta.common.errors import OptimizerError
from metta.sweep.optim.gp import GaussianProcess, kernel_matrix


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_marginal_likelihood_gradient_matches_finite_differences(kernel: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (25, 3))
    y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2
    ys = (y - y.mean()) / y.std()
    gp = GaussianProcess(kernel)
    d2 = (x[:, None, :] - x[None, :, :]).transpose(2, 0, 1) ** 2
    theta = np.array([0.1, -0.3, 0.5, 0.2, -3.0])
    nw = 1.0 / rng.integers(1, 4, 25)  # averaged repeats: per-point noise = noise / count
    _, grad = gp._nll(theta, x, ys, d2, nw)
    num = approx_fprime(theta, lambda t: gp._nll(t, x, ys, d2, nw)[0], 1e-6)
    assert np.allclose(grad, num, rtol=1e-4, atol=1e-4)


def test_fit_predicts_held_out_points_and_learns_irrelevant_dimension() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (60, 3))
    f = lambda a: np.sin(3 * a[:, 0]) + a[:, 1] ** 2  # noqa: E731  (dimension 2 is irrelevant)
    gp = GaussianProcess().fit(x, f(x), rng)
    xt = rng.uniform(-1, 1, (200, 3))
    mean, std = gp.predict(xt)
    assert np.sqrt(np.mean((mean - f(xt)) ** 2)) < 0.05
    assert np.all(std > 0)
    ls = gp.hyper()[0]
    assert ls[2] > 5 * ls[0]


def test_posterior_matches_closed_form() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (10, 2))
    y = rng.normal(size=10)
    gp = GaussianProcess().fit(x, y, rng, optimize=False)
    ls, sf2, sn2 = gp.hyper()
    xs = rng.uniform(-1, 1, (5, 2))
    ys = (y - y.mean()) / y.std()
    k = kernel_matrix(x, x, ls, sf2, "matern52") + sn2 * np.eye(10)
    ks = kernel_matrix(xs, x, ls, sf2, "matern52")
    mean = ks @ np.linalg.solve(k, ys) * y.std() + y.mean()
    var = (sf2 - np.einsum("ij,ji->i", ks, np.linalg.solve(k, ks.T))) * y.std() ** 2
    m, s = gp.predict(xs)
    assert np.allclose(m, mean) and np.allclose(s**2, var)


def test_two_models_are_independent() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (30, 2))
    a = GaussianProcess().fit(x, np.sin(4 * x[:, 0]), np.random.default_rng(0))
    theta_a = a.theta.copy()
    b = GaussianProcess().fit(x, 100.0 * x[:, 1], np.random.default_rng(0))  # very different target and scale
    assert np.array_equal(a.theta, theta_a)
    assert not np.allclose(a.theta, b.theta)
    mean_a, _ = a.predict(x[:3])
    assert np.allclose(mean_a, np.sin(4 * x[:3, 0]), atol=0.05)


def test_noise_is_learned_and_repeats_shrink_the_noise_of_averaged_points() -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (80, 2))
    truth = lambda a: np.sin(2 * a[:, 0]) + 0.5 * a[:, 1]  # noqa: E731
    y = truth(x) + rng.normal(0, 0.2, 80)
    gp = GaussianProcess().fit(x, y, rng)
    assert 0.12 < gp.noise_std() < 0.3  # the true noise std is 0.2
    # closed form with per-point noise variance sn2 / repeats
    reps = rng.integers(1, 5, 80)
    gp2 = GaussianProcess().fit(x, y, rng, optimize=False, repeats=reps)
    ls, sf2, sn2 = gp2.hyper()
    ys = (y - y.mean()) / y.std()
    k = kernel_matrix(x, x, ls, sf2, "matern52") + np.diag(sn2 / reps)
    xs = rng.uniform(-1, 1, (4, 2))
    mean = kernel_matrix(xs, x, ls, sf2, "matern52") @ np.linalg.solve(k, ys) * y.std() + y.mean()
    assert np.allclose(gp2.predict(xs)[0], mean)


def test_cold_fit_on_many_points_climbs_once_from_the_most_likely_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first fit on > 40 points screens its starts by likelihood and runs L-BFGS once; its fit is as good as
    climbing from every start (the unscreened reference), and warm refits still climb from every start."""
    import metta.sweep.optim.gp as gp_module

    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (120, 4))
    y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2 + 0.05 * rng.normal(size=120)
    d2 = (x[:, None, :] - x[None, :, :]).transpose(2, 0, 1) ** 2
    ys = (y - y.mean()) / y.std()
    calls: list[int] = []
    real = gp_module.minimize

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gp_module, "minimize", counting)
    screened = GaussianProcess(restarts=2).fit(x, y, np.random.default_rng(0))
    assert len(calls) == 1
    screened_theta = screened.theta.copy()
    calls.clear()
    screened.fit(x, y, np.random.default_rng(1))  # warm: the previous fit plus every restart
    assert len(calls) == 3
    monkeypatch.setattr(gp_module, "_SCREEN_ABOVE", 10**6)  # the unscreened reference
    calls.clear()
    full = GaussianProcess(restarts=2).fit(x, y, np.random.default_rng(0))
    assert len(calls) == 3
    nw = np.ones(120)
    nll_screened = full._nll(screened_theta, x, ys, d2, nw)[0]
    nll_full = full._nll(full.theta, x, ys, d2, nw)[0]
    assert nll_screened <= nll_full + 1.0  # within one nat of the best of three climbs


def test_noise_profile_is_lowest_near_the_true_noise_and_leaves_the_model_alone() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (80, 2))
    y = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] + rng.normal(0, 0.2, 80)
    gp = GaussianProcess().fit(x, y, rng)
    theta, pred = gp.theta.copy(), gp.predict(x[:5])[0]
    nll, std = gp.noise_profile(x, y, np.linspace(-10.0, 0.5, 12), np.random.default_rng(0))
    assert np.all(np.diff(std) > 0)  # the grid runs from small to large noise
    assert 0.1 < std[int(np.argmin(nll))] < 0.4  # the true noise std is 0.2
    assert nll[0] > nll.min() + 5 and nll[-1] > nll.min() + 5  # far-off noise levels are clearly worse
    assert np.array_equal(gp.theta, theta) and np.allclose(gp.predict(x[:5])[0], pred)


def test_likelihood_of_averaged_repeats_with_their_scatter_equals_that_of_the_individual_runs() -> None:
    """Closed form: a GP on repeat means (noise / k) plus ``within_ss`` has exactly the likelihood, and the noise
    gradient, of the same GP on every individual observation (up to the constant sum of log(k) / 2)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (6, 2))
    k = np.array([1, 3, 2, 1, 4, 1])
    xr = np.repeat(x, k, axis=0)
    yr = np.sin(3 * xr[:, 0]) + 0.3 * rng.normal(size=xr.shape[0])
    group = np.repeat(np.arange(6), k)
    ym = np.array([yr[group == i].mean() for i in range(6)])
    ss = np.array([((yr[group == i] - ym[i]) ** 2).sum() for i in range(6)])
    gp = GaussianProcess()
    theta = np.array([-0.3, 0.2, 0.1, np.log(0.05)])

    def d2(a: np.ndarray) -> np.ndarray:
        return (a[:, None, :] - a[None, :, :]).transpose(2, 0, 1) ** 2

    raw, raw_g = gp._nll(theta, xr, yr, d2(xr), np.ones(yr.shape[0]))
    avg, avg_g = gp._nll(theta, x, ym, d2(x), 1.0 / k, (float(ss.sum()), int((k - 1).sum())))
    assert avg + 0.5 * np.log(k).sum() == pytest.approx(raw, rel=1e-10)
    assert np.allclose(avg_g, raw_g, rtol=1e-8, atol=1e-10)
    # fit() standardises the targets; the scatter is standardised with them
    fit = GaussianProcess().fit(x, ym, rng, optimize=False, repeats=k, within_ss=ss)
    assert fit._within == (pytest.approx(ss.sum() / ym.std() ** 2), 6)
    with pytest.raises(OptimizerError, match="within_ss"):
        GaussianProcess().fit(x, ym, rng, repeats=k, within_ss=-ss)
