#!/usr/bin/env python3
"""Training throughput (agent-steps/s, rollout + PPO update) on arena/basic_easy_shaped.

Runs the real trainer (metta.rl.trainer.train) for the ``fast`` and ``mlp`` agents with 1 and 2 torch threads, and
2 torchrun processes x 1 thread (data parallel, gradients all-reduced), and reports the median per-epoch SPS after a
warm-up epoch; ``fast_sps``/``mlp_sps`` are the best of those. If ``pufferlib`` (pufferlib-core) is importable a PuffeRL
comparison would run too; otherwise it is reported as skipped. The last stdout line is one JSON object:
``{"bench": "train_sps", "fast_sps": ..., "mlp_sps": ..., ...}``. Other processes on the machine slow this down;
the 1-minute load average and agent-steps per CPU-second of the process (what an uncontended core would
give, summed over threads) are included so numbers can be judged.

    .venv/bin/python bench/train_sps.py [--epochs 4] [--num-envs 16] [--agents fast,mlp] [--threads 1,2]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.common.config import compose
from metta.rl.trainer import train
from metta.rl.trainer_config import resolve_train_job


def measure(agent: str, threads: int, num_envs: int, epochs: int, bptt: int, minibatch_segments: int) -> dict:
    agents = num_envs * 24
    batch = agents * bptt
    minibatch = min(batch, minibatch_segments * bptt)
    while batch % minibatch:
        minibatch -= bptt
    with tempfile.TemporaryDirectory() as tmp:
        job = resolve_train_job(
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
                ],
            )
        )
        res = train(job, progress_stream=open(os.devnull, "w"))
        rows = [json.loads(x) for x in (Path(tmp) / "bench" / "metrics.jsonl").read_text().splitlines()]
    sps = [r["overview/sps"] for r in rows[1:]] or [rows[0]["overview/sps"]]
    cpu_sps = [r["parameters/epoch_steps"] / r["timing/process_cpu_s"] for r in rows[1:] or rows]
    roll = statistics.median(r["timing/rollout_s"] for r in rows[1:] or rows)
    upd = statistics.median(r["timing/update_s"] for r in rows[1:] or rows)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--bptt", type=int, default=64)
    ap.add_argument("--minibatch-segments", type=int, default=128)
    ap.add_argument("--agents", default="fast,mlp")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--ranks", type=int, default=2, help="also run N torchrun processes x 1 thread (0/1 = skip)")
    args = ap.parse_args()
    out: dict = {"bench": "train_sps"}
    load_before = os.getloadavg()[0]
    for agent in args.agents.split(","):
        best = 0.0
        for threads in (int(t) for t in args.threads.split(",")):
            r = measure(agent, threads, args.num_envs, args.epochs, args.bptt, args.minibatch_segments)
            print(json.dumps(r), flush=True)
            out[f"{agent}_sps_{threads}t"] = round(r["sps"], 1)
            out[f"{agent}_sps_per_cpu_second_{threads}t"] = round(r["sps_per_cpu_second"], 1)
            best = max(best, r["sps"])
        if args.ranks > 1:
            r = measure_ranks(agent, args.ranks, args.num_envs, args.epochs, args.bptt, args.minibatch_segments)
            print(json.dumps(r), flush=True)
            out[f"{agent}_sps_{args.ranks}ranks"] = round(r["sps"], 1)
            best = max(best, r["sps"])
        out[f"{agent}_sps"] = round(best, 1)
    if importlib.util.find_spec("pufferlib") is None:
        out["puffer"] = "skipped: pufferlib-core not importable"
    else:
        out["puffer"] = "skipped: PuffeRL comparison not implemented in this version"
    out["targets"] = {"mlp_sps": 50000, "fast_sps": 15000}
    out["load_avg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    out["cpus"] = os.cpu_count()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
