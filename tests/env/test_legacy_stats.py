"""Stats that match the Hydra-era names and meanings: converter stats, max_steps_without_motion, attributes."""

from __future__ import annotations

from metta.env import VecEnv
from tests.env.util import layout_cfg, run

CHAIN = ["#####", "#.m.#", "#nA_#", "#####"]  # mine above, generator left, altar right of the agent


def test_converter_stats_and_steps_without_motion_hand_counted():
    env = VecEnv(layout_cfg(CHAIN, max_steps=8), num_envs=1, seed=0)
    env.reset()
    script = [["noop_0"]] * 3 + [["get_items_0"], ["rotate_2"], ["put_items_0"], ["noop_0"], ["noop_0"]]
    outs = run(env, script)
    (info,) = outs[-1][3]
    g, a = info.game_stats, info.agent_stats[0]
    # at construction the mine starts; generator and altar lack inputs; the ore deposited at step 6 starts the
    # generator, whose battery appears at step 7; the mine's cooldown (50) is still running at the end
    assert g["conversions.started"] == 2 and g["conversions.completed"] == g["conversions"] == 2
    assert g["blocked.insufficient_input"] == 2 and g["blocked.output_full"] == 0
    assert g["ore_red.produced"] == 1 and g["ore_red.consumed"] == 1 and g["battery_red.produced"] == 1
    assert g["cooldown.started"] == 2 and g["cooldown.completed"] == 0
    assert a["ore_red.get"] == 1 and a["ore_red.put"] == 1
    assert a["status.max_steps_without_motion"] == 8  # acted 8 times without changing cell
    assert (info.map_width, info.map_height, info.steps, info.max_steps) == (5, 4, 8, 8)


def test_moving_resets_the_motion_counter():
    layout = ["#######", "#.....#", "#..A..#", "#######"]
    env = VecEnv(layout_cfg(layout, max_steps=6), num_envs=1, seed=0)
    env.reset()
    outs = run(env, [["noop_0"], ["noop_0"], ["move_0"], ["noop_0"], ["move_0"], ["noop_0"]])  # move_0 up twice
    (info,) = outs[-1][3]
    assert info.agent_stats[0]["movement.direction.up"] == 1  # the second move hits the wall
    assert info.agent_stats[0]["status.max_steps_without_motion"] == 3  # noop, failed move, noop
