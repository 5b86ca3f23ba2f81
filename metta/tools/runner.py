"""``./tools/run.py <module.function> [--args k=v ...] [--overrides a.b.c=v ...] [--dry-run]``.

Imports the recipe, binds ``--args`` to its parameters (converted to the annotated types; an unknown name is an
error listing the valid ones), applies ``--overrides`` by dotted path with type validation, seeds the process from
``system``, and invokes the Tool. ``--dry-run`` prints the final config (YAML) and runs nothing.
Exit codes: the tool's own code on success (0), 2 on usage/config errors.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from metta.common.errors import ConfigError, MettaError
from metta.common.seeding import seed_everything
from metta.tools.overrides import parse_assignment, parse_value
from metta.tools.tool import Tool


def load_function(target: str) -> Callable[..., Any]:
    module_name, _, func_name = target.rpartition(".")
    if not module_name or not func_name:
        raise ConfigError(f"{target!r} must be module.function, e.g. experiments.recipes.arena_basic_easy_shaped.train")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"cannot import module {module_name!r} for {target!r}: {exc}") from exc
    func = getattr(module, func_name, None)
    if func is None or not callable(func):
        names = sorted(
            n
            for n, v in vars(module).items()
            if inspect.isfunction(v) and v.__module__ == module.__name__ and not n.startswith("_")
        )
        raise ConfigError(f"{module_name} has no function {func_name!r}; functions there: {', '.join(names)}")
    return func


def bind_args(func: Callable[..., Any], items: Sequence[str]) -> dict[str, Any]:
    """``["run=x", "num_trials=3"]`` → kwargs converted to the parameters' annotated types."""
    sig = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except (NameError, TypeError):
        hints = {}
    params = {n: p for n, p in sig.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    kwargs: dict[str, Any] = {}
    for item in items:
        name, raw = parse_assignment(item, what="--args entry")
        if name not in params:
            valid = ", ".join(f"{n}" + ("" if p.default is p.empty else f"={p.default!r}") for n, p in params.items())
            raise ConfigError(f"unknown argument {name!r} for {func.__name__}; valid arguments: {valid or '(none)'}")
        kwargs[name] = _convert(name, raw, hints.get(name, str))
    missing = [n for n, p in params.items() if p.default is p.empty and n not in kwargs]
    if missing:
        raise ConfigError(
            f"{func.__name__} needs argument(s) {missing}; pass --args " + " ".join(f"{m}=..." for m in missing)
        )
    return kwargs


def _convert(name: str, raw: str, annotation: Any) -> Any:
    adapter = TypeAdapter(annotation)
    if annotation is str:
        return raw
    try:
        return adapter.validate_python(parse_value(raw))
    except ValidationError:
        pass
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        msg = "; ".join(e["msg"] for e in exc.errors())
        raise ConfigError(f"argument {name}={raw!r} does not fit type {annotation}: {msg}") from exc


def build_tool(target: str, args: Sequence[str], overrides: Sequence[str]) -> tuple[Tool, dict[str, Any]]:
    func = load_function(target)
    kwargs = bind_args(func, args)
    try:
        tool = func(**kwargs)
    except MettaError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{target}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) failed: {exc}") from exc
    if not isinstance(tool, Tool):
        raise ConfigError(f"{target} returned {type(tool).__name__}, not a metta.tools.Tool")
    return (tool.with_overrides(list(overrides)) if overrides else tool), kwargs


def dump_config(tool: Tool) -> str:
    data = tool.model_dump(mode="json", exclude=_unserialisable(tool))
    return yaml.safe_dump({"tool": type(tool).__name__, **data}, sort_keys=False)


def _unserialisable(tool: Tool) -> set[str]:
    return {
        n
        for n, f in type(tool).model_fields.items()
        if callable(getattr(tool, n)) and not hasattr(getattr(tool, n), "model_dump")
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py", description="Run a recipe function that returns a Tool.")
    p.add_argument("target", help="module.function, e.g. experiments.recipes.arena_basic_easy_shaped.train")
    p.add_argument(
        "--args",
        nargs="*",
        action="extend",
        default=[],
        metavar="K=V",
        help="arguments of the recipe function (repeatable)",
    )
    p.add_argument(
        "--overrides",
        nargs="*",
        action="extend",
        default=[],
        metavar="A.B.C=V",
        help="dotted-path config overrides (repeatable)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the final config and exit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        tool, _ = build_tool(ns.target, ns.args, ns.overrides)
    except MettaError as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 2
    if ns.dry_run:
        sys.stdout.write(dump_config(tool))
        return 0
    seed_everything(tool.system.seed, tool.system.torch_deterministic)
    args = dict(parse_assignment(a, what="--args entry") for a in ns.args)
    try:
        code = tool.invoke(args, list(ns.overrides))
    except MettaError as exc:
        print(f"run.py: {type(tool).__name__} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return int(code or 0)
