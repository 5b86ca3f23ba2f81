"""Numeric lookup tables (items, objects, actions, stat names) derived once from an :class:`EnvConfig`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metta.env import kernels as K
from metta.env.config import ACTION_NUM_ARGS, ACTION_TYPES, EnvConfig, ObjectConfig

DIRECTIONS = ("up", "down", "left", "right")
MISC_STATS = (
    "status.frozen.ticks",
    "action.invalid_type",
    "action.failure_penalty",
    *(f"movement.direction.{d}" for d in DIRECTIONS),
    *(f"movement.rotation.to_{d}" for d in DIRECTIONS),
    "movement.sequential_rotations",
    "action.attack.agent.hit.agent",
    "action.attack.agent.hit_by.agent",
    "action.attack.agent.blocked_by.agent",
    "action.attack.agent.wasted_on_frozen",
    "action.attack.agent.friendly_fire",
    "action.swap.agent",
    "status.max_steps_without_motion",
)
GAME_STATS = (
    "tokens_written",
    "tokens_dropped",
    "tokens_free_space",
    "conversions",
    "blocked.output_full",
    "blocked.insufficient_input",
    "conversions.started",
    "cooldown.started",
    "cooldown.completed",
)
assert len(MISC_STATS) == K.NUM_MISC and len(GAME_STATS) == K.NUM_GAME_STATS


def flat_action_names() -> list[str]:
    """The flat action list in legacy order: attack_0..attack_8, get_items_0, move_0, move_1, noop_0, ..., swap_0."""
    return [f"{t}_{arg}" for t, n in zip(ACTION_TYPES, ACTION_NUM_ARGS, strict=True) for arg in range(n)]


@dataclass(frozen=True)
class Tables:
    """Everything the kernels need about the game, as arrays."""

    items: tuple[str, ...]
    object_names: tuple[str, ...]
    obj_type_id: np.ndarray
    obj_color: np.ndarray
    obj_swappable: np.ndarray
    obj_is_conv: np.ndarray
    obj_in: np.ndarray
    obj_out: np.ndarray
    obj_max_out: np.ndarray
    obj_ticks: np.ndarray
    obj_cooldown: np.ndarray
    obj_initial: np.ndarray
    obj_items: np.ndarray  # [K, R] item ids a converter can hold (recipe inputs/outputs), padded with -1
    obj_nitems: np.ndarray  # [K] number of valid entries in obj_items
    limits: np.ndarray
    reward_w: np.ndarray
    reward_cap: np.ndarray
    att_consume: np.ndarray
    att_defense: np.ndarray
    enabled: np.ndarray
    initial_inventory: np.ndarray
    action_names: tuple[str, ...]
    act_type: np.ndarray
    act_arg: np.ndarray
    stat_names: tuple[str, ...]
    game_stat_names: tuple[str, ...]

    @property
    def num_items(self) -> int:
        return len(self.items)

    def capped_value(self, inv: np.ndarray) -> np.ndarray:
        """Σ_i min(w_i·n_i, cap_i) over the last axis of an inventory array (the shaped-reward potential)."""
        return np.minimum(self.reward_w * inv, self.reward_cap).sum(axis=-1)


def _item_vec(
    mapping: Mapping[str, float], items: tuple[str, ...], dtype: npt.DTypeLike, default: float = 0
) -> np.ndarray:
    return np.array([mapping.get(it, default) for it in items], dtype=dtype)


def _column(objs: list[ObjectConfig], attr: str, dtype: type = np.int64) -> np.ndarray:
    """One value per object type: field ``attr`` of each object's config."""
    return np.array([getattr(o, attr) for o in objs], dtype=dtype)


def build_tables(cfg: EnvConfig) -> Tables:
    g = cfg.game
    items = tuple(g.inventory_item_names)
    names = tuple(g.objects)
    objs = [g.objects[n] for n in names]
    a = g.agent
    limits = np.array([a.resource_limits.get(it, a.default_resource_limit) for it in items], dtype=np.int64)
    init = np.minimum(_item_vec(a.initial_inventory, items, np.int64), limits)
    flat = flat_action_names()
    act_type = np.array([ACTION_TYPES.index(n.rsplit("_", 1)[0]) for n in flat], dtype=np.int64)
    act_arg = np.array([int(n.rsplit("_", 1)[1]) for n in flat], dtype=np.int64)
    stat_names = (
        *(f"{it}.get" for it in items),
        *(f"{it}.gained" for it in items),
        *(f"{it}.lost" for it in items),
        *(f"{it}.put" for it in items),
        *(f"action.attack.agent.steals.{it}.from.agent" for it in items),
        *(f"action.{t}.success" for t in ACTION_TYPES),
        *(f"action.{t}.failed" for t in ACTION_TYPES),
        *MISC_STATS,
        *(f"action.swap.{n}" for n in names),
    )
    obj_in = np.array([_item_vec(o.input_resources, items, np.int64) for o in objs], dtype=np.int64).reshape(
        len(objs), len(items)
    )
    obj_out = np.array([_item_vec(o.output_resources, items, np.int64) for o in objs], dtype=np.int64).reshape(
        len(objs), len(items)
    )
    held = (obj_in > 0) | (obj_out > 0)
    obj_items = np.full((len(objs), len(items)), -1, dtype=np.int64)
    for k in range(len(objs)):
        ids = np.flatnonzero(held[k])
        obj_items[k, : len(ids)] = ids
    return Tables(
        items=items,
        object_names=names,
        obj_type_id=_column(objs, "type_id"),
        obj_color=_column(objs, "color"),
        obj_swappable=_column(objs, "swappable", np.bool_),
        obj_is_conv=_column(objs, "is_converter", np.bool_),
        obj_in=obj_in,
        obj_out=obj_out,
        obj_max_out=_column(objs, "max_output"),
        obj_ticks=_column(objs, "conversion_ticks"),
        obj_cooldown=_column(objs, "cooldown"),
        obj_initial=_column(objs, "initial_resource_count"),
        obj_items=obj_items,
        obj_nitems=held.sum(axis=1).astype(np.int64),
        limits=limits,
        reward_w=_item_vec(a.rewards.inventory, items, np.float64),
        reward_cap=_item_vec(a.rewards.inventory_max, items, np.float64, default=math.inf),
        att_consume=_item_vec(g.actions.attack.consumed_resources, items, np.int64),
        att_defense=_item_vec(g.actions.attack.defense_resources, items, np.int64),
        enabled=np.array([getattr(g.actions, t).enabled for t in ACTION_TYPES], dtype=np.bool_),
        initial_inventory=init,
        action_names=tuple(flat),
        act_type=act_type,
        act_arg=act_arg,
        stat_names=stat_names,
        game_stat_names=(*GAME_STATS, *(f"{it}.consumed" for it in items), *(f"{it}.produced" for it in items)),
    )
