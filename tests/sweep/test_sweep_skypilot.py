"""devops/skypilot/launch.py: the documented launch commands (docs/sweeps.md) produce SkyPilot tasks that
SkyPilot's own parser accepts
(when SkyPilot is installed; structurally checked otherwise), with the store resolved like the sweep's own."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from metta.common.config import REPO_ROOT

LAUNCH = REPO_ROOT / "devops" / "skypilot" / "launch.py"
DEADLINE = REPO_ROOT / "devops" / "skypilot" / "deadline.sh"
HAVE_SKY = importlib.util.find_spec("sky") is not None
CHECKED_BY = "validated by sky.Task.from_yaml" if HAVE_SKY else "structure ok"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("skypilot_launch", LAUNCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # pydantic resolves the model's annotations through the module
    spec.loader.exec_module(mod)
    return mod


launch = _load()


def _dry(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: str | None = None,
) -> tuple[int, str, str]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    if store is None:
        monkeypatch.delenv(launch.STORE_ENV, raising=False)
    else:
        monkeypatch.setenv(launch.STORE_ENV, store)
    rc = launch.main([*argv, "--dry-run"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _task(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_documented_sweep_command_verbatim(tmp_path, monkeypatch, capsys) -> None:
    rc, out, err = _dry(["sweep", "run=my_sweep"], tmp_path, monkeypatch, capsys)
    assert rc == 0, err
    assert CHECKED_BY in out and "sky jobs launch -y -n sweep-my-sweep" in out  # a managed job
    assert "SQLite file" in err and "lost with it" in err  # one node on a local store: a warning, not an error
    t = _task(tmp_path / "sweep" / "my_sweep" / "skypilot_task.yaml")
    assert t["num_nodes"] == 1 and t["resources"]["use_spot"] is True
    assert t["resources"]["accelerators"] == {"L4": 1} and t["resources"]["job_recovery"]["strategy"]
    assert t["run"] == "./devops/skypilot/deadline.sh ./devops/sweep.sh run=my_sweep --gpus-per-trial=1"
    assert "secrets" not in t and Path(t["workdir"]) == REPO_ROOT


def test_documented_four_nodes_of_eight_gpus_on_a_shared_store(tmp_path, monkeypatch, capsys) -> None:
    store = "postgresql://metta:pw@db.internal:5432/sweeps"
    rc, out, err = _dry(
        ["sweep", "run=my_sweep", "--gpus", "8", "--nodes", "4"], tmp_path, monkeypatch, capsys, store=store
    )
    assert rc == 0, err
    assert CHECKED_BY in out and "--secret METTA_SWEEP_SERVER_URI" in out and err == ""
    t = _task(tmp_path / "sweep" / "my_sweep" / "skypilot_task.yaml")
    assert t["num_nodes"] == 4 and t["resources"]["accelerators"] == {"L4": 8}
    assert t["run"].endswith("./devops/sweep.sh run=my_sweep --gpus-per-trial=8")  # torchrun over all 8 per trial
    assert t["secrets"] == {"METTA_SWEEP_SERVER_URI": None}
    assert "pw@" not in (tmp_path / "sweep" / "my_sweep" / "skypilot_task.yaml").read_text()  # credentials stay out


def test_documented_no_spot(tmp_path, monkeypatch, capsys) -> None:
    rc, out, err = _dry(
        ["sweep", "run=my_sweep", "--no-spot"], tmp_path, monkeypatch, capsys, store="http://coord:8765"
    )
    assert rc == 0, err
    t = _task(tmp_path / "sweep" / "my_sweep" / "skypilot_task.yaml")
    assert t["resources"]["use_spot"] is False and CHECKED_BY in out
    assert t["secrets"] == {"METTA_SWEEP_SERVER_URI": None, "METTA_SWEEP_TOKEN": None}


def test_train_launch_multi_node_with_checkpoint_bucket(tmp_path, monkeypatch, capsys) -> None:
    before = time.time()
    rc, out, err = _dry(
        [
            "train",
            "run=my_run",
            "--gpus",
            "4",
            "--gpu-type",
            "A100",
            "--nodes",
            "2",
            "--cpus",
            "32",
            "--checkpoint-uri",
            "s3://bucket/ckpt",
            "--max-runtime-hours",
            "1.5",
            "--cloud",
            "aws",
            "trainer.total_timesteps=1000000",
        ],
        tmp_path,
        monkeypatch,
        capsys,
    )
    assert rc == 0, err
    assert CHECKED_BY in out and "sky jobs launch -y -n train-my-run" in out
    t = _task(tmp_path / "my_run" / "skypilot_task.yaml")
    assert t["num_nodes"] == 2 and t["resources"]["accelerators"] == {"A100": 4}
    assert t["resources"]["cpus"] == "32+" and t["resources"]["cloud"] == "aws"
    assert t["file_mounts"] == {"/mnt/metta-checkpoints": {"source": "s3://bucket/ckpt", "mode": "MOUNT_CACHED"}}
    assert t["run"] == (
        "./devops/skypilot/deadline.sh ./devops/train.sh run=my_run "
        "run_dir=/mnt/metta-checkpoints/my_run trainer.total_timesteps=1000000"
    )
    assert before + 5400 - 1 <= int(t["envs"]["METTA_DEADLINE"]) <= time.time() + 5400


def test_several_machines_refuse_a_sqlite_store_and_name_the_fix(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != launch.STORE_ENV}
    r = subprocess.run(
        [sys.executable, str(LAUNCH), "sweep", "run=s", "--nodes", "2", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "DATA_DIR": str(tmp_path)},
    )
    assert r.returncode == 2
    assert "2 machines cannot share" in r.stderr and "settings.sweep_server_uri=postgresql://" in r.stderr
    with pytest.raises(launch.LaunchError, match="3 machines"):
        launch.check_store("sqlite:///x.db", 3)  # e.g. --copies 3 on one node each
    assert launch.check_store("https://coord", 8) is None


def test_explicit_store_override_wins_over_the_env(tmp_path, monkeypatch, capsys) -> None:
    rc, out, err = _dry(
        ["sweep", "run=s", "--nodes", "2", "settings.sweep_server_uri=http://a:1", "num_trials=0"],
        tmp_path,
        monkeypatch,
        capsys,
        store="./local.db",
    )
    assert rc == 0, err
    t = _task(tmp_path / "sweep" / "s" / "skypilot_task.yaml")
    assert "sweep_server_uri" not in t["run"] and t["run"].endswith("num_trials=0")


def test_copies_git_ref_and_structural_fallback(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "sky", None)  # as if SkyPilot were not installed
    rc, out, err = _dry(
        ["train", "run=r", "--copies", "2", "--git-ref", "HEAD", "--gpus", "0"], tmp_path, monkeypatch, capsys
    )
    assert rc == 0, err
    assert out.count("structure ok; SkyPilot not installed") == 2
    t1, t2 = _task(tmp_path / "r" / "skypilot_task_1.yaml"), _task(tmp_path / "r" / "skypilot_task_2.yaml")
    assert "run=r.c1" in t1["run"] and "run=r.c2" in t2["run"] and t1["name"] != t2["name"]
    assert "accelerators" not in t1["resources"]
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert t1["envs"]["METTA_GIT_REF"] == head.stdout.strip()
        assert (Path(t1["workdir"]) / "devops" / "train.sh").exists()  # an export of that commit
    rc, _, err = _dry(["train", "run=r", "--git-ref", "no-such-ref-xyz"], tmp_path, monkeypatch, capsys)
    assert rc == 2 and "--git-ref 'no-such-ref-xyz'" in err


def test_gpus_per_trial_must_divide_the_node() -> None:
    spec = launch.LaunchSpec(command="sweep", run="s", gpus=8, gpus_per_trial=3)
    with pytest.raises(launch.LaunchError, match="does not divide"):
        launch.sweep_run(spec, ())
    ok = launch.LaunchSpec(command="sweep", run="s", gpus=8, gpus_per_trial=1)
    assert "--gpus-per-trial=1" in launch.sweep_run(ok, ())


@pytest.mark.parametrize(
    ("offset", "cmd", "rc", "max_s"), [(None, "exit 3", 3, 60), (-10, "exit 3", 0, 60), (2, "sleep 120", 0, 100)]
)
def test_deadline_wrapper(offset: int | None, cmd: str, rc: int, max_s: float) -> None:
    env = {k: v for k, v in os.environ.items() if k != "METTA_DEADLINE"}
    if offset is not None:
        env["METTA_DEADLINE"] = str(int(time.time()) + offset)
    t0 = time.monotonic()
    r = subprocess.run([str(DEADLINE), "bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=200)
    assert r.returncode == rc, r.stderr
    assert time.monotonic() - t0 < max_s  # the sleep was cut at the deadline, not run to its end


def test_launch_hands_the_store_to_sky_as_a_secret(tmp_path, monkeypatch, capsys) -> None:
    """Without --dry-run the `sky` CLI is called (a stand-in records its arguments and the secret it would read)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "sky_calls.txt"
    (bin_dir / "sky").write_text(f'#!/bin/sh\necho "$* | $METTA_SWEEP_SERVER_URI" >> {record}\n')
    (bin_dir / "sky").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv(launch.STORE_ENV, raising=False)
    rc = launch.main(["sweep", "run=sec", "--copies", "2", "settings.sweep_server_uri=postgresql://u:pw@db/s"])
    capsys.readouterr()
    assert rc == 0
    calls = record.read_text().splitlines()
    task = tmp_path / "sweep" / "sec"
    assert calls == [
        f"jobs launch -y -n sweep-sec-{i} --secret METTA_SWEEP_SERVER_URI {task}/skypilot_task_{i}.yaml | "
        "postgresql://u:pw@db/s"
        for i in (1, 2)
    ]


def test_a_bad_train_override_fails_before_launch(tmp_path, monkeypatch, capsys) -> None:
    rc, out, err = _dry(["train", "run=bad", "trainer.optimizer.learning_rate=-1"], tmp_path, monkeypatch, capsys)
    assert rc == 2 and "train config does not resolve" in err and "learning_rate" in err
    assert not (tmp_path / "bad" / "skypilot_task.yaml").exists()
