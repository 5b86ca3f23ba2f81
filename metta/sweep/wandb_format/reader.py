"""Read a W&B sweep YAML into our sweep config, and write one of ours back in W&B's format.

:func:`read_wandb_sweep` returns a :class:`WandbSweep`: ``sweep`` is our sweep-config dict (``metric``, ``goal``,
``method``, ``parameters``; what ``configs/sweep/*.yaml`` holds), the rest are the W&B keys our loop uses
(``run_cap``, ``metric.target``, ``program``/``command``) or keeps for reference (name, project, entity,
description). Methods: grid -> grid, random -> random, bayes -> Protein. Dotted parameter names and nested
``parameters:`` blocks both become nested paths, so a suggestion is a nested dict either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metta.common.errors import ConfigError
from metta.sweep.optim.config import ProteinConfig
from metta.sweep.wandb_format.distributions import to_parameter

TOP_KEYS = {
    "name",
    "project",
    "entity",
    "description",
    "method",
    "metric",
    "parameters",
    "program",
    "command",
    "run_cap",
}
_METHODS = {"grid": "grid", "random": "random", "bayes": "bayes"}


@dataclass(frozen=True)
class WandbSweep:
    """A W&B sweep file read into our terms."""

    sweep: dict[str, Any]
    method: str
    metric: str
    goal: str
    # what to run, and when to stop
    program: str | None = None
    command: tuple[str, ...] | None = None
    target: float | None = None
    run_cap: int | None = None
    keys: tuple[str, ...] = ()
    # where W&B would file it (kept for export and shown by the converter)
    name: str | None = None
    project: str | None = None
    entity: str | None = None
    description: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def extras(self) -> dict[str, Any]:
        """The W&B keys that are not part of our sweep config (kept as comments by the converter)."""
        pairs = (
            ("name", self.name),
            ("project", self.project),
            ("entity", self.entity),
            ("description", self.description),
            ("run_cap", self.run_cap),
            ("target", self.target),
            ("program", self.program),
            ("command", list(self.command) if self.command else None),
        )
        return {k: v for k, v in pairs if v is not None}


def _insert(tree: dict[str, Any], path: str, value: Any) -> None:
    node = tree
    *heads, last = path.split(".")
    for h in heads:
        child = node.setdefault(h, {})
        if not isinstance(child, dict) or "distribution" in child:
            raise ConfigError(f"parameter {path!r} collides with parameter {h!r}; rename one of them")
        node = child
    if last in node:
        raise ConfigError(f"parameter {path!r} is given twice (dotted name and nested block); keep one")
    node[last] = value


def _params(block: Any, prefix: str, method: str, tree: dict[str, Any], notes: list[str]) -> None:
    if not isinstance(block, Mapping) or not block:
        raise ConfigError(f"'parameters' of {prefix or 'the sweep'!r} must be a non-empty mapping")
    for key, spec in block.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"parameter name {key!r} under {prefix or 'parameters'!r} must be a non-empty string")
        path = f"{prefix}.{key}" if prefix else key
        if not isinstance(spec, Mapping):
            raise ConfigError(f"parameter {path!r} must be a mapping like {{values: [...]}}, got {spec!r}")
        if "parameters" in spec:
            if set(spec) != {"parameters"}:
                raise ConfigError(f"parameter {path!r}: a nested 'parameters:' block cannot have other keys")
            _params(spec["parameters"], path, method, tree, notes)
            continue
        leaf, leaf_notes = to_parameter(spec, path, method)
        notes.extend(leaf_notes)
        _insert(tree, path, leaf)


def _metric(doc: Mapping[str, Any]) -> tuple[str, str, float | None]:
    m = doc.get("metric")
    if m is None:
        raise ConfigError("the sweep has no 'metric:' block; add metric: {name: ..., goal: maximize|minimize}")
    if not isinstance(m, Mapping) or not m.get("name"):
        raise ConfigError(f"metric must be a mapping with a name, got {m!r}")
    unknown = set(m) - {"name", "goal", "target"}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)} in metric; W&B allows name, goal, target")
    goal = m.get("goal", "minimize")  # W&B's default direction
    if goal not in ("maximize", "minimize"):
        raise ConfigError(f"metric.goal={goal!r} must be maximize or minimize")
    target = m.get("target")
    if target is not None and (
        isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target)
    ):
        raise ConfigError(f"metric.target={target!r} must be a finite number")
    return str(m["name"]), str(goal), None if target is None else float(target)


def read_wandb_sweep(doc: Any) -> WandbSweep:
    """Validate a parsed W&B sweep YAML and map it onto our sweep config (raises ConfigError naming the key)."""
    if not isinstance(doc, Mapping):
        raise ConfigError(f"a W&B sweep file must be a mapping, got {type(doc).__name__}")
    if "early_terminate" in doc:
        raise ConfigError(
            "early_terminate is not supported yet: every trial runs to its own end. Remove the early_terminate "
            "block (or shorten trials with a smaller budget)"
        )
    unknown = set(doc) - TOP_KEYS
    if unknown:
        raise ConfigError(f"unknown top-level keys {sorted(unknown)} in the W&B sweep; supported: {sorted(TOP_KEYS)}")
    method = doc.get("method")
    if method not in _METHODS:
        raise ConfigError(f"method={method!r} must be one of grid, random, bayes")
    metric, goal, target = _metric(doc)
    run_cap = doc.get("run_cap")
    if run_cap is not None and (isinstance(run_cap, bool) or not isinstance(run_cap, int) or run_cap < 1):
        raise ConfigError(f"run_cap={run_cap!r} must be a positive integer (runs in the whole sweep)")
    tree: dict[str, Any] = {}
    notes: list[str] = []
    params = doc.get("parameters")
    _params(params, "", method, tree, notes)
    sweep = {"metric": metric, "goal": goal, "method": _METHODS[method], "parameters": tree}
    ProteinConfig.from_dict(sweep)  # our own validation, with its messages
    command = doc.get("command")
    if command is not None and (not isinstance(command, list) or not all(isinstance(c, str) for c in command)):
        raise ConfigError(f"command must be a list of strings, got {command!r}")
    program = doc.get("program")
    return WandbSweep(
        sweep=sweep,
        method=str(method),
        metric=metric,
        goal=goal,
        target=target,
        run_cap=run_cap,
        name=doc.get("name"),
        project=doc.get("project"),
        entity=doc.get("entity"),
        description=doc.get("description"),
        program=None if program is None else str(program),
        command=None if command is None else tuple(command),
        keys=tuple(str(k) for k in params or {}),
        notes=tuple(notes),
    )


def export_wandb_sweep(sweep: Mapping[str, Any], name: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """Our sweep config (a ``configs/sweep/*.yaml`` dict) as a W&B sweep dict with dotted parameter names.

    Our log-scale type becomes ``log_uniform_values``; uniform_pow2 becomes its list of powers of two; optuna methods
    become bayes. Returns the dict and notes on anything W&B cannot express exactly.
    """
    data = {k: v for k, v in sweep.items() if k in ("metric", "goal", "method", "parameters", "protein", "settings")}
    pc = ProteinConfig.from_dict(data)
    notes: list[str] = []
    params: dict[str, Any] = {}
    for path, p in pc.flat_parameters().items():
        d = p.distribution
        if d == "categorical":
            params[path] = {"values": list(p.choices)}
        elif d == "int_uniform":
            params[path] = {"distribution": "int_uniform", "min": math.ceil(p.lo), "max": math.floor(p.hi)}
        elif d == "uniform_pow2":
            lo, hi = math.ceil(math.log2(p.lo) - 1e-12), math.floor(math.log2(p.hi) + 1e-12)
            params[path] = {"values": [2**e for e in range(lo, hi + 1)]}
        elif d == "log_normal":
            params[path] = {"distribution": "log_uniform_values", "min": p.lo, "max": p.hi}
        else:
            params[path] = {"distribution": "uniform", "min": p.lo, "max": p.hi}
            if d == "logit_normal":
                notes.append(f"{path}: logit_normal has no W&B equivalent; exported as uniform over its bounds")
    method = pc.method if pc.method in _METHODS else "bayes"
    if method != pc.method:
        notes.append(f"method {pc.method!r} has no W&B equivalent; exported as bayes")
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    out.update(
        {
            "method": method,
            "metric": {"name": pc.metric, "goal": pc.goal},
            "parameters": params,
            "program": "tools/train.py",
            "command": ["${env}", "${interpreter}", "${program}", "${args}"],
        }
    )
    return out, notes
