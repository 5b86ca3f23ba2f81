"""Uniform random search in the normalised space (the baseline every other optimizer must beat)."""

from __future__ import annotations

from typing import Any

import numpy as np

from metta.sweep.optim.config import unflatten
from metta.sweep.optim.optimizer import HistoryOptimizer, Suggestion, check_n, point_key

_MAX_DRAWS = 200


class RandomSearch(HistoryOptimizer):
    """Seeded uniform sampling; avoids points already observed or pending when the space allows it."""

    method = "random"
    _state_counters = ("_num_suggested",)
    _num_suggested = 0

    def suggest(self, n: int = 1) -> list[tuple[Suggestion, dict[str, Any]]]:
        """``n`` uniformly random (nested suggestion, info) pairs; each is pending until observed."""
        out = []
        for _ in range(check_n(n)):
            rng = np.random.default_rng([self.seed, len(self.history), len(self.history.pending), self._num_suggested])
            seen = {point_key(z) for z in list(self.history.x) + list(self.history.pending_x())}
            for _ in range(_MAX_DRAWS):
                z = self.space.snap(rng.uniform(-1.0, 1.0, self.space.dim))[0]
                if point_key(z) not in seen:
                    break
            suggestion = unflatten(self.space.decode(z))
            self.history.add_pending(suggestion)
            self._num_suggested += 1
            out.append(
                (
                    suggestion,
                    {"phase": "random", "reason": "uniform random", "predicted_score": None, "predicted_cost": None},
                )
            )
        return out
