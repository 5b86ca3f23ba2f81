"""Semantic normalisation: rewrite a canonical flat tree into an equivalent spelling before comparing.

The rules live in ``normalize.yaml`` (versioned); each function below is one rule and says what it treats as equal.
A rule never invents a training-relevant value: it only replaces a spelling by the value the code derives from it
(``initial_value: null`` -> the base coefficient, ``"1e-3"`` -> ``0.001``, ``agent: fast`` -> the fast block), or
drops a key the code never reads (``decay_rate`` of a cosine schedule, fields of an object the map never places).

``dialect`` is ``"legacy"`` for a Hydra-era tree (recognised by :func:`detect_dialect`) and ``"ours"`` otherwise;
only the rules whose meaning changed between the two code bases depend on it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from metta.common.config import LEGACY_SYSTEM_ALIASES
from metta.common.config_base import FrozenConfig
from metta.common.errors import ConfigError
from metta.config_diff.tree import Path_, flatten, split

DEFAULT_NORMALIZE = Path(__file__).resolve().with_name("normalize.yaml")
Dialect = Literal["legacy", "ours"]
_NUMBER = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


class LegacyDefault(FrozenConfig):
    path: str = Field(min_length=1, description="Dotted path; `*` matches one segment.")
    value: Any = Field(description="Value the schema uses when the YAML leaves the key out.")
    converters_only: bool = Field(False, description="Only for objects that have output_resources.")


class NormalizeRules(FrozenConfig):
    """The rules of ``normalize.yaml``."""

    version: int = Field(ge=1, description="Version of the rule set; bump when a rule changes.")
    schedule_prefix: str = Field(min_length=1, description="Where schedules live.")
    schedules: dict[str, str] = Field(description="schedule name -> path of the value it schedules")
    schedule_params: dict[str, tuple[str, ...]] = Field(description="schedule type -> parameters it reads")
    min_value_null_factor: dict[str, float] = Field(description="dialect -> min_value used for null, x initial")
    legacy_agents: dict[str, dict[str, Any]] = Field(default_factory=dict, description="architecture -> block")
    legacy_null_means: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="null -> max of paths")
    implicit_defaults: tuple[LegacyDefault, ...] = Field(default=(), description="defaults both schemas fill in")
    non_converter_ignored: tuple[str, ...] = Field(default=(), description="fields walls/blocks never read")
    always_placed: tuple[str, ...] = Field(default=(), description="objects present without a placement count")
    suite_prefix: str = Field(default="sim", description="Where an evaluation suite lives.")
    suite_inherited: tuple[str, ...] = Field(default=(), description="suite settings its simulations inherit")
    config_paths: tuple[str, ...] = Field(default=(), description="paths holding Hydra config names")


def load_normalize_rules(path: str | Path | None = None) -> NormalizeRules:
    import yaml

    p = Path(path) if path else DEFAULT_NORMALIZE
    try:
        return NormalizeRules.model_validate(yaml.safe_load(p.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"invalid normalisation rules file {p}: {exc}") from exc


def detect_dialect(data: Mapping[str, Any]) -> Dialect:
    """A Hydra-era job names its command (``cmd``), its vectorisation, or its agent by a string."""
    if "cmd" in data or "vectorization" in data or isinstance(data.get("agent"), str):
        return "legacy"
    return "ours"


def normalize(flat: dict[Path_, Any], dialect: Dialect, rules: NormalizeRules) -> tuple[dict[Path_, Any], list[str]]:
    """Apply every rule in order; returns the rewritten copy and one note per rule that changed something."""
    out = dict(flat)
    notes: list[str] = []
    steps: list[Callable[[dict[Path_, Any], Dialect, NormalizeRules], str]]
    steps = [numeric_strings, legacy_agent, eval_suite, config_paths]
    if dialect == "legacy":
        steps += [legacy_null_means]
    else:
        steps += [system_aliases]
    steps += [implicit_defaults]
    steps += [non_converter_fields, unplaced_objects, derived_rooms, null_reward_caps, null_search_fields, schedules]
    for step in steps:
        note = step(out, dialect, rules)
        if note:
            notes.append(note)
    return out, notes


def system_aliases(flat: dict[Path_, Any], _d: Dialect, _r: NormalizeRules) -> str:
    """Our jobs accept the Hydra-era top-level ``seed``/``device``/... as aliases of ``system.*``: an unset (null)
    alias is no setting, a set one is the ``system`` value it overrides (the rule of resolve_train_job)."""
    done = []
    for key in LEGACY_SYSTEM_ALIASES:
        if (key,) not in flat:
            continue
        value = flat.pop((key,))
        if value is not None:
            flat[("system", key)] = value
        done.append(key)
    return f"top-level aliases of system.* folded in: {', '.join(done)}" if done else ""


def numeric_strings(flat: dict[Path_, Any], _d: Dialect, _r: NormalizeRules) -> str:
    """A string spelling a float (``"1e-3"``, ``"0.5"``; YAML 1.1 reads ``1e-3`` as a string) is that float."""
    hits = [p for p, v in flat.items() if isinstance(v, str) and _NUMBER.match(v) and any(c in v for c in ".eE")]
    for p in hits:
        flat[p] = float(flat[p])
    return f"read {len(hits)} numeric strings as numbers (e.g. {'.'.join(hits[0])})" if hits else ""


def legacy_agent(flat: dict[Path_, Any], _d: Dialect, rules: NormalizeRules) -> str:
    """``agent: fast`` (an architecture named by a string) is our agent block with that architecture's sizes."""
    name = flat.get(("agent",))
    if not isinstance(name, str) or name not in rules.legacy_agents:
        return ""
    del flat[("agent",)]
    flat.update(flatten(rules.legacy_agents[name], ("agent",)))
    return f"agent: {name!r} read as the {name} block with its Hydra-era sizes"


def eval_suite(flat: dict[Path_, Any], _d: Dialect, rules: NormalizeRules) -> str:
    """A suite's settings apply to each simulation that does not override them; a list of named simulations is
    a mapping by name. Both sides are compared per simulation."""
    sims = (*split(rules.suite_prefix), "simulations")
    value = flat.get(sims)
    if isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
        del flat[sims]
        for item in value:
            body = {k: v for k, v in item.items() if k != "name"}
            flat.update(flatten(body, (*sims, str(item["name"]))) or {(*sims, str(item["name"])): {}})
    names = sorted({p[len(sims)] for p in flat if len(p) > len(sims) and p[: len(sims)] == sims})
    if not names:
        return ""
    prefix = split(rules.suite_prefix)
    for key in rules.suite_inherited:
        suite_key = (*prefix, key)
        below = {p[len(suite_key) :]: v for p, v in flat.items() if p[: len(suite_key)] == suite_key}
        if not below:
            continue
        for p in [p for p in flat if p[: len(suite_key)] == suite_key]:
            del flat[p]
        for name in names:
            own = (*sims, name, key)
            if not any(p[: len(own)] == own for p in flat):
                flat.update({(*own, *sub): v for sub, v in below.items()})
    return ""


def config_paths(flat: dict[Path_, Any], _d: Dialect, rules: NormalizeRules) -> str:
    """``/env/x`` and ``env/x`` name the same Hydra config."""
    for pattern in rules.config_paths:
        for key in _expand(flat, split(pattern)):
            if isinstance(flat.get(key), str):
                flat[key] = flat[key].lstrip("/")
    return ""


def legacy_null_means(flat: dict[Path_, Any], _d: Dialect, rules: NormalizeRules) -> str:
    """A Hydra-era null interval meant the maximum of other intervals (filled in by the legacy trainer)."""
    done = []
    for path, sources in rules.legacy_null_means.items():
        key = split(path)
        values: list[Any] = [flat.get(split(s)) for s in sources]
        if key in flat and flat[key] is None and values and all(_is_num(v) for v in values):
            flat[key] = max(values, key=float)
            done.append(path)
    return f"null meant the trainer's derived value for {', '.join(done)}" if done else ""


def implicit_defaults(flat: dict[Path_, Any], _d: Dialect, rules: NormalizeRules) -> str:
    """A key the YAML left out has its schema default (the same in both schemas); write that default out."""
    added = 0
    for entry in rules.implicit_defaults:
        for key in _expand(flat, split(entry.path)):
            if key in flat or any(p[: len(key)] == key for p in flat):
                continue
            if entry.converters_only and not _converts(flat, key[:-1]):
                continue
            if not _has_prefix(flat, key[:-1]):
                continue
            flat[key] = entry.value
            added += 1
    return f"filled {added} schema defaults the YAML left out" if added else ""


def non_converter_fields(flat: dict[Path_, Any], _d: Dialect, rules: NormalizeRules) -> str:
    """Objects that convert nothing (walls, blocks) never read conversion settings or a colour: drop them."""
    dropped = 0
    for obj in _objects(flat):
        if _converts(flat, obj) or _has_leaf(flat, (*obj, "input_resources")):
            continue
        for p in [p for p in flat if p[: len(obj)] == obj and len(p) > len(obj)]:
            if p[len(obj)] in rules.non_converter_ignored:
                del flat[p]
                dropped += 1
    return f"dropped {dropped} conversion fields of objects that convert nothing" if dropped else ""


def unplaced_objects(flat: dict[Path_, Any], _d: Dialect, rules: NormalizeRules) -> str:
    """Object types the map never places (no count, no legend entry of a layout, not the border) are inert."""
    placement = ("env", "game", "map", "objects")
    if not _has_prefix(flat, placement):
        return ""
    placed = {p[4] for p in flat if p[:4] == placement and len(p) > 4}
    layout = flat.get(("env", "game", "map", "layout"))
    legend = ("env", "game", "map", "legend")
    if layout:
        placed |= {v for p, v in flat.items() if p[:4] == legend and isinstance(v, str)}
    else:
        for p in [p for p in flat if p[:4] == legend or p == ("env", "game", "map", "layout")]:
            del flat[p]  # the legend only names characters of a layout; a null layout means random rooms
    gone = sorted({o[3] for o in _objects(flat) if o[3] not in placed and o[3] not in rules.always_placed})
    for p in [p for p in flat if len(p) > 3 and p[:3] == ("env", "game", "objects") and p[3] in gone]:
        del flat[p]
    return f"dropped object types the map never places: {', '.join(gone)}" if gone else ""


def derived_rooms(flat: dict[Path_, Any], _d: Dialect, _r: NormalizeRules) -> str:
    """The number of rooms is num_agents / agents_per_room when a tree does not state it."""
    rooms = ("env", "game", "map", "rooms")
    n: Any = flat.get(("env", "game", "num_agents"))
    per: Any = flat.get(("env", "game", "map", "agents_per_room"))
    if rooms in flat or not (_is_num(n) and _is_num(per)) or per == 0:
        return ""
    flat[rooms] = int(n) // int(per)
    return ""


def null_reward_caps(flat: dict[Path_, Any], _d: Dialect, _r: NormalizeRules) -> str:
    """A reward cap of null is no cap."""
    caps = [p for p, v in flat.items() if v is None and p[:5] == ("env", "game", "agent", "rewards", "inventory_max")]
    for p in caps:
        del flat[p]
    return ""


def null_search_fields(flat: dict[Path_, Any], _d: Dialect, _r: NormalizeRules) -> str:
    """A search-space parameter's null field (``values: null`` of a continuous parameter) is an unset field."""
    for p in [p for p, v in flat.items() if v is None and p[:2] == ("sweep", "parameters")]:
        del flat[p]
    return ""


def schedules(flat: dict[Path_, Any], dialect: Dialect, rules: NormalizeRules) -> str:
    """initial_value null = base; ignored parameters dropped; a schedule that never leaves its base is none."""
    prefix = split(rules.schedule_prefix)
    had_block = _has_prefix(flat, prefix) or prefix in flat or _has_prefix(flat, prefix[:1])
    dropped = []
    for name, base_path in rules.schedules.items():
        key = (*prefix, name)
        sub = {p[len(key) :]: v for p, v in flat.items() if p[: len(key)] == key and len(p) > len(key)}
        if key in flat and flat[key] in (None, {}):
            del flat[key]  # a schedule set to null is no schedule
            continue
        if not sub:
            continue
        stype = sub.get(("type",), "constant")
        base = flat.get(split(base_path))
        initial: Any = sub.get(("initial_value",))
        if initial is None and _is_num(base):
            initial = base
        minimum: Any = sub.get(("min_value",))
        if minimum is None and _is_num(initial):
            minimum = initial * rules.min_value_null_factor.get(dialect, 1.0)
        default_decay = _LEGACY_DECAY.get(str(stype)) if dialect == "legacy" else 0.1
        new: dict[Path_, Any] = {
            ("type",): stype,
            ("initial_value",): initial,
            ("min_value",): minimum,
            ("decay_rate",): sub.get(("decay_rate",), default_decay),
        }
        keep = rules.schedule_params.get(str(stype))
        if keep is not None:
            new = {k: v for k, v in new.items() if k[0] in keep}
        new.update({k: v for k, v in sub.items() if keep is None and k not in new})
        for p in [p for p in flat if p[: len(key)] == key]:
            del flat[p]
        if _never_moves(new, base):
            dropped.append(name)
            continue
        flat.update({(*key, *k): v for k, v in new.items()})
    if had_block and not _has_prefix(flat, prefix):
        flat[prefix] = {}  # no scheduler block = an empty one, so a schedule one side has is reported by name
    return f"schedules that never leave their base value read as no schedule: {', '.join(dropped)}" if dropped else ""


_LEGACY_DECAY = {"exponential": 0.95, "logarithmic": 0.1}  # Hydra-era constructor defaults


def _never_moves(sched: Mapping[Path_, Any], base: Any) -> bool:
    initial: Any = sched.get(("initial_value",))
    if not (_is_num(initial) and _is_num(base) and math.isclose(initial, base, rel_tol=1e-9, abs_tol=1e-12)):
        return False
    if sched.get(("type",)) == "constant":
        return True
    minimum: Any = sched.get(("min_value",))
    return _is_num(minimum) and math.isclose(minimum, initial, rel_tol=1e-9, abs_tol=1e-12)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _has_prefix(flat: Mapping[Path_, Any], prefix: Path_) -> bool:
    return any(p[: len(prefix)] == prefix and len(p) > len(prefix) for p in flat)


def _has_leaf(flat: Mapping[Path_, Any], prefix: Path_) -> bool:
    """True when ``prefix`` holds a non-empty value (a leaf below it, or a non-empty scalar)."""
    if prefix in flat:
        return flat[prefix] not in (None, {}, [])
    return _has_prefix(flat, prefix)


def _converts(flat: Mapping[Path_, Any], obj: Path_) -> bool:
    return _has_leaf(flat, (*obj, "output_resources"))


def _objects(flat: Mapping[Path_, Any]) -> list[Path_]:
    return sorted({p[:4] for p in flat if len(p) > 4 and p[:3] == ("env", "game", "objects")})


def _expand(flat: Mapping[Path_, Any], pattern: Path_) -> list[Path_]:
    """Concrete paths for a pattern whose ``*`` segments match existing segments of ``flat``."""
    out: list[Path_] = [()]
    for i, seg in enumerate(pattern):
        if seg != "*":
            out = [(*o, seg) for o in out]
            continue
        out = sorted({(*o, p[i]) for o in out for p in flat if len(p) > i + 1 and p[:i] == o})
    return out
