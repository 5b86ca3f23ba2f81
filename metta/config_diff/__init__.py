"""Resolve two config trees (Hydra YAML at any git ref, Pydantic recipes, dumps) and diff them field by field.

Entry point: ``./tools/config_diff.py`` (:func:`metta.config_diff.cli.run`). Library use::

    from metta.config_diff import diff, load_mapping, load_rules, resolve_hydra, resolve_recipe
    d = diff(resolve_hydra("configs").data, resolve_recipe(target, root).data, load_mapping(), load_rules())
"""

from metta.config_diff.diff import Difference, at_or_above, diff
from metta.config_diff.hydra_side import resolve_hydra
from metta.config_diff.rules import load_mapping, load_rules
from metta.config_diff.sources import export_ref, load_dump, resolve_recipe
from metta.config_diff.tree import Tree

__all__ = [
    "Difference",
    "Tree",
    "at_or_above",
    "diff",
    "export_ref",
    "load_dump",
    "load_mapping",
    "load_rules",
    "resolve_hydra",
    "resolve_recipe",
]
