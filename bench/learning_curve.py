#!/usr/bin/env python3
"""Reward vs agent steps for a few minutes of CPU training, against a uniform-random policy, saved as a PNG.

    .venv/bin/python bench/learning_curve.py [--agent mlp] [--steps 2000000] [--max-steps 250] [--out x.png]

Trains on arena/basic_easy_shaped (episode length ``--max-steps``) with the real trainer, reads the per-epoch mean
episode reward from metrics.jsonl, measures a random policy on the same env, and prints one JSON line:
``{"bench": "learning_curve", "random_reward": ..., "final_reward": ..., "ratio": ..., "png": ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.common.config import compose
from metta.rl.trainer import train
from metta.rl.trainer_config import resolve_train_job


def random_reward(env_cfg, num_envs: int, episodes: int, seed: int) -> float:
    from metta.env import VecEnv

    env = VecEnv(env_cfg, num_envs, seed)
    env.reset()
    rng = np.random.default_rng(seed)
    returns: list[float] = []
    while len(returns) < episodes:
        _obs, _r, _d, infos = env.step(rng.integers(0, env.num_actions, env.total_agents))
        returns.extend(float(np.mean(i.agent_returns)) for i in infos)
    return float(np.mean(returns))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", default="mlp")
    ap.add_argument("--steps", type=int, default=2_000_000)
    ap.add_argument("--max-steps", type=int, default=250, help="episode length of the training env")
    ap.add_argument("--num-envs", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--extra", nargs="*", default=[], help="more Hydra overrides")
    ap.add_argument("--out", default="bench/out/learning_curve.png")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="learning_curve_")
    job = resolve_train_job(
        compose(
            "train_job",
            [
                "run=curve",
                f"data_dir={tmp}",
                "hardware=cpu",
                "wandb=disabled",
                f"agent={args.agent}",
                f"seed={args.seed}",
                f"hardware.torch_threads={args.threads}",
                f"trainer.num_envs={args.num_envs}",
                f"trainer.batch_size={args.num_envs * 24 * 64}",
                f"trainer.minibatch_size={args.num_envs * 24 * 16}",
                f"trainer.total_timesteps={args.steps}",
                f"++trainer.env_overrides.game.max_steps={args.max_steps}",
                *args.extra,
            ],
        )
    )
    res = train(job, progress_stream=sys.stderr)
    rows = [json.loads(x) for x in (Path(tmp) / "curve" / "metrics.jsonl").read_text().splitlines()]
    pts = [(r["step"], r["overview/reward"]) for r in rows if r.get("overview/reward") is not None]
    base = random_reward(job.env, args.num_envs, 2 * args.num_envs, args.seed + 1)
    tail = [v for _s, v in pts[-max(1, len(pts) // 10) :]]
    final = float(np.mean(tail)) if tail else float("nan")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([s for s, _ in pts], [v for _, v in pts], label=f"{args.agent} PPO (seed {args.seed})")
    ax.axhline(base, color="gray", linestyle="--", label="uniform random policy")
    ax.set_xlabel("agent steps")
    ax.set_ylabel(f"mean episode reward per agent ({args.max_steps}-step episodes)")
    ax.set_title("arena/basic_easy_shaped, CPU")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(
        json.dumps(
            {
                "bench": "learning_curve",
                "agent": args.agent,
                "agent_steps": res.agent_steps,
                "wall_time_s": round(res.wall_time_s, 1),
                "random_reward": round(base, 4),
                "first_reward": round(pts[0][1], 4) if pts else None,
                "final_reward": round(final, 4),
                "ratio": round(final / base, 2) if base > 0 else None,
                "png": str(out),
                "run_dir": tmp,
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
