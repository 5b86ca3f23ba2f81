"""Typed simulation and suite configs: YAML (``configs/sim/*.yaml``) → one ``resolve_suite()`` → frozen pydantic.

A suite YAML holds suite-level defaults (``num_episodes``, ``max_time_s``, ``seed``, ``env_overrides``,
``npc_policy_uri``, ``policy_agents_pct``) and a ``simulations`` mapping ``name -> {env, ...}``; every simulation
inherits the suite defaults it does not set itself. A simulation's *category* is its name before the first ``/``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from metta.common.config import CONFIGS_DIR, compose, to_container
from metta.common.config_base import FrozenConfig, format_validation_error
from metta.common.errors import ConfigError, EvaluationError
from metta.common.overrides import format_override

Scalar = int | float | bool | str
_INHERITED = ("num_episodes", "max_time_s", "seed", "env_overrides", "npc_policy_uri", "policy_agents_pct")


def category_of(sim_name: str) -> str:
    """The category of a simulation: the part of its name before the first ``/`` (the whole name if none)."""
    return sim_name.split("/", 1)[0]


def env_override_strings(env_overrides: Mapping[str, Scalar]) -> list[str]:
    """Turn ``{"game.max_steps": 300}`` into Hydra override strings ``["++game.max_steps=300"]``."""
    return [format_override(key, value) for key, value in env_overrides.items()]


class SimulationConfig(FrozenConfig):
    """One simulation: an env variant evaluated for ``num_episodes`` episodes within ``max_time_s`` seconds."""

    name: str = Field(min_length=1, description="Simulation name '<category>/<variant>', e.g. 'arena/basic'.")
    env: str = Field(min_length=1, description="Env config name, e.g. '/env/mettagrid/arena/basic'.")
    num_episodes: int = Field(default=1, ge=1, le=10_000, description="Episodes to run (each with its own seed).")
    max_time_s: float = Field(default=120.0, gt=0, le=86_400, description="Wall-clock budget for this simulation.")
    seed: int = Field(default=42, ge=0, lt=2**31, description="Base seed of the env episodes and action sampling.")
    env_overrides: dict[str, Scalar] = Field(default_factory=dict, description="Dotted env keys -> values.")
    npc_policy_uri: str | None = Field(default=None, description="Optional policy URI controlling the other agents.")
    policy_agents_pct: float = Field(default=1.0, ge=0.0, le=1.0, description="Share of agents for the policy.")

    @field_validator("max_time_s", "policy_agents_pct")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"must be finite, got {v}")
        return v

    @model_validator(mode="after")
    def _npc_share(self) -> SimulationConfig:
        if self.policy_agents_pct < 1.0 and self.npc_policy_uri is None:
            raise ValueError(
                f"policy_agents_pct={self.policy_agents_pct} < 1 needs npc_policy_uri for the other agents"
            )
        return self

    @property
    def category(self) -> str:
        """The part of the name before the first '/'."""
        return category_of(self.name)

    def env_override_list(self) -> list[str]:
        """The env overrides as Hydra override strings for ``metta.env.load_env_config``."""
        return env_override_strings(self.env_overrides)


class SimulationSuiteConfig(FrozenConfig):
    """A named, ordered set of simulations."""

    name: str = Field(min_length=1, description="Suite name, e.g. 'arena'.")
    simulations: tuple[SimulationConfig, ...] = Field(min_length=1, description="The simulations, in run order.")

    @model_validator(mode="after")
    def _unique(self) -> SimulationSuiteConfig:
        names = [s.name for s in self.simulations]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate simulation names {dupes} in suite {self.name!r}")
        return self

    @property
    def names(self) -> list[str]:
        """Simulation names in run order."""
        return [s.name for s in self.simulations]

    def select(self, names: Sequence[str]) -> SimulationSuiteConfig:
        """A copy with only the simulations in ``names``; an unknown name raises EvaluationError listing the known."""
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise EvaluationError(f"unknown simulation(s) {unknown} in suite {self.name!r}; known: {self.names}")
        return SimulationSuiteConfig(name=self.name, simulations=tuple(s for s in self.simulations if s.name in names))


def resolve_suite(data: Any) -> SimulationSuiteConfig:
    """Resolve a suite mapping (plain dict or DictConfig of ``configs/sim/<suite>.yaml``) into a typed suite.

    Suite-level keys are defaults for every simulation. Raises ConfigError naming the bad key/value.
    """
    raw = to_container(data)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"a simulation suite must be a mapping, got {type(raw).__name__}: {raw!r}")
    raw = dict(raw)
    name = raw.pop("name", None)
    sims = raw.pop("simulations", None)
    defaults = {k: raw.pop(k) for k in _INHERITED if k in raw}
    if raw:
        raise ConfigError(
            f"unknown key(s) {sorted(raw)} in suite {name!r}; allowed: name, simulations, {list(_INHERITED)}"
        )
    if not isinstance(sims, Mapping) or not sims:
        raise ConfigError(
            f"suite {name!r} needs a non-empty 'simulations' mapping of name -> {{env: ...}}, got {sims!r}"
        )
    try:
        resolved = []
        for sim_name, body in sims.items():
            if not isinstance(body, Mapping):
                raise ConfigError(f"simulation {sim_name!r} in suite {name!r} must be a mapping, got {body!r}")
            merged = {**defaults, **dict(body)}
            merged["env_overrides"] = {**defaults.get("env_overrides", {}), **dict(body.get("env_overrides") or {})}
            resolved.append(SimulationConfig(name=str(sim_name), **merged))
        return SimulationSuiteConfig(name=name, simulations=tuple(resolved))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"simulation suite {name!r}")) from exc


def available_suites() -> list[str]:
    """Names of the suites under ``configs/sim/``."""
    return sorted(p.stem for p in (CONFIGS_DIR / "sim").glob("*.yaml"))


def load_suite(name: str, overrides: Sequence[str] = ()) -> SimulationSuiteConfig:
    """Compose ``configs/sim/<name>.yaml`` and resolve it.

    ``overrides`` are Hydra overrides relative to the suite, e.g. ``["num_episodes=1"]``. An unknown suite raises
    EvaluationError listing the available ones.
    """
    if name not in available_suites():
        raise EvaluationError(f"unknown simulation suite {name!r}; available: {available_suites()} (configs/sim/)")
    prefixed = []
    for ov in overrides:
        plus = len(ov) - len(ov.lstrip("+~"))
        prefixed.append(f"{ov[:plus]}sim.{ov[plus:]}")
    composed = compose(f"sim/{name}", prefixed)
    return resolve_suite(composed["sim"] if "sim" in composed else composed)
