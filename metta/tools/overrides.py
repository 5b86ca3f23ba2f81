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

from metta.common.config_base import format_validation_error
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
    """Set ``value`` at dotted ``path`` (list items by index, e.g. ``suite.simulations.0.num_episodes``)."""
    node: Any = data
    parts = path.split(".")
    for i, part in enumerate(parts):
        here = ".".join(parts[:i]) or "<root>"
        key: Any = part
        if isinstance(node, list):
            if not (part.isdigit() and int(part) < len(node)):
                raise ConfigError(
                    f"override path {path!r}: {here} is a list of {len(node)}; use an index 0..{len(node) - 1}"
                )
            key = int(part)
        elif not isinstance(node, dict):
            raise ConfigError(f"override path {path!r}: {here} is {node!r}, not a mapping; set {here} as a whole")
        elif part not in node:
            valid = ", ".join(sorted(str(k) for k in node)) or "(none)"
            raise ConfigError(f"unknown override path {path!r}: {here} has no key {part!r}; valid keys: {valid}")
        if i == len(parts) - 1:
            node[key] = value
        else:
            node = node[key]


def _dump(model: BaseModel) -> dict[str, Any]:
    """Round-trip dump that keeps fields excluded from serialisation (e.g. a factory callable) as they are."""
    data = _listify(model.model_dump(round_trip=True))
    for name, field in type(model).model_fields.items():
        if field.exclude:
            data[name] = getattr(model, name)
    return data


def _listify(value: Any) -> Any:
    """Tuples → lists (pydantic validates lists into tuple fields) so that items can be overridden by index."""
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value


def _validate(model: M, data: dict[str, Any]) -> M:
    return type(model).model_validate(data)


def apply_overrides(model: M, overrides: Sequence[str] | Mapping[str, Any]) -> M:
    """Return ``model`` with every dotted-path override applied, then the whole object validated once (so that
    related values such as batch_size and minibatch_size can change together)."""
    items: list[tuple[str, Any, str | None]] = []
    if isinstance(overrides, Mapping):
        items = [(k, v, None) for k, v in overrides.items()]
    else:
        for text in overrides:
            key, raw = parse_assignment(text)
            items.append((key, parse_value(raw), raw))
    if not items:
        return model
    data = _dump(model)
    for path, value, _ in items:
        _set_path(data, path, value)
    try:
        return _validate(model, data)
    except ValidationError as exc:
        first = exc
    # a string field given text that YAML parsed as another type (run=007, tag=true): retry those with the raw text
    bad = {".".join(str(p) for p in e["loc"]) for e in first.errors()}
    retry = [
        (path, raw)
        for path, value, raw in items
        if raw is not None and not isinstance(value, str) and any(b == path or b.startswith(path + ".") for b in bad)
    ]
    if retry:
        for path, raw in retry:
            _set_path(data, path, raw)
        try:
            return _validate(model, data)
        except ValidationError:
            pass
    shown = ", ".join(f"{p}={r if r is not None else repr(v)}" for p, v, r in items)
    raise ConfigError(f"overrides [{shown}] are invalid: {format_validation_error(first)}")


def overridden_values(model: BaseModel, overrides: Sequence[str]) -> dict[str, Any]:
    """Only the fields that ``overrides`` set, after ``apply_overrides`` validated them against ``model``:
    ``overridden_values(ProteinSettings(), ["num_random_samples=10"])`` → ``{"num_random_samples": 10}``.
    For merging command-line settings over another config's values without carrying ``model``'s defaults along."""
    result = apply_overrides(model, overrides)
    keys = dict.fromkeys(parse_assignment(text)[0].split(".")[0] for text in overrides)
    return {k: result.model_dump()[k] for k in keys}
