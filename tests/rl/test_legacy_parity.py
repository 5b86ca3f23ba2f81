"""Deliberate differences made visible: segments used once per epoch, the opt-in attack mask, TF32 on CUDA only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metta.agent.factory import make_policy
from metta.env import load_env_config
from metta.env.actions import attack_is_dead, dead_action_mask
from metta.env.tables import flat_action_names
from metta.rl.ppo import effective_sizes, ppo_update
from metta.rl.rollout import RolloutBuffer
from metta.rl.schedules import hyperparameters_at
from metta.rl.trainer import configure_matmul_precision
from metta.rl.trainer_config import AgentConfig, TrainerConfig


def test_every_segment_is_used_exactly_once_per_ppo_epoch():
    agents, horizon, bptt = 12, 32, 8  # 48 segments in 4 minibatches, 3 update epochs
    tr = TrainerConfig(batch_size=agents * horizon, minibatch_size=96, bptt_horizon=bptt, update_epochs=3, num_envs=1)
    sizes = effective_sizes(tr, agents)
    policy = make_policy(AgentConfig(name="mlp", hidden_size=8, fc_size=8, actor_hidden=8, critic_hidden=8), 19, seed=0)
    feats = policy.features(torch.zeros((1, 200, 3), dtype=torch.uint8))
    buf = RolloutBuffer.allocate(agents, horizon, bptt, feats.shape[1:], feats.dtype, 2, 8, "cpu")
    buf.rewards[:] = np.random.default_rng(0).random(buf.rewards.shape)
    buf.bootstrap = torch.zeros(agents)
    seg_ids = torch.arange(buf.num_segments, dtype=torch.float32)
    buf.h0[0, :, :, 0] = seg_ids.view(agents, horizon // bptt)  # segment s = a*K + k carries its id in h0
    seen: list[list[int]] = []
    original = policy.evaluate

    def spy(f, actions, state, resets):
        seen.append(state[0][0, :, 0].round().long().tolist())
        return original(f, actions, state, resets)

    policy.evaluate = spy  # type: ignore[method-assign]
    opt = torch.optim.Adam(policy.parameters(), lr=1e-4)
    out = ppo_update(policy, opt, buf, tr, hyperparameters_at(tr, 0), sizes, torch.Generator().manual_seed(1))
    assert sizes.num_minibatches == 4 and len(seen) == 12
    for epoch in range(3):
        ids = [s for mb in seen[epoch * 4 : (epoch + 1) * 4] for s in mb]
        assert sorted(ids) == list(range(48))  # a permutation: no segment twice, none left out
    assert seen[0] != seen[4]  # reshuffled every epoch
    assert out["losses/importance"] == 1.0 and out["experience/truncateds"] == 0.0
    assert out["experience/ratio"] == pytest.approx(out["losses/ratio"])


def test_attack_is_dead_only_without_a_laser_source():
    assert attack_is_dead([load_env_config("arena/basic")])
    assert attack_is_dead([load_env_config("arena/basic_easy_shaped")])
    assert not attack_is_dead([load_env_config("arena/combat")])
    assert not attack_is_dead([load_env_config("arena/tag")])  # stocked laseries
    assert not attack_is_dead([load_env_config("arena/basic"), load_env_config("arena/combat")])  # one live task
    mask = dead_action_mask([load_env_config("arena/basic")], flat_action_names())
    assert mask == [False] * 9 + [True] * 10


def test_action_mask_never_samples_masked_actions_and_keeps_entropy_finite():
    policy = make_policy(AgentConfig(name="mlp"), 19, seed=0)
    assert policy.action_mask.all()  # default off, as legacy
    policy.set_action_mask([False] * 9 + [True] * 10)
    obs = torch.randint(0, 255, (64, 200, 3), dtype=torch.uint8)
    actions, logprob, _, _ = policy.act(obs, policy.initial_state(64), torch.Generator().manual_seed(0))
    assert (actions >= 9).all() and torch.isfinite(logprob).all()
    feats = policy.features(obs).unsqueeze(1)  # 64 segments of one step, from the same zero state as act()
    logp, ent, _ = policy.evaluate(feats, actions.view(64, 1), policy.initial_state(64), torch.zeros(64, 1, dtype=bool))
    assert torch.isfinite(ent).all() and torch.allclose(logp.flatten(), logprob, atol=1e-5)
    # saved with the weights; checkpoints without it load with every action allowed
    fresh = make_policy(AgentConfig(name="mlp"), 19, seed=1)
    fresh.load_state_dict(policy.state_dict())
    assert fresh.action_mask.tolist() == [False] * 9 + [True] * 10
    old = {k: v for k, v in policy.state_dict().items() if k != "action_mask"}
    fresh.load_state_dict(old)
    assert fresh.action_mask.all()


def test_tf32_on_cuda_only():
    before = torch.get_float32_matmul_precision()
    try:
        assert configure_matmul_precision(torch.device("cpu")) == "highest"
        assert torch.get_float32_matmul_precision() == "highest"
        assert configure_matmul_precision(torch.device("cuda")) == "high"
        assert torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision(before)
