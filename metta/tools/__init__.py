"""The Python Tool pattern: ``Tool`` base, ``TrainTool``, ``SimTool``, ``SweepTool`` (see docs/recipes.md).

Imports are lazy so that ``import metta.tools`` stays light.
"""

from typing import Any

__all__ = ["SimTool", "SweepConfig", "SweepTool", "Tool", "TrainTool", "apply_overrides"]

_EXPORTS = {
    "metta.tools.tool": ("Tool",),
    "metta.tools.train": ("TrainTool",),
    "metta.tools.sim": ("SimTool",),
    "metta.tools.sweep": ("SweepTool", "SweepConfig"),
    "metta.tools.overrides": ("apply_overrides",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'metta.tools' has no attribute {name!r}")
