"""VecEnv API: shapes, determinism, auto-reset without a phantom transition, desync, seeds, parallel view."""

from __future__ import annotations

import numpy as np
import pytest

from metta.common.seeding import derive_seed
from metta.env import ParallelArenaEnv, VecEnv, load_env_config
from tests.env.util import layout_cfg, run


@pytest.fixture(scope="module")
def shaped():
    return load_env_config("arena/basic_easy_shaped", ["game.max_steps=40"])


def rollout(cfg, seed, steps, num_envs=2, action_seed=0):
    env = VecEnv(cfg, num_envs=num_envs, seed=seed)
    obs = [env.reset()]
    rng = np.random.default_rng(action_seed)
    rews, dones, infos = [], [], []
    for _ in range(steps):
        o, r, d, i = env.step(rng.integers(0, env.num_actions, env.total_agents))
        obs.append(o)
        rews.append(r)
        dones.append(d)
        infos.extend(i)
    return env, np.stack(obs), np.stack(rews), np.stack(dones), infos


def test_api_shapes_and_action_names(shaped):
    env = VecEnv(shaped, num_envs=3, seed=0)
    assert env.num_agents == 24 and env.total_agents == 72 and env.num_actions == 19
    assert env.action_names[:2] == ["attack_0", "attack_1"]
    assert env.action_names[9:] == [
        "get_items_0",
        "move_0",
        "move_1",
        "noop_0",
        "put_items_0",
        "rotate_0",
        "rotate_1",
        "rotate_2",
        "rotate_3",
        "swap_0",
    ]
    assert env.obs_shape == (200, 3) and env.num_features == 25 and env.obs_window == (11, 11)
    obs = env.reset()
    assert obs.shape == (72, 200, 3) and obs.dtype == np.uint8
    o, r, d, i = env.step(np.zeros(72, dtype=np.int32))
    assert r.dtype == np.float32 and r.shape == (72,) and d.dtype == np.bool_
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(5, dtype=np.int64))


def test_same_seed_same_trajectory_different_seed_differs(shaped):
    _, o1, r1, d1, i1 = rollout(shaped, 7, 90)
    _, o2, r2, d2, i2 = rollout(shaped, 7, 90)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(d1, d2)
    assert [(i.env_index, i.seed, i.steps) for i in i1] == [(i.env_index, i.seed, i.steps) for i in i2]
    _, o3, *_ = rollout(shaped, 8, 2)
    assert not np.array_equal(o1[0], o3[0])


def test_reset_with_seed_replays_the_same_episode(shaped):
    env = VecEnv(shaped, num_envs=1, seed=1)
    first = env.reset()
    env.step(np.zeros(24, dtype=np.int64))
    np.testing.assert_array_equal(env.reset(seed=1), first)


def test_auto_reset_has_no_phantom_transition():
    cfg = layout_cfg(["#####", "#.m.#", "#nA_#", "#####"], max_steps=3)
    env = VecEnv(cfg, num_envs=1, seed=11)
    env.reset()
    outs = run(env, [["rotate_0"], ["noop_0"], ["get_items_0"], ["noop_0"]])
    obs, rew, dones, infos = outs[2]
    assert dones.tolist() == [True] and float(rew[0]) == pytest.approx(0.1)  # the terminal transition's reward
    assert infos[0].seed == derive_seed(11, 0, 0) and infos[0].steps == 3
    assert obs[0, :4, 2].tolist() == [0, 0, 0, 128]  # already the new episode's first observation
    assert env.inv[0, 0].sum() == 0 and env.env_step[0] == 1  # the 4th action acted in the new episode
    assert env.episode_seeds[0] == derive_seed(11, 0, 1)
    assert outs[3][2].tolist() == [False]


def test_desync_staggers_first_episodes_only(shaped):
    cfg = load_env_config("arena/basic_easy_shaped", ["game.max_steps=30", "game.num_agents=6"])
    assert cfg.game.desync_episodes
    env, _, _, dones, infos = rollout(cfg, 0, 70, num_envs=16)
    first = {}
    for info in infos:
        first.setdefault(info.env_index, []).append(info.steps)
    assert len(first) == 16
    lengths = [v[0] for v in first.values()]
    assert len(set(lengths)) > 3 and all(1 <= n <= 30 for n in lengths)
    assert all(n == 30 for v in first.values() for n in v[1:])


def test_episode_return_equals_capped_value_of_final_inventory(shaped):
    env, _, rews, dones, infos = rollout(shaped, 2, 60)
    assert infos
    for info in infos:
        assert info.agent_returns.shape == (24,)
        assert set(info.agent_stats[0]) >= {"heart.get", "ore_red.gained", "action.move.success"}
        assert info.game_stats["objects.mine_red"] == 40
    e = 0
    final = env.tables.capped_value(env.inv[e].astype(np.float64))
    np.testing.assert_allclose(env.ep_return[e], final, atol=1e-4)


def test_parallel_view_dict_api():
    cfg = load_env_config("arena/basic_easy_shaped", ["game.max_steps=5", "game.desync_episodes=false"])
    pz = ParallelArenaEnv(cfg, seed=4)
    obs, infos = pz.reset(seed=4)
    assert len(obs) == 24 and obs["agent_0"].shape == (200, 3)
    assert pz.action_space("agent_0")["n"] == 19
    for _ in range(5):
        obs, rew, term, trunc, infos = pz.step({a: 12 for a in pz.agents})  # noop
    assert all(term.values()) and not any(trunc.values()) and pz.agents == []
    assert infos["agent_3"]["action.noop.success"] == 5
    with pytest.raises(RuntimeError, match="reset"):
        pz.step({"agent_0": 0})
