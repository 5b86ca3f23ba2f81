"""Scripted episodes on hand-made maps with hand-computed rewards, stats and timings."""

from __future__ import annotations

import numpy as np
import pytest

from metta.env import VecEnv
from tests.env.util import layout_cfg, run

CHAIN = ["#####", "#.m.#", "#nA_#", "#####"]  # mine above, generator left, altar right of the agent


def item(env: VecEnv, e: int, a: int, name: str) -> int:
    return int(env.inv[e, a, env.tables.items.index(name)])


def conv_stock(env: VecEnv, row: int, col: int, name: str) -> int:
    snap = env.snapshot(0)
    idx = np.flatnonzero((snap["converter_row"] == row) & (snap["converter_col"] == col))[0]
    return int(snap["converter_inventory"][idx, env.tables.items.index(name)])


def test_mine_generator_altar_heart_chain_rewards_and_stats():
    env = VecEnv(layout_cfg(CHAIN), num_envs=1, seed=0)
    env.reset()
    script = [
        "rotate_0",
        "get_items_0",
        "rotate_2",
        "put_items_0",
        "get_items_0",
        "rotate_3",
        "put_items_0",
        "get_items_0",
    ]
    outs = run(env, [[s] for s in script])
    rewards = [float(o[1][0]) for o in outs]
    assert rewards == pytest.approx([0.0, 0.1, 0.0, -0.1, 0.8, 0.0, -0.8, 1.0], abs=1e-6)
    assert float(env.ep_return[0, 0]) == pytest.approx(1.0, abs=1e-6)
    assert item(env, 0, 0, "heart") == 1 and item(env, 0, 0, "ore_red") == 0
    st = dict(zip(env.tables.stat_names, env.stats[0, 0].tolist(), strict=True))
    expected = {
        "ore_red.get": 1,
        "ore_red.gained": 1,
        "ore_red.lost": 1,
        "ore_red.put": 1,
        "battery_red.get": 1,
        "battery_red.gained": 1,
        "battery_red.lost": 1,
        "battery_red.put": 1,
        "heart.get": 1,
        "heart.gained": 1,
        "action.rotate.success": 3,
        "action.get_items.success": 3,
        "action.put_items.success": 2,
        "movement.rotation.to_up": 1,
    }
    for k, v in expected.items():
        assert st[k] == v, k
    assert sum(v for k, v in st.items() if k.endswith(".failed")) == 0


def test_episode_info_reports_stats_and_return_at_end():
    env = VecEnv(layout_cfg(CHAIN, max_steps=3), num_envs=2, seed=5)
    env.reset()
    outs = run(env, [["rotate_0"], ["get_items_0"], ["noop_0"]])
    obs, rew, dones, infos = outs[-1]
    assert dones.all() and len(infos) == 2
    info = infos[0]
    assert info.steps == 3 and info.agent_stats[0]["ore_red.get"] == 1
    assert info.agent_returns[0] == pytest.approx(0.1)
    assert info.game_stats["objects.mine_red"] == 1
    assert not any(d for o in outs[:-1] for d in o[2])


def test_mine_cooldown_and_max_output():
    env = VecEnv(layout_cfg(CHAIN, max_steps=1000), num_envs=1, seed=0)
    env.reset()
    assert conv_stock(env, 1, 2, "ore_red") == 0
    run(env, [["noop_0"]])  # step 1: first ore appears
    assert conv_stock(env, 1, 2, "ore_red") == 1
    run(env, [["noop_0"]] * 50)  # step 51: cooldown just ended, conversion started
    assert conv_stock(env, 1, 2, "ore_red") == 1
    run(env, [["noop_0"]])  # step 52
    assert conv_stock(env, 1, 2, "ore_red") == 2
    run(env, [["noop_0"]] * 248)  # step 300: produced at 1, 52, 103, 154, 205; then full (max_output 5)
    assert conv_stock(env, 1, 2, "ore_red") == 5
    outs = run(env, [["rotate_0"], ["get_items_0"]])  # steps 301, 302
    assert float(outs[1][1][0]) == pytest.approx(0.5)
    assert item(env, 0, 0, "ore_red") == 5 and conv_stock(env, 1, 2, "ore_red") == 0
    run(env, [["noop_0"]])  # restarted at 302 -> output at 303
    assert conv_stock(env, 1, 2, "ore_red") == 1


def test_generator_cooldown_queues_second_input():
    env = VecEnv(layout_cfg(CHAIN), num_envs=1, seed=0)
    env.reset()
    env.set_inventory(0, 0, "ore_red", 2)
    run(env, [["rotate_2"], ["put_items_0"], ["put_items_0"]])  # steps 1-3: converts at 2, done at 3
    assert item(env, 0, 0, "ore_red") == 0
    assert conv_stock(env, 2, 1, "ore_red") == 1 and conv_stock(env, 2, 1, "battery_red") == 1
    run(env, [["noop_0"]] * 25)  # step 28: cooldown ends (3 + 25), second conversion starts
    assert conv_stock(env, 2, 1, "battery_red") == 1 and conv_stock(env, 2, 1, "ore_red") == 0
    run(env, [["noop_0"]])  # step 29
    assert conv_stock(env, 2, 1, "battery_red") == 2


def test_basic_altar_needs_three_batteries():
    env = VecEnv(layout_cfg(CHAIN, name="arena/basic"), num_envs=1, seed=0)
    env.reset()
    env.set_inventory(0, 0, "battery_red", 2)
    outs = run(env, [["rotate_3"], ["put_items_0"], ["noop_0"], ["get_items_0"]])
    assert conv_stock(env, 2, 3, "battery_red") == 2
    assert float(outs[3][1][0]) == 0.0 and item(env, 0, 0, "heart") == 0  # no heart: not enough batteries
    assert env.stats[0, 0, env.tables.stat_names.index("action.get_items.failed")] == 1


DUEL = ["#####", "#.A.#", "#.A.#", "#...#", "#####"]  # agent 0 at (1,2) above agent 1 at (2,2)


def test_attack_freezes_steals_and_costs_a_laser():
    env = VecEnv(layout_cfg(DUEL), num_envs=1, seed=0)
    env.reset()
    env.set_inventory(0, 0, "laser", 2)
    env.set_inventory(0, 1, "ore_red", 3)
    env.set_inventory(0, 1, "battery_red", 1)
    outs = run(env, [["rotate_1", "noop_0"], ["attack_0", "noop_0"]])
    r = outs[1][1]
    assert float(r[0]) == pytest.approx(0.3 + 0.8 - 0.5)
    assert float(r[1]) == pytest.approx(-1.1)
    assert item(env, 0, 0, "ore_red") == 3 and item(env, 0, 0, "laser") == 1 and item(env, 0, 1, "ore_red") == 0
    names = env.tables.stat_names
    s0 = dict(zip(names, env.stats[0, 0].tolist(), strict=True))
    s1 = dict(zip(names, env.stats[0, 1].tolist(), strict=True))
    assert s0["action.attack.success"] == 1 and s0["action.attack.agent.friendly_fire"] == 1
    assert s0["action.attack.agent.hit.agent"] == 0  # same group: legacy records friendly fire only
    assert s0["action.attack.agent.steals.ore_red.from.agent"] == 3 and s0["laser.lost"] == 1
    assert s1["action.attack.agent.hit_by.agent"] == 0 and s1["ore_red.lost"] == 3
    # The victim loses its action on the hit step and the next 9: 10 frozen ticks, then acts again.
    run(env, [["noop_0", "move_1"]] * 9)
    assert env.stats[0, 1, names.index("status.frozen.ticks")] == 10
    assert env.agent_r[0, 1] == 2
    run(env, [["noop_0", "move_1"]])
    assert env.agent_r[0, 1] == 3 and env.stats[0, 1, names.index("action.move.success")] == 1


def test_armor_blocks_attack_and_no_target_keeps_laser():
    env = VecEnv(layout_cfg(DUEL), num_envs=1, seed=0)
    env.reset()
    env.set_inventory(0, 0, "laser", 3)
    env.set_inventory(0, 1, "armor", 1)
    outs = run(env, [["attack_0", "noop_0"], ["rotate_1", "noop_0"], ["attack_0", "noop_0"]])
    names = env.tables.stat_names
    assert env.stats[0, 0, names.index("action.attack.failed")] == 1  # facing up: nobody there
    assert item(env, 0, 0, "laser") == 2 and item(env, 0, 1, "armor") == 0
    assert env.agent_frozen[0, 1] == 0
    assert env.stats[0, 0, names.index("action.attack.agent.blocked_by.agent")] == 1
    assert float(outs[2][1][1]) == pytest.approx(-0.5)  # armor worth 0.5 lost
    assert float(outs[2][1][0]) == pytest.approx(0.0)  # 3 -> 2 lasers, both capped at 1


def test_attack_without_laser_fails():
    env = VecEnv(layout_cfg(DUEL), num_envs=1, seed=0)
    env.reset()
    run(env, [["rotate_1", "noop_0"], ["attack_3", "noop_0"]])
    assert env.stats[0, 0, env.tables.stat_names.index("action.attack.failed")] == 1
    assert env.agent_frozen[0, 1] == 0


def test_attack_arg_selects_kth_agent_in_legacy_order():
    layout = ["#######", "#.....#", "#.A.A.#", "#..A..#", "#######"]  # agents: 0 (2,2), 1 (2,4), 2 (3,3)
    env = VecEnv(layout_cfg(layout), num_envs=1, seed=0)
    env.reset()
    env.set_inventory(0, 2, "laser", 5)
    # Agent 2 faces up: distance 1 row is (2,3) centre, (2,2) left, (2,4) right -> agents in order [0, 1].
    run(env, [["noop_0", "noop_0", "attack_1"]])
    assert env.agent_frozen[0, 1] > 0 and env.agent_frozen[0, 0] == 0
    run(env, [["noop_0", "noop_0", "attack_8"]])  # arg past the end: the last agent found (1, already frozen)
    assert env.stats[0, 2, env.tables.stat_names.index("action.attack.agent.wasted_on_frozen")] == 1


def test_swap_with_block_and_frozen_agent():
    env = VecEnv(layout_cfg(["#####", "#.b.#", "#.A.#", "#.A.#", "#####"]), num_envs=1, seed=0)
    env.reset()
    run(env, [["swap_0", "noop_0"]])  # agent 0 faces up at the block
    snap = env.snapshot(0)
    assert (int(snap["agent_row"][0]), int(snap["agent_col"][0])) == (1, 2) and snap["grid"][2, 2] == 14
    assert env.stats[0, 0, env.tables.stat_names.index("action.swap.block")] == 1
    # agent 1 (at (3,2)) cannot swap with an unfrozen agent... it faces up at the block now at (2,2)
    env.set_inventory(0, 0, "laser", 1)
    run(env, [["rotate_1", "noop_0"], ["move_0", "noop_0"]])  # block in the way: move fails
    assert env.stats[0, 0, env.tables.stat_names.index("action.move.failed")] == 1
    env2 = VecEnv(layout_cfg(["#####", "#.A.#", "#.A.#", "#####"]), num_envs=1, seed=0)
    env2.reset()
    env2.set_inventory(0, 0, "laser", 1)
    run(env2, [["rotate_1", "noop_0"], ["swap_0", "noop_0"]])
    assert env2.stats[0, 0, env2.tables.stat_names.index("action.swap.failed")] == 1  # not frozen: no swap
    run(env2, [["attack_0", "noop_0"], ["swap_0", "noop_0"]])
    assert (int(env2.agent_r[0, 0]), int(env2.agent_r[0, 1])) == (2, 1)
    assert env2.stats[0, 0, env2.tables.stat_names.index("action.swap.agent")] == 1


def test_disabled_action_stays_in_space_and_fails():
    cfg = layout_cfg(CHAIN, actions__get_items__enabled=False)
    env = VecEnv(cfg, num_envs=1, seed=0)
    env.reset()
    assert env.num_actions == 19
    run(env, [["rotate_0"], ["noop_0"], ["get_items_0"]])
    names = env.tables.stat_names
    assert env.stats[0, 0, names.index("action.get_items.failed")] == 1
    assert env.stats[0, 0, names.index("action.get_items.success")] == 0
    assert item(env, 0, 0, "ore_red") == 0


def test_move_blocked_by_wall_and_objects_and_invalid_action_counted_once():
    env = VecEnv(layout_cfg(CHAIN, agent__action_failure_penalty=0.25), num_envs=1, seed=0)
    env.reset()
    outs = run(env, [["move_0"], ["move_1"]])  # up: mine; back (down): wall
    assert float(outs[0][1][0]) == pytest.approx(-0.25)
    names = env.tables.stat_names
    assert env.stats[0, 0, names.index("action.move.failed")] == 2
    _, rew, _, _ = env.step(np.array([99]))
    assert float(rew[0]) == pytest.approx(-0.25)
    assert env.stats[0, 0, names.index("action.invalid_type")] == 1
    assert env.stats[0, 0, names.index("action.failure_penalty")] == 2  # a count of failed actions, not invalid ones
