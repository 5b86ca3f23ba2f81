"""Safe stand-ins for the legacy tree's custom OmegaConf resolvers, active only while a tree is being resolved.

Legacy (Hydra-era) trees register resolvers such as ``${div:a,b}`` or ``${now:%Y}`` through a Hydra callback that
runs project code. config_diff never runs tree code: it installs these pure, deterministic versions for the
duration of :func:`safe_resolvers` and restores the previous registry afterwards. ``now`` returns a fixed marker
so that two trees resolved at different times compare equal; ``sampling`` returns its centre value (the value
the legacy tree used when sampling was off); ``oc.env`` returns a marker instead of failing for unset variables.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

NOW_MARKER = "<now>"


def _num(x: Any) -> Any:
    if isinstance(x, str):
        try:
            return int(x)
        except ValueError:
            return float(x)
    return x


def _div(a: Any, b: Any) -> Any:
    a, b = _num(a), _num(b)
    if isinstance(a, int) and isinstance(b, int) and b != 0 and a % b == 0:
        return a // b
    return a / b


def _if(cond: Any, a: Any, b: Any) -> Any:
    if isinstance(cond, str):
        cond = cond.strip().lower() in ("true", "1", "yes")
    return a if cond else b


def _clamp(x: Any, lo: Any, hi: Any) -> Any:
    return max(_num(lo), min(_num(hi), _num(x)))


def _sampling(*args: Any, **_: Any) -> Any:
    if len(args) >= 3:
        return _num(args[2])
    return _num(args[0]) if args else None


def _to_odd_min3(x: Any) -> int:
    v = max(3, int(_num(x)))
    return v if v % 2 == 1 else v + 1


def _iir(alpha: Any, *_: Any) -> Any:
    return _num(alpha)


def _env(key: str, default: Any = "__metta_unset__") -> Any:
    if key in os.environ:
        return os.environ[key]
    if default != "__metta_unset__":
        return default
    return f"<env:{key}>"


SAFE_RESOLVERS: dict[str, Callable[..., Any]] = {
    "div": _div,
    "divide": _div,
    "sub": lambda a, b: _num(a) - _num(b),
    "subtract": lambda a, b: _num(a) - _num(b),
    "mul": lambda a, b: _num(a) * _num(b),
    "multiply": lambda a, b: _num(a) * _num(b),
    "add": lambda a, b: _num(a) + _num(b),
    "if": _if,
    "eq": lambda a, b: a == b,
    "int": lambda x: int(_num(x)),
    "make_integer": lambda x: int(_num(x)),
    "ceil": lambda x: math.ceil(_num(x)),
    "floor": lambda x: math.floor(_num(x)),
    "clamp": _clamp,
    "now": lambda *_: NOW_MARKER,
    "sampling": _sampling,
    "to_odd_min3": _to_odd_min3,
    "iir": _iir,
    "greater_than": lambda a, b: _num(a) > _num(b),
    "less_than": lambda a, b: _num(a) < _num(b),
    "oc.env": _env,
}


def install_safe_resolvers() -> None:
    """(Re-)register the safe resolvers; Hydra's compose re-registers its own ``now``, so call this after it."""
    from omegaconf import OmegaConf

    for name, fn in SAFE_RESOLVERS.items():
        OmegaConf.register_new_resolver(name, fn, replace=True, use_cache=False)


@contextmanager
def safe_resolvers() -> Iterator[None]:
    """Install :data:`SAFE_RESOLVERS` (replacing same-named ones) and restore the previous registry on exit."""
    from omegaconf.basecontainer import BaseContainer

    saved = dict(BaseContainer._resolvers)  # OmegaConf has no public snapshot API
    try:
        install_safe_resolvers()
        yield
    finally:
        BaseContainer._resolvers.clear()
        BaseContainer._resolvers.update(saved)
