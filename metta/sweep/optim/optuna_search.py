"""Optional Optuna-backed optimizer (TPE or GP sampler) behind the same protocol (``optuna`` is a dev/bench extra).

Distributions map natively where Optuna has them: uniform -> float, log_normal -> log float, int_uniform -> int,
uniform_pow2 -> int exponent, logit_normal -> float in logit space, categorical -> categorical. Optuna sees the
goal's direction; failures are told as FAIL trials; observations of points it did not suggest are added as trials.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from metta.common.errors import OptimizerError
from metta.sweep.optim.config import ParameterConfig, ProteinConfig, flatten, unflatten
from metta.sweep.optim.optimizer import HistoryOptimizer, Suggestion, check_n


def _distribution(p: ParameterConfig) -> Any:
    # lazy: optuna is an optional extra, loaded only when an optuna_* method is used
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    d = p.distribution
    if d == "uniform":
        return FloatDistribution(p.lo, p.hi)
    if d == "log_normal":
        return FloatDistribution(p.lo, p.hi, log=True)
    if d == "int_uniform":
        return IntDistribution(math.ceil(p.lo), math.floor(p.hi))
    if d == "uniform_pow2":
        return IntDistribution(math.ceil(math.log2(p.lo) - 1e-12), math.floor(math.log2(p.hi) + 1e-12))
    if d == "logit_normal":
        return FloatDistribution(math.log(p.lo / (1 - p.lo)), math.log(p.hi / (1 - p.hi)))
    return CategoricalDistribution(list(p.choices))


def _to_optuna(p: ParameterConfig, v: Any) -> Any:
    if p.distribution == "uniform_pow2":
        return int(round(math.log2(v)))
    if p.distribution == "logit_normal":
        return math.log(v / (1 - v))
    return v


def _from_optuna(p: ParameterConfig, v: Any) -> Any:
    if p.distribution == "uniform_pow2":
        return int(2 ** int(v))
    if p.distribution == "logit_normal":
        return float(min(max(1.0 / (1.0 + math.exp(-v)), p.lo), p.hi))
    if p.distribution == "int_uniform":
        return int(v)
    if p.distribution in ("uniform", "log_normal"):
        return float(min(max(v, p.lo), p.hi))
    return v


class OptunaSearch(HistoryOptimizer):
    """Optuna TPE (``sampler="tpe"``) or GP (``sampler="gp"``) driven through ask/tell."""

    def __init__(self, config: ProteinConfig, seed: int = 0, sampler: str = "tpe") -> None:
        try:
            import optuna  # lazy: an optional extra, needed only for the optuna_* methods
        except ImportError as err:
            raise OptimizerError("method optuna_* needs the optional 'optuna' package (pip install optuna)") from err
        if sampler not in ("tpe", "gp"):
            raise OptimizerError(f"unknown Optuna sampler {sampler!r}; use tpe or gp")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        super().__init__(config, seed)
        self.method = f"optuna_{sampler}"
        self._dists = {n: _distribution(p) for n, p in zip(self.space.names, self.space.params, strict=True)}
        samplers = optuna.samplers
        # the sweep's initial design size applies to every model-based method alike; Optuna's own default (10 random
        # trials) would make a short sweep (the 8-trial quick sweep) pure random search
        startup = max(1, config.settings.num_random_samples)
        smp: optuna.samplers.BaseSampler
        if sampler == "tpe":
            smp = samplers.TPESampler(seed=self.seed, n_startup_trials=startup)
        else:
            smp = samplers.GPSampler(seed=self.seed, n_startup_trials=startup)
        self._study = optuna.create_study(direction=config.goal, sampler=smp)
        self._asked: dict[tuple, Any] = {}

    def _key(self, flat: Mapping[str, Any]) -> tuple:
        return tuple(repr(flat[n]) for n in self.space.names)

    def suggest(self, n: int = 1) -> list[tuple[Suggestion, dict[str, Any]]]:
        """Ask Optuna for ``n`` trials (running trials are pending for the sampler)."""
        out = []
        for _ in range(check_n(n)):
            trial = self._study.ask(self._dists)
            flat = {
                name: _from_optuna(p, trial.params[name])
                for name, p in zip(self.space.names, self.space.params, strict=True)
            }
            self._asked[self._key(flat)] = trial
            suggestion = unflatten(flat)
            self.history.add_pending(suggestion)
            out.append(
                (
                    suggestion,
                    {
                        "phase": self.method,
                        "reason": f"optuna {self.method}",
                        "predicted_score": None,
                        "predicted_cost": None,
                    },
                )
            )
        return out

    def observe(
        self, suggestion: Mapping[str, Any], score: float | None, cost: float, is_failure: bool = False
    ) -> None:
        """Tell Optuna the result (a FAIL trial for failures)."""
        import optuna  # lazy: an optional extra (already imported by __init__)

        failed = self.history.add(suggestion, score, cost, is_failure)
        flat = flatten(suggestion)
        trial = self._asked.pop(self._key(flat), None)
        value = None if failed or score is None else float(score)
        state = optuna.trial.TrialState.FAIL if failed else optuna.trial.TrialState.COMPLETE
        if trial is not None:
            self._study.tell(trial, value, state=state)
            return
        params = {n: _to_optuna(p, flat[n]) for n, p in zip(self.space.names, self.space.params, strict=True)}
        self._study.add_trial(
            optuna.trial.create_trial(state=state, value=value, params=params, distributions=self._dists)
        )

    def _restore_history(self, state: Mapping[str, Any]) -> None:
        """Rebuild the study from ``state`` by re-telling every observation (Optuna studies are not serialised)."""
        fresh = OptunaSearch(self.config, self.seed, self.method.removeprefix("optuna_"))
        for ob in state.get("observations", []):
            fresh.observe(unflatten(ob["params"]), ob["score"], ob["cost"], ob["is_failure"])
        for p in state.get("pending", []):
            fresh.mark_pending(unflatten(p))
        self.__dict__.update(fresh.__dict__)
