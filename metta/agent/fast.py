"""The ``fast`` agent: tokens → box → two convs → fc → LSTM → critic / bilinear actor.

The layer sizes and initialisation follow the Hydra-era ``fast`` agent (docs/training.md)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from metta.agent.box import WINDOW, box_hwc_u8, box_scale
from metta.agent.config import AgentConfig
from metta.agent.policy import RecurrentPolicy, orthogonal_, uniform_


class FastPolicy(RecurrentPolicy):
    """CNN + LSTM actor-critic (~575k parameters with the default sizes)."""

    box_scale: torch.Tensor  # non-persistent buffer registered in __init__

    def __init__(self, cfg: AgentConfig, num_actions: int, obs_shape: tuple[int, ...], num_features: int):
        super().__init__(cfg, num_actions, obs_shape, num_features)
        ch = cfg.cnn_channels
        # the legacy normaliser (box / divisor per channel) folded into cnn1: conv(w, x*s) == conv(w*s, x) exactly
        self.register_buffer("box_scale", box_scale(num_features).view(1, -1, 1, 1), persistent=False)
        self.cnn1 = orthogonal_(nn.Conv2d(num_features + 1, ch, kernel_size=5, stride=3))
        self.cnn2 = orthogonal_(nn.Conv2d(ch, ch, kernel_size=3, stride=1))
        side = ((WINDOW - 5) // 3 + 1 - 3) + 1
        self.fc1 = orthogonal_(nn.Linear(ch * side * side, cfg.fc_size))
        self.encoded_obs = orthogonal_(nn.Linear(cfg.fc_size, cfg.hidden_size))
        self.critic_1 = orthogonal_(nn.Linear(cfg.hidden_size, cfg.critic_hidden), gain=math.sqrt(2))
        self.value_head = orthogonal_(nn.Linear(cfg.critic_hidden, 1))
        self.actor_1 = orthogonal_(nn.Linear(cfg.hidden_size, cfg.actor_hidden))
        e = cfg.action_embedding_dim
        self.actor_w = nn.Parameter(uniform_(torch.empty(cfg.actor_hidden, e), cfg.actor_hidden))
        self.actor_b = nn.Parameter(uniform_(torch.empty(1), cfg.actor_hidden))
        emb = torch.empty(num_actions, e)
        nn.init.orthogonal_(emb)
        self.action_embeddings = nn.Parameter(emb * (0.1 / emb.abs().max().clamp(min=1e-12)))

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The raw uint8 box, stored channels-last as [N, 11, 11, F+1] (what the rollout buffer keeps)."""
        return box_hwc_u8(obs, self.num_features)

    def encode_features(self, feats: torch.Tensor) -> torch.Tensor:
        # [N, 11, 11, C] → NCHW view in channels-last memory (2-3x faster convs on CPU), then normalise
        box = feats.permute(0, 3, 1, 2).float()
        x = torch.relu(F.conv2d(box, self.cnn1.weight * self.box_scale, self.cnn1.bias, stride=3))
        x = torch.relu(self.cnn2(x)).flatten(1)
        x = torch.relu(self.fc1(x))
        return torch.relu(self.encoded_obs(x))

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        value = self.value_head(torch.tanh(self.critic_1(hidden))).squeeze(-1)
        a = torch.relu(self.actor_1(hidden))
        logits = torch.tanh(a @ self.actor_w) @ self.action_embeddings.t() + self.actor_b
        return logits, value
