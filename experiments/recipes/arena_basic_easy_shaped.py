"""Recipe: PPO on arena/basic_easy_shaped, written in Python with the typed configs the Hydra path resolves into.

Every training-relevant value is written out here, on purpose, instead of being inherited from class defaults:
defaults that drift silently between the YAML tree and the Python tree are how training regressions slip in. The
parity test (tests/config_diff/test_parity.py) runs ``./tools/config_diff.py`` between ``configs/train_job.yaml``
and this file and fails on any critical difference.

    ./tools/run.py experiments.recipes.arena_basic_easy_shaped.train --args run=my_run
    ./tools/run.py experiments.recipes.arena_basic_easy_shaped.train --args run=smoke hardware=cpu \\
        --overrides trainer.total_timesteps=50000 system.seed=42
    ./tools/run.py experiments.recipes.arena_basic_easy_shaped.evaluate --args policy_uri=file://./train_dir/my_run/checkpoints

``hardware`` selects one of the two sizings of ``configs/hardware/``. The default ``auto`` picks the same profile
``./tools/train.py`` picks (``cpu`` without a CUDA device, else ``gpu``), and the chosen profile is printed at start
and stored with the run, so a per-machine batch size is never silent. Pass ``hardware=gpu`` for the Hydra-era sizing
on any machine (the parity test does).
"""

from __future__ import annotations

import os
from typing import Any

from metta.agent.config import AgentConfig
from metta.common.device import resolve_hardware
from metta.env.config import EnvConfig, load_env_config
from metta.rl.compute import ComputeConfig
from metta.rl.trainer_config import (
    CheckpointConfig,
    HyperparameterSchedulerConfig,
    OptimizerConfig,
    PPOConfig,
    ScheduleConfig,
    SystemConfig,
    TrainerConfig,
    TrainerSimulationConfig,
    WandbConfig,
)
from metta.sim.config import load_suite
from metta.tools.sim import SimTool
from metta.tools.train import TrainTool

CURRICULUM = "/env/mettagrid/arena/basic_easy_shaped"

# Reward per unit of each held item and its cap (the "shaped" part of the task).
SHAPED_REWARDS = {"ore_red": 0.1, "battery_red": 0.8, "laser": 0.5, "armor": 0.5, "blueprint": 0.5, "heart": 1.0}
SHAPED_REWARD_CAPS = {"ore_red": 1.0, "battery_red": 1.0, "laser": 1.0, "armor": 1.0, "blueprint": 1.0}

# The two sizings of configs/hardware/{gpu,cpu}.yaml: trainer sizes, system settings, eval cadence.
HARDWARE: dict[str, dict[str, Any]] = {
    "gpu": {
        "trainer": dict(
            total_timesteps=10_000_000_000, num_envs=336, batch_size=524288, minibatch_size=16384, bptt_horizon=64
        ),
        "system": dict(device="auto", torch_threads=0),
        "evaluate_interval": 50,
    },
    "cpu": {
        "trainer": dict(total_timesteps=5_000_000, num_envs=8, batch_size=12288, minibatch_size=3072, bptt_horizon=64),
        "system": dict(device="cpu", torch_threads=1),
        "evaluate_interval": 0,
    },
}


def make_env() -> EnvConfig:
    """arena/basic_easy with this recipe's shaped rewards set explicitly."""
    env = load_env_config(CURRICULUM)
    rewards = env.game.agent.rewards.model_copy(
        update={"inventory": dict(SHAPED_REWARDS), "inventory_max": dict(SHAPED_REWARD_CAPS)}
    )
    agent = env.game.agent.model_copy(update={"rewards": rewards})
    game = env.game.model_copy(update={"agent": agent})
    return EnvConfig.from_dict(env.model_copy(update={"game": game}).model_dump(mode="json"))


def make_trainer(hardware: str = "auto") -> TrainerConfig:
    """PPO with the Hydra-era coefficients and all four schedules, written out explicitly here."""
    profile = _profile(hardware)
    return TrainerConfig(
        **profile["trainer"],
        update_epochs=1,
        curriculum=CURRICULUM,
        initial_policy_uri=None,
        env_overrides={},
        ppo=PPOConfig(
            gamma=0.977,
            gae_lambda=0.916,
            clip_coef=0.1,
            vf_coef=0.44,
            vf_clip_coef=0.1,
            ent_coef=0.0021,
            max_grad_norm=0.5,
            clip_vloss=True,
            norm_adv=True,
            target_kl=None,
            l2_reg_loss_coef=0.0,
            l2_init_loss_coef=0.0,
        ),
        optimizer=OptimizerConfig(
            type="adam", learning_rate=0.000457, beta1=0.9, beta2=0.999, eps=1e-12, weight_decay=0.0
        ),
        hyperparameter_scheduler=HyperparameterSchedulerConfig(
            learning_rate_schedule=ScheduleConfig(type="cosine", initial_value=None, min_value=0.00003),
            ppo_clip_schedule=ScheduleConfig(type="logarithmic", initial_value=None, min_value=0.05, decay_rate=0.1),
            ppo_ent_coef_schedule=ScheduleConfig(type="linear", initial_value=None, min_value=0.0),
            ppo_vf_clip_schedule=ScheduleConfig(type="linear", initial_value=None, min_value=0.05),
        ),
        checkpoint=CheckpointConfig(checkpoint_interval=50, keep_last=None),
        compute=ComputeConfig(precision="fp32", compile=False),
        simulation=TrainerSimulationConfig(evaluate_interval=profile["evaluate_interval"], suite="arena"),
        log_interval=1,
        max_epochs=None,
        mask_dead_attack=False,
    )


def train(run: str, hardware: str = "auto") -> TrainTool:
    """Train a `fast` agent on arena/basic_easy_shaped (the Hydra ``train_job`` with ``hardware=<hardware>``)."""
    hardware = resolve_hardware(hardware)
    profile = _profile(hardware)
    return TrainTool(
        run=run,
        data_dir=os.environ.get("DATA_DIR", "./train_dir"),
        hardware=hardware,
        system=SystemConfig(seed=0, torch_deterministic=True, **profile["system"]),
        trainer=make_trainer(hardware),
        agent=AgentConfig(
            name="fast",
            hidden_size=128,
            lstm_layers=2,
            cnn_channels=64,
            fc_size=128,
            actor_hidden=512,
            critic_hidden=1024,
            action_embedding_dim=16,
            lstm_bias_init=1.0,
        ),
        wandb=WandbConfig(mode="auto", project="metta", entity=None, group=None, tags=[], dir=None),
        env=make_env(),
    )


def evaluate(policy_uri: str, suite: str = "arena", stats_db_path: str = "./train_dir/eval/stats.db") -> SimTool:
    """Evaluate a policy on a suite of configs/sim/ (default: the standard arena suite)."""
    return SimTool(
        policy_uri=policy_uri,
        suite=load_suite(suite),
        stats_db_path=stats_db_path,
        system=SystemConfig(seed=42, torch_deterministic=True, device="cpu"),
    )


def evaluate_in_sweep(
    policy_uri: str, suite: str = "sweep_eval", stats_db_path: str = "./train_dir/eval/sweep_stats.db"
) -> SimTool:
    """The cheap evaluation sweeps score trials with (the training env, few short episodes); metric = category."""
    return SimTool(
        policy_uri=policy_uri,
        suite=load_suite(suite),
        stats_db_path=stats_db_path,
        metric="sweep_eval",
        system=SystemConfig(seed=42, torch_deterministic=True, device="cpu"),
    )


def _profile(hardware: str) -> dict[str, Any]:
    hardware = resolve_hardware(hardware)
    if hardware not in HARDWARE:
        raise ValueError(f"hardware {hardware!r} is not one of {sorted(HARDWARE)} (configs/hardware/)")
    return HARDWARE[hardware]
