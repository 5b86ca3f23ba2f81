"""Wall-clock time per training phase (env, observation conversion, forward, buffer, GAE, backward, optimizer).

The rollout and the PPO update call ``timer.lap(name)`` after each piece of work: the time since the previous lap
is charged to ``name``. The default :data:`NO_TIMER` does nothing, so unprofiled training pays one no-op call per
lap. ``PhaseTimer.breakdown(total_s)`` adds ``other`` = total minus the phases (loop bookkeeping, metrics, Python).
"""

from __future__ import annotations

import time

PHASES = ("env", "obs_conversion", "forward", "buffer", "gae", "train_forward", "backward", "optimizer")


class NullTimer:
    """A timer that records nothing (the default for unprofiled runs)."""

    def start(self) -> None:
        """Restart the lap clock (no-op)."""

    def lap(self, name: str) -> None:
        """Charge the time since the previous lap to ``name`` (no-op)."""


NO_TIMER = NullTimer()


class PhaseTimer(NullTimer):
    """Accumulates seconds per phase name; ``lap`` charges the time since the previous lap (or ``start``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def start(self) -> None:
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + (now - self._last)
        self._last = now

    def breakdown(self, total_s: float) -> dict[str, float]:
        """Fraction of ``total_s`` per phase (every name of PHASES, then any others) plus ``other`` (the rest)."""
        names = list(PHASES) + sorted(set(self.seconds) - set(PHASES))
        out = {name: self.seconds.get(name, 0.0) / total_s for name in names}
        out["other"] = max(0.0, 1.0 - sum(out.values()))
        return out
