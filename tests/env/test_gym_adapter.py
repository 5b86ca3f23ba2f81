"""Gymnasium tasks behind the VecEnv interface: shapes, same-step reset, episode returns."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from metta.env.gym_adapter import GymTaskConfig, GymVecEnv, is_gym_task, load_gym_task


def test_cartpole_config_and_episodes() -> None:
    cfg = load_gym_task("/env/gym/cartpole")
    assert cfg.gym_id == "CartPole-v1" and cfg.num_agents == 1 and is_gym_task("/env/gym/cartpole")
    assert not is_gym_task("/env/mettagrid/arena/basic")
    env = GymVecEnv(GymTaskConfig(gym_id="CartPole-v1", max_episode_steps=20), 3, seed=5)
    obs = env.reset()
    assert obs.shape == (3, 4, 1) and obs.dtype == np.float32 and env.num_actions == 2 and env.total_agents == 3
    infos, total_reward = [], 0.0
    for _ in range(20):  # the step limit truncates every copy at step 20 at the latest
        obs, rew, done, inf = env.step(np.ones(3, dtype=np.int64))
        total_reward += float(rew.sum())
        infos += inf
        for i in inf:
            assert done[i.env_index]
    assert len(infos) >= 3
    # CartPole pays 1 per step: each finished episode's return equals its length
    assert all(float(i.agent_returns[0]) == i.steps for i in infos)
    assert sum(i.steps for i in infos) <= total_reward


def test_bad_actions_are_refused() -> None:
    env = GymVecEnv(GymTaskConfig(gym_id="CartPole-v1"), 2, seed=0)
    env.reset()
    with pytest.raises(Exception, match="actions must be an integer array"):
        env.step(np.zeros(3, dtype=np.int64))
