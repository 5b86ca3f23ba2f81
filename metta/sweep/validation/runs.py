"""Executing a validation: train and evaluate each pending (configuration, seed) pair through the sweep's trial
runner, append every result (failures and interruptions included) and hold one lock per sweep."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from metta.common import interrupt
from metta.common.errors import SweepError
from metta.sweep.dispatch import Dispatcher, TrainRequest
from metta.sweep.trial import Evaluator, run_trial
from metta.sweep.validation.config import FAILED, INTERRUPTED, SUCCESS, ValidationConfig
from metta.sweep.validation.plan import PlannedRun, train_args
from metta.sweep.validation.resume import LogFn, ResultLog, RunResult, is_done, latest_results

EvaluatorFactory = Callable[[int], Evaluator]


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SweepError(
                f"another validation of this sweep is running (lock {path}); wait for it to finish "
                "or stop it (its finished runs are kept)"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class ValidationRunner:
    """Executes planned runs through ``dispatcher`` and ``make_evaluator(seed)``, appending each result."""

    cfg: ValidationConfig
    dispatcher: Dispatcher
    make_evaluator: EvaluatorFactory
    log: LogFn = field(default=lambda s: print(s, flush=True))

    def run(self, planned: Sequence[PlannedRun], retry_failed: bool = False) -> list[RunResult]:
        """Run every pending pair in order; returns the results recorded by this call. One runner per sweep at a
        time (an exclusive lock next to the results file); a second one raises SweepError instead of duplicating."""
        with _exclusive(self.cfg.results_path.with_suffix(".lock")), interrupt.handling():
            return self._run(planned, retry_failed)

    def _run(self, planned: Sequence[PlannedRun], retry_failed: bool) -> list[RunResult]:
        book = ResultLog(self.cfg.results_path, self.log)
        latest = latest_results(self.cfg, book.load())
        todo = [p for p in planned if not is_done(p, latest, retry_failed)]
        self.log(
            f"[{self.cfg.sweep_name}] validation: {len(planned) - len(todo)} of {len(planned)} runs done, "
            f"{len(todo)} to run"
        )
        out = []
        for i, p in enumerate(todo, 1):
            interrupt.check()  # a Ctrl-C swallowed between runs still stops the validation
            self.log(f"[{self.cfg.sweep_name}] ({i}/{len(todo)}) {p.run_id}: {p.candidate.config_id} seed {p.seed}")
            with interrupt.deferred():  # the finished run's result is appended before a Ctrl-C stops us
                with interrupt.allowed():
                    res = self.run_one(p)
                book.append(res)
            out.append(res)
            msg = f"score={res.score:.5g}" if res.status == SUCCESS else f"{res.status.upper()}: {res.reason}"
            self.log(f"[{self.cfg.sweep_name}] {p.run_id} {msg}")
        return out

    def run_one(self, p: PlannedRun) -> RunResult:
        """Train + evaluate one pair. KeyboardInterrupt is recorded as interrupted, any other exception as a
        failure, and both are re-raised; the caller records the returned result."""
        if p.run_dir.exists():  # an earlier failed/interrupted attempt: keep it, but never resume from it
            p.run_dir.rename(p.run_dir.with_name(f"{p.run_dir.name}.attempt-{int(time.time() * 1000)}"))
        t0 = time.monotonic()
        times = [0.0, 0.0]
        try:
            score, reason = self._execute(p, times)
        except KeyboardInterrupt:
            with interrupt.deferred(raise_on_exit=False):  # a second Ctrl-C must not lose the record
                ResultLog(self.cfg.results_path, self.log).append(
                    self._result(p, INTERRUPTED, None, "interrupted by user (Ctrl-C)", [time.monotonic() - t0, 0.0])
                )
            raise
        except Exception as exc:  # recorded (never lost, never a score), then the validation stops
            ResultLog(self.cfg.results_path, self.log).append(
                self._result(p, FAILED, None, f"validation error: {exc!r}", [time.monotonic() - t0, 0.0])
            )
            raise
        status = SUCCESS if score is not None else FAILED
        return self._result(p, status, score, reason, times)

    def _execute(self, p: PlannedRun, times: list[float]) -> tuple[float | None, str]:
        req = TrainRequest(
            p.run_id, p.run_dir, train_args(self.cfg, p), p.run_dir / "train.log", self.cfg.train_timeout
        )
        trial = run_trial(
            self.dispatcher,
            self.make_evaluator(p.seed),
            req,
            self.cfg.eval_timeout,
            self.cfg.metric,
            lambda s, line: self.log(f"[{self.cfg.sweep_name}] {p.run_id} training {s:.0f}s | {line[:90]}"),
        )
        times[0], times[1] = trial.train_s, trial.eval_s
        return trial.objective, trial.reason

    def _result(self, p: PlannedRun, status: str, score: float | None, reason: str, times: list[float]) -> RunResult:
        return RunResult(
            p.candidate.config_id,
            p.seed,
            p.run_id,
            status,
            score,
            " ".join(reason.split())[:1000],
            p.candidate.suggestion,
            self.cfg.protocol(),
            round(times[0], 3),
            round(times[1], 3),
            time.time(),
        )
