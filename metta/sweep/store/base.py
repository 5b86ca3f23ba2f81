"""Records and the :class:`SweepStore` protocol shared by every sweep store backend.

A store holds, per sweep: its registration (idempotent), an atomic run-id counter (``<sweep>.r.<n>``), the trials
that were started (with the worker that owns them and a heartbeat) and the observations
``{suggestion, objective, cost, is_failure, reason}``. Every backend passes the same contract test suite.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from dataclasses import dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

from metta.common.errors import StoreError

TRIAL_RUNNING = "running"
TRIAL_DONE = "done"
TRIAL_FAILED = "failed"
TRIAL_STATUSES = (TRIAL_RUNNING, TRIAL_DONE, TRIAL_FAILED)
INTERRUPTED_REASON = "interrupted"


@dataclass(frozen=True)
class SweepInfo:
    """A registered sweep: its name, free-form metadata (project, entity, config...) and creation time."""

    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    run_ids_issued: int = 0


@dataclass(frozen=True)
class Trial:
    """A trial that a worker started: run id, suggestion, status, owner and timestamps (epoch seconds)."""

    run_id: str
    sweep: str
    suggestion: dict[str, Any]
    status: str
    worker: str
    started_at: float
    heartbeat_at: float


@dataclass(frozen=True)
class Observation:
    """One recorded outcome. A failure has ``is_failure=True``, ``objective=None`` and a ``reason``."""

    sweep: str
    run_id: str | None
    suggestion: dict[str, Any]
    objective: float | None
    cost: float
    is_failure: bool
    reason: str = ""
    created_at: float = 0.0
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field (used by the HTTP service and the W&B mirror)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Observation:
        """Inverse of :meth:`to_dict`."""
        return cls(
            sweep=str(d["sweep"]),
            run_id=d.get("run_id"),
            suggestion=dict(d.get("suggestion") or {}),
            objective=None if d.get("objective") is None else float(d["objective"]),
            cost=float(d["cost"]),
            is_failure=bool(d["is_failure"]),
            reason=str(d.get("reason") or ""),
            created_at=float(d.get("created_at") or 0.0),
            seq=int(d.get("seq") or 0),
        )


@runtime_checkable
class SweepStore(Protocol):
    """Durable sweep state shared by all workers of a sweep (SQLite file, PostgreSQL, or the HTTP service)."""

    uri: str

    def register_sweep(self, name: str, meta: dict[str, Any] | None = None) -> tuple[SweepInfo, bool]:
        """Create the sweep if absent; return (info, created). Calling it again is harmless."""
        ...

    def get_sweep(self, name: str) -> SweepInfo | None:
        """The sweep's registration, or None when it was never registered."""
        ...

    def next_run_id(self, name: str) -> str:
        """Atomically allocate the next run id ``<name>.r.<n>`` (n = 0, 1, ...; never reused)."""
        ...

    def start_trial(self, name: str, run_id: str, suggestion: dict[str, Any], worker: str) -> Trial:
        """Record that ``worker`` started ``run_id`` with ``suggestion`` (status ``running``).

        Raises DuplicateTrialError (nothing stored) when a running trial of the sweep has the same suggestion, so
        workers that start at the same moment do not train the same point twice.
        """
        ...

    def heartbeat(self, name: str, run_id: str) -> None:
        """Refresh a running trial's heartbeat (workers call it while training runs)."""
        ...

    def record_observation(
        self,
        name: str,
        run_id: str | None,
        suggestion: dict[str, Any],
        objective: float | None,
        cost: float,
        is_failure: bool,
        reason: str = "",
    ) -> Observation:
        """Atomically store an observation and close its trial (if any). Validates the values first.

        Stores that subclass :class:`SweepStore` inherit this and implement :meth:`_store_observation`.
        """
        obj = validate_observation(objective, cost, is_failure, reason)
        return self._store_observation(
            Observation(name, run_id, dict(suggestion), obj, float(cost), bool(is_failure), reason)
        )

    def _store_observation(self, draft: Observation) -> Observation:
        """Store a validated observation (``created_at`` and ``seq`` are assigned by the store) and return it."""
        ...

    def load_observations(self, name: str, limit: int | None = None) -> list[Observation]:
        """Up to ``limit`` observations (None = all), newest first."""
        ...

    def count_observations(self, name: str, launched_only: bool = False) -> int:
        """How many observations the sweep holds; ``launched_only`` skips those without a run id (rejections)."""
        ...

    def list_trials(self, name: str, status: str | None = TRIAL_RUNNING) -> list[Trial]:
        """Trials of the sweep with ``status`` (None = all), oldest first."""
        ...

    def mark_interrupted(self, name: str, run_ids: list[str], reason: str = INTERRUPTED_REASON) -> list[str]:
        """Record still-running trials in ``run_ids`` as failures with ``reason``; return the ids it closed."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def format_run_id(sweep: str, n: int) -> str:
    """The run id spelling ``<sweep>.r.<n>`` (the one earlier Metta sweeps used, so run names stay comparable)."""
    return f"{sweep}.r.{n}"


_TOKEN: dict[int, str] = {}


def worker_id() -> str:
    """This process's worker id ``<hostname>:<pid>:<random token>`` (finds trials orphaned by a killed worker; the
    token tells a restarted worker that got the same pid, as happens in containers, from its dead predecessor)."""
    pid = os.getpid()
    if pid not in _TOKEN:
        _TOKEN[pid] = os.urandom(4).hex()
    return f"{socket.gethostname()}:{pid}:{_TOKEN[pid]}"


def parse_worker_id(worker: str) -> tuple[str, int | None]:
    """(host, pid or None) of a worker id written by :func:`worker_id` (or the older ``host:pid``)."""
    parts = worker.split(":")
    if len(parts) >= 2 and parts[1].isdigit():
        return parts[0], int(parts[1])
    return worker, None


def check_sweep_name(name: str) -> str:
    """Reject empty or path-like sweep names (they become directory names and URL segments)."""
    if not isinstance(name, str) or not name or len(name) > 200:
        raise StoreError(f"invalid sweep name {name!r}: use 1-200 characters")
    bad = set("/\\?#% \t\n")
    if any(c in bad for c in name) or name.startswith("."):
        raise StoreError(f"invalid sweep name {name!r}: use letters, digits, '_', '-', '.' (no '/', spaces, '?')")
    return name


def validate_observation(objective: float | None, cost: float, is_failure: bool, reason: str) -> float | None:
    """Check an observation's values; return the objective to store (None for failures)."""
    try:
        c = float(cost)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"observation cost {cost!r} is not a number") from exc
    if not math.isfinite(c) or c < 0:
        raise StoreError(f"observation cost {cost!r} must be a finite number >= 0 (wall seconds)")
    if is_failure:
        if not reason:
            raise StoreError("a failure observation needs a reason (e.g. 'train crashed: exit code 1')")
        return None
    if objective is None:
        raise StoreError("a successful observation needs an objective; record is_failure=True with a reason instead")
    o = float(objective)
    if not math.isfinite(o):
        raise StoreError(f"objective {objective!r} is not finite; record it as a failure (is_failure=True) instead")
    return o


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples inside ``value`` into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return value.tolist()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def dumps(value: Any) -> str:
    """Canonical JSON text for a suggestion or metadata dict."""
    try:
        return json.dumps(to_jsonable(value), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot store {value!r} as JSON: {exc}") from exc


def now() -> float:
    """Wall-clock epoch seconds (one place, so tests can reason about it)."""
    return time.time()
