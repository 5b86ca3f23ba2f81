"""Render a list of differences as a terminal report (grouped by subsystem), Markdown, or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from metta.config_diff.diff import Difference
from metta.config_diff.rules import SEVERITY_RANK, Rules
from metta.config_diff.tree import Tree

KIND_TEXT = {
    "missing": "only in LEFT",
    "added": "only in RIGHT",
    "changed": "changed",
    "type_changed": "type changed",
    "behaviour": "same value, different behaviour",
}
MAX_VALUE = 70


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def _notes(left: Tree, right: Tree) -> list[tuple[str, str]]:
    both = [n for n in left.notes if n in right.notes]
    out = [("both", n) for n in both]
    out += [("LEFT", n) for n in left.notes if n not in both]
    out += [("RIGHT", n) for n in right.notes if n not in both]
    return out


def _grouped(diffs: Sequence[Difference], rules: Rules) -> list[tuple[str, list[Difference]]]:
    order = list(rules.report_order)
    groups: dict[str, list[Difference]] = {}
    for d in diffs:
        groups.setdefault(d.subsystem, []).append(d)
    names = sorted(groups, key=lambda n: (order.index(n) if n in order else len(order), n))
    return [(n, sorted(groups[n], key=lambda d: (-SEVERITY_RANK[d.severity], d.path))) for n in names]


def _counts(diffs: Sequence[Difference]) -> dict[str, int]:
    return {lvl: sum(1 for d in diffs if d.severity == lvl) for lvl in SEVERITY_RANK}


def summary_line(diffs: Sequence[Difference], seconds: float) -> str:
    """The line that leads every report: what changes training, what may, what is cosmetic, what is inert."""
    c = _counts(diffs)
    return (
        f"config_diff: {c['critical']} critical (change training), {c['major']} major (may change training), "
        f"{c['minor']} cosmetic, {c['info']} inert legacy knobs; {seconds:.1f}s"
    )


def _what(d: Difference) -> str:
    kind = KIND_TEXT[d.kind]
    if d.kind in ("missing", "added"):
        kind += "" if d.mapped or d.verdict else " (unmapped)"
        return f"{kind}: {_short(d.left if d.kind == 'missing' else d.right)}"
    text = f"{_short(d.left)} -> {_short(d.right)}"
    return f"{kind}: {text}" + (f"  [{d.note}]" if d.note else "")


def _alias(d: Difference) -> str:
    names = {p for p in (d.left_path, d.right_path) if p and p != d.path}
    return f" (as {', '.join(sorted(names))})" if names else ""


def render_text(left: Tree, right: Tree, diffs: Sequence[Difference], rules: Rules, summary: str = "") -> str:
    lines = [summary] if summary else []
    lines += [f"LEFT : {left.label}", f"RIGHT: {right.label}"]
    lines.extend(f"  note ({side}): {n}" for side, n in _notes(left, right))
    if not diffs:
        lines.append("No differences.")
        return "\n".join(lines) + "\n"
    counts = _counts(diffs)
    lines.append(f"{len(diffs)} differences: " + ", ".join(f"{counts[k]} {k}" for k in SEVERITY_RANK if counts[k]))
    for name, items in _grouped(diffs, rules):
        lines.append("")
        lines.append(f"== {name} ({len(items)}) ==")
        for d in items:
            why = f"  ({d.why})" if d.why and d.severity in ("critical", "major", "info") else ""
            why += f" [see {d.doc}]" if d.doc else ""
            lines.append(f"  [{d.severity.upper():8}] {d.path}{_alias(d)}: {_what(d)}{why}")
    return "\n".join(lines) + "\n"


def render_markdown(left: Tree, right: Tree, diffs: Sequence[Difference], rules: Rules, summary: str = "") -> str:
    lines = [f"**{summary}**", ""] if summary else []
    lines += ["# Config diff", "", f"- LEFT: `{left.label}`", f"- RIGHT: `{right.label}`"]
    lines.extend(f"- note ({side}): {n}" for side, n in _notes(left, right))
    if not diffs:
        return "\n".join([*lines, "", "No differences.", ""])
    counts = _counts(diffs)
    lines += ["", "**" + ", ".join(f"{counts[k]} {k}" for k in SEVERITY_RANK if counts[k]) + "**"]
    for name, items in _grouped(diffs, rules):
        lines += ["", f"## {name}", "", "| severity | path | kind | LEFT | RIGHT | note |", "|---|---|---|---|---|---|"]
        for d in items:
            unmapped = not (d.mapped or d.verdict) and d.kind in ("missing", "added")
            kind = KIND_TEXT[d.kind] + (" (unmapped)" if unmapped else "")
            cells = [
                d.severity,
                f"`{d.path}`{_alias(d)}",
                kind,
                _md(d.left, d.kind == "added"),
                _md(d.right, d.kind == "missing"),
                "; ".join(x for x in (d.note, d.why, d.doc) if x),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md(value: Any, absent: bool) -> str:
    if absent:
        return "—"
    text = _short(value).replace("|", "\\|")
    return f"`{text}`"


def render_json(left: Tree, right: Tree, diffs: Sequence[Difference], rules: Rules, summary: str = "") -> str:
    payload = {
        "summary": summary,
        "left": {"label": left.label, "kind": left.kind, "notes": list(left.notes)},
        "right": {"label": right.label, "kind": right.kind, "notes": list(right.notes)},
        "counts": _counts(diffs),
        "differences": [d.to_json() for d in diffs],
    }
    return json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n"


RENDERERS = {"text": render_text, "md": render_markdown, "markdown": render_markdown, "json": render_json}
