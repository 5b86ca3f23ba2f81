#!/usr/bin/env python3
"""How noisy is the sweep objective? Eval noise of a fixed policy vs the spread between configurations.

    .venv/bin/python bench/eval_noise.py [--steps 393216] [--lrs 1e-4,4.57e-4,3e-3] [--eval-seeds 5]

Trains one ``mlp`` policy per learning rate at the quick sweep's budget (hardware=cpu sizes, training seed 0),
then scores each on ``sweep_eval`` with several evaluation seeds, for a few (episodes, episode-steps) settings.
Eval noise = std of one policy's score across evaluation seeds (mean over policies); spread = std of the policies'
mean scores. The last line is JSON: ``{"bench": "eval_noise", "settings": [{episodes, max_steps, eval_noise,
spread, ratio, eval_s}], "scores": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.common.config import compose
from metta.rl.trainer import train
from metta.rl.trainer_config import resolve_train_job
from metta.sim.config import SimulationSuiteConfig, load_suite
from metta.sim.evaluate import evaluate

MLP = ["++agent.name=mlp", "++agent.lstm_layers=1", "++agent.actor_hidden=128", "++agent.critic_hidden=128"]


def train_policy(root: Path, lr: float, steps: int) -> Path:
    run = f"lr{lr:g}"
    if any((root / run / "checkpoints").glob("*.pt")):  # --data-dir of an earlier run: reuse its policies
        return root / run / "checkpoints"
    job = resolve_train_job(
        compose(
            "train_job",
            [
                f"run={run}",
                f"data_dir={root}",
                "hardware=cpu",
                "wandb=disabled",
                "seed=0",
                *MLP,
                f"trainer.total_timesteps={steps}",
                f"trainer.optimizer.learning_rate={lr}",
                "trainer.simulation.evaluate_interval=0",
            ],
        )
    )
    train(job, progress_stream=None)
    return root / run / "checkpoints"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=393216, help="agent-steps of training per policy")
    ap.add_argument("--lrs", default="1e-4,4.57e-4,3e-3")
    ap.add_argument("--eval-seeds", type=int, default=5)
    ap.add_argument("--settings", default="2x500,4x500,8x500", help="episodes x episode-steps to compare")
    ap.add_argument("--data-dir", default=None, help="reuse (or keep) the trained policies here")
    a = ap.parse_args()
    root = Path(a.data_dir or tempfile.mkdtemp(prefix="eval_noise_"))
    lrs = [float(x) for x in a.lrs.split(",")]
    t0 = time.monotonic()
    ckpts = {lr: train_policy(root, lr, a.steps) for lr in lrs}
    train_s = time.monotonic() - t0
    out, scores = [], {}
    for spec in a.settings.split(","):
        eps, steps = (int(v) for v in spec.split("x"))
        base = load_suite("sweep_eval")
        sims = tuple(
            sim.model_copy(
                update={"num_episodes": eps, "env_overrides": {**sim.env_overrides, "game.max_steps": steps}}
            )
            for sim in base.simulations
        )
        suite = SimulationSuiteConfig(name=base.name, simulations=sims)
        t1 = time.monotonic()
        table = {
            lr: [
                evaluate(f"file://{ckpts[lr]}", suite, root / f"{spec}_{lr:g}_{s}.db", seed=s).avg_category_score
                for s in range(1, a.eval_seeds + 1)
            ]
            for lr in lrs
        }
        noise = float(np.mean([np.std(v, ddof=1) for v in table.values()]))
        spread = float(np.std([np.mean(v) for v in table.values()], ddof=1))
        out.append(
            {
                "episodes": eps,
                "max_steps": steps,
                "eval_noise": round(noise, 4),
                "spread": round(spread, 4),
                "ratio": round(spread / noise, 2) if noise > 0 else None,
                "eval_s_per_policy": round((time.monotonic() - t1) / (len(lrs) * a.eval_seeds), 2),
            }
        )
        scores[spec] = {f"{lr:g}": [round(x, 4) for x in v] for lr, v in table.items()}
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
    print(
        json.dumps(
            {
                "bench": "eval_noise",
                "agent": "mlp",
                "steps": a.steps,
                "train_s": round(train_s, 1),
                "settings": out,
                "scores": scores,
            }
        )
    )


if __name__ == "__main__":
    main()
