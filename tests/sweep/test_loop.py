"""The sweep loop with a fake trainer subprocess and a fake evaluator (fast; real subprocesses, real SQLite)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from metta.common.errors import SweepError
from metta.sweep.dispatch import LocalDispatcher
from metta.sweep.loop import SweepLoop
from metta.sweep.store import TRIAL_RUNNING, open_store

from .conftest import BASE_TRAINER, QUICK_SWEEP, FakeEvaluator, make_job


def _loop(job, fake_trainer, log=None, **kw):
    store = open_store(job.settings.sweep_server_uri)
    lines: list[str] = [] if log is None else log
    loop = SweepLoop(
        job,
        store,
        LocalDispatcher(fake_trainer, progress_interval=0.05),
        FakeEvaluator(),
        copy.deepcopy(BASE_TRAINER),
        log=lines.append,
        sleep=lambda s: None,
        seed_salt=1,
        **kw,
    )
    return loop, store, lines


def test_two_trials_record_observations_with_positive_costs(tmp_path: Path, fake_trainer: list[str]) -> None:
    job = make_job(tmp_path, num_trials=2)
    loop, store, lines = _loop(job, fake_trainer)
    summary = loop.run()
    assert [t.run_id for t in summary.trials] == ["s.r.0", "s.r.1"]
    obs = store.load_observations("s")
    assert len(obs) == 2 and all(not o.is_failure and o.cost > 0 for o in obs)
    # the first suggestion is the search centre (lr=1e-3), whose fake score is exactly 0
    first = obs[-1]
    assert first.suggestion["trainer"]["optimizer"]["learning_rate"] == pytest.approx(1e-3, rel=1e-6)
    assert first.objective == pytest.approx(0.0, abs=1e-9)
    run_dir = tmp_path / "sweep" / "s" / "runs" / "s.r.0"
    log = (run_dir / "train.log").read_text()
    assert "fake training s.r.0" in log and "++trainer.optimizer.learning_rate=" in log
    assert store.list_trials("s") == []
    assert any("s.r.1 score=" in line for line in lines)
    meta = store.get_sweep("s").meta  # what validate_sweep and get_best_params read back, whatever sweep= says
    assert meta["train_overrides"] == job.train_overrides() and "parameters" in meta["config"]


def test_resuming_with_another_search_space_warns_and_the_same_one_does_not(
    tmp_path: Path, fake_trainer: list[str]
) -> None:
    job = make_job(tmp_path, num_trials=1)
    for again, warned in ((job, False), (make_job(tmp_path, sweep={**QUICK_SWEEP, "goal": "minimize"}), True)):
        _loop(job, fake_trainer)[0].register()
        loop, _, lines = _loop(again, fake_trainer)
        loop.register()
        assert any("registered with another sweep config" in line for line in lines) is warned, lines
    assert open_store(job.settings.sweep_server_uri).get_sweep("s").meta["goal"] == "maximize"  # the first one is kept


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("crash", "training crashed (exit code 3): boom"), ("nocheckpoint", "missing checkpoint"), ("nan", "NaN score")],
)
def test_failures_are_recorded_with_reason_and_loop_continues(
    tmp_path: Path, fake_trainer: list[str], monkeypatch: pytest.MonkeyPatch, mode: str, reason: str
) -> None:
    monkeypatch.setenv("FAKE_TRAIN_MODE", mode)
    job = make_job(tmp_path, num_trials=3, max_consecutive_failures=0)
    loop, store, _ = _loop(job, fake_trainer)
    summary = loop.run()
    assert len(summary.trials) == 3  # 0 = never stop on failures
    obs = store.load_observations("s")
    assert len(obs) == 3
    for o in obs:
        assert o.is_failure and o.objective is None and o.cost > 0 and reason in o.reason


def test_consecutive_failure_limit_stops_after_exceeding(
    tmp_path: Path, fake_trainer: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TRAIN_MODE", "crash")
    job = make_job(tmp_path, num_trials=10, max_consecutive_failures=2, rollout_retry_delay=7)
    store = open_store(job.settings.sweep_server_uri)
    sleeps: list[float] = []
    loop = SweepLoop(
        job,
        store,
        LocalDispatcher(fake_trainer),
        FakeEvaluator(),
        copy.deepcopy(BASE_TRAINER),
        log=lambda s: None,
        sleep=sleeps.append,
        seed_salt=1,
    )
    summary = loop.run()
    assert len(summary.trials) == 3 and "max_consecutive_failures=2" in summary.stopped_reason
    assert sleeps == [7, 7]  # retry delay after each failure that did not stop the loop
    assert store.count_observations("s") == 3


def test_training_timeout_is_a_failure(
    tmp_path: Path, fake_trainer: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TRAIN_MODE", "hang")
    job = make_job(tmp_path, num_trials=1, train_timeout=1.0)
    loop, store, _ = _loop(job, fake_trainer)
    loop.run()
    (o,) = store.load_observations("s")
    assert o.is_failure and "training timeout" in o.reason and o.cost >= 1.0


def test_constraint_violations_are_recorded_as_failures_and_reasked(tmp_path: Path, fake_trainer: list[str]) -> None:
    sweep = copy.deepcopy(QUICK_SWEEP)
    # minibatch in [128, 2048] against batch 1024 -> 2048 violates batch % minibatch; bptt 64 always divides
    sweep["parameters"]["trainer"]["minibatch_size"] = {
        "distribution": "uniform_pow2",
        "min": 128,
        "max": 2048,
        "mean": 2048,
        "scale": "auto",
    }
    sweep["protein"]["num_random_samples"] = 20
    job = make_job(tmp_path, sweep=sweep, num_trials=4)
    loop, store, _ = _loop(job, fake_trainer)
    summary = loop.run()
    assert summary.rejections >= 1  # the centre (2048) is rejected first
    rejected = [o for o in store.load_observations("s") if o.run_id is None]
    assert len(rejected) == summary.rejections
    assert all(o.is_failure and "not divisible by minibatch_size=2048" in o.reason for o in rejected)
    launched = [t for t in summary.trials]
    assert len(launched) == 4 and all(t.suggestion["trainer"]["minibatch_size"] <= 1024 for t in launched)
    assert store.count_observations("s", launched_only=True) == 4


def test_always_violating_space_stops_with_a_clear_error(tmp_path: Path, fake_trainer: list[str]) -> None:
    sweep = copy.deepcopy(QUICK_SWEEP)
    sweep["parameters"]["trainer"]["minibatch_size"] = {"distribution": "uniform_pow2", "min": 2048, "max": 4096}
    job = make_job(tmp_path, sweep=sweep, num_trials=1, max_rejections=3)
    loop, store, _ = _loop(job, fake_trainer)
    with pytest.raises(SweepError, match="violated trainer constraints"):
        loop.run()
    assert store.count_observations("s") == 3 and store.count_observations("s", launched_only=True) == 0


def test_pending_trials_of_other_workers_reach_the_optimizer(tmp_path: Path, fake_trainer: list[str]) -> None:
    job = make_job(tmp_path, num_trials=1)
    loop, store, _ = _loop(job, fake_trainer)
    loop.register()
    rid = store.next_run_id("s")
    centre = {"trainer": {"optimizer": {"learning_rate": 0.001}}}
    store.start_trial("s", rid, centre, "otherhost:1")  # alive elsewhere, fresh heartbeat
    _, _, opt = loop.build_optimizer()
    assert len(opt.history.pending_x()) == 1
    sugg, _ = loop.suggest_valid(opt)
    assert sugg["trainer"]["optimizer"]["learning_rate"] != pytest.approx(0.001)  # not the busy centre again
    assert [t.run_id for t in store.list_trials("s", TRIAL_RUNNING)] == [rid]


def test_dead_local_worker_trial_is_recorded_as_interrupted(tmp_path: Path, fake_trainer: list[str]) -> None:
    import socket
    import subprocess
    import sys

    job = make_job(tmp_path, num_trials=1)
    loop, store, _ = _loop(job, fake_trainer)
    loop.register()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    rid = store.next_run_id("s")
    store.start_trial(
        "s", rid, {"trainer": {"optimizer": {"learning_rate": 0.002}}}, f"{socket.gethostname()}:{int(dead.stdout)}"
    )
    summary = loop.run()
    obs = {o.run_id: o for o in store.load_observations("s")}
    assert obs[rid].is_failure and obs[rid].reason == "interrupted"
    assert summary.trials[0].run_id == "s.r.1"  # ids keep counting


def test_optimizer_is_kept_within_a_phase_fed_once_and_rebuilt_on_phase_change(
    tmp_path: Path, fake_trainer: list[str]
) -> None:
    sweep = copy.deepcopy(QUICK_SWEEP)
    sweep["schedule"] = {
        "phases": [
            {"name": "one", "num_runs": 2, "sweep": {}},
            {"name": "two", "num_runs": 5, "sweep": {"protein": {"expansion_rate": 0.1}}},
        ]
    }
    job = make_job(tmp_path, sweep=sweep, num_trials=1)
    loop, store, _ = _loop(job, fake_trainer)
    loop.register()
    phases, opts = [], []
    for _ in range(4):
        rec = loop.run_trial()
        phases.append(rec.phase)
        opts.append(loop._opt_state.opt)
    assert phases == ["one", "one", "two", "two"]
    assert opts[0] is opts[1] and opts[2] is opts[3] and opts[1] is not opts[2]
    _, _, opt = loop.build_optimizer()
    assert len(opt.history) == store.count_observations("s") == 4  # each observation fed exactly once
    assert len(opt.history.pending_x()) == 0


def test_ctrl_c_records_the_running_trial_and_stops_cleanly(tmp_path: Path, fake_trainer: list[str]) -> None:
    import os
    import signal
    import time

    from .conftest import start_worker

    store = open_store(tmp_path / "sweeps.db")
    w = start_worker(tmp_path, fake_trainer, env={"FAKE_TRAIN_SLEEP": "0"}, num_trials=1)
    assert w.wait(120) == 0  # one finished trial first
    w = start_worker(tmp_path, fake_trainer, env={"FAKE_TRAIN_SLEEP": "60"}, num_trials=3)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not store.list_trials("s"):
        time.sleep(0.2)
    (running,) = store.list_trials("s")
    time.sleep(0.5)  # let the trainer subprocess start
    os.kill(w.pid, signal.SIGINT)
    out = w.communicate(timeout=60)[0]
    assert w.returncode == 0 and "interrupted by user" in out, out
    obs = {o.run_id: o for o in store.load_observations("s")}
    assert not obs["s.r.0"].is_failure  # what finished before is kept
    assert obs[running.run_id].is_failure and obs[running.run_id].reason == "interrupted by user (Ctrl-C)"
    assert store.list_trials("s") == [] and len(obs) == 2
    assert not _processes_running(fake_trainer[1])  # the training subprocess was stopped too


def _processes_running(script: str) -> list[int]:
    import os

    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if script.encode() in f.read():
                        pids.append(int(d))
            except OSError:
                continue
    return pids


def test_trial_of_a_predecessor_with_the_same_pid_is_recovered(tmp_path: Path, fake_trainer: list[str]) -> None:
    import os
    import socket

    from metta.sweep.store.base import parse_worker_id, worker_id

    me = worker_id()
    assert parse_worker_id(me) == (socket.gethostname(), os.getpid()) and me == worker_id()
    job = make_job(tmp_path, num_trials=1)
    loop, store, _ = _loop(job, fake_trainer)
    loop.register()
    rid = store.next_run_id("s")
    # a container restart: the dead worker had our pid but another token
    store.start_trial(
        "s", rid, {"trainer": {"optimizer": {"learning_rate": 0.002}}}, f"{socket.gethostname()}:{os.getpid()}:deadbeef"
    )
    assert loop.recover_orphans() == [rid]
    (o,) = store.load_observations("s")
    assert o.reason == "interrupted" and 0 < o.cost < 5  # heartbeat - start, not the downtime


def seed_eval_child(conn, policy_uri: str, suite: str, db: str, metric: str, seed: int | None) -> None:
    """Spawned eval child: scores a run with the evaluation seed it was given (-1 for the suite's own)."""
    conn.send(("ok", float(-1 if seed is None else seed), {}))
    conn.close()


def test_each_trial_trains_and_is_evaluated_with_its_own_seed_unless_pinned(
    tmp_path: Path, fake_trainer: list[str]
) -> None:
    """With one shared seed a repeat of a configuration would reproduce its first run exactly (training is
    deterministic and the suite's evaluation seed fixed), so every trial gets a seed derived from the base seed and
    its run number, for training and, like a validation run, for evaluation."""
    import json

    from metta.sweep.trial import SimEvaluator, trial_seed

    def run(name: str, evaluator: SimEvaluator, **settings) -> tuple[list, list]:
        job = make_job(tmp_path, name=name, num_trials=2, **settings)
        loop = SweepLoop(
            job,
            open_store(job.settings.sweep_server_uri),
            LocalDispatcher(fake_trainer),
            evaluator,
            copy.deepcopy(BASE_TRAINER),
            log=lambda s: None,
            sleep=lambda s: None,
            seed_salt=1,
        )
        loop.run()
        runs = tmp_path / "sweep" / name / "runs"
        trained = [
            json.loads((runs / f"{name}.r.{n}" / "fake_score.json").read_text())["args"].get("system.seed")
            for n in (0, 1)
        ]
        scored = [o.objective for o in sorted(loop.store.load_observations(name), key=lambda o: o.seq)]
        return trained, scored

    own = [trial_seed(0, "s.r.0"), trial_seed(0, "s.r.1")]
    assert own[0] != own[1]
    trained, scored = run("s", SimEvaluator("sweep_eval", "reward", child=seed_eval_child))
    assert trained == [str(s) for s in own] and scored == [float(s) for s in own]
    _, fixed = run("f", SimEvaluator("sweep_eval", "reward", seed=5, child=seed_eval_child))
    assert fixed == [5.0, 5.0]  # an evaluator with an explicit seed keeps it
    trained, scored = run("p", SimEvaluator("sweep_eval", "reward", child=seed_eval_child), seed_per_trial=False)
    assert trained == [None, None] and scored == [-1.0, -1.0]  # the trainer's system.seed, the suite's seed


def test_trial_seeds_are_stable_distinct_and_31_bit() -> None:
    from metta.sweep.trial import trial_seed

    many = {trial_seed(0, f"s.r.{n}") for n in range(1000)}
    assert len(many) == 1000 and all(0 <= s < 2**31 for s in many)
    assert trial_seed(0, "s.r.7") == trial_seed(0, "other.r.7")  # the run number decides, not the sweep's name
    assert trial_seed(0, "s.r.7") != trial_seed(1, "s.r.7")
    assert trial_seed(3, "custom-run") == trial_seed(3, "custom-run")
    assert not many & set(range(1, 161))  # never a validation seed (1..N, or sweep_quality's 101..160)
