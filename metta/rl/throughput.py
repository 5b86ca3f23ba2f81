"""The network's own throughput (the compute limit of training), measured on random tensors of the training shapes.

Training one epoch of B agent-steps needs at least B rollout forward passes (A agents per pass) and
``update_epochs`` · B agent-steps of minibatch forward + backward + optimizer step. With the two measured rates
r_fwd and r_upd (agent-steps/s) the limit is ``1 / (1/r_fwd + update_epochs/r_upd)`` agent-steps/s: what training
would reach if the env, observation conversion, buffers, GAE and Python cost nothing. Efficiency = training SPS /
limit, both measured in the same process. Every rate comes as wall-clock and as process-CPU-time agent-steps/s: on a
shared machine the CPU-time rates (what the process got done per second it actually ran) are the stable ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import NamedTuple

import torch

from metta.agent.policy import RecurrentPolicy
from metta.rl.losses import PPOCoefficients, ppo_loss


class Rate(NamedTuple):
    """Agent-steps per wall-clock second and per second of this process's CPU time (all threads)."""

    wall: float
    cpu: float


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rate(self, steps: float) -> Rate:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return Rate(steps / max(wall, 1e-9), steps / max(cpu, 1e-9))


def _random_features(
    n: int, feature_shape: tuple[int, ...], dtype: torch.dtype, gen: torch.Generator, device: torch.device
) -> torch.Tensor:
    if dtype == torch.uint8:
        return torch.randint(0, 8, (n, *feature_shape), generator=gen, dtype=torch.uint8).to(device)
    return torch.rand((n, *feature_shape), generator=gen).to(device=device, dtype=dtype)


def forward_rate(
    policy: RecurrentPolicy,
    num_agents: int,
    feature_shape: tuple[int, ...],
    feature_dtype: torch.dtype,
    steps: int,
    autocast: Callable[[], AbstractContextManager] | None = None,
    seed: int = 0,
) -> Rate:
    """Agent-steps/s of rollout-shaped acting passes (``act_features`` on [num_agents, ...]), after one warm-up."""
    device = next(policy.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    feats = _random_features(num_agents, feature_shape, feature_dtype, gen, device)
    state = policy.initial_state(num_agents, device)
    amp = autocast if autocast is not None else nullcontext
    policy.eval()
    with torch.inference_mode():
        for i in range(steps + 1):
            if i == 1:  # the first pass (allocations, compilation) is not timed
                clock = _Clock()
            with amp():
                _actions, _logp, _value, state = policy.act_features(feats, state, gen)
    return clock.rate(steps * num_agents)


def update_rate(
    policy: RecurrentPolicy,
    optimizer: torch.optim.Optimizer,
    segments: int,
    bptt: int,
    feature_shape: tuple[int, ...],
    feature_dtype: torch.dtype,
    minibatches: int,
    seed: int = 0,
    autocast: Callable[[], AbstractContextManager] | None = None,
    max_grad_norm: float = 0.5,
) -> Rate:
    """Agent-steps/s of minibatch PPO steps (evaluate + loss + backward + clip + optimizer step) on [segments, bptt]
    random segments without resets, after one warm-up step. ``policy``'s weights change: pass a copy."""
    device = next(policy.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    feats = _random_features(segments * bptt, feature_shape, feature_dtype, gen, device)
    feats = feats.view(segments, bptt, *feature_shape)
    actions = torch.randint(0, policy.num_actions, (segments, bptt), generator=gen).to(device)
    layers, hidden = policy.cfg.lstm_layers, policy.cfg.hidden_size
    state = (torch.zeros(layers, segments, hidden, device=device), torch.zeros(layers, segments, hidden, device=device))
    resets = torch.zeros(segments, bptt, dtype=torch.bool, device=device)
    old_logp = torch.full((segments, bptt), -2.9, device=device)
    old_values = torch.randn((segments, bptt), generator=gen).to(device)
    adv = torch.randn((segments, bptt), generator=gen).to(device)
    returns = old_values + adv
    coef = PPOCoefficients(clip_coef=0.1, vf_clip_coef=0.1, ent_coef=0.002, vf_coef=0.44)
    amp = autocast if autocast is not None else nullcontext
    policy.train()
    for i in range(minibatches + 1):
        if i == 1:
            clock = _Clock()
        with amp():
            logp, entropy, values = policy.evaluate(feats, actions, state, resets)
        loss, _stats = ppo_loss(logp, old_logp, entropy, values, old_values, adv, returns, coef)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), max_grad_norm)
        optimizer.step()
    return clock.rate(minibatches * segments * bptt)


def compute_limit(forward_sps: float, update_sps: float, update_epochs: int = 1) -> float:
    """Agent-steps/s of an epoch made of rollout forwards at ``forward_sps`` and ``update_epochs`` passes of
    minibatch updates at ``update_sps`` (nothing else)."""
    return 1.0 / (1.0 / forward_sps + update_epochs / update_sps)
