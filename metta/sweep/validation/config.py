"""The typed settings of one seed validation and the names shared by its modules (baseline id, run statuses)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import Field

from metta.common.config_base import FrozenConfig
from metta.common.errors import SweepError
from metta.sweep.store.base import dumps

BASELINE = "baseline"
SUCCESS, FAILED, INTERRUPTED = "success", "failed", "interrupted"


class ValidationConfig(FrozenConfig):
    """Everything a validation run needs, typed and frozen (built by ``tools/validate_sweep.py``)."""

    sweep_name: str = Field(min_length=1, description="Sweep whose winners are validated.")
    data_dir: str = Field(min_length=1, description="Root of run directories (passed to the trainer command).")
    sweep_dir: str = Field(min_length=1, description="The sweep's directory; results go to <sweep_dir>/validation/.")
    sim_name: str = Field(min_length=1, description="Evaluation suite (the sweep's sim_name).")
    metric: str = Field(min_length=1, description="Score read from the suite result (the sweep's metric).")
    goal: str = Field("maximize", pattern="^(maximize|minimize)$", description="Direction of a better score.")
    seeds: tuple[int, ...] = Field(min_length=1, description="Training (and evaluation) seeds, each 0..2^31-1.")
    top_n: int = Field(
        3, ge=0, le=1000, description="How many of the sweep's best configurations to validate (0: only --config)."
    )
    train_overrides: dict[str, Any] = Field(default_factory=dict, description="The sweep's training overrides.")
    extra_overrides: tuple[str, ...] = Field((), description="More Hydra overrides for every training run.")
    train_timeout: float = Field(0.0, ge=0, description="Seconds before training is killed; 0 = no limit.")
    eval_timeout: float = Field(600.0, gt=0, description="Seconds before evaluation is abandoned (a failure).")
    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the verdict.")

    def model_post_init(self, _ctx: Any) -> None:
        bad = [s for s in self.seeds if not 0 <= s <= 2**31 - 1]
        if bad or len(set(self.seeds)) != len(self.seeds):
            raise SweepError(f"seeds {list(self.seeds)} must be distinct integers in 0..2147483647")

    @property
    def results_path(self) -> Path:
        """The JSON-lines file of results."""
        return Path(self.sweep_dir) / "validation" / "results.jsonl"

    def protocol(self) -> str:
        """Fingerprint of what makes scores comparable (budget overrides, suite, metric); results recorded under a
        different protocol are neither skipped nor counted."""
        text = dumps(
            {
                "train": self.train_overrides,
                "extra": list(self.extra_overrides),
                "sim": self.sim_name,
                "metric": self.metric,
            }
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]
