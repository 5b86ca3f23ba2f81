"""SweepTool: run the Protein sweep loop over TrainTools made by a ``train_tool_factory(run_name)``.

Thin on purpose: the loop, store, evaluator and failure handling are the sweep module's (``metta.sweep.loop``), the
same ones ``./tools/sweep_execute.py`` uses, with the same default store (``<data_dir>/sweep/sweeps.db``), so a sweep
started by either entry point can be resumed or inspected by the other's tools. What differs is how a trial is
trained: :class:`ToolDispatcher` builds the trial's TrainTool in Python (factory → sweep overrides → suggestion,
type-checked), writes it to ``<run_dir>/train_tool.json`` and trains it in a child process (the ``RUN_SCRIPT``
entry point running ``metta.tools.train.from_json``), so a crashing trial is recorded as a failure and never takes
the sweep down.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from metta.common.errors import ConfigError, MettaError
from metta.sweep.dispatch import LocalDispatcher, ProgressFn, TrainOutcome, TrainRequest
from metta.sweep.store import open_store
from metta.sweep.sweep_config import SweepConfig, SweepJobConfig, SweepSettings, default_settings, sweep_job_from_config
from metta.sweep.trial import SimEvaluator
from metta.tools.entrypoints import RUN_SCRIPT
from metta.tools.tool import Tool
from metta.tools.train import TrainTool

if TYPE_CHECKING:  # the loop loads the optimizers (scipy); a recipe that only builds its SweepTool never needs them
    from metta.sweep.loop import SweepLoop

TrainToolFactory = Callable[[str], TrainTool]

__all__ = ["DEFAULT_TRIAL_OVERRIDES", "SweepConfig", "SweepTool", "ToolDispatcher", "make_trial_tool"]

# Applied to every trial before the suggestion (as sweep_job.yaml's sweep_job_overrides).
DEFAULT_TRIAL_OVERRIDES: dict[str, Any] = {"trainer.simulation.evaluate_interval": 0, "wandb.mode": "disabled"}


class SweepTool(Tool):
    """A sweep over TrainTools. ``system.seed`` seeds the optimizer; trials keep their factory's seed."""

    sweep_name: str = Field(min_length=1, max_length=200, description="Sweep name (store key, run id prefix).")
    sweep: SweepConfig = Field(description="Search space and trial count.")
    data_dir: str = Field(
        default_factory=lambda: os.environ.get("DATA_DIR", "./train_dir"),
        min_length=1,
        description="Root of run directories (sweep dir = <data_dir>/sweep/<sweep_name>).",
    )
    train_tool_factory: Any = Field(exclude=True, description="Callable run_name -> TrainTool.")

    @field_validator("train_tool_factory")
    @classmethod
    def _callable(cls, v: Any) -> Any:
        if not callable(v):
            raise ValueError(f"train_tool_factory must be callable (run_name -> TrainTool), got {type(v).__name__}")
        return v

    def settings(self) -> SweepSettings:
        return self.sweep.settings or default_settings(self.data_dir)

    def job(self) -> SweepJobConfig:
        """The sweep job, resolved by the same function as ``./tools/sweep_execute.py``."""
        return sweep_job_from_config(self.sweep_name, self.data_dir, self.system.seed, self.sweep)

    def base_tool(self, run_name: str = "probe") -> TrainTool:
        """The factory's TrainTool with the per-trial overrides applied (what every suggestion is merged into)."""
        return make_trial_tool(self.train_tool_factory, run_name, self.sweep.train_overrides, ())

    def check_parameters(self) -> None:
        """Every searched path must exist in the TrainTool and accept its bounds (ConfigError naming the path)."""
        base = self.base_tool()
        for path, p in self.sweep.protein.flat_parameters().items():
            probes = list(p.values) if p.values else [v for v in (p.min, p.max) if v is not None]
            for value in probes:
                if p.distribution.startswith("int") and isinstance(value, float):
                    value = int(value)
                try:
                    base.with_overrides({path: value})
                except MettaError as exc:
                    raise ConfigError(
                        f"sweep parameter {path} (value {value!r}) does not fit the TrainTool: {exc}"
                    ) from exc

    def build_loop(self, dispatcher: Any = None, evaluator: Any = None, **loop_kwargs: Any) -> SweepLoop:
        """The sweep module's SweepLoop wired to this tool (collaborators injectable for tests)."""
        from metta.sweep.loop import SweepLoop

        self.check_parameters()
        job = self.job()
        return SweepLoop(
            job,
            open_store(job.settings.sweep_server_uri),
            dispatcher or ToolDispatcher(self.train_tool_factory, self.sweep.train_overrides),
            evaluator or SimEvaluator(job.sim_name, self.sweep.protein.metric),
            self.base_tool().trainer.model_dump(mode="json"),
            **loop_kwargs,
        )

    def invoke(self, args: Mapping[str, str], overrides: Sequence[str]) -> int:
        summary = self.build_loop().run()
        failures = sum(1 for t in summary.trials if t.is_failure)
        print(f"[{self.sweep_name}] {len(summary.trials)} trials, {failures} failed; {summary.stopped_reason}")
        return 0


def make_trial_tool(
    factory: TrainToolFactory, run_name: str, train_overrides: Mapping[str, Any], args: Sequence[str]
) -> TrainTool:
    """factory(run_name) → DEFAULT_TRIAL_OVERRIDES → ``train_overrides`` → ``args`` (``key=value``/``++key=value``)."""
    tool = factory(run_name)
    if not isinstance(tool, TrainTool):
        raise MettaError(f"train_tool_factory returned {type(tool).__name__}, not a TrainTool")
    tool = tool.with_overrides({**DEFAULT_TRIAL_OVERRIDES, **dict(train_overrides)})
    return tool.with_overrides([a.lstrip("+~") for a in args]) if args else tool


class ToolDispatcher:
    """sweep Dispatcher: builds the trial's TrainTool in Python and trains it in a child process."""

    def __init__(
        self,
        factory: TrainToolFactory,
        train_overrides: Mapping[str, Any] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        self.factory = factory
        self.train_overrides = dict(train_overrides or {})
        self.inner = LocalDispatcher(
            command or [sys.executable, str(RUN_SCRIPT), "metta.tools.train.from_json", "--args"]
        )

    def train(self, request: TrainRequest, progress: ProgressFn | None = None) -> TrainOutcome:
        try:
            tool = make_trial_tool(self.factory, request.run_id, self.train_overrides, request.args)
        except MettaError as exc:
            return TrainOutcome(ok=False, reason=f"invalid trial config: {exc}", wall_s=0.0)
        request.run_dir.mkdir(parents=True, exist_ok=True)
        path = request.run_dir / "train_tool.json"
        path.write_text(json.dumps(tool.model_dump(mode="json"), indent=2), encoding="utf-8")
        child = TrainRequest(request.run_id, request.run_dir, (f"path={path}",), request.log_path, request.timeout_s)
        return self.inner.train(child, progress)
