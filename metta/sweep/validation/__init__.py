"""Validate sweep winners across seeds: re-train the top-N configurations of a sweep and the baseline
(no suggestion) with several explicit seeds, score each run on the sweep's suite, and compare with the baseline.

Runs go through the sweep's own trial path: a :class:`~metta.sweep.dispatch.Dispatcher` runs the trainer command
with ``++`` overrides (the sweep's training overrides, then the suggestion, then ``++system.seed=<s>
++system.torch_deterministic=true``), and an :class:`~metta.sweep.trial.Evaluator` (``metta.sim.evaluate`` in a child
process, evaluated with the same seed) produces the score. Every result is appended to
``<sweep_dir>/validation/results.jsonl`` as one line (single ``write`` + ``fsync``), so re-running resumes and skips
(configuration, seed) pairs already done. Failures are recorded with their reason and never become scores.

Modules, one per job: ``config`` (settings), ``plan`` (candidates and runs), ``resume`` (the results file and what
is done), ``runs`` (execution), ``report`` (statistics and table), ``stats`` (pure statistics).
"""

from metta.sweep.validation.config import BASELINE, FAILED, INTERRUPTED, SUCCESS, ValidationConfig
from metta.sweep.validation.plan import (
    Candidate,
    PlannedRun,
    check_candidate_keys,
    explicit_candidate,
    plan_runs,
    select_candidates,
    train_args,
)
from metta.sweep.validation.report import ConfigReport, build_report, format_report
from metta.sweep.validation.resume import ResultLog, RunResult, is_done, latest_results, recorded_seeds
from metta.sweep.validation.runs import EvaluatorFactory, ValidationRunner

__all__ = [
    "BASELINE",
    "FAILED",
    "INTERRUPTED",
    "SUCCESS",
    "Candidate",
    "ConfigReport",
    "EvaluatorFactory",
    "PlannedRun",
    "ResultLog",
    "RunResult",
    "ValidationConfig",
    "ValidationRunner",
    "build_report",
    "check_candidate_keys",
    "explicit_candidate",
    "format_report",
    "is_done",
    "latest_results",
    "plan_runs",
    "recorded_seeds",
    "select_candidates",
    "train_args",
]
