"""Pure transforms between parameter values and the normalised search space [-1, 1]^d.

Continuous distributions map linearly (uniform), in log space (log_normal) or in logit space (logit_normal) onto
[-1, 1]. Discrete ones (int_uniform, uniform_pow2's exponents, categorical indices) split [-1, 1] into equal bins, one
per admissible value, so uniform sampling in the normalised space is uniform over the values; a value encodes to the
centre of its bin. Decoding always clips, so values never leave [min, max], ints stay ints and powers of two stay
powers of two.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from metta.common.errors import OptimizerError
from metta.sweep.optim.config import ParameterConfig

_EPS = 1e-12


def _discrete_range(p: ParameterConfig) -> tuple[int, int]:
    """Inclusive integer range of a discrete parameter: ints, pow2 exponents or categorical indices."""
    if p.distribution == "int_uniform":
        return math.ceil(p.lo - _EPS), math.floor(p.hi + _EPS)
    if p.distribution == "uniform_pow2":
        return math.ceil(math.log2(p.lo) - _EPS), math.floor(math.log2(p.hi) + _EPS)
    if p.distribution == "categorical":
        return 0, len(p.choices) - 1
    raise OptimizerError(f"{p.distribution} is not discrete")


def is_discrete(p: ParameterConfig) -> bool:
    """True for int_uniform, uniform_pow2 and categorical."""
    return p.distribution in ("int_uniform", "uniform_pow2", "categorical")


def num_choices(p: ParameterConfig) -> int | None:
    """Number of admissible values of a discrete parameter, None for continuous ones."""
    if not is_discrete(p):
        return None
    lo, hi = _discrete_range(p)
    return hi - lo + 1


def _warp(p: ParameterConfig, v: float) -> float:
    if p.distribution == "log_normal":
        return math.log(v)
    if p.distribution == "logit_normal":
        return math.log(v / (1.0 - v))
    return float(v)


def _unwarp(p: ParameterConfig, w: float) -> float:
    if p.distribution == "log_normal":
        return math.exp(w)
    if p.distribution == "logit_normal":
        return 1.0 / (1.0 + math.exp(-w))
    return w


def encode(p: ParameterConfig, value: Any) -> float:
    """Map a parameter value to its normalised coordinate in [-1, 1] (raises on values outside the space)."""
    if is_discrete(p):
        lo, hi = _discrete_range(p)
        if p.distribution == "categorical":
            idx = _category_index(p, value)
        elif p.distribution == "uniform_pow2":
            v = float(value)
            e = math.log2(v) if v > 0 else float("nan")
            if not math.isfinite(e) or abs(e - round(e)) > 1e-9:
                raise OptimizerError(f"value {value!r} is not a power of two (uniform_pow2 [{p.min}, {p.max}])")
            idx = round(e)
        else:
            v = float(value)
            if not math.isfinite(v) or abs(v - round(v)) > 1e-9:
                raise OptimizerError(f"value {value!r} is not an integer (int_uniform [{p.min}, {p.max}])")
            idx = round(v)
        if not lo <= idx <= hi:
            raise OptimizerError(f"value {value!r} is outside [{p.min}, {p.max}] of {p.distribution}")
        n = hi - lo + 1
        return 2.0 * (idx - lo + 0.5) / n - 1.0
    v = float(value)
    tol = 1e-9 * max(1.0, abs(p.hi), abs(p.lo))
    if not math.isfinite(v) or v < p.lo - tol or v > p.hi + tol:
        raise OptimizerError(f"value {value!r} is outside [{p.min}, {p.max}] of {p.distribution}")
    v = min(max(v, p.lo), p.hi)
    wlo, whi = _warp(p, p.lo), _warp(p, p.hi)
    if whi - wlo <= 0:
        return 0.0
    return 2.0 * (_warp(p, v) - wlo) / (whi - wlo) - 1.0


def _category_index(p: ParameterConfig, value: Any) -> int:
    for i, v in enumerate(p.choices):
        if v == value and type(v) is type(value) or repr(v) == repr(value):
            return i
    for i, v in enumerate(p.choices):
        if v == value:
            return i
    raise OptimizerError(f"value {value!r} is not one of the categorical values {list(p.choices)}")


def decode(p: ParameterConfig, z: float) -> Any:
    """Map a normalised coordinate (clipped to [-1, 1]) to a parameter value inside [min, max]."""
    z = min(max(float(z), -1.0), 1.0)
    if is_discrete(p):
        lo, hi = _discrete_range(p)
        n = hi - lo + 1
        idx = lo + min(int(math.floor((z + 1.0) / 2.0 * n)), n - 1)
        if p.distribution == "categorical":
            return p.choices[idx]
        if p.distribution == "uniform_pow2":
            return int(2**idx)
        return int(idx)
    wlo, whi = _warp(p, p.lo), _warp(p, p.hi)
    v = float(f"{_unwarp(p, wlo + (z + 1.0) / 2.0 * (whi - wlo)):.12g}")  # drop float noise (3e-4, not 3.0000001e-4)
    return float(min(max(v, p.lo), p.hi))


def search_scale(p: ParameterConfig) -> float:
    """Search width in normalised units: auto = 0.5; time = 1 / log2(max/min) (log_normal); else the number."""
    if p.scale == "auto":
        return 0.5
    if p.scale == "time":
        span = math.log2(p.hi / p.lo)
        return 1.0 / span if span > 0 else 0.5
    return float(p.scale)


def search_center(p: ParameterConfig) -> float:
    """Normalised coordinate of the search centre: the encoded mean (snapped to its bin), else the middle."""
    if p.mean is None:
        return encode(p, decode(p, 0.0)) if is_discrete(p) else 0.0
    if p.distribution == "int_uniform":
        return encode(p, decode(p, encode(p, min(max(round(p.mean), math.ceil(p.lo)), math.floor(p.hi)))))
    if p.distribution == "uniform_pow2":
        lo, hi = _discrete_range(p)
        e = min(max(round(math.log2(p.mean)), lo), hi)
        return encode(p, 2**e)
    if p.distribution == "categorical":
        return encode(p, decode(p, 0.0))
    return encode(p, p.mean)


@dataclass(frozen=True)
class SearchSpace:
    """The flat list of searched parameters, in a stable order, with vectorised encode/decode."""

    names: tuple[str, ...]
    params: tuple[ParameterConfig, ...]

    @classmethod
    def from_flat(cls, flat: Mapping[str, ParameterConfig]) -> SearchSpace:
        """Build from ``ProteinConfig.flat_parameters()``."""
        if not flat:
            raise OptimizerError("the search space has no parameters")
        names = tuple(sorted(flat))
        return cls(names, tuple(flat[n] for n in names))

    @property
    def dim(self) -> int:
        """Number of dimensions."""
        return len(self.names)

    def center(self) -> np.ndarray:
        """Normalised search centre."""
        return np.array([search_center(p) for p in self.params])

    def scales(self) -> np.ndarray:
        """Per-dimension search width in normalised units."""
        return np.array([search_scale(p) for p in self.params])

    def bin_widths(self) -> np.ndarray:
        """Normalised width of one value for discrete dims (2/n), 0 for continuous ones."""
        return np.array([2.0 / n if (n := num_choices(p)) else 0.0 for p in self.params])

    def decode(self, z: np.ndarray) -> dict[str, Any]:
        """Normalised vector -> flat ``{dotted name: value}``."""
        z = np.asarray(z, dtype=float).reshape(-1)
        if z.shape[0] != self.dim:
            raise OptimizerError(f"expected a vector of {self.dim} coordinates, got {z.shape[0]}")
        return {n: decode(p, float(v)) for n, p, v in zip(self.names, self.params, z, strict=True)}

    def encode(self, flat: Mapping[str, Any]) -> np.ndarray:
        """Flat ``{dotted name: value}`` -> normalised vector (raises naming a missing or unknown parameter)."""
        missing = [n for n in self.names if n not in flat]
        extra = [k for k in flat if k not in set(self.names)]
        if missing or extra:
            raise OptimizerError(f"suggestion does not match the search space: missing {missing}, unknown {extra}")
        out = np.empty(self.dim)
        for i, (n, p) in enumerate(zip(self.names, self.params, strict=True)):
            try:
                out[i] = encode(p, flat[n])
            except OptimizerError as err:
                raise OptimizerError(f"parameter {n!r}: {err}") from err
        return out

    def snap(self, z: np.ndarray) -> np.ndarray:
        """Project normalised points (n, d) onto what decode/encode round-trips to (bin centres, clipped)."""
        z = np.clip(np.atleast_2d(np.asarray(z, dtype=float)), -1.0, 1.0)
        out = z.copy()
        for j, p in enumerate(self.params):
            n = num_choices(p)
            if n:
                idx = np.minimum(np.floor((z[:, j] + 1.0) / 2.0 * n), n - 1)
                out[:, j] = 2.0 * (idx + 0.5) / n - 1.0
        return out
