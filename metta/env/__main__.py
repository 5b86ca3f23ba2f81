"""Run an arena env with random actions and show it: ``python -m metta.env [name] [--steps N] [--envs E]``."""

from __future__ import annotations

import argparse
import time

import numpy as np

from metta.env import VecEnv, load_env_config
from metta.env.render import render_ascii


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("name", nargs="?", default="arena/basic_easy_shaped", help="env config, e.g. arena/combat")
    ap.add_argument("--steps", type=int, default=300, help="steps to run")
    ap.add_argument("--envs", type=int, default=16, help="env instances")
    ap.add_argument("--seed", type=int, default=0, help="base seed")
    ap.add_argument("overrides", nargs="*", default=[], help="env overrides, e.g. game.max_steps=100")
    args = ap.parse_intermixed_args(argv)
    cfg = load_env_config(args.name, args.overrides)
    env = VecEnv(cfg, num_envs=args.envs, seed=args.seed)
    env.reset()
    rng = np.random.default_rng(args.seed)
    total = np.zeros(env.total_agents)
    episodes = []
    t0 = time.perf_counter()
    for _ in range(args.steps):
        _, rew, _, infos = env.step(rng.integers(0, env.num_actions, env.total_agents))
        total += rew
        episodes.extend(infos)
    dt = time.perf_counter() - t0
    print(render_ascii(env.snapshot(0), env.tables))
    print(
        f"{cfg.label}: {args.envs} envs x {env.num_agents} agents, {args.steps} steps in {dt:.2f}s "
        f"= {env.total_agents * args.steps / dt:,.0f} agent-steps/s (random actions)"
    )
    print(f"mean reward per agent so far: {total.mean():.3f}; episodes finished: {len(episodes)}")
    if episodes:
        hearts = np.mean([np.mean([s["heart.get"] for s in e.agent_stats]) for e in episodes])
        print(
            f"finished episodes: mean return {np.mean([e.agent_returns.mean() for e in episodes]):.3f}, "
            f"heart.get per agent {hearts:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
