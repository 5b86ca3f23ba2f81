"""Reading policy checkpoints: file naming, policy URIs, loading. The one place both training and evaluation use.

- Files are ``<run_dir>/checkpoints/model_{epoch:04d}.pt``; "latest" is the highest epoch number (not the first
  entry of a directory listing, which is arbitrary).
- A checkpoint is a ``torch.save`` of plain data and tensors only, loaded with ``weights_only=True`` (never
  unpickling code). A corrupt, truncated or foreign file raises :class:`CheckpointError` naming it.
- Policy URIs: ``file://<dir>`` or a plain directory (its newest checkpoint, looking into ``checkpoints/`` too),
  ``file://<file>.pt`` or a plain path (that file), ``wandb://run/<name>[:<version>]`` (the run's model artifact,
  downloaded through the W&B API; needs credentials and a reachable server).

Writing checkpoints (atomically) is the trainer's job: :mod:`metta.rl.checkpoint`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from metta.agent.config import AgentConfig
from metta.agent.factory import make_policy
from metta.common.errors import CheckpointError, EvaluationError
from metta.common.wandb_auth import wandb_credentials_present

FORMAT = "metta.checkpoint/1"
_NAME = re.compile(r"^model_(\d+)\.pt$")


def checkpoint_path(checkpoint_dir: str | Path, epoch: int) -> Path:
    """Where the checkpoint of ``epoch`` lives in ``checkpoint_dir``."""
    return Path(checkpoint_dir) / f"model_{epoch:04d}.pt"


def checkpoint_epoch(path: Path) -> int | None:
    """The epoch encoded in ``model_NNNN.pt`` (None for other names)."""
    m = _NAME.match(path.name)
    return int(m.group(1)) if m else None


def list_checkpoints(checkpoint_dir: str | Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every ``model_NNNN.pt`` in the directory, sorted by epoch."""
    d = Path(checkpoint_dir)
    if not d.is_dir():
        return []
    found = []
    for entry in d.iterdir():
        epoch = checkpoint_epoch(entry)
        if epoch is not None and entry.is_file():
            found.append((epoch, entry))
    return sorted(found)


def latest_checkpoint(checkpoint_dir: str | Path) -> Path:
    """The checkpoint with the highest epoch number in the directory or its ``checkpoints/`` subdirectory."""
    d = Path(checkpoint_dir)
    for candidate in (d, d / "checkpoints"):
        found = list_checkpoints(candidate)
        if found:
            return found[-1][1]
    raise CheckpointError(f"no model_NNNN.pt checkpoint in {d} (nor in {d / 'checkpoints'})")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint dict; CheckpointError naming the file if it is missing, truncated, corrupt or foreign."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt archives
        raise CheckpointError(
            f"checkpoint {p} is corrupt or truncated ({type(exc).__name__}: {exc}); delete it to resume from the "
            "previous checkpoint"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"checkpoint {p} is not a {FORMAT} file (format={found!r})")
    return data


@dataclass(frozen=True)
class ResolvedPolicy:
    """Where a policy URI points: the checkpoint file, a stable key and version for the stats DB."""

    uri: str
    path: Path
    policy_key: str
    policy_version: int


def _resolve_wandb(uri: str, cache_dir: Path | None) -> ResolvedPolicy:
    body = uri[len("wandb://") :]
    if not body.startswith("run/") or len(body) <= len("run/"):
        raise EvaluationError(f"unsupported W&B policy URI {uri!r}; use wandb://run/<run name>[:<version>]")
    name, _, version = body[len("run/") :].partition(":")
    if not wandb_credentials_present():
        raise EvaluationError(
            f"cannot resolve {uri!r}: no W&B credentials (set WANDB_API_KEY or run `wandb login`); "
            "or download the checkpoint and pass file://<path>"
        )
    try:
        import wandb  # lazy: optional dependency, only for wandb:// URIs

        entity = os.environ.get("WANDB_ENTITY", "metta-research")
        project = os.environ.get("WANDB_PROJECT", "metta")
        artifact = wandb.Api(timeout=30).artifact(f"{entity}/{project}/{name}:{version or 'latest'}", type="model")
        root = Path(artifact.download(root=str(cache_dir / "wandb" / name) if cache_dir else None))
    except Exception as exc:  # any W&B/network failure becomes one clear error
        raise EvaluationError(f"cannot download {uri!r} from W&B ({type(exc).__name__}: {exc})") from exc
    pts = sorted(root.rglob("*.pt"))
    if not pts:
        raise CheckpointError(f"W&B artifact for {uri!r} (downloaded to {root}) holds no .pt file")
    path = max(pts, key=lambda p: (checkpoint_epoch(p) or -1, p.name))
    return ResolvedPolicy(
        uri=uri, path=path, policy_key=f"wandb://run/{name}", policy_version=checkpoint_epoch(path) or 0
    )


def resolve_policy_uri(uri: str | Path, cache_dir: Path | None = None) -> ResolvedPolicy:
    """Resolve a policy URI or path to a checkpoint file. Missing files raise CheckpointError naming the path."""
    if isinstance(uri, Path):
        uri = str(uri)
    if not uri or not isinstance(uri, str):
        raise EvaluationError(f"policy URI must be a non-empty string, got {uri!r}")
    if uri.startswith("wandb://"):
        return _resolve_wandb(uri, cache_dir)
    if "://" in uri and not uri.startswith("file://"):
        raise EvaluationError(f"unsupported policy URI scheme in {uri!r}; use file://<path> or wandb://run/<name>")
    target = Path(uri[len("file://") :] if uri.startswith("file://") else uri).expanduser()
    if target.is_dir():
        path = latest_checkpoint(target)
    elif target.is_file():
        path = target
    else:
        raise CheckpointError(f"policy {uri!r}: {target} does not exist (expected a checkpoint file or directory)")
    path = path.resolve()
    epoch = checkpoint_epoch(path)
    key = f"file://{path.parent}" if epoch is not None else f"file://{path}"
    return ResolvedPolicy(uri=uri, path=path, policy_key=key, policy_version=epoch or 0)


def policy_from_checkpoint(data: dict[str, Any], device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild the policy module of a loaded checkpoint dict."""
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
    path = resolve_policy_uri(uri_or_path).path
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
