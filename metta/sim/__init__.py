"""Evaluation: simulation suites, the SQLite stats DB, policy URIs, replays and ``evaluate()``."""

from metta.sim.config import SimulationConfig, SimulationSuiteConfig, load_suite, resolve_suite
from metta.sim.evaluate import SimulationResult, SuiteResult, evaluate
from metta.sim.stats_db import Filter, StatsDB

__all__ = [
    "Filter",
    "SimulationConfig",
    "SimulationResult",
    "SimulationSuiteConfig",
    "StatsDB",
    "SuiteResult",
    "evaluate",
    "load_suite",
    "resolve_suite",
]
