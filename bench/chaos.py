#!/usr/bin/env python3
"""Chaos test of sweep workers: N local workers run one sweep while ``kill -9`` hits random workers, trainer
children and eval children at random moments; dead workers are restarted until T observations exist; then the
store is audited.

    .venv/bin/python bench/chaos.py [--store URL] [--workers N] [--kills K] [--trials T] [--seed S]

The trainer is a FAKE one (a Python script that sleeps 0.2-0.8 s, then writes a checkpoint, a score and
train_result.json); the evaluator is the real SimEvaluator machinery (a spawned eval child with a hard timeout)
running a fake scoring function that sleeps 0.2 s and reads that score. The store is a SQLite file in a temp dir
unless --store names one (postgresql://...). ``--store http`` serves a SQLite file through tools/sweep_server.py
and kills that server with SIGKILL ``--server-restarts`` times (default 2) mid-sweep, starting it again on the same
port after 0.5-3 s; workers ride it out by retrying. Last line, JSON: bench, store, workers, kills, started,
observations, lost (started trials without an observation after recovery), duplicate_ids, stale_running, wall_s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAKE_TRAINER = """
import json, math, os, random, sys, time
from pathlib import Path
args = dict(a.lstrip("+").split("=", 1) for a in sys.argv[1:])
run_dir = Path(args["run_dir"])
(run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
print("fake training", args.get("run"), flush=True)
time.sleep(random.uniform(0.2, 0.8))
lr = float(args.get("trainer.optimizer.learning_rate", "0.001"))
(run_dir / "checkpoints" / "model_0001.pt").write_bytes(b"x")
(run_dir / "fake_score.json").write_text(json.dumps({"score": -(math.log10(lr) + 3.0) ** 2}))
(run_dir / "train_result.json").write_text(json.dumps({"status": "success", "error": None}))
"""

SWEEP = {
    "metric": "reward",
    "goal": "maximize",
    "method": "bayes",
    "protein": {"num_random_samples": 2, "random_suggestions": 16, "suggestions_per_pareto": 4},
    "parameters": {
        "trainer": {
            "optimizer": {
                "learning_rate": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2, "mean": 1e-3, "scale": "auto"}
            }
        }
    },
}
BASE_TRAINER = {"batch_size": 1024, "minibatch_size": 256, "bptt_horizon": 64, "optimizer": {"learning_rate": 1e-3}}


def fake_eval_child(conn: Any, policy_uri: str, suite: str, db: str, metric: str, seed: int | None) -> None:
    """Eval child: note its pid for the chaos monkey, sleep, answer with the fake trainer's score."""
    run_dir = Path(policy_uri.removeprefix("file://")).parent
    (run_dir / "eval_child.pid").write_text(str(os.getpid()))
    time.sleep(0.2)
    conn.send(("ok", json.loads((run_dir / "fake_score.json").read_text())["score"], {}))
    conn.close()


def _job(tmp: Path, store: str, num_trials: int = 0) -> Any:
    from metta.sweep.sweep_config import resolve_sweep_job

    settings = {
        "max_consecutive_failures": 0,
        "rollout_retry_delay": 0,
        "sweep_server_uri": store,
        "heartbeat_interval": 0.2,
        "stale_trial_timeout": 30,
    }
    return resolve_sweep_job(
        {
            "sweep_name": tmp.name.replace("-", "_"),
            "data_dir": str(tmp),
            "sweep_dir": str(tmp / "sweep"),
            "seed": 0,
            "settings": settings,
            "sim_name": "sweep_eval",
            "sweep_job_overrides": {},
            "num_trials": num_trials,
            "wandb": {"mode": "disabled"},
            "sweep": SWEEP,
        }
    )


def worker_main(tmp: Path, store_uri: str) -> None:
    from metta.sweep.dispatch import LocalDispatcher
    from metta.sweep.loop import SweepLoop
    from metta.sweep.store import open_store
    from metta.sweep.trial import SimEvaluator

    job = _job(tmp, store_uri)
    ev = SimEvaluator("sweep_eval", "reward", child=fake_eval_child)
    trainer = [sys.executable, str(tmp / "fake_train.py")]
    loop = SweepLoop(job, open_store(store_uri), LocalDispatcher(trainer, progress_interval=5), ev, BASE_TRAINER)
    loop.run()


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (its trainer subprocess and spawned eval child), from /proc."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(d))
    return kids


class Server:
    """tools/sweep_server.py on a fixed loopback port over a SQLite file; ``restart`` kills it (-9) and starts it
    again on the same port after ``pause`` seconds."""

    TOKEN = "chaos-token"

    def __init__(self, tmp: Path) -> None:
        from metta.common.net import free_loopback_port

        self.port = free_loopback_port()
        self.db, self.log, self.restarts = tmp / "served.db", tmp / "server.log", 0
        self.url = f"http://127.0.0.1:{self.port}"
        os.environ["METTA_SWEEP_TOKEN"] = self.TOKEN  # inherited by the workers
        self.proc = self._start()

    def _start(self) -> subprocess.Popen:
        cmd = [
            sys.executable,
            str(ROOT / "tools" / "sweep_server.py"),
            "--store",
            str(self.db),
            "--port",
            str(self.port),
        ]
        env = {**os.environ, "METTA_SWEEP_SERVER_TOKEN": self.TOKEN}
        return subprocess.Popen(cmd, env=env, stdout=self.log.open("a"), stderr=subprocess.STDOUT)

    def restart(self, pause: float) -> None:
        self.proc.kill()
        self.proc.wait(30)
        time.sleep(pause)
        self.proc = self._start()
        self.restarts += 1

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(30)


def _start_worker(tmp: Path, store: str, i: int) -> subprocess.Popen:
    log = open(tmp / f"worker{i}.log", "a")
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", str(tmp), "--store", store],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def audit(tmp: Path, store_uri: str) -> dict[str, int]:
    """Recover what dead workers left running (as another worker would), then count."""
    from metta.sweep.loop import SweepLoop
    from metta.sweep.store import open_store

    job = _job(tmp, store_uri)
    store = open_store(store_uri)
    SweepLoop(job, store, None, None, BASE_TRAINER, log=lambda s: None).recover_orphans()  # type: ignore[arg-type]
    name = job.sweep_name
    started = {t.run_id for t in store.list_trials(name, None)}
    obs = [o.run_id for o in store.load_observations(name) if o.run_id]
    counts = Counter(obs)
    return {
        "started": len(started),
        "observations": len(obs),
        "lost": len(started - set(obs)),
        "duplicate_ids": sum(1 for c in counts.values() if c > 1),
        "stale_running": len(store.list_trials(name)),
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", default="", help="store URI, or 'http' (default: a new SQLite file)")
    p.add_argument("--server-restarts", type=int, default=2, help="with --store http: SIGKILL + restarts of the server")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--kills", type=int, default=6)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", default="", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        worker_main(Path(a.worker), a.store)
        return 0
    rng = random.Random(a.seed)
    tmp = Path(tempfile.mkdtemp(prefix="chaos-"))
    (tmp / "fake_train.py").write_text(FAKE_TRAINER)
    server = Server(tmp) if a.store == "http" else None
    store = server.url if server else (a.store or str(tmp / "sweeps.db"))
    from metta.sweep.store import open_store

    job = _job(tmp, store)
    t0 = time.monotonic()
    workers = [_start_worker(tmp, store, i) for i in range(a.workers)]
    kills: list[str] = []
    st = open_store(store)
    try:
        while time.monotonic() - t0 < 900:
            time.sleep(rng.uniform(0.3, 2.0))
            for i, w in enumerate(workers):
                if w.poll() is not None:
                    workers[i] = _start_worker(tmp, store, i)  # restart the dead
            n = st.count_observations(job.sweep_name, launched_only=True) if st.get_sweep(job.sweep_name) else 0
            restarts_done = server is None or server.restarts >= a.server_restarts
            if n >= a.trials and len(kills) >= a.kills and restarts_done:
                break
            if len(kills) < a.kills and (k := _kill_something(rng, workers)):
                kills.append(k)
            if server and server.restarts < a.server_restarts and rng.random() < 0.25:
                server.restart(rng.uniform(0.5, 3.0))
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGINT)
        for w in workers:
            try:
                w.wait(60)
            except subprocess.TimeoutExpired:
                w.kill()
    res = audit(tmp, store)
    if server:
        server.stop()
    logs = "".join((tmp / f"worker{i}.log").read_text() for i in range(a.workers))
    out = {
        "bench": "chaos",
        "store": store.split(":", 1)[0] if "://" in store else "sqlite",
        **({"server_restarts": server.restarts} if server else {}),
        "workers": a.workers,
        "kills": len(kills),
        "killed": dict(Counter(k.split(":")[0] for k in kills)),
        **res,
        "broken_pipe_tracebacks": logs.count("BrokenPipeError"),
        "wall_s": round(time.monotonic() - t0, 1),
        "trainer": "fake (sleeps 0.2-0.8 s, writes a checkpoint)",
    }
    print(f"kills: {kills}")
    print(json.dumps(out))
    return 0 if res["lost"] == 0 and res["duplicate_ids"] == 0 and res["stale_running"] == 0 else 1


def _kill_something(rng: random.Random, workers: list[subprocess.Popen]) -> str:
    """kill -9 a random busy worker (one running a trainer or eval child), or one of those children."""
    busy = [(w, kids) for w in workers if (kids := _children(w.pid))]
    if not busy:
        return ""
    w, kids = rng.choice(busy)
    kind = rng.choice(["worker", "child"])
    target = w.pid if kind == "worker" else rng.choice(kids)
    try:
        os.kill(target, signal.SIGKILL)
    except ProcessLookupError:
        return ""
    return f"{kind}:{target}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
