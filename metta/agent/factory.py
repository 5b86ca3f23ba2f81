"""Build a policy by name: ``fast`` (CNN + LSTM, legacy architecture) or ``mlp`` (flat tokens + LSTM)."""

from __future__ import annotations

import torch

from metta.agent.config import AgentConfig
from metta.agent.fast import FastPolicy
from metta.agent.mlp import MLPPolicy
from metta.agent.policy import RecurrentPolicy


def make_policy(
    cfg: AgentConfig,
    num_actions: int,
    obs_shape: tuple[int, ...] = (200, 3),
    num_features: int = 25,
    seed: int | None = None,
) -> RecurrentPolicy:
    """Build the policy named by ``cfg.name``. With ``seed`` the initial weights depend only on it (torch's global
    RNG is left untouched); without, they come from torch's current global RNG."""
    cls = {"fast": FastPolicy, "mlp": MLPPolicy}[cfg.name]
    if seed is None:
        return cls(cfg, num_actions, obs_shape, num_features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(cfg, num_actions, obs_shape, num_features)
