"""Whether W&B can be used online, and which mode ``wandb=auto`` means, decided one way everywhere.

W&B's own conventions win: a ``WANDB_MODE`` in the environment (``offline``, ``disabled``, ``online``) is what
``auto`` resolves to. Otherwise ``auto`` is online when credentials exist (``WANDB_API_KEY``, or a netrc entry for the
API host, honouring ``WANDB_BASE_URL`` and ``NETRC``) and offline when they do not.
"""

from __future__ import annotations

import netrc
import os
from collections.abc import Mapping
from pathlib import Path

WANDB_MODES = ("online", "offline", "disabled")
_DEFAULT_HOST = "https://api.wandb.ai"


def wandb_credentials_present(env: Mapping[str, str] | None = None) -> bool:
    """True when ``WANDB_API_KEY`` is set or the netrc file has an entry for the W&B API host."""
    env = os.environ if env is None else env
    if env.get("WANDB_API_KEY"):
        return True
    host = env.get("WANDB_BASE_URL", _DEFAULT_HOST).split("://")[-1].rstrip("/")
    path = Path(env.get("NETRC", Path.home() / ".netrc"))
    try:
        return netrc.netrc(str(path)).authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def choose_wandb_mode(mode: str, env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """Resolve ``auto`` to a W&B mode; returns (mode, one-line notice or None)."""
    if mode != "auto":
        return mode, None
    env = os.environ if env is None else env
    from_env = env.get("WANDB_MODE", "").strip().lower()
    if from_env in WANDB_MODES:
        return from_env, None
    if from_env == "dryrun":  # W&B's older spelling of offline
        return "offline", None
    if wandb_credentials_present(env):
        return "online", None
    return "offline", "wandb: no credentials found; logging offline (run `wandb login`, then `wandb sync`)"
