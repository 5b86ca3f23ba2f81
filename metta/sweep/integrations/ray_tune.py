"""Ray Tune adapter: :class:`ProteinSearcher` lets a Ray cluster's Tune run take its suggestions from Protein.

    from ray import tune
    from metta.sweep.integrations.ray_tune import ProteinSearcher

    searcher = ProteinSearcher(protein_config, seed=0)       # metric and direction come from the config
    tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(search_alg=searcher, num_samples=20,
                                                              max_concurrent_trials=4))

The search space is the ProteinConfig's ``parameters`` tree; a trial's ``config`` is that nested suggestion merged
into Tune's ``param_space`` (which may hold constants). Trials running at the same time are pending points for
Protein, so concurrent suggestions spread out. The cost of a trial is Ray's ``time_total_s`` (its wall seconds),
which Protein's cost model uses. A trial that errors, or ends without a finite metric, is observed as a failure.
Requires ``ray[tune]`` (``pip install -e '.[ray]'``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ray.tune.search import Searcher  # type: ignore[import-not-found,unused-ignore]

from metta.common.errors import OptimizerError
from metta.sweep.optim.config import ProteinConfig
from metta.sweep.protein import Protein

COST_KEY = "time_total_s"
_MIN_COST = 1e-6


class ProteinSearcher(Searcher):
    """A Ray Tune ``Searcher`` backed by :class:`metta.sweep.protein.Protein`."""

    def __init__(self, config: ProteinConfig | Mapping[str, Any], seed: int = 0, cost_key: str = COST_KEY) -> None:
        cfg = config if isinstance(config, ProteinConfig) else ProteinConfig.from_dict(config)
        super().__init__(metric=cfg.metric, mode="max" if cfg.goal == "maximize" else "min")
        self._config, self._seed, self._cost_key = cfg, seed, cost_key
        self._protein = Protein(cfg, seed=seed)
        self._live: dict[str, dict[str, Any]] = {}  # trial id -> nested suggestion (pending in Protein)
        self._last_cost: dict[str, float] = {}

    @property
    def protein(self) -> Protein:
        """The wrapped optimizer (its history holds every observation)."""
        return self._protein

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        """Adopt Tune's metric/mode (e.g. from ``TuneConfig``) before the first suggestion; the space stays ours."""
        if metric is None and mode is None:
            return True
        goal = {"max": "maximize", "min": "minimize", None: self._config.goal}.get(mode)
        if goal is None:
            raise OptimizerError(f"mode={mode!r} is not supported; use 'min' or 'max'")
        new_metric = metric or self._config.metric
        if (new_metric, goal) == (self._config.metric, self._config.goal):
            return True
        if len(self._protein.history) or self._live:
            raise OptimizerError(
                f"cannot change metric/mode to {new_metric!r}/{mode!r} after trials started; "
                "set them on the ProteinConfig (metric, goal)"
            )
        self._config = ProteinConfig.from_dict({**self._config.to_dict(), "metric": new_metric, "goal": goal})
        self._protein = Protein(self._config, seed=self._seed)
        self._metric, self._mode = new_metric, "max" if goal == "maximize" else "min"
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next point (a nested dict); other running trials are pending, so it steers away from them."""
        suggestion, _info = self._protein.suggest(1)[0]
        self._live[trial_id] = suggestion
        return json.loads(json.dumps(suggestion))  # Tune mutates configs; hand out a copy

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """Remember the latest cost, so a trial that later errors without a result still has one."""
        cost = result.get(self._cost_key)
        if isinstance(cost, (int, float)) and math.isfinite(cost):
            self._last_cost[trial_id] = float(cost)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        """Observe the final metric at cost ``time_total_s``; errors and missing/non-finite metrics are failures."""
        suggestion = self._live.pop(trial_id, None)
        if suggestion is None:
            return
        if result:
            self.on_trial_result(trial_id, result)
        cost = max(self._last_cost.pop(trial_id, _MIN_COST), _MIN_COST)
        value = (result or {}).get(self._metric) if not error else None
        score = float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
        self._protein.observe(suggestion, score, cost, is_failure=score is None)

    def get_state(self) -> dict[str, Any]:
        """JSON-able state: Protein's state, the config, and trials still running."""
        return {
            "config": self._config.to_dict(),
            "seed": self._seed,
            "protein": self._protein.state_dict(),
            "live": self._live,
            "metric": self._metric,
            "mode": self._mode,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self._config = ProteinConfig.from_dict(state["config"])
        self._seed = int(state["seed"])
        self._protein = Protein(self._config, seed=self._seed)
        self._protein.load_state_dict(state["protein"])
        self._live = {str(k): dict(v) for k, v in state.get("live", {}).items()}
        self._metric, self._mode = state["metric"], state["mode"]

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w", encoding="utf-8") as f:
            json.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, encoding="utf-8") as f:
            self.set_state(json.load(f))
