"""Pick an optimizer by ``config.method``: bayes -> Protein, random, grid, optuna_tpe, optuna_gp."""

from __future__ import annotations

from metta.common.errors import OptimizerError
from metta.sweep.config import METHODS, ProteinConfig
from metta.sweep.optimizer import Optimizer


def make_optimizer(config: ProteinConfig, seed: int = 0) -> Optimizer:
    """Build the optimizer named by ``config.method`` with an explicit seed."""
    method = config.method
    if method == "bayes":
        from metta.sweep.protein import Protein

        return Protein(config, seed=seed)
    if method == "random":
        from metta.sweep.random_search import RandomSearch

        return RandomSearch(config, seed=seed)
    if method == "grid":
        from metta.sweep.grid_search import GridSearch

        return GridSearch(config, seed=seed)
    if method in ("optuna_tpe", "optuna_gp"):
        from metta.sweep.optuna_search import OptunaSearch

        return OptunaSearch(config, seed=seed, sampler=method.removeprefix("optuna_"))
    raise OptimizerError(f"unknown method {method!r}; use one of {list(METHODS)}")
