"""Hyperparameter sweeps: search-space configs, the Protein optimizer and its peers (random, grid, Optuna).

Public API: ``ParameterConfig``, ``ProteinSettings``, ``ProteinConfig`` (config), ``Protein`` (protein),
``Optimizer`` (protocol) and ``make_optimizer(config, seed)`` (registry).
"""

from metta.sweep.config import ParameterConfig, ProteinConfig, ProteinSettings

__all__ = ["ParameterConfig", "ProteinConfig", "ProteinSettings", "Protein", "Optimizer", "make_optimizer"]


def __getattr__(name: str):  # lazy: keep `import metta.sweep` light (numpy only when the optimizer is used)
    if name == "Protein":
        from metta.sweep.protein import Protein

        return Protein
    if name == "Optimizer":
        from metta.sweep.optimizer import Optimizer

        return Optimizer
    if name == "make_optimizer":
        from metta.sweep.registry import make_optimizer

        return make_optimizer
    raise AttributeError(f"module 'metta.sweep' has no attribute {name!r}")
