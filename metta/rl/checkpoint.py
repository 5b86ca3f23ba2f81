"""Policy checkpoints: ``<run_dir>/checkpoints/model_{epoch:04d}.pt``, written atomically.

A checkpoint is a ``torch.save`` of plain data and tensors only (loaded with ``weights_only=True``, never unpickling
code): format tag, policy spec (agent config as data, num_actions, obs_shape, num_features) and state_dict, optimizer
state, agent_step, epoch, the resolved TrainJobConfig as plain data, the code version and free-form metadata.
A checkpoint written by a Hydra-composed run loads in a run configured from Python and vice versa, because both
store the same ``TrainJobConfig.to_dict()``.

Deliberate differences from legacy (§4, §7.17, §7.18): "latest" is the highest epoch number, not the first
directory entry; the trainer state lives in the same file (no separate trainer_state.pt to drift); a corrupt file
raises CheckpointError naming it, and resume falls back to the previous good checkpoint.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from metta.common.errors import CheckpointError

FORMAT = "metta.checkpoint/1"
_NAME = re.compile(r"^model_(\d+)\.pt$")


def checkpoint_path(checkpoint_dir: str | Path, epoch: int) -> Path:
    return Path(checkpoint_dir) / f"model_{epoch:04d}.pt"


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
    policy: torch.nn.Module,
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


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict; CheckpointError naming the file if it is missing, truncated, corrupt or foreign."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt archives
        raise CheckpointError(
            f"checkpoint {p} is corrupt or truncated ({type(exc).__name__}: {exc}); delete it to resume from the "
            "previous checkpoint"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"checkpoint {p} is not a {FORMAT} file (format={found!r})")
    return data


def list_checkpoints(checkpoint_dir: str | Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every ``model_NNNN.pt`` in the directory, sorted by epoch."""
    d = Path(checkpoint_dir)
    if not d.is_dir():
        return []
    found = []
    for entry in d.iterdir():
        m = _NAME.match(entry.name)
        if m and entry.is_file():
            found.append((int(m.group(1)), entry))
    return sorted(found)


def latest_checkpoint(checkpoint_dir: str | Path) -> Path:
    """The checkpoint with the highest epoch number; CheckpointError if there is none."""
    found = list_checkpoints(checkpoint_dir)
    if not found:
        raise CheckpointError(f"no model_*.pt checkpoints in {checkpoint_dir}")
    return found[-1][1]


def load_latest_good(checkpoint_dir: str | Path, warn=None) -> dict[str, Any] | None:
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


def resolve_checkpoint_path(uri_or_path: str | Path) -> Path:
    """``file://dir`` / dir → newest checkpoint in it (or in dir/checkpoints); ``file://x.pt`` / path → the file."""
    s = str(uri_or_path)
    if s.startswith("wandb://"):
        raise CheckpointError(f"{s}: wandb:// policies are resolved by metta.sim (needs W&B credentials and network)")
    if s.startswith("file://"):
        s = s[len("file://") :]
    p = Path(s)
    if p.is_dir():
        if not list_checkpoints(p) and (p / "checkpoints").is_dir():
            p = p / "checkpoints"
        return latest_checkpoint(p)
    if not p.exists():
        raise CheckpointError(f"policy {uri_or_path} does not exist (expected a .pt file or a checkpoints directory)")
    return p


def policy_from_checkpoint(data: dict[str, Any], device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild the policy module of a loaded checkpoint dict."""
    from metta.agent import make_policy
    from metta.rl.trainer_config import AgentConfig

    spec = data["policy"]
    try:
        agent = AgentConfig.model_validate(spec["agent"])
        policy = make_policy(agent, spec["num_actions"], tuple(spec["obs_shape"]), spec["num_features"])
        policy.load_state_dict(spec["state_dict"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {data.get('path', '?')} has an incompatible policy: {exc}") from exc
    return policy.to(device).eval()


def load_policy(uri_or_path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """(policy in eval mode, metadata) for a checkpoint URI/path; metadata has path, epoch, agent_step, run, config."""
    path = resolve_checkpoint_path(uri_or_path)
    data = load_checkpoint(path)
    data["path"] = str(path)
    policy = policy_from_checkpoint(data, device)
    meta = dict(data.get("metadata") or {})
    meta.update(
        path=str(path),
        uri=f"file://{path}",
        epoch=data["epoch"],
        agent_step=data["agent_step"],
        code_version=data.get("code_version"),
        config=data.get("config"),
        run=(data.get("config") or {}).get("run"),
    )
    return policy, meta
