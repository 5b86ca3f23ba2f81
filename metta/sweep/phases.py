"""Sweep phases (``schedule.phases`` of a sweep config): pick the phase from the number of launched trials, merge its
``sweep:`` overrides over the base sweep config. Pure functions."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

from metta.common.config_base import FrozenConfig
from metta.common.errors import ConfigError


class PhaseConfig(FrozenConfig):
    """One phase: its name, how many trials it lasts and the sweep-config overrides merged over the base."""

    name: str = Field(min_length=1, description="Phase name, shown in logs and stored with every trial.")
    num_runs: int = Field(ge=1, le=10_000_000, description="Number of launched trials this phase lasts.")
    sweep: dict[str, Any] = Field(default_factory=dict, description="Overrides of protein settings / parameters.")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (mappings merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def select_phase(phases: Sequence[PhaseConfig], num_launched: int) -> int | None:
    """Index of the phase for the next trial after ``num_launched`` trials (None without phases).

    Phase i covers launched-trial counts [sum(num_runs[:i]), sum(num_runs[:i+1])); past the end the last phase
    continues.
    """
    if num_launched < 0:
        raise ConfigError(f"num_launched={num_launched} must be >= 0")
    if not phases:
        return None
    boundary = 0
    for i, phase in enumerate(phases):
        boundary += phase.num_runs
        if num_launched < boundary:
            return i
    return len(phases) - 1


def merged_sweep(base: Mapping[str, Any], phases: Sequence[PhaseConfig], num_launched: int) -> tuple[str, dict]:
    """(phase name or "base", base sweep dict with the selected phase's overrides merged in)."""
    idx = select_phase(phases, num_launched)
    if idx is None:
        return "base", copy.deepcopy(dict(base))
    phase = phases[idx]
    unknown = set(phase.sweep) - {"protein", "settings", "parameters", "metric", "goal", "method"}
    if unknown:
        raise ConfigError(f"phase {phase.name!r} overrides unknown keys {sorted(unknown)}; use protein and parameters")
    return phase.name, deep_merge(base, phase.sweep)
