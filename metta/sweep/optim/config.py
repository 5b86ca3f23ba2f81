"""Typed, frozen configuration of a hyperparameter search: parameters, Protein settings, the whole problem.

``ProteinConfig.from_dict`` reads the YAML of ``configs/sweep/*.yaml`` (a ``protein:`` block of settings,
``metric``, ``goal``, ``method`` and a nested ``parameters`` tree) and the Tool-era layout (``settings:``). Every
invalid value raises :class:`~metta.common.errors.OptimizerError` naming the dotted parameter path and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from metta.common.config_base import FrozenConfig, format_validation_error
from metta.common.errors import OptimizerError

Distribution = Literal["uniform", "int_uniform", "uniform_pow2", "log_normal", "logit_normal", "categorical"]
DISTRIBUTIONS: tuple[str, ...] = Distribution.__args__  # type: ignore[attr-defined]
# W&B spellings accepted on input and mapped onto ours (their min/max are values, not exponents).
_ALIASES = {"log_uniform_values": "log_normal", "int": "int_uniform", "linear": "uniform"}
METHODS: tuple[str, ...] = ("bayes", "random", "grid", "optuna_tpe", "optuna_gp")


class ParameterConfig(FrozenConfig):
    """One searched hyperparameter: its bounds, distribution, search centre and search width."""

    min: float | None = Field(None, description="Lower bound (inclusive); unused for categorical.")
    max: float | None = Field(None, description="Upper bound (inclusive); unused for categorical.")
    distribution: Distribution = Field("uniform", description="How values map to the normalised search space.")
    mean: float | None = Field(None, description="Search centre (default: centre of the normalised range).")
    scale: float | Literal["auto", "time"] = Field(
        "auto", description="Search width in normalised units ([-1, 1] span 2); auto = 0.5; time = log_normal only."
    )
    values: tuple[Any, ...] | None = Field(None, description="Explicit choices for the categorical distribution.")

    def __init__(
        self,
        min: float | None = None,
        max: float | None = None,
        distribution: str | None = None,
        mean: float | None = None,
        scale: float | str = "auto",
        values: Any = None,
        **extra: Any,
    ) -> None:
        data: dict[str, Any] = {"min": min, "max": max, "mean": mean, "scale": scale, **extra}
        if values is not None:
            data["values"] = tuple(values)
        if distribution is None:
            distribution = "categorical" if values is not None else "uniform"
        data["distribution"] = _ALIASES.get(str(distribution), distribution)
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise OptimizerError(f"invalid parameter: {format_validation_error(err)}") from err

    @field_validator("scale")
    @classmethod
    def _positive_scale(cls, v: float | str) -> float | str:
        if not isinstance(v, str) and not (math.isfinite(v) and v > 0):
            raise ValueError(f"scale={v} must be a positive number, 'auto' or 'time'")
        return v

    @model_validator(mode="after")
    def _check(self) -> ParameterConfig:
        d = self.distribution
        if d == "categorical":
            if not self.values:
                raise ValueError("categorical needs a non-empty 'values' list")
            if len(set(map(repr, self.values))) != len(self.values):
                raise ValueError(f"categorical values {list(self.values)} contain duplicates")
            return self
        if self.values is not None:
            raise ValueError(f"'values' is only for categorical, not {d}; drop it or set distribution: categorical")
        if self.min is None or self.max is None:
            raise ValueError(f"{d} needs both min and max")
        lo, hi = self.min, self.max
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"min={lo}, max={hi} must be finite")
        if lo > hi:
            raise ValueError(f"min={lo} > max={hi}; swap them")
        if d in ("log_normal", "uniform_pow2") and lo <= 0:
            raise ValueError(f"{d} needs min > 0 (got min={lo}); use uniform for ranges touching 0")
        if d == "logit_normal" and not (0 < lo and hi < 1):
            raise ValueError(f"logit_normal needs 0 < min <= max < 1 (got {lo}, {hi})")
        if d == "int_uniform" and math.ceil(lo) > math.floor(hi):
            raise ValueError(f"int_uniform [{lo}, {hi}] contains no integer")
        if d == "uniform_pow2" and 2 ** math.ceil(math.log2(lo) - 1e-12) > hi * (1 + 1e-12):
            raise ValueError(f"uniform_pow2 [{lo}, {hi}] contains no power of two")
        if self.scale == "time" and d != "log_normal":
            raise ValueError(f"scale: time is only for log_normal, not {d}; use auto or a number")
        if self.mean is not None:
            if not math.isfinite(self.mean) or not (lo <= self.mean <= hi):
                raise ValueError(f"mean={self.mean} is outside [min={lo}, max={hi}]; move it inside the bounds")
        return self

    @property
    def lo(self) -> float:
        """``min`` as a float (validated to exist for every non-categorical distribution)."""
        if self.min is None:
            raise OptimizerError(f"{self.distribution} parameter has no min")
        return float(self.min)

    @property
    def hi(self) -> float:
        """``max`` as a float (validated to exist for every non-categorical distribution)."""
        if self.max is None:
            raise OptimizerError(f"{self.distribution} parameter has no max")
        return float(self.max)

    @property
    def choices(self) -> tuple[Any, ...]:
        """The categorical values (empty for other distributions)."""
        return self.values or ()

    @property
    def is_integer(self) -> bool:
        """True when suggested values are Python ints (int_uniform, uniform_pow2)."""
        return self.distribution in ("int_uniform", "uniform_pow2")


class ProteinSettings(FrozenConfig):
    """Settings of the Protein optimizer (a sweep config's ``protein:`` block); every one is used (docs/protein.md)."""

    num_random_samples: int = Field(
        5, ge=0, le=10_000, description="Initial space-filling design size before the GP is used (centre first)."
    )
    max_suggestion_cost: float = Field(
        3600.0, gt=0, description="Candidates predicted to cost more than this (seconds) are masked out."
    )
    resample_frequency: int = Field(
        0, ge=0, le=10_000, description="Every Nth suggestion re-runs a Pareto point to average noise (0 = never)."
    )
    global_search_scale: float = Field(
        1.0, gt=0, le=100, description="Multiplies every parameter's scale for local candidates around Pareto points."
    )
    random_suggestions: int = Field(
        1024, ge=0, le=1_000_000, description="Global uniformly random candidates scored by the acquisition."
    )
    suggestions_per_pareto: int = Field(
        256, ge=0, le=100_000, description="Local candidates sampled around each Pareto point (and the best points)."
    )
    expansion_rate: float = Field(
        0.25, ge=0, le=10, description="Cost target: aim at (1+rate) x the cost of a Pareto point (0 = cost-blind)."
    )
    cost_signal_p: float = Field(
        0.01,
        gt=0,
        le=1,
        description="Cost-aware only when log cost follows a parameter (correlation-test p at most this; 1 = always).",
    )
    seed_with_search_center: bool = Field(
        True, description="The first suggestion is the search centre (every parameter at its mean)."
    )
    acquisition: Literal["ei", "ucb"] = Field("ei", description="Expected improvement or upper confidence bound.")
    ucb_beta: float = Field(2.0, gt=0, le=100, description="Exploration weight (std multiplier) for ucb.")
    stall_ucb_after: int = Field(
        4, ge=0, le=10_000, description="Use ucb after this many observations without a new best (0 = never)."
    )
    kernel: Literal["matern52", "rbf"] = Field("matern52", description="GP kernel (ARD lengthscales).")
    gp_restarts: int = Field(
        2, ge=0, le=50, description="Random restarts of the L-BFGS kernel fit besides the warm start."
    )
    grid_points: int = Field(5, ge=2, le=1000, description="Levels per continuous parameter for method: grid.")
    max_gp_points: int = Field(
        400, ge=10, le=100_000, description="Most recent/best points kept for the exact GP (bounds latency)."
    )


class ProteinConfig(FrozenConfig):
    """A whole search problem: metric, direction, method, nested parameters and Protein settings."""

    metric: str = Field("reward", min_length=1, description="Name of the optimised metric (e.g. reward, arena).")
    goal: Literal["maximize", "minimize"] = Field("maximize", description="Optimisation direction of the metric.")
    method: Literal["bayes", "random", "grid", "optuna_tpe", "optuna_gp"] = Field(
        "bayes", description="Optimizer: bayes (Protein), random, grid, optuna_tpe, optuna_gp."
    )
    parameters: dict[str, Any] = Field(description="Nested dict whose leaves are ParameterConfig.")
    settings: ProteinSettings = Field(default_factory=ProteinSettings, description="Protein optimizer settings.")

    def __init__(self, **data: Any) -> None:
        params = data.get("parameters")
        if params is not None:
            data["parameters"] = _build_tree(params, "")
        settings = data.get("settings")
        if isinstance(settings, Mapping):
            data["settings"] = _settings(settings)
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise OptimizerError(f"invalid sweep config: {format_validation_error(err)}") from err
        if not self.flat_parameters():
            raise OptimizerError("sweep config has no parameters; add at least one under 'parameters:'")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProteinConfig:
        """Build from a sweep-config dict (``protein:`` or ``settings:`` block; W&B-style metric dict ok)."""
        if not isinstance(d, Mapping):
            raise OptimizerError(f"sweep config must be a mapping, got {type(d).__name__}")
        data = dict(d)
        if "protein" in data:
            if "settings" in data:
                raise OptimizerError("give Protein settings under 'protein:' or 'settings:', not both")
            data["settings"] = data.pop("protein")
        if data.get("settings") is None:
            data.pop("settings", None)
        metric = data.get("metric")
        if isinstance(metric, Mapping):  # W&B: metric: {name: ..., goal: ...}
            unknown = set(metric) - {"name", "goal"}
            if unknown:
                raise OptimizerError(f"unknown keys {sorted(unknown)} in metric; use name and goal")
            if "goal" in metric:
                if "goal" in data and data["goal"] != metric["goal"]:
                    raise OptimizerError(f"goal given twice: {data['goal']!r} and metric.goal {metric['goal']!r}")
                data["goal"] = metric["goal"]
            data["metric"] = metric.get("name", "reward")
        if "parameters" not in data:
            raise OptimizerError("sweep config has no 'parameters:' block")
        return cls(**data)

    def flat_parameters(self) -> dict[str, ParameterConfig]:
        """Leaves as ``{"trainer.optimizer.learning_rate": ParameterConfig}`` in a stable (sorted) order."""
        return dict(sorted(_iter_leaves(self.parameters, "")))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict that ``from_dict`` reads back (settings under ``protein:``, as in configs/sweep/*.yaml)."""
        return {
            "metric": self.metric,
            "goal": self.goal,
            "method": self.method,
            "protein": self.settings.model_dump(mode="json"),
            "parameters": _dump_tree(self.parameters),
        }


def _settings(d: Mapping[str, Any]) -> ProteinSettings:
    try:
        return ProteinSettings(**d)
    except ValidationError as err:
        raise OptimizerError(f"invalid Protein settings: {format_validation_error(err)}") from err


def _is_leaf(d: Mapping[str, Any]) -> bool:
    return any(k in d for k in ("distribution", "values", "min", "max"))


def _build_tree(node: Any, path: str) -> Any:
    if isinstance(node, ParameterConfig):
        return node
    if not isinstance(node, Mapping):
        raise OptimizerError(f"parameter {path or '<root>'!r} must be a mapping or ParameterConfig, got {node!r}")
    if path and _is_leaf(node):
        try:
            return ParameterConfig(**dict(node))
        except TypeError as err:
            raise OptimizerError(f"parameter {path!r}: {err}") from err
        except OptimizerError as err:
            raise OptimizerError(f"parameter {path!r}: {err}") from err
    out: dict[str, Any] = {}
    for key, child in node.items():
        if not isinstance(key, str) or not key or "." in key:
            where = path or "<root>"
            raise OptimizerError(f"parameter key {key!r} under {where!r} must be a non-empty name without '.'")
        out[key] = _build_tree(child, f"{path}.{key}" if path else key)
    return out


def _iter_leaves(node: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, ParameterConfig]]:
    for key, child in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(child, ParameterConfig):
            yield path, child
        else:
            yield from _iter_leaves(child, path)


def _dump_tree(node: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, child in node.items():
        if isinstance(child, ParameterConfig):
            out[key] = child.model_dump(mode="json", exclude_none=True)
        else:
            out[key] = _dump_tree(child)
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "a.c": 2}`` -> ``{"a": {"b": 1, "c": 2}}``."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *heads, last = path.split(".")
        for h in heads:
            node = node.setdefault(h, {})
        node[last] = value
    return out


def flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Inverse of :func:`unflatten` for plain nested dicts (leaves are non-dict values)."""
    out: dict[str, Any] = {}
    for key, value in nested.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out
