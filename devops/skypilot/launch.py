#!/usr/bin/env python3
"""Launch sweep workers on the cloud with SkyPilot (optional; `pip install -e '.[cloud]'`).

    ./devops/skypilot/launch.py sweep run=my_sweep --store postgresql://user@db.example:5432/sweeps --nodes 4
    ./devops/skypilot/launch.py sweep run=my_sweep --store http://coordinator:8765 --gpus 8 --no-spot
    ./devops/skypilot/launch.py sweep run=my_sweep --store postgresql://... --dry-run   # write + validate the YAML only

Every node runs `./devops/sweep.sh run=<name> --workers <W>` against the shared store, so all nodes work on one
sweep (unique run ids, no lost observations). A SQLite store cannot be shared between machines, so more than one node
needs a postgresql:// or http(s):// store. Extra key=value arguments are passed to every worker (sweep_job overrides).
The task YAML is written to <data_dir>/sweep/<name>/skypilot_task.yaml and validated (with SkyPilot when installed).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED_SCHEMES = ("postgresql://", "postgres://", "http://", "https://")


def build_task(name: str, store: str, nodes: int, gpus: int, workers: int, spot: bool, overrides: list[str],
               cloud: str | None = None) -> dict[str, Any]:
    """The SkyPilot task as plain data; raises ValueError for unusable combinations."""
    if nodes < 1 or workers < 1 or gpus < 0:
        raise ValueError(f"nodes={nodes}, workers={workers} must be >= 1 and gpus={gpus} >= 0")
    if nodes > 1 and not store.startswith(SHARED_SCHEMES):
        raise ValueError(f"{nodes} nodes need a shared store (postgresql:// or http(s)://), got {store!r}")
    args = [f"run={name}", f"--workers={workers}", f"settings.sweep_server_uri={store}", *overrides]
    resources: dict[str, Any] = {"use_spot": spot}
    if gpus:
        resources["accelerators"] = f"L4:{gpus}"
    else:
        resources["cpus"] = "8+"
    if cloud:
        resources["cloud"] = cloud
    return {
        "name": f"sweep-{name}".replace("_", "-").replace(".", "-")[:60],
        "num_nodes": nodes,
        "resources": resources,
        "workdir": ".",
        "envs": {"METTA_SWEEP_TOKEN": "${METTA_SWEEP_TOKEN}"} if store.startswith(("http://", "https://")) else {},
        "setup": "make setup",
        "run": "./devops/sweep.sh " + " ".join(shlex.quote(a) for a in args),
    }


def validate(path: Path) -> str:
    """Validate the task file: with SkyPilot when installed (offline, milliseconds), else structurally."""
    data = yaml.safe_load(path.read_text())
    for key in ("name", "num_nodes", "resources", "setup", "run"):
        if key not in data:
            raise ValueError(f"{path}: task lacks {key!r}")
    try:
        import sky  # type: ignore[import-not-found]
    except ImportError:
        return "structure ok (SkyPilot not installed: pip install -e '.[cloud]' for full validation)"
    sky.Task.from_yaml(str(path))
    return "validated by sky.Task.from_yaml"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["sweep"], help="what to launch")
    p.add_argument("args", nargs="*", help="run=<sweep_name> plus sweep_job overrides")
    p.add_argument("--store", required=True, help="shared store URI (postgresql://... or http(s)://...)")
    p.add_argument("--nodes", type=int, default=1)
    p.add_argument("--gpus", type=int, default=0, help="GPUs per node (0 = CPU nodes)")
    p.add_argument("--workers", type=int, default=1, help="sweep workers per node")
    p.add_argument("--no-spot", action="store_true", help="on-demand instead of spot instances")
    p.add_argument("--cloud", default=None)
    p.add_argument("--dry-run", action="store_true", help="write and validate the task YAML, do not launch")
    a = p.parse_args(argv)
    names = [x.split("=", 1)[1] for x in a.args if x.startswith(("run=", "sweep_name="))]
    if len(names) != 1:
        p.error("give the sweep name once: run=<sweep_name>")
    overrides = [x for x in a.args if not x.startswith(("run=", "sweep_name="))]
    try:
        task = build_task(names[0], a.store, a.nodes, a.gpus, a.workers, not a.no_spot, overrides, a.cloud)
    except ValueError as exc:
        print(f"launch.py: {exc}", file=sys.stderr)
        return 2
    out = Path(os.environ.get("DATA_DIR", "./train_dir")) / "sweep" / names[0] / "skypilot_task.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(task, sort_keys=False))
    print(f"task: {out} ({validate(out)})")
    if a.dry_run:
        return 0
    return subprocess.call(["sky", "launch", "-y", "-c", task["name"], str(out)], cwd=str(REPO))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
