#!/usr/bin/env python3
"""Random-action agent-steps/s of metta's VecEnv (and, if installed, mettagrid's C++ simulator).

Usage: .venv/bin/python bench/env_sps.py [--steps N] [--sizes 64,256,1024] [--mettagrid-python PY]
                                         [--curriculum NAME] [--curriculum-envs N] [--curriculum-max-steps N]
       .venv/bin/python bench/env_sps.py --wrappers [--sizes 64]   # interop wrappers vs the raw VecEnv (cpu time)
Ours: one 25x25 room with 6 agents per instance (arena/basic_easy_shaped with game.num_agents=6), full token
observations, num_envs instances stepped in one process. The last line is one JSON object.

Curriculum figure: the same VecEnv on a curriculum (default: the 15-task arena/random), where every env draws its
task at each reset, beside the single-task env with the same settings (short episodes so that resets, where the
curriculum does its work, are frequent); both are measured twice, interleaved, and the better run of each is kept
(``single_task_<n>``, ``curriculum_<n>``, ``curriculum_ratio_<n>`` = curriculum / single task).

mettagrid (optional, 0.26.x) is measured in this interpreter when importable, else with the interpreter given by
--mettagrid-python or $METTAGRID_PYTHON (a separate venv: mettagrid's dependency importnb registers a pytest
plugin that breaks pytest, so keep it out of the project venv). Figures are wall-clock; cpu-time figures
(``*_cpu``) are printed too because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bench_ours(num_envs: int, steps: int, seed: int = 0, cfg=None) -> tuple[float, float]:
    """(wall-clock, cpu-time) agent-steps/s of VecEnv with random actions (``cfg``: env or curriculum config)."""
    from metta.env import VecEnv, load_env_config

    if cfg is None:
        cfg = load_env_config("arena/basic_easy_shaped", ["game.num_agents=6"])
    env = VecEnv(cfg, num_envs=num_envs, seed=seed)
    env.reset()
    rng = np.random.default_rng(seed)
    acts = rng.integers(0, env.num_actions, size=(steps + 5, env.total_agents))
    for i in range(5):  # warm-up (numba compile/cache load)
        env.step(acts[i])
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(steps):
        env.step(acts[5 + i])
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return env.total_agents * steps / dt, env.total_agents * steps / dc


def bench_mettagrid(num_envs: int, steps: int, seed: int = 0) -> tuple[float, float] | None:
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
            t0, c0 = time.perf_counter(), time.process_time()
        for j, c in enumerate(c_sims):
            c.actions()[:] = acts[i, j]
            c.step()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    return num_envs * 6 * steps / dt, num_envs * 6 * steps / dc


def bench_curriculum(name: str, num_envs: int, steps: int, max_steps: int) -> dict[str, float]:
    """Single-task vs curriculum agent-steps/s with the same settings, interleaved, best of two each."""
    from metta.env import load_env_config
    from metta.env.curriculum import load_curriculum

    overrides = ["game.num_agents=6", f"game.max_steps={max_steps}"]
    single = load_env_config("arena/basic_easy_shaped", overrides)
    cur = load_curriculum(name, overrides)
    best = {"single": 0.0, "curriculum": 0.0, "single_cpu": 0.0, "curriculum_cpu": 0.0}
    for _ in range(2):
        for key, cfg in (("single", single), ("curriculum", cur)):
            wall, cpu = bench_ours(num_envs, steps, cfg=cfg)
            best[key], best[f"{key}_cpu"] = max(best[key], wall), max(best[f"{key}_cpu"], cpu)
    return best


def mettagrid_elsewhere(python: str, num_envs: int, steps: int) -> tuple[float, float] | None:
    """Run :func:`bench_mettagrid` in another interpreter (one with mettagrid installed)."""
    cmd = [python, str(Path(__file__).resolve()), "--mettagrid-only", "--steps", str(steps), "--sizes", str(num_envs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        print(f"mettagrid run with {python} failed (exit {proc.returncode}): {proc.stderr[-500:]}", flush=True)
        return None
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data.get("wall"), data.get("cpu")


def bench_wrappers(num_envs: int, steps: int, seed: int = 0) -> dict[str, float]:
    """CPU-time agent-steps/s of the raw VecEnv and of each interop wrapper over the same instances.

    PettingZoo wraps one instance (its API is per environment), so it is compared with a raw one-instance VecEnv.
    """
    from metta.env import VecEnv, load_env_config
    from metta.env.wrappers.gymnasium_env import ArenaVectorEnv
    from metta.env.wrappers.pettingzoo_env import ArenaParallelEnv
    from metta.env.wrappers.puffer_env import ArenaPufferEnv

    cfg = load_env_config("arena/basic_easy_shaped", ["game.num_agents=6"])

    def timed(step, n_agents: int) -> float:
        for _ in range(20):
            step()
        c0 = time.process_time()
        for _ in range(steps):
            step()
        return n_agents * steps / max(time.process_time() - c0, 1e-9)

    out: dict[str, float] = {}
    raw = VecEnv(cfg, num_envs=num_envs, seed=seed)
    raw.reset()
    acts = np.zeros(raw.total_agents, dtype=np.int64)
    out["raw"] = timed(lambda: raw.step(acts), raw.total_agents)
    vec = ArenaVectorEnv(cfg, num_envs, seed)
    vec.reset()
    out["gymnasium_vector"] = timed(lambda: vec.step(acts), raw.total_agents)
    puf = ArenaPufferEnv(cfg, num_envs, seed)
    puf.reset()
    out["puffer"] = timed(lambda: (puf.send(acts), puf.recv()), raw.total_agents)
    one = VecEnv(cfg, num_envs=1, seed=seed)
    one.reset()
    acts1 = np.zeros(one.total_agents, dtype=np.int64)
    out["raw_1"] = timed(lambda: one.step(acts1), one.total_agents)
    pz = ArenaParallelEnv(cfg, seed)
    pz.reset()
    names = {a: 0 for a in pz.possible_agents}

    def pz_step() -> None:
        pz.step(names)
        if not pz.agents:
            pz.reset()

    out["pettingzoo_1"] = timed(pz_step, one.total_agents)
    out["raw"] = max(out["raw"], timed(lambda: raw.step(acts), raw.total_agents))  # again: warm caches, shared box
    out["raw_1"] = max(out["raw_1"], timed(lambda: one.step(acts1), one.total_agents))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200, help="timed steps per size")
    ap.add_argument("--sizes", default="64,256,1024", help="comma-separated env instance counts")
    ap.add_argument(
        "--mettagrid-python",
        default=os.environ.get("METTAGRID_PYTHON"),
        help="interpreter with mettagrid installed, used when it is not importable here",
    )
    ap.add_argument("--mettagrid-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--curriculum", default="/env/mettagrid/curriculum/arena/random", help="curriculum config name")
    ap.add_argument("--curriculum-envs", type=int, default=256, help="env instances for the curriculum figure")
    ap.add_argument("--curriculum-max-steps", type=int, default=100, help="episode length for the curriculum figure")
    ap.add_argument("--wrappers", action="store_true", help="only the interop wrappers' overhead vs the raw VecEnv")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.wrappers:
        res = bench_wrappers(sizes[0], args.steps)
        ratios = {"bench": "env_wrappers", "num_envs": sizes[0], **{k: round(v) for k, v in res.items()}}
        for k in ("gymnasium_vector", "puffer"):
            ratios[f"{k}_vs_raw"] = round(res[k] / res["raw"], 3)
        ratios["pettingzoo_1_vs_raw_1"] = round(res["pettingzoo_1"] / res["raw_1"], 3)
        print(json.dumps(ratios), flush=True)
        return
    if args.mettagrid_only:
        res = bench_mettagrid(sizes[0], args.steps)
        print(json.dumps({"wall": res[0], "cpu": res[1]} if res else {}))
        return
    result: dict[str, object] = {"bench": "env_sps"}
    for n in sizes:
        wall, cpu = bench_ours(n, args.steps)
        result[f"ours_{n}"] = round(wall)
        result[f"ours_{n}_cpu"] = round(cpu)
        print(
            f"ours num_envs={n:5d} agents={6 * n:6d}: {wall:,.0f} agent-steps/s ({cpu:,.0f} per cpu-second)", flush=True
        )
    n = args.curriculum_envs
    cur = bench_curriculum(args.curriculum, n, args.steps, args.curriculum_max_steps)
    result[f"single_task_{n}"], result[f"curriculum_{n}"] = round(cur["single"]), round(cur["curriculum"])
    result[f"curriculum_ratio_{n}"] = round(cur["curriculum"] / cur["single"], 3)
    result[f"curriculum_ratio_{n}_cpu"] = round(cur["curriculum_cpu"] / cur["single_cpu"], 3)
    print(
        f"same settings (num_envs={n}, max_steps={args.curriculum_max_steps}): single task "
        f"{cur['single']:,.0f}, curriculum {args.curriculum} {cur['curriculum']:,.0f} agent-steps/s "
        f"(ratio {cur['curriculum'] / cur['single']:.3f}; per cpu-second "
        f"{cur['curriculum_cpu'] / cur['single_cpu']:.3f})",
        flush=True,
    )
    mg = bench_mettagrid(64, args.steps)
    if mg is None and args.mettagrid_python:
        mg = mettagrid_elsewhere(args.mettagrid_python, 64, args.steps)
    if mg is not None and mg[0]:
        result["mettagrid_64"] = round(mg[0])
        result["mettagrid_64_cpu"] = round(mg[1])
        print(f"mettagrid num_envs=64: {mg[0]:,.0f} agent-steps/s ({mg[1]:,.0f} per cpu-second)", flush=True)
        if "ours_64" in result:
            result["ratio_64"] = round(float(result["ours_64"]) / mg[0], 2)
            result["ratio_64_cpu"] = round(float(result["ours_64_cpu"]) / mg[1], 2)
    else:
        print("mettagrid not available: skipping the C++ comparison", flush=True)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
