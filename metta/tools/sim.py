"""SimTool: evaluate a policy on a simulation suite (``metta.sim.evaluate``) and print its scores."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pydantic import Field

from metta.common.device import resolve_device
from metta.sim.config import SimulationSuiteConfig
from metta.tools.tool import Tool


class SimTool(Tool):
    """One evaluation: policy, suite, stats DB; ``system.seed`` seeds every simulation."""

    policy_uri: str = Field(min_length=1, description="file://path, a checkpoint path, or wandb://run/<name>.")
    suite: SimulationSuiteConfig = Field(description="Simulations to run (configs/sim/<name>.yaml resolved).")
    stats_db_path: str = Field("./train_dir/eval/stats.db", min_length=1, description="SQLite stats DB.")
    metric: str = Field("avg_category_score", min_length=1, description="Score printed last (and returned).")
    replay_dir: str | None = Field(None, description="Write replays here (None = no replays).")

    def invoke(self, args: Mapping[str, str], overrides: Sequence[str]) -> int:
        from metta.sim.evaluate import evaluate  # loads torch: only a running tool needs it, not a recipe's dump

        device = resolve_device(self.system.device)
        result = evaluate(
            self.policy_uri,
            self.suite,
            self.stats_db_path,
            device=device,
            seed=self.system.seed,
            replay_dir=self.replay_dir,
        )
        summary = {
            "policy_uri": self.policy_uri,
            "suite": self.suite.name,
            "sim_scores": dict(result.sim_scores),
            "category_scores": dict(result.category_scores),
            "avg_category_score": result.avg_category_score,
            self.metric: result.metric(self.metric),
        }
        print(json.dumps(summary, indent=2, default=str))
        return 0
