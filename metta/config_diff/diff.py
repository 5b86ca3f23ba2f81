"""Compare two resolved trees: canonicalise paths, normalise meaning, diff structurally, classify and rank.

Pipeline (each step pure): flatten -> :func:`canonicalize` (mapping table aliases) -> :func:`normalize` (semantic
rules, per dialect) -> :func:`metta.config_diff.engine.structural_diff` (DeepDiff) -> :func:`classify` (severity
rules, one-sided verdicts, schema defaults) -> caveats (same spelling, different Hydra-era behaviour).

Kinds: ``missing`` (in LEFT only; a block only LEFT has is one difference at the block's root), ``added`` (RIGHT
only), ``changed`` (value differs beyond tolerance, or null/empty vs a block), ``type_changed`` (string vs number,
mapping vs scalar), ``behaviour`` (equal values whose Hydra-era code behaved differently).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from metta.config_diff.engine import compare_values, structural_diff
from metta.config_diff.normalize import Dialect, NormalizeRules, load_normalize_rules, normalize
from metta.config_diff.rules import SEVERITY_RANK, MappingTable, OneSided, Rules
from metta.config_diff.tree import Path_, dotted, flatten, split, unflatten

__all__ = ["Difference", "at_or_above", "canonicalize", "compare_values", "diff"]


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
    doc: str = ""
    verdict: str = ""  # the mapping table's one-sided verdict(s) that decided the severity, if any

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def canonicalize(
    flat: Mapping[Path_, Any], table: MappingTable, job: str = ""
) -> tuple[dict[Path_, Any], dict[Path_, Path_]]:
    """Rename alias paths/subtrees (longest alias wins, repeatedly, so aliases chain) and regex aliases; returns
    (data, canonical->original). A path whose canonical spelling is also present keeps its own name."""
    merged = {**table.aliases, **table.job_aliases.get(job, {})}
    aliases = sorted(((split(a), split(c)) for a, c in merged.items()), key=lambda ac: -len(ac[0]))
    patterns = [(re.compile(p.match), p.canonical) for p in table.pattern_aliases]
    present = set(flat)
    out: dict[Path_, Any] = {}
    origin: dict[Path_, Path_] = {}
    for path, value in flat.items():
        new = path
        for _ in range(4):
            step = _alias_once(new, aliases, present)
            if step == new:
                break
            new = step
        for rx, repl in patterns:
            text = dotted(new)
            if rx.match(text):
                candidate = split(rx.sub(repl, text))
                if candidate not in present:
                    new = candidate
                break
        out[new] = value
        origin[new] = path
    return out, origin


def _alias_once(path: Path_, aliases: list[tuple[Path_, Path_]], present: set[Path_]) -> Path_:
    for alias, canon in aliases:
        if path[: len(alias)] == alias:
            candidate = canon + path[len(alias) :]
            return path if candidate in present else candidate  # both spellings present: keep each
    return path


def diff(
    left: Mapping[str, Any],
    right: Mapping[str, Any],
    table: MappingTable,
    rules: Rules,
    schema_defaults: frozenset[str] = frozenset(),
    *,
    job: str = "",
    dialects: tuple[Dialect, Dialect] = ("ours", "ours"),
    norm: NormalizeRules | None = None,
    notes: list[str] | None = None,
) -> list[Difference]:
    """Every difference between two nested trees, canonicalised by ``table`` and ranked by ``rules``.

    ``schema_defaults`` are original dotted paths whose value is a typed class default nobody set (from a recipe's
    provenance): a leaf present on one side only *because* a schema filled its default, inside a block both sides
    have, is one level less severe. ``job`` selects job-specific rules; ``dialects`` says which side is a Hydra-era
    tree; ``notes`` (when given) receives one line per normalisation rule that changed a side.
    """
    norm = norm or load_normalize_rules()
    sides = []
    for name, tree, dialect in (("LEFT", left, dialects[0]), ("RIGHT", right, dialects[1])):
        flat, origin = canonicalize(flatten(tree), table, job)
        flat, applied = normalize(flat, dialect, norm)
        if notes is not None:
            notes.extend(f"{name}: {n}" for n in applied)
        sides.append((flat, origin))
    (lflat, lorig), (rflat, rorig) = sides
    raw = structural_diff(unflatten(lflat), unflatten(rflat), rules)
    out = []
    for r in raw:
        lp = dotted(lorig.get(r.path, r.path)) if r.kind != "added" else None
        rp = dotted(rorig.get(r.path, r.path)) if r.kind != "missing" else None
        mapped = (lp is not None and lp != dotted(r.path)) or (rp is not None and rp != dotted(r.path))
        d = Difference(dotted(r.path), r.kind, r.left, r.right, lp, rp, mapped, r.note)
        other = rflat if r.kind == "missing" else lflat
        out.append(classify(d, rules, table, schema_defaults, job, other))
    out += caveats(lflat, rflat, table, rules, dialects)
    return sorted(group_siblings(out), key=lambda d: d.path)


GROUP_MIN = 4


def group_siblings(diffs: list[Difference]) -> list[Difference]:
    """Keys one side lacks that share a parent, a severity and a reason (e.g. 60 simulations of a bigger suite)
    are listed as one difference at the parent, with the block of those keys as its value. Critical ones are
    always listed one by one."""
    groups: dict[tuple[str, str, str, str, str], list[Difference]] = {}
    for d in diffs:
        if d.kind in ("missing", "added") and "." in d.path and d.severity != "critical":
            groups.setdefault((d.kind, d.path.rsplit(".", 1)[0], d.severity, d.why, d.doc), []).append(d)
    grouped = {id(d) for items in groups.values() for d in items}
    out = _group_repeated_changes([d for d in diffs if id(d) not in grouped])
    for (kind, parent, *_), items in groups.items():
        if len(items) < GROUP_MIN:
            out += items
            continue
        block = {d.path.rsplit(".", 1)[1]: (d.left if kind == "missing" else d.right) for d in items}
        names = ", ".join(list(block)[:4]) + (", ..." if len(block) > 4 else "")
        first = items[0]
        out.append(
            replace(
                first,
                path=parent,
                left=block if kind == "missing" else None,
                right=block if kind == "added" else None,
                left_path=_parent(first.left_path),
                right_path=_parent(first.right_path),
                note=f"{len(items)} keys: {names}",
            )
        )
    return out


def _group_repeated_changes(diffs: list[Difference]) -> list[Difference]:
    """The same change of the same leaf in several sibling blocks (max_time_s 60 -> 120 in every simulation) is
    one difference at ``parent.*.leaf``."""
    import json

    groups: dict[tuple[str, ...], list[Difference]] = {}
    rest = []
    for d in diffs:
        parts = d.path.split(".")
        if d.kind in ("changed", "type_changed") and len(parts) >= 3 and d.severity != "critical":
            key = (
                d.kind,
                ".".join(parts[:-2]),
                parts[-1],
                json.dumps([d.left, d.right], sort_keys=True, default=str),
                d.severity,
                d.why,
            )
            groups.setdefault(key, []).append(d)
        else:
            rest.append(d)
    for (_, grand, leaf, *_), items in groups.items():
        if len(items) < 3:
            rest += items
            continue
        names = [d.path.split(".")[-2] for d in items]
        rest.append(
            replace(
                items[0],
                path=f"{grand}.*.{leaf}",
                left_path=None,
                right_path=None,
                note=f"in {len(items)} blocks: {', '.join(names[:4])}" + (", ..." if len(names) > 4 else ""),
            )
        )
    return rest


def _parent(path: str | None) -> str | None:
    return path.rsplit(".", 1)[0] if path and "." in path else path


PARENT_PRESENT = "its parent exists on the other side"
_DOWNGRADE = {"critical": "major", "major": "minor", "minor": "minor", "info": "info"}
_VERDICT_SEVERITY = {"launcher": "info", "covered": "info", "cosmetic": "minor"}


def one_sided_entry(path: Path_, table: MappingTable, job: str) -> OneSided | None:
    """The longest ``one_sided`` entry whose path is ``path`` or a block above it."""
    best: OneSided | None = None
    for entry in table.one_sided:
        if entry.jobs and job not in entry.jobs:
            continue
        pat = split(entry.path)
        if len(pat) <= len(path) and all(fnmatch.fnmatchcase(s, p) for s, p in zip(path, pat, strict=False)):
            if best is None or len(pat) > len(split(best.path)):
                best = entry
    return best


def _inert(entry: OneSided, block: Mapping[Path_, Any], rules: Rules) -> bool:
    """Every listed field holds an allowed value; unlisted fields are allowed only with ``"*": any``."""
    allowed = {split(k): v for k, v in entry.inert_if.items() if k != "*"}
    others_ok = entry.inert_if.get("*") == "any"
    for sub, value in block.items():
        if sub not in allowed:
            if not others_ok:
                return False
            continue
        if not any(compare_values(value, ok, dotted(sub), rules)[0] is None for ok in allowed[sub]):
            return False
    return True


def _verdict(entry: OneSided, block: Mapping[Path_, Any], rules: Rules) -> tuple[str, str, str]:
    """(severity, why, doc) of a one-sided block under a table entry."""
    if entry.verdict == "inert":
        if _inert(entry, block, rules):
            return "info", f"inert: {entry.reason or entry.feature + ' is off'}", entry.doc
        feature = entry.feature or entry.path
        return "critical", f"this tree uses {feature}, which this project does not implement", entry.doc
    if entry.verdict == "real":
        return entry.severity, entry.reason, entry.doc
    return _VERDICT_SEVERITY[entry.verdict], entry.reason, entry.doc


def classify(
    d: Difference,
    rules: Rules,
    table: MappingTable | None = None,
    schema_defaults: frozenset[str] = frozenset(),
    job: str = "",
    other: Mapping[Path_, Any] | None = None,
) -> Difference:
    """Severity, reason and subsystem. A key one side lacks goes through the one-sided verdicts leaf group by leaf
    group (worst wins); a leaf only there because a typed schema filled its default is one level less severe."""
    subsystem = rules.subsystem_of(d.path)
    if d.kind not in ("missing", "added"):
        found = rules.rule_of(d.path, job)
        if found is None:
            return replace(d, severity=rules.default_severity, subsystem=subsystem)
        return replace(d, severity=found.severity, why=found.why, doc=found.doc, subsystem=subsystem)
    root = split(d.path)
    value = d.left if d.kind == "missing" else d.right
    leaves = flatten(value, root) if isinstance(value, dict) and value else {root: value}
    groups: dict[str, tuple[OneSided | None, dict[Path_, Any]]] = {}
    for leaf, v in leaves.items():
        entry = one_sided_entry(leaf, table, job) if table else None
        key = entry.path if entry else dotted(leaf)
        groups.setdefault(key, (entry, {}))[1][leaf[len(split(entry.path)) :] if entry else ()] = v
    results: list[tuple[str, str, str]] = []
    sev: str
    verdicts = sorted({e.verdict for e, _ in groups.values() if e is not None})
    one_sided_path = d.right_path if d.kind == "added" else d.left_path
    parent_present = bool(other is not None and root[:-1] and any(p[: len(root) - 1] == root[:-1] for p in other))
    for key, (entry, block) in groups.items():
        if entry is not None:
            results.append(_verdict(entry, block, rules))
            continue
        rule = rules.rule_of(key, job)
        sev, why, doc = (rule.severity, rule.why, rule.doc) if rule else (rules.default_severity, "", "")
        single = len(leaves) == 1
        if single and parent_present and one_sided_path in schema_defaults:
            sev, why = _DOWNGRADE[sev], "schema default; the other tree leaves it unset"
        results.append((sev, why, doc))
    sev, why, doc = max(results, key=lambda r: SEVERITY_RANK[r[0]])
    note = d.note or (PARENT_PRESENT if parent_present and len(leaves) == 1 else "")
    if len(leaves) > 1:
        note = f"whole block on one side only ({len(leaves)} keys)"
    return replace(d, severity=sev, why=why, doc=doc, subsystem=subsystem, note=note, verdict=",".join(verdicts))


def caveats(
    lflat: Mapping[Path_, Any],
    rflat: Mapping[Path_, Any],
    table: MappingTable,
    rules: Rules,
    dialects: tuple[Dialect, Dialect],
) -> list[Difference]:
    """Same spelling on both sides, but the Hydra-era side's code behaved differently (only legacy vs ours)."""
    if sorted(dialects) != ["legacy", "ours"]:
        return []
    out = []
    for cav in table.caveats:
        key = split(cav.path)
        lsub = {p: v for p, v in lflat.items() if p[: len(key)] == key}
        rsub = {p: v for p, v in rflat.items() if p[: len(key)] == key}
        legacy = lsub if dialects[0] == "legacy" else rsub
        if not any(v not in (None, {}) for v in lsub.values()) or not any(v not in (None, {}) for v in rsub.values()):
            continue  # the setting must be present (not empty) on both sides
        if cav.when is not None and not any(v in cav.when for v in legacy.values()):
            continue
        lv = lsub[key] if key in lsub else unflatten({p[len(key) :]: v for p, v in lsub.items()})
        rv = rsub[key] if key in rsub else unflatten({p[len(key) :]: v for p, v in rsub.items()})
        out.append(
            Difference(
                cav.path,
                "behaviour",
                lv,
                rv,
                cav.path,
                cav.path,
                False,
                "same setting, different Hydra-era code",
                rules.subsystem_of(cav.path),
                cav.severity,
                cav.why,
                cav.doc,
            )
        )
    return out


def at_or_above(diffs: list[Difference], level: str) -> list[Difference]:
    if level == "never":
        return []
    return [d for d in diffs if SEVERITY_RANK[d.severity] >= SEVERITY_RANK[level]]
