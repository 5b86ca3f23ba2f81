"""Run one policy (plus an optional NPC policy) on one simulation for N episodes with recorded seeds.

The env is any object with the ``metta.env.VecEnv`` interface (``docs/interfaces.md``); the policy any object with
the ``metta.agent`` ``act`` interface. Finished episodes are handed to ``on_episode`` as they complete, so a time-out
or a crash keeps everything that finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from metta.common.errors import EvaluationError
from metta.common.seeding import derive_seed
from metta.sim.config import SimulationConfig
from metta.sim.stats_db import EpisodeRecord

MAX_PARALLEL_ENVS = 8


class Policy(Protocol):
    """The policy interface evaluation needs (see ``metta.agent``)."""

    num_actions: int
    obs_shape: tuple[int, ...]

    def initial_state(self, batch_size: int) -> Any: ...

    def act(self, obs: Any, state: Any, generator: Any) -> tuple[Any, Any, Any, Any]: ...

    def reset_state(self, state: Any, mask: Any) -> Any: ...


@dataclass(frozen=True)
class PolicyHandle:
    """A loaded policy plus the key/version it is recorded under in the stats DB."""

    policy: Any
    key: str
    version: int


@dataclass
class SimulationOutcome:
    """What one simulation run produced."""

    name: str
    status: str  # "complete" | "timeout"
    episodes: list[EpisodeRecord] = field(default_factory=list)
    wall_time_s: float = 0.0
    env_steps: int = 0


def episodes_per_env(num_episodes: int, num_envs: int) -> list[int]:
    """Split ``num_episodes`` over ``num_envs`` envs as evenly as possible (first envs get the remainder)."""
    base, rest = divmod(num_episodes, num_envs)
    return [base + (1 if i < rest else 0) for i in range(num_envs)]


def agent_assignment(num_envs: int, num_agents: int, policy_agents_pct: float, has_npc: bool) -> np.ndarray:
    """Bool mask [num_envs*num_agents]: True where the evaluated policy acts (the first agents of each env)."""
    n_policy = num_agents if not has_npc else int(round(policy_agents_pct * num_agents))
    if n_policy < 1:
        raise EvaluationError(
            f"policy_agents_pct={policy_agents_pct} leaves no agent of {num_agents} to the evaluated policy"
        )
    per_env = np.zeros(num_agents, dtype=bool)
    per_env[:n_policy] = True
    return np.tile(per_env, num_envs)


def check_compatible(policy: Any, env: Any, label: str) -> None:
    """Raise EvaluationError when the policy's observation shape or action count does not fit the env."""
    obs_shape = tuple(getattr(policy, "obs_shape", env.obs_shape))
    num_actions = int(getattr(policy, "num_actions", env.num_actions))
    if obs_shape != tuple(env.obs_shape):
        raise EvaluationError(f"{label}: policy observation shape {obs_shape} != env observation shape {env.obs_shape}")
    if num_actions != env.num_actions:
        raise EvaluationError(f"{label}: policy has {num_actions} actions but the env has {env.num_actions}")


class _Actor:
    """Runs one policy on a fixed subset of agent rows, keeping its recurrent state."""

    def __init__(self, handle: PolicyHandle, rows: np.ndarray, device: str, seed: int) -> None:
        import torch

        self.handle, self.rows, self.device = handle, rows, device
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.state = handle.policy.initial_state(len(rows))

    def act(self, obs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            x = torch.as_tensor(obs[self.rows], device=self.device)
            actions, _, _, self.state = self.handle.policy.act(x, self.state, self.generator)
        out = actions.detach().cpu().numpy() if hasattr(actions, "detach") else np.asarray(actions)
        return out.reshape(-1).astype(np.int64)

    def reset(self, dones: np.ndarray) -> None:
        import torch

        mask = dones[self.rows]
        if mask.any():
            self.state = self.handle.policy.reset_state(self.state, torch.as_tensor(mask, device=self.device))


def _record(
    info: Any,
    env: Any,
    policy_rows: np.ndarray,
    handles: tuple[PolicyHandle, PolicyHandle | None],
    started: float,
    max_steps: int | None,
) -> EpisodeRecord:
    na = env.num_agents
    own = policy_rows[info.env_index * na : (info.env_index + 1) * na]
    metrics, owners = [], []
    for j in range(na):
        m = {"reward": float(info.agent_returns[j])}
        m.update({k: float(v) for k, v in info.agent_stats[j].items()})
        metrics.append(m)
        h = handles[0] if own[j] else handles[1]
        assert h is not None  # rows not owned by the policy exist only when there is an NPC
        owners.append((h.key, h.version))
    return EpisodeRecord(
        env_index=int(info.env_index),
        seed=int(info.seed),
        steps=int(info.steps),
        agent_metrics=metrics,
        agent_policies=owners,
        created_at=started,
        completed_at=time.time(),
        max_steps=max_steps,
    )


def run_simulation(
    sim: SimulationConfig,
    env_factory: Callable[[int, int], Any],
    policy: PolicyHandle,
    npc: PolicyHandle | None = None,
    *,
    device: str = "cpu",
    on_episode: Callable[[EpisodeRecord], object] | None = None,
    on_step: Callable[[Any, int, np.ndarray | None], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    max_steps: int | None = None,
) -> SimulationOutcome:
    """Run ``sim.num_episodes`` episodes; ``env_factory(num_envs, seed)`` builds the vectorised env.

    Stops when every env finished its share of episodes or after ``sim.max_time_s`` (status ``timeout``; the
    episodes that finished are returned and were passed to ``on_episode``). ``on_step(env, step, dones)`` is
    called after reset (step 0, dones None) and after every step (for replays).
    """
    num_envs = min(sim.num_episodes, MAX_PARALLEL_ENVS)
    quota = episodes_per_env(sim.num_episodes, num_envs)
    env = env_factory(num_envs, sim.seed)
    if max_steps is None:
        max_steps = getattr(getattr(env, "game", None), "max_steps", None)
    check_compatible(policy.policy, env, f"simulation {sim.name!r} policy {policy.key}")
    if npc is not None:
        check_compatible(npc.policy, env, f"simulation {sim.name!r} NPC policy {npc.key}")
    mask = agent_assignment(num_envs, env.num_agents, sim.policy_agents_pct, npc is not None)
    actors = [_Actor(policy, np.flatnonzero(mask), device, derive_seed(sim.seed, 1))]
    if npc is not None and (~mask).any():
        actors.append(_Actor(npc, np.flatnonzero(~mask), device, derive_seed(sim.seed, 2)))
    t0, wall0 = clock(), time.time()
    out = SimulationOutcome(name=sim.name, status="complete")
    done_count = [0] * num_envs
    ep_started = [wall0] * num_envs
    obs = env.reset()
    if on_step is not None:
        on_step(env, 0, None)
    actions = np.zeros(env.total_agents, dtype=np.int64)
    while any(d < q for d, q in zip(done_count, quota, strict=True)):
        if clock() - t0 > sim.max_time_s:
            out.status = "timeout"
            break
        for actor in actors:
            actions[actor.rows] = actor.act(obs)
        obs, _, dones, infos = env.step(actions)
        out.env_steps += 1
        if on_step is not None:
            on_step(env, out.env_steps, np.asarray(dones, dtype=bool))
        for actor in actors:
            actor.reset(np.asarray(dones, dtype=bool))
        for info in infos:
            i = int(info.env_index)
            if done_count[i] < quota[i]:
                rec = _record(info, env, mask, (policy, npc), ep_started[i], max_steps)
                out.episodes.append(rec)
                if on_episode is not None:
                    on_episode(rec)
                done_count[i] += 1
            ep_started[i] = time.time()
    out.wall_time_s = clock() - t0
    return out
