"""Dotted-path overrides of frozen pydantic configs, with the path and the type checked.

``apply_overrides(tool, ["trainer.ppo.clip_coef=0.2", "system.seed=42"])`` returns a new, re-validated object.
A value is parsed as YAML (``42`` → int, ``true`` → bool, ``null`` → None, ``[1, 2]`` → list); when that does not
validate for a string field the raw text is used, so ``run=007`` stays ``"007"``. An unknown path names the valid
keys at the level where it went wrong; a wrongly typed value names the path and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from metta.common.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def parse_assignment(text: str, what: str = "override") -> tuple[str, str]:
    """``"a.b=v"`` → ``("a.b", "v")``; errors name the bad text."""
    if "=" not in text:
        raise ConfigError(f"{what} {text!r} must look like key=value (e.g. system.seed=42)")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"{what} {text!r} has an empty key or path segment")
    return key, value


def parse_value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        return raw


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    node: Any = data
    parts = path.split(".")
    for i, part in enumerate(parts):
        here = ".".join(parts[:i]) or "<root>"
        if not isinstance(node, dict):
            raise ConfigError(f"override path {path!r}: {here} is {node!r}, not a mapping; set {here} as a whole")
        if part not in node:
            valid = ", ".join(sorted(str(k) for k in node)) or "(none)"
            raise ConfigError(f"unknown override path {path!r}: {here} has no key {part!r}; valid keys: {valid}")
        if i == len(parts) - 1:
            node[part] = value
        else:
            node = node[part]


def _dump(model: BaseModel) -> dict[str, Any]:
    """Round-trip dump that keeps fields excluded from serialisation (e.g. a factory callable) as they are."""
    data = model.model_dump(round_trip=True)
    for name, field in type(model).model_fields.items():
        if field.exclude:
            data[name] = getattr(model, name)
    return data


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']} (got {_short(e.get('input'))})"
        for e in exc.errors()
    )


def _validate(model: M, data: dict[str, Any]) -> M:
    return type(model).model_validate(data)


def apply_overrides(model: M, overrides: Sequence[str] | Mapping[str, Any]) -> M:
    """Return ``model`` with each dotted-path override applied and the whole object re-validated."""
    items: list[tuple[str, Any, str | None]] = []
    if isinstance(overrides, Mapping):
        items = [(k, v, None) for k, v in overrides.items()]
    else:
        for text in overrides:
            key, raw = parse_assignment(text)
            items.append((key, parse_value(raw), raw))
    current = model
    for path, value, raw in items:
        data = _dump(current)
        _set_path(data, path, value)
        try:
            current = _validate(current, data)
            continue
        except ValidationError as exc:
            first = exc
        if raw is not None and not isinstance(value, str):
            _set_path(data, path, raw)
            try:
                current = _validate(current, data)
                continue
            except ValidationError:
                pass
        shown = raw if raw is not None else repr(value)
        raise ConfigError(f"override {path}={shown} is invalid: {_errors(first)}")
    return current
