"""One arena instance as a PettingZoo ``ParallelEnv`` (agents ``agent_0`` .. ``agent_{n-1}``).

Episodes end by the step limit, so every agent is truncated together (terminations stay False); after that the
agent list is empty until ``reset()``. Observations are the uint8 token arrays [200, 3]; actions are the flat
discrete actions of the arena.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from metta.env.config import EnvConfig
from metta.env.vecenv import VecEnv


class ArenaParallelEnv(ParallelEnv):
    """PettingZoo parallel API over a one-instance :class:`VecEnv`."""

    metadata = {"name": "metta_arena_v0", "render_modes": []}

    def __init__(self, cfg: EnvConfig, seed: int = 0) -> None:
        self._env = VecEnv(cfg, num_envs=1, seed=seed)
        self.possible_agents = [f"agent_{i}" for i in range(self._env.num_agents)]
        self.agents: list[str] = []
        self._obs_space = spaces.Box(0, 255, shape=tuple(self._env.obs_shape), dtype=np.uint8)
        self._act_space = spaces.Discrete(self._env.num_actions)
        self.render_mode = None

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs = self._env.reset(seed)
        self.agents = list(self.possible_agents)
        return {a: obs[i] for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        acts = np.zeros(self._env.total_agents, dtype=np.int64)
        for i, a in enumerate(self.possible_agents):
            acts[i] = int(actions.get(a, 0))
        obs, rewards, dones, _ = self._env.step(acts)
        live = list(self.agents)
        out: tuple[dict, dict, dict, dict, dict] = (
            {a: obs[i] for i, a in enumerate(self.possible_agents) if a in live},
            {a: float(rewards[i]) for i, a in enumerate(self.possible_agents) if a in live},
            {a: False for a in live},
            {a: bool(dones[i]) for i, a in enumerate(self.possible_agents) if a in live},
            {a: {} for a in live},
        )
        if dones.any():
            self.agents = []
        return out

    def close(self) -> None:
        self._env.close()
