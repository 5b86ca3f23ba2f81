"""A resolved config tree as plain data, plus the helpers that turn nested data into flat path maps and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Tree:
    """One side of a comparison: plain JSON-like ``data`` and where it came from.

    ``kind`` is ``"hydra"``, ``"recipe"`` or ``"dump"``; ``source`` is what to re-read for ``--explain``
    (a configs dir + config name, a recipe target + root, or a file); ``notes`` lists things the resolver did
    on purpose (stripped ``_target_`` keys, unresolved interpolations...).
    """

    label: str
    kind: str
    data: dict[str, Any]
    source: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    schema_defaults: frozenset[str] = frozenset()  # paths whose value equals the typed class default


def flatten(data: Mapping[str, Any], prefix: Path_ = ()) -> dict[Path_, Any]:
    """Nested dicts → ``{path tuple: leaf}``. Lists, scalars, None and empty dicts are leaves."""
    out: dict[Path_, Any] = {}
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def unflatten(flat: Mapping[Path_, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten` for the leaves given (used to show a subtree as one value)."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return out


def dotted(path: Path_) -> str:
    return ".".join(path)


def split(path: str) -> Path_:
    return tuple(p for p in path.split(".") if p)


def strip_keys(
    data: Any, keys: frozenset[str], prefix: Path_ = (), target_fields: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[Any, list[str]]:
    """Remove ``keys`` (e.g. ``_target_``) anywhere in ``data``; return the cleaned copy and the removed paths.

    A removed ``_target_`` whose class name is in ``target_fields`` is replaced by those fields (unless the block
    already sets them), so that e.g. ``_target_: ...CosineSchedule`` compares as ``type: cosine``.
    """
    removed: list[str] = []
    if isinstance(data, Mapping):
        out = {}
        for k, v in data.items():
            if k in keys:
                removed.append(dotted((*prefix, str(k))))
                if k == "_target_" and isinstance(v, str) and target_fields:
                    for fk, fv in (target_fields.get(v.rsplit(".", 1)[-1]) or {}).items():
                        if fk not in data:
                            out[fk] = fv
                continue
            out[k], sub = strip_keys(v, keys, (*prefix, str(k)), target_fields)
            removed.extend(sub)
        return out, removed
    if isinstance(data, list):
        items = []
        for i, v in enumerate(data):
            item, sub = strip_keys(v, keys, (*prefix, str(i)), target_fields)
            items.append(item)
            removed.extend(sub)
        return items, removed
    return data, removed
