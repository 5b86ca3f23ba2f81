"""Token observations: legacy order and ids, decoding back to the grid, truncation, box view."""

from __future__ import annotations

import numpy as np
import pytest

from metta.env import VecEnv, decode_tokens, load_env_config, tokens_to_box
from metta.env.obs import decode_last_reward, encode_last_reward, window_order
from tests.env.util import layout_cfg, run


def test_window_order_is_legacy():
    dr, dc, loc = window_order(11)
    assert len(dr) == 121 and len(set(loc.tolist())) == 121
    first = list(zip(dr[:6].tolist(), dc[:6].tolist(), strict=True))
    assert first == [(0, 0), (-1, 0), (0, -1), (0, 1), (1, 0), (-2, 0)]
    assert loc[0] == 0x55
    dist = np.abs(dr) + np.abs(dc)
    assert (np.diff(dist) >= 0).all()


def test_tokens_decode_back_to_the_grid():
    cfg = load_env_config("arena/basic_easy_shaped")
    env = VecEnv(cfg, num_envs=2, seed=3)
    obs = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(30):
        obs, *_ = env.step(rng.integers(0, env.num_actions, env.total_agents))
    t = env.tables
    for e in range(2):
        snap = env.snapshot(e)
        grid = snap["grid"]
        for a in range(env.num_agents):
            row = obs[e * env.num_agents + a]
            cells = decode_tokens(row)
            r0, c0 = int(snap["agent_row"][a]), int(snap["agent_col"][a])
            for dr in range(-5, 6):
                for dc in range(-5, 6):
                    r, c = r0 + dr, c0 + dc
                    feats = cells.get((dr, dc), {})
                    if grid[r, c] < 0:
                        assert 0 not in feats
                    else:
                        assert feats[0] == grid[r, c]
                    if grid[r, c] == 0:
                        g = int(np.flatnonzero((snap["agent_row"] == r) & (snap["agent_col"] == c))[0])
                        assert feats[4] == snap["agent_orientation"][g]
                        assert feats[3] == int(snap["agent_frozen"][g] > 0)
                        for i, name in enumerate(t.items):
                            assert feats.get(15 + i, 0) == snap["agent_inventory"][g, i], name
            assert cells[(0, 0)][8] == round(30 / env.env_max_steps[e] * 255)
    assert env.game_stats[:, 1].sum() == 0  # nothing truncated on this map


def test_converter_tokens_show_stock_and_converting_flag():
    env = VecEnv(layout_cfg(["#####", "#.m.#", "#nA_#", "#####"]), num_envs=1, seed=0)
    env.reset()
    obs, *_ = run(env, [["noop_0"]])[0]
    mine = decode_tokens(obs[0])[(-1, 0)]
    assert mine == {0: 2, 5: 0, 6: 1, 15: 1}  # type mine_red, colour 0, cooling down, 1 ore_red
    gen = decode_tokens(obs[0])[(0, -1)]
    assert gen == {0: 5, 5: 0, 6: 0}
    wall = decode_tokens(obs[0])[(-2, 0)]
    assert wall == {0: 1}


def test_global_tokens_and_signed_last_reward():
    env = VecEnv(layout_cfg(["#####", "#.m.#", "#nA_#", "#####"], max_steps=10), num_envs=1, seed=0)
    obs = env.reset()
    assert obs[0, :4].tolist() == [[0x55, 8, 0], [0x55, 9, 0], [0x55, 10, 0], [0x55, 11, 128]]
    env.set_inventory(0, 0, "ore_red", 1)
    out = run(env, [["rotate_2"], ["put_items_0"]])
    obs = out[1][0]
    assert obs[0, :4].tolist() == [[0x55, 8, 51], [0x55, 9, 4], [0x55, 10, 0], [0x55, 11, 118]]
    assert decode_last_reward(obs[0, 3, 2]) == pytest.approx(-0.1)
    assert encode_last_reward(np.array([5.0, -3.0, 0.004])).tolist() == [255, 0, 128]


def test_truncation_at_200_tokens_counts_dropped():
    layout = ["A" * 7] * 7
    cfg = layout_cfg(layout, agent__initial_inventory={"ore_red": 1, "heart": 2, "laser": 1})
    env = VecEnv(cfg, num_envs=1, seed=0)
    obs = env.reset()
    assert (obs[:, :, 0] != 0xFF).all()  # every agent sees >= 196 cell tokens
    centre = 3 * 7 + 3
    # Each agent sees the agents within +-5 rows/cols (8 tokens each) plus 4 globals; the rest past 200 drops.
    seen = [
        sum(abs(r - r2) <= 5 for r2 in range(7)) * sum(abs(c - c2) <= 5 for c2 in range(7))
        for r in range(7)
        for c in range(7)
    ]
    assert env.game_stats[0, 1] == sum(4 + 8 * s - 200 for s in seen) and env.game_stats[0, 2] == 0
    cells = decode_tokens(obs[centre])
    assert len(cells[(0, 0)]) == 8 + 4  # own agent: 5 + 3 items, plus 4 globals


def test_box_makes_agents_visible():
    env = VecEnv(load_env_config("arena/basic_easy_shaped"), num_envs=2, seed=1)
    obs = env.reset()
    box = tokens_to_box(obs, env.num_features)
    assert box.shape == (env.total_agents, 26, 11, 11) and box.dtype == np.uint8
    assert (box[:, 25, 5, 5] == 1).all()  # the observer itself is present even with all-zero features
    assert box[:, 0].max() == 14  # block type id
    assert tokens_to_box(obs[0]).shape == (26, 11, 11)


def test_box_equals_slow_reference_loop():
    env = VecEnv(load_env_config("arena/combat"), num_envs=1, seed=9)
    obs = env.reset()
    obs, *_ = env.step(np.random.default_rng(2).integers(0, 19, env.total_agents))
    box = tokens_to_box(obs[:5])
    for b in range(5):
        ref = np.zeros((26, 11, 11), dtype=np.uint8)
        for loc, feat, val in obs[b].tolist():
            if loc != 0xFF and feat < 25:
                ref[feat, loc >> 4, loc & 15] = val
                ref[25, loc >> 4, loc & 15] = 1
        np.testing.assert_array_equal(box[b], ref)
