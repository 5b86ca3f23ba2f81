"""Protein: cost-aware Bayesian optimisation over (score, cost) (stub: centre then random; GP version follows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from metta.common.errors import OptimizerError
from metta.sweep.config import ProteinConfig, unflatten
from metta.sweep.optimizer import History, Suggestion, check_n


class Protein:
    """Cost-aware GP optimizer. ``suggest(n)``, ``observe(...)``, ``mark_pending(...)``, JSON ``state_dict()``."""

    method = "bayes"

    def __init__(self, config: ProteinConfig, seed: int = 0) -> None:
        if not isinstance(config, ProteinConfig):
            raise OptimizerError(f"Protein needs a ProteinConfig, got {type(config).__name__}")
        self.config = config
        self.seed = int(seed)
        self.history = History(config)
        self._num_suggested = 0

    def suggest(self, n: int = 1) -> list[tuple[Suggestion, dict[str, Any]]]:
        """Return ``n`` (nested suggestion, info) pairs; each is marked pending until observed."""
        n = check_n(n)
        out = []
        for _ in range(n):
            rng = np.random.default_rng([self.seed, len(self.history), self._num_suggested])
            if self._num_suggested == 0 and len(self.history) == 0 and self.config.settings.seed_with_search_center:
                z, why = self.history.space.center(), "search centre"
            else:
                z, why = rng.uniform(-1, 1, self.history.space.dim), "random"
            flat = self.history.space.decode(z)
            sugg = unflatten(flat)
            self.history.add_pending(sugg)
            self._num_suggested += 1
            out.append((sugg, {"reason": why, "predicted_score": None, "predicted_cost": None}))
        return out

    def observe(self, suggestion: Mapping[str, Any], score: float | None, cost: float, is_failure: bool = False) -> None:
        """Record a finished trial; NaN/inf/None scores count as failures; cost must be > 0."""
        self.history.add(suggestion, score, cost, is_failure)

    def mark_pending(self, suggestion: Mapping[str, Any]) -> None:
        """Record a point being evaluated by another worker."""
        self.history.add_pending(suggestion)

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state."""
        return {"method": self.method, "seed": self.seed, "num_suggested": self._num_suggested,
                **self.history.to_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict`` output."""
        self.history.load_state(state)
        self.seed = int(state.get("seed", self.seed))
        self._num_suggested = int(state.get("num_suggested", 0))
