"""Rollout buffer and collection over a :class:`metta.env.VecEnv`.

Layout: every agent row a ∈ [0, A) collects H = K · bptt consecutive steps per epoch; segment s = a·K + k covers
steps [k·bptt, (k+1)·bptt) of row a. For each segment the LSTM state that the rollout used at its first step is
stored, and training unrolls the segment from that state, zeroing a row's state after a step whose transition ended
the episode — exactly what the rollout did. So, deliberately unlike the Hydra-era buffer: every row is fresh (no stale
tails left from the previous epoch), each segment is used exactly once per update epoch (a permutation), the last
step of a segment gets a real advantage (bootstrapped from the next observation), and the LSTM state is consistent
between rollout and training (carried across rollouts, reset at dones).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from metta.agent.policy import RecurrentPolicy, State
from metta.rl.phases import NO_TIMER, NullTimer

if TYPE_CHECKING:
    from metta.env.gym_adapter import GymVecEnv
    from metta.env.vecenv import EpisodeInfo, VecEnv


@dataclass
class RolloutBuffer:
    """Storage for one rollout: features/actions/logprobs/values [A, H, ...], rewards/dones numpy [A, H]."""

    num_agents: int
    horizon: int
    bptt: int
    features: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    values: torch.Tensor
    rewards: np.ndarray
    dones: np.ndarray
    h0: torch.Tensor  # [layers, A, K, hidden]
    c0: torch.Tensor
    bootstrap: torch.Tensor = field(default_factory=lambda: torch.zeros(0))

    @classmethod
    def allocate(
        cls,
        num_agents: int,
        horizon: int,
        bptt: int,
        feature_shape: Sequence[int],
        feature_dtype: torch.dtype,
        layers: int,
        hidden: int,
        device: torch.device | str,
    ) -> RolloutBuffer:
        if horizon % bptt:
            raise ValueError(f"horizon {horizon} must be a multiple of bptt {bptt}")
        k = horizon // bptt
        return cls(
            num_agents=num_agents,
            horizon=horizon,
            bptt=bptt,
            features=torch.zeros((num_agents, horizon, *feature_shape), dtype=feature_dtype, device=device),
            actions=torch.zeros((num_agents, horizon), dtype=torch.long, device=device),
            logprobs=torch.zeros((num_agents, horizon), device=device),
            values=torch.zeros((num_agents, horizon), device=device),
            rewards=np.zeros((num_agents, horizon), dtype=np.float32),
            dones=np.zeros((num_agents, horizon), dtype=bool),
            h0=torch.zeros((layers, num_agents, k, hidden), device=device),
            c0=torch.zeros((layers, num_agents, k, hidden), device=device),
        )

    @property
    def num_segments(self) -> int:
        return self.num_agents * (self.horizon // self.bptt)

    def segment_view(self, t: torch.Tensor) -> torch.Tensor:
        """[A, H, ...] → [S, bptt, ...] (segment s = a·K + k)."""
        return t.reshape(self.num_segments, self.bptt, *t.shape[2:])

    def segment_state(self) -> State:
        layers, a, k, hidden = self.h0.shape
        return self.h0.reshape(layers, a * k, hidden), self.c0.reshape(layers, a * k, hidden)

    def reset_mask(self) -> torch.Tensor:
        """[S, bptt] bool: reset the state before step t of a segment iff the transition at t-1 ended an episode."""
        d = torch.from_numpy(self.dones).reshape(self.num_segments, self.bptt)
        mask = torch.zeros_like(d)
        mask[:, 1:] = d[:, :-1]
        return mask.to(self.actions.device)


@dataclass
class RolloutState:
    """What carries over between rollouts: the current observation and LSTM state of every agent."""

    obs: np.ndarray
    state: State


def collect(
    env: VecEnv | GymVecEnv,
    policy: RecurrentPolicy,
    buf: RolloutBuffer,
    carry: RolloutState,
    generator: torch.Generator,
    device: torch.device | str,
    timer: NullTimer = NO_TIMER,
    autocast: Callable[[], AbstractContextManager] | None = None,
) -> tuple[RolloutState, list[EpisodeInfo]]:
    """Fill ``buf`` with H steps of every agent; returns the new carry and the EpisodeInfos that arrived.

    Runs under ``torch.inference_mode`` (no autograd bookkeeping; the carried LSTM state is an inference tensor,
    only ever read by later rollouts). ``autocast`` (a factory of e.g. a bf16 ``torch.autocast``) wraps the policy's
    forward passes; the stored log-probs and values are float32 either way. ``timer`` receives one lap per phase.
    """
    infos_all: list[EpisodeInfo] = []
    obs, state = carry.obs, carry.state
    amp = autocast if autocast is not None else nullcontext
    timer.start()
    with torch.inference_mode():
        for t in range(buf.horizon):
            if t % buf.bptt == 0:
                k = t // buf.bptt
                buf.h0[:, :, k] = state[0]
                buf.c0[:, :, k] = state[1]
            feats = policy.features(torch.from_numpy(obs).to(device))
            timer.lap("obs_conversion")
            with amp():
                actions, logprob, value, state = policy.act_features(feats, state, generator)
            timer.lap("forward")
            buf.features[:, t] = feats
            buf.actions[:, t] = actions
            buf.logprobs[:, t] = logprob
            buf.values[:, t] = value
            actions_np = actions.cpu().numpy()
            timer.lap("buffer")
            obs, rewards, dones, infos = env.step(actions_np)
            timer.lap("env")
            buf.rewards[:, t] = rewards
            buf.dones[:, t] = dones
            if infos:
                infos_all.extend(infos)
            if dones.any():
                state = policy.reset_state(state, torch.from_numpy(np.asarray(dones)).to(device))
            timer.lap("buffer")
        feats = policy.features(torch.from_numpy(obs).to(device))
        timer.lap("obs_conversion")
        with amp():
            buf.bootstrap = policy.value_features(feats, state).float()
        timer.lap("forward")
    return RolloutState(obs=obs, state=state), infos_all
