"""Evaluation during training: the callback the trainer calls with each new checkpoint.

The trainer (layer ``rl``) knows nothing of simulation suites; the entry points build this callback here and hand it
to :func:`metta.rl.job.run_job`. A failed evaluation is reported and training goes on.

The suite is ``trainer.simulation.suite`` plus ``eval/training_task`` (the training env or curriculum with the
training ``env_overrides``), as the Hydra-era trainer did. Every simulation keeps the suite's own seed (42 in the
shipped suites), not the run seed, so evaluations of different runs see the same maps.
"""

from __future__ import annotations

import sys
from pathlib import Path

from metta.common.errors import MettaError
from metta.common.overrides import flatten
from metta.rl.job import EvaluateFn
from metta.rl.trainer_config import TrainJobConfig
from metta.sim.config import SimulationConfig, SimulationSuiteConfig, load_suite
from metta.sim.evaluate import evaluate

TRAINING_TASK = "eval/training_task"


def training_eval_suite(job: TrainJobConfig) -> SimulationSuiteConfig:
    """``trainer.simulation.suite`` plus ``eval/training_task``, every simulation at the suite's own seed."""
    suite = load_suite(job.trainer.simulation.suite)
    first = suite.simulations[0]
    training = SimulationConfig(
        name=TRAINING_TASK,
        env=job.trainer.curriculum,
        num_episodes=first.num_episodes,
        max_time_s=first.max_time_s,
        seed=first.seed,
        env_overrides=flatten(job.trainer.env_overrides),
    )
    sims = tuple(s for s in suite.simulations if s.name != TRAINING_TASK) + (training,)
    return SimulationSuiteConfig(name=suite.name, simulations=sims)


def make_evaluate_fn(job: TrainJobConfig) -> EvaluateFn | None:
    """Evaluate checkpoints on the training eval suite during training; failures are reported, not fatal."""
    if job.trainer.simulation.evaluate_interval <= 0:
        return None

    def _evaluate(checkpoint: Path, epoch: int) -> dict[str, float]:
        try:
            db = Path(job.run_dir) / "stats.db"
            res = evaluate(f"file://{checkpoint}", training_eval_suite(job), db)
        except MettaError as exc:
            print(f"warning: evaluation at epoch {epoch} failed: {exc}", file=sys.stderr)
            return {}
        out = {f"overview/{c}_score": v for c, v in res.category_scores.items() if v is not None}
        for name, v in res.sim_scores.items():
            if v is not None and "/" in name:
                category, rest = name.split("/", 1)
                out[f"eval_{category}/{rest}"] = v
        if res.avg_category_score is not None:
            out["overview/avg_category_score"] = res.avg_category_score
        return out

    return _evaluate
