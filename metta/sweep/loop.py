"""The sweep loop: register, then per trial load observations -> pick the phase -> build the optimizer ->
suggest (constraint violations are recorded as failures and re-asked) -> allocate a run id -> train (dispatcher) ->
evaluate -> record {suggestion, objective, cost, is_failure, reason} atomically. Failures wait
``rollout_retry_delay``; more than ``max_consecutive_failures`` in a row stops the worker (0 = never).

Resume: a trial left ``running`` by a worker that died (same host, process gone; or no heartbeat for
``stale_trial_timeout``) is recorded as a failure with reason ``interrupted`` and is not re-run; ids keep counting.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metta.common import interrupt
from metta.common.errors import MettaError, OptimizerError, SweepError
from metta.common.overrides import to_overrides
from metta.common.seeding import derive_seed
from metta.sweep.dispatch import Dispatcher, TrainRequest
from metta.sweep.optim.config import ProteinConfig, flatten
from metta.sweep.optim.registry import make_optimizer
from metta.sweep.store import INTERRUPTED_REASON, DuplicateTrialError, Observation, SweepStore, worker_id
from metta.sweep.store.base import parse_worker_id
from metta.sweep.sweep_config import SweepJobConfig
from metta.sweep.trial import Evaluator, SimEvaluator, check_constraints, effective_trainer, run_trial, trial_seed

LogFn = Callable[[str], None]


@dataclass(frozen=True)
class TrialRecord:
    """What one trial of this worker produced (mirrors the stored observation)."""

    run_id: str
    phase: str
    suggestion: dict[str, Any]
    objective: float | None
    cost: float
    is_failure: bool
    reason: str = ""


@dataclass
class LoopSummary:
    """Trials run by this worker and why it stopped."""

    trials: list[TrialRecord] = field(default_factory=list)
    rejections: int = 0
    stopped_reason: str = ""


@dataclass
class _OptimizerState:
    """The optimizer kept between trials of one worker and what it has already been fed."""

    phase: str
    config: ProteinConfig
    opt: Any
    seen: set[int] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    n_observed: int = 0


class _Heartbeat:
    """Background thread refreshing a running trial's heartbeat in the store."""

    def __init__(self, store: SweepStore, sweep: str, run_id: str, interval: float, log: LogFn) -> None:
        self._stop = threading.Event()
        self._args = (store, sweep, run_id, interval, log)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        store, sweep, run_id, interval, log = self._args
        while not self._stop.wait(interval):
            try:
                store.heartbeat(sweep, run_id)
            except MettaError as exc:  # a missed heartbeat is not fatal; the next one may succeed
                log(f"[{sweep}] warning: heartbeat of {run_id} failed: {exc}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _short(suggestion: dict[str, Any]) -> str:
    parts = []
    for k, v in flatten(suggestion).items():
        name = k.rsplit(".", 1)[-1]
        parts.append(f"{name}={v:.4g}" if isinstance(v, float) else f"{name}={v}")
    return " ".join(parts)


class SweepLoop:
    """One sweep worker. Collaborators are injected: store, dispatcher (training), evaluator, optional mirror."""

    def __init__(
        self,
        job: SweepJobConfig,
        store: SweepStore,
        dispatcher: Dispatcher,
        evaluator: Evaluator,
        base_trainer: dict[str, Any],
        *,
        mirror: Any = None,
        log: LogFn = lambda s: print(s, flush=True),
        sleep: Callable[[float], None] = time.sleep,
        worker: str | None = None,
        seed_salt: int | None = None,
    ) -> None:
        self.job, self.store, self.dispatcher, self.evaluator = job, store, dispatcher, evaluator
        self.base_trainer = base_trainer
        self.mirror, self.log, self.sleep = mirror, log, sleep
        self.worker = worker or worker_id()
        self.seed_salt = os.getpid() if seed_salt is None else seed_salt
        self.name = job.sweep_name
        self.sweep_dir = Path(job.sweep_dir)
        self._rejections = 0
        self._opt_state: _OptimizerState | None = None

    # -- setup -----------------------------------------------------------------------------------------------------
    def register(self) -> None:
        """Register the sweep (idempotent), storing its base config so best-params tools can read goal/metric."""
        _, base = self.job.sweep.protein_for(0)
        meta = {
            "metric": base.metric,
            "goal": base.goal,
            "config": base.to_dict(),
            "train_overrides": self.job.train_overrides(),  # what every trial trains with (validate_sweep reads it)
            "sim_name": self.job.sim_name,
            "project": self.job.wandb.project,
            "entity": self.job.wandb.entity,
        }
        info, created = self.store.register_sweep(self.name, meta)
        self.log(f"[{self.name}] {'registered' if created else 'resuming'} sweep in {self.store.uri}")
        stored = info.meta.get("config")
        if not created and stored is not None and stored != json.loads(json.dumps(meta["config"])):
            self.log(
                f"[{self.name}] warning: the sweep was registered with another sweep config (search space or "
                "settings); points outside this one are not used, and get_best_params / validate_sweep rank in the "
                "registered one. Use a new sweep_name for a new search space."
            )

    def recover_orphans(self) -> list[str]:
        """Record running trials whose worker is gone (same host) or silent too long as failed ('interrupted')."""
        host, now, me = socket.gethostname(), time.time(), os.getpid()
        dead = []
        for t in self.store.list_trials(self.name):
            if t.worker == self.worker:
                continue
            h, pid = parse_worker_id(t.worker)
            if h == host and pid is not None and (pid == me or not _pid_alive(pid)):
                dead.append(t.run_id)  # gone, or a predecessor of this process that had the same pid
            elif now - t.heartbeat_at > self.job.settings.stale_trial_timeout:
                dead.append(t.run_id)
        closed = self.store.mark_interrupted(self.name, dead, INTERRUPTED_REASON) if dead else []
        for rid in closed:
            self.log(f"[{self.name}] {rid}: worker gone; recorded as failed (interrupted)")
        return closed

    # -- optimizer ------------------------------------------------------------------------------------------------
    def build_optimizer(self) -> tuple[str, ProteinConfig, Any]:
        """Phase from the launched-trial count; optimizer fed the newest observations and other workers' trials.

        The optimizer instance is kept between this worker's trials (so its GP fit warm-starts) and only fed what
        is new: observations not seen yet (up to ``max_observations_to_load`` newest per trial) and running trials
        not yet marked pending. It is rebuilt from the newest ``max_observations_to_load`` observations when the
        phase changes or once it has absorbed twice that many.
        """
        launched = self.store.count_observations(self.name, launched_only=True)
        phase, pcfg = self.job.sweep.protein_for(launched)
        cap = self.job.settings.max_observations_to_load
        st = self._opt_state
        if st is None or st.phase != phase or st.n_observed >= 2 * cap:
            seed = derive_seed(self.job.seed, launched, self.seed_salt)
            st = self._opt_state = _OptimizerState(phase, pcfg, make_optimizer(pcfg, seed=seed))
        obs = self.store.load_observations(self.name, cap)
        skipped = 0
        for o in reversed(obs):  # oldest first
            if o.seq in st.seen:
                continue
            st.seen.add(o.seq)
            st.n_observed += 1
            try:
                st.opt.observe(o.suggestion, o.objective, max(o.cost, 1e-6), o.is_failure)
            except OptimizerError:
                skipped += 1  # e.g. a point of an earlier phase outside this phase's bounds
        for t in self.store.list_trials(self.name):
            if t.run_id in st.pending:
                continue
            st.pending.add(t.run_id)
            try:
                st.opt.mark_pending(t.suggestion)
            except OptimizerError:
                skipped += 1
        if skipped:
            self.log(f"[{self.name}] note: {skipped} stored points do not fit phase {phase!r} and were not used")
        return phase, st.config, st.opt

    def suggest_valid(self, opt: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Suggest until the trainer constraints hold; each violation is stored as a failure (no run id)."""
        for _ in range(self.job.settings.max_rejections):
            t0 = time.monotonic()
            suggestion, info = opt.suggest(1)[0]
            violation = check_constraints(effective_trainer(self.base_trainer, suggestion))
            if violation is None:
                return suggestion, info
            cost = max(time.monotonic() - t0, 1e-3)
            rec = self.store.record_observation(
                self.name, None, suggestion, None, cost, True, f"constraint: {violation}"
            )
            opt.observe(suggestion, None, cost, True)
            if self._opt_state is not None and self._opt_state.opt is opt:
                self._opt_state.seen.add(rec.seq)
                self._opt_state.n_observed += 1
            self._rejections += 1
            self.log(f"[{self.name}] rejected suggestion ({violation}); asking again")
        raise SweepError(
            f"{self.job.settings.max_rejections} suggestions in a row violated trainer constraints "
            "(batch_size % minibatch_size, minibatch_size % bptt_horizon); narrow the size parameters"
        )

    # -- one trial --------------------------------------------------------------------------------------------------
    def run_trial(self) -> TrialRecord:
        """Run one complete trial and record its observation; KeyboardInterrupt records it as interrupted.

        From the moment the trial is claimed in the store until its observation is recorded, a Ctrl-C is only
        honoured inside the training/evaluation part (or re-raised after the record), so a trial is never left
        ``running`` by a Ctrl-C that landed between two store writes.
        """
        self.recover_orphans()
        phase, pcfg, opt = self.build_optimizer()
        suggestion, _info = self.suggest_valid(opt)
        interrupt.check()  # a Ctrl-C swallowed while suggesting stops us before a trial is claimed
        with interrupt.deferred():
            run_id = self.store.next_run_id(self.name)
            suggestion = self._claim(opt, run_id, suggestion)
            t0 = time.monotonic()
            hb = _Heartbeat(self.store, self.name, run_id, self.job.settings.heartbeat_interval, self.log)
            try:
                with interrupt.allowed():
                    self.log(f"[{self.name}] {run_id} started (phase {phase}): {_short(suggestion)}")
                    hb.start()
                    objective, reason = self._execute(run_id, suggestion, pcfg.metric)
            except KeyboardInterrupt:
                hb.stop()
                self._record(run_id, phase, suggestion, None, time.monotonic() - t0, "interrupted by user (Ctrl-C)")
                raise
            except Exception as exc:
                hb.stop()
                self._record(run_id, phase, suggestion, None, time.monotonic() - t0, f"sweep worker error: {exc!r}")
                raise
            hb.stop()
            return self._record(run_id, phase, suggestion, objective, self._cost, reason)

    def _claim(self, opt: Any, run_id: str, suggestion: dict[str, Any]) -> dict[str, Any]:
        """Start the trial; if another worker runs the same point right now, mark it pending and ask again."""
        for _ in range(self.job.settings.max_rejections):
            try:
                self.store.start_trial(self.name, run_id, suggestion, self.worker)
                return suggestion
            except DuplicateTrialError as exc:
                self.log(f"[{self.name}] {exc}; asking for another point")
                opt.mark_pending(suggestion)
                suggestion, _ = self.suggest_valid(opt)
        raise SweepError(
            f"could not find a point no other worker is running after {self.job.settings.max_rejections} tries"
        )

    def _trial_seed(self, run_id: str) -> int | None:
        """The trial's own seed (settings.seed_per_trial), or None when every trial uses system.seed."""
        return trial_seed(self.job.seed, run_id) if self.job.settings.seed_per_trial else None

    def _execute(self, run_id: str, suggestion: dict[str, Any], metric: str) -> tuple[float | None, str]:
        """Train then evaluate; returns (objective, "") or (None, failure reason). Sets ``self._cost``.

        With a seed per trial the run trains with that seed (``++system.seed``, last so that it wins) and a
        :class:`SimEvaluator` without a fixed seed evaluates with it too, as a validation run is evaluated: repeats
        are then independent in both, and sweep scores are measured like validated ones."""
        run_dir = self.sweep_dir / "runs" / run_id
        seed = self._trial_seed(run_id)
        args = (
            f"run={run_id}",
            f"data_dir={self.job.data_dir}",
            f"run_dir={run_dir}",
            *to_overrides(self.job.train_overrides()),
            *to_overrides(suggestion),
            *(() if seed is None else (f"++system.seed={seed}",)),
        )
        evaluator = self.evaluator
        if seed is not None and isinstance(evaluator, SimEvaluator) and evaluator.seed is None:
            evaluator = evaluator.with_seed(seed)
        req = TrainRequest(run_id, run_dir, args, run_dir / "train.log", self.job.settings.train_timeout)
        self._cost = 1e-3
        trial = run_trial(
            self.dispatcher,
            evaluator,
            req,
            self.job.settings.eval_timeout,
            metric,
            lambda s, line: self.log(f"[{self.name}] {run_id} training {s:.0f}s | {line[:90]}"),
        )
        self._cost = max(trial.train_s, 1e-3) + trial.eval_s
        return trial.objective, trial.reason

    def _record(
        self, run_id: str, phase: str, suggestion: dict[str, Any], objective: float | None, cost: float, reason: str
    ) -> TrialRecord:
        failure = objective is None
        cost = max(float(cost), 1e-3)
        reason = " ".join(reason.split())[:1000]
        obs = self.store.record_observation(
            self.name, run_id, suggestion, objective, cost, failure, reason if failure else ""
        )
        rec = TrialRecord(run_id, phase, suggestion, objective, cost, failure, obs.reason)
        if failure:
            self.log(f"[{self.name}] {run_id} FAILED after {cost:.1f}s: {reason}")
        else:
            self.log(f"[{self.name}] {run_id} score={objective:.5g} cost={cost:.1f}s")
        self._mirror(obs, phase)
        return rec

    def _mirror(self, obs: Observation, phase: str) -> None:
        if self.mirror is None:
            return
        try:
            self.mirror.record(obs, phase)
        except Exception as exc:  # the store is the source of truth; a mirror hiccup is only logged
            self.log(f"[{self.name}] warning: W&B mirror failed for {obs.run_id}: {exc}")

    # -- the loop ------------------------------------------------------------------------------------------------
    def run(self) -> LoopSummary:
        """Run trials until ``num_trials`` (0 = forever), the failure limit, or Ctrl-C."""
        summary = LoopSummary()
        self.register()
        try:
            with interrupt.handling():
                self._run_trials(summary)
        except KeyboardInterrupt:
            summary.stopped_reason = "interrupted by user (Ctrl-C); finished trials are stored"
        summary.rejections = self._rejections
        if not summary.stopped_reason:
            summary.stopped_reason = f"ran num_trials={self.job.num_trials} trials"
        self.log(f"[{self.name}] stopped: {summary.stopped_reason}")
        return summary

    def _run_trials(self, summary: LoopSummary) -> None:
        """The trial loop of :meth:`run`; sets ``summary.stopped_reason`` when the failure limit stops it."""
        s = self.job.settings
        consecutive = 0
        while self.job.num_trials == 0 or len(summary.trials) < self.job.num_trials:
            interrupt.check()
            rec = self.run_trial()
            summary.trials.append(rec)
            if not rec.is_failure:
                consecutive = 0
                continue
            consecutive += 1
            if s.max_consecutive_failures and consecutive > s.max_consecutive_failures:
                summary.stopped_reason = (
                    f"{consecutive} consecutive failures exceed "
                    f"settings.max_consecutive_failures={s.max_consecutive_failures}"
                )
                break
            if self.job.num_trials == 0 or len(summary.trials) < self.job.num_trials:
                self.sleep(s.rollout_retry_delay)
        interrupt.check()
