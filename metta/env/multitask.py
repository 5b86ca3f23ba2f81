"""Several env configs (curriculum tasks) in one set of kernel tables, so an env instance can switch task at reset.

Object kinds are the union over tasks of distinct (name, object config) pairs: a tag altar and a basic altar are two
kinds with the same observed type id. Each task maps its own object indices to union kinds, so the kernels keep
indexing ``obj_*[kind]`` and never see which task an env plays; the arrays keep their shapes and dtypes, so the
compiled kernels are reused as they are. Per-task reward weights are rows of ``reward_w`` / ``reward_cap``. Settings
the kernels take once for all envs (items, carry limits, attack costs, enabled actions, freeze, failure penalty,
agents per env) must agree across tasks; otherwise loading fails naming the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metta.common.errors import EnvConfigError
from metta.env.config import EnvConfig
from metta.env.mapgen import converters_per_env, grid_shape
from metta.env.tables import Tables, build_tables

# Table fields that must be equal in every task (the kernels take them once for all envs).
_SHARED_TABLES = ("items", "limits", "att_consume", "att_defense", "enabled", "initial_inventory")
# Per-kind table fields, gathered from each task into the union.
_KIND_FIELDS = (
    "obj_type_id",
    "obj_color",
    "obj_swappable",
    "obj_is_conv",
    "obj_in",
    "obj_out",
    "obj_max_out",
    "obj_ticks",
    "obj_cooldown",
    "obj_initial",
    "obj_items",
    "obj_nitems",
)


@dataclass(frozen=True)
class TaskSet:
    """Union tables of several tasks plus what each task needs at reset."""

    names: tuple[str, ...]
    cfgs: tuple[EnvConfig, ...]
    tables: Tables
    kind_maps: tuple[np.ndarray, ...]  # per task: its object index -> union kind
    reward_w: np.ndarray  # [T, R]
    reward_cap: np.ndarray  # [T, R]
    height: int
    width: int
    converters: int

    def capped_value(self, task: int, inv: np.ndarray) -> np.ndarray:
        """Σ_i min(w_i·n_i, cap_i) with task ``task``'s reward weights, over the last axis."""
        return np.minimum(self.reward_w[task] * inv, self.reward_cap[task]).sum(axis=-1)


def _check_shared(names: Sequence[str], cfgs: Sequence[EnvConfig], tables: Sequence[Tables]) -> None:
    g0, t0 = cfgs[0].game, tables[0]
    for name, cfg, t in zip(names[1:], cfgs[1:], tables[1:], strict=True):
        g = cfg.game
        scalars = {
            "game.num_agents": (g.num_agents, g0.num_agents),
            "game.agent.freeze_duration": (g.agent.freeze_duration, g0.agent.freeze_duration),
            "game.agent.action_failure_penalty": (g.agent.action_failure_penalty, g0.agent.action_failure_penalty),
        }
        for key, (a, b) in scalars.items():
            if a != b:
                raise EnvConfigError(
                    f"curriculum task {name}: {key} = {a!r} differs from {names[0]} ({b!r}); "
                    "every task of a curriculum must use the same value"
                )
        for field in _SHARED_TABLES:
            if not np.array_equal(np.asarray(getattr(t, field)), np.asarray(getattr(t0, field))):
                raise EnvConfigError(
                    f"curriculum task {name}: its {field} differs from {names[0]}; every task of a curriculum must "
                    "share items, carry limits, attack costs, enabled actions and initial inventory"
                )


def build_task_set(cfgs: Sequence[EnvConfig], names: Sequence[str] | None = None) -> TaskSet:
    """Union tables of ``cfgs`` (one task = the plain tables of that config)."""
    if not cfgs:
        raise EnvConfigError("a task set needs at least one env config")
    names = tuple(names) if names is not None else tuple(c.label for c in cfgs)
    per_task = [build_tables(c) for c in cfgs]
    _check_shared(names, cfgs, per_task)
    union: dict[tuple[str, str], tuple[int, int]] = {}  # (name, config json) -> (task, local index)
    kind_maps = []
    for ti, cfg in enumerate(cfgs):
        local = []
        for k, (oname, obj) in enumerate(cfg.game.objects.items()):
            key = (oname, obj.model_dump_json())
            if key not in union:
                union[key] = (ti, k)
            local.append(list(union).index(key))
        kind_maps.append(np.array(local, dtype=np.int64))
    sources = list(union.values())
    t0 = per_task[0]
    gathered: dict[str, Any] = {f: np.stack([getattr(per_task[t], f)[k] for t, k in sources]) for f in _KIND_FIELDS}
    object_names = tuple(name for name, _ in union)
    n_local = len(t0.object_names)
    stat_names = t0.stat_names[: len(t0.stat_names) - n_local] + tuple(f"action.swap.{n}" for n in object_names)
    tables = dataclasses.replace(t0, object_names=object_names, stat_names=stat_names, **gathered)
    shapes = [grid_shape(c.game) for c in cfgs]
    return TaskSet(
        names=names,
        cfgs=tuple(cfgs),
        tables=tables,
        kind_maps=tuple(kind_maps),
        reward_w=np.stack([t.reward_w for t in per_task]),
        reward_cap=np.stack([t.reward_cap for t in per_task]),
        height=max(h for h, _ in shapes),
        width=max(w for _, w in shapes),
        converters=max(converters_per_env(c.game) for c in cfgs),
    )


def place_map(task_set: TaskSet, task: int, local_cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map a task's generated grid (its own object indices) to union kinds in the full-size grid.

    A grid smaller than the largest task's is placed at the top-left corner and the rest is filled with that
    task's wall; with an outer wall at least as thick as the view radius no agent ever sees the filler.
    Returns ``(cell[H, W], object counts per union kind)`` (counts exclude the filler).
    """
    kmap = task_set.kind_maps[task]
    h, w = local_cell.shape
    kinds = np.where(local_cell >= 0, kmap[np.maximum(local_cell, 0)], -1).astype(np.int16)
    placed = kinds[kinds >= 0].astype(np.int64)
    counts = np.bincount(placed, minlength=len(task_set.tables.object_names))
    if (h, w) == (task_set.height, task_set.width):
        return kinds, counts
    objects = list(task_set.cfgs[task].game.objects)
    if "wall" not in objects:
        raise EnvConfigError(
            f"task {task_set.names[task]}: its {h}x{w} grid is smaller than {task_set.height}x{task_set.width} "
            "and it has no 'wall' object to fill the rest; give all tasks the same map size"
        )
    cell = np.full((task_set.height, task_set.width), kmap[objects.index("wall")], dtype=np.int16)
    cell[:h, :w] = kinds
    return cell, counts
