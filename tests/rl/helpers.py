"""Tiny training jobs for tests (2 arenas x 24 agents, short episodes, a few epochs)."""

from __future__ import annotations

from pathlib import Path

from metta.common.config import compose
from metta.rl.trainer_config import TrainJobConfig, resolve_train_job

TINY = [
    "hardware=cpu",
    "wandb=disabled",
    "agent=mlp",
    "hardware.torch_threads=1",
    "trainer.num_envs=2",
    "trainer.bptt_horizon=16",
    "trainer.batch_size=768",
    "trainer.minibatch_size=384",
    "trainer.total_timesteps=2304",
    "trainer.checkpoint.checkpoint_interval=1",
    "++trainer.env_overrides.game.max_steps=20",
]


def tiny_overrides(data_dir: Path, run: str = "tiny", extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    return [f"run={run}", f"data_dir={data_dir}", *TINY, *extra]


def tiny_job(data_dir: Path, run: str = "tiny", extra: list[str] | tuple[str, ...] = ()) -> TrainJobConfig:
    return resolve_train_job(compose("train_job", tiny_overrides(data_dir, run, extra)))
