"""Smaller rules: reward caps, partial deposits, carry limits, factory blocking, map-edge clamping."""

from __future__ import annotations

import numpy as np
import pytest

from metta.env import VecEnv
from tests.env.util import layout_cfg, run


def test_capped_reward_second_battery_worth_point_two_and_robbery_negative():
    env = VecEnv(layout_cfg(["#####", "#.n.#", "#.A.#", "#####"]), num_envs=1, seed=0)
    env.reset()
    env.set_inventory(0, 0, "battery_red", 1)
    env.set_inventory(0, 0, "ore_red", 1)
    outs = run(env, [["put_items_0"], ["get_items_0"]])  # deposit ore (-0.1), take the new battery (+0.2)
    assert [float(o[1][0]) for o in outs] == pytest.approx([-0.1, 0.2])
    t = env.tables
    inv = np.array([[0, 0, 0, 2, 0, 0, 3, 0, 0, 0]], dtype=np.float64)
    assert t.capped_value(inv)[0] == pytest.approx(1.0 + 3.0)


def test_put_items_is_partial_and_get_items_respects_carry_limit():
    cfg = layout_cfg(
        ["#####", "#.L.#", "#.A.#", "#####"],
        name="arena/advanced",
        agent__resource_limits={"heart": 255, "blueprint": 0},
    )
    env = VecEnv(cfg, num_envs=1, seed=0)
    env.reset()
    env.set_inventory(0, 0, "ore_red", 2)  # lab needs 3 ore + 3 battery: deposits 2 ore, nothing starts
    run(env, [["put_items_0"]])
    snap = env.snapshot(0)
    t = env.tables
    assert snap["converter_inventory"][0, t.items.index("ore_red")] == 2 and not snap["converter_converting"][0]
    env.set_inventory(0, 0, "ore_red", 1)
    env.set_inventory(0, 0, "battery_red", 3)
    run(env, [["put_items_0"], ["noop_0"], ["get_items_0"]])
    snap = env.snapshot(0)
    assert snap["converter_inventory"][0, t.items.index("blueprint")] == 1  # produced, but limit 0: stays put
    assert env.stats[0, 0, t.stat_names.index("action.get_items.failed")] == 1


def test_factory_output_exceeds_max_output_so_it_blocks_until_emptied():
    cfg = layout_cfg(["#####", "#.f.#", "#.A.#", "#####"], name="arena/advanced")
    env = VecEnv(cfg, num_envs=1, seed=0)
    env.reset()
    t = env.tables
    for item, n in (("blueprint", 2), ("ore_red", 10), ("battery_red", 10)):
        env.set_inventory(0, 0, item, n)
    run(env, [["put_items_0"], ["noop_0"], ["put_items_0"]] + [["noop_0"]] * 10)
    snap = env.snapshot(0)
    inv = snap["converter_inventory"][0]
    assert inv[t.items.index("armor")] == 5 and inv[t.items.index("laser")] == 5
    assert inv[t.items.index("blueprint")] == 1  # second set of inputs waits: 10 outputs >= max_output 5
    assert not snap["converter_converting"][0]
    run(env, [["get_items_0"], ["noop_0"]])  # emptied -> restarts at once, outputs one step later
    assert env.snapshot(0)["converter_inventory"][0, t.items.index("laser")] == 5
    assert env.inv[0, 0, t.items.index("laser")] == 5


def test_move_clamps_at_map_edge_without_border():
    env = VecEnv(layout_cfg(["A.", ".."]), num_envs=1, seed=0)
    env.reset()
    run(env, [["move_0"]])  # facing up at row 0: the clamped target is its own cell -> fails
    assert (int(env.agent_r[0, 0]), int(env.agent_c[0, 0])) == (0, 0)
    run(env, [["move_1"], ["rotate_3"], ["move_0"]])
    assert (int(env.agent_r[0, 0]), int(env.agent_c[0, 0])) == (1, 1)
    assert env.stats[0, 0, env.tables.stat_names.index("movement.direction.down")] == 1
