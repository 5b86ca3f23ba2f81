"""Writing policy checkpoints: ``<run_dir>/checkpoints/model_{epoch:04d}.pt``, atomically; pruning; resume.

A checkpoint is a ``torch.save`` of plain data and tensors only: format tag, policy spec (agent config as data,
num_actions, obs_shape, num_features) and state_dict, optimizer state, agent_step, epoch, the resolved
TrainJobConfig as plain data, the code version and free-form metadata. A checkpoint written by a Hydra-composed run
loads in a run configured from Python and vice versa, because both store the same ``TrainJobConfig.to_dict()``.
Reading, naming and policy URIs live in :mod:`metta.agent.checkpoint` (shared with evaluation).

Resume takes the highest epoch that loads; the trainer state lives in the same file as the weights, so the two
cannot drift apart; a corrupt newest file is reported and skipped rather than ending the run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from metta.agent.checkpoint import (
    FORMAT,
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_policy,
    policy_from_checkpoint,
)
from metta.agent.policy import RecurrentPolicy
from metta.common import interrupt
from metta.common.errors import CheckpointError

__all__ = [
    "FORMAT",
    "checkpoint_path",
    "code_version",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_latest_good",
    "load_policy",
    "policy_from_checkpoint",
    "prune_checkpoints",
    "save_checkpoint",
]


@lru_cache(maxsize=1)
def code_version() -> str:
    """Git commit of the repository (``+dirty`` when modified), else the package version."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        return sha or "unknown"
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return "metta-" + version("metta")
        except PackageNotFoundError:
            return "unknown"


def save_checkpoint(
    checkpoint_dir: str | Path,
    epoch: int,
    agent_step: int,
    policy: RecurrentPolicy,
    optimizer: torch.optim.Optimizer | None,
    config: dict[str, Any],
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model_{epoch:04d}.pt`` atomically (temp file in the same directory, fsync, rename); return its path."""
    cdir = Path(checkpoint_dir)
    cdir.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "epoch": int(epoch),
        "agent_step": int(agent_step),
        "policy": {
            "agent": policy.cfg.model_dump(mode="json"),
            "num_actions": int(policy.num_actions),
            "obs_shape": list(policy.obs_shape),
            "num_features": int(policy.num_features),
            "state_dict": {k: v.detach().cpu() for k, v in policy.state_dict().items()},
        },
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "config": config,
        "code_version": code_version(),
        "metadata": dict(metadata or {}),
    }
    final = checkpoint_path(cdir, epoch)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=cdir)
    # A signal raised inside torch.save's C++ writer surfaces as a RuntimeError ("unexpected pos"): hold it until
    # the file is complete, then raise it as the KeyboardInterrupt it is (the checkpoint is kept).
    with interrupt.deferred():
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(payload, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return final


def load_latest_good(checkpoint_dir: str | Path, warn: Callable[[str], None] | None = None) -> dict[str, Any] | None:
    """Newest checkpoint that loads; corrupt ones are reported through ``warn`` and skipped. None if none exist."""
    for _epoch, path in reversed(list_checkpoints(checkpoint_dir)):
        try:
            data = load_checkpoint(path)
        except CheckpointError as exc:
            if warn is not None:
                warn(f"skipping {exc}")
            continue
        data["path"] = str(path)
        return data
    return None


def prune_checkpoints(checkpoint_dir: str | Path, keep_last: int | None) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints; returns the deleted paths."""
    if keep_last is None:
        return []
    found = list_checkpoints(checkpoint_dir)
    doomed = [p for _e, p in found[:-keep_last]] if len(found) > keep_last else []
    for p in doomed:
        p.unlink(missing_ok=True)
    return doomed
