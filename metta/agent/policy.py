"""Recurrent actor-critic policies: an observation encoder, an LSTM core and actor/critic heads.

Interface (docs/interfaces.md): ``initial_state(batch)``, ``act(obs, state, generator)``, ``reset_state(state, mask)``,
``num_actions``, ``obs_shape``; for training ``evaluate(obs, actions, state, reset_mask)`` unrolls segments with the
LSTM state reset wherever an episode ended inside the segment (the same rule the rollout applies).

State is a tuple ``(h, c)`` of tensors [layers, batch, hidden].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.module import _IncompatibleKeys

from metta.agent.config import AgentConfig

State = tuple[torch.Tensor, torch.Tensor]
# The layer types the init helpers take (both always have a ``bias`` attribute, None when disabled).
_Layer = TypeVar("_Layer", nn.Linear, nn.Conv2d)


def orthogonal_(layer: _Layer, gain: float = 1.0) -> _Layer:
    """Orthogonal weights, zero bias (legacy init)."""
    nn.init.orthogonal_(layer.weight, gain=gain)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


class RecurrentPolicy(nn.Module):
    """Base class: subclasses define ``encode_features`` (→ [N, hidden]) and ``heads(h) -> (logits, value)``."""

    action_mask: torch.Tensor  # bool [num_actions] buffer, see __init__

    def __init__(self, cfg: AgentConfig, num_actions: int, obs_shape: tuple[int, ...], num_features: int):
        super().__init__()
        self.cfg = cfg
        self.num_actions = int(num_actions)
        self.obs_shape = tuple(int(x) for x in obs_shape)
        self.num_features = int(num_features)
        self.lstm = nn.LSTM(cfg.hidden_size, cfg.hidden_size, num_layers=cfg.lstm_layers, batch_first=True)
        for name, param in self.lstm.named_parameters():
            if "weight" in name:
                nn.init.orthogonal_(param, gain=1.0)
            else:
                nn.init.constant_(param, cfg.lstm_bias_init)
        # Actions the policy may choose (all by default); masked logits are pushed to -1e9 (not -inf, which would
        # make the entropy NaN). Saved with the weights so evaluation samples as training did.
        self.register_buffer("action_mask", torch.ones(self.num_actions, dtype=torch.bool))

    def set_action_mask(self, allowed: torch.Tensor | Sequence[bool]) -> None:
        """Restrict sampling to the actions where ``allowed`` is True (e.g. drop attack where it can never work)."""
        allowed_t = torch.as_tensor(allowed, dtype=torch.bool, device=self.action_mask.device)
        if allowed_t.shape != self.action_mask.shape or not bool(allowed_t.any()):
            raise ValueError(f"action mask must be {self.num_actions} booleans with at least one True")
        self.action_mask.copy_(allowed_t)

    def masked(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.masked_fill(~self.action_mask, -1e9)

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Checkpoints written before the action mask existed load with every action allowed."""
        if "action_mask" not in state_dict:
            state_dict = {**state_dict, "action_mask": torch.ones_like(self.action_mask)}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # -- to be provided by subclasses -------------------------------------------------------------------------
    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """Compact per-step input stored in the rollout buffer (default: the uint8 tokens themselves)."""
        return obs

    def encode_features(self, feats: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """obs uint8 [N, T, 3] → encoded [N, hidden]."""
        return self.encode_features(self.features(obs))

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- state ---------------------------------------------------------------------------------------------------
    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Zero LSTM state for ``batch_size`` agents."""
        dev = device if device is not None else next(self.parameters()).device
        shape = (self.cfg.lstm_layers, batch_size, self.cfg.hidden_size)
        return torch.zeros(shape, device=dev), torch.zeros(shape, device=dev)

    @staticmethod
    def reset_state(state: State, mask: torch.Tensor) -> State:
        """Zero the rows of ``state`` where ``mask`` (bool [batch]) is True; returns new tensors."""
        keep = (~mask.bool()).to(state[0].dtype).view(1, -1, 1)
        return state[0] * keep, state[1] * keep

    # -- acting --------------------------------------------------------------------------------------------------
    def forward_step(self, obs: torch.Tensor, state: State) -> tuple[torch.Tensor, torch.Tensor, State]:
        """One step for a batch: obs uint8 [B, T, 3] → (logits [B, A], value [B], new state)."""
        return self.forward_features(self.features(obs), state)

    def forward_features(self, feats: torch.Tensor, state: State) -> tuple[torch.Tensor, torch.Tensor, State]:
        """Like forward_step, from ``features(obs)``."""
        x = self.encode_features(feats).unsqueeze(1)
        out, (h, c) = self.lstm(x, state)
        logits, value = self.heads(out[:, 0])
        return self.masked(logits), value, (h, c)

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, state: State, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, State]:
        """Sample actions: (actions int64 [B], logprob [B], value [B], new_state)."""
        return self.act_features(self.features(obs), state, generator)

    @torch.no_grad()
    def act_features(
        self, feats: torch.Tensor, state: State, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, State]:
        """Like act, from ``features(obs)`` (the trainer stores these features)."""
        logits, value, new_state = self.forward_features(feats, state)
        # float() is a no-op in float32 and keeps sampling and log-probs in float32 under a bf16 autocast
        logp_all = F.log_softmax(logits.float(), dim=-1)
        actions = torch.multinomial(logp_all.exp(), 1, generator=generator).squeeze(1)
        logprob = logp_all.gather(1, actions.unsqueeze(1)).squeeze(1)
        return actions, logprob, value.float(), new_state

    @torch.no_grad()
    def value_features(self, feats: torch.Tensor, state: State) -> torch.Tensor:
        """Critic value of ``features(obs)`` under ``state`` (state is not advanced)."""
        return self.forward_features(feats, state)[1]

    # -- training --------------------------------------------------------------------------------------------
    def unroll(self, x: torch.Tensor, state: State, reset_mask: torch.Tensor) -> torch.Tensor:
        """LSTM over x [N, T, H] from ``state``; rows with reset_mask[n, t] get a zero state before step t."""
        t_total = x.shape[1]
        cut = reset_mask.any(0)
        cut[0] = True
        starts = torch.nonzero(cut).flatten().tolist()
        outs = []
        h, c = state
        for i, t0 in enumerate(starts):
            t1 = starts[i + 1] if i + 1 < len(starts) else t_total
            if t0 > 0 or bool(reset_mask[:, 0].any()):
                h, c = self.reset_state((h, c), reset_mask[:, t0])
            out, (h, c) = self.lstm(x[:, t0:t1], (h, c))
            outs.append(out)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)

    def evaluate(
        self, feats: torch.Tensor, actions: torch.Tensor, state: State, reset_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Segments of features [N, T, ...] (from ``features``), actions [N, T] → (logprob, entropy, value) [N, T]."""
        n, t = actions.shape
        x = self.encode_features(feats.reshape(n * t, *feats.shape[2:])).view(n, t, -1)
        out = self.unroll(x, state, reset_mask)
        logits, value = self.heads(out.reshape(n * t, -1))
        logp_all = F.log_softmax(self.masked(logits.float()), dim=-1)
        logprob = logp_all.gather(1, actions.reshape(-1, 1)).squeeze(1)
        entropy = -(logp_all.exp() * logp_all).sum(-1)
        return logprob.view(n, t), entropy.view(n, t), value.float().view(n, t)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def uniform_(tensor: torch.Tensor, fan_in: int) -> torch.Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)
