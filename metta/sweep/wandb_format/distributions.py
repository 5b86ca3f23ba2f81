"""W&B sweep distributions: exact reference samplers and their mapping onto our search-space types.

W&B's definitions (``min``/``max`` of the plain ``log_uniform`` family are natural-log EXPONENTS, the ``*_values``
variants take the values themselves):

- ``constant`` value; ``categorical`` values (+ ``probabilities``); ``int_uniform`` integers in [min, max];
- ``uniform`` U(min, max); ``q_uniform`` round(U(min, max) / q) * q;
- ``log_uniform`` exp(U(min, max)); ``log_uniform_values`` exp(U(ln min, ln max)); ``q_log_uniform(_values)`` the
  same rounded to multiples of q; ``inv_log_uniform`` exp(-U(min, max)); ``inv_log_uniform_values`` 1/X where
  X = exp(U(ln(1/max), ln(1/min))) (both are log-uniform in the value);
- ``normal`` N(mu, sigma); ``log_normal`` exp(N(mu, sigma)); ``beta`` Beta(a, b); ``q_*`` variants round to q.

:func:`sample` draws from these definitions (used to test the mapping). :func:`to_parameter` maps one onto our
:class:`~metta.sweep.optim.config.ParameterConfig` for a given method, or raises :class:`ConfigError` with the
reason and the fix when our bounded space types cannot represent it faithfully.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from metta.common.errors import ConfigError

WANDB_DISTRIBUTIONS: tuple[str, ...] = (
    "constant",
    "categorical",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform",
    "q_log_uniform_values",
    "inv_log_uniform",
    "inv_log_uniform_values",
    "normal",
    "q_normal",
    "log_normal",
    "q_log_normal",
    "beta",
    "q_beta",
)
SPEC_KEYS = {"value", "values", "probabilities", "distribution", "min", "max", "q", "mu", "sigma", "a", "b"}
_MAX_QUANTISED = 2000  # most values a quantised range may expand to


def infer_distribution(spec: Mapping[str, Any]) -> str:
    """W&B's inference when ``distribution`` is absent: value -> constant, values -> categorical, int bounds ->
    int_uniform, other bounds -> uniform."""
    if "distribution" in spec:
        return str(spec["distribution"])
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if "min" in spec and "max" in spec:
        ints = all(isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("min", "max"))
        return "int_uniform" if ints else "uniform"
    raise ConfigError(f"cannot tell the distribution of {dict(spec)!r}; give value, values, min/max or distribution")


def _num(spec: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    if key not in spec:
        if default is not None:
            return default
        raise ConfigError(f"parameter {where!r}: distribution {spec.get('distribution')!r} needs {key!r}")
    v = spec[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ConfigError(f"parameter {where!r}: {key}={v!r} must be a finite number")
    return float(v)


def _quantise(x: np.ndarray, q: float) -> np.ndarray:
    return np.round(x / q) * q


def sample(spec: Mapping[str, Any], rng: np.random.Generator, n: int, where: str = "param") -> np.ndarray:
    """``n`` draws from W&B's definition of ``spec`` (reference sampler; object array for constant/categorical)."""
    d = infer_distribution(spec)
    if d == "constant":
        return np.array([spec["value"]] * n, dtype=object)
    if d == "categorical":
        values = list(spec["values"])
        p = spec.get("probabilities")
        idx = rng.choice(len(values), size=n, p=None if p is None else np.asarray(p, dtype=float))
        return np.array([values[i] for i in idx], dtype=object)
    lo, hi = _num(spec, "min", where, 0.0), _num(spec, "max", where, 1.0)
    q = _num(spec, "q", where, 1.0)
    if d == "int_uniform":
        return rng.integers(int(lo), int(hi) + 1, size=n)
    if d in ("uniform", "q_uniform"):
        x = rng.uniform(lo, hi, n)
    elif d in ("log_uniform", "q_log_uniform"):
        x = np.exp(rng.uniform(lo, hi, n))
    elif d in ("log_uniform_values", "q_log_uniform_values"):
        x = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
    elif d == "inv_log_uniform":
        x = np.exp(-rng.uniform(lo, hi, n))
    elif d == "inv_log_uniform_values":
        x = 1.0 / np.exp(rng.uniform(math.log(1.0 / hi), math.log(1.0 / lo), n))
    elif d in ("normal", "q_normal"):
        x = rng.normal(_num(spec, "mu", where, 0.0), _num(spec, "sigma", where, 1.0), n)
    elif d in ("log_normal", "q_log_normal"):
        x = np.exp(rng.normal(_num(spec, "mu", where, 0.0), _num(spec, "sigma", where, 1.0), n))
    elif d in ("beta", "q_beta"):
        x = rng.beta(_num(spec, "a", where, 1.0), _num(spec, "b", where, 1.0), n)
    else:
        raise ConfigError(f"parameter {where!r}: unknown W&B distribution {d!r}; use one of {WANDB_DISTRIBUTIONS}")
    return _quantise(x, q) if d.startswith("q_") else x


def value_bounds(d: str, lo: float, hi: float) -> tuple[float, float]:
    """The bounds in VALUE space of a log-uniform-family distribution (exponents are exponentiated)."""
    if d in ("log_uniform", "q_log_uniform"):
        return math.exp(lo), math.exp(hi)
    if d == "inv_log_uniform":
        return math.exp(-hi), math.exp(-lo)
    return lo, hi


def log_uniform_warning(where: str, d: str, lo: float, hi: float) -> str | None:
    """A loud warning when ``log_uniform`` bounds look like values (e.g. min 0.0001, max 0.01) rather than exponents.

    Bounds between 0 and 1 as exponents give values between 1 and e, almost never what was meant for a learning rate.
    """
    if d not in ("log_uniform", "q_log_uniform", "inv_log_uniform") or not (0 < lo < hi <= 1.0):
        return None
    vlo, vhi = value_bounds(d, lo, hi)
    fix = d.replace("log_uniform", "log_uniform_values")
    return (
        f"WARNING: parameter {where!r} uses {d} with min={lo:g}, max={hi:g}. W&B reads these as natural-log "
        f"EXPONENTS, so values are sampled in [{vlo:.6g}, {vhi:.6g}]. If you meant values in [{lo:g}, {hi:g}], "
        f"write 'distribution: {fix}' (or min: {math.log(lo):.4f}, max: {math.log(hi):.4f})."
    )


def _quantised_values(where: str, d: str, lo: float, hi: float, q: float) -> list[Any]:
    if q <= 0:
        raise ConfigError(f"parameter {where!r}: q={q:g} must be > 0")
    vlo, vhi = value_bounds(d, lo, hi)
    k0, k1 = round(vlo / q), round(vhi / q)
    if k1 - k0 + 1 > _MAX_QUANTISED:
        raise ConfigError(
            f"parameter {where!r}: {d} with q={q:g} over [{vlo:g}, {vhi:g}] has {k1 - k0 + 1} values "
            f"(> {_MAX_QUANTISED}); use a larger q or the unquantised distribution"
        )
    as_int = float(q).is_integer()
    out: list[Any] = []
    for k in range(k0, k1 + 1):
        v = k * q
        out.append(int(round(v)) if as_int else float(f"{v:.12g}"))
    return sorted(set(out))


def _refuse(where: str, d: str, method: str, fix: str) -> ConfigError:
    return ConfigError(f"parameter {where!r}: distribution {d!r} is not supported with method {method!r}: {fix}")


def to_parameter(spec: Mapping[str, Any], where: str, method: str) -> tuple[dict[str, Any], list[str]]:
    """Map one W&B parameter spec onto a ParameterConfig dict for ``method`` (grid/random/bayes) plus notes.

    Exact mappings: constant and categorical (equal probabilities) -> categorical; int_uniform -> int_uniform;
    uniform -> uniform; every log-uniform variant -> our log-scale ``log_normal`` type over the value bounds (it is
    sampled uniformly in log space by random search). Quantised ranges become the categorical list of their values.
    Unbounded normal / log_normal and the beta shape have no bounded equivalent: bayes maps them onto a bounded range
    of +-4 sigma centred on mu (Protein's search centre), random and grid refuse them.
    """
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ConfigError(f"parameter {where!r}: unknown keys {sorted(unknown)}; W&B allows {sorted(SPEC_KEYS)}")
    d = infer_distribution(spec)
    notes: list[str] = []
    if d == "constant":
        if "value" not in spec:
            raise ConfigError(f"parameter {where!r}: constant needs 'value'")
        return {"distribution": "categorical", "values": [spec["value"]]}, notes
    if d == "categorical":
        values = spec.get("values")
        if not isinstance(values, list | tuple) or not values:
            raise ConfigError(f"parameter {where!r}: categorical needs a non-empty 'values' list")
        return {"distribution": "categorical", "values": list(values)}, _check_probabilities(spec, where, method)
    if d not in WANDB_DISTRIBUTIONS:
        raise ConfigError(
            f"parameter {where!r}: unknown W&B distribution {d!r}; use one of {list(WANDB_DISTRIBUTIONS)}"
        )
    if d in ("normal", "log_normal", "beta"):
        return _unbounded(spec, where, d, method), [f"note: {where!r} ({d}) is searched by Protein within +-4 sigma"]
    if d in ("q_normal", "q_log_normal", "q_beta"):
        raise _refuse(where, d, method, "quantised unbounded/beta shapes have no equivalent; use values: [...]")
    lo, hi = _num(spec, "min", where), _num(spec, "max", where)
    if lo > hi:
        raise ConfigError(f"parameter {where!r}: min={lo:g} > max={hi:g}; swap them")
    warn = log_uniform_warning(where, d, lo, hi)
    if warn:
        notes.append(warn)
    if d == "int_uniform":
        return {"distribution": "int_uniform", "min": int(lo), "max": int(hi)}, notes
    if d.startswith("q_"):
        values = _quantised_values(where, d, lo, hi, _num(spec, "q", where, 1.0))
        if method == "random":
            notes.append(f"note: {where!r} ({d}) samples its {len(values)} quantised values with equal weight")
        return {"distribution": "categorical", "values": values}, notes
    if method == "grid":
        raise _refuse(where, d, method, "a grid needs a finite set; use values: [...], int_uniform or q_uniform")
    if d == "uniform":
        return {"distribution": "uniform", "min": lo, "max": hi}, notes
    vlo, vhi = value_bounds(d, lo, hi)
    if vlo <= 0:
        raise ConfigError(f"parameter {where!r}: {d} needs min > 0 (got {lo:g})")
    return {"distribution": "log_normal", "min": vlo, "max": vhi}, notes


def _check_probabilities(spec: Mapping[str, Any], where: str, method: str) -> list[str]:
    p = spec.get("probabilities")
    if p is None:
        return []
    values = list(spec["values"])
    if not isinstance(p, list | tuple) or len(p) != len(values) or min(p) < 0 or abs(sum(p) - 1.0) > 1e-6:
        raise ConfigError(
            f"parameter {where!r}: probabilities {p!r} must be {len(values)} non-negative numbers summing to 1"
        )
    if method == "grid":
        return [f"note: {where!r}: a grid visits every value once; probabilities are ignored (as in W&B)"]
    if max(p) - min(p) > 1e-9:
        raise _refuse(where, "categorical", method, "unequal probabilities are not supported yet; drop them")
    return []


def _unbounded(spec: Mapping[str, Any], where: str, d: str, method: str) -> dict[str, Any]:
    if method != "bayes":
        fix = {
            "normal": "use uniform with min/max = mu -+ 2 sigma",
            "log_normal": "use log_uniform_values with min/max = exp(mu -+ 2 sigma)",
            "beta": "use uniform with min 0, max 1 (or values: [...])",
        }[d]
        raise _refuse(where, d, method, f"our space types are bounded and sampled uniformly; {fix}")
    if d == "beta":
        a, b = _num(spec, "a", where, 1.0), _num(spec, "b", where, 1.0)
        return {"distribution": "uniform", "min": 0.0, "max": 1.0, "mean": a / (a + b)}
    mu, sigma = _num(spec, "mu", where, 0.0), _num(spec, "sigma", where, 1.0)
    if sigma <= 0:
        raise ConfigError(f"parameter {where!r}: sigma={sigma:g} must be > 0")
    if d == "normal":
        return {"distribution": "uniform", "min": mu - 4 * sigma, "max": mu + 4 * sigma, "mean": mu, "scale": 0.25}
    return {
        "distribution": "log_normal",
        "min": math.exp(mu - 4 * sigma),
        "max": math.exp(mu + 4 * sigma),
        "mean": math.exp(mu),
        "scale": 0.25,
    }
