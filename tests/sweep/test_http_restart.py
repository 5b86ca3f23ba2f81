"""The HTTP store survives its server restarting: clients retry with backoff, and a write whose answer was lost is
neither lost nor applied twice. Real servers: a subprocess of tools/sweep_server.py killed with SIGKILL and started
again on the same port, and an in-process server whose connection drops after the store committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from metta.common.errors import StoreError
from metta.common.net import free_loopback_port
from metta.sweep.store import HTTPSweepStore, SQLiteSweepStore, SweepHTTPServer

from .conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def _start_server(db: Path, port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "tools" / "sweep_server.py"), "--store", str(db), "--port", str(port)]
    env = {**os.environ, "METTA_SWEEP_SERVER_TOKEN": TOKEN}
    return subprocess.Popen(cmd, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT)


def _wait_up(client: HTTPSweepStore, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the sweep server exited"
        try:
            client.get_sweep("probe")
            return
        except StoreError:
            time.sleep(0.1)
    raise AssertionError("the sweep server did not come up within 60 s")


def test_clients_ride_out_a_server_killed_and_restarted_mid_sweep(tmp_path: Path) -> None:
    db, port, log = tmp_path / "sweeps.db", free_loopback_port(), tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}"
    proc = _start_server(db, port, log)
    try:
        client = HTTPSweepStore(url, token=TOKEN, timeout_s=5, reconnect_s=60)
        quick = HTTPSweepStore(url, token=TOKEN, timeout_s=5, reconnect_s=0.3)
        _wait_up(quick, proc)
        client.register_sweep("s", {"metric": "m"})
        before = [client.next_run_id("s") for _ in range(3)]
        client.start_trial("s", before[0], {"lr": 0.1}, "w1")
        client.record_observation("s", before[0], {"lr": 0.1}, 0.5, 12.0, False)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        with pytest.raises(StoreError, match="gave up after retrying"):
            quick.next_run_id("s")  # nobody is listening: a short reconnect budget gives up with the reason
        restarted: list[subprocess.Popen] = []
        timer = threading.Timer(1.0, lambda: restarted.append(_start_server(db, port, log)))
        timer.start()
        t0 = time.monotonic()
        after = client.next_run_id("s")  # blocks, retrying, until the new server answers
        waited = time.monotonic() - t0
        timer.join()
        proc = restarted[0]
        assert waited >= 0.9
        client.start_trial("s", after, {"lr": 0.2}, "w1")
        client.record_observation("s", after, {"lr": 0.2}, 0.7, 9.0, False)
        assert len({*before, after}) == 4
        obs = client.load_observations("s")
        assert sorted((o.run_id, o.objective, o.cost) for o in obs) == sorted(
            [(before[0], 0.5, 12.0), (after, 0.7, 9.0)]
        )
    finally:
        proc.kill()
        proc.wait(30)


class _DropsAnswerOnce:
    """A store whose first ``start_trial`` and ``record_observation`` commit, then break the connection (as a
    server killed between its commit and its answer would)."""

    def __init__(self, inner: SQLiteSweepStore) -> None:
        self.inner, self.dropped = inner, set()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in ("start_trial", "record_observation"):
            return attr

        def once(*args: Any, **kwargs: Any) -> Any:
            out = attr(*args, **kwargs)
            if name not in self.dropped:
                self.dropped.add(name)
                raise ConnectionResetError("connection dropped after the commit (test)")
            return out

        return once


def test_a_write_whose_answer_was_lost_is_stored_once(tmp_path: Path) -> None:
    backing = SQLiteSweepStore(tmp_path / "s.db")
    lossy = _DropsAnswerOnce(backing)
    server = SweepHTTPServer(("127.0.0.1", 0), lossy, token=TOKEN)  # type: ignore[arg-type]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        client = HTTPSweepStore(server.url, token=TOKEN, timeout_s=5, reconnect_s=30)
        client.register_sweep("s")
        rid = client.next_run_id("s")
        trial = client.start_trial("s", rid, {"lr": 0.3}, "w1")
        obs = client.record_observation("s", rid, {"lr": 0.3}, 0.25, 4.0, False)
        assert (trial.run_id, trial.worker, trial.suggestion) == (rid, "w1", {"lr": 0.3})
        assert (obs.run_id, obs.objective, obs.cost, obs.is_failure) == (rid, 0.25, 4.0, False)
        assert lossy.dropped == {"start_trial", "record_observation"}  # both answers really were lost
        stored = backing.load_observations("s")
        assert [(o.run_id, o.objective) for o in stored] == [(rid, 0.25)]  # once, not twice
        assert backing.list_trials("s") == []  # the observation closed the trial
        # a genuine refusal still surfaces: a different result for an observed run is not this observation
        with pytest.raises(StoreError, match="already has an observation"):
            client.record_observation("s", rid, {"lr": 0.9}, 0.99, 1.0, False)
    finally:
        server.shutdown()
        server.server_close()
