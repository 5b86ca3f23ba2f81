"""Command line of ``./tools/config_diff.py``: choose two sides, diff them, render, and set the exit status.

Exit status: 0 when no difference is at or above ``--fail-on`` (default ``critical``), 1 otherwise, 2 on usage
errors (bad ref, config that does not compose, recipe that raises, unreadable file).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from metta.common.config import REPO_ROOT
from metta.common.errors import ConfigError, MettaError
from metta.config_diff.diff import at_or_above, canonicalize, diff
from metta.config_diff.explain import explain
from metta.config_diff.hydra_side import resolve_hydra, typed_view
from metta.config_diff.render import RENDERERS
from metta.config_diff.rules import SEVERITY_RANK, MappingTable, load_mapping, load_rules
from metta.config_diff.sources import export_ref, git_root, resolve_commit, resolve_path, resolve_recipe
from metta.config_diff.tree import Tree, dotted, flatten, split

DEFAULT_RECIPE = "experiments.recipes.arena_basic_easy_shaped.train"
DEFAULT_RUN = "config_diff"

EPILOG = f"""\
LEFT defaults to the Hydra tree of this repository (or of --repo) (configs/, composed and fully interpolated);
RIGHT defaults to
the recipe {DEFAULT_RECIPE} dumped in JSON mode. Examples:
  ./tools/config_diff.py                                  # repo's Hydra tree vs its recipe (parity)
  ./tools/config_diff.py --ref HEAD~3                     # Hydra tree of HEAD~3 vs today's recipe
  ./tools/config_diff.py --ref HEAD~3 configs             # Hydra tree of HEAD~3 vs today's Hydra tree
  ./tools/config_diff.py --repo ../upstream --ref 724cde8 # the upstream Hydra-era tree vs our recipe
  ./tools/config_diff.py --ref HEAD~1 --ref-recipe {DEFAULT_RECIPE}   # recipe then vs recipe now
  ./tools/config_diff.py old.yaml new.json --format md    # two dumps
  ./tools/config_diff.py --explain trainer.ppo.clip_coef
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="config_diff.py",
        description="Compare two config trees (Hydra YAML, Pydantic recipes, dumps) field by field.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("left", nargs="?", help="LEFT side: a configs directory or a YAML/JSON dump (with --ref: RIGHT)")
    p.add_argument("right", nargs="?", help="RIGHT side: a configs directory or a YAML/JSON dump")
    p.add_argument("--repo", help="git repository for --ref and recipes (default: this repository)")
    p.add_argument("--ref", help="LEFT = the Hydra tree (or --ref-recipe) at this git ref, via git archive")
    p.add_argument("--ref-recipe", help="LEFT = this recipe (module.function), taken from --ref when given")
    p.add_argument("--recipe", help=f"RIGHT = this recipe (default {DEFAULT_RECIPE})")
    p.add_argument("--recipe-arg", action="append", default=[], metavar="K=V", help="argument for the recipe(s)")
    p.add_argument("--config-name", default="train_job", help="Hydra config to compose (default train_job)")
    p.add_argument(
        "--run",
        default=DEFAULT_RUN,
        help=f"run name given to both sides unless set by --override/--recipe-arg (default {DEFAULT_RUN})",
    )
    p.add_argument("--override", action="append", default=[], metavar="K=V", help="Hydra override for Hydra sides")
    p.add_argument(
        "--typed",
        action="store_true",
        help="pass Hydra sides through resolve_train_job (what the trainer receives; this repo's layout)",
    )
    p.add_argument("--format", choices=sorted(RENDERERS), default="text")
    p.add_argument(
        "--show",
        choices=list(SEVERITY_RANK),
        default="info",
        help="list only differences at or above this severity (default info = all); exit status still "
        "follows --fail-on over all differences",
    )
    p.add_argument(
        "--fail-on",
        choices=[*SEVERITY_RANK, "never"],
        default="critical",
        help="exit 1 when a difference is at or above this severity (default critical)",
    )
    p.add_argument(
        "--explain",
        action="append",
        default=[],
        metavar="PATH",
        help="show where each side's value of PATH comes from (YAML file:line, recipe or default)",
    )
    p.add_argument("--mapping", help="mapping table YAML (default: metta/config_diff/mapping.yaml)")
    p.add_argument("--rules", help="severity rules YAML (default: metta/config_diff/rules.yaml)")
    p.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    p.add_argument("--timing", action="store_true", help="print resolution/diff timings to stderr")
    return p


def _left(args: argparse.Namespace, repo: Path, tmp: Path) -> Tree:
    if args.left and (args.ref or args.ref_recipe):
        raise ConfigError("give either a LEFT path or --ref/--ref-recipe, not both")
    if args.left:
        return _hydra_path(args, args.left)
    if args.ref:
        commit = resolve_commit(repo, args.ref)
        paths = ("configs", "experiments", "metta") if args.ref_recipe else ("configs",)
        export_ref(repo, commit, tmp, paths)
        if args.ref_recipe:
            return resolve_recipe(args.ref_recipe, tmp, args.recipe_arg, label=f"recipe:{args.ref_recipe}@{args.ref}")
        return _hydra(args, tmp / "configs", f"hydra:{args.ref} ({commit[:10]})")
    if args.ref_recipe:
        return resolve_recipe(args.ref_recipe, repo, args.recipe_arg)
    return _hydra(args, repo / "configs", "hydra:configs (work tree)")


def _hydra(args: argparse.Namespace, cdir: Path, label: str) -> Tree:
    """Compose with the soft ``run=`` override first; a tree without a ``run`` key is composed without it."""
    if args.soft_override:
        try:
            return resolve_hydra(
                cdir,
                args.config_name,
                [*args.override, *args.soft_override],
                label=label,
                target_fields=args.table.target_fields,
            )
        except MettaError as exc:
            if "run" not in str(exc):
                raise
    return resolve_hydra(cdir, args.config_name, args.override, label=label, target_fields=args.table.target_fields)


def _hydra_path(args: argparse.Namespace, path: str) -> Tree:
    p = Path(path)
    return _hydra(args, p, f"hydra:{p}") if p.is_dir() else resolve_path(p, args.config_name, args.override)


def _right(args: argparse.Namespace, repo: Path) -> Tree:
    if args.right and args.recipe:
        raise ConfigError("give either a RIGHT path or --recipe, not both")
    if args.right:
        return _hydra_path(args, args.right)
    return resolve_recipe(args.recipe or DEFAULT_RECIPE, repo, args.recipe_arg)


def _explain(left: Tree, right: Tree, paths: Sequence[str], table: MappingTable) -> str:
    out: list[str] = []
    for raw in paths:
        lines = [f"== {raw} =="]
        for tree in (left, right):
            flat, origin = canonicalize(flatten(tree.data), table)
            canon_path = canonicalize({split(raw): None}, table)[0]
            canon = next(iter(canon_path))
            sub = {p: v for p, v in flat.items() if p[: len(canon)] == canon}
            value = flat.get(canon, sub and {dotted(p[len(canon) :]): v for p, v in sub.items()} or None)
            original = dotted(origin[canon]) if canon in origin else (dotted(canon) if sub else None)
            lines.extend(explain(tree, dotted(canon), original, value))
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not any(o.lstrip("+~").split("=", 1)[0] == "run" for o in args.override):
        args.soft_override = [f"run={args.run}"]
    else:
        args.soft_override = []
    args.recipe_arg = [*args.recipe_arg, f"?run={args.run}"]
    if (args.ref or args.ref_recipe) and args.left and not args.right:
        args.left, args.right = None, args.left  # with --ref the one path given is the RIGHT side
    t0 = time.perf_counter()
    try:
        table, rules = load_mapping(args.mapping), load_rules(args.rules)
        args.table = table
        repo = git_root(args.repo) if args.repo else REPO_ROOT
        with tempfile.TemporaryDirectory(prefix="config_diff_ref_") as tmp:
            left = _left(args, repo, Path(tmp))
            t1 = time.perf_counter()
            right = _right(args, repo)
            t2 = time.perf_counter()
            if args.typed:
                left, right = (typed_view(t) if t.kind == "hydra" else t for t in (left, right))
            if args.explain:
                _emit(_explain(left, right, args.explain, table), args.output)
                return 0
        defaults = left.schema_defaults | right.schema_defaults
        diffs = diff(left.data, right.data, table, rules, defaults)
        report = RENDERERS[args.format](left, right, at_or_above(diffs, args.show), rules)
    except MettaError as exc:
        print(f"config_diff: error: {exc}", file=sys.stderr)
        return 2
    _emit(report, args.output)
    if args.timing:
        t3 = time.perf_counter()
        print(f"timing: left {t1 - t0:.2f}s, right {t2 - t1:.2f}s, diff+render {t3 - t2:.2f}s", file=sys.stderr)
    return 1 if at_or_above(diffs, args.fail_on) else 0


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
