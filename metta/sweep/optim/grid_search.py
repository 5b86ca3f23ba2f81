"""Exhaustive grid search: every value of discrete parameters x ``grid_points`` levels of continuous ones.

Points are visited in a seeded random order; points already observed or pending are skipped. When every grid point
has been suggested, ``suggest`` raises :class:`OptimizerError` (check ``exhausted`` first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metta.common.errors import OptimizerError
from metta.sweep.optim.config import ProteinConfig, unflatten
from metta.sweep.optim.optimizer import HistoryOptimizer, Suggestion, check_n, point_key
from metta.sweep.optim.spaces import num_choices

_MAX_GRID = 1_000_000


class GridSearch(HistoryOptimizer):
    """Grid over the normalised space (bin centres for discrete parameters, evenly spaced levels otherwise)."""

    method = "grid"
    _state_counters = ("_cursor",)

    def __init__(self, config: ProteinConfig, seed: int = 0) -> None:
        super().__init__(config, seed)
        levels = []
        for p in self.space.params:
            n = num_choices(p)
            k = n if n else config.settings.grid_points
            levels.append(2.0 * (np.arange(k) + 0.5) / k - 1.0 if n else np.linspace(-1.0, 1.0, k))
        size = int(np.prod([len(lv) for lv in levels], dtype=float))
        if size > _MAX_GRID:
            raise OptimizerError(f"grid has {size} points (> {_MAX_GRID}); lower settings.grid_points or use bayes")
        self._levels = levels
        self._order = np.random.default_rng(self.seed).permutation(size)
        self._cursor = 0

    @property
    def size(self) -> int:
        """Number of grid points."""
        return int(self._order.shape[0])

    @property
    def exhausted(self) -> bool:
        """True when every grid point has been suggested, observed or marked pending."""
        return self._next_free(peek=True) is None

    def _point(self, flat_index: int) -> np.ndarray:
        idx = np.unravel_index(flat_index, [len(lv) for lv in self._levels])
        return np.array([lv[i] for lv, i in zip(self._levels, idx, strict=True)])

    def _next_free(self, peek: bool = False) -> np.ndarray | None:
        seen = {point_key(z) for z in list(self.history.x) + list(self.history.pending_x())}
        cursor = self._cursor
        while cursor < self.size:
            z = self._point(int(self._order[cursor]))
            cursor += 1
            if point_key(z) not in seen:
                if not peek:
                    self._cursor = cursor
                return z
        return None

    def suggest(self, n: int = 1) -> list[tuple[Suggestion, dict[str, Any]]]:
        """The next ``n`` unseen grid points (raises OptimizerError when the grid is exhausted)."""
        out = []
        for _ in range(check_n(n)):
            z = self._next_free()
            if z is None:
                raise OptimizerError(f"grid exhausted: all {self.size} points were suggested; stop the sweep")
            suggestion = unflatten(self.space.decode(z))
            self.history.add_pending(suggestion)
            out.append(
                (
                    suggestion,
                    {
                        "phase": "grid",
                        "reason": f"grid point {self._cursor}/{self.size}",
                        "predicted_score": None,
                        "predicted_cost": None,
                    },
                )
            )
        return out
