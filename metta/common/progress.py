"""A one-line training progress display (SPS, reward, ETA) that stays quiet in non-interactive logs.

On a TTY it redraws one line with ``\\r``; otherwise it prints a plain line at most every ``plain_interval_s``
seconds (and at the end), so CI logs and sweep trial logs stay short.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO


def format_eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
    """Call ``update(agent_step, epoch, sps, reward)`` once per epoch and ``close()`` at the end."""

    def __init__(
        self, total: int, stream: TextIO | None = None, interactive: bool | None = None, plain_interval_s: float = 30.0
    ):
        self.total = int(total)
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.plain_interval_s = plain_interval_s
        self._last_plain = -math.inf
        self._line = ""

    def render(self, agent_step: int, epoch: int, sps: float, reward: float | None) -> str:
        pct = 100.0 * min(1.0, agent_step / self.total) if self.total else 100.0
        eta = (self.total - agent_step) / sps if sps > 0 else math.inf
        rew = "-" if reward is None or not math.isfinite(reward) else f"{reward:.3f}"
        return (
            f"epoch {epoch} | {agent_step:,}/{self.total:,} steps ({pct:.1f}%) | {sps:,.0f} sps | reward {rew} | "
            f"eta {format_eta(eta)}"
        )

    def update(self, agent_step: int, epoch: int, sps: float, reward: float | None) -> None:
        self._line = self.render(agent_step, epoch, sps, reward)
        if self.interactive:
            self.stream.write("\r" + self._line + "\x1b[K")
            self.stream.flush()
        elif time.monotonic() - self._last_plain >= self.plain_interval_s:
            self._last_plain = time.monotonic()
            self.stream.write(self._line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
        elif self._line:
            self.stream.write(self._line + "\n")
        self.stream.flush()
