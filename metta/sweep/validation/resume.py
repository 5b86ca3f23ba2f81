"""The durable record of a validation: one JSON line per result in ``<sweep_dir>/validation/results.jsonl``, and
what it says about which (configuration, seed) pairs are done, so a re-run resumes where the last one stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from metta.common.errors import SweepError
from metta.sweep.store.base import dumps
from metta.sweep.validation.config import INTERRUPTED, SUCCESS, ValidationConfig
from metta.sweep.validation.plan import PlannedRun

LogFn = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    """One stored validation result (one line of results.jsonl)."""

    config_id: str
    seed: int
    run_id: str
    status: str
    score: float | None
    reason: str
    suggestion: dict[str, Any]
    protocol: str
    train_wall_s: float = 0.0
    eval_wall_s: float = 0.0
    created_at: float = 0.0

    @property
    def suggestion_key(self) -> str:
        return dumps(self.suggestion)


class ResultLog:
    """Append-only JSON-lines file of :class:`RunResult` (one ``write`` + ``fsync`` per result).

    A torn last line (a crash mid-write) is ignored with a warning; a corrupt line elsewhere raises SweepError
    naming the file and line, and the file is never rewritten.
    """

    def __init__(self, path: Path, log: LogFn = print) -> None:
        self.path, self.log = Path(path), log

    def load(self) -> list[RunResult]:
        if not self.path.exists():
            return []
        lines = self.path.read_bytes().split(b"\n")
        out = []
        for i, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            try:
                d = json.loads(raw)
                out.append(RunResult(**d))
            except (ValueError, TypeError) as exc:
                if i == len(lines):  # no trailing newline: the last write was cut short
                    self.log(f"warning: ignoring incomplete last line {i} of {self.path}")
                    continue
                raise SweepError(
                    f"{self.path}:{i} is not a validation result ({exc}); fix or remove that line "
                    "(the other lines are intact)"
                ) from exc
        return out

    def append(self, result: RunResult) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(result), sort_keys=True, allow_nan=False) + "\n"
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line  # keep a torn line on its own
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def latest_results(cfg: ValidationConfig, results: Sequence[RunResult]) -> dict[tuple[str, int], RunResult]:
    """Newest result per (config_id, seed) recorded under this protocol."""
    proto = cfg.protocol()
    out: dict[tuple[str, int], RunResult] = {}
    for r in results:
        if r.protocol == proto:
            out[(r.config_id, r.seed)] = r
    return out


def is_done(run: PlannedRun, latest: dict[tuple[str, int], RunResult], retry_failed: bool = False) -> bool:
    """A pair is done when it has a success, or a failure (unless ``retry_failed``); interrupted runs re-run."""
    r = latest.get((run.candidate.config_id, run.seed))
    if r is None or r.suggestion_key != dumps(run.candidate.suggestion) or r.status == INTERRUPTED:
        return False
    return r.status == SUCCESS or not retry_failed


def recorded_seeds(cfg: ValidationConfig, results: Sequence[RunResult]) -> tuple[int, ...]:
    """Seeds that have a result under this protocol, sorted (what ``--report`` shows without ``--seeds``)."""
    return tuple(sorted({seed for (_, seed) in latest_results(cfg, results)}))
