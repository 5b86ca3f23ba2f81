"""The pure comparison of two resolved trees: canonicalise paths, compare leaves, classify and rank differences.

Kinds: ``missing`` (in LEFT, absent from RIGHT), ``added`` (absent from LEFT, in RIGHT), ``changed`` (value differs
beyond tolerance; includes a subtree on one side and null on the other), ``type_changed`` (e.g. string vs number,
mapping vs scalar). Numbers compare with a relative/absolute tolerance; int and float of equal value are equal
(YAML ``1`` vs a pydantic float ``1.0``); paths matching the log-scale patterns compare on log10.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from metta.config_diff.rules import SEVERITY_RANK, MappingTable, Rules
from metta.config_diff.tree import Path_, dotted, flatten, split, unflatten


@dataclass(frozen=True)
class Difference:
    path: str
    kind: str
    left: Any
    right: Any
    left_path: str | None
    right_path: str | None
    mapped: bool
    note: str = ""
    subsystem: str = ""
    severity: str = ""
    why: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def canonicalize(flat: Mapping[Path_, Any], table: MappingTable) -> tuple[dict[Path_, Any], dict[Path_, Path_]]:
    """Rename alias paths/subtrees to canonical ones (longest alias wins); returns (data, canonical→original)."""
    aliases = sorted(((split(a), split(c)) for a, c in table.aliases.items()), key=lambda ac: -len(ac[0]))
    present = set(flat)
    out: dict[Path_, Any] = {}
    origin: dict[Path_, Path_] = {}
    for path, value in flat.items():
        new = path
        for alias, canon in aliases:
            if path[: len(alias)] == alias:
                candidate = canon + path[len(alias) :]
                if candidate not in present:  # both spellings present: keep each under its own name
                    new = candidate
                break
        out[new] = value
        origin[new] = path
    return out, origin


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _numbers_equal(a: float, b: float, log_scale: bool, rules: Rules) -> tuple[bool, str]:
    tol = rules.tolerance
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b), ""
    if log_scale and a > 0 and b > 0:
        delta = math.log10(b) - math.log10(a)
        return abs(delta) <= tol.log_tol, f"x{b / a:.3g} (log10 {delta:+.2f})"
    equal = math.isclose(a, b, rel_tol=tol.rel, abs_tol=tol.abs)
    note = f"{(b - a) / abs(a):+.1%}" if a != 0 else ""
    return equal, note


def compare_values(a: Any, b: Any, path: str, rules: Rules) -> tuple[str | None, str]:
    """Return (kind or None when equal, note)."""
    if _is_number(a) and _is_number(b):
        equal, note = _numbers_equal(float(a), float(b), rules.is_log_scale(path), rules)
        return (None if equal else "changed"), note
    if a is None or b is None:
        return (None, "") if a is b else ("changed", "null on one side")
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return "changed", f"length {len(a)} -> {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            kind, _ = compare_values(x, y, f"{path}.{i}", rules)
            if kind:
                return "changed", f"element {i} differs"
        return None, ""
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        return "type_changed", f"{type(a).__name__} -> {type(b).__name__}"
    return (None, "") if a == b else ("changed", "")


def _conflicts(leaves: set[Path_], other: set[Path_]) -> set[Path_]:
    """Leaf paths of one side that are proper prefixes of the other side's paths (scalar/null vs subtree)."""
    prefixes = {p[:i] for p in other for i in range(1, len(p))}
    return leaves & prefixes


def diff(
    left: Mapping[str, Any],
    right: Mapping[str, Any],
    table: MappingTable,
    rules: Rules,
    schema_defaults: frozenset[str] = frozenset(),
) -> list[Difference]:
    """Every difference between two nested trees, canonicalised by ``table`` and ranked by ``rules``.

    ``schema_defaults`` are original dotted paths whose value is a typed class default nobody set (from a recipe's
    provenance): a key present on one side only *because* a schema filled its default is capped at ``minor``
    unless its rule is critical (a schedule that only one side has stays critical).
    """
    lflat, lorig = canonicalize(flatten(left), table)
    rflat, rorig = canonicalize(flatten(right), table)
    conflicts = _conflicts(set(lflat), set(rflat)) | _conflicts(set(rflat), set(lflat))
    out: list[Difference] = []

    def orig(origin: dict[Path_, Path_], p: Path_) -> str:
        return dotted(origin.get(p, p))

    def add(path: Path_, kind: str, lv: Any, rv: Any, lp: str | None, rp: str | None, note: str = "") -> None:
        mapped = (lp is not None and lp != dotted(path)) or (rp is not None and rp != dotted(path))
        out.append(Difference(dotted(path), kind, lv, rv, lp, rp, mapped, note))

    for c in sorted(conflicts):
        lsub = {p[len(c) :]: v for p, v in lflat.items() if p[: len(c)] == c and p != c}
        rsub = {p[len(c) :]: v for p, v in rflat.items() if p[: len(c)] == c and p != c}
        lv = lflat[c] if c in lflat else unflatten(lsub)
        rv = rflat[c] if c in rflat else unflatten(rsub)
        kind = "changed" if lv in (None, {}) or rv in (None, {}) else "type_changed"
        note = "present on one side only (null/empty on the other)" if kind == "changed" else "mapping vs scalar"
        add(c, kind, lv, rv, dotted(c), dotted(c), note)

    def under_conflict(p: Path_) -> bool:
        return any(p[:i] in conflicts for i in range(1, len(p) + 1))

    for path in sorted(set(lflat) | set(rflat)):
        if under_conflict(path):
            continue
        if path in lflat and path in rflat:
            kind, note = compare_values(lflat[path], rflat[path], dotted(path), rules)
            if kind:
                add(path, kind, lflat[path], rflat[path], orig(lorig, path), orig(rorig, path), note)
        elif path in lflat:
            add(path, "missing", lflat[path], None, orig(lorig, path), None, _sibling_note(path, rflat))
        else:
            add(path, "added", None, rflat[path], None, orig(rorig, path), _sibling_note(path, lflat))
    classified = [classify(d, rules, schema_defaults) for d in out]
    return collapse_blocks(classified, set(lflat), set(rflat), rules)


def _block_root(path: Path_, other: set[Path_]) -> Path_:
    """Shortest prefix of ``path`` that no path of the other side starts with."""
    other_prefixes = {p[:i] for p in other for i in range(1, len(p) + 1)}
    for i in range(1, len(path) + 1):
        if path[:i] not in other_prefixes:
            return path[:i]
    return path


def _trim(original: str | None, n: int) -> str | None:
    if original is None or n == 0:
        return original
    parts = original.split(".")
    return ".".join(parts[:-n]) if len(parts) > n else original


def collapse_blocks(diffs: list[Difference], lpaths: set[Path_], rpaths: set[Path_], rules: Rules) -> list[Difference]:
    """Leaves of a block that only one side has become one difference at the block's root (value = the block,
    severity = the most severe leaf), e.g. a whole schedule or the whole ``env`` missing on one side."""
    groups: dict[tuple[str, Path_], list[Difference]] = {}
    out: list[Difference] = []
    for d in diffs:
        if d.kind not in ("missing", "added"):
            out.append(d)
            continue
        path = split(d.path)
        root = _block_root(path, rpaths if d.kind == "missing" else lpaths)
        if root == path:
            out.append(d)
        else:
            groups.setdefault((d.kind, root), []).append(d)
    for (kind, root), items in groups.items():
        n = len(split(items[0].path)) - len(root)
        sub = {split(d.path)[len(root) :]: (d.left if kind == "missing" else d.right) for d in items}
        worst = max(items, key=lambda d: SEVERITY_RANK[d.severity])
        block = unflatten(sub)
        out.append(
            Difference(
                path=dotted(root),
                kind=kind,
                left=block if kind == "missing" else None,
                right=block if kind == "added" else None,
                left_path=_trim(items[0].left_path, n),
                right_path=_trim(items[0].right_path, n),
                mapped=any(d.mapped for d in items),
                note=f"whole block on one side only ({len(items)} keys; most severe: {worst.path})",
                subsystem=rules.subsystem_of(dotted(root)),
                severity=worst.severity,
                why=worst.why,
            )
        )
    return sorted(out, key=lambda d: d.path)


PARENT_PRESENT = "its parent exists on the other side"
_DOWNGRADE = {"critical": "major", "major": "minor", "minor": "minor", "info": "info"}


def _sibling_note(path: Path_, other: Mapping[Path_, Any]) -> str:
    parent = path[:-1]
    if parent and any(p[: len(parent)] == parent for p in other):
        return PARENT_PRESENT
    return ""


def classify(d: Difference, rules: Rules, schema_defaults: frozenset[str] = frozenset()) -> Difference:
    """Severity and subsystem from the rules. A leaf present on one side only because a typed schema filled its
    default, inside a block both sides have, is one level less severe (a whole block on one side is not)."""
    severity, why = rules.severity_of(d.path)
    one_sided = d.right_path if d.kind == "added" else d.left_path if d.kind == "missing" else None
    if one_sided is not None and one_sided in schema_defaults and d.note == PARENT_PRESENT:
        severity, why = _DOWNGRADE[severity], "schema default; the other tree leaves it unset"
    return replace(d, severity=severity, why=why, subsystem=rules.subsystem_of(d.path))


def at_or_above(diffs: list[Difference], level: str) -> list[Difference]:
    if level == "never":
        return []
    return [d for d in diffs if SEVERITY_RANK[d.severity] >= SEVERITY_RANK[level]]
