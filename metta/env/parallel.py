"""A single-env, PettingZoo-style parallel view over :class:`VecEnv` (no pettingzoo dependency).

``reset(seed) -> (obs, infos)`` and ``step(actions) -> (obs, rewards, terminations, truncations, infos)``, each a
dict keyed by agent name. After an episode ends ``agents`` is empty until ``reset()`` is called again.
"""

from __future__ import annotations

import numpy as np

from metta.env.config import EnvConfig
from metta.env.vecenv import EpisodeInfo, VecEnv


class ParallelArenaEnv:
    """One arena env with dict-based multi-agent ``reset``/``step`` (PettingZoo parallel API shape)."""

    metadata = {"name": "metta_arena_v0", "render_modes": []}

    def __init__(self, cfg: EnvConfig, seed: int = 0):
        self._vec = VecEnv(cfg, num_envs=1, seed=seed)
        self.possible_agents = [f"agent_{i}" for i in range(self._vec.num_agents)]
        self.agents: list[str] = []
        self.last_episode: EpisodeInfo | None = None

    @property
    def vecenv(self) -> VecEnv:
        return self._vec

    @property
    def action_names(self) -> list[str]:
        return self._vec.action_names

    def observation_space(self, agent: str) -> dict:
        """Box-like description: uint8 tokens of shape (200, 3)."""
        return {"shape": self._vec.obs_shape, "dtype": np.uint8, "low": 0, "high": 255}

    def action_space(self, agent: str) -> dict:
        """Discrete description: ``n`` flat actions (see ``action_names``)."""
        return {"n": self._vec.num_actions, "dtype": np.int64}

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        obs = self._vec.reset(seed=seed)
        self.agents = list(self.possible_agents)
        return {a: obs[i] for i, a in enumerate(self.possible_agents)}, {a: {} for a in self.agents}

    def step(
        self, actions: dict[str, int]
    ) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]]:
        if not self.agents:
            raise RuntimeError("episode is over (or not started): call reset() first")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ValueError(f"actions missing for agents {missing}")
        flat = np.array([int(actions[a]) for a in self.possible_agents], dtype=np.int64)
        obs, rew, dones, infos = self._vec.step(flat)
        names = self.possible_agents
        terminations = {a: bool(dones[i]) for i, a in enumerate(names)}
        truncations = {a: False for a in names}
        agent_infos: dict[str, dict] = {a: {} for a in names}
        if infos:
            self.last_episode = infos[0]
            for i, a in enumerate(names):
                agent_infos[a] = {"episode_return": float(infos[0].agent_returns[i]), **infos[0].agent_stats[i]}
            self.agents = []
        return (
            {a: obs[i] for i, a in enumerate(names)},
            {a: float(rew[i]) for i, a in enumerate(names)},
            terminations,
            truncations,
            agent_infos,
        )

    def close(self) -> None:
        self._vec.close()
