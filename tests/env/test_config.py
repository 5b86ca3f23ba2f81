"""The env YAML tree composes; bad configs fail at load naming key and value."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from metta.common.config import CONFIGS_DIR, compose
from metta.common.errors import ConfigError, EnvConfigError
from metta.env import EnvConfig, load_env_config
from tests.env.util import base_dict

# Every env YAML except config fragments (rewards/) and curricula (task lists, tested in tests/env/test_curriculum.py).
ENV_YAMLS = sorted(
    name
    for name in (p.relative_to(CONFIGS_DIR).with_suffix("").as_posix() for p in (CONFIGS_DIR / "env").rglob("*.yaml"))
    if not name.startswith(("env/mettagrid/rewards/", "env/mettagrid/curriculum/", "env/gym/"))
)


def test_every_env_yaml_composes_and_validates():
    assert "env/mettagrid/arena/basic_easy_shaped" in ENV_YAMLS and len(ENV_YAMLS) >= 16
    for name in ENV_YAMLS:
        assert compose(name) is not None
        cfg = load_env_config("/" + name)
        assert isinstance(cfg, EnvConfig)


def test_basic_easy_shaped_resolves_to_the_legacy_values():
    cfg = load_env_config("arena/basic_easy_shaped")
    g = cfg.game
    assert g.num_agents == 24 and g.map.agents_per_room == 6 and g.max_steps == 1000
    assert dict(g.map.objects) == {"mine_red": 10, "generator_red": 5, "altar": 5, "block": 20, "wall": 20}
    assert g.objects["altar"].input_resources == {"battery_red": 1}
    assert g.objects["mine_red"].cooldown == 50 and g.objects["generator_red"].cooldown == 25
    assert g.agent.rewards.inventory["ore_red"] == 0.1 and g.agent.rewards.inventory_max["battery_red"] == 1.0
    assert g.agent.resource_limits == {"heart": 255} and g.agent.freeze_duration == 10
    assert load_env_config("arena/basic").game.objects["altar"].input_resources == {"battery_red": 3}
    assert load_env_config("arena/combat").game.map.objects["lasery"] == 1


def test_model_dump_round_trips_and_is_frozen():
    cfg = load_env_config("arena/advanced")
    again = EnvConfig.from_dict(cfg.model_dump(mode="json"))
    assert again == cfg
    with pytest.raises(ValidationError):
        cfg.game.max_steps = 5  # type: ignore[misc]


def test_overrides_apply_relative_to_env_root():
    cfg = load_env_config("arena/basic", ["game.max_steps=200", "game.num_agents=6"])
    assert cfg.game.max_steps == 200 and cfg.game.num_agents == 6


def test_struct_mode_rejects_unknown_key():
    with pytest.raises(ConfigError, match="game.no_such_key"):
        load_env_config("arena/basic", ["game.no_such_key=3"])


@pytest.mark.parametrize(
    ("path", "value", "expect"),
    [
        (("game", "map", "objects", "dragon"), 3, r"game\.map\.objects\.dragon = 3: unknown object"),
        (("game", "map", "objects", "wall"), -2, r"game\.map\.objects\.wall = -2"),
        (("game", "map", "objects", "block"), 700, r"game\.map\.objects = .*do not fit"),
        (("game", "objects", "altar", "input_resources"), {"gold": 1}, r"input_resources\.gold = 1: unknown item"),
        (("game", "actions", "teleport"), {"enabled": True}, r"game\.actions\.teleport"),
        (("game", "num_agents"), 25, r"game\.num_agents = 25: must be a multiple"),
        (("game", "max_steps"), 0, r"game\.max_steps = 0"),
        (("game", "objects", "mine_red", "cooldown"), -1, r"game\.objects\.mine_red\.cooldown = -1"),
        (("game", "agent", "resource_limits", "heart"), 300, r"resource_limits\.heart = 300"),
    ],
)
def test_bad_config_names_key_and_value(path, value, expect):
    d = base_dict("arena/basic")
    node = d
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    with pytest.raises(EnvConfigError, match=expect):
        EnvConfig.from_dict(d)


def test_bad_layout_character_is_named():
    d = base_dict("arena/basic")
    d["game"]["map"]["layout"] = ["###", "#A?", "###"]
    d["game"]["num_agents"] = 1
    with pytest.raises(EnvConfigError, match=r"layout\[1\].*'\?'"):
        EnvConfig.from_dict(d)


def test_unknown_env_name_is_a_config_error():
    with pytest.raises(EnvConfigError, match="arena/nope"):
        load_env_config("arena/nope")


def test_configs_have_no_absolute_paths():
    for p in (CONFIGS_DIR / "env").rglob("*.yaml"):
        assert "/work/" not in Path(p).read_text()
