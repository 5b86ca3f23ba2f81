"""devops/skypilot/launch.py builds a valid multi-node task that points every node at one shared store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from metta.common.config import REPO_ROOT


def _load():  # noqa: ANN202 - devops/skypilot/launch.py is a script, not a package module
    import importlib.util

    spec = importlib.util.spec_from_file_location("skypilot_launch", REPO_ROOT / "devops" / "skypilot" / "launch.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


build_task = _load().build_task


def test_task_runs_sweep_sh_against_the_shared_store() -> None:
    t = build_task(
        "my_sweep", "postgresql://u@db:5432/s", nodes=4, gpus=8, workers=2, spot=True, overrides=["sweep=full"]
    )
    assert t["num_nodes"] == 4 and t["resources"] == {"use_spot": True, "accelerators": "L4:8"}
    assert t["run"] == (
        "./devops/sweep.sh run=my_sweep --workers=2 settings.sweep_server_uri=postgresql://u@db:5432/s sweep=full"
    )
    assert t["name"] == "sweep-my-sweep"


def test_several_nodes_refuse_an_unshared_sqlite_store() -> None:
    with pytest.raises(ValueError, match="shared store"):
        build_task("s", "./train_dir/sweep/sweeps.db", nodes=2, gpus=0, workers=1, spot=True, overrides=[])


def test_dry_run_writes_and_validates_the_yaml(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "devops" / "skypilot" / "launch.py"),
            "sweep",
            "run=sk",
            "--store",
            "http://coord:8765",
            "--nodes",
            "2",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"DATA_DIR": str(tmp_path), "PATH": ""},
    )
    assert r.returncode == 0, r.stderr
    task = yaml.safe_load((tmp_path / "sweep" / "sk" / "skypilot_task.yaml").read_text())
    assert task["num_nodes"] == 2 and task["envs"] == {"METTA_SWEEP_TOKEN": "${METTA_SWEEP_TOKEN}"}
    assert "settings.sweep_server_uri=http://coord:8765" in task["run"]
