"""Evaluation during training: the callback the trainer calls with each new checkpoint.

The trainer (layer ``rl``) knows nothing of simulation suites; the entry points build this callback here and hand it
to :func:`metta.rl.job.run_job`. A failed evaluation is reported and training goes on.
"""

from __future__ import annotations

import sys
from pathlib import Path

from metta.common.errors import MettaError
from metta.rl.job import EvaluateFn
from metta.rl.trainer_config import TrainJobConfig
from metta.sim.evaluate import evaluate


def make_evaluate_fn(job: TrainJobConfig) -> EvaluateFn | None:
    """Evaluate checkpoints on trainer.simulation.suite during training; failures are reported, not fatal."""
    if job.trainer.simulation.evaluate_interval <= 0:
        return None

    def _evaluate(checkpoint: Path, epoch: int) -> dict[str, float]:
        try:
            db = Path(job.run_dir) / "stats.db"
            res = evaluate(f"file://{checkpoint}", job.trainer.simulation.suite, db, seed=job.system.seed)
        except MettaError as exc:
            print(f"warning: evaluation at epoch {epoch} failed: {exc}", file=sys.stderr)
            return {}
        out = {f"overview/{c}_score": v for c, v in res.category_scores.items() if v is not None}
        if res.avg_category_score is not None:
            out["overview/avg_category_score"] = res.avg_category_score
        return out

    return _evaluate
