"""Evaluation: simulation suites, the SQLite stats DB, policy URIs, replays and ``evaluate()``.

The package imports only what reads configuration and results (``load_suite``, ``resolve_suite``, ``StatsDB``):
``metta.sim.evaluate`` loads torch, so ``evaluate`` and its result types are imported from there.
"""

from metta.sim.config import SimulationConfig, SimulationSuiteConfig, load_suite, resolve_suite
from metta.sim.stats_db import Filter, StatsDB

__all__ = ["Filter", "SimulationConfig", "SimulationSuiteConfig", "StatsDB", "load_suite", "resolve_suite"]
