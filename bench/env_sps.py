#!/usr/bin/env python3
"""Random-action agent-steps/s of metta's VecEnv (and, if installed, mettagrid's C++ simulator).

Usage: .venv/bin/python bench/env_sps.py [--steps N] [--sizes 64,256,1024]
Ours: one 25x25 room with 6 agents per instance (arena/basic_easy_shaped with game.num_agents=6), full token
observations, num_envs instances stepped in one process. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.env import VecEnv, load_env_config  # noqa: E402


def bench_ours(num_envs: int, steps: int, seed: int = 0) -> float:
    cfg = load_env_config("arena/basic_easy_shaped", ["game.num_agents=6"])
    env = VecEnv(cfg, num_envs=num_envs, seed=seed)
    env.reset()
    rng = np.random.default_rng(seed)
    acts = rng.integers(0, env.num_actions, size=(steps + 5, env.total_agents))
    for i in range(5):  # warm-up (numba compile/cache load)
        env.step(acts[i])
    t0 = time.perf_counter()
    for i in range(steps):
        env.step(acts[5 + i])
    dt = time.perf_counter() - t0
    return env.total_agents * steps / dt


def bench_mettagrid(num_envs: int, steps: int, seed: int = 0) -> float | None:
    """mettagrid's C++ simulator (optional package) on its 6-agent arena: 25x25 room, border 6, random actions.

    Steps each simulation's C++ object directly (no Python env wrapper), as fast as mettagrid can be driven
    from one Python process. Returns None when mettagrid is not installed.
    """
    try:
        from mettagrid.builder.envs import make_arena
        from mettagrid.simulator import Simulator
    except ImportError:
        return None
    cfg = make_arena(num_agents=6)
    factory = Simulator()
    sims = [factory.new_simulation(cfg, seed=seed + i) for i in range(num_envs)]
    c_sims = [s._c_sim for s in sims]
    n_actions = len(cfg.game.actions.actions())
    rng = np.random.default_rng(seed)
    acts = rng.integers(0, n_actions, size=(steps + 5, num_envs, 6)).astype(c_sims[0].actions().dtype)
    for i in range(steps + 5):
        if i == 5:
            t0 = time.perf_counter()
        for j, c in enumerate(c_sims):
            c.actions()[:] = acts[i, j]
            c.step()
    dt = time.perf_counter() - t0
    return num_envs * 6 * steps / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=200, help="timed steps per size")
    ap.add_argument("--sizes", default="64,256,1024", help="comma-separated env instance counts")
    args = ap.parse_args()
    result: dict[str, object] = {"bench": "env_sps"}
    for n in [int(s) for s in args.sizes.split(",")]:
        sps = bench_ours(n, args.steps)
        result[f"ours_{n}"] = round(sps)
        print(f"ours num_envs={n:5d} agents={6 * n:6d}: {sps:,.0f} agent-steps/s", flush=True)
    mg = bench_mettagrid(64, args.steps)
    if mg is not None:
        result["mettagrid_64"] = round(mg)
        print(f"mettagrid num_envs=64: {mg:,.0f} agent-steps/s", flush=True)
        if "ours_64" in result:
            result["ratio_64"] = round(float(result["ours_64"]) / mg, 2)
    else:
        print("mettagrid not installed: skipping the C++ comparison", flush=True)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
