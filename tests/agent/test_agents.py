import numpy as np
import pytest
import torch

from metta.agent.box import normalised_box, tokens_to_box_u8
from metta.agent.config import AgentConfig
from metta.agent.factory import make_policy


def _tokens(n, rng, valid=40):
    obs = np.full((n, 200, 3), 255, dtype=np.uint8)
    loc = rng.integers(0, 11, size=(n, valid)) * 16 + rng.integers(0, 11, size=(n, valid))
    obs[:, :valid, 0] = loc
    obs[:, :valid, 1] = rng.integers(0, 25, size=(n, valid))
    obs[:, :valid, 2] = rng.integers(0, 10, size=(n, valid))
    return torch.from_numpy(obs)


def test_box_makes_every_agent_visible_and_ignores_padding():
    obs = torch.full((1, 200, 3), 255, dtype=torch.uint8)
    obs[0, 0] = torch.tensor([0x55, 0, 0])  # agent: type 0, group 0, facing up, no items -> all zeros in legacy
    obs[0, 1] = torch.tensor([0x55, 4, 0])
    obs[0, 2] = torch.tensor([0x23, 21, 3])  # 3 hearts at row 2, col 3
    box = normalised_box(obs, 25)
    assert box.shape == (1, 26, 11, 11)
    assert box[0, 25, 5, 5] == 1.0  # presence channel
    assert box[0, 21, 2, 3] == pytest.approx(0.03)  # inventory divisor 100
    assert box[0, 25].sum() == 2.0  # two occupied cells
    assert box[0, :25].sum() == pytest.approx(0.03)  # padding wrote nothing into cell (0, 0)


def test_policy_box_uses_the_env_encoding():
    from metta.env import VecEnv, load_env_config
    from metta.env import tokens_to_box as env_box

    env = VecEnv(load_env_config("arena/combat"), num_envs=1, seed=3)
    env.reset()
    obs = env.step(np.random.default_rng(0).integers(0, 19, env.total_agents))[0]
    np.testing.assert_array_equal(tokens_to_box_u8(torch.from_numpy(obs), 25).numpy(), env_box(obs, 25))


@pytest.mark.parametrize("name, layers, params", [("fast", 2, 575_282), ("mlp", 1, None)])
def test_shapes_and_parameter_count(name, layers, params):
    torch.manual_seed(0)
    p = make_policy(AgentConfig(name=name, lstm_layers=layers), 19)
    if params:
        assert p.num_parameters() == params  # legacy fast agent: ~575k
    obs = _tokens(6, np.random.default_rng(0))
    g = torch.Generator().manual_seed(0)
    a, lp, v, st = p.act(obs, p.initial_state(6), g)
    assert a.shape == (6,) and a.dtype == torch.long and int(a.max()) < 19
    assert lp.shape == (6,) and bool((lp <= 0).all()) and v.shape == (6,)
    assert st[0].shape == (layers, 6, 128)


def test_fast_init_follows_legacy():
    torch.manual_seed(0)
    p = make_policy(AgentConfig(), 19)
    for name, param in p.lstm.named_parameters():
        if "bias" in name:
            assert torch.all(param == 1.0)
    w = p.fc1.weight.detach()
    # orthogonal rows (fc1 is 128 x 64 -> columns orthonormal)
    assert torch.allclose(w.t() @ w, torch.eye(w.shape[1]), atol=1e-5)
    assert float(p.action_embeddings.detach().abs().max()) == pytest.approx(0.1)
    assert float(p.actor_w.detach().abs().max()) <= 1 / 512**0.5


@pytest.mark.parametrize("name, layers", [("fast", 2), ("mlp", 1)])
def test_training_unroll_matches_rollout_with_resets(name, layers):
    """evaluate() over a segment (with a reset inside) reproduces step-by-step act() logprobs and values."""
    torch.manual_seed(1)
    p = make_policy(AgentConfig(name=name, lstm_layers=layers), 19)
    rng = np.random.default_rng(0)
    n, t = 3, 7
    obs = [_tokens(n, rng) for _ in range(t)]
    dones = np.zeros((n, t), dtype=bool)
    dones[1, 2] = True  # agent 1's episode ends with the transition at step 2
    dones[0, 5] = True
    state = p.initial_state(n)
    state = (torch.randn_like(state[0]), torch.randn_like(state[1]))  # a carried-over state
    start = state
    g = torch.Generator().manual_seed(0)
    acts, logps, vals = [], [], []
    for k in range(t):
        a, lp, v, state = p.act(obs[k], state, g)
        acts.append(a), logps.append(lp), vals.append(v)
        state = p.reset_state(state, torch.from_numpy(dones[:, k]))
    feats = torch.stack([p.features(o) for o in obs], dim=1)
    reset = torch.zeros(n, t, dtype=torch.bool)
    reset[:, 1:] = torch.from_numpy(dones[:, :-1])
    with torch.no_grad():
        lp2, ent, v2 = p.evaluate(feats, torch.stack(acts, 1), start, reset)
    torch.testing.assert_close(lp2, torch.stack(logps, 1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(v2, torch.stack(vals, 1), atol=1e-5, rtol=1e-5)
    assert bool((ent > 0).all())


def test_act_is_deterministic_given_a_generator():
    torch.manual_seed(0)
    p = make_policy(AgentConfig(name="mlp", lstm_layers=1), 19)
    obs = _tokens(32, np.random.default_rng(0))
    a1 = p.act(obs, p.initial_state(32), torch.Generator().manual_seed(5))[0]
    a2 = p.act(obs, p.initial_state(32), torch.Generator().manual_seed(5))[0]
    assert torch.equal(a1, a2)


def test_seeded_construction_ignores_the_global_rng():
    cfg = AgentConfig(name="mlp", lstm_layers=1)
    torch.manual_seed(1)
    a = make_policy(cfg, 19, seed=7)
    torch.manual_seed(2)
    b = make_policy(cfg, 19, seed=7)
    c = make_policy(cfg, 19, seed=8)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.fc1.weight, c.fc1.weight)
