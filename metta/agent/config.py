"""Typed, frozen configuration of a policy architecture (the ``agent:`` block of a training job)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from metta.common.config_base import FrozenConfig

# Bounds shared by the layer widths: wide (hidden / fully connected layers) and narrow (channels, embeddings).
Width = Annotated[int, Field(ge=1, le=8192)]
NarrowWidth = Annotated[int, Field(ge=1, le=1024)]


class AgentConfig(FrozenConfig):
    """Policy architecture. ``fast``: tokens→box→CNN→LSTM; ``mlp``: flat tokens→MLP→LSTM."""

    name: Literal["fast", "mlp"] = Field("fast", description="Architecture.")
    hidden_size: Width = Field(128, description="LSTM hidden size (= encoded_obs width).")
    lstm_layers: int = Field(2, ge=1, le=8, description="LSTM layers.")
    cnn_channels: NarrowWidth = Field(64, description="Conv channels (fast).")
    fc_size: Width = Field(128, description="fc1 width after the convs / first MLP layer.")
    actor_hidden: Width = Field(512, description="Actor hidden width (bilinear head input).")
    critic_hidden: Width = Field(1024, description="Critic hidden width (tanh).")
    action_embedding_dim: NarrowWidth = Field(16, description="Action embedding width of the bilinear head.")
    lstm_bias_init: float = Field(1.0, ge=-10.0, le=10.0, description="Initial value of every LSTM bias.")
