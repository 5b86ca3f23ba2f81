"""The 15 Hydra-era arena envs: they compose, step, have the legacy grid size, object counts and recipes."""

from __future__ import annotations

import numpy as np
import pytest

from metta.env import VecEnv, load_env_config
from metta.env import kernels as K
from metta.env.mapgen import generate_map, grid_shape

ARENAS = [
    "basic",
    "basic_easy",
    "basic_easy_shaped",
    "basic_poor",
    "combat",
    "combat_easy",
    "combat_easy_shaped",
    "combat_poor",
    "advanced",
    "advanced_easy",
    "advanced_easy_shaped",
    "advanced_poor",
    "tag",
    "tag_easy",
    "tag_easy_shaped",
]
BASIC = {"mine_red": 10, "generator_red": 5, "altar": 5, "block": 20, "wall": 20}
POOR = {**BASIC, "mine_red": 3, "generator_red": 2}
COMBAT = {"lasery": 1, "armory": 1}
ADVANCED = {"lab": 1, "factory": 1, "temple": 1}
TAG = {"mine_red": 10, "generator_red": 5, "altar": 2, "lasery": 2, "armory": 2, "block": 20, "wall": 20}
ROOM_OBJECTS = {
    "basic": BASIC,
    "basic_easy": BASIC,
    "basic_easy_shaped": BASIC,
    "basic_poor": POOR,
    "combat": {**BASIC, **COMBAT},
    "combat_easy": {**BASIC, **COMBAT},
    "combat_easy_shaped": {**BASIC, **COMBAT},
    "combat_poor": {**POOR, **COMBAT},
    "advanced": {**BASIC, **COMBAT, **ADVANCED},
    "advanced_easy": {**BASIC, **COMBAT, **ADVANCED},
    "advanced_easy_shaped": {**BASIC, **COMBAT, **ADVANCED},
    "advanced_poor": {**POOR, **COMBAT, **ADVANCED},
    "tag": TAG,
    "tag_easy": TAG,
    "tag_easy_shaped": TAG,
}


def test_all_fifteen_compose_and_step():
    rng = np.random.default_rng(0)
    for name in ARENAS:
        cfg = load_env_config(f"arena/{name}", ["game.max_steps=30"])
        assert cfg.label == f"arena/{name}"
        env = VecEnv(cfg, num_envs=2, seed=1)
        obs = env.reset()
        assert obs.shape == (48, 200, 3)
        ended = 0
        for _ in range(30):
            obs, rewards, dones, infos = env.step(rng.integers(0, env.num_actions, env.total_agents))
            assert np.isfinite(rewards).all()
            ended += len(infos)
        assert ended >= 2, name  # every env finished its (possibly desynced) first episode


@pytest.mark.parametrize("name", ["basic", "combat_poor", "advanced", "tag"])
def test_grid_size_and_object_counts(name):
    game = load_env_config(f"arena/{name}").game
    border = 5 if name.startswith("tag") else 6
    assert grid_shape(game) == (50 + 2 * border,) * 2  # 62x62, tag 60x60 (the legacy map generator's default border)
    cell, agents = generate_map(game, np.random.default_rng(7))
    names = list(game.objects)
    interior = cell[border:-border, border:-border]
    counts = {n: int((interior == names.index(n)).sum()) for n in names}
    expected = {n: 4 * c for n, c in ROOM_OBJECTS[name].items()}  # 4 rooms of 25x25, no walls between them
    assert {n: c for n, c in counts.items() if c} == expected
    assert (cell[:border] == names.index("wall")).all() and (cell[:, -border:] == names.index("wall")).all()
    assert len(agents) == 24 and len({tuple(a) for a in agents.tolist()}) == 24
    assert (cell[agents[:, 0], agents[:, 1]] == -1).all()


def test_recipes_follow_the_legacy_compose_chain():
    obj = {n: load_env_config(f"arena/{n}").game.objects for n in ARENAS}
    assert obj["basic_easy"]["altar"].input_resources == {"battery_red": 1}
    # combat_easy / advanced_easy keep the plain altar; only their own converters get easier
    assert obj["combat_easy"]["altar"].input_resources == {"battery_red": 3}
    assert obj["combat_easy"]["armory"].input_resources == {"ore_red": 1}
    assert {k: v for k, v in obj["combat_easy"]["lasery"].input_resources.items() if v} == {"ore_red": 1}
    assert obj["advanced_easy"]["armory"].input_resources == {"ore_red": 3}
    assert obj["advanced_easy"]["lab"].input_resources == {"ore_red": 1, "battery_red": 1}
    assert obj["advanced_easy"]["factory"].input_resources == {"blueprint": 1, "ore_red": 1, "battery_red": 1}
    shaped = load_env_config("arena/tag_easy_shaped").game.agent.rewards
    assert shaped.inventory["battery_red"] == 0.8 and shaped.inventory_max["ore_red"] == 1.0
    assert load_env_config("arena/tag").game.agent.rewards.inventory == {"heart": 1.0}


def test_tag_altar_and_lasery():
    for name, lasers in (("tag", 20), ("tag_easy", 1), ("tag_easy_shaped", 1)):
        objs = load_env_config(f"arena/{name}").game.objects
        altar, lasery = objs["altar"], objs["lasery"]
        assert altar.input_resources == {"battery_red": 3, "laser": 100}
        assert altar.output_resources == {"heart": 1}
        assert (altar.initial_resource_count, altar.cooldown) == (1, 1)
        assert (lasery.initial_resource_count, lasery.cooldown) == (lasers, 1)
        assert lasery.input_resources == {"ore_red": 1, "battery_red": 2}


def test_tag_converters_start_stocked_in_the_env():
    env = VecEnv(load_env_config("arena/tag"), num_envs=1, seed=3)
    env.reset()
    snap = env.snapshot(0)
    items = env.tables.items
    tid = {n: env.tables.obj_type_id[i] for i, n in enumerate(env.tables.object_names)}
    altars = snap["converter_type_id"] == tid["altar"]
    laseries = snap["converter_type_id"] == tid["lasery"]
    assert altars.sum() == 8 and laseries.sum() == 8
    assert (snap["converter_inventory"][altars][:, items.index("heart")] == 1).all()
    assert (snap["converter_inventory"][laseries][:, items.index("laser")] == 20).all()


# Attack targets relative to the attacker, (forward, lateral) with lateral -1 = the attacker's left, in the legacy
# scan order: distance 1..3, each row centre, left, right.
SCAN = [(d, lat) for d in (1, 2, 3) for lat in (0, -1, 1)]
# Map offsets (drow, dcol) of one step forward and one step to the attacker's right, per orientation.
FORWARD = {0: (-1, 0), 1: (1, 0), 2: (0, -1), 3: (0, 1)}
RIGHT = {0: (0, 1), 1: (0, -1), 2: (-1, 0), 3: (1, 0)}


@pytest.mark.parametrize("orientation", [0, 1, 2, 3])
def test_attack_target_order_for_each_orientation(orientation):
    r0, c0 = 6, 6
    cell_agent = np.full((1, 13, 13), -1, dtype=np.int16)
    fr, fc = FORWARD[orientation]
    rr, rc = RIGHT[orientation]
    for k, (d, lat) in enumerate(SCAN):
        cell_agent[0, r0 + d * fr + lat * rr, c0 + d * fc + lat * rc] = 100 + k
    for arg in range(9):
        assert K.find_attack_target(0, r0, c0, orientation, arg, cell_agent) == 100 + arg
    # only some cells occupied: arg counts occupied cells only; past the end -> the last one found
    keep = {1, 5, 6}  # left at distance 1, right at distance 2, centre at distance 3
    sparse = np.where(np.isin(cell_agent, [100 + k for k in keep]), cell_agent, -1).astype(np.int16)
    assert [K.find_attack_target(0, r0, c0, orientation, a, sparse) for a in range(4)] == [101, 105, 106, 106]
    # facing up, the rows read "1 0 2" (left to right on the map)
    if orientation == 0:
        assert cell_agent[0, r0 - 1, c0 - 1 : c0 + 2].tolist() == [101, 100, 102]
