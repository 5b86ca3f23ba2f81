"""Hyperparameter sweeps: the optimizer maths in :mod:`metta.sweep.optim`, the orchestration beside it.

Public API: ``ParameterConfig``, ``ProteinSettings``, ``ProteinConfig`` (search problem), ``Protein`` (the
cost-aware Bayesian optimizer), ``Optimizer`` (protocol) and ``make_optimizer(config, seed)`` (registry).
Orchestration: ``sweep_config`` (the one sweep-job model and its resolve), ``loop``, ``store/``, ``dispatch``,
``phases``, ``trial`` (train, check, evaluate one trial), ``validation/`` and ``best_params``.
"""

from typing import Any

from metta.sweep.optim.config import ParameterConfig, ProteinConfig, ProteinSettings

__all__ = ["ParameterConfig", "ProteinConfig", "ProteinSettings", "Protein", "Optimizer", "make_optimizer"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import metta.sweep` stays light: numpy/scipy load only when an optimizer is used.
    if name == "Protein":
        from metta.sweep.optim.protein import Protein

        return Protein
    if name == "Optimizer":
        from metta.sweep.optim.optimizer import Optimizer

        return Optimizer
    if name == "make_optimizer":
        from metta.sweep.optim.registry import make_optimizer

        return make_optimizer
    raise AttributeError(f"module 'metta.sweep' has no attribute {name!r}")
