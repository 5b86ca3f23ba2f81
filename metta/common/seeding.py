"""Explicit randomness: seeds are passed in, generators are returned, nothing global in library code."""

from __future__ import annotations

import os
import random

import numpy as np


def make_rng(seed: int | np.random.SeedSequence | None) -> np.random.Generator:
    """Return a fresh numpy Generator for ``seed`` (None means OS entropy; pass a seed for reproducibility)."""
    return np.random.default_rng(seed)


def derive_seed(*parts: int) -> int:
    """Deterministically derive a 31-bit seed from integer ``parts`` (e.g. base seed, env index, episode)."""
    ss = np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts])
    return int(ss.generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def seed_everything(seed: int, torch_deterministic: bool = True, rank: int = 0) -> int:
    """Seed Python, NumPy's legacy global RNG and torch with ``seed + rank``; return the effective seed.

    This is for entry points (tools, trainer start-up); library code takes explicit generators instead.
    With ``torch_deterministic`` torch uses deterministic algorithms (warn-only where none exist).
    """
    effective = int(seed) + int(rank)
    random.seed(effective)
    np.random.seed(effective % (2**32))
    os.environ.setdefault("PYTHONHASHSEED", str(effective))
    try:
        import torch
    except ImportError:  # torch is a core dependency, but seeding must not require it
        return effective
    torch.manual_seed(effective)
    if torch_deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return effective
