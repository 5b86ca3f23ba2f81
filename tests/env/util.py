"""Helpers for env tests: small hand-made maps on top of a real arena config."""

from __future__ import annotations

from typing import Any

import numpy as np

from metta.env import EnvConfig, VecEnv, load_env_config

_BASE: dict[str, Any] = {}


def base_dict(name: str = "arena/basic_easy_shaped") -> dict[str, Any]:
    if name not in _BASE:
        _BASE[name] = load_env_config(name).model_dump(mode="json")
    import copy

    return copy.deepcopy(_BASE[name])


def layout_cfg(layout: list[str], name: str = "arena/basic_easy_shaped", **game: Any) -> EnvConfig:
    d = base_dict(name)
    d["game"]["map"]["layout"] = layout
    d["game"]["num_agents"] = sum(row.count("A") for row in layout)
    d["game"]["desync_episodes"] = False
    for key, value in game.items():
        node = d["game"]
        parts = key.split("__")
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = value
    return EnvConfig.from_dict(d)


def A(env: VecEnv, name: str) -> int:
    """Flat action index by legacy name, e.g. 'rotate_0' or 'get_items_0'."""
    return env.action_names.index(name)


def run(env: VecEnv, script: list[list[str]]):
    """Step through per-step lists of action names (one per agent, env 0 only); return the list of step outputs."""
    out = []
    for names in script:
        acts = np.array([A(env, n) for n in names] * env.num_envs, dtype=np.int64)
        out.append(env.step(acts))
    return out
