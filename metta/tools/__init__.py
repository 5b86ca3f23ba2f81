"""The Python Tool pattern: ``Tool`` base, ``TrainTool``, ``SimTool``, ``SweepTool`` (see docs/recipes.md).

Imports are lazy so that ``import metta.tools`` stays light.
"""

from typing import Any

__all__ = ["SimTool", "SweepConfig", "SweepTool", "Tool", "TrainTool", "apply_overrides"]

_WHERE = {
    "Tool": "metta.tools.tool",
    "TrainTool": "metta.tools.train",
    "SimTool": "metta.tools.sim",
    "SweepTool": "metta.tools.sweep",
    "SweepConfig": "metta.tools.sweep",
    "apply_overrides": "metta.tools.overrides",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'metta.tools' has no attribute {name!r}")
