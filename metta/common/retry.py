"""Exponential backoff shared by the stores that ride out a server restart (PostgreSQL, the HTTP sweep service)."""

from __future__ import annotations

import time
from collections.abc import Iterator


def backoff_delays(total_s: float, first_s: float = 0.25, cap_s: float = 8.0) -> Iterator[float]:
    """Seconds to sleep before each retry: ``first_s`` doubling up to ``cap_s``, for as long as the next sleep ends
    within ``total_s`` of this call; then the iterator stops and the caller gives up."""
    deadline, delay = time.monotonic() + total_s, first_s
    while time.monotonic() + delay <= deadline:
        yield delay
        delay = min(2 * delay, cap_s)
