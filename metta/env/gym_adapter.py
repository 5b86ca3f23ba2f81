"""Gymnasium tasks as training environments: ``trainer.curriculum=/env/gym/cartpole`` (any ``gym_id``).

:class:`GymTaskConfig` is the typed task (``configs/env/gym/*.yaml``: ``gym_id``, ``max_episode_steps``, ``kwargs``);
:class:`GymVecEnv` steps ``num_envs`` copies with the interface of our arena ``VecEnv`` (``reset()``,
``step(actions) -> (obs, rewards, dones, episode infos)``, ``total_agents``, ``num_actions``, ``obs_shape``), one agent
per copy. A copy that ends (terminated or truncated) is reset in the same step, as the arena does, and reports an
:class:`EpisodeInfo` with its return and length. Observations are float32 ``[num_envs, D, 1]`` (flattened vectors),
so the ``mlp`` agent reads them unchanged. Needs the ``gymnasium`` package; discrete action spaces only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from metta.common.config import compose, to_container
from metta.common.config_base import FrozenConfig, validate_model
from metta.common.errors import ConfigError, EnvConfigError
from metta.env.vecenv import EpisodeInfo

GYM_PREFIX = "env/gym/"


class GymTaskConfig(FrozenConfig):
    """A Gymnasium task (one agent per environment copy)."""

    gym_id: str = Field(min_length=1, description="Gymnasium id, e.g. CartPole-v1.")
    max_episode_steps: int | None = Field(None, ge=1, description="Episode step limit (None = the task's own).")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments for gymnasium.make.")

    @property
    def num_agents(self) -> int:
        """Agents per environment copy (always 1)."""
        return 1


def is_gym_task(name: str) -> bool:
    """True when ``name`` (e.g. ``/env/gym/cartpole``) names a Gymnasium task config."""
    return name.strip().lstrip("/").startswith(GYM_PREFIX)


def load_gym_task(name: str, overrides: Sequence[str] = ()) -> GymTaskConfig:
    """Compose ``configs/env/gym/<name>.yaml`` with overrides relative to the task (e.g. ``max_episode_steps=200``)."""
    full = name.strip().lstrip("/").removesuffix(".yaml")
    try:
        cfg = compose(full, [f"env.gym.{o.lstrip('+')}" if "=" in o else o for o in overrides])
    except ConfigError as exc:
        raise EnvConfigError(f"cannot load gym task {name!r}: {exc}") from exc
    data = to_container(cfg)
    for part in ("env", "gym"):
        data = data[part]
    return validate_model(GymTaskConfig, data, f"gym task {name}")


def _make(cfg: GymTaskConfig) -> Any:
    try:
        import gymnasium as gym
    except ImportError as exc:
        raise EnvConfigError("gym tasks need the gymnasium package (pip install gymnasium)") from exc
    kw = dict(cfg.kwargs)
    if cfg.max_episode_steps is not None:
        kw["max_episode_steps"] = cfg.max_episode_steps
    try:
        env = gym.make(cfg.gym_id, **kw)
    except gym.error.Error as exc:
        raise EnvConfigError(f"gymnasium cannot make {cfg.gym_id!r}: {exc}") from exc
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise EnvConfigError(f"{cfg.gym_id} has action space {env.action_space}; only Discrete is supported")
    return env


class GymVecEnv:
    """``num_envs`` copies of a Gymnasium task behind the arena VecEnv interface (same-step reset)."""

    def __init__(self, cfg: GymTaskConfig, num_envs: int, seed: int) -> None:
        if not isinstance(cfg, GymTaskConfig):
            raise EnvConfigError(f"GymVecEnv needs a GymTaskConfig, got {type(cfg).__name__}")
        self.cfg, self.num_envs, self.seed = cfg, int(num_envs), int(seed)
        self.envs = [_make(cfg) for _ in range(self.num_envs)]
        space = self.envs[0].observation_space
        self.obs_dim = int(np.prod(space.shape))
        self.num_agents = 1
        self.total_agents = self.num_envs
        self.num_actions = int(self.envs[0].action_space.n)
        self.obs_shape = (self.obs_dim, 1)
        self.num_features = self.obs_dim
        self.action_names = [f"action_{i}" for i in range(self.num_actions)]
        self._returns = np.zeros(self.num_envs, np.float64)
        self._steps = np.zeros(self.num_envs, np.int64)
        self._episodes = 0
        self._obs = np.zeros((self.num_envs, self.obs_dim, 1), np.float32)

    def _reset_one(self, e: int, seed: int | None) -> None:
        obs, _ = self.envs[e].reset(seed=seed)
        self._obs[e, :, 0] = np.asarray(obs, np.float32).reshape(-1)
        self._returns[e], self._steps[e] = 0.0, 0

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset every copy (copy e seeded with seed + e) and return observations float32 [num_envs, D, 1]."""
        base = self.seed if seed is None else int(seed)
        for e in range(self.num_envs):
            self._reset_one(e, base + e)
        return self._obs.copy()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[EpisodeInfo]]:
        """Step every copy; finished copies are reset at once and reported as EpisodeInfo."""
        acts = np.asarray(actions)
        if acts.shape != (self.num_envs,) or not np.issubdtype(acts.dtype, np.integer):
            raise EnvConfigError(f"actions must be an integer array of shape ({self.num_envs},), got {acts.shape}")
        rewards = np.zeros(self.num_envs, np.float32)
        dones = np.zeros(self.num_envs, bool)
        infos: list[EpisodeInfo] = []
        for e, env in enumerate(self.envs):
            obs, r, term, trunc, _ = env.step(int(acts[e]))
            rewards[e] = float(r)
            self._returns[e] += float(r)
            self._steps[e] += 1
            self._obs[e, :, 0] = np.asarray(obs, np.float32).reshape(-1)
            if term or trunc:
                dones[e] = True
                infos.append(self._info(e))
                self._episodes += 1
                self._reset_one(e, None)
        return self._obs.copy(), rewards, dones, infos

    def _info(self, e: int) -> EpisodeInfo:
        return EpisodeInfo(
            env_index=e,
            seed=self.seed + e,
            steps=int(self._steps[e]),
            agent_returns=np.array([self._returns[e]], np.float32),
            agent_stats=[{}],
            game_stats={},
            label=self.cfg.gym_id,
        )

    def close(self) -> None:
        """Close every copy."""
        for env in self.envs:
            env.close()
