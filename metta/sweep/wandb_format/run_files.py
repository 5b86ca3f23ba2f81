"""Read the summary of a W&B run from its local files, with no W&B server.

Online runs (and older offline ones) leave ``files/wandb-summary.json``. Current offline runs keep everything in the
run's transaction log ``run-<id>.wandb``: a LevelDB-style log (7-byte file header ``:W&B`` + magic + version, then
32 KiB blocks of records, each with a 7-byte header crc32/length/type, type 1 = full, 2/3/4 = first/middle/last
fragment) whose records are W&B ``Record`` protobufs. The summary is the last ``summary`` record's values, falling
back to the last logged ``history`` value of each key.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from metta.common.errors import MettaError

_BLOCK = 32768
_HEADER = 7


def _log_records(data: bytes) -> list[bytes]:
    if data[:4] != b":W&B":
        raise MettaError("not a W&B transaction log (bad header)")
    out: list[bytes] = []
    pos, pending = _HEADER, b""
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:
            pos += left  # block trailer padding
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        chunk = data[pos + _HEADER : pos + _HEADER + length]
        pos += _HEADER + length
        if kind == 0 and length == 0:
            break
        if kind == 1:
            out.append(chunk)
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            out.append(pending + chunk)
            pending = b""
    return out


def summary_from_transaction_log(path: Path) -> dict[str, Any]:
    """The run summary stored in ``run-<id>.wandb`` (needs the ``wandb`` package for its protobuf schema)."""
    from wandb.proto import wandb_internal_pb2 as pb  # optional dependency, only for offline run files

    summary: dict[str, Any] = {}
    history: dict[str, Any] = {}
    for raw in _log_records(path.read_bytes()):
        rec = pb.Record()  # type: ignore[attr-defined]
        rec.ParseFromString(raw)
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            for item in rec.history.item:
                key = item.key or "/".join(item.nested_key)
                history[key] = json.loads(item.value_json)
        elif kind == "summary":
            for item in rec.summary.update:
                key = item.key or "/".join(item.nested_key)
                summary[key] = json.loads(item.value_json)
    return {**history, **summary}


def run_summary(run_files_dir: Path) -> dict[str, Any] | None:
    """Summary of the W&B run in ``<wandb dir>/<run folder>``: wandb-summary.json, else the transaction log."""
    js = run_files_dir / "files" / "wandb-summary.json"
    if js.exists():
        return json.loads(js.read_text())
    logs = sorted(run_files_dir.glob("run-*.wandb"))
    return summary_from_transaction_log(logs[-1]) if logs else None
