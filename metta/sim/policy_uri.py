"""Policy URIs → checkpoint files.

- ``file://<dir>`` or a plain directory: the newest ``model_NNNN.pt`` by epoch number (a run directory's
  ``checkpoints/`` subdirectory is looked into as well). Legacy took the first entry of an unsorted listing.
- ``file://<file>.pt`` or a plain file path: that checkpoint.
- ``wandb://run/<name>`` (optionally ``wandb://run/<name>:<version>``): the model artifact of that run, downloaded
  through the W&B API; needs credentials (``WANDB_API_KEY`` or a netrc entry) and a reachable server.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from metta.common.errors import CheckpointError, EvaluationError

_CKPT_RE = re.compile(r"^model_(\d+)\.pt$")


@dataclass(frozen=True)
class ResolvedPolicy:
    """Where a policy URI points: the checkpoint file, a stable key and version for the stats DB."""

    uri: str
    path: Path
    policy_key: str
    policy_version: int


def checkpoint_epoch(path: Path) -> int | None:
    """The epoch encoded in ``model_NNNN.pt`` (None for other names)."""
    m = _CKPT_RE.match(path.name)
    return int(m.group(1)) if m else None


def newest_checkpoint(directory: Path) -> Path:
    """The ``model_NNNN.pt`` with the highest epoch in ``directory`` (or its ``checkpoints/`` subdirectory)."""
    for d in (directory, directory / "checkpoints"):
        found = [(checkpoint_epoch(p), p) for p in d.glob("model_*.pt") if checkpoint_epoch(p) is not None]
        if found:
            return max(found)[1]
    raise CheckpointError(f"no model_NNNN.pt checkpoint in {directory} (nor in {directory / 'checkpoints'})")


def _wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def _resolve_wandb(uri: str, cache_dir: Path | None) -> ResolvedPolicy:
    body = uri[len("wandb://") :]
    if not body.startswith("run/") or len(body) <= len("run/"):
        raise EvaluationError(f"unsupported W&B policy URI {uri!r}; use wandb://run/<run name>[:<version>]")
    name, _, version = body[len("run/") :].partition(":")
    if not _wandb_credentials():
        raise EvaluationError(
            f"cannot resolve {uri!r}: no W&B credentials (set WANDB_API_KEY or run `wandb login`); "
            "or download the checkpoint and pass file://<path>"
        )
    try:
        import wandb

        entity = os.environ.get("WANDB_ENTITY", "metta-research")
        project = os.environ.get("WANDB_PROJECT", "metta")
        artifact = wandb.Api(timeout=30).artifact(f"{entity}/{project}/{name}:{version or 'latest'}", type="model")
        root = Path(artifact.download(root=str(cache_dir / "wandb" / name) if cache_dir else None))
    except Exception as exc:  # noqa: BLE001 - any W&B/network failure becomes one clear error
        raise EvaluationError(f"cannot download {uri!r} from W&B ({type(exc).__name__}: {exc})") from exc
    pts = sorted(root.rglob("*.pt"))
    if not pts:
        raise CheckpointError(f"W&B artifact for {uri!r} (downloaded to {root}) holds no .pt file")
    path = max(pts, key=lambda p: (checkpoint_epoch(p) or -1, p.name))
    version_num = checkpoint_epoch(path) or 0
    return ResolvedPolicy(uri=uri, path=path, policy_key=f"wandb://run/{name}", policy_version=version_num)


def resolve_policy_uri(uri: str, cache_dir: Path | None = None) -> ResolvedPolicy:
    """Resolve ``uri`` to a checkpoint file. Missing files raise CheckpointError naming the path."""
    if not uri or not isinstance(uri, str):
        raise EvaluationError(f"policy URI must be a non-empty string, got {uri!r}")
    if uri.startswith("wandb://"):
        return _resolve_wandb(uri, cache_dir)
    if "://" in uri and not uri.startswith("file://"):
        raise EvaluationError(f"unsupported policy URI scheme in {uri!r}; use file://<path> or wandb://run/<name>")
    target = Path(uri[len("file://") :] if uri.startswith("file://") else uri).expanduser()
    if target.is_dir():
        path = newest_checkpoint(target)
    elif target.is_file():
        path = target
    else:
        raise CheckpointError(f"policy {uri!r}: {target} does not exist (expected a checkpoint file or directory)")
    path = path.resolve()
    epoch = checkpoint_epoch(path)
    key = f"file://{path.parent}" if epoch is not None else f"file://{path}"
    return ResolvedPolicy(uri=uri, path=path, policy_key=key, policy_version=epoch or 0)
