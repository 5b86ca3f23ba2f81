"""Plain-text rendering of a :meth:`VecEnv.snapshot` (for demos and debugging)."""

from __future__ import annotations

import numpy as np

from metta.env.tables import Tables

ORIENTATION_GLYPHS = "^v<>"
_OBJECT_GLYPHS = {
    "wall": "#",
    "block": "b",
    "altar": "_",
    "armory": "r",
    "lasery": "l",
    "lab": "L",
    "factory": "f",
    "temple": "t",
}


def object_glyph(name: str) -> str:
    if name in _OBJECT_GLYPHS:
        return _OBJECT_GLYPHS[name]
    if name.startswith("mine"):
        return "m"
    if name.startswith("generator"):
        return "n"
    return "?"


def render_ascii(snapshot: dict[str, np.ndarray], tables: Tables) -> str:
    """One character per cell: agents by orientation (^v<>, '*' when frozen), objects by kind, '.' empty."""
    grid = snapshot["grid"]
    by_type = {int(tid): object_glyph(name) for tid, name in zip(tables.obj_type_id, tables.object_names, strict=True)}
    rows = [[by_type.get(int(v), "?") if v > 0 else "." for v in row] for row in grid]
    for r, c, o, f in zip(
        snapshot["agent_row"],
        snapshot["agent_col"],
        snapshot["agent_orientation"],
        snapshot["agent_frozen"],
        strict=True,
    ):
        rows[int(r)][int(c)] = "*" if f > 0 else ORIENTATION_GLYPHS[int(o)]
    return "\n".join("".join(row) for row in rows)
