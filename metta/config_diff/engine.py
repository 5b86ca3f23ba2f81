"""The structural comparison of two normalised trees, done by DeepDiff.

DeepDiff walks both nested trees and reports paths, added/removed keys (a removed block is one item at the block's
root) and type changes. Two custom operators carry our numeric semantics: numbers compare with a relative tolerance,
``1`` equals ``1.0``, rates compare on a log10 scale (see :func:`compare_values`), and lists are compared as one leaf
(element by element with the same tolerance), so a changed list is one difference, not one per element.

The result is a list of :class:`RawDifference` (path tuple, kind, values, note); severity, mapping and rendering sit
on top of it in :mod:`metta.config_diff.diff`.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

from metta.common.errors import ConfigError
from metta.config_diff.rules import Rules
from metta.config_diff.tree import Path_

KINDS = {
    "dictionary_item_removed": "missing",
    "dictionary_item_added": "added",
    "values_changed": "changed",
    "type_changes": "type_changed",
}


@dataclass(frozen=True)
class RawDifference:
    path: Path_
    kind: str  # missing | added | changed | type_changed
    left: Any
    right: Any
    note: str = ""


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
    """Compare two leaves: (kind or None when equal, note)."""
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


def _dotted(level: Any) -> str:
    return ".".join(str(p) for p in level.path(output_format="list"))


class _LeafOperator:
    """DeepDiff custom operator: numbers (int/float, not bool) and lists compare with :func:`compare_values`."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    def match(self, level: Any) -> bool:
        a, b = level.t1, level.t2
        return (_is_number(a) and _is_number(b)) or (isinstance(a, list) and isinstance(b, list))

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        kind, note = compare_values(level.t1, level.t2, _dotted(level), self.rules)
        if kind:
            diff_instance.custom_report_result("values_changed", level, {"note": note})
        return True  # handled here: DeepDiff does not descend into lists or re-compare numbers

    def normalize_value_for_hashing(self, parent: Any, obj: Any) -> Any:
        return obj


_FRAME_LIBRARIES = ("pandas", "polars")


def warm_up() -> None:
    """Import DeepDiff now (it pulls in numpy), e.g. while a recipe child process is still running.

    DeepDiff imports pandas and polars when they are installed, only to hash their data frames; config trees hold
    none, and pandas alone costs about a second. They are hidden while DeepDiff is imported (a ``None`` entry in
    ``sys.modules`` makes ``import pandas`` raise ImportError, which DeepDiff handles) and restored afterwards."""
    if "deepdiff" in sys.modules:
        return
    hidden = [name for name in _FRAME_LIBRARIES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import deepdiff  # noqa: F401
    except ImportError as exc:
        raise ConfigError("config_diff needs the deepdiff package: pip install 'deepdiff>=8'") from exc
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def structural_diff(left: dict[str, Any], right: dict[str, Any], rules: Rules) -> list[RawDifference]:
    """Every difference between two nested trees, as DeepDiff sees it through our leaf operator."""
    warm_up()
    from deepdiff import DeepDiff
    from deepdiff.model import CUSTOM_FIELD

    result = DeepDiff(
        left,
        right,
        view="tree",
        threshold_to_diff_deeper=0,  # compare field by field even when most fields changed
        custom_operators=[_LeafOperator(rules)],
        verbose_level=2,
    )
    out: list[RawDifference] = []
    for report_type, levels in result.items():
        kind = KINDS.get(report_type)
        if kind is None:  # iterable/set reports cannot occur: lists are leaves of the operator
            raise ValueError(f"unexpected DeepDiff report {report_type}")
        for level in levels:
            path = tuple(str(p) for p in level.path(output_format="list"))
            lv = None if kind == "added" else level.t1
            rv = None if kind == "missing" else level.t2
            note = (level.additional.get(CUSTOM_FIELD) or {}).get("note", "")
            if kind in ("changed", "type_changed") and not note:
                kind, note = _kind_of(lv, rv, ".".join(path), rules)
            out.append(RawDifference(path, kind, lv, rv, note))
    return sorted(out, key=lambda d: d.path)


def _kind_of(lv: Any, rv: Any, path: str, rules: Rules) -> tuple[str, str]:
    """A scalar/null vs a block is `changed` when one side is null/empty, else `type_changed`."""
    if isinstance(lv, dict) or isinstance(rv, dict):
        if lv in (None, {}) or rv in (None, {}):
            return "changed", "present on one side only (null/empty on the other)"
        return "type_changed", "mapping vs scalar"
    kind, note = compare_values(lv, rv, path, rules)
    return kind or "changed", note
