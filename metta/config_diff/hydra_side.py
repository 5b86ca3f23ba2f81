"""Resolve a Hydra configs tree (any directory, any git ref) into plain data without running any of its code.

The tree is composed with Hydra's compose API (no ``@hydra.main``, no callbacks, no ``_target_`` instantiation),
custom legacy resolvers are replaced by :mod:`metta.config_diff.resolvers`, and every interpolation is resolved
leaf by leaf so that one broken interpolation is reported (kept as its raw ``${...}`` text) instead of aborting.
The environment config that ``trainer.curriculum`` names is composed from the same tree and placed under ``env``,
which is where the typed ``TrainJobConfig`` (and therefore the recipe dump) keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metta.common.errors import ConfigError
from metta.config_diff.resolvers import install_safe_resolvers, safe_resolvers
from metta.config_diff.tree import Tree, strip_keys

STRIPPED_KEYS = frozenset({"_target_", "_recursive_", "_convert_", "_partial_", "defaults"})
UNRESOLVED_PREFIX = "<unresolved "


def _to_plain(node: Any, path: str, notes: list[str]) -> Any:
    """Resolve an OmegaConf node leaf by leaf; failures keep the raw text and add a note."""
    from omegaconf import DictConfig, ListConfig
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    items: list[tuple[Any, str]]
    if isinstance(node, DictConfig):
        items = [(k, str(k)) for k in node.keys()]
    elif isinstance(node, ListConfig):
        items = [(i, str(i)) for i in range(len(node))]
    else:
        return node
    out: Any = {} if isinstance(node, DictConfig) else []
    for key, name in items:
        child_path = f"{path}.{name}" if path else name
        try:
            value = _to_plain(node[key], child_path, notes)
        except MissingMandatoryValue:
            value = "???"
        except OmegaConfBaseException as exc:
            raw = node._get_node(key)._value()  # the raw interpolation text for the report
            value = f"{UNRESOLVED_PREFIX}{raw}>"
            notes.append(f"{child_path}: interpolation {raw!r} does not resolve ({type(exc).__name__})")
        if isinstance(out, dict):
            out[str(key)] = value
        else:
            out.append(value)
    return out


def _target_fields() -> dict[str, dict[str, Any]]:
    from metta.config_diff.rules import load_mapping

    return load_mapping().target_fields


def _compose_plain(
    config_dir: Path,
    config_name: str,
    overrides: Sequence[str],
    notes: list[str],
    target_fields: Mapping[str, Any] | None = None,
    soft: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    from metta.common.config import compose

    with safe_resolvers():
        cfg = compose(config_name, overrides, config_dir=config_dir)
        for key, value in (soft or {}).items():  # like `key=value`, but only for keys the tree has
            if key in cfg.keys():  # `in cfg` is False for a mandatory `???` value
                cfg[key] = value
        install_safe_resolvers()
        data = _to_plain(cfg, "", notes)
    if not isinstance(data, dict):
        raise ConfigError(f"config {config_name!r} in {config_dir} is not a mapping; point at a train_job-like config")
    data.pop("hydra", None)
    fields = _target_fields() if target_fields is None else target_fields
    data, removed = strip_keys(data, STRIPPED_KEYS, target_fields=fields)
    if removed:
        notes.append(f"stripped {len(removed)} Hydra-only keys (_target_ etc.), e.g. {', '.join(removed[:3])}")
    return data


def descend_group(data: dict[str, Any], config_path: str) -> dict[str, Any]:
    """Hydra nests a group config composed as primary under its group path; unwrap it (legacy ``config_from_path``)."""
    node: Any = data
    for part in config_path.strip("/").split("/")[:-1]:
        if isinstance(node, dict) and set(node) == {part}:
            node = node[part]
        else:
            return data
    return node if isinstance(node, dict) else data


def merge_dotted(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` (nested or with dotted keys, as trainer.env_overrides) into a copy of ``base``."""
    out = dict(base)
    for key, value in overrides.items():
        head, _, rest = str(key).partition(".")
        if rest:
            value = {rest: value}
        if isinstance(value, dict) and isinstance(out.get(head), dict):
            out[head] = merge_dotted(out[head], value)
        else:
            out[head] = value
    return out


def typed_view(tree: Tree) -> Tree:
    """The Hydra tree as the trainer receives it: through ``resolve_train_job`` (schema defaults filled in).

    Only for trees in this repository's layout; a legacy tree fails with a ConfigError naming the bad keys.
    """
    from metta.rl.trainer_config import resolve_train_job

    data = dict(tree.data)
    env = data.pop("env", None)
    job = resolve_train_job(data, env=env)
    return Tree(
        label=f"{tree.label} [typed]",
        kind=tree.kind,
        data=job.to_dict(),
        source=tree.source,
        notes=(*tree.notes, "resolved through resolve_train_job (typed view)"),
    )


def find_configs_dir(path: Path) -> Path:
    """Accept either a configs dir or a repo/archive root that contains ``configs/``."""
    if (path / "configs").is_dir() and not any(path.glob("*.yaml")):
        return path / "configs"
    return path


def resolve_hydra(
    config_dir: str | Path,
    config_name: str = "train_job",
    overrides: Sequence[str] = (),
    label: str | None = None,
    include_curriculum: bool = True,
    target_fields: Mapping[str, Any] | None = None,
    soft: Mapping[str, str] | None = None,
) -> Tree:
    """Compose ``config_name`` from ``config_dir`` and return it (plus its curriculum env under ``env``) as a Tree.

    ``soft`` values are set on top-level keys the composed tree has (a run name for trees that take one), after
    composing and before interpolations resolve, so a tree without such a key composes in one go."""
    cdir = find_configs_dir(Path(config_dir))
    if not cdir.is_dir():
        raise ConfigError(f"configs directory {cdir} does not exist; pass a directory that holds {config_name}.yaml")
    if not (cdir / f"{config_name}.yaml").is_file():
        raise ConfigError(f"{cdir} has no {config_name}.yaml; choose another --config-name or directory")
    notes: list[str] = []
    data = _compose_plain(cdir, config_name, overrides, notes, target_fields, soft)
    applied = [f"{k}={v}" for k, v in (soft or {}).items() if k in data and data[k] == v]
    source: dict[str, Any] = {"config_dir": str(cdir), "config_name": config_name, "overrides": [*overrides, *applied]}
    curriculum = (data.get("trainer") or {}).get("curriculum") if isinstance(data.get("trainer"), dict) else None
    if include_curriculum and isinstance(curriculum, str) and curriculum.strip() and "env" not in data:
        env_name = curriculum.strip().lstrip("/")
        if (cdir / f"{env_name}.yaml").is_file():
            env = descend_group(_compose_plain(cdir, env_name, (), notes, target_fields), env_name)
            env_overrides = data["trainer"].get("env_overrides")
            if isinstance(env_overrides, dict) and env_overrides:
                env = merge_dotted(env, env_overrides)
                notes.append(f"applied trainer.env_overrides to env: {sorted(env_overrides)}")
            data["env"] = env
            source["env_config"] = env_name
        else:
            notes.append(f"trainer.curriculum={curriculum!r} names no config in {cdir}; env not resolved")
    return Tree(label=label or f"hydra:{cdir}", kind="hydra", data=data, source=source, notes=tuple(notes))
