"""Observation/action space descriptions of the arena shared by the wrappers (plain data, no library imports)."""

from __future__ import annotations

from dataclasses import dataclass

from metta.env.vecenv import VecEnv


@dataclass(frozen=True)
class ArenaSpaces:
    """Per-agent observation (uint8 tokens [200, 3], 0..255) and discrete action count."""

    obs_shape: tuple[int, int]
    num_actions: int


def arena_spaces(env: VecEnv) -> ArenaSpaces:
    """The per-agent spaces of an arena VecEnv."""
    return ArenaSpaces(tuple(env.obs_shape), int(env.num_actions))  # type: ignore[arg-type]
