"""Metric loggers behind one small protocol: ``log(metrics, step)``, ``summary(dict)``, ``close()``.

- :class:`NullLogger` drops everything.
- :class:`JsonlLogger` appends one JSON object per ``log`` call to a file (always used by the trainer).
- :class:`WandbLogger` imports wandb lazily. Mode ``auto`` follows ``WANDB_MODE`` when set, else online when
  credentials exist, else offline with a one-line notice (:mod:`metta.common.wandb_auth`); an online init that fails
  (unreachable server) falls back to offline instead of crashing. ``disabled`` never touches the network.
- :class:`MultiLogger` fans out to several loggers.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, cast, runtime_checkable

from metta.common.wandb_auth import choose_wandb_mode

# The ``mode`` values wandb.init's stubs accept.
_WandbInitMode = Literal["online", "offline", "disabled", "shared"]


@runtime_checkable
class Logger(Protocol):
    def log(self, metrics: dict[str, float], step: int) -> None: ...

    def summary(self, data: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class NullLogger:
    """Accepts and drops everything."""

    def log(self, metrics: dict[str, float], step: int) -> None:
        return None

    def summary(self, data: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; null keeps the key visible
    return value


class JsonlLogger:
    """One JSON line per log call (``{"step": ..., **metrics}``); summary written to ``summary.json`` beside it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")

    def log(self, metrics: dict[str, float], step: int) -> None:
        row = {"step": int(step), **{k: _clean(float(v)) for k, v in metrics.items()}}
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()

    def summary(self, data: dict[str, Any]) -> None:
        out = self.path.with_name("summary.json")
        out.write_text(json.dumps({k: _clean(v) for k, v in data.items()}, indent=2, default=str))

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


class MultiLogger:
    """Forward every call to each logger in order."""

    def __init__(self, loggers: Sequence[Logger]):
        self.loggers = list(loggers)

    def log(self, metrics: dict[str, float], step: int) -> None:
        for lg in self.loggers:
            lg.log(metrics, step)

    def summary(self, data: dict[str, Any]) -> None:
        for lg in self.loggers:
            lg.summary(data)

    def close(self) -> None:
        for lg in self.loggers:
            lg.close()


class WandbLogger:
    """W&B logger; see the module docstring for the mode rules."""

    def __init__(
        self,
        run: str,
        mode: str = "auto",
        project: str = "metta",
        entity: str | None = None,
        group: str | None = None,
        tags: Sequence[str] = (),
        config: dict[str, Any] | None = None,
        dir: str | Path | None = None,
        notice: Callable[[str], object] | None = None,
    ) -> None:
        notice = notice or (lambda msg: print(msg, file=sys.stderr))
        self.mode, msg = choose_wandb_mode(mode)
        if msg:
            notice(msg)
        self._run = None
        if self.mode == "disabled":
            return
        import wandb

        def init(mode: str) -> Any:
            # wandb validates the mode string itself; its stubs only accept the Literal spellings.
            return wandb.init(
                mode=cast(_WandbInitMode, mode),
                project=project,
                entity=entity,
                group=group,
                tags=list(tags),
                name=run,
                id=None,
                config=config or {},
                dir=str(dir) if dir is not None else None,
                reinit="finish_previous",
            )

        try:
            self._run = init(self.mode)
        except Exception as exc:  # wandb raises many types for network problems
            if self.mode != "online":
                raise
            notice(f"wandb: online init failed ({type(exc).__name__}: {exc}); falling back to offline")
            self.mode = "offline"
            self._run = init("offline")

    def log(self, metrics: dict[str, float], step: int) -> None:
        if self._run is not None:
            self._run.log(dict(metrics), step=int(step))

    def summary(self, data: dict[str, Any]) -> None:
        if self._run is not None:
            for k, v in data.items():
                self._run.summary[k] = v

    def close(self) -> None:
        if self._run is not None:
            self._run.finish()
            self._run = None
