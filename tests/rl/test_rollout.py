"""Rollout buffer: stored segment-start LSTM states + in-segment resets reproduce the rollout exactly."""

import numpy as np
import pytest
import torch

from metta.agent.factory import make_policy
from metta.env import VecEnv, load_env_config
from metta.rl.ppo import effective_sizes
from metta.rl.rollout import RolloutBuffer, RolloutState, collect
from metta.rl.trainer_config import AgentConfig, TrainerConfig


@pytest.mark.parametrize("name, layers", [("mlp", 1), ("fast", 2)])
def test_training_view_of_the_buffer_reproduces_the_rollout(name, layers):
    env = VecEnv(load_env_config("arena/basic_easy_shaped", ["game.max_steps=7"]), 1, seed=3)
    policy = make_policy(AgentConfig(name=name, lstm_layers=layers), env.num_actions, seed=0)
    bptt, horizon = 4, 12
    obs = env.reset()
    feats0 = policy.features(torch.from_numpy(obs[:1]))
    buf = RolloutBuffer.allocate(env.total_agents, horizon, bptt, feats0.shape[1:], feats0.dtype, layers, 128, "cpu")
    carry = RolloutState(obs=obs, state=policy.initial_state(env.total_agents))
    gen = torch.Generator().manual_seed(0)
    for _ in range(2):  # the second rollout starts from a carried-over (non-zero) state
        carry, infos = collect(env, policy, buf, carry, gen, "cpu")
    assert buf.dones.any() and infos  # episodes of 7 steps end inside segments of 4
    assert float(buf.h0.abs().sum()) > 0
    feats = buf.segment_view(buf.features)
    with torch.no_grad():
        acts = buf.segment_view(buf.actions)
        logp, _ent, values = policy.evaluate(feats, acts, buf.segment_state(), buf.reset_mask())
    torch.testing.assert_close(logp, buf.segment_view(buf.logprobs), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(values, buf.segment_view(buf.values), atol=1e-5, rtol=1e-5)
    # every reset inside a segment follows a done at the previous step, and never at a segment's first step
    mask = buf.reset_mask().numpy()
    assert not mask[:, 0].any() and mask.sum() == buf.dones.reshape(-1, bptt)[:, :-1].sum()


def test_effective_sizes_round_to_whole_segments():
    tr = TrainerConfig(batch_size=12288, minibatch_size=3072, bptt_horizon=64)
    s = effective_sizes(tr, 192)
    assert (s.horizon, s.batch_size, s.num_segments) == (64, 12288, 192)
    assert (s.num_minibatches, s.segments_per_minibatch) == (4, 48)
    legacy = effective_sizes(TrainerConfig(), 336 * 24)  # 8064 agents
    assert (legacy.horizon, legacy.batch_size, legacy.num_minibatches) == (64, 516096, 32)
    s = effective_sizes(TrainerConfig(batch_size=65536, minibatch_size=16384), 192)
    assert (s.horizon, s.batch_size, s.num_minibatches) == (320, 61440, 4)
    tiny = effective_sizes(TrainerConfig(batch_size=64, minibatch_size=64), 48)  # fewer steps than agents x bptt
    assert (tiny.horizon, tiny.batch_size, tiny.num_minibatches) == (64, 3072, 48)
    assert np.isclose(tiny.segments_per_minibatch, 1)
