"""The trial runner: one train-then-evaluate attempt (:func:`run_trial`), the trainer size constraints checked before
a trial starts, the composed trainer tree the searched paths are checked against, and the evaluator
(``metta.sim.evaluate`` in a spawned child process with a hard timeout)."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from metta.common import interrupt
from metta.common.config import compose, to_container
from metta.common.device import resolve_hardware
from metta.common.errors import ConfigError, EvaluationError
from metta.common.overrides import to_overrides
from metta.common.pdeath import die_with_parent
from metta.common.seeding import derive_seed
from metta.sweep.dispatch import Dispatcher, TrainRequest
from metta.sweep.phases import deep_merge

_TRIAL_SEED_SALT = 0x5EED  # keeps trial seeds apart from other seeds derived from the same base seed


def trial_seed(base_seed: int, run_id: str) -> int:
    """The training seed of sweep trial ``run_id`` (``<sweep>.r.<n>``): derived from the sweep's base seed and n.

    Every trial trains with its own seed, so a repeat of a configuration is an independent draw of the training
    noise (with one shared seed, training is deterministic and a repeat reproduces the first run exactly). The same
    run id always gets the same seed, and a 31-bit derived seed practically never equals a validation seed."""
    tail = run_id.rsplit(".", 1)[-1]
    n = int(tail) if tail.isdigit() else int.from_bytes(run_id.encode()[-8:].rjust(8, b"\0"), "big")
    return derive_seed(base_seed, n, _TRIAL_SEED_SALT)


def check_constraints(trainer: Mapping[str, Any]) -> str | None:
    """Trainer size constraints; returns the violation or None. ``trainer`` is the effective trainer dict."""
    try:
        batch, mini, bptt = int(trainer["batch_size"]), int(trainer["minibatch_size"]), int(trainer["bptt_horizon"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"trainer config lacks integer batch_size/minibatch_size/bptt_horizon: {exc}") from exc
    if min(batch, mini, bptt) <= 0:
        return f"sizes must be positive (batch_size={batch}, minibatch_size={mini}, bptt_horizon={bptt})"
    if batch % mini:
        return f"batch_size={batch} is not divisible by minibatch_size={mini}"
    if mini % bptt:
        return f"minibatch_size={mini} is not divisible by bptt_horizon={bptt}"
    return None


def effective_trainer(base_trainer: Mapping[str, Any], suggestion: Mapping[str, Any]) -> dict[str, Any]:
    """The trainer values a trial will run with: the base trainer tree with the suggestion's trainer part merged."""
    return deep_merge(base_trainer, suggestion.get("trainer") or {})


def compose_train_tree(train_overrides: Mapping[str, Any], config_dir: str | Path | None = None) -> dict[str, Any]:
    """Compose train_job as a sweep trial would (hardware profile chosen by the shared ``auto`` rule, without
    importing torch) and return plain data."""
    hardware = resolve_hardware("auto")
    cfg = compose(
        "train_job",
        ["run=sweep_validation", f"hardware={hardware}", *to_overrides(train_overrides)],
        config_dir=config_dir,
    )
    tree = to_container(cfg)
    tree.pop("hydra", None)
    return tree


@dataclass(frozen=True)
class EvalOutcome:
    """Score of one evaluation and some details (suite scores) for the logs."""

    score: float
    wall_s: float
    details: dict[str, Any] = field(default_factory=dict)


class Evaluator(Protocol):
    """Scores a trained run. Raises EvaluationError (with the reason) when no score can be produced."""

    def evaluate(self, run_dir: Path, timeout_s: float) -> EvalOutcome: ...


def _eval_child(conn: Any, policy_uri: str, suite: str, db: str, metric: str, seed: int | None) -> None:
    try:
        from metta.sim.evaluate import evaluate  # imported in the spawned child only: the parent never loads torch

        res = evaluate(policy_uri, suite, db, device="cpu", seed=seed)
        conn.send(
            (
                "ok",
                res.metric(metric),
                {"avg_category_score": res.avg_category_score, "category_scores": dict(res.category_scores)},
            )
        )
    except Exception as exc:  # everything is reported to the parent as a failure reason
        conn.send(("error", f"{type(exc).__name__}: {exc}", {}))
    finally:
        conn.close()


EvalChild = Callable[[Any, str, str, str, str, "int | None"], None]


def _eval_entry(parent_pid: int, target: EvalChild, conn: Any, *args: Any) -> None:
    """Eval child entry: die with the worker (no orphan writing into a closed pipe), then run ``target``."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal Ctrl-C is the worker's to handle; it stops us
    try:
        target(conn, *args)
    except (BrokenPipeError, EOFError, OSError):  # the worker is gone: nobody to report to
        os._exit(0)


class SimEvaluator:
    """Evaluates ``<run_dir>/checkpoints`` on suite ``sim_name`` with :func:`metta.sim.evaluate` in a child process
    (spawned, so a hang or crash is contained and a timeout can be enforced); score = ``metric``."""

    def __init__(self, sim_name: str, metric: str, seed: int | None = None, child: EvalChild = _eval_child) -> None:
        self.sim_name, self.metric, self.seed = sim_name, metric, seed
        self.child = child  # the function run in the spawned process (tests pass a light one)

    def with_seed(self, seed: int) -> SimEvaluator:
        """The same evaluator with every simulation's seed replaced by ``seed``."""
        return SimEvaluator(self.sim_name, self.metric, seed, self.child)

    def evaluate(self, run_dir: Path, timeout_s: float) -> EvalOutcome:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        db = run_dir / "eval" / "stats.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        proc = ctx.Process(
            target=_eval_entry,
            args=(
                os.getpid(),
                self.child,
                child,
                f"file://{(run_dir / 'checkpoints').resolve()}",
                self.sim_name,
                str(db),
                self.metric,
                self.seed,
            ),
            daemon=True,
        )
        proc.start()
        child.close()
        try:
            _wait_for_result(parent, t0, timeout_s)
            status, value, details = parent.recv()
        except EOFError as exc:
            proc.join(5)
            raise EvaluationError(f"evaluation process crashed (exit code {proc.exitcode})") from exc
        finally:
            with interrupt.deferred(raise_on_exit=False):
                if proc.is_alive():
                    proc.kill()
                proc.join(5)
                parent.close()
        if status != "ok":
            raise EvaluationError(f"evaluation failed: {value}")
        return EvalOutcome(score=float(value), wall_s=time.monotonic() - t0, details=details)


def _wait_for_result(conn: Any, t0: float, timeout_s: float) -> None:
    """Wait for the eval child's answer in short slices so a swallowed Ctrl-C is still noticed."""
    while not conn.poll(0.2):
        interrupt.check()
        if time.monotonic() - t0 > timeout_s:
            raise EvaluationError(f"evaluation timeout after {timeout_s:.0f}s (settings.eval_timeout)")


@dataclass(frozen=True)
class TrialRun:
    """What one train-then-evaluate attempt gave: the objective (None = failure), the reason, and wall seconds."""

    objective: float | None
    reason: str
    train_s: float
    eval_s: float


def run_trial(
    dispatcher: Dispatcher,
    evaluator: Evaluator,
    request: TrainRequest,
    eval_timeout: float,
    metric: str,
    on_line: Callable[[float, str], None],
) -> TrialRun:
    """Train through ``dispatcher``, check a checkpoint exists, evaluate, and reject non-finite scores.

    Every way this can fail (crash, timeout, missing checkpoint, evaluation error, NaN score) comes back as a
    failure with its reason, never as a score. Shared by the sweep loop and seed validation.
    """
    out = dispatcher.train(request, on_line)
    if not out.ok:
        return TrialRun(None, f"{out.reason} (log: {request.log_path})", out.wall_s, 0.0)
    ckpt_dir = request.run_dir / "checkpoints"
    if not any(ckpt_dir.glob("model_*.pt")):
        return TrialRun(None, f"missing checkpoint: no model_*.pt in {ckpt_dir}", out.wall_s, 0.0)
    interrupt.check()
    t_eval = time.monotonic()
    try:
        ev = evaluator.evaluate(request.run_dir, eval_timeout)
    except EvaluationError as exc:
        return TrialRun(None, str(exc)[:500], out.wall_s, time.monotonic() - t_eval)
    eval_s = max(ev.wall_s, time.monotonic() - t_eval)
    if not math.isfinite(ev.score):
        return TrialRun(None, f"NaN score: metric {metric!r} = {ev.score}", out.wall_s, eval_s)
    return TrialRun(float(ev.score), "", out.wall_s, eval_s)
