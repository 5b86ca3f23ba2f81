"""Python values -> Hydra command-line overrides, quoted one way everywhere.

``format_override("trainer.ppo.gamma", 0.99)`` gives ``"++trainer.ppo.gamma=0.99"``; strings that Hydra would read
as another type (``"true"``, ``"1e-3"``, ``"null"``) or that hold special characters are single-quoted, so the value
that arrives is the value that was sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from metta.common.errors import ConfigError

_BARE = re.compile(r"[A-Za-z_/][A-Za-z0-9_/.:\-]*")
_RESERVED = {"true", "false", "null", "none", "yes", "no", "on", "off", "inf", "nan"}


def hydra_value(value: Any) -> str:
    """Format one Python value as the right-hand side of a Hydra override."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"cannot pass non-finite value {value!r} as an override; give a finite number")
        return repr(value)
    if isinstance(value, str):
        if _BARE.fullmatch(value) and value.lower() not in _RESERVED:
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "item"):  # numpy scalar
        return hydra_value(value.item())
    raise ConfigError(f"cannot format {value!r} ({type(value).__name__}) as a Hydra override")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; empty mappings vanish."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def format_override(key: str, value: Any, mode: str = "++") -> str:
    """One override string: ``mode`` is ``"++"`` (add or set), ``"+"`` (add) or ``""`` (set an existing key)."""
    if mode not in ("", "+", "++"):
        raise ConfigError(f"override mode {mode!r} is not one of '', '+', '++'")
    return f"{mode}{key}={hydra_value(value)}"


def to_overrides(tree: Mapping[str, Any], mode: str = "++") -> list[str]:
    """``{"trainer": {"ppo": {"gamma": 0.9}}}`` -> ``["++trainer.ppo.gamma=0.9"]``."""
    return [format_override(k, v, mode) for k, v in flatten(tree).items()]
