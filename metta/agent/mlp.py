"""The ``mlp`` agent: flat normalised tokens → fc → LSTM → linear actor / critic. Small and quick."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from metta.agent.config import AgentConfig
from metta.agent.policy import RecurrentPolicy, orthogonal_


class MLPPolicy(RecurrentPolicy):
    """Tokens [T, 3] flattened (÷255) → fc_size → hidden → LSTM → heads."""

    def __init__(self, cfg: AgentConfig, num_actions: int, obs_shape: tuple[int, ...], num_features: int):
        super().__init__(cfg, num_actions, obs_shape, num_features)
        flat = self.obs_shape[0] * self.obs_shape[1]
        self.fc1 = orthogonal_(nn.Linear(flat, cfg.fc_size), gain=2**0.5)
        self.encoded_obs = orthogonal_(nn.Linear(cfg.fc_size, cfg.hidden_size), gain=2**0.5)
        self.actor = orthogonal_(nn.Linear(cfg.hidden_size, num_actions), gain=0.01)
        self.critic = orthogonal_(nn.Linear(cfg.hidden_size, 1), gain=1.0)

    def encode_features(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.dtype != torch.uint8:  # vector observations (gym tasks) are used as they are
            return torch.relu(self.encoded_obs(torch.relu(self.fc1(obs.reshape(obs.shape[0], -1).float()))))
        x = obs.reshape(obs.shape[0], -1).float()
        h = F.linear(x, self.fc1.weight * (1.0 / 255.0), self.fc1.bias)  # == fc1(x / 255), one pass fewer
        return torch.relu(self.encoded_obs(torch.relu(h)))

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.actor(hidden), self.critic(hidden).squeeze(-1)
