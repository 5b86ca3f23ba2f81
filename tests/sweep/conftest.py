"""Fixtures for the sweep-execution tests: one ``store`` fixture parametrised over every SweepStore backend."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from metta.sweep.store import PostgresSweepStore, SQLiteSweepStore, SweepHTTPServer, SweepStore, open_store

POSTGRES_ENV = "METTA_TEST_POSTGRES_URL"
TOKEN = "test-token"


def postgres_url() -> str:
    """The test PostgreSQL URL: ``METTA_TEST_POSTGRES_URL`` when set (CI's .ci/run exports it), else a private server
    started for this test session (stopped at its end); skips with the reason only when none can be started."""
    url = os.environ.get(POSTGRES_ENV, "")
    if url:
        return url
    from tests import postgres_server

    try:
        return postgres_server.start()
    except RuntimeError as exc:
        pytest.skip(f"{POSTGRES_ENV} is not set and {exc}")


@pytest.fixture(scope="session", autouse=True)
def _stop_private_postgres() -> Iterator[None]:
    """Stop the private PostgreSQL server (if one was started) when the session ends."""
    yield
    from tests import postgres_server

    postgres_server.stop()


class ServedStore:
    """An HTTP sweep service on a free loopback port, backed by a SQLite file; stopped at teardown."""

    def __init__(self, db: Path, token: str = TOKEN) -> None:
        self.backing, self.backing_path = SQLiteSweepStore(db), db
        self.server = SweepHTTPServer(("127.0.0.1", 0), self.backing, token=token)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.backing.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedStore]:
    s = ServedStore(tmp_path / "served.db")
    yield s
    s.stop()


@pytest.fixture(params=["sqlite", "postgres", "http"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SweepStore]:
    """Every backend behind one fixture; the contract suite runs once per backend."""
    if request.param == "sqlite":
        s: SweepStore = open_store(tmp_path / "sweeps.db")
        yield s
        s.close()
    elif request.param == "postgres":
        s = PostgresSweepStore(postgres_url())
        yield s
        s.close()
    else:
        served = ServedStore(tmp_path / "served.db")
        monkeypatch.setenv("METTA_SWEEP_TOKEN", TOKEN)
        s = open_store(served.url)
        yield s
        served.stop()


@pytest.fixture
def sweep_name() -> str:
    """A fresh sweep name, so tests sharing one PostgreSQL database never see each other's rows."""
    return f"t_{uuid.uuid4().hex[:12]}"


FAKE_TRAINER = '''
"""Fake tools/train.py for loop tests: parses key=value args, writes a checkpoint, train_result.json and a score.
FAKE_TRAIN_MODE: ok | crash | nocheckpoint | nan | hang ; FAKE_TRAIN_SLEEP: seconds to sleep first."""
import json, math, os, sys, time
from pathlib import Path
args = dict(a.lstrip("+").split("=", 1) for a in sys.argv[1:])
run_dir = Path(args["run_dir"])
mode = os.environ.get("FAKE_TRAIN_MODE", "ok")
(run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
print("fake training", args.get("run"), flush=True)
time.sleep(float(os.environ.get("FAKE_TRAIN_SLEEP", "0")))
if mode == "hang":
    time.sleep(3600)
if mode == "crash":
    print("boom: simulated crash", flush=True)
    sys.exit(3)
lr = float(args.get("trainer.optimizer.learning_rate", "0.001"))
score = float("nan") if mode == "nan" else -(math.log10(lr) + 3.0) ** 2
if mode != "nocheckpoint":
    (run_dir / "checkpoints" / "model_0001.pt").write_bytes(b"x")
(run_dir / "fake_score.json").write_text(json.dumps({"score": score, "args": args}))
(run_dir / "train_result.json").write_text(json.dumps({"status": "success", "error": None, "wall_time_s": 0.1}))
'''


@pytest.fixture
def fake_trainer(tmp_path: Path) -> list[str]:
    """Command prefix of the fake trainer script (writes checkpoint + fake_score.json)."""
    import sys

    script = tmp_path / "fake_train.py"
    script.write_text(FAKE_TRAINER)
    return [sys.executable, str(script)]


class FakeEvaluator:
    """Reads the score the fake trainer wrote; no torch, no simulation."""

    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, run_dir: Path, timeout_s: float):  # EvalOutcome
        import json

        from metta.sweep.trial import EvalOutcome

        self.calls += 1
        data = json.loads((run_dir / "fake_score.json").read_text())
        return EvalOutcome(score=float(data["score"]), wall_s=0.01)


BASE_TRAINER = {
    "batch_size": 1024,
    "minibatch_size": 256,
    "bptt_horizon": 64,
    "total_timesteps": 1000,
    "optimizer": {"learning_rate": 0.001},
    "ppo": {"gamma": 0.99},
}

QUICK_SWEEP = {
    "metric": "reward",
    "goal": "maximize",
    "method": "bayes",
    "protein": {"num_random_samples": 2, "random_suggestions": 32, "suggestions_per_pareto": 8},
    "parameters": {
        "trainer": {
            "optimizer": {
                "learning_rate": {"distribution": "log_normal", "min": 1e-4, "max": 1e-2, "mean": 1e-3, "scale": "auto"}
            }
        }
    },
}


def make_job(tmp_path: Path, name: str = "s", sweep: dict | None = None, uri: str | None = None, **settings):
    """A SweepJobConfig built from plain data (no Hydra), rooted in tmp_path."""
    from metta.sweep.sweep_config import resolve_sweep_job

    num_trials = settings.pop("num_trials", 2)
    base = {
        "max_consecutive_failures": 0,
        "rollout_retry_delay": 0,
        "max_observations_to_load": 250,
        "sweep_server_uri": uri or str(tmp_path / "sweeps.db"),
        "heartbeat_interval": 0.2,
    }
    base.update(settings)
    return resolve_sweep_job(
        {
            "sweep_name": name,
            "data_dir": str(tmp_path),
            "sweep_dir": str(tmp_path / "sweep" / name),
            "seed": 0,
            "settings": base,
            "sim_name": "sweep_eval",
            "sweep_job_overrides": {},
            "num_trials": num_trials,
            "wandb": {"mode": "disabled"},
            "sweep": sweep or QUICK_SWEEP,
        }
    )


WORKER_SCRIPT = '''
"""A sweep worker for process-level tests: SweepLoop + fake trainer command + fake evaluator."""
import json, sys
sys.path.insert(0, sys.argv[1])
from tests.sweep.conftest import BASE_TRAINER, FakeEvaluator, make_job
from metta.sweep.dispatch import LocalDispatcher
from metta.sweep.loop import SweepLoop
from metta.sweep.store import open_store
from pathlib import Path
cfg = json.loads(sys.argv[2])
job = make_job(Path(cfg["tmp"]), name=cfg["name"], uri=cfg.get("uri"), **cfg["settings"])
store = open_store(job.settings.sweep_server_uri)
loop = SweepLoop(job, store, LocalDispatcher(cfg["trainer"], progress_interval=0.2), FakeEvaluator(),
                 dict(BASE_TRAINER), sleep=lambda s: None)
summary = loop.run()
print("DONE", json.dumps([t.run_id for t in summary.trials]), flush=True)
'''


def start_worker(
    tmp_path: Path, trainer: list[str], name: str = "s", uri: str | None = None, env: dict | None = None, **settings
):
    """Start WORKER_SCRIPT as a subprocess (returns the Popen; stdout is a pipe)."""
    import json
    import subprocess
    import sys

    from metta.common.config import REPO_ROOT

    script = tmp_path / "worker.py"
    if not script.exists():
        script.write_text(WORKER_SCRIPT)
    cfg = {"tmp": str(tmp_path), "name": name, "uri": uri, "settings": settings, "trainer": trainer}
    return subprocess.Popen(
        [sys.executable, str(script), str(REPO_ROOT), json.dumps(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
