"""The optimizer maths of hyperparameter sweeps, free of any orchestration (no store, loop or subprocess).

- ``config``: ParameterConfig / ProteinSettings / ProteinConfig, the typed search problem;
- ``spaces``: search-space transforms between parameter values and the normalised cube [-1, 1]^d;
- ``gp``, ``acquisition``, ``pareto``: the Gaussian process, acquisition functions and Pareto front (pure maths);
- ``optimizer``: the Optimizer protocol, the observation History and the HistoryOptimizer base (with the one JSON
  state (de)serialisation);
- ``protein``, ``random_search``, ``grid_search``, ``optuna_search``: the optimizers;
- ``registry``: ``make_optimizer(config, seed)`` picks one by ``config.method``.
"""

from metta.sweep.optim.config import ParameterConfig, ProteinConfig, ProteinSettings

__all__ = ["ParameterConfig", "ProteinConfig", "ProteinSettings"]
