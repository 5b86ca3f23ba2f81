"""Learning actually happens: a short CPU run beats a uniform-random policy clearly (slow: ~30 s on 2 cores)."""

import json

import numpy as np
import pytest

from metta.common.config import compose
from metta.env import VecEnv
from metta.rl.trainer import train
from metta.rl.trainer_config import resolve_train_job


def _random_reward(env_cfg, num_envs, episodes, seed):
    env = VecEnv(env_cfg, num_envs, seed)
    env.reset()
    rng = np.random.default_rng(seed)
    returns = []
    while len(returns) < episodes:
        _o, _r, _d, infos = env.step(rng.integers(0, env.num_actions, env.total_agents))
        returns.extend(float(np.mean(i.agent_returns)) for i in infos)
    return float(np.mean(returns))


@pytest.mark.slow
def test_short_cpu_run_beats_random_policy(tmp_path):
    overrides = [
        "run=learn",
        f"data_dir={tmp_path}",
        "hardware=cpu",
        "wandb=disabled",
        "agent=mlp",
        "hardware.torch_threads=1",
        "trainer.num_envs=8",
        "trainer.batch_size=12288",
        "trainer.minibatch_size=3072",
        "trainer.total_timesteps=368640",
        "trainer.checkpoint.checkpoint_interval=1000",
        "++trainer.env_overrides.game.max_steps=250",
    ]
    job = resolve_train_job(compose("train_job", overrides))
    train(job)
    rows = [json.loads(x) for x in (tmp_path / "learn" / "metrics.jsonl").read_text().splitlines()]
    rewards = [r["overview/reward"] for r in rows if r.get("overview/reward") is not None]
    late = float(np.mean(rewards[-8:]))
    base = _random_reward(job.env, 8, 48, seed=123)
    assert late > 2.0 * base and late > base + 0.02, (late, base, rewards)
