"""``--log PATH [A..B]``: the commits of a range that changed the resolved value of PATH, with old -> new values.

Each commit that touched ``configs/`` is unpacked with ``git archive`` and composed like any Hydra side, so a value
that changes through ``defaults:``, an interpolation or the curriculum env is seen even when the file that spells
PATH did not change. Values are compared after the mapping table and the normalisation rules (a renamed key or a
respelled value is not a change).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metta.common.errors import ConfigError, MettaError
from metta.config_diff.diff import canonicalize
from metta.config_diff.engine import compare_values
from metta.config_diff.hydra_side import resolve_hydra
from metta.config_diff.normalize import NormalizeRules, detect_dialect, normalize
from metta.config_diff.rules import MappingTable, load_rules
from metta.config_diff.sources import export_ref, resolve_commit
from metta.config_diff.tree import dotted, flatten, split, unflatten

ABSENT = "<absent>"
UNRESOLVABLE = "<does not compose>"


def commits_in_range(repo: Path, refs: Sequence[str]) -> tuple[str | None, list[str]]:
    """(base commit or None, commits after it in order) touching configs/; no refs = all history of HEAD."""
    if len(refs) == 2:
        base, tip = resolve_commit(repo, refs[0]), resolve_commit(repo, refs[1])
        spec = [f"{base}..{tip}"]
    else:
        base, tip = None, resolve_commit(repo, refs[0] if refs else "HEAD")
        spec = [tip]
    proc = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--reverse", *spec, "--", "configs"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ConfigError(f"git rev-list {' '.join(spec)} failed in {repo}: {proc.stderr.strip()}")
    return base, proc.stdout.split()


def value_at(
    repo: Path,
    commit: str,
    path: str,
    config_name: str,
    overrides: Sequence[str],
    table: MappingTable,
    norm: NormalizeRules,
    tmp: Path,
    soft: dict[str, str] | None = None,
) -> Any:
    """The canonical, normalised value of ``path`` (a leaf or a whole block) in the Hydra tree of ``commit``."""
    dest = tmp / commit[:12]
    try:
        export_ref(repo, commit, dest, ("configs",))
        tree = resolve_hydra(dest / "configs", config_name, overrides, target_fields=table.target_fields, soft=soft)
    except MettaError:
        return UNRESOLVABLE
    flat, _ = canonicalize(flatten(tree.data), table)
    flat, _ = normalize(flat, detect_dialect(tree.data), norm)
    canon = next(iter(canonicalize({split(path): None}, table)[0]))
    if canon in flat:
        return flat[canon]
    sub = {p[len(canon) :]: v for p, v in flat.items() if p[: len(canon)] == canon}
    return unflatten(sub) if sub else ABSENT


def _subject(repo: Path, commit: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%h %ad %s", "--date=short", commit],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip()


def log_report(
    args: argparse.Namespace, repo: Path, refs: Sequence[str], table: MappingTable, norm: NormalizeRules
) -> str:
    rules = load_rules(args.rules)
    overrides = [*args.override, *args.left_override]
    base, commits = commits_in_range(repo, refs)
    if base is None and commits:  # the whole history: its first commit is the baseline
        base, commits = commits[0], commits[1:]
    lines = [
        f"history of {args.log} ({args.config_name}) in {repo}, "
        f"{len(commits)} commits touching configs/" + (f" after {base[:10]}" if base else "")
    ]
    changes = 0
    with tempfile.TemporaryDirectory(prefix="config_diff_log_") as tmp:
        prev = (
            value_at(repo, base, args.log, args.config_name, overrides, table, norm, Path(tmp), args.soft)
            if base
            else ABSENT
        )
        first = prev
        for commit in commits:
            value = value_at(repo, commit, args.log, args.config_name, overrides, table, norm, Path(tmp), args.soft)
            kind, _ = compare_values(prev, value, args.log, rules)
            if kind or (type(prev) is not type(value)):
                changes += 1
                lines.append(f"{_subject(repo, commit)}\n    {_fmt(prev)} -> {_fmt(value)}")
            prev = value
    lines.insert(1, f"{changes} commits changed it; at {base[:10] if base else '-'}: {_fmt(first)}")
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    import json

    if value in (ABSENT, UNRESOLVABLE):
        return str(value)
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


__all__ = ["commits_in_range", "dotted", "log_report", "value_at"]
