"""Pick an optimizer by ``config.method``: bayes -> Protein, random, grid, optuna_tpe, optuna_gp."""

from __future__ import annotations

from metta.common.errors import OptimizerError
from metta.sweep.optim.config import METHODS, ProteinConfig
from metta.sweep.optim.grid_search import GridSearch
from metta.sweep.optim.optimizer import Optimizer
from metta.sweep.optim.optuna_search import OptunaSearch
from metta.sweep.optim.protein import Protein
from metta.sweep.optim.random_search import RandomSearch


def make_optimizer(config: ProteinConfig, seed: int = 0) -> Optimizer:
    """Build the optimizer named by ``config.method`` with an explicit seed."""
    method = config.method
    if method == "bayes":
        return Protein(config, seed=seed)
    if method == "random":
        return RandomSearch(config, seed=seed)
    if method == "grid":
        return GridSearch(config, seed=seed)
    if method in ("optuna_tpe", "optuna_gp"):
        return OptunaSearch(config, seed=seed, sampler=method.removeprefix("optuna_"))
    raise OptimizerError(f"unknown method {method!r}; use one of {list(METHODS)}")
