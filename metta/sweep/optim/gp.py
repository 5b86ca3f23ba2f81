"""Exact Gaussian-process regression with ARD Matern-5/2 or RBF kernels, fitted by L-BFGS-B on the log marginal
likelihood (plus weak log-normal priors, i.e. MAP), warm-started from the previous fit, with a few random restarts.

Each :class:`GaussianProcess` owns its hyperparameters; nothing is global, so any number of models (score, cost, ...)
and optimizers can live in one process. Inputs are normalised coordinates in [-1, 1]^d; targets are standardised
internally and predictions are returned in the original units.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy.linalg import cho_solve, lapack, solve_triangular
from scipy.optimize import minimize

from metta.common.errors import OptimizerError

Kernel = Literal["matern52", "rbf"]
_SQRT5 = math.sqrt(5.0)
_LOG_LS_BOUNDS = (math.log(0.01), math.log(100.0))
# A cold fit (no previous hyperparameters) on more than this many points screens its starts: the default guess and
# restarts x _SCREEN_FACTOR random starts are scored by their likelihood, and L-BFGS climbs only from the best one.
# The first suggestion of a resumed sweep with a long history was the latency tail (p95 at n = 200); warm fits and
# fits on fewer points are unchanged.
_SCREEN_ABOVE = 40
_SCREEN_FACTOR = 4
_LOG_SF2_BOUNDS = (math.log(0.01), math.log(100.0))
_LOG_SN2_BOUNDS = (math.log(1e-6), math.log(2.0))
_NOISE_PRIOR = (-6.0, 3.0)  # log noise variance (standardised targets) ~ N(mean, sd)
_LS_PRIOR = (-0.9, 1.0)  # log lengthscale ~ N(log(d) / 2 + mean, sd)


def sq_dists(a: np.ndarray, b: np.ndarray, inv_ls: np.ndarray) -> np.ndarray:
    """Squared scaled distances ||(a_i - b_j) / ls||^2, shape (len(a), len(b))."""
    sa, sb = a * inv_ls, b * inv_ls
    d2 = (sa * sa).sum(1)[:, None] + (sb * sb).sum(1)[None, :] - 2.0 * sa @ sb.T
    return np.maximum(d2, 0.0)


def kernel_from_sq(d2: np.ndarray, sf2: float, kernel: Kernel) -> np.ndarray:
    """Kernel values from squared scaled distances."""
    if kernel == "rbf":
        return sf2 * np.exp(-0.5 * d2)
    r = np.sqrt(d2)
    return sf2 * (1.0 + _SQRT5 * r + (5.0 / 3.0) * d2) * np.exp(-_SQRT5 * r)


def kernel_matrix(a: np.ndarray, b: np.ndarray, ls: np.ndarray, sf2: float, kernel: Kernel) -> np.ndarray:
    """k(a, b) for ARD lengthscales ``ls`` and signal variance ``sf2``."""
    return kernel_from_sq(sq_dists(a, b, 1.0 / ls), sf2, kernel)


def _chol(k: np.ndarray) -> np.ndarray:
    jitter = 0.0
    for _ in range(8):
        try:
            return np.linalg.cholesky(k + jitter * np.eye(k.shape[0]))
        except np.linalg.LinAlgError:
            jitter = max(1e-10, jitter * 10.0) if jitter else 1e-10 * max(1.0, float(np.mean(np.diag(k))))
    raise OptimizerError("GP covariance is not positive definite even with jitter; inputs may contain NaN")


def within_nll(ss: float, m: int, sn2: float) -> float:
    """Negative log likelihood of repeats around their means, beyond that of the means themselves.

    For k observations of one point with noise variance sn2, the product of their densities equals the density of
    their mean (variance sn2 / k) times (2 pi sn2)^(-(k-1)/2) k^(-1/2) exp(-SS / (2 sn2)), SS the sum of squared
    deviations from the mean. Summed over points: ``m`` = sum of (k - 1), ``ss`` = sum of SS; the k^(-1/2) factors do
    not depend on the hyperparameters and are left out."""
    return 0.5 * ss / sn2 + 0.5 * m * math.log(2.0 * math.pi * sn2)


def _within_stats(within_ss: np.ndarray | None, nw: np.ndarray, y_std: float) -> tuple[float, int]:
    """(sum of squared deviations in standardised units, number of repeats beyond the first) of a fit's targets."""
    if within_ss is None:
        return 0.0, 0
    ss = np.asarray(within_ss, dtype=float).reshape(-1)
    if ss.shape != nw.shape or not np.all(np.isfinite(ss) & (ss >= 0)):
        raise OptimizerError(f"GP within_ss must be finite, non-negative and one per target; got {within_ss!r}")
    return float(ss.sum()) / y_std**2, int(round(float((1.0 / nw - 1.0).sum())))


class GaussianProcess:
    """One exact GP model with its own kernel hyperparameters (log lengthscales, log signal, log noise)."""

    def __init__(self, kernel: Kernel = "matern52", restarts: int = 2, min_noise: float = 1e-6) -> None:
        if kernel not in ("matern52", "rbf"):
            raise OptimizerError(f"unknown kernel {kernel!r}; use matern52 or rbf")
        self.kernel: Kernel = kernel
        self.restarts = int(restarts)
        self.min_noise = float(min_noise)
        self.theta: np.ndarray | None = None  # [log ls_1..d, log sf2, log sn2]
        self._x = np.zeros((0, 0))
        self._y_mean, self._y_std = 0.0, 1.0
        self._chol = np.zeros((0, 0))
        self._alpha = np.zeros(0)
        self._nw = np.zeros(0)  # per-point noise multipliers (1 / repeat count of an averaged point)
        self.noise_bounds = _LOG_SN2_BOUNDS  # log noise variance range of the fit; equal ends fix the noise
        # replicate scatter of the last fit (standardised units): sum of squared deviations of repeats from their
        # target's mean, and how many repeats beyond the first; it pins the noise when repeats exist
        self._within = (0.0, 0)
        self.last_nll = math.nan  # negative log posterior of the last optimised fit (for the noise profile)

    # ---- hyperparameter fit -------------------------------------------------------------------------------------
    def _prior(self, theta: np.ndarray, d: int) -> tuple[float, np.ndarray]:
        """Negative log prior and gradient: log ls ~ N(log(d)/2 - 0.9, 1), log sf2 ~ N(0, 1), log sn2 ~ N(-6, 3).

        The lengthscale prior grows with sqrt(d) (distances grow with dimension) and is centred on about half the
        [-1, 1] span in 2-d; it only regularises small data, the likelihood dominates soon.
        """
        mu_ls = 0.5 * math.log(d) + _LS_PRIOR[0]
        mus = np.concatenate([np.full(d, mu_ls), [0.0, _NOISE_PRIOR[0]]])
        sds = np.concatenate([np.full(d, _LS_PRIOR[1]), [1.0, _NOISE_PRIOR[1]]])
        z = (theta - mus) / sds
        return 0.5 * float(z @ z), z / sds

    def _nll(
        self,
        theta: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        d2_parts: np.ndarray,
        nw: np.ndarray,
        within: tuple[float, int] = (0.0, 0),
    ) -> tuple[float, np.ndarray]:
        n, d = x.shape
        ls2 = np.exp(2.0 * theta[:d])
        sf2, sn2 = math.exp(theta[d]), math.exp(theta[d + 1]) + self.min_noise
        scaled = d2_parts / ls2[:, None, None]  # (d, n, n)
        d2 = scaled.sum(0)
        if self.kernel == "rbf":
            k = sf2 * np.exp(-0.5 * d2)
            g = k
        else:
            r = np.sqrt(d2)
            e = np.exp(-_SQRT5 * r)
            k = sf2 * (1.0 + _SQRT5 * r + (5.0 / 3.0) * d2) * e
            g = (5.0 / 3.0) * sf2 * (1.0 + _SQRT5 * r) * e
        ky = k + np.diag(sn2 * nw)
        try:
            chol = np.linalg.cholesky(ky)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = cho_solve((chol, True), y)
        nll = 0.5 * float(y @ alpha) + float(np.log(np.diag(chol)).sum()) + 0.5 * n * math.log(2 * math.pi)
        kinv, info = lapack.dpotri(chol, lower=1)  # K^-1 from the factor (lower triangle only)
        if info != 0:
            return 1e10, np.zeros_like(theta)
        kinv = np.tril(kinv) + np.tril(kinv, -1).T
        w = kinv - np.outer(alpha, alpha)
        grad = np.empty_like(theta)
        gw = g * w
        grad[:d] = 0.5 * np.einsum("ij,kij->k", gw, scaled)
        grad[d] = 0.5 * float((w * k).sum())
        grad[d + 1] = 0.5 * float(np.diag(w) @ nw) * (sn2 - self.min_noise)
        ss, m = within
        if m:  # the likelihood of the individual repeats around their means (see within_nll)
            nll += within_nll(ss, m, sn2)
            grad[d + 1] += (0.5 * m / sn2 - 0.5 * ss / sn2**2) * (sn2 - self.min_noise)
        pr, pg = self._prior(theta, d)
        return nll + pr, grad + pg

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        rng: np.random.Generator,
        optimize: bool = True,
        repeats: np.ndarray | None = None,
        within_ss: np.ndarray | None = None,
    ) -> GaussianProcess:
        """Fit to inputs ``x`` (n, d) and targets ``y`` (n,); ``optimize=False`` keeps the current hyperparameters.

        ``repeats`` (n,) says how many noisy observations each target averages: its noise variance is the fitted
        homoscedastic noise divided by that count, so a point seen five times is trusted more than a single run.
        ``within_ss`` (n,) is the sum of squared deviations of those observations from the target (0 for a single
        run); with it the fit sees the repeats' own scatter, which pins the noise down (the likelihood is then
        exactly that of the individual observations).
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float).reshape(-1)
        if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
            raise OptimizerError(f"GP fit needs x (n, d) and y (n,), got {x.shape} and {y.shape}")
        nw = np.ones(y.shape[0]) if repeats is None else 1.0 / np.asarray(repeats, dtype=float).reshape(-1)
        if nw.shape != y.shape or not np.all(np.isfinite(nw) & (nw > 0)):
            raise OptimizerError(f"GP repeats must be positive counts, one per target; got {repeats!r}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise OptimizerError("GP fit got NaN/inf inputs or targets; record those trials as failures")
        n, d = x.shape
        self._y_mean = float(y.mean())
        self._y_std = float(y.std()) if n > 1 and y.std() > 1e-12 else 1.0
        ys = (y - self._y_mean) / self._y_std
        self._within = _within_stats(within_ss, nw, self._y_std)
        cold = self.theta is None or self.theta.shape[0] != d + 2
        if cold:
            self.theta = np.concatenate([np.full(d, math.log(0.8 * math.sqrt(d))), [0.0, math.log(1e-3)]])
        if optimize and n >= 2:
            self.theta = self._optimize(x, ys, rng, nw, cold)
        self._x, self._nw = x, nw
        ls, sf2, sn2 = self.hyper()
        k = kernel_matrix(x, x, ls, sf2, self.kernel) + np.diag(sn2 * nw)
        self._chol = _chol(k)
        self._alpha = cho_solve((self._chol, True), ys)
        return self

    def _optimize(
        self, x: np.ndarray, ys: np.ndarray, rng: np.random.Generator, nw: np.ndarray, cold: bool = False
    ) -> np.ndarray:
        """L-BFGS-B on the negative log marginal likelihood from the current (warm) hyperparameters and ``restarts``
        random starts; ``cold`` says the current ones are only the default guess, not a previous fit."""
        d = x.shape[1]
        d2_parts = (x[:, None, :] - x[None, :, :]).transpose(2, 0, 1) ** 2
        bounds = [_LOG_LS_BOUNDS] * d + [_LOG_SF2_BOUNDS, self.noise_bounds]
        lo = np.array([b[0] for b in bounds])
        hi = np.array([b[1] for b in bounds])
        assert self.theta is not None  # fit() sets the warm start before optimising
        starts = [np.clip(self.theta, lo, hi)]
        screen = cold and x.shape[0] > _SCREEN_ABOVE  # a first fit on many points (a resumed sweep, say)
        for _ in range(self.restarts * (_SCREEN_FACTOR if screen else 1)):
            log_ls = rng.normal(math.log(0.8 * math.sqrt(d)), 1.0, d)
            t = np.concatenate([log_ls, [rng.normal(0, 0.5)], [rng.uniform(-12, -2)]])
            starts.append(np.clip(t, lo, hi))
        if screen:  # climb only from the most likely start (one likelihood evaluation each)
            starts = [starts[int(np.argmin([self._nll(t, x, ys, d2_parts, nw, self._within)[0] for t in starts]))]]
        best_t, best_f = starts[0], math.inf
        for k, t0 in enumerate(starts):  # a warm start converges in a few steps; cold starts get more room
            res = minimize(
                self._nll,
                t0,
                args=(x, ys, d2_parts, nw, self._within),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 60 if k == 0 and not cold else 150, "ftol": 1e-7},
            )
            if np.all(np.isfinite(res.x)) and res.fun < best_f:
                best_t, best_f = res.x, float(res.fun)
        self.last_nll = best_f
        return np.asarray(best_t, dtype=float)

    # ---- prediction -------------------------------------------------------------------------------------------------
    def hyper(self) -> tuple[np.ndarray, float, float]:
        """(lengthscales, signal variance, noise variance) in standardised-target units."""
        if self.theta is None:
            raise OptimizerError("GP is not fitted; call fit() first")
        d = self.theta.shape[0] - 2
        return np.exp(self.theta[:d]), math.exp(self.theta[d]), math.exp(self.theta[d + 1]) + self.min_noise

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function at ``xs`` (m, d), original units."""
        ls, sf2, _ = self.hyper()
        xs = np.atleast_2d(np.asarray(xs, dtype=float))
        ks = kernel_matrix(xs, self._x, ls, sf2, self.kernel)
        mean = ks @ self._alpha
        v = solve_triangular(self._chol, ks.T, lower=True, check_finite=False)
        var = np.maximum(sf2 - (v * v).sum(0), 1e-12)
        return mean * self._y_std + self._y_mean, np.sqrt(var) * self._y_std

    def condition(self, x_new: np.ndarray, y_new: np.ndarray) -> GaussianProcess:
        """A copy with extra observations (same hyperparameters, no refit): used for pending points."""
        other = GaussianProcess(self.kernel, self.restarts, self.min_noise)
        other.theta = None if self.theta is None else self.theta.copy()
        other._y_mean, other._y_std = self._y_mean, self._y_std
        x = np.vstack([self._x, np.atleast_2d(x_new)])
        ys = np.concatenate([self.train_targets(), (np.asarray(y_new, dtype=float) - self._y_mean) / self._y_std])
        ls, sf2, sn2 = other.hyper()
        other._x = x
        other._nw = np.concatenate([self._nw, np.ones(x.shape[0] - self._nw.shape[0])])
        other._chol = _chol(kernel_matrix(x, x, ls, sf2, self.kernel) + np.diag(sn2 * other._nw))
        other._alpha = cho_solve((other._chol, True), ys)
        return other

    def train_targets(self) -> np.ndarray:
        """Standardised training targets (recovered from the factorisation)."""
        ls, sf2, sn2 = self.hyper()
        k = kernel_matrix(self._x, self._x, ls, sf2, self.kernel) + np.diag(sn2 * self._nw)
        return k @ self._alpha

    def looks_stuck(self) -> bool:
        """Whether the fitted hyperparameters sit in a degenerate corner: the noise at its upper bound (the data
        explained as noise) or every lengthscale at its lower bound (interpolating noise). Worth a cold restart."""
        if self.theta is None:
            return False
        d = self.theta.shape[0] - 2
        noise_max = self.theta[d + 1] > _LOG_SN2_BOUNDS[1] - 0.25
        ls_min = bool(np.all(self.theta[:d] < _LOG_LS_BOUNDS[0] + 0.25))
        return bool(noise_max or ls_min)

    def refit_with_noise(
        self,
        x: np.ndarray,
        y: np.ndarray,
        log_noise: float,
        rng: np.random.Generator,
        repeats: np.ndarray | None = None,
        within_ss: np.ndarray | None = None,
    ) -> GaussianProcess:
        """A new model on the same data with the noise fixed at ``log_noise`` (log variance, standardised units) and
        the other hyperparameters re-fitted, warm from this fit plus one restart. This model is unchanged."""
        m = GaussianProcess(self.kernel, restarts=1, min_noise=self.min_noise)
        m.noise_bounds = (float(log_noise), float(log_noise))
        if self.theta is not None:
            m.theta = np.concatenate([self.theta[:-1], [float(log_noise)]])
        return m.fit(x, y, rng, repeats=repeats, within_ss=within_ss)

    def noise_profile(
        self,
        x: np.ndarray,
        y: np.ndarray,
        log_noise: np.ndarray,
        rng: np.random.Generator,
        repeats: np.ndarray | None = None,
        within_ss: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Profile negative log likelihood of the data at each fixed log noise variance (:meth:`refit_with_noise`),
        and that noise as a std in target units. The noise prior is left out, so differences are likelihood ratios."""
        out, std = np.empty(len(log_noise)), np.empty(len(log_noise))
        for k, g in enumerate(np.asarray(log_noise, dtype=float)):
            m = self.refit_with_noise(x, y, g, rng, repeats, within_ss)
            out[k] = m.last_nll - 0.5 * ((g - _NOISE_PRIOR[0]) / _NOISE_PRIOR[1]) ** 2
            std[k] = m.noise_std()
        return out, std

    def noise_std(self) -> float:
        """Fitted standard deviation of one observation's noise, in the original target units."""
        return math.sqrt(self.hyper()[2]) * self._y_std

    def state(self) -> list[float] | None:
        """JSON-able hyperparameters (for warm starts after a reload)."""
        return None if self.theta is None else [float(t) for t in self.theta]

    def load(self, theta: list[float] | None) -> None:
        """Restore hyperparameters from :meth:`state`."""
        self.theta = None if theta is None else np.asarray(theta, dtype=float)
