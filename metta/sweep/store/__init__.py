"""Durable sweep state: the :class:`SweepStore` protocol, its backends and :func:`open_store`.

``open_store(uri)`` picks the backend from the URI:

- ``sqlite:///path/to/sweeps.db`` or a plain file path -> :class:`SQLiteSweepStore` (the default, one file),
- ``postgresql://user@host:port/db`` (or ``postgres://``) -> :class:`PostgresSweepStore`,
- ``http://host:port`` / ``https://...`` -> :class:`HTTPSweepStore` (client of ``./tools/sweep_server.py``).
"""

from __future__ import annotations

from pathlib import Path

from metta.common.errors import DuplicateTrialError, StoreError
from metta.sweep.store.base import (
    INTERRUPTED_REASON,
    TRIAL_DONE,
    TRIAL_FAILED,
    TRIAL_RUNNING,
    Observation,
    SweepInfo,
    SweepStore,
    Trial,
    format_run_id,
    worker_id,
)
from metta.sweep.store.http import HTTPSweepStore, SweepHTTPServer
from metta.sweep.store.sql import PostgresSweepStore, SQLiteSweepStore

__all__ = [
    "INTERRUPTED_REASON",
    "TRIAL_DONE",
    "TRIAL_FAILED",
    "TRIAL_RUNNING",
    "DuplicateTrialError",
    "HTTPSweepStore",
    "Observation",
    "PostgresSweepStore",
    "SQLiteSweepStore",
    "SweepHTTPServer",
    "SweepInfo",
    "SweepStore",
    "Trial",
    "format_run_id",
    "open_store",
    "worker_id",
]


def open_store(uri: str | Path) -> SweepStore:
    """Open the sweep store named by ``uri`` (see the module docstring for the accepted forms)."""
    text = str(uri).strip()
    if not text:
        raise StoreError("empty sweep store URI; use a file path, sqlite:///path, postgresql://... or http://...")
    lowered = text.lower()
    if lowered.startswith(("postgresql://", "postgres://")):
        return PostgresSweepStore(text)
    if lowered.startswith(("http://", "https://")):
        return HTTPSweepStore(text)
    if lowered.startswith("sqlite:///"):
        return SQLiteSweepStore(Path(text[len("sqlite:///") :]))
    if lowered.startswith("sqlite://"):
        raise StoreError(f"sweep store URI {text!r}: write sqlite:///relative.db or sqlite:////absolute/path.db")
    if "://" in text:
        raise StoreError(f"unsupported sweep store URI scheme in {text!r}; use sqlite:///, postgresql:// or http(s)://")
    return SQLiteSweepStore(Path(text))
