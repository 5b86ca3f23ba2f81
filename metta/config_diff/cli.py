"""Command line of ``./tools/config_diff.py``: choose two sides, diff them, render, and set the exit status.

Exit status: 0 when no difference is at or above ``--fail-on`` (default ``critical``), 1 otherwise, 2 on usage
errors (bad ref, config that does not compose, recipe that raises, unreadable file).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metta.common.config import REPO_ROOT
from metta.common.errors import ConfigError, MettaError
from metta.config_diff.diff import at_or_above, canonicalize, diff
from metta.config_diff.engine import warm_up
from metta.config_diff.explain import explain
from metta.config_diff.hydra_side import resolve_hydra, typed_view
from metta.config_diff.normalize import Dialect, detect_dialect, load_normalize_rules
from metta.config_diff.render import RENDERERS, summary_line
from metta.config_diff.rules import SEVERITY_RANK, MappingTable, load_mapping, load_rules
from metta.config_diff.sources import (
    LEGACY_REPO_ENV,
    RecipeJob,
    export_ref,
    git_root,
    has_commit,
    resolve_commit,
    resolve_path,
    start_recipe,
)
from metta.config_diff.tree import Tree, dotted, flatten, split

DEFAULT_RUN = "config_diff"
# RIGHT-side recipe per job (module.function of this checkout), and the soft arguments each one takes.
DEFAULT_RECIPES = {
    "train_job": "experiments.recipes.arena_basic_easy_shaped.train",
    "sim_job": "experiments.recipes.arena_basic_easy_shaped.evaluate",
    "sweep_job": "experiments.sweep_arena.sweep_optimizer",
}
DEFAULT_RECIPE = DEFAULT_RECIPES["train_job"]

EPILOG = """\
LEFT defaults to the Hydra tree of this repository (or of --repo) (configs/, composed and fully interpolated); RIGHT
defaults to the recipe of the job ({recipes}) dumped in JSON mode. Examples:
  ./tools/config_diff.py                                  # repo's Hydra tree vs its recipe (parity)
  ./tools/config_diff.py --ref HEAD~3                     # Hydra tree of HEAD~3 vs today's recipe
  ./tools/config_diff.py --ref HEAD~3 configs             # Hydra tree of HEAD~3 vs today's Hydra tree
  ./tools/config_diff.py --repo ../upstream --ref 724cde8 # the upstream Hydra-era tree vs our recipe
  METTA_LEGACY_REPO=../upstream ./tools/config_diff.py --ref 724cde8 --config-name sim_job
  ./tools/config_diff.py --ref A --ref B                  # Hydra tree at A vs Hydra tree at B (also --ref A..B)
  ./tools/config_diff.py --log trainer.hyperparameter_scheduler A..B   # commits that changed a resolved value
  ./tools/config_diff.py --ref HEAD~1 --ref-recipe {recipe}   # recipe then vs recipe now
  ./tools/config_diff.py old.yaml new.json --format md    # two dumps
  ./tools/config_diff.py --explain trainer.ppo.clip_coef
""".format(recipe=DEFAULT_RECIPE, recipes=", ".join(f"{k}: {v}" for k, v in DEFAULT_RECIPES.items()))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="config_diff.py",
        description="Compare two config trees (Hydra YAML, Pydantic recipes, dumps) field by field.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "left",
        nargs="?",
        help="LEFT side: a configs directory or a YAML/JSON dump (with --ref: RIGHT; with --log: the range A..B)",
    )
    p.add_argument("right", nargs="?", help="RIGHT side: a configs directory or a YAML/JSON dump")
    p.add_argument(
        "--repo",
        help=f"git repository (work tree or bare git dir) for --ref; default: this repository, "
        f"or ${LEGACY_REPO_ENV} when the ref is not in this one",
    )
    p.add_argument(
        "--ref",
        action="append",
        default=[],
        help="LEFT = the Hydra tree at this git ref; given twice (or as A..B): LEFT at A, RIGHT at B",
    )
    p.add_argument("--ref-recipe", help="LEFT = this recipe (module.function), taken from --ref when given")
    p.add_argument("--recipe", help="RIGHT = this recipe (default: the job's recipe, see below)")
    p.add_argument("--recipe-arg", action="append", default=[], metavar="K=V", help="argument for the recipe(s)")
    p.add_argument("--config-name", default="train_job", help="Hydra job to compose: train_job, sim_job, sweep_job")
    p.add_argument(
        "--run",
        default=DEFAULT_RUN,
        help=f"run name given to both sides unless set by --override/--recipe-arg (default {DEFAULT_RUN})",
    )
    p.add_argument("--override", action="append", default=[], metavar="K=V", help="Hydra override for both sides")
    p.add_argument("--left-override", action="append", default=[], metavar="K=V", help="Hydra override, LEFT only")
    p.add_argument("--right-override", action="append", default=[], metavar="K=V", help="Hydra override, RIGHT only")
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
    p.add_argument(
        "--log",
        metavar="PATH",
        help="list the commits of a range (positional A..B, default: all of HEAD) that changed the "
        "resolved value of PATH, with old -> new values",
    )
    p.add_argument("--mapping", help="mapping table YAML (default: metta/config_diff/mapping.yaml)")
    p.add_argument("--rules", help="severity rules YAML (default: metta/config_diff/rules.yaml)")
    p.add_argument("--normalize", help="normalisation rules YAML (default: metta/config_diff/normalize.yaml)")
    p.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    p.add_argument("--timing", action="store_true", help="print resolution/diff timings to stderr")
    return p


def _split_refs(refs: Sequence[str]) -> list[str]:
    out: list[str] = []
    for ref in refs:
        if ".." in ref and "..." not in ref:
            a, b = ref.split("..", 1)
            out += [a or "HEAD", b or "HEAD"]
        else:
            out.append(ref)
    if len(out) > 2:
        raise ConfigError(f"give at most two refs (--ref A --ref B or --ref A..B), got {out}")
    return out


def choose_repo(args: argparse.Namespace, refs: Sequence[str]) -> Path:
    """--repo, else this repository when it has the refs, else $METTA_LEGACY_REPO; the error says how to fix it."""
    if args.repo:
        return git_root(args.repo)
    if all(has_commit(REPO_ROOT, r) for r in refs):
        return REPO_ROOT
    legacy = os.environ.get(LEGACY_REPO_ENV)
    if legacy:
        return git_root(legacy)
    missing = next(r for r in refs if not has_commit(REPO_ROOT, r))
    raise ConfigError(
        f"git ref {missing!r} is not in this repository ({REPO_ROOT}); give the repository that has "
        f"it with --repo PATH or set {LEGACY_REPO_ENV}=PATH (a clone of the upstream Hydra-era "
        f"repository, or its bare git dir)"
    )


def _hydra(args: argparse.Namespace, cdir: Path, label: str, side: str) -> Tree:
    """Compose with the user's overrides; the soft values (run name, ...) only set keys the tree has."""
    own = args.left_override if side == "left" else args.right_override
    return resolve_hydra(
        cdir,
        args.config_name,
        [*args.override, *own],
        label=label,
        target_fields=args.table.target_fields,
        soft=args.soft,
    )


def _side_from_path(args: argparse.Namespace, path: str, side: str) -> Tree:
    p = Path(path)
    if p.is_dir():
        return _hydra(args, p, f"hydra:{p}", side)
    return resolve_path(p, args.config_name, [*args.override])


def _ref_side(args: argparse.Namespace, repo: Path, ref: str, tmp: Path, side: str) -> Tree | RecipeJob:
    commit = resolve_commit(repo, ref)
    dest = tmp / f"{side}_{commit[:12]}"
    paths = ("configs", "experiments", "metta") if args.ref_recipe else ("configs",)
    export_ref(repo, commit, dest, paths)
    if args.ref_recipe:
        return start_recipe(args.ref_recipe, dest, args.recipe_arg, label=f"recipe:{args.ref_recipe}@{ref}")
    return _hydra(args, dest / "configs", f"hydra:{ref} ({commit[:10]})", side)


def _recipe_root(args: argparse.Namespace, repo: Path, target: str) -> Path:
    """A recipe is imported from --repo's work tree when it has that module, else from this checkout."""
    module = Path(*target.rpartition(".")[0].split("."))
    if args.repo and ((repo / module).with_suffix(".py").is_file() or (repo / module / "__init__.py").is_file()):
        return repo
    return REPO_ROOT


def _sides(args: argparse.Namespace, tmp: Path) -> tuple[Tree, Tree]:
    refs = _split_refs(args.ref)
    if args.left and (refs or args.ref_recipe) and args.right:
        raise ConfigError("give either a LEFT path or --ref/--ref-recipe, not both")
    repo = choose_repo(args, refs) if refs else (git_root(args.repo) if args.repo else REPO_ROOT)
    recipe = args.recipe or DEFAULT_RECIPES.get(args.config_name, DEFAULT_RECIPE)
    right: Tree | RecipeJob
    right_path = args.right or (args.left if (refs or args.ref_recipe) and len(refs) < 2 else None)
    if right_path and args.recipe:
        raise ConfigError("give either a RIGHT path or --recipe, not both")
    # start the RIGHT recipe child first: it runs while the LEFT tree is composed in this process
    if len(refs) == 2:
        right = _ref_side(args, repo, refs[1], tmp, "right")
    elif right_path:
        right = _side_from_path(args, right_path, "right")
    else:
        right = start_recipe(recipe, _recipe_root(args, repo, recipe), args.recipe_arg)
    if refs:
        left = _ref_side(args, repo, refs[0], tmp, "left")
    elif args.ref_recipe:
        left = start_recipe(args.ref_recipe, _recipe_root(args, repo, args.ref_recipe), args.recipe_arg)
    elif args.left:
        left = _side_from_path(args, args.left, "left")
    else:
        left = _hydra(args, repo / "configs", "hydra:configs (work tree)", "left")
    left_tree = _done(left)
    warm_up()  # import DeepDiff while the recipe child (usually the slower side) is still running
    return left_tree, _done(right)


def _done(side: Tree | RecipeJob) -> Tree:
    return side.result() if isinstance(side, RecipeJob) else side


def _explain(left: Tree, right: Tree, paths: Sequence[str], table: MappingTable) -> str:
    out: list[str] = []
    for raw in paths:
        lines = [f"== {raw} =="]
        for tree in (left, right):
            flat, origin = canonicalize(flatten(tree.data), table)
            canon_path = canonicalize({split(raw): None}, table)[0]
            canon = next(iter(canon_path))
            sub = {p: v for p, v in flat.items() if p[: len(canon)] == canon}
            block: dict[str, Any] = {dotted(p[len(canon) :]): v for p, v in sub.items()}
            value = flat.get(canon, block or None)
            original = dotted(origin[canon]) if canon in origin else (dotted(canon) if sub else None)
            lines.extend(explain(tree, dotted(canon), original, value))
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def _soft_args(args: argparse.Namespace) -> None:
    """Both sides get the same run name (and sweep name / policy) unless the user set them."""
    given = {o.lstrip("+~").split("=", 1)[0] for o in [*args.override, *args.left_override, *args.right_override]}
    soft = {"run": args.run, "sweep_name": args.run, "policy_uri": f"file://./train_dir/{args.run}/checkpoints"}
    args.soft = {k: v for k, v in soft.items() if k not in given}
    args.recipe_arg = [*args.recipe_arg, *(f"?{k}={v}" for k, v in soft.items())]
    # Configurations are compared, not machines: a recipe's hardware profile follows the Hydra side's (whose YAML
    # default is the Hydra-era gpu sizing) instead of the auto-detected profile of the machine running the diff.
    hydra_hw = [
        o.split("=", 1)[1] for o in [*args.override, *args.left_override] if o.lstrip("+~").startswith("hardware=")
    ]
    args.recipe_arg.append(f"?hardware={hydra_hw[-1] if hydra_hw else 'gpu'}")


def run(argv: Sequence[str] | None = None, started: float | None = None) -> int:
    """Run the tool; ``started`` (a perf_counter value) is when the process began, for the reported time."""
    t0 = time.perf_counter() if started is None else started
    args = build_parser().parse_args(argv)
    _soft_args(args)
    try:
        table, rules, norm = load_mapping(args.mapping), load_rules(args.rules), load_normalize_rules(args.normalize)
        args.table = table
        if args.log:
            from metta.config_diff.history import log_report

            refs = _split_refs([args.left] if args.left else args.ref)
            repo = (
                choose_repo(args, [r for r in refs if r]) if refs else (git_root(args.repo) if args.repo else REPO_ROOT)
            )
            _emit(log_report(args, repo, refs, table, norm), args.output)
            return 0
        with tempfile.TemporaryDirectory(prefix="config_diff_ref_") as tmp:
            left, right = _sides(args, Path(tmp))
            t1 = time.perf_counter()
            if args.typed:
                left, right = (typed_view(t) if t.kind == "hydra" else t for t in (left, right))
            if args.explain:
                _emit(_explain(left, right, args.explain, table), args.output)
                return 0
        defaults = left.schema_defaults | right.schema_defaults
        dialects = (_dialect(left), _dialect(right))
        notes: list[str] = []
        diffs = diff(
            left.data,
            right.data,
            table,
            rules,
            defaults,
            job=args.config_name,
            dialects=dialects,
            norm=norm,
            notes=notes,
        )
        left = _with_notes(left, [n[6:] for n in notes if n.startswith("LEFT: ")])
        right = _with_notes(right, [n[7:] for n in notes if n.startswith("RIGHT: ")])
        t2 = time.perf_counter()
        summary = summary_line(diffs, t2 - t0)
        report = RENDERERS[args.format](left, right, at_or_above(diffs, args.show), rules, summary)
    except MettaError as exc:
        print(f"config_diff: error: {exc}", file=sys.stderr)
        return 2
    _emit(report, args.output)
    if args.timing:
        import resource

        t3 = time.perf_counter()
        own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        print(
            f"timing: resolve both sides {t1 - t0:.2f}s, diff {t2 - t1:.2f}s, render {t3 - t2:.2f}s, total "
            f"{t3 - t0:.2f}s wall; CPU {own.ru_utime + own.ru_stime:.2f}s in this process, "
            f"{kids.ru_utime + kids.ru_stime:.2f}s in child processes (recipe, git; run in parallel)",
            file=sys.stderr,
        )
    return 1 if at_or_above(diffs, args.fail_on) else 0


def _dialect(tree: Tree) -> Dialect:
    return "ours" if tree.kind == "recipe" else detect_dialect(tree.data)


def _with_notes(tree: Tree, notes: list[str]) -> Tree:
    from dataclasses import replace

    return replace(tree, notes=(*tree.notes, *notes)) if notes else tree


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
