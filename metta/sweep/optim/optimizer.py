"""The optimizer protocol shared by Protein, random, grid and Optuna, and the observation history they all keep.

``History`` validates and stores what an optimizer was told: each observation's flat parameter values, raw score,
cost and failure flag (NaN/inf/None scores become failures; costs must be finite and > 0), plus pending points.
Scores are kept as given; ``signed_scores`` turns them into "larger is better" for ``goal: minimize``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from metta.common.errors import OptimizerError
from metta.sweep.optim.config import ProteinConfig, flatten, unflatten
from metta.sweep.optim.spaces import SearchSpace

Suggestion = dict[str, Any]


@runtime_checkable
class Optimizer(Protocol):
    """What the sweep loop calls; every optimizer (bayes, random, grid, optuna) implements it."""

    def suggest(self, n: int = 1) -> list[tuple[Suggestion, dict[str, Any]]]:
        """``n`` distinct (nested suggestion, info) pairs; suggested points count as pending until observed."""
        ...

    def observe(
        self, suggestion: Mapping[str, Any], score: float | None, cost: float, is_failure: bool = False
    ) -> None:
        """Record one finished trial (a failure when ``is_failure`` or the score is None/NaN/inf)."""
        ...

    def mark_pending(self, suggestion: Mapping[str, Any]) -> None:
        """Record a point being evaluated elsewhere so later suggestions avoid it."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state (config, seed, observations, pending, counters)."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        ...


class History:
    """Observations and pending points of one optimizer, validated against its search space."""

    def __init__(self, config: ProteinConfig) -> None:
        self.config = config
        self.space = SearchSpace.from_flat(config.flat_parameters())
        self.params: list[dict[str, Any]] = []
        self.x: list[np.ndarray] = []
        self.scores: list[float | None] = []
        self.costs: list[float] = []
        self.failures: list[bool] = []
        self.pending: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.params)

    def _flat(self, suggestion: Mapping[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
        if not isinstance(suggestion, Mapping):
            raise OptimizerError(f"a suggestion must be a nested dict, got {type(suggestion).__name__}")
        flat = flatten(suggestion)
        return flat, self.space.encode(flat)

    def add(self, suggestion: Mapping[str, Any], score: Any, cost: Any, is_failure: bool = False) -> bool:
        """Validate and store one observation; returns whether it counts as a failure."""
        flat, z = self._flat(suggestion)
        try:
            c = float(cost)
        except (TypeError, ValueError) as err:
            raise OptimizerError(f"cost={cost!r} is not a number; pass the trial's compute cost (> 0)") from err
        if not math.isfinite(c) or c <= 0:
            raise OptimizerError(f"cost={cost!r} must be finite and > 0 (e.g. seconds of compute); got {c}")
        s: float | None
        try:
            s = None if score is None else float(score)
        except (TypeError, ValueError) as err:
            raise OptimizerError(f"score={score!r} is not a number; pass None with is_failure=True") from err
        failed = bool(is_failure) or s is None or not math.isfinite(s)
        self.params.append(flat)
        self.x.append(z)
        self.scores.append(None if failed else s)
        self.costs.append(c)
        self.failures.append(failed)
        self._drop_pending(z)
        return failed

    def add_pending(self, suggestion: Mapping[str, Any]) -> None:
        """Store a pending point (validated)."""
        flat, _ = self._flat(suggestion)
        self.pending.append(flat)

    def _drop_pending(self, z: np.ndarray) -> None:
        for i, flat in enumerate(self.pending):
            if np.allclose(self.space.encode(flat), z, atol=1e-9):
                del self.pending[i]
                return

    def pending_x(self) -> np.ndarray:
        """Pending points in normalised coordinates, shape (m, d)."""
        if not self.pending:
            return np.zeros((0, self.space.dim))
        return np.stack([self.space.encode(f) for f in self.pending])

    def signed_scores(self) -> np.ndarray:
        """Scores of successes as "larger is better" (negated for minimize); NaN for failures."""
        sign = -1.0 if self.config.goal == "minimize" else 1.0
        return np.array([np.nan if s is None else sign * s for s in self.scores], dtype=float)

    def to_state(self) -> dict[str, Any]:
        """JSON-able observations and pending points."""
        return {
            "observations": [
                {"params": p, "score": s, "cost": c, "is_failure": f}
                for p, s, c, f in zip(self.params, self.scores, self.costs, self.failures, strict=True)
            ],
            "pending": [dict(p) for p in self.pending],
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Replace the content with ``to_state`` output (re-validated)."""
        fresh = History(self.config)
        for ob in state.get("observations", []):
            fresh.add(unflatten(ob["params"]), ob["score"], ob["cost"], ob["is_failure"])
        for p in state.get("pending", []):
            fresh.add_pending(unflatten(p))
        self.__dict__.update(fresh.__dict__)


def point_key(z: np.ndarray) -> tuple[float, ...]:
    """Hashable identity of a normalised point (rounded to 1e-9, so float noise does not make it new)."""
    return tuple(float(v) for v in np.round(np.asarray(z, dtype=float), 9))


def check_seed(seed: int) -> int:
    """Validate an optimizer seed (a non-negative integer)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise OptimizerError(f"seed={seed!r} must be a non-negative integer")
    return int(seed)


def check_n(n: int) -> int:
    """Validate the number of requested suggestions."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise OptimizerError(f"n={n!r} suggestions requested; ask for an integer >= 1")
    return int(n)


class HistoryOptimizer:
    """Shared part of every optimizer: config, seed, observation history, observe, mark_pending and the one JSON
    state (de)serialisation.

    ``state_dict`` holds the method, the seed, the history, every integer counter named in ``_state_counters`` and
    the ``state()`` of every model named in ``_state_models`` (attribute names; the leading ``_`` is dropped in the
    keys). Subclasses whose history cannot simply be reloaded (Optuna's study) override ``_restore_history``.
    """

    method = "base"
    _state_counters: tuple[str, ...] = ()
    _state_models: tuple[str, ...] = ()

    def __init__(self, config: ProteinConfig, seed: int = 0) -> None:
        self.config = config
        self.seed = check_seed(seed)
        self.history = History(config)
        self.space = self.history.space

    def observe(
        self, suggestion: Mapping[str, Any], score: float | None, cost: float, is_failure: bool = False
    ) -> None:
        """Record a finished trial; None/NaN/inf scores count as failures; cost must be finite and > 0."""
        self.history.add(suggestion, score, cost, is_failure)

    def mark_pending(self, suggestion: Mapping[str, Any]) -> None:
        """Record a point being evaluated by another worker (later suggestions steer away from it)."""
        self.history.add_pending(suggestion)

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: method, seed, counters, model states, observations and pending points."""
        state: dict[str, Any] = {"method": self.method, "seed": self.seed}
        state.update({attr.lstrip("_"): int(getattr(self, attr)) for attr in self._state_counters})
        state.update({attr.lstrip("_"): getattr(self, attr).state() for attr in self._state_models})
        return {**state, **self.history.to_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``state_dict`` output (observations are re-validated against this config)."""
        if state.get("method", self.method) != self.method:
            raise OptimizerError(f"state is for method {state.get('method')!r}, not {self.method!r}")
        self.seed = check_seed(int(state.get("seed", self.seed)))
        self._restore_history(state)
        for attr in self._state_counters:
            setattr(self, attr, int(state.get(attr.lstrip("_"), 0)))
        for attr in self._state_models:
            getattr(self, attr).load(state.get(attr.lstrip("_")))

    def _restore_history(self, state: Mapping[str, Any]) -> None:
        """Replace the history with the observations and pending points of ``state``."""
        self.history.load_state(state)
