"""A PufferLib-style vector interface over the arena: ``reset`` / ``send`` / ``recv`` on flat arrays.

``recv()`` returns ``(obs, rewards, terminals, truncations, infos, env_ids, masks)`` with one row per agent, as
PufferLib's vector envs do; ``single_observation_space``, ``single_action_space`` and ``num_agents`` (all agents)
describe it. Needs only numpy and gymnasium's spaces (no pufferlib, no torch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from metta.env.config import EnvConfig
from metta.env.vecenv import VecEnv


class ArenaPufferEnv:
    """Flat-array vector env: ``reset(seed)`` then ``send(actions)`` / ``recv()`` per step."""

    def __init__(self, cfg: EnvConfig, num_instances: int = 1, seed: int = 0) -> None:
        self._env = VecEnv(cfg, num_envs=num_instances, seed=seed)
        self.num_agents = self._env.total_agents
        self.agents_per_env = self._env.num_agents
        self.single_observation_space = spaces.Box(0, 255, shape=tuple(self._env.obs_shape), dtype=np.uint8)
        self.single_action_space = spaces.Discrete(self._env.num_actions)
        self.env_ids = np.arange(self.num_agents)
        self.masks = np.ones(self.num_agents, dtype=bool)
        self._pending: tuple[Any, ...] | None = None

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, list[dict]]:
        obs = self._env.reset(seed)
        zeros = np.zeros(self.num_agents, np.float32)
        self._pending = (obs, zeros, np.zeros(self.num_agents, bool), np.zeros(self.num_agents, bool), [])
        return obs, []

    def send(self, actions: np.ndarray) -> None:
        obs, rewards, dones, infos = self._env.step(np.asarray(actions, dtype=np.int64).reshape(-1))
        episode = [{"episode_return": float(np.mean(i.agent_returns)), "length": i.steps} for i in infos]
        self._pending = (obs, rewards, np.zeros_like(dones), dones, episode)

    def recv(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict], np.ndarray, np.ndarray]:
        if self._pending is None:
            raise RuntimeError("recv() before reset(): call reset() first")
        obs, rewards, terminals, truncations, infos = self._pending
        return obs, rewards, terminals, truncations, infos, self.env_ids, self.masks

    def close(self) -> None:
        self._env.close()
