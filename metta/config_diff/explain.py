"""``--explain PATH``: where each side's value of a path comes from (YAML file and line, or recipe/default).

For a Hydra tree the defaults list is computed with Hydra's own loader (no config code runs); each config file in
it is parsed with line marks, placed at its package, and the last file in composition order that sets the path
wins (the same precedence Hydra applies). Interpolated values also show their raw ``${...}`` text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from metta.common.errors import ConfigError
from metta.config_diff.tree import Tree

NOT_FOUND = "not set by any YAML file of the defaults list (Hydra default or interpolation)"


def _defaults_list(config_dir: Path, config_name: str, overrides: list[str]) -> list[tuple[str, str]]:
    """[(config_path, package)] in composition order, via Hydra's config loader."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from hydra.types import RunMode

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
            loader = GlobalHydra.instance().config_loader()
            dl = loader.compute_defaults_list(config_name, overrides, RunMode.RUN)
    except HydraException as exc:
        raise ConfigError(f"cannot compute the defaults list of {config_name} in {config_dir}: {exc}") from exc
    finally:
        if GlobalHydra.instance().is_initialized():
            GlobalHydra.instance().clear()
    return [
        (d.config_path, d.package or "")
        for d in dl.defaults
        if d.config_path and not d.config_path.startswith("hydra/")
    ]


def _find_node(node: yaml.Node, keys: list[str]) -> yaml.Node | None:
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                node = v
                break
        else:
            return None
    return node


def hydra_origin(config_dir: Path, config_name: str, overrides: list[str], path: str) -> str | None:
    """``file:line: text`` of the YAML line that finally sets ``path`` (dotted, relative to the composed root)."""
    target = path.split(".")
    found = None
    for config_path, package in _defaults_list(config_dir, config_name, overrides):
        pkg = [p for p in package.split(".") if p]
        if target[: len(pkg)] != pkg:
            continue
        file = config_dir / f"{config_path}.yaml"
        try:
            root = yaml.compose(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        node = _find_node(root, target[len(pkg) :]) if root is not None else None
        if node is not None:
            line = node.start_mark.line
            text = file.read_text(encoding="utf-8").splitlines()[line].strip()
            found = f"{file.relative_to(config_dir)}:{line + 1}: {text}"
    for override in overrides:
        if override.lstrip("+~").split("=", 1)[0] == path:
            found = f"command-line override {override}"
    return found


def explain(tree: Tree, canonical: str, original: str | None, value: Any) -> list[str]:
    """Lines describing where ``tree`` gets the value at ``original`` (its own spelling of ``canonical``)."""
    path = original or canonical
    lines = [f"{tree.label}", f"  path : {path}" + (f" (canonical {canonical})" if path != canonical else "")]
    lines.append(f"  value: {value!r}" if original else "  value: <absent>")
    if original is None:
        return lines
    if tree.kind == "hydra":
        src = tree.source
        env_cfg = src.get("env_config")
        cdir = Path(src["config_dir"])
        if env_cfg and path.split(".")[0] == "env":
            sub = path.split(".", 1)[1] if "." in path else ""
            origin = hydra_origin(cdir, env_cfg, [], sub) or hydra_origin(
                cdir, env_cfg, [], _env_subpath(env_cfg, path)
            )
            origin = f"{origin or NOT_FOUND} (curriculum {env_cfg})"
        else:
            origin = hydra_origin(cdir, src["config_name"], src["overrides"], path) or NOT_FOUND
        lines.append(f"  from : {origin}")
    elif tree.kind == "recipe":
        prov = tree.provenance.get(path) or _nearest(tree.provenance, path)
        lines.append(f"  from : {prov or 'recipe ' + tree.source.get('target', '?')}")
    else:
        lines.append(f"  from : dump file {tree.source.get('file')}")
    return lines


def _env_subpath(env_cfg: str, path: str) -> str:
    """``env.game.x`` → the path inside the composed env config (nested under its group, e.g. env.mettagrid.arena)."""
    group = [p for p in env_cfg.strip("/").split("/")[:-1]]
    return ".".join([*group, *path.split(".")[1:]])


def _nearest(prov: dict[str, str], path: str) -> str | None:
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        hit = prov.get(".".join(parts[:i]))
        if hit:
            return f"inside {'.'.join(parts[:i])}: {hit}"
    return None
