"""Typed, frozen configuration of a training job and the one ``resolve_train_job()`` that builds it.

Data flow: ``configs/train_job.yaml`` → Hydra compose (tools/ or :func:`metta.common.config.compose`) →
:func:`resolve_train_job` → :class:`TrainJobConfig` → library. Library code never reads the DictConfig.

A Python recipe builds the same objects directly (``TrainJobConfig(run=..., trainer=TrainerConfig(...), ...)``);
``model_dump(mode="json")`` of either path gives plain data that round-trips through ``TrainJobConfig.from_dict``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from metta.agent.config import AgentConfig
from metta.common.config import LEGACY_SYSTEM_ALIASES, system_settings, to_container
from metta.common.config_base import FrozenConfig, validate_model
from metta.common.errors import ConfigError
from metta.common.overrides import to_overrides
from metta.env.training_env import TrainingEnv, coerce_training_env, load_training_env
from metta.rl.compute import ComputeConfig

ScheduleType = Literal["constant", "linear", "cosine", "exponential", "logarithmic"]


class PPOConfig(FrozenConfig):
    """Clipped-PPO coefficients (Hydra-era defaults)."""

    gamma: float = Field(0.977, gt=0.0, le=1.0, description="Discount factor.")
    gae_lambda: float = Field(0.916, ge=0.0, le=1.0, description="GAE lambda (bias/variance trade-off).")
    clip_coef: float = Field(0.1, gt=0.0, le=1.0, description="Policy ratio clip range (base of ppo_clip_schedule).")
    vf_coef: float = Field(0.44, ge=0.0, le=100.0, description="Weight of the value loss.")
    vf_clip_coef: float = Field(0.1, ge=0.0, le=100.0, description="Value clip range (base of ppo_vf_clip_schedule).")
    ent_coef: float = Field(0.0021, ge=0.0, le=1.0, description="Entropy bonus weight (base of ppo_ent_coef_schedule).")
    max_grad_norm: float = Field(0.5, gt=0.0, le=1e6, description="Global gradient-norm clip.")
    clip_vloss: bool = Field(True, description="Use the clipped value loss.")
    norm_adv: bool = Field(True, description="Normalise advantages per minibatch.")
    target_kl: float | None = Field(None, gt=0.0, description="Stop updating above this approx KL (null = never).")
    l2_reg_loss_coef: float = Field(0.0, ge=0.0, description="L2 penalty on the weights.")
    l2_init_loss_coef: float = Field(0.0, ge=0.0, description="L2 penalty on the distance to the initial weights.")


class OptimizerConfig(FrozenConfig):
    """Optimizer of the policy parameters."""

    type: Literal["adam", "adamw"] = Field("adam", description="Optimizer family.")
    learning_rate: float = Field(0.000457, gt=0.0, le=1.0, description="Base learning rate (base of its schedule).")
    beta1: float = Field(0.9, ge=0.0, lt=1.0, description="Adam beta1.")
    beta2: float = Field(0.999, ge=0.0, lt=1.0, description="Adam beta2.")
    eps: float = Field(1e-12, gt=0.0, le=1.0, description="Adam epsilon.")
    weight_decay: float = Field(0.0, ge=0.0, le=1.0, description="Decoupled (adamw) or L2 (adam) weight decay.")


class ScheduleConfig(FrozenConfig):
    """One hyperparameter schedule over progress p = agent_step / total_timesteps (capped at 1)."""

    type: ScheduleType = Field("constant", description="Shape: constant, linear, cosine, exponential, logarithmic.")
    initial_value: float | None = Field(None, ge=0.0, description="Value at p=0; null = the base coefficient.")
    min_value: float | None = Field(None, ge=0.0, description="Value at p=1 (floor); null = initial_value.")
    decay_rate: float = Field(0.1, gt=0.0, le=1e3, description="Shape parameter of exponential/logarithmic.")


class HyperparameterSchedulerConfig(FrozenConfig):
    """Schedules applied at every update (defaults = trainer.yaml); a null entry keeps the coefficient constant."""

    learning_rate_schedule: ScheduleConfig | None = Field(
        default_factory=lambda: ScheduleConfig(type="cosine", min_value=0.00003),
        description="Schedule of optimizer.learning_rate.",
    )
    ppo_clip_schedule: ScheduleConfig | None = Field(
        default_factory=lambda: ScheduleConfig(type="logarithmic", min_value=0.05, decay_rate=0.1),
        description="Schedule of ppo.clip_coef.",
    )
    ppo_ent_coef_schedule: ScheduleConfig | None = Field(
        default_factory=lambda: ScheduleConfig(type="linear", min_value=0.0), description="Schedule of ppo.ent_coef."
    )
    ppo_vf_clip_schedule: ScheduleConfig | None = Field(
        default_factory=lambda: ScheduleConfig(type="linear", min_value=0.05),
        description="Schedule of ppo.vf_clip_coef.",
    )


class CheckpointConfig(FrozenConfig):
    """When policies are written to <run_dir>/checkpoints/model_{epoch:04d}.pt."""

    checkpoint_interval: int = Field(50, ge=1, le=10**9, description="Save every N epochs (and always at the end).")
    keep_last: int | None = Field(None, ge=1, description="Keep only the newest N checkpoints (null = keep all).")


class TrainerSimulationConfig(FrozenConfig):
    """In-training evaluation cadence."""

    evaluate_interval: int = Field(50, ge=0, le=10**9, description="Evaluate every N epochs (0 = never).")
    suite: str = Field("arena", min_length=1, description="Simulation suite name (configs/sim/<suite>.yaml).")


class TrainerConfig(FrozenConfig):
    """PPO trainer settings. Sizes count agent-steps; intervals count epochs (one rollout + update)."""

    total_timesteps: int = Field(10_000_000_000, ge=1, description="Stop after this many agent-steps.")
    batch_size: int = Field(524288, ge=1, description="Agent-steps per rollout (rounded to agents x bptt).")
    minibatch_size: int = Field(16384, ge=1, description="Agent-steps per gradient step.")
    bptt_horizon: int = Field(64, ge=1, le=4096, description="Segment length for truncated BPTT.")
    update_epochs: int = Field(1, ge=1, le=100, description="Passes over the rollout per epoch.")
    num_envs: int = Field(336, ge=1, le=100_000, description="Arena instances stepped in one VecEnv.")
    curriculum: str = Field(
        "/env/mettagrid/arena/basic_easy_shaped",
        min_length=1,
        description="Env config name, or a curriculum under /env/mettagrid/curriculum/ (task sampled at each reset).",
    )
    env_overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted env keys -> values.")
    mask_dead_attack: bool = Field(
        False, description="Mask the attack logits when attack can never succeed in the training env(s) (off = legacy)."
    )
    ppo: PPOConfig = Field(default_factory=PPOConfig, description="PPO coefficients.")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig, description="Optimizer settings.")
    hyperparameter_scheduler: HyperparameterSchedulerConfig = Field(
        default_factory=HyperparameterSchedulerConfig, description="Schedules of lr/clip/entropy/vf-clip."
    )
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig, description="Checkpoint cadence.")
    simulation: TrainerSimulationConfig = Field(default_factory=TrainerSimulationConfig, description="Eval cadence.")
    initial_policy_uri: str | None = Field(
        None, description="Start a new run from these weights (file://<dir or .pt>); ignored when resuming."
    )
    log_interval: int = Field(1, ge=1, le=10**6, description="Log metrics every N epochs.")
    max_epochs: int | None = Field(None, ge=1, description="Optional hard cap on epochs (null = none).")
    compute: ComputeConfig = Field(
        default_factory=ComputeConfig, description="Optional bf16 autocast / torch.compile (default fp32 eager)."
    )

    @model_validator(mode="after")
    def _sizes(self) -> TrainerConfig:
        if self.minibatch_size > self.batch_size:
            raise ValueError(
                f"minibatch_size {self.minibatch_size} > batch_size {self.batch_size}; lower trainer.minibatch_size"
            )
        if self.batch_size % self.minibatch_size:
            raise ValueError(
                f"batch_size {self.batch_size} is not divisible by minibatch_size {self.minibatch_size}; "
                "choose trainer.minibatch_size dividing trainer.batch_size"
            )
        if self.minibatch_size % self.bptt_horizon:
            raise ValueError(
                f"minibatch_size {self.minibatch_size} is not divisible by bptt_horizon {self.bptt_horizon}; "
                "choose trainer.bptt_horizon dividing trainer.minibatch_size"
            )
        return self


class SystemConfig(FrozenConfig):
    """Process-level settings."""

    seed: int = Field(0, ge=0, le=2**31 - 1, description="Base seed (torch, numpy, envs).")
    torch_deterministic: bool = Field(True, description="Use deterministic torch algorithms.")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N (auto = cuda when available).")
    torch_threads: int = Field(0, ge=0, le=1024, description="torch intra-op threads (0 = torch default).")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", v):
            raise ValueError(f"device {v!r} is not one of auto, cpu, cuda, cuda:N, mps")
        return v


class WandbConfig(FrozenConfig):
    """Weights & Biases logging. ``auto`` = online when credentials exist, else offline."""

    mode: Literal["auto", "online", "offline", "disabled"] = Field("auto", description="W&B mode.")
    project: str = Field("metta", min_length=1, description="W&B project.")
    entity: str | None = Field(None, description="W&B entity (null = the user's default).")
    group: str | None = Field(None, description="W&B run group.")
    tags: list[str] = Field(default_factory=list, description="W&B run tags.")
    dir: str | None = Field(None, description="Directory for W&B files (null = <run_dir>).")


class TrainJobConfig(FrozenConfig):
    """Everything a training run needs, fully resolved."""

    run: str = Field(..., min_length=1, max_length=200, description="Run name (directory under data_dir).")
    data_dir: str = Field("./train_dir", min_length=1, description="Root of run directories.")
    run_dir: str = Field(..., min_length=1, description="This run's directory.")
    policy_uri: str = Field(..., min_length=1, description="Where this run's policies live (file://.../checkpoints).")
    hardware: str = Field("custom", description="Hardware profile the sizes came from (cpu, gpu, custom).")
    system: SystemConfig = Field(default_factory=SystemConfig, description="Seed/device settings.")
    trainer: TrainerConfig = Field(default_factory=TrainerConfig, description="Trainer settings.")
    agent: AgentConfig = Field(default_factory=AgentConfig, description="Policy architecture.")
    wandb: WandbConfig = Field(default_factory=WandbConfig, description="W&B settings.")
    env: TrainingEnv = Field(
        ..., description="Resolved env of trainer.curriculum: an arena env, a curriculum or a Gymnasium task."
    )

    @field_validator("run")
    @classmethod
    def _run(cls, v: str) -> str:
        if "/" in v or v in (".", ".."):
            raise ValueError(f"run {v!r} must be a plain name (no '/')")
        return v

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, v: Any) -> Any:
        return coerce_training_env(dict(v) if isinstance(v, Mapping) else v)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainJobConfig:
        """Rebuild from ``model_dump(mode="json")`` output (e.g. the config stored in a checkpoint)."""
        return validate_model(cls, dict(data), "train job")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the env as its own model_dump)."""
        out = self.model_dump(mode="json", exclude={"env"})
        out["env"] = self.env.model_dump(mode="json")
        return out


_TOP_KEYS = {"run", "data_dir", "run_dir", "policy_uri", "system", "trainer", "agent", "wandb", "hardware", "env"}
_IGNORED_KEYS = {"hydra", "cmd", "defaults"}


def resolve_train_job(cfg: Any, env: Any | None = None) -> TrainJobConfig:
    """Turn the composed ``train_job`` DictConfig (or an equivalent plain dict) into a frozen TrainJobConfig.

    The env config is loaded from ``trainer.curriculum`` (+ ``trainer.env_overrides``) unless ``env`` is given.
    Raises ConfigError naming every bad key and value.
    """
    try:
        data = to_container(cfg)
    except Exception as exc:  # omegaconf raises its own errors for missing/interpolation problems
        raise ConfigError(f"cannot resolve train_job config: {exc} (set it, e.g. run=my_run)") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"train_job config must be a mapping, got {type(data).__name__}")
    data = dict(data)
    unknown = set(data) - _TOP_KEYS - _IGNORED_KEYS - set(LEGACY_SYSTEM_ALIASES)
    if unknown:
        raise ConfigError(f"unknown top-level train_job keys {sorted(unknown)}; remove them or fix their spelling")
    system = system_settings(data)
    hardware = data.get("hardware") or {}
    if isinstance(hardware, Mapping):
        hw_name = str(hardware.get("name", "custom"))
        if "torch_threads" in hardware and "torch_threads" not in system:
            system["torch_threads"] = hardware["torch_threads"]
    else:
        hw_name = str(hardware)
    trainer = validate_model(TrainerConfig, data.get("trainer") or {}, "train_job", "trainer.")
    payload = {
        "run": data.get("run"),
        "data_dir": data.get("data_dir", "./train_dir"),
        "run_dir": data.get("run_dir"),
        "policy_uri": data.get("policy_uri"),
        "hardware": hw_name,
        "system": validate_model(SystemConfig, system, "train_job", "system."),
        "trainer": trainer,
        "agent": validate_model(AgentConfig, data.get("agent") or {}, "train_job", "agent."),
        "wandb": validate_model(WandbConfig, data.get("wandb") or {}, "train_job", "wandb."),
    }
    if env is None:
        env = data.get("env")
    if env is None:
        env = load_training_env(trainer.curriculum, to_overrides(trainer.env_overrides, mode=""))
    payload["env"] = env
    return validate_model(TrainJobConfig, payload, "train_job")
