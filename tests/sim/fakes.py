"""Small stand-ins with the VecEnv and policy interfaces, for exact hand-counted runner tests."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch

from metta.common.seeding import derive_seed


@dataclass
class FakeInfo:
    env_index: int
    seed: int
    steps: int
    agent_returns: np.ndarray
    agent_stats: list[dict[str, float]]
    game_stats: dict[str, float]


class CountingEnv:
    """Each env's episodes last ``length + env_index`` steps; an agent gets reward 1 per step it takes action 1
    and emits stat ``ones`` (only if it took action 1 at least once)."""

    obs_shape = (200, 3)
    num_actions = 3

    def __init__(self, num_envs: int, seed: int, num_agents: int = 2, length: int = 3) -> None:
        self.num_envs, self.seed, self.num_agents, self.length = num_envs, seed, num_agents, length
        self.total_agents = num_envs * num_agents
        self.t = np.zeros(num_envs, dtype=int)
        self.episode = np.zeros(num_envs, dtype=int)
        self.returns = np.zeros(self.total_agents)
        self.ones = np.zeros(self.total_agents)
        self.steps_taken = 0

    def _obs(self) -> np.ndarray:
        obs = np.full((self.total_agents, 200, 3), 0xFF, dtype=np.uint8)
        obs[:, 0, 0] = np.repeat(self.t, self.num_agents)
        return obs

    def reset(self) -> np.ndarray:
        return self._obs()

    def step(self, actions: np.ndarray):
        self.steps_taken += 1
        rewards = (actions == 1).astype(np.float32)
        self.returns += rewards
        self.ones += rewards
        self.t += 1
        dones = np.zeros(self.total_agents, dtype=bool)
        infos = []
        for e in range(self.num_envs):
            if self.t[e] >= self.length + e:
                rows = slice(e * self.num_agents, (e + 1) * self.num_agents)
                stats = [{"ones": float(v)} if v > 0 else {} for v in self.ones[rows]]
                seed = derive_seed(self.seed, e, int(self.episode[e]))
                infos.append(FakeInfo(e, seed, int(self.t[e]), self.returns[rows].copy(), stats, {}))
                dones[rows] = True
                self.returns[rows] = 0
                self.ones[rows] = 0
                self.t[e] = 0
                self.episode[e] += 1
        return self._obs(), rewards, dones, infos

    tables = SimpleNamespace(object_names=("wall", "altar"), obj_type_id=np.array([1, 8]), items=("ore_red", "heart"))

    def snapshot(self, env_index: int) -> dict:
        """A 5x(4+N) room: walls around, one altar holding t hearts, agents in row 2 facing right."""
        n, t = self.num_agents, int(self.t[env_index])
        grid = np.full((5, 4 + n), -1, dtype=int)
        grid[0, :] = grid[-1, :] = grid[:, 0] = grid[:, -1] = 1
        grid[1, 1] = 8
        grid[2, 1 : n + 1] = 0
        return {
            "grid": grid,
            "converter_row": np.array([1]),
            "converter_col": np.array([1]),
            "converter_inventory": np.array([[0, t]]),
            "agent_row": np.full(n, 2),
            "agent_col": np.arange(n) + 1,
            "agent_orientation": np.full(n, 3),
            "agent_frozen": np.zeros(n),
            "agent_inventory": np.array([[t, 0]] * n),
        }


class ScriptedPolicy:
    """Agent row r (within the batch it is given) always takes action ``pattern[r % len(pattern)]``."""

    obs_shape = (200, 3)
    num_actions = 3

    def __init__(self, pattern=(1, 0)) -> None:
        self.pattern = pattern
        self.resets = 0

    def initial_state(self, batch_size: int):
        return torch.zeros(batch_size)

    def act(self, obs, state, generator):
        b = obs.shape[0]
        actions = torch.tensor([self.pattern[r % len(self.pattern)] for r in range(b)])
        return actions, torch.zeros(b), torch.zeros(b), state + 1

    def reset_state(self, state, mask):
        self.resets += int(mask.sum())
        return torch.where(mask, torch.zeros_like(state), state)


class RandomPolicy(ScriptedPolicy):
    """Uniform random actions from the given torch generator."""

    def act(self, obs, state, generator):
        b = obs.shape[0]
        actions = torch.randint(0, self.num_actions, (b,), generator=generator)
        return actions, torch.zeros(b), torch.zeros(b), state
