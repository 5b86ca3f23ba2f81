"""Protein: cost-aware Bayesian optimisation of a score, searching around the Pareto front of (score, cost).

One suggestion, in order of precedence (docs/protein.md has the full story):

1. Initial design: while fewer than ``num_random_samples`` points are observed or pending (or fewer than two
   successes exist): the search centre first (``seed_with_search_center``), then a scrambled Sobol design.
2. Resampling: every ``resample_frequency``-th model-based suggestion re-runs the least-repeated Pareto point.
3. Model-based: a score GP (successes only, repeats averaged, Yeo-Johnson-warped), a log-cost GP (when costs vary
   and ``expansion_rate`` > 0) and, once failures exist, a failure GP on 0/1 flags. Pending points enter the score GP
   as "kriging believer" pseudo-observations. Candidates: ``random_suggestions`` uniform points plus
   ``suggestions_per_pareto`` Gaussian perturbations (width = scale x ``global_search_scale`` x a log-uniform
   shrink in [0.01, 1]) around each Pareto point and the three best points. Acquisition (log scale): expected
   improvement over the best score (or UCB; also after ``stall_ucb_after`` observations without a new best),
   + log(1 - P(failure)); when cost-aware, divided by the predicted cost
   (EI per unit cost) and softly capped above (1 + ``expansion_rate``) x the cost of the best point. Cost-aware
   means costs differ and depend on the parameters: a per-parameter correlation test of log cost (Bonferroni)
   passes at ``cost_signal_p`` (wall-clock noise on equal-budget trials is not a cost signal). Candidates
   predicted to cost more than ``max_suggestion_cost`` are masked (if all are, the cheapest predicted one wins).
   The best candidates are refined by a few rounds of shrinking local search.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import qmc

from metta.common.errors import OptimizerError
from metta.sweep.optim import acquisition as acq
from metta.sweep.optim.config import ProteinConfig, unflatten
from metta.sweep.optim.gp import GaussianProcess, sq_dists
from metta.sweep.optim.optimizer import HistoryOptimizer, Suggestion, check_n
from metta.sweep.optim.pareto import pareto_front
from metta.sweep.optim.recommend import rank_by_posterior
from metta.sweep.optim.warp import ScoreWarp

_REFINE_ROUNDS = 4
_REFINE_TOP = 4
_REFINE_SAMPLES = 48
_POLISH_STARTS = 2


class Protein(HistoryOptimizer):
    """Cost-aware GP optimizer. ``suggest(n)``, ``observe(...)``, ``mark_pending(...)``, JSON ``state_dict()``."""

    method = "bayes"
    _state_counters = ("_num_suggested", "_num_model", "_fits")
    _state_models = ("_score_gp", "_cost_gp", "_fail_gp")

    def __init__(self, config: ProteinConfig, seed: int = 0) -> None:
        if not isinstance(config, ProteinConfig):
            raise OptimizerError(f"Protein needs a ProteinConfig, got {type(config).__name__}")
        super().__init__(config, seed)
        self.settings = config.settings
        self._score_gp = GaussianProcess(self.settings.kernel, self.settings.gp_restarts)
        self._cost_gp = GaussianProcess(self.settings.kernel, self.settings.gp_restarts)
        self._fail_gp = GaussianProcess(self.settings.kernel, self.settings.gp_restarts)
        self._num_suggested = 0
        self._num_model = 0
        self._fits = 0

    # ---- public protocol ------------------------------------------------------------------------------------------
    def suggest(self, n: int = 1) -> list[tuple[Suggestion, dict[str, Any]]]:
        """Return ``n`` distinct (nested suggestion, info) pairs; each counts as pending until observed."""
        out = []
        for _ in range(check_n(n)):
            rng = np.random.default_rng([self.seed, len(self.history), len(self.history.pending), self._num_suggested])
            with _single_threaded_blas():
                z, info = self._next(rng)
            suggestion = unflatten(self.space.decode(z))
            self.history.add_pending(suggestion)
            self._num_suggested += 1
            out.append((suggestion, info))
        return out

    def recommend(self) -> tuple[Suggestion, dict[str, Any]] | None:
        """The observed configuration with the best posterior mean (not the luckiest run); None without successes.

        Info: posterior mean and std, observed mean, repeat count, the fitted noise std of one evaluation, its 95%
        profile-likelihood interval, and the posterior under the largest plausible noise (``cautious_*``, NaN when
        the noise is pinned down)."""
        signed = self.history.signed_scores()
        ok = np.flatnonzero(np.isfinite(signed))
        if ok.size == 0:
            return None
        x = np.stack([self.history.x[i] for i in ok])
        raw = np.asarray([self.history.scores[i] for i in ok], dtype=float)
        best = rank_by_posterior(x, raw, self.config.goal, np.random.default_rng([self.seed, len(self.history)]))[0]
        info = {
            "posterior_mean": best.posterior_mean,
            "posterior_std": best.posterior_std,
            "observed_mean": best.observed_mean,
            "repeats": len(best.members),
            "noise_std": best.noise_std,
            "noise_interval": best.noise_interval,
            "cautious_mean": best.cautious[0],
            "cautious_std": best.cautious[1],
        }
        return unflatten(self.history.params[int(ok[best.index])]), info

    # ---- suggestion phases ----------------------------------------------------------------------------------------
    def _next(self, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        k = len(self.history) + len(self.history.pending)
        n_ok = sum(1 for f in self.history.failures if not f)
        if k < self.settings.num_random_samples or n_ok < 2:
            return self._initial(k, rng)
        self._num_model += 1
        freq = self.settings.resample_frequency
        if freq > 0 and self._num_model % freq == 0:
            return self._resample()
        return self._model_based(rng)

    def _initial(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        info: dict[str, Any] = {"phase": "initial", "predicted_score": None, "predicted_cost": None}
        centre = self.settings.seed_with_search_center
        if k == 0 and centre:
            return self.space.center(), {**info, "reason": "search centre (seed_with_search_center)"}
        size = max(self.settings.num_random_samples, 1)
        idx = k - 1 if centre else k
        if idx < size:
            sobol = qmc.Sobol(self.space.dim, scramble=True, seed=self.seed)
            design = sobol.random_base2(max(1, math.ceil(math.log2(size + 1))))[: size + 1]
            z = self.space.snap(2.0 * design[idx] - 1.0)[0]
            return z, {**info, "reason": f"initial design point {idx + 1} (scrambled Sobol)"}
        z = self.space.snap(rng.uniform(-1.0, 1.0, self.space.dim))[0]
        return z, {**info, "reason": "random (fewer than two successful observations)"}

    def _averaged(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[list[int]]]:
        """Successful observations with repeats averaged: (x, signed score, cost, repeat count, history indices)."""
        signed = self.history.signed_scores()
        groups: dict[tuple[float, ...], list[int]] = {}
        for i, ok in enumerate(np.isfinite(signed)):
            if ok:
                groups.setdefault(tuple(np.round(self.history.x[i], 9)), []).append(i)
        idx = list(groups.values())
        x = np.array([self.history.x[g[0]] for g in idx])
        y = np.array([signed[g].mean() for g in idx])
        c = np.array([math.exp(np.mean(np.log(np.asarray(self.history.costs)[g]))) for g in idx])
        return x, y, c, np.array([len(g) for g in idx]), idx

    def _resample(self) -> tuple[np.ndarray, dict[str, Any]]:
        x, y, c, reps, _ = self._averaged()
        front = pareto_front(y, c)
        pick = min(front, key=lambda i: (reps[i], -y[i]))
        sign = -1.0 if self.config.goal == "minimize" else 1.0
        return x[pick], {
            "phase": "resample",
            "reason": f"re-run Pareto point (observed {int(reps[pick])}x) to average noise (resample_frequency)",
            "predicted_score": float(sign * y[pick]),
            "predicted_cost": float(c[pick]),
        }

    # ---- model-based suggestion -----------------------------------------------------------------------------------
    def _fit(
        self, rng: np.random.Generator, x: np.ndarray, y: np.ndarray, c: np.ndarray, groups: list[list[int]]
    ) -> tuple[bool, np.ndarray]:
        """Fit the score GP (and the log-cost GP when costs vary); returns whether the search is cost-aware and the
        GP's targets (warped scores).

        The score GP learns a noise variance. A repeated point enters as the mean of its warped scores, trusted with
        noise variance / repeat count, and the scatter of its repeats around that mean counts as direct evidence of
        the noise (``GaussianProcess.fit(within_ss=...)``)."""
        keep = self._subset(y)
        x, y, c = x[keep], y[keep], c[keep]
        self._warp = ScoreWarp(y)
        signed = self.history.signed_scores()
        warped = [self._warp(signed[groups[i]]) for i in keep]
        wy = np.array([w.mean() for w in warped])
        reps = np.array([w.size for w in warped])
        ss = np.array([float(((w - w.mean()) ** 2).sum()) for w in warped])
        # random restarts of the kernel fit: always while small; later only when the warm-started fit looks stuck
        # (everything explained as noise, or every lengthscale collapsed) and every 32nd fit as a safety net, so the
        # routine suggestion keeps the cheap warm start (restarts were the latency tail at a few hundred points)
        full = x.shape[0] <= 40 or self._fits % 32 == 0
        self._score_gp.restarts = self.settings.gp_restarts if full else 0
        self._score_gp.fit(x, wy, rng, repeats=reps, within_ss=ss)
        if not full and self._score_gp.looks_stuck():
            full = True
            self._score_gp.restarts = self.settings.gp_restarts
            self._score_gp.fit(x, wy, rng, repeats=reps, within_ss=ss)
        # cost-aware only when cost depends on the parameters: wall-clock noise on equal-budget trials otherwise
        # turns EI into EI / noise and makes two sweeps with the same seed diverge
        cost_aware = (
            self.settings.expansion_rate > 0
            and float(c.max() / c.min()) > 1.05
            and acq.cost_signal_p(x, np.log(c)) <= self.settings.cost_signal_p
        )
        if cost_aware:
            self._cost_gp.restarts = self.settings.gp_restarts if full else 0
            self._cost_gp.fit(x, np.log(c), rng)
        self._fits += 1
        return cost_aware, wy

    def _subset(self, y: np.ndarray) -> np.ndarray:
        m = self.settings.max_gp_points
        if y.shape[0] <= m:
            return np.arange(y.shape[0])
        best = np.argsort(-y)[: m // 2]
        chosen = set(best.tolist())
        rest = [i for i in range(y.shape[0] - 1, -1, -1) if i not in chosen][: m - best.shape[0]]
        return np.sort(np.concatenate([best, np.asarray(rest, dtype=int)]))

    def _model_based(self, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
        x, y, c, _, groups = self._averaged()
        cost_aware, wy = self._fit(rng, x, y, c, groups)
        gp = self._score_gp
        stalled = self._stalled(x, groups)
        ucb = self.settings.acquisition == "ucb" or stalled
        pend = self.history.pending_x()
        if pend.shape[0]:
            mu_p, _ = gp.predict(pend)
            gp = gp.condition(pend, mu_p)  # kriging believer
        front = pareto_front(y, c) if cost_aware else np.array([int(np.argmax(y))])
        target_cost = (1.0 + self.settings.expansion_rate) * float(c[int(np.argmax(y))])
        score_fn = self._scorer(rng, gp, wy, c, cost_aware, target_cost, ucb)
        cand = self._candidates(rng, x, y, front)
        val = score_fn(cand)
        val, over_budget = self._budget_mask(cand, val, cost_aware)
        z, best = self._refine(rng, cand, val, score_fn, over_budget)
        reason = (
            "cheapest predicted (all candidates over max_suggestion_cost)"
            if over_budget
            else f"max {'ucb' if ucb else 'ei'} acquisition"
            + (" (no new best for stall_ucb_after observations)" if stalled else "")
            + (f", cost target {target_cost:.4g}" if cost_aware else "")
        )
        return z, self._model_info(z, reason, float(best), cost_aware, c)

    def _model_info(self, z: np.ndarray, reason: str, acquisition: float, cost_aware: bool, c: np.ndarray) -> dict:
        """Predicted score (metric units and direction), its std, predicted cost, reason, acquisition value."""
        mu, sd = (float(v[0]) for v in self._score_gp.predict(z[None]))
        sign = -1.0 if self.config.goal == "minimize" else 1.0
        inv = self._warp.inverse
        pc = math.exp(float(self._cost_gp.predict(z[None])[0][0])) if cost_aware else float(np.exp(np.log(c).mean()))
        return {
            "phase": "model",
            "reason": reason,
            "predicted_score": sign * inv(mu),
            "predicted_score_std": abs(inv(mu + sd) - inv(mu - sd)) / 2.0,
            "predicted_cost": pc,
            "acquisition": acquisition,
        }

    def _scorer(
        self,
        rng: np.random.Generator,
        gp: GaussianProcess,
        wy: np.ndarray,
        c: np.ndarray,
        cost_aware: bool,
        target_cost: float,
        ucb: bool,
    ) -> Callable[[np.ndarray], np.ndarray]:
        """Vectorised log-acquisition (UCB or EI) over normalised candidates (m, d), higher is better."""
        s = self.settings
        fail_gp = self._fit_failures(rng)
        c_ref = float(np.median(c))

        def score(z: np.ndarray) -> np.ndarray:
            mu, sd = gp.predict(z)
            tau = float(wy.max())
            pc = np.exp(self._cost_gp.predict(z)[0]) if cost_aware else np.ones_like(mu)
            if ucb:
                v = acq.upper_confidence_bound(mu, sd, s.ucb_beta) - tau
                v = np.where(v > 0, np.log(np.maximum(v, 1e-300)), v - 700.0)
            else:
                v = acq.log_expected_improvement(mu, sd, tau)
            if cost_aware:  # EI per unit of predicted cost, softly capped at the expansion target
                v = v - np.log(pc / c_ref) + acq.log_cost_weight(pc, target_cost, s.expansion_rate)
                v = np.where(pc <= s.max_suggestion_cost, v, -np.inf)
            if fail_gp is not None:
                p = np.clip(fail_gp.predict(z)[0], 0.0, 1.0)
                v = v + np.log(np.maximum(1.0 - p, 1e-9))
            return v

        return score

    def _stalled(self, x: np.ndarray, groups: list[list[int]]) -> bool:
        """True when the point with the best posterior mean was first observed ``stall_ucb_after`` or more
        successful observations ago (a noise-aware "no new best for a while")."""
        after = self.settings.stall_ucb_after
        if after <= 0:
            return False
        mu, _ = self._score_gp.predict(x)
        first = groups[int(np.argmax(mu))][0]
        signed = self.history.signed_scores()
        since = int(np.isfinite(signed[first + 1 :]).sum())
        return since >= after

    def _fit_failures(self, rng: np.random.Generator) -> GaussianProcess | None:
        """Failure model: a GP regression on 0/1 failure flags of every observation (None without failures)."""
        fails = np.asarray(self.history.failures, dtype=float)
        if not fails.any():
            return None
        self._fail_gp.restarts = self.settings.gp_restarts if fails.shape[0] <= 40 else 0
        return self._fail_gp.fit(np.stack(self.history.x), fails, rng)

    def _candidates(self, rng: np.random.Generator, x: np.ndarray, y: np.ndarray, front: np.ndarray) -> np.ndarray:
        s = self.settings
        d = self.space.dim
        parts = [rng.uniform(-1.0, 1.0, (s.random_suggestions, d))]
        centres = list(dict.fromkeys([int(i) for i in front] + [int(i) for i in np.argsort(-y)[:3]]))
        per = s.suggestions_per_pareto
        if len(centres) * per > 8192:  # bound latency on long fronts
            centres = [centres[i] for i in rng.choice(len(centres), max(1, 8192 // max(per, 1)), replace=False)]
        width = self.space.scales() * s.global_search_scale
        for i in centres:
            shrink = 10.0 ** rng.uniform(-2.0, 0.0, (per, 1))
            parts.append(x[i] + rng.normal(size=(per, d)) * width * shrink)
        cand = self.space.snap(np.vstack(parts))
        return self._drop_seen(cand) if cand.shape[0] else self.space.snap(rng.uniform(-1, 1, (64, d)))

    def _drop_seen(self, cand: np.ndarray) -> np.ndarray:
        seen = list(self.history.x) + list(self.history.pending_x())
        if not seen:
            return cand
        dup = (sq_dists(cand, np.stack(seen), np.ones(self.space.dim)) < 1e-18).any(1)
        return cand[~dup] if (~dup).any() else cand

    def _budget_mask(self, cand: np.ndarray, val: np.ndarray, cost_aware: bool) -> tuple[np.ndarray, bool]:
        """Fallback when every candidate is predicted over ``max_suggestion_cost``: rank by cheapness."""
        if not cost_aware or np.isfinite(val).any():
            return val, False
        return -self._cost_gp.predict(cand)[0], True

    def _refine(
        self,
        rng: np.random.Generator,
        cand: np.ndarray,
        val: np.ndarray,
        score_fn: Callable[[np.ndarray], np.ndarray],
        over_budget: bool,
    ) -> tuple[np.ndarray, float]:
        """Shrinking local search around the best candidates; returns (point, log-acquisition)."""
        order = np.argsort(-val)[:_REFINE_TOP]
        best_z, best_v = cand[order], val[order]
        if over_budget or not np.isfinite(best_v[0]):
            return cand[order[0]], float(val[order[0]])
        width = self.space.scales() * self.settings.global_search_scale * 0.1
        for _ in range(_REFINE_ROUNDS):
            trial = best_z[:, None, :] + rng.normal(size=(best_z.shape[0], _REFINE_SAMPLES, self.space.dim)) * width
            trial = self._drop_seen(self.space.snap(trial.reshape(-1, self.space.dim)))
            tv = score_fn(trial)
            allz = np.vstack([best_z, trial])
            allv = np.concatenate([best_v, tv])
            top = np.argsort(-allv)[: best_z.shape[0]]
            best_z, best_v = allz[top], allv[top]
            width = width * 0.4
        # multi-start gradient polish of the continuous coordinates: the sampled search above lands near a mode of
        # the acquisition; L-BFGS climbs to it, which matters late in a sweep when EI peaks are narrow
        free = self.space.bin_widths() == 0.0
        pz, pv = acq.polish(score_fn, best_z[:_POLISH_STARTS], free, maxiter=8)
        if pv.size and pv.max() > best_v[0]:
            k = int(np.argmax(pv))
            return pz[k], float(pv[k])
        return best_z[0], float(best_v[0])


def _single_threaded_blas():
    """Limit BLAS to one thread while fitting (small matrices; threads only add contention). Optional."""
    try:
        from threadpoolctl import threadpool_limits  # lazy: an optional package; without it BLAS is left alone
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
