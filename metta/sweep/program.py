"""Sweeping any program: W&B ``command`` macros, the metric read back from the run, and the W&B-style loop.

A W&B sweep's ``command`` is a list with macros that :func:`expand_command` replaces (as ``wandb agent`` does):

- ``${env}`` -> ``/usr/bin/env``; ``${interpreter}`` -> this Python; ``${program}`` -> the program path;
- ``${args}`` -> ``--key=value`` per parameter; ``${args_no_hyphens}`` -> ``key=value``;
- ``${args_no_boolean_flags}`` -> like ``${args}`` but ``--key`` for true and nothing for false;
- ``${args_json}`` -> one JSON object of all parameters; ``${args_json_file}`` -> the path of a file holding it.

Without ``command`` the default is ``${env} ${interpreter} ${program} ${args}``. Parameter names are the sweep's
top-level W&B names (dotted names stay dotted; a nested ``parameters:`` block is one JSON object value).

The metric (:func:`read_metric`) comes from the run's W&B summary (``<run_dir>/wandb/*run-*/``: its
``files/wandb-summary.json`` or, offline, the run's transaction log;
programs run with ``WANDB_DIR=<run_dir>`` and offline unless ``WANDB_MODE`` is set) or, failing that, from the last
JSON-object line of the program's output that has the metric as a key (what ``tools/train.py`` prints).

:class:`ProgramSweepLoop` is our durable loop with W&B's stopping rules: ``run_cap`` (runs in the whole sweep across
workers, counted by the store's atomic run ids), ``metric.target``, and a finished grid.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from metta.common.errors import ConfigError, MettaError, OptimizerError
from metta.sweep.dispatch import LocalDispatcher, TrainRequest
from metta.sweep.loop import LoopSummary, SweepLoop
from metta.sweep.store import DuplicateTrialError, SweepStore
from metta.sweep.wandb_format.run_files import run_summary

DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
_MACRO = re.compile(r"\$\{(\w+)\}")


def wandb_values(suggestion: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The value of each top-level W&B parameter name (dotted names are paths into the nested suggestion)."""
    out: dict[str, Any] = {}
    for key in keys:
        node: Any = suggestion
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ConfigError(f"suggestion has no value for parameter {key!r}")
            node = node[part]
        out[key] = node
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value)
    return str(value)


def expand_command(
    command: Sequence[str] | None, program: str | None, values: Mapping[str, Any], json_file: Path, python: str = ""
) -> list[str]:
    """The argv of one run: macros replaced as ``wandb agent`` does (list macros expand to several arguments)."""
    template = list(command or DEFAULT_COMMAND)
    args = [f"--{k}={_fmt(v)}" for k, v in values.items()]
    lists = {
        "args": args,
        "args_no_hyphens": [f"{k}={_fmt(v)}" for k, v in values.items()],
        "args_no_boolean_flags": [
            f"--{k}" if v is True else f"--{k}={_fmt(v)}" for k, v in values.items() if v is not False
        ],
    }
    scalars = {
        "env": "/usr/bin/env",
        "interpreter": python or sys.executable,
        "program": program or "",
        "args_json": json.dumps(dict(values)),
    }
    out: list[str] = []
    for item in template:
        whole = _MACRO.fullmatch(item)
        if whole and whole.group(1) in lists:
            out.extend(lists[whole.group(1)])
            continue
        if "${program}" in item and not program:
            raise ConfigError("command uses ${program} but the sweep has no 'program:'")

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name == "args_json_file":
                json_file.parent.mkdir(parents=True, exist_ok=True)
                json_file.write_text(json.dumps(dict(values)))
                return str(json_file)
            if name in scalars:
                return scalars[name]
            if name in lists:
                return " ".join(lists[name])
            raise ConfigError(f"unknown macro ${{{name}}} in command; W&B macros: {sorted([*scalars, *lists])}")

        out.append(_MACRO.sub(sub, item))
    return out


def _lookup(summary: Mapping[str, Any], metric: str) -> Any:
    if metric in summary:
        return summary[metric]
    node: Any = summary
    for part in metric.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def read_metric(run_dir: Path, log_path: Path, metric: str) -> tuple[float | None, str]:
    """(value, "") from the W&B summary file or the last JSON line of the log; (None, reason) when absent/NaN."""
    sources: list[tuple[str, Any]] = []
    runs = sorted((p for p in run_dir.glob("wandb/*run-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    if runs:
        try:
            summary = run_summary(runs[-1])
        except (OSError, ValueError, MettaError) as exc:
            return None, f"unreadable W&B run files in {runs[-1]}: {exc}"
        sources.append((str(runs[-1]), None if summary is None else _lookup(summary, metric)))
    if log_path.exists() and (not sources or sources[0][1] is None):
        found = None
        for line in log_path.read_text(errors="replace").splitlines():
            line = line.strip()
            if line.startswith("{") and line.endswith("}"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict) and _lookup(obj, metric) is not None:
                    found = _lookup(obj, metric)
        sources.append((str(log_path), found))
    for where, value in sources:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, f"metric {metric!r} in {where} is not a number: {value!r}"
        if not math.isfinite(value):
            return None, f"NaN score: metric {metric!r} = {value} in {where}"
        return float(value), ""
    return None, f"metric {metric!r} not found in the run's W&B summary or in a JSON line of {log_path}"


class _SweepDone(Exception):
    """Raised inside a trial when the sweep as a whole is finished (run_cap reached)."""


class _CappedStore:
    """A store view that refuses run ids past ``run_cap`` and a grid point that already has a result."""

    def __init__(self, store: SweepStore, run_cap: int | None, unique_points: bool) -> None:
        self._store, self._cap, self._unique = store, run_cap, unique_points

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def next_run_id(self, name: str) -> str:
        run_id = self._store.next_run_id(name)
        if self._cap is not None and int(run_id.rsplit(".", 1)[-1]) >= self._cap:
            raise _SweepDone(f"run_cap={self._cap} runs reached")
        return run_id

    def start_trial(self, name: str, run_id: str, suggestion: dict[str, Any], worker: str) -> Any:
        if self._unique:
            done = {json.dumps(o.suggestion, sort_keys=True) for o in self._store.load_observations(name) if o.run_id}
            if json.dumps(suggestion, sort_keys=True) in done:
                raise DuplicateTrialError(f"point {suggestion} already has a result")
        return self._store.start_trial(name, run_id, suggestion, worker)


class ProgramSweepLoop(SweepLoop):
    """The sweep loop running a W&B-style ``program``/``command`` and reading the metric back from the run."""

    def __init__(self, *args: Any, wandb_sweep: Any, program: str | None, extra_args: Sequence[str] = (), **kw: Any):
        super().__init__(*args, **kw)
        self.wb = wandb_sweep
        self.program = program
        self.extra_args = list(extra_args)  # appended after the command ({run_id}, {run_dir}, {data_dir}, {seed})
        self.store = _CappedStore(self.store, wandb_sweep.run_cap, wandb_sweep.method == "grid")

    def _execute(self, run_id: str, suggestion: dict[str, Any], metric: str) -> tuple[float | None, str]:
        run_dir = self.sweep_dir / "runs" / run_id
        values = wandb_values(suggestion, self.wb.keys)
        argv = expand_command(self.wb.command, self.program, values, run_dir / "args.json")
        seed = self._trial_seed(run_id)  # used by a {seed} argument, which the tool adds only with seed_per_trial
        argv += [
            a.format(run_id=run_id, run_dir=run_dir, data_dir=self.job.data_dir, seed=seed) for a in self.extra_args
        ]
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config-defaults.yaml").write_text(yaml.safe_dump({k: {"value": v} for k, v in values.items()}))
        env = {"WANDB_DIR": str(run_dir), "WANDB_RUN_GROUP": self.name, "WANDB_NAME": run_id}
        env["WANDB_SWEEP_PARAM_PATH"] = str(run_dir / "config-defaults.yaml")
        if "WANDB_MODE" not in os.environ:
            env["WANDB_MODE"] = "offline"  # no W&B server here: the summary file is written locally
        dispatcher = self.dispatcher if isinstance(self.dispatcher, _FixedDispatcher) else None
        disp = LocalDispatcher(argv, env={**env, **(dispatcher.env if dispatcher else {})})
        req = TrainRequest(run_id, run_dir, (), run_dir / "train.log", self.job.settings.train_timeout)
        out = disp.train(req, lambda s, line: self.log(f"[{self.name}] {run_id} running {s:.0f}s | {line[:90]}"))
        self._cost = max(out.wall_s, 1e-3)
        if not out.ok:
            return None, f"{out.reason} (log: {req.log_path})"
        return read_metric(run_dir, req.log_path, metric)

    def _best_reaches_target(self) -> bool:
        target = self.wb.target
        if target is None:
            return False
        scores = [o.objective for o in self.store.load_observations(self.name) if o.objective is not None]
        if not scores:
            return False
        return max(scores) >= target if self.wb.goal == "maximize" else min(scores) <= target

    def run(self) -> LoopSummary:
        """Trials until run_cap, target, a finished grid, ``num_trials`` (per worker), or Ctrl-C."""
        summary = LoopSummary()
        self.register()
        try:
            while self.job.num_trials == 0 or len(summary.trials) < self.job.num_trials:
                if self._best_reaches_target():
                    summary.stopped_reason = f"metric.target={self.wb.target} reached"
                    break
                try:
                    rec = self.run_trial()
                except _SweepDone as exc:
                    summary.stopped_reason = str(exc)
                    break
                except OptimizerError as exc:
                    if "exhausted" not in str(exc):
                        raise
                    summary.stopped_reason = "grid complete: every point was run"
                    break
                summary.trials.append(rec)
                if rec.is_failure:
                    self.sleep(self.job.settings.rollout_retry_delay)
        except KeyboardInterrupt:
            summary.stopped_reason = "interrupted by user (Ctrl-C); finished trials are stored"
        summary.rejections = self._rejections
        summary.stopped_reason = summary.stopped_reason or f"ran num_trials={self.job.num_trials} trials"
        self.log(f"[{self.name}] stopped: {summary.stopped_reason}")
        return summary


class _FixedDispatcher:
    """Carries extra environment variables for program runs (the loop builds each run's command itself)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(env or {})

    def train(self, request: TrainRequest, progress: Any = None) -> Any:  # pragma: no cover - never called
        raise ConfigError("ProgramSweepLoop builds its own command per run")


def program_dispatcher(env: Mapping[str, str] | None = None) -> _FixedDispatcher:
    """The dispatcher placeholder a :class:`ProgramSweepLoop` takes (extra env vars for every run)."""
    return _FixedDispatcher(env)


class NoEvaluator:
    """Evaluator placeholder: a program sweep's metric comes from the run itself."""

    def evaluate(self, run_dir: Path, timeout_s: float) -> Any:  # pragma: no cover - never called
        raise ConfigError("program sweeps read the metric from the run, not from an evaluation suite")
