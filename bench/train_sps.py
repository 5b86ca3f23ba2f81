#!/usr/bin/env python3
"""Training throughput (agent-steps/s, rollout + PPO update) on arena/basic_easy_shaped, and its compute limit.

Runs the real trainer (metta.rl.trainer.Trainer) for the ``fast`` and ``mlp`` agents and reports the median per-epoch
SPS after a warm-up epoch. Per agent, in one process with 1 torch thread, for every compute variant (``fp32`` =
float32 eager, the default mode; ``bf16`` autocast; ``compile``):
- training SPS, then one profiled epoch: the fraction of its wall time per phase (env, obs_conversion, forward,
  buffer, gae, train_forward, backward, optimizer, stats, other);
- the network's own throughput on random tensors of the same shapes (rollout forwards of all agents; minibatch
  forward + backward + optimizer step) and from it the compute limit (metta.rl.throughput.compute_limit);
- ``<agent>_efficiency`` = training SPS / limit; for non-default variants ``<agent>_<variant>_sps_ratio`` and
  ``_limit_ratio`` against fp32 eager measured in the same run. A variant the machine cannot run is reported with
  the reason.
Then float32 runs with more torch threads (``--threads``) and ``--ranks`` torchrun processes x 1 thread (data
parallel); ``fast_sps``/``mlp_sps`` are the best float32 configuration. PuffeRL is not run: ``puffer_sps`` is null
and ``puffer_reason`` says why. The last stdout line is one JSON object:
``{"bench": "train_sps", "fast_sps": ..., "mlp_sps": ..., "fast_efficiency": ..., ...}``. Other processes on the
machine slow this down, so compare the ratios of one run, not absolute figures across runs; the 1-minute load
average and agent-steps per CPU-second are included so numbers can be judged.

    .venv/bin/python bench/train_sps.py [--epochs 3] [--num-envs 16] [--agents fast,mlp] [--threads 1,2] \
        [--ranks 2] [--variants fp32,bf16,compile] [--limit-reps 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from metta.agent.factory import make_policy
from metta.common.config import compose
from metta.rl.compute import apply_compile, autocast_factory, bf16_supported, compiler_available
from metta.rl.phases import PhaseTimer
from metta.rl.throughput import compute_limit, forward_rate, update_rate
from metta.rl.trainer import Trainer, make_optimizer
from metta.rl.trainer_config import TrainJobConfig, resolve_train_job

VARIANTS = {  # name -> extra overrides; each is trained and its compute limit measured on its own
    "fp32": [],
    "bf16": ["trainer.compute.precision=bf16"],
    "compile": ["trainer.compute.compile=true"],
    "bf16_compile": ["trainer.compute.precision=bf16", "trainer.compute.compile=true"],
}


def _job(
    tmp: str, agent: str, threads: int, num_envs: int, epochs: int, bptt: int, minibatch_segments: int, extra: list[str]
) -> TrainJobConfig:
    agents = num_envs * 24
    batch = agents * bptt
    minibatch = min(batch, minibatch_segments * bptt)
    while batch % minibatch:
        minibatch -= bptt
    return resolve_train_job(
        compose(
            "train_job",
            [
                "run=bench",
                f"data_dir={tmp}",
                "hardware=cpu",
                "wandb=disabled",
                f"agent={agent}",
                f"hardware.torch_threads={threads}",
                f"trainer.num_envs={num_envs}",
                f"trainer.bptt_horizon={bptt}",
                f"trainer.batch_size={batch}",
                f"trainer.minibatch_size={minibatch}",
                f"trainer.total_timesteps={batch * epochs}",
                "trainer.checkpoint.checkpoint_interval=1000000",
                *extra,
            ],
        )
    )


def network_limit(trainer: Trainer, reps: int) -> dict:
    """The compute limit for ``trainer``'s shapes and compute settings: a fresh policy of the same architecture on
    random tensors (rollout forwards of all agents, then ``reps`` minibatch updates), in this process."""
    job, buf, sizes = trainer.job, trainer.buf, trainer.sizes
    fshape, fdtype = tuple(buf.features.shape[2:]), buf.features.dtype
    obs_shape = tuple(trainer.env.obs_shape)
    num_features = int(getattr(trainer.env, "num_features", 25))
    policy = make_policy(job.agent, trainer.env.num_actions, obs_shape, num_features, seed=1).to(trainer.device)
    apply_compile(policy, job.trainer.compute)
    amp = autocast_factory(job.trainer.compute, trainer.device)
    fwd = forward_rate(policy, sizes.total_agents, fshape, fdtype, steps=buf.bptt, autocast=amp)
    opt = make_optimizer(policy, job)
    upd = update_rate(policy, opt, sizes.segments_per_minibatch, buf.bptt, fshape, fdtype, reps, autocast=amp)
    epochs = job.trainer.update_epochs
    return {
        "forward_sps": fwd.wall,
        "update_sps": upd.wall,
        "limit_sps": compute_limit(fwd.wall, upd.wall, epochs),
        "limit_sps_per_cpu_second": compute_limit(fwd.cpu, upd.cpu, epochs),
    }


def measure(
    agent: str,
    threads: int,
    num_envs: int,
    epochs: int,
    bptt: int,
    minibatch_segments: int,
    extra: list[str] | None = None,
    limit_reps: int = 0,
) -> dict:
    """Train ``epochs`` epochs (median SPS after the first); with ``limit_reps`` > 0 also one profiled epoch (phase
    breakdown) and the network's compute limit for the same shapes, in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        job = _job(tmp, agent, threads, num_envs, epochs, bptt, minibatch_segments, extra or [])
        if job.system.torch_threads > 0:
            torch.set_num_threads(job.system.torch_threads)
        trainer = Trainer(job, None, None, open(os.devnull, "w"), None)
        res = trainer.run()
        rows = [json.loads(x) for x in (Path(tmp) / "bench" / "metrics.jsonl").read_text().splitlines()]
        extra_out: dict = {}
        if limit_reps > 0:
            timer = PhaseTimer()
            t0 = time.perf_counter()
            trainer.run_epoch(timer)
            total = time.perf_counter() - t0
            phases = timer.breakdown(total)
            extra_out["profiled_sps"] = trainer.sizes.batch_size / total
            extra_out["phases"] = {k: round(v, 4) for k, v in phases.items()}
            extra_out.update(network_limit(trainer, limit_reps))
    sps = [r["overview/sps"] for r in rows[1:]] or [rows[0]["overview/sps"]]
    cpu_sps = [r["parameters/epoch_steps"] / r["timing/process_cpu_s"] for r in rows[1:] or rows]
    roll = statistics.median(r["timing/rollout_s"] for r in rows[1:] or rows)
    upd = statistics.median(r["timing/update_s"] for r in rows[1:] or rows)
    batch = trainer.sizes.batch_size
    minibatch = trainer.sizes.segments_per_minibatch * bptt
    return {
        "agent": agent,
        "threads": threads,
        "num_envs": num_envs,
        "batch": batch,
        "minibatch": minibatch,
        "sps": statistics.median(sps),
        "sps_per_cpu_second": statistics.median(cpu_sps),
        "rollout_s": roll,
        "update_s": upd,
        "epochs": res.epochs,
        **extra_out,
    }


def measure_ranks(agent: str, ranks: int, num_envs: int, epochs: int, bptt: int, minibatch_segments: int) -> dict:
    """``ranks`` torchrun processes (gloo, 1 torch thread each) on the same machine; SPS counts all ranks."""
    agents = num_envs * 24
    batch = agents * bptt
    minibatch = min(batch, minibatch_segments * bptt)
    while batch % minibatch:
        minibatch -= bptt
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "run=bench",
            f"data_dir={tmp}",
            "hardware=cpu",
            "wandb=disabled",
            f"agent={agent}",
            "hardware.torch_threads=1",
            f"trainer.num_envs={num_envs}",
            f"trainer.bptt_horizon={bptt}",
            f"trainer.batch_size={batch}",
            f"trainer.minibatch_size={minibatch}",
            f"trainer.total_timesteps={batch * epochs * ranks}",
            "trainer.checkpoint.checkpoint_interval=1000000",
        ]
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={ranks}",
            str(repo / "tools" / "train.py"),
            *args,
        ]
        env = {**os.environ, "METTA_NO_REEXEC": "1", "OMP_NUM_THREADS": "1"}
        subprocess.run(cmd, cwd=tmp, env=env, check=True, capture_output=True, text=True)
        rows = [json.loads(x) for x in (Path(tmp) / "bench" / "metrics.jsonl").read_text().splitlines()]
    sps = [r["overview/sps"] for r in rows[1:]] or [rows[0]["overview/sps"]]
    return {
        "agent": agent,
        "ranks": ranks,
        "threads": 1,
        "num_envs_per_rank": num_envs,
        "batch_per_rank": batch,
        "sps": statistics.median(sps),
        "epochs": len(rows),
    }


def _unavailable(variant: str) -> str | None:
    """Why ``variant`` cannot run on this machine (None = it can)."""
    if "bf16" in variant and not bf16_supported(torch.device("cpu")):
        cap = torch.backends.cpu.get_cpu_capability()
        return f"skipped: this CPU has no native bf16 (torch sees {cap}; needs AVX512-BF16/AMX), emulation is slower"
    if "compile" in variant and not compiler_available():
        return "skipped: no C++ compiler on PATH for torch.compile"
    return None


def puffer_reason() -> str:
    """Why PuffeRL is not measured side by side in this run."""
    if importlib.util.find_spec("pufferlib") is None:
        return (
            "pufferlib (pufferlib-core) is not importable in this venv: pufferlib-core pins torch==2.9.0 while this "
            "project pins torch 2.13.0, so it installs only with --no-deps into a separate venv, where its compiled "
            "_C extension does not load; and this repository has no PufferLib-style env adapter for the arena yet"
        )
    return "pufferlib is importable but this repository has no PufferLib-style env adapter for the arena yet"


def _variant_entries(out: dict, agent: str, variant: str, r: dict, base: dict | None) -> None:
    key = agent if variant == "fp32" else f"{agent}_{variant}"
    out[f"{key}_sps_1t"] = round(r["sps"], 1)
    out[f"{key}_limit_sps"] = round(r["limit_sps"], 1)
    out[f"{key}_forward_limit_sps"] = round(r["forward_sps"], 1)
    out[f"{key}_update_limit_sps"] = round(r["update_sps"], 1)
    out[f"{key}_efficiency"] = round(r["sps"] / r["limit_sps"], 3)
    # the same ratio in process CPU time: robust when other jobs share the cores
    out[f"{key}_efficiency_cpu"] = round(r["sps_per_cpu_second"] / r["limit_sps_per_cpu_second"], 3)
    out[f"{key}_phases"] = r["phases"]
    if base is not None:  # ratios against float32 eager measured in this run
        out[f"{key}_sps_ratio"] = round(r["sps"] / base["sps"], 3)
        out[f"{key}_limit_ratio"] = round(r["limit_sps"] / base["limit_sps"], 3)
        out[f"{key}_sps_ratio_cpu"] = round(r["sps_per_cpu_second"] / base["sps_per_cpu_second"], 3)
        out[f"{key}_limit_ratio_cpu"] = round(r["limit_sps_per_cpu_second"] / base["limit_sps_per_cpu_second"], 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--bptt", type=int, default=64)
    ap.add_argument("--minibatch-segments", type=int, default=128)
    ap.add_argument("--agents", default="fast,mlp")
    ap.add_argument("--threads", default="1,2", help="torch threads of the float32 runs (1 always runs)")
    ap.add_argument("--ranks", type=int, default=2, help="also run N torchrun processes x 1 thread (0/1 = skip)")
    ap.add_argument("--variants", default="fp32,bf16,compile", help=f"compute options, from {','.join(VARIANTS)}")
    ap.add_argument("--limit-reps", type=int, default=3, help="minibatch updates timed for the compute limit")
    args = ap.parse_args()
    out: dict = {"bench": "train_sps"}
    load_before = os.getloadavg()[0]
    variants = ["fp32"] + [v for v in args.variants.split(",") if v and v != "fp32"]
    for agent in args.agents.split(","):
        best, base = 0.0, None
        for variant in variants:
            why = _unavailable(variant)
            if why:
                out[f"{agent}_{variant}"] = why
                continue
            r = measure(
                agent,
                1,
                args.num_envs,
                args.epochs,
                args.bptt,
                args.minibatch_segments,
                VARIANTS[variant],
                args.limit_reps,
            )
            print(json.dumps({"variant": variant, **r}), flush=True)
            _variant_entries(out, agent, variant, r, base)
            if variant == "fp32":
                base = r
                best = r["sps"]
                out[f"{agent}_sps_per_cpu_second_1t"] = round(r["sps_per_cpu_second"], 1)
        for threads in (int(t) for t in args.threads.split(",") if int(t) != 1):
            r = measure(agent, threads, args.num_envs, args.epochs, args.bptt, args.minibatch_segments)
            print(json.dumps(r), flush=True)
            out[f"{agent}_sps_{threads}t"] = round(r["sps"], 1)
            out[f"{agent}_sps_per_cpu_second_{threads}t"] = round(r["sps_per_cpu_second"], 1)
            best = max(best, r["sps"])
        if args.ranks > 1:
            r = measure_ranks(agent, args.ranks, args.num_envs, args.epochs, args.bptt, args.minibatch_segments)
            print(json.dumps(r), flush=True)
            out[f"{agent}_sps_{args.ranks}ranks"] = round(r["sps"], 1)
            if base is not None:  # each rank's own limit is the 1-thread limit of this process
                out[f"{agent}_efficiency_{args.ranks}ranks"] = round(r["sps"] / (args.ranks * base["limit_sps"]), 3)
            best = max(best, r["sps"])
        out[f"{agent}_sps"] = round(best, 1)  # best float32 (default mode) configuration
    out["puffer_sps"] = None
    out["puffer_reason"] = puffer_reason()
    out["targets"] = {"mlp_sps": 60000, "fast_sps": 15000, "efficiency": 0.8}
    out["load_avg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    out["cpus"] = os.cpu_count()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
