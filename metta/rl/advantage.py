"""Generalised advantage estimation (pure functions).

Convention (matches metta.env.VecEnv): ``rewards[:, t]`` and ``dones[:, t]`` are the result of the action taken at
step t; ``values[:, t]`` is V(obs_t); ``bootstrap`` is V of the observation after the last step. A done at t means
the episode ended with that transition (the arena time limit is a terminal, as in legacy), so nothing is
bootstrapped across it:

    delta_t = r_t + gamma * V_{t+1} * (1 - d_t) - V_t
    A_t     = delta_t + gamma * lambda * (1 - d_t) * A_{t+1}

Unlike the Hydra-era trainer (which left the last step of each segment without a bootstrapped advantage), every
step, including the last one of a segment, gets a real advantage: the recursion runs over each agent's whole rollout
and the last step bootstraps from ``bootstrap``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def gae(
    rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, bootstrap: np.ndarray, gamma: float, gae_lambda: float
) -> np.ndarray:
    """Advantages [N, T] (float32) for rewards/values/dones [N, T] and bootstrap values [N]."""
    rewards = np.asarray(rewards, dtype=np.float32)
    values = np.asarray(values, dtype=np.float32)
    notdone = 1.0 - np.asarray(dones, dtype=np.float32)
    n, t_total = rewards.shape
    adv = np.zeros((n, t_total), dtype=np.float32)
    next_value = np.asarray(bootstrap, dtype=np.float32).reshape(n)
    last = np.zeros(n, dtype=np.float32)
    g, gl = np.float32(gamma), np.float32(gamma * gae_lambda)
    for t in range(t_total - 1, -1, -1):
        delta = rewards[:, t] + g * next_value * notdone[:, t] - values[:, t]
        last = delta + gl * notdone[:, t] * last
        adv[:, t] = last
        next_value = values[:, t]
    return adv


def gae_reference(
    rewards: Sequence[Sequence[float]],
    values: Sequence[Sequence[float]],
    dones: Sequence[Sequence[float]],
    bootstrap: Sequence[float],
    gamma: float,
    gae_lambda: float,
) -> np.ndarray:
    """Slow scalar loop of the same definition (for tests): A_t = Σ_k (γλ)^k δ_{t+k} within the episode."""
    n, t_total = len(rewards), len(rewards[0])
    out = np.zeros((n, t_total), dtype=np.float64)
    for i in range(n):
        v_next = [values[i][t + 1] if t + 1 < t_total else bootstrap[i] for t in range(t_total)]
        deltas = [rewards[i][t] + gamma * v_next[t] * (1.0 - float(dones[i][t])) - values[i][t] for t in range(t_total)]
        for t in range(t_total):
            total, coef = 0.0, 1.0
            for k in range(t, t_total):
                total += coef * deltas[k]
                if dones[i][k]:
                    break
                coef *= gamma * gae_lambda
            out[i, t] = total
    return out
