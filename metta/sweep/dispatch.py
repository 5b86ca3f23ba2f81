"""Dispatchers run one training job for the sweep loop and report how it ended.

``LocalDispatcher`` starts the training command as a subprocess (its own process group; on Linux it dies with the
worker), streams its output to ``<run_dir>/train.log``, reports a compact progress line, enforces the timeout and
reads ``<run_dir>/train_result.json``.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from metta.common import interrupt
from metta.common.config import REPO_ROOT
from metta.common.errors import ConfigError

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class TrainRequest:
    """One training job: its run id and directory, the command-line arguments, log file and time limit."""

    run_id: str
    run_dir: Path
    args: tuple[str, ...]
    log_path: Path
    timeout_s: float = 0.0


@dataclass(frozen=True)
class TrainOutcome:
    """How a training job ended: ok, a failure reason, wall seconds, exit code and train_result.json contents."""

    ok: bool
    reason: str
    wall_s: float
    returncode: int | None = None
    result: dict[str, Any] = field(default_factory=dict)


class Dispatcher(Protocol):
    """Runs a training job to completion (blocking). KeyboardInterrupt must stop the job before propagating."""

    def train(self, request: TrainRequest, progress: ProgressFn | None = None) -> TrainOutcome: ...


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setsid()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class LocalDispatcher:
    """Runs ``command + request.args`` here; ``progress(elapsed_s, last_log_line)`` every ``progress_interval`` s.

    ``command`` is the trainer command prefix given by the caller (the entry points pass this interpreter running
    their ``train.py``); the sweep library never assumes where the entry-point scripts live.
    """

    def __init__(
        self, command: Sequence[str], progress_interval: float = 10.0, env: dict[str, str] | None = None
    ) -> None:
        if not command:
            raise ConfigError("LocalDispatcher needs a trainer command, e.g. [sys.executable, 'tools/train.py']")
        self.command = list(command)
        self.progress_interval = progress_interval
        self.env = env

    def train(self, request: TrainRequest, progress: ProgressFn | None = None) -> TrainOutcome:
        request.run_dir.mkdir(parents=True, exist_ok=True)
        request.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        cmd = [*self.command, *request.args]
        t0 = time.monotonic()
        last = [""]
        with open(request.log_path, "a", encoding="utf-8") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=str(REPO_ROOT),
                env=env,
                preexec_fn=_die_with_parent,
                text=True,
                errors="replace",
            )
            reader = threading.Thread(target=_pump, args=(proc, log, last), daemon=True)
            reader.start()
            try:
                rc, timed_out = self._wait(proc, request, t0, progress, last)
            except BaseException:
                with interrupt.deferred(raise_on_exit=False):  # a second Ctrl-C must not leave the job running
                    _stop(proc)
                raise
            finally:
                reader.join(5)
        wall = time.monotonic() - t0
        return _outcome(request, rc, timed_out, wall, last[0])

    def _wait(
        self, proc: subprocess.Popen, request: TrainRequest, t0: float, progress: ProgressFn | None, last: list[str]
    ) -> tuple[int, bool]:
        next_report = t0 + self.progress_interval
        while True:
            interrupt.check()  # a Ctrl-C whose KeyboardInterrupt was swallowed (e.g. inside Popen) still stops us
            try:
                return proc.wait(timeout=0.2), False
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if request.timeout_s and now - t0 > request.timeout_s:
                _stop(proc)
                return proc.returncode if proc.returncode is not None else -9, True
            if progress is not None and now >= next_report:
                progress(now - t0, last[0])
                next_report = now + self.progress_interval


def _pump(proc: subprocess.Popen, log: Any, last: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        log.write(line)
        log.flush()
        if line.strip():
            last[0] = line.strip()


def _stop(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the job's process group, then SIGKILL after ``grace_s``."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def read_train_result(run_dir: Path) -> dict[str, Any]:
    """``<run_dir>/train_result.json`` as a dict ({} when absent; ``{"status": "failed"}`` when unreadable)."""
    path = run_dir / "train_result.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return {"status": "failed", "error": f"unreadable {path}: {exc}"}
    return data if isinstance(data, dict) else {"status": "failed", "error": f"{path} is not a JSON object"}


def _outcome(request: TrainRequest, rc: int, timed_out: bool, wall: float, last_line: str) -> TrainOutcome:
    result = read_train_result(request.run_dir)
    if timed_out:
        return TrainOutcome(False, f"training timeout after {request.timeout_s:.0f}s", wall, rc, result)
    if rc != 0:
        detail = result.get("error") or last_line or "no output"
        return TrainOutcome(False, f"training crashed (exit code {rc}): {detail}"[:500], wall, rc, result)
    if result and result.get("status") not in (None, "success"):
        return TrainOutcome(
            False, f"training failed: {result.get('error') or result.get('status')}"[:500], wall, rc, result
        )
    return TrainOutcome(True, "", wall, rc, result)
