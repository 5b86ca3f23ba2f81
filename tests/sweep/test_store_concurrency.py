"""Several processes on one sweep: unique run ids and no lost observations, on every backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT
from metta.sweep.store import open_store

from .conftest import TOKEN, ServedStore, fake_trainer, postgres_url, start_worker  # noqa: F401

N_PER_PROC = 40
CLIENT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from metta.sweep.store import open_store
s = open_store(sys.argv[2]); name = sys.argv[3]; n = int(sys.argv[4])
s.register_sweep(name)
ids = []
for i in range(n):
    rid = s.next_run_id(name)
    s.start_trial(name, rid, {"i": i, "rid": rid}, "w")
    s.record_observation(name, rid, {"i": i}, float(i), 1.0, False)
    ids.append(rid)
print(json.dumps(ids))
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "http"])
def test_three_processes_get_unique_ids_and_lose_nothing(backend: str, tmp_path: Path) -> None:
    served = None
    env = dict(os.environ)
    if backend == "sqlite":
        uri = str(tmp_path / "c.db")
    elif backend == "postgres":
        uri = postgres_url()
    else:
        served = ServedStore(tmp_path / "served.db")
        uri, env["METTA_SWEEP_TOKEN"] = served.url, TOKEN
    name = f"c_{uuid.uuid4().hex[:8]}"
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CLIENT, str(REPO_ROOT), uri, name, str(N_PER_PROC)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(3)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
        ids = [rid for out, _ in outs for rid in json.loads(out)]
        assert len(ids) == 3 * N_PER_PROC and set(ids) == {f"{name}.r.{i}" for i in range(3 * N_PER_PROC)}
        store = open_store(uri) if backend != "http" else served.backing  # type: ignore[union-attr]
        assert store.count_observations(name) == 3 * N_PER_PROC
        assert {o.run_id for o in store.load_observations(name)} == set(ids)
        assert store.list_trials(name) == []
    finally:
        if served is not None:
            served.stop()


def test_three_sweep_workers_share_one_sweep(tmp_path: Path, fake_trainer: list[str]) -> None:  # noqa: F811
    procs = [start_worker(tmp_path, fake_trainer, num_trials=2) for _ in range(3)]
    outs = [p.communicate(timeout=180)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    ids = [rid for out in outs for rid in json.loads(out.rsplit("DONE", 1)[1])]
    assert sorted(ids) == [f"s.r.{i}" for i in range(6)]
    store = open_store(tmp_path / "sweeps.db")
    obs = store.load_observations("s")
    assert len(obs) == 6 and all(not o.is_failure and o.cost > 0 for o in obs)
    lrs = {round(o.suggestion["trainer"]["optimizer"]["learning_rate"], 9) for o in obs}
    assert len(lrs) >= 4  # workers see each other's pending/finished points instead of repeating one
