"""A synthetic sweep with known answers, written through the store API (for tests, the benchmark and demos).

The score depends strongly on the learning rate (best at 10^-3, a peak in the middle of the range, so its correlation
with the score is ~0 while it matters most), linearly on ``clip_coef``, and not at all on ``ent_coef`` and
``gae_lambda``. The cost grows with ``clip_coef``. About ``failure_rate`` of the trials fail with a reason.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from metta.sweep.store import SweepStore

PARAMETERS: dict[str, Any] = {
    "trainer": {
        "optimizer": {
            "learning_rate": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2, "mean": 1e-3, "scale": "auto"}
        },
        "ppo": {
            "clip_coef": {"distribution": "uniform", "min": 0.05, "max": 0.3, "mean": 0.1, "scale": "auto"},
            "ent_coef": {"distribution": "log_normal", "min": 1e-4, "max": 3e-2, "mean": 2e-3, "scale": "auto"},
            "gae_lambda": {"distribution": "logit_normal", "min": 0.8, "max": 0.99, "mean": 0.9, "scale": "auto"},
        },
    }
}
LR, CLIP, ENT, GAE = (
    "trainer.optimizer.learning_rate",
    "trainer.ppo.clip_coef",
    "trainer.ppo.ent_coef",
    "trainer.ppo.gae_lambda",
)


def synthetic_point(rng: np.random.Generator) -> tuple[dict[str, Any], float, float]:
    """(suggestion, score, cost) of one synthetic trial."""
    lr = 10 ** rng.uniform(-4, -2)
    clip = rng.uniform(0.05, 0.3)
    ent = 10 ** rng.uniform(-4, math.log10(3e-2))
    gae = rng.uniform(0.8, 0.99)
    score = 1.0 - (math.log10(lr) + 3.0) ** 2 + 0.8 * clip + rng.normal(0, 0.02)
    cost = 20.0 + 200.0 * clip + rng.uniform(0, 10)
    suggestion = {
        "trainer": {"optimizer": {"learning_rate": lr}, "ppo": {"clip_coef": clip, "ent_coef": ent, "gae_lambda": gae}}
    }
    return suggestion, score, cost


def write_synthetic_sweep(
    store: SweepStore, name: str, n: int, seed: int = 0, failure_rate: float = 0.05, workers: int = 2
) -> None:
    """Register ``name`` and record ``n`` trials (run ids ``<name>.r.<i>``) with their trials and workers."""
    rng = np.random.default_rng(seed)
    store.register_sweep(
        name,
        {
            "metric": "score",
            "goal": "maximize",
            "sim_name": "synthetic",
            "config": {"metric": "score", "goal": "maximize", "parameters": PARAMETERS},
        },
    )
    for i in range(n):
        suggestion, score, cost = synthetic_point(rng)
        run_id = store.next_run_id(name)
        store.start_trial(name, run_id, suggestion, f"host{i % workers}:{1000 + i % workers}:synthetic")
        if rng.random() < failure_rate:
            store.record_observation(name, run_id, suggestion, None, cost / 3, True, "train crashed: exit code 1")
        else:
            store.record_observation(name, run_id, suggestion, score, cost, False)
