"""The Python "Tool pattern": a frozen pydantic config that knows how to run itself.

A recipe function (``experiments/recipes/*.py``) returns a Tool; ``./tools/run.py module.function`` binds
``--args`` to the function's parameters, applies ``--overrides`` by dotted path (:meth:`Tool.with_overrides`, type
checked), seeds the process from ``system``, then calls :meth:`Tool.invoke`. Tools are built from the same typed
config classes the Hydra path resolves into, so ``./tools/config_diff.py`` can hold the two trees side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from metta.rl.trainer_config import SystemConfig
from metta.tools.overrides import apply_overrides


class Tool(BaseModel):
    """Base of every tool: process settings plus :meth:`invoke`."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    system: SystemConfig = Field(default_factory=SystemConfig, description="Seed, determinism, device, threads.")

    def with_overrides(self, overrides: Sequence[str] | Mapping[str, Any]) -> Self:
        """A copy with dotted-path overrides applied (``["system.seed=42"]`` or ``{"system.seed": 42}``)."""
        return apply_overrides(self, overrides)

    def invoke(self, args: Mapping[str, str], overrides: Sequence[str]) -> int | None:
        """Run the tool; return a process exit code (None = 0). ``args``/``overrides`` are what the user passed."""
        raise NotImplementedError(f"{type(self).__name__} does not implement invoke()")
