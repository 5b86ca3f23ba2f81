"""TrainTool: a training job built in Python; ``invoke`` runs :func:`metta.rl.trainer.train` on it."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from metta.agent.config import AgentConfig
from metta.common.device import cuda_present, resolve_hardware
from metta.common.errors import ConfigError
from metta.env.training_env import TrainingEnv, coerce_training_env
from metta.rl.trainer_config import TrainerConfig, TrainJobConfig, WandbConfig, resolve_train_job
from metta.tools.tool import Tool


def run_train_job(job: TrainJobConfig) -> tuple[int, dict[str, Any]]:
    """Train ``job`` with in-training evaluation wired in: the one run path of ``./tools/train.py`` and TrainTool."""
    # the trainer and the evaluator load torch: imported when a job runs, not when a recipe builds its TrainTool
    from metta.rl.job import run_job
    from metta.sim.training_eval import make_evaluate_fn

    return run_job(job, evaluate_fn=make_evaluate_fn(job))


class TrainTool(Tool):
    """The fields of :class:`TrainJobConfig`, so that overrides use the same paths as the Hydra tree.

    ``run_dir`` and ``policy_uri`` default to ``<data_dir>/<run>`` and ``file://<run_dir>/checkpoints`` (the
    Hydra interpolations) when left empty.
    """

    run: str = Field(min_length=1, max_length=200, description="Run name (directory under data_dir).")
    data_dir: str = Field("./train_dir", min_length=1, description="Root of run directories.")
    run_dir: str = Field("", description="This run's directory (empty = <data_dir>/<run>).")
    policy_uri: str = Field("", description="Where policies are written (empty = file://<run_dir>/checkpoints).")
    hardware: str = Field(
        "custom", description="Hardware profile the sizes came from (cpu, gpu, custom; auto resolves to cpu or gpu)."
    )
    trainer: TrainerConfig = Field(default_factory=TrainerConfig, description="Trainer settings.")
    agent: AgentConfig = Field(default_factory=AgentConfig, description="Policy architecture.")
    wandb: WandbConfig = Field(default_factory=WandbConfig, description="W&B settings.")
    env: TrainingEnv = Field(description="Resolved env (EnvConfig) or curriculum (CurriculumConfig).")

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, v: Any) -> Any:
        return coerce_training_env(dict(v) if isinstance(v, Mapping) else v)

    @field_validator("hardware")
    @classmethod
    def _hardware(cls, v: str) -> str:
        return v if v == "custom" else resolve_hardware(v)

    def model_post_init(self, __context: Any) -> None:
        run_dir = self.run_dir or _default_run_dir(self.data_dir, self.run)
        object.__setattr__(self, "run_dir", run_dir)
        object.__setattr__(self, "policy_uri", self.policy_uri or _default_policy_uri(run_dir))

    def with_overrides(self, overrides: Sequence[str] | Mapping[str, Any]) -> TrainTool:
        """As :meth:`Tool.with_overrides`; run_dir/policy_uri still derived from run/data_dir follow them."""
        new = super().with_overrides(overrides)
        derived_dir = self.run_dir == _default_run_dir(self.data_dir, self.run)
        derived_uri = self.policy_uri == _default_policy_uri(self.run_dir)
        update: dict[str, str] = {}
        if derived_dir and new.run_dir == self.run_dir:
            update["run_dir"] = _default_run_dir(new.data_dir, new.run)
        run_dir = update.get("run_dir", new.run_dir)
        if derived_uri and new.policy_uri == self.policy_uri:
            update["policy_uri"] = _default_policy_uri(run_dir)
        return new.model_copy(update=update) if update else new

    def job(self) -> TrainJobConfig:
        """The TrainJobConfig this tool runs, through the same :func:`resolve_train_job` as ``./tools/train.py``."""
        data = self.model_dump(mode="json", exclude={"env"})
        return resolve_train_job(data, env=self.env)

    def invoke(self, args: Mapping[str, str], overrides: Sequence[str]) -> int:
        """Train; write ``<run_dir>/train_result.json`` like ./tools/train.py. Exit 0 ok, 1 failed, 130 Ctrl-C."""
        job = self.job()
        if job.hardware == "gpu" and not cuda_present():
            print(
                f"note: hardware=gpu sizing (total_timesteps {job.trainer.total_timesteps:,}, batch_size "
                f"{job.trainer.batch_size:,}) on a machine without CUDA; pass `--args hardware=cpu` for the CPU "
                "profile that trains in minutes.",
                file=sys.stderr,
            )
        code, _result = run_train_job(job)
        return code


def _default_run_dir(data_dir: str, run: str) -> str:
    return f"{data_dir}/{run}"


def _default_policy_uri(run_dir: str) -> str:
    return f"file://{run_dir}/checkpoints"


def from_json(path: str) -> TrainTool:
    """Recipe-like loader: the TrainTool a sweep trial wrote to ``<run_dir>/train_tool.json``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read TrainTool config {path}: {exc}") from exc
    return TrainTool.model_validate(data)
