#!/usr/bin/env python
"""Sweep-loop overhead and sweep-store latency.

1. Per-trial overhead of the loop: everything except training and evaluation (orphan check, loading up to 250
   observations, building/fitting the optimizer, suggestion, constraint check, run id, trial start/finish records,
   heartbeat thread, directory set-up), measured with an in-process no-op trainer and a no-op evaluator on a sweep
   that already holds ``--observations`` observations. Target: < 2 s per trial. Reported in total and split into
   the optimizer's ``suggest`` (GP fit + acquisition, the Protein module's cost) and the loop's own share.
2. Store latency with ``--observations`` (default 10,000) observations in one sweep: load 250 newest
   (target < 50 ms), next_run_id, record_observation, count — for SQLite and, when a URL is given
   (``--postgres URL`` or ``$METTA_TEST_POSTGRES_URL``), PostgreSQL.

    python bench/sweep_overhead.py                 # 10k observations, 10 trials
    python bench/sweep_overhead.py --smoke         # 1k observations, 3 trials

The last line printed is one JSON object with ``"bench": "sweep_overhead"``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.sweep.dispatch import TrainOutcome, TrainRequest
from metta.sweep.store import SweepStore, open_store
from metta.sweep.sweep_config import resolve_sweep_job
from metta.sweep.trial import EvalOutcome

SWEEP = {
    "metric": "reward",
    "goal": "maximize",
    "method": "bayes",
    "parameters": {
        "trainer": {
            "optimizer": {"learning_rate": {"distribution": "log_normal", "min": 1e-5, "max": 1e-2, "mean": 3e-4}},
            "ppo": {
                "gamma": {"distribution": "logit_normal", "min": 0.9, "max": 0.999, "mean": 0.97},
                "ent_coef": {"distribution": "log_normal", "min": 1e-4, "max": 3e-2, "mean": 2e-3},
                "clip_coef": {"distribution": "uniform", "min": 0.05, "max": 0.3, "mean": 0.1},
            },
            "batch_size": {"distribution": "uniform_pow2", "min": 4096, "max": 65536, "mean": 16384},
            "minibatch_size": {"distribution": "uniform_pow2", "min": 1024, "max": 4096, "mean": 2048},
        }
    },
}
BASE_TRAINER = {"batch_size": 16384, "minibatch_size": 2048, "bptt_horizon": 64}


class NoopTrainer:
    """Writes the checkpoint file the loop checks for and returns at once."""

    def train(self, request: TrainRequest, progress=None) -> TrainOutcome:
        ck = request.run_dir / "checkpoints"
        ck.mkdir(parents=True, exist_ok=True)
        (ck / "model_0001.pt").write_bytes(b"")
        return TrainOutcome(True, "", 1e-3, 0, {"status": "success"})


class NoopEvaluator:
    def __init__(self) -> None:
        self.i = 0

    def evaluate(self, run_dir: Path, timeout_s: float) -> EvalOutcome:
        self.i += 1
        return EvalOutcome(score=float((self.i * 7919) % 101) / 100.0, wall_s=1e-3)


def _fill(store: SweepStore, name: str, n: int) -> float:
    import random

    rng = random.Random(0)
    store.register_sweep(name)
    t0 = time.perf_counter()
    for _ in range(n):
        sugg = {
            "trainer": {
                "optimizer": {"learning_rate": 10 ** rng.uniform(-5, -2)},
                "ppo": {
                    "gamma": rng.uniform(0.9, 0.999),
                    "ent_coef": 10 ** rng.uniform(-4, -1.6),
                    "clip_coef": rng.uniform(0.05, 0.3),
                },
                "batch_size": 2 ** rng.randint(12, 16),
                "minibatch_size": 2 ** rng.randint(10, 12),
            }
        }
        fail = rng.random() < 0.05
        store.record_observation(
            name,
            store.next_run_id(name),
            sugg,
            None if fail else rng.random(),
            1 + rng.random() * 99,
            fail,
            "bench failure" if fail else "",
        )
    return time.perf_counter() - t0


def _median_ms(fn, reps: int) -> float:
    xs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(xs), 3)


def store_latency(store: SweepStore, n_obs: int) -> dict:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    fill_s = _fill(store, name, n_obs)
    loaded = store.load_observations(name, 250)
    assert len(loaded) == 250 and loaded[0].seq > loaded[-1].seq
    i = [0]

    def record() -> None:
        i[0] += 1
        store.record_observation(name, None, {"x": i[0]}, 0.5, 1.0, False)

    return {
        "observations": n_obs,
        "fill_s": round(fill_s, 2),
        "load_250_ms": _median_ms(lambda: store.load_observations(name, 250), 30),
        "next_run_id_ms": _median_ms(lambda: store.next_run_id(name), 50),
        "record_observation_ms": _median_ms(record, 50),
        "count_ms": _median_ms(lambda: store.count_observations(name, launched_only=True), 20),
    }


def loop_overhead(uri: str, tmp: Path, n_obs: int, trials: int) -> dict:
    from metta.sweep.loop import SweepLoop

    store = open_store(uri)
    name = f"ovh_{uuid.uuid4().hex[:8]}"
    job = resolve_sweep_job(
        {
            "sweep_name": name,
            "data_dir": str(tmp),
            "sweep_dir": str(tmp / "sweep" / name),
            "seed": 0,
            "settings": {"sweep_server_uri": uri, "rollout_retry_delay": 0, "max_observations_to_load": 250},
            "sim_name": "sweep_eval",
            "num_trials": trials,
            "wandb": {"mode": "disabled"},
            "sweep": SWEEP,
        }
    )
    _fill(store, name, n_obs)
    in_opt = [0.0]

    class TimedLoop(SweepLoop):
        def build_optimizer(self):  # time the optimizer's fit/suggest separately from the loop
            phase, pcfg, opt = super().build_optimizer()
            if getattr(opt, "_bench_timed", False):  # the loop keeps its optimizer between trials: wrap once
                return phase, pcfg, opt
            inner = opt.suggest

            def timed(n: int = 1):
                t0 = time.perf_counter()
                try:
                    return inner(n)
                finally:
                    in_opt[0] += time.perf_counter() - t0

            opt.suggest = timed
            opt._bench_timed = True
            return phase, pcfg, opt

    loop = TimedLoop(job, store, NoopTrainer(), NoopEvaluator(), BASE_TRAINER, log=lambda s: None, sleep=lambda s: None)
    loop.register()
    loop.run_trial()  # warm-up: imports (scipy, the optimizer) are not per-trial costs
    times, opt_times = [], []
    for _ in range(trials):
        in_opt[0] = 0.0
        t0 = time.perf_counter()
        loop.run_trial()
        times.append(time.perf_counter() - t0)
        opt_times.append(in_opt[0])
    loop_only = [t - o for t, o in zip(times, opt_times, strict=True)]
    return {
        "trials": trials,
        "per_trial_s_median": round(statistics.median(times), 3),
        "per_trial_s_max": round(max(times), 3),
        "optimizer_suggest_s_median": round(statistics.median(opt_times), 3),
        "loop_only_s_median": round(statistics.median(loop_only), 3),
        "loop_only_s_max": round(max(loop_only), 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--observations", type=int, default=10_000)
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--postgres", default=os.environ.get("METTA_TEST_POSTGRES_URL", ""))
    p.add_argument("--smoke", action="store_true", help="1,000 observations and 3 trials")
    a = p.parse_args()
    if a.smoke:
        a.observations, a.trials = 1000, 3
    out: dict = {"bench": "sweep_overhead", "observations": a.observations, "loadavg_1m": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        out["sqlite"] = store_latency(open_store(t / "lat.db"), a.observations)
        print(f"sqlite store: {out['sqlite']}", flush=True)
        out["loop_sqlite"] = loop_overhead(str(t / "loop.db"), t, a.observations, a.trials)
        print(f"loop overhead (sqlite): {out['loop_sqlite']}", flush=True)
        if a.postgres:
            out["postgres"] = store_latency(open_store(a.postgres), a.observations)
            print(f"postgres store: {out['postgres']}", flush=True)
            out["loop_postgres"] = loop_overhead(a.postgres, t, min(a.observations, 1000), a.trials)
            print(f"loop overhead (postgres): {out['loop_postgres']}", flush=True)
        else:
            out["postgres"] = None
            print("postgres: skipped (no --postgres URL / METTA_TEST_POSTGRES_URL)", flush=True)
    loads = [out["sqlite"]["load_250_ms"]] + ([out["postgres"]["load_250_ms"]] if out["postgres"] else [])
    loops = [out["loop_sqlite"]] + ([out["loop_postgres"]] if out.get("loop_postgres") else [])
    out["targets_met"] = {
        "per_trial_overhead_lt_2s": max(x["per_trial_s_median"] for x in loops) < 2.0,
        "loop_only_overhead_lt_2s": max(x["loop_only_s_median"] for x in loops) < 2.0,
        "load_250_lt_50ms": max(loads) < 50.0,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
