#!/usr/bin/env python3
"""Launch training or sweep workers on the cloud with SkyPilot (optional: `pip install -e '.[cloud]'`).

    ./devops/skypilot/launch.py train run=my_run --gpus 4 --nodes 2 --checkpoint-uri s3://bucket/ckpt
    ./devops/skypilot/launch.py sweep run=my_sweep                      # store from settings.sweep_server_uri
    ./devops/skypilot/launch.py sweep run=my_sweep --gpus 8 --nodes 4   # or METTA_SWEEP_SERVER_URI
    ./devops/skypilot/launch.py sweep run=my_sweep --no-spot --dry-run  # write + validate the task only

Jobs are SkyPilot managed jobs (`sky jobs launch`), so a preempted spot job is brought back: training resumes from
the newest checkpoint under --checkpoint-uri, a sweep resumes from its shared store. Every node of a training job
joins one torchrun rendezvous (devops/train.sh); every node of a sweep runs workers on the same store
(devops/sweep.sh), each node keeping all its GPUs busy (--gpus-per-trial). Extra key=value arguments are Hydra
overrides (train_job for train, sweep_job for sweep). The task YAML is written under the run's directory and
validated with SkyPilot's own parser when it is installed (offline), structurally otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

REPO = Path(__file__).resolve().parents[2]
SHARED_SCHEMES = ("postgresql://", "postgres://", "http://", "https://")
BUCKET_SCHEMES = ("s3://", "gs://", "r2://", "cos://", "oci://", "https://")
CKPT_MOUNT = "/mnt/metta-checkpoints"
STORE_ENV = "METTA_SWEEP_SERVER_URI"
TOKEN_ENV = "METTA_SWEEP_TOKEN"


class LaunchError(ValueError):
    """A launch request that cannot work; the message names the bad value and the fix."""


class LaunchSpec(BaseModel):
    """One launch request, as typed on the command line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: Literal["train", "sweep"] = Field(description="What every node runs.")
    run: str = Field(min_length=1, max_length=200, description="Run name (train) or sweep name (sweep).")
    overrides: tuple[str, ...] = Field((), description="Hydra overrides passed to every node.")
    gpus: int = Field(1, ge=0, le=64, description="GPUs per node; 0 = CPU-only nodes.")
    gpu_type: str = Field("L4", min_length=1, description="Accelerator name as SkyPilot spells it (L4, A100, H100).")
    nodes: int = Field(1, ge=1, le=512, description="Nodes per job.")
    cpus: int | None = Field(None, ge=1, le=1024, description="Minimum vCPUs per node (None = 8+).")
    spot: bool = Field(True, description="Use spot instances (managed jobs recover from preemption).")
    copies: int = Field(1, ge=1, le=100, description="Identical jobs to launch.")
    max_runtime_hours: float | None = Field(None, gt=0, le=24 * 30, description="Stop this long after launch.")
    git_ref: str | None = Field(None, description="Commit, branch or tag to run (default: this checkout).")
    cloud: str | None = Field(None, description="Cloud to run on (default: SkyPilot's choice).")
    checkpoint_uri: str | None = Field(None, description="Bucket URI or node path holding train checkpoints.")
    gpus_per_trial: int | None = Field(None, ge=1, le=64, description="Sweep: GPUs per trial (default: all).")
    workers: int = Field(1, ge=1, le=64, description="Sweep on CPU nodes: workers per node.")
    managed: bool = Field(True, description="Managed job (recovers); False = plain cluster via sky launch.")


def task_name(command: str, run: str, copy: int = 0) -> str:
    """A SkyPilot-valid job name: letters, digits, '-', starting with a letter, at most 63 characters."""
    base = re.sub(r"[^A-Za-z0-9-]+", "-", f"{command}-{run}").strip("-")
    suffix = f"-{copy}" if copy else ""
    return base[: 63 - len(suffix)].rstrip("-") + suffix


def check_store(uri: str, machines: int) -> str | None:
    """Whether ``uri`` can coordinate ``machines`` machines: None if shared, a warning for one machine with a
    local SQLite file; raises LaunchError for several machines without a shared store."""
    if uri.lower().startswith(SHARED_SCHEMES):
        return None
    if machines > 1:
        raise LaunchError(
            f"sweep store {uri!r} is a SQLite file, which {machines} machines cannot share. Fix: use a shared "
            f"store, e.g. settings.sweep_server_uri=postgresql://user@db:5432/sweeps, or run "
            f"`./tools/sweep_server.py --store <db> --host 0.0.0.0 --token T` (workers set METTA_SWEEP_TOKEN=T) "
            f"and pass settings.sweep_server_uri=http://host:8765"
            f" (or export {STORE_ENV}=...)"
        )
    return (
        f"sweep store {uri!r} is a SQLite file, so on the cloud it is a file on the node: the results live on "
        f"that machine and are lost with it (spot preemption included). Set settings.sweep_server_uri or "
        f"{STORE_ENV} to a postgresql:// or http(s):// store to keep them."
    )


def resolve_store(name: str, overrides: tuple[str, ...]) -> str:
    """The store the sweep itself would use: compose sweep_job with these overrides (settings.sweep_server_uri,
    else METTA_SWEEP_SERVER_URI, else the SQLite default). Also validates the sweep config before paying for nodes."""
    from metta.common.config import compose
    from metta.common.errors import MettaError
    from metta.sweep.sweep_config import resolve_sweep_job

    try:
        return resolve_sweep_job(compose("sweep_job", [f"sweep_name={name}", *overrides])).settings.sweep_server_uri
    except MettaError as exc:
        raise LaunchError(f"sweep config does not resolve: {exc}") from exc


def check_train_config(spec: LaunchSpec) -> None:
    """Resolve train_job with the run's overrides here (the node's hardware profile), so a typo fails before any
    node is paid for."""
    from metta.common.config import compose
    from metta.common.errors import MettaError
    from metta.rl.trainer_config import resolve_train_job

    hardware = (
        []
        if any(o.lstrip("+").startswith("hardware=") for o in spec.overrides)
        else ["hardware=gpu" if spec.gpus else "hardware=cpu"]
    )
    try:
        resolve_train_job(compose("train_job", [f"run={spec.run}", *hardware, *spec.overrides]))
    except MettaError as exc:
        raise LaunchError(f"train config does not resolve: {exc}") from exc


def resources(spec: LaunchSpec) -> dict[str, Any]:
    """SkyPilot resources: accelerators, CPUs, spot, cloud, and recovery for managed jobs."""
    res: dict[str, Any] = {"cpus": f"{spec.cpus}+" if spec.cpus else "8+", "use_spot": spec.spot}
    if spec.gpus:
        res["accelerators"] = {spec.gpu_type: spec.gpus}
    if spec.cloud:
        res["cloud"] = spec.cloud
    if spec.managed:
        # Preemptions are always recovered; a crash is retried twice (training resumes from its checkpoint).
        res["job_recovery"] = {"strategy": "EAGER_NEXT_REGION", "max_restarts_on_errors": 2}
    return res


def _quote(args: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in args)


def train_run(spec: LaunchSpec, run: str) -> str:
    """Every node: devops/train.sh (torchrun rendezvous from SkyPilot's node variables)."""
    args = [f"run={run}"]
    if spec.checkpoint_uri:
        root = CKPT_MOUNT if spec.checkpoint_uri.startswith(BUCKET_SCHEMES) else spec.checkpoint_uri.rstrip("/")
        args.append(f"run_dir={root}/{run}")
    return "./devops/skypilot/deadline.sh ./devops/train.sh " + _quote([*args, *spec.overrides])


def sweep_run(spec: LaunchSpec, overrides: tuple[str, ...]) -> str:
    """Every node: devops/sweep.sh, using all GPUs of the node (see --gpus-per-trial)."""
    args = [f"run={spec.run}"]
    if spec.gpus:
        k = spec.gpus_per_trial or spec.gpus
        if spec.gpus % k:
            raise LaunchError(f"--gpus-per-trial {k} does not divide --gpus {spec.gpus}; use a divisor of it")
        args.append(f"--gpus-per-trial={k}")
    else:
        if spec.gpus_per_trial:
            raise LaunchError("--gpus-per-trial needs GPU nodes; drop it or set --gpus N")
        args.append(f"--workers={spec.workers}")
    return "./devops/skypilot/deadline.sh ./devops/sweep.sh " + _quote([*args, *overrides])


def build_task(
    spec: LaunchSpec,
    workdir: Path,
    git_sha: str,
    run: str | None = None,
    store: str | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """The SkyPilot task of one job as plain data. ``store`` is the shared store URI of a sweep (None = the node's
    own SQLite file); it travels as a secret so credentials stay out of the YAML and the command line."""
    run = run or spec.run
    envs: dict[str, str] = {"METTA_RUN": run, "METTA_GIT_REF": git_sha, "DATA_DIR": "./train_dir"}
    secrets: dict[str, None] = {}
    if deadline is not None:
        envs["METTA_DEADLINE"] = str(int(deadline))
    if spec.command == "train":
        command = train_run(spec, run)
    else:
        overrides = tuple(o for o in spec.overrides if not (store and o.startswith("settings.sweep_server_uri=")))
        command = sweep_run(spec, overrides)
        if store:
            secrets[STORE_ENV] = None
            if store.lower().startswith(("http://", "https://")):
                secrets[TOKEN_ENV] = None
    if os.environ.get("WANDB_API_KEY"):
        secrets["WANDB_API_KEY"] = None
    task: dict[str, Any] = {
        "name": task_name(spec.command, run),
        "num_nodes": spec.nodes,
        "resources": resources(spec),
        "workdir": str(workdir),
        "envs": envs,
        "setup": "make setup",
        "run": command,
    }
    if secrets:
        task["secrets"] = secrets
    if spec.command == "train" and spec.checkpoint_uri and spec.checkpoint_uri.startswith(BUCKET_SCHEMES):
        task["file_mounts"] = {CKPT_MOUNT: {"source": spec.checkpoint_uri, "mode": "MOUNT_CACHED"}}
    return task


def validate(path: Path) -> str:
    """Validate a task file: with SkyPilot's parser when installed (offline, no cloud calls), else structurally."""
    data = yaml.safe_load(path.read_text())
    for key in ("name", "num_nodes", "resources", "workdir", "setup", "run"):
        if key not in data:
            raise LaunchError(f"{path}: task lacks {key!r}")
    try:
        import sky  # type: ignore[import-not-found]
    except ImportError:
        return "structure ok; SkyPilot not installed (pip install -e '.[cloud]') so its parser did not run"
    try:
        sky.Task.from_yaml(str(path))
    except ValueError as exc:  # sky.exceptions.InvalidSkyPilotConfigError is a ValueError
        raise LaunchError(f"SkyPilot rejects {path}: {exc}") from exc
    return "validated by sky.Task.from_yaml"


def git_source(ref: str | None, out_dir: Path) -> tuple[Path, str]:
    """(workdir, commit): this checkout and its HEAD, or an export of ``ref`` (needs no push, no credentials)."""

    def git(*args: str) -> str:
        r = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        if r.returncode:
            raise LaunchError(f"git {' '.join(args)} failed: {r.stderr.strip()}")
        return r.stdout.strip()

    if ref is None:
        try:
            return REPO, git("rev-parse", "HEAD")
        except (LaunchError, OSError):
            return REPO, "unknown"
    try:
        sha = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except LaunchError as exc:
        raise LaunchError(f"--git-ref {ref!r} is not a commit, branch or tag of this repository") from exc
    dest = out_dir / f"src-{sha[:12]}"
    if not (dest / "Makefile").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", sha], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest, sha


def sky_command(spec: LaunchSpec, task: dict[str, Any], path: Path) -> list[str]:
    """``sky jobs launch`` (managed) or ``sky launch --down`` (plain cluster) with the secrets taken from the env."""
    cmd = (
        ["sky", "jobs", "launch", "-y", "-n", task["name"]]
        if spec.managed
        else ["sky", "launch", "-y", "--down", "-c", task["name"]]
    )
    for key in task.get("secrets", {}):
        cmd += ["--secret", key]  # value read from this process's environment by the sky CLI
    return [*cmd, str(path)]


def parse(argv: list[str]) -> tuple[LaunchSpec, bool]:
    """(spec, dry_run) from the command line; exits 2 with argparse's message on bad flags."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["train", "sweep"], help="what to launch")
    p.add_argument("args", nargs="*", help="run=<name> plus Hydra overrides")
    p.add_argument("--gpus", type=int, default=1, help="GPUs per node (0 = CPU-only nodes); default 1")
    p.add_argument("--gpu-type", default="L4", help="accelerator type, e.g. L4, A10G, A100, H100; default L4")
    p.add_argument("--nodes", type=int, default=1, help="nodes per job")
    p.add_argument("--cpus", type=int, default=None, help="minimum vCPUs per node (default 8+)")
    p.add_argument("--no-spot", action="store_true", help="on-demand instead of spot instances")
    p.add_argument("--copies", type=int, default=1, help="identical jobs to launch (sweep: more workers)")
    p.add_argument("--max-runtime-hours", type=float, default=None, help="stop the job this long after launch")
    p.add_argument("--git-ref", default=None, help="commit/branch/tag to run instead of this checkout")
    p.add_argument("--cloud", default=None, help="aws, gcp, azure, kubernetes, ... (default: any)")
    p.add_argument("--checkpoint-uri", default=None, help="train: bucket (s3://, gs://, ...) or node path for runs")
    p.add_argument("--gpus-per-trial", type=int, default=None, help="sweep: GPUs per trial (default: all of a node)")
    p.add_argument("--workers", type=int, default=1, help="sweep on CPU nodes: workers per node")
    p.add_argument("--no-managed", action="store_true", help="plain `sky launch` cluster (no preemption recovery)")
    p.add_argument("--dry-run", action="store_true", help="write and validate the task YAML, do not launch")
    a = p.parse_intermixed_args(argv)
    names = [x.split("=", 1)[1] for x in a.args if x.startswith(("run=", "sweep_name="))]
    if len(names) != 1 or not names[0]:
        p.error("give the run (train) or sweep (sweep) name once: run=<name>")
    overrides = tuple(x for x in a.args if not x.startswith(("run=", "sweep_name=")))
    from pydantic import ValidationError

    try:
        spec = LaunchSpec(
            command=a.command,
            run=names[0],
            overrides=overrides,
            gpus=a.gpus,
            gpu_type=a.gpu_type,
            nodes=a.nodes,
            cpus=a.cpus,
            spot=not a.no_spot,
            copies=a.copies,
            max_runtime_hours=a.max_runtime_hours,
            git_ref=a.git_ref,
            cloud=a.cloud,
            checkpoint_uri=a.checkpoint_uri,
            gpus_per_trial=a.gpus_per_trial,
            workers=a.workers,
            managed=not a.no_managed,
        )
    except ValidationError as exc:
        p.error("; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors()))
    return spec, a.dry_run


def sweep_store(spec: LaunchSpec) -> str | None:
    """The shared store to hand to the nodes, or None when the nodes keep their own SQLite file (one machine)."""
    if spec.checkpoint_uri:
        raise LaunchError("--checkpoint-uri is for train; a sweep resumes from its store (settings.sweep_server_uri)")
    uri = resolve_store(spec.run, spec.overrides)
    warning = check_store(uri, spec.nodes * spec.copies)
    if warning:
        print(f"launch.py: warning: {warning}", file=sys.stderr)
        return None
    return uri


def check_train(spec: LaunchSpec) -> None:
    """Resolve the training config here and check where its checkpoints go (warn if nowhere durable)."""
    check_train_config(spec)
    uri = spec.checkpoint_uri
    if uri is None and spec.spot and spec.managed:
        print(
            "launch.py: warning: without --checkpoint-uri a preempted spot job restarts training from scratch",
            file=sys.stderr,
        )
    elif uri and not uri.startswith((*BUCKET_SCHEMES, "/")):
        raise LaunchError(
            f"--checkpoint-uri {uri!r}: give a bucket (s3://, gs://, r2://, ...) or an absolute path "
            "on the nodes (a mounted volume)"
        )


def plan(spec: LaunchSpec, data_dir: Path, now: float) -> tuple[list[tuple[Path, dict[str, Any]]], dict[str, str]]:
    """Write (and validate) the task YAML of every copy. Returns the (path, task) pairs and the secret values the
    ``sky`` command reads from its environment (the resolved store). Warnings go to stderr."""
    out_dir = data_dir / "sweep" / spec.run if spec.command == "sweep" else data_dir / spec.run
    store = sweep_store(spec) if spec.command == "sweep" else None
    if spec.command == "train":
        check_train(spec)
    workdir, sha = git_source(spec.git_ref, out_dir)
    deadline = now + spec.max_runtime_hours * 3600 if spec.max_runtime_hours else None
    out = []
    for i in range(1, spec.copies + 1):
        # Sweep copies are more workers on one sweep; train copies are separate runs with their own checkpoints.
        run = spec.run if spec.command == "sweep" or spec.copies == 1 else f"{spec.run}.c{i}"
        task = build_task(spec, workdir, sha, run, store, deadline)
        if spec.copies > 1:
            task["name"] = task_name(spec.command, run, i if spec.command == "sweep" else 0)
        path = out_dir / ("skypilot_task.yaml" if spec.copies == 1 else f"skypilot_task_{i}.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(task, sort_keys=False))
        print(f"task: {path} ({validate(path)})")
        out.append((path, task))
    return out, ({STORE_ENV: store} if store else {})


def main(argv: list[str]) -> int:
    spec, dry_run = parse(argv)
    try:
        tasks, secret_env = plan(spec, Path(os.environ.get("DATA_DIR", "./train_dir")), time.time())
    except LaunchError as exc:
        print(f"launch.py: {exc}", file=sys.stderr)
        return 2
    status = 0
    for path, task in tasks:
        cmd = sky_command(spec, task, path)
        print(("would run: " if dry_run else "running: ") + " ".join(cmd), flush=True)
        if not dry_run:
            status = subprocess.call(cmd, cwd=str(REPO), env={**os.environ, **secret_env}) or status
    return status


if __name__ == "__main__":
    sys.path.insert(0, str(REPO / "tools"))
    import _bootstrap  # noqa: F401  (re-exec into the repo .venv; puts the repo on sys.path)

    sys.exit(main(sys.argv[1:]))
