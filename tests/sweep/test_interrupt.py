"""Ctrl-C is never lost: the interrupt flag, deferral over critical sections, and a stress test sending SIGINT at
random moments through trials (start record, trainer spawn, training, eval spawn, evaluation, recording)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metta.common import interrupt
from metta.common.config import REPO_ROOT
from metta.sweep.store import open_store

from .conftest import FAKE_TRAINER


def test_a_swallowed_keyboard_interrupt_is_raised_again_by_check() -> None:
    with interrupt.handling():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler raises here
        except KeyboardInterrupt:
            pass  # swallowed, as a finalizer or a C extension would
        assert interrupt.requested()
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_deferred_section_completes_then_raises() -> None:
    done = []
    with interrupt.handling(), pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # no raise inside the section
            done.append("recorded")
    assert done == ["recorded"]


def test_allowed_inside_deferred_raises_a_pending_interrupt_at_once() -> None:
    reached = []
    with interrupt.handling(), interrupt.deferred(raise_on_exit=False):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)
        with pytest.raises(KeyboardInterrupt), interrupt.allowed():
            reached.append("body")
    assert reached == []


STRESS_WORKER = '''
"""Runs SweepLoop.run() again and again in one process; the test interrupts each run with SIGINT."""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from tests.sweep.conftest import BASE_TRAINER, make_job
from tests.sweep.test_interrupt import fake_eval_child
from metta.sweep.dispatch import LocalDispatcher
from metta.sweep.loop import SweepLoop
from metta.sweep.store import open_store
from metta.sweep.trial import SimEvaluator

if __name__ == "__main__":
    cfg = json.loads(sys.argv[2])
    job = make_job(Path(cfg["tmp"]), name="s", num_trials=0, heartbeat_interval=0.05, **cfg.get("settings", {}))
    store = open_store(job.settings.sweep_server_uri)
    ev = SimEvaluator("sweep_eval", "reward", child=fake_eval_child)
    log = (lambda s: print(s, flush=True)) if cfg.get("verbose") else (lambda s: None)
    for k in range(cfg["rounds"]):
        loop = SweepLoop(job, store, LocalDispatcher(cfg["trainer"], progress_interval=0.2), ev, dict(BASE_TRAINER),
                         sleep=lambda s: None, log=log)
        print("RUN", k, flush=True)
        summary = loop.run()
        print("STOPPED", k, summary.stopped_reason, flush=True)
'''


def fake_eval_child(conn, policy_uri: str, suite: str, db: str, metric: str, seed: int | None) -> None:
    """Spawned eval child for the stress test: reads the fake trainer's score (no torch)."""
    run_dir = Path(policy_uri.removeprefix("file://")).parent
    (run_dir / "eval_child.pid").write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("FAKE_EVAL_SLEEP", "0.05")))
    conn.send(("ok", json.loads((run_dir / "fake_score.json").read_text())["score"], {}))
    conn.close()


def test_sigint_at_random_moments_always_stops_the_worker_with_the_right_records(tmp_path: Path) -> None:
    rounds, bound_s = 14, 30.0
    rng = random.Random(13)
    (tmp_path / "t.py").write_text(FAKE_TRAINER)
    (tmp_path / "w.py").write_text(STRESS_WORKER)
    cfg = {"tmp": str(tmp_path), "rounds": rounds, "trainer": [sys.executable, str(tmp_path / "t.py")]}
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "w.py"), str(REPO_ROOT), json.dumps(cfg)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "FAKE_TRAIN_SLEEP": "0.05"},
    )
    assert proc.stdout is not None
    stops = []
    try:
        for k in range(rounds):
            assert proc.stdout.readline().split() == ["RUN", str(k)]
            time.sleep(rng.uniform(0.0, 1.2))  # a trial takes ~0.5 s: offsets land in every phase of one
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            line = _readline_within(proc, bound_s)
            stops.append(time.monotonic() - t0)
            assert line.startswith(f"STOPPED {k} interrupted by user"), line
        assert proc.wait(bound_s) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    store = open_store(tmp_path / "sweeps.db")
    assert store.list_trials("s") == []  # nothing left running
    obs = store.load_observations("s")
    ids = [o.run_id for o in obs if o.run_id]
    assert len(ids) == len(set(ids)) and len(ids) == store.count_observations("s", launched_only=True)
    for o in obs:
        assert (not o.is_failure and o.objective is not None) or o.reason == "interrupted by user (Ctrl-C)", o
    print(f"stops after SIGINT: max {max(stops):.2f}s over {rounds} rounds; {len(ids)} trials")


def _readline_within(proc: subprocess.Popen, timeout_s: float) -> str:
    import selectors

    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout_s):
        raise AssertionError(f"worker did not stop within {timeout_s}s of SIGINT")
    return proc.stdout.readline()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _wait_for(pred, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


@pytest.mark.parametrize("phase", ["train", "eval"])
def test_kill_9_of_a_worker_takes_its_children_quietly_and_the_trial_keeps_its_cost(tmp_path: Path, phase: str) -> None:
    from metta.sweep.loop import SweepLoop

    from .conftest import BASE_TRAINER, FakeEvaluator, make_job

    (tmp_path / "t.py").write_text(FAKE_TRAINER)
    (tmp_path / "w.py").write_text(STRESS_WORKER)
    cfg = {"tmp": str(tmp_path), "rounds": 1, "trainer": [sys.executable, str(tmp_path / "t.py")], "verbose": True}
    log_path = tmp_path / "worker.log"
    sleeps = {"FAKE_TRAIN_SLEEP": "30" if phase == "train" else "1.0", "FAKE_EVAL_SLEEP": "3"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(tmp_path / "w.py"), str(REPO_ROOT), json.dumps(cfg)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **sleeps},
        )
    run_dir = tmp_path / "sweep" / "s" / "runs" / "s.r.0"
    marker = run_dir / ("fake_score.json" if phase == "eval" else "checkpoints")
    try:
        assert _wait_for(lambda: (run_dir / "eval_child.pid").exists() if phase == "eval" else marker.exists(), 60)
        time.sleep(1.0)  # let it train (and heartbeat) for a while, so the recovered cost is clearly > 0.5 s
        trainer = _children_running(str(tmp_path / "t.py"))
        child = int((run_dir / "eval_child.pid").read_text()) if phase == "eval" else trainer[0]
        assert _alive(child)
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _wait_for(lambda: not _alive(child), 10), f"{phase} child {child} outlived its worker"
    time.sleep(3.5 if phase == "eval" else 0.5)  # past the moment the eval child would have answered
    text = log_path.read_text()
    assert "Traceback" not in text and "BrokenPipeError" not in text, text
    # another worker recovers the dead worker's trial; its cost is the time it was alive, not 0
    job = make_job(tmp_path, name="s", num_trials=1)
    store = open_store(tmp_path / "sweeps.db")
    (running,) = store.list_trials("s")
    loop = SweepLoop(job, store, None, FakeEvaluator(), dict(BASE_TRAINER), log=lambda s: None)  # type: ignore[arg-type]
    assert loop.recover_orphans() == ["s.r.0"]
    (o,) = store.load_observations("s")
    alive_s = running.heartbeat_at - running.started_at
    assert o.reason == "interrupted" and o.cost == pytest.approx(max(alive_s, 1e-3))
    assert o.cost >= 0.5  # it trained (with heartbeats every 0.05 s) for at least that long


def _children_running(script: str) -> list[int]:
    from .test_loop import _processes_running

    return _processes_running(script)
