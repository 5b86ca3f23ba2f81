"""The arena as a Gymnasium vector env: every agent of every instance is one sub-environment.

``num_envs`` = instances x agents; ``single_observation_space`` uint8 Box [200, 3]; ``single_action_space``
Discrete. Sub-environments reset themselves in the step that ends their episode (truncation by the step limit), as
the arena does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space

from metta.env.config import EnvConfig
from metta.env.vecenv import VecEnv


class ArenaVectorEnv(VectorEnv):
    """Gymnasium ``VectorEnv`` over :class:`VecEnv` (agents are the sub-environments)."""

    metadata = {"autoreset_mode": "SameStep", "render_modes": []}

    def __init__(self, cfg: EnvConfig, num_instances: int = 1, seed: int = 0) -> None:
        self._env = VecEnv(cfg, num_envs=num_instances, seed=seed)
        self.num_envs = self._env.total_agents
        self.single_observation_space = spaces.Box(0, 255, shape=tuple(self._env.obs_shape), dtype=np.uint8)
        self.single_action_space = spaces.Discrete(self._env.num_actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = None

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        if isinstance(seed, list):
            seed = seed[0]
        return self._env.reset(seed), {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        obs, rewards, dones, _ = self._env.step(np.asarray(actions, dtype=np.int64))
        return obs, rewards.astype(np.float64), np.zeros_like(dones), dones.copy(), {}

    def close_extras(self, **kwargs: Any) -> None:
        self._env.close()
