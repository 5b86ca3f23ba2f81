"""Where the dashboard's data comes from: the sweep store (any backend, through ``open_store``), the validation
results file (through the validation tool's own reader and report), and a trial's run directory (its log,
checkpoints, seed and last training metrics).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from metta.common.errors import MettaError, StoreError
from metta.sweep.dashboard.model import RunRow, Snapshot, build_rows, phase_spans
from metta.sweep.dashboard.validation_view import SeedScore, ValidationView, build_view
from metta.sweep.phases import PhaseConfig, select_phase
from metta.sweep.store import TRIAL_RUNNING, open_store


def parameter_distributions(config: Mapping[str, Any] | None) -> dict[str, str]:
    """``{"trainer.optimizer.learning_rate": "log_normal", ...}`` from a stored sweep config's ``parameters``."""
    out: dict[str, str] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if not isinstance(value, Mapping):
                continue
            if "distribution" in value or ("min" in value and "max" in value) or "values" in value:
                out[path] = str(value.get("distribution") or ("categorical" if "values" in value else "uniform"))
            else:
                walk(value, path)

    walk(dict((config or {}).get("parameters") or {}), "")
    return out


def load_snapshot(
    store_uri: str,
    sweep_name: str,
    *,
    max_observations: int | None = None,
    phases: Sequence[PhaseConfig] = (),
    sweep_dir: str | None = None,
    validation: bool = True,
) -> Snapshot:
    """Read a sweep from its store (newest ``max_observations``, all when None) into a :class:`Snapshot`."""
    store = open_store(store_uri)
    try:
        info = store.get_sweep(sweep_name)
        if info is None:
            raise StoreError(f"sweep {sweep_name!r} is not registered in {store.uri}; check --sweep-name and --store")
        observations = store.load_observations(sweep_name, max_observations)
        trials = store.list_trials(sweep_name, status=None)
        launched = store.count_observations(sweep_name, launched_only=True)
        uri = store.uri
    finally:
        store.close()
    meta = dict(info.meta or {})
    rows = build_rows(observations, phases, trials)
    current = phases[select_phase(phases, launched) or 0].name if phases else "base"
    snap = Snapshot(
        sweep_name=sweep_name,
        metric=str(meta.get("metric") or "score"),
        goal=str(meta.get("goal") or "maximize"),
        rows=tuple(rows),
        distributions=parameter_distributions(meta.get("config")),
        phases=tuple(phase_spans(rows)),
        current_phase=current,
        running=tuple(t.run_id for t in trials if t.status == TRIAL_RUNNING),
        source=uri,
        sweep_dir=sweep_dir,
        loaded_at=time.time(),
    )
    if validation and sweep_dir:
        snap = replace(snap, validation=load_validation(snap, str(meta.get("sim_name") or "")))
    return snap


def load_validation(snap: Snapshot, sim_name: str = "") -> ValidationView | None:
    """The validation of ``snap``'s sweep from ``<sweep_dir>/validation/results.jsonl`` (None when absent).

    Results are read and summarised by the validation module itself. The dashboard does not know the extra
    overrides a validation was started with, so it shows the protocol of the newest result.
    """
    from metta.sweep import validation as v

    if not snap.sweep_dir:
        return None
    cfg = v.ValidationConfig(
        sweep_name=snap.sweep_name,
        data_dir=snap.sweep_dir,
        sweep_dir=snap.sweep_dir,
        sim_name=sim_name or "unknown",
        metric=snap.metric,
        goal=snap.goal,
        seeds=(0,),
        top_n=1,
        extra_overrides=(),
        train_timeout=0.0,
        eval_timeout=600.0,
        alpha=0.05,
    )
    notes: list[str] = []
    results = v.ResultLog(cfg.results_path, log=notes.append).load()
    if not results:
        return None
    newest = max(results, key=lambda r: r.created_at)
    ours = [replace(r, protocol=cfg.protocol()) for r in results if r.protocol == newest.protocol]
    if len(ours) < len(results):
        notes.append(f"{len(results) - len(ours)} result(s) of an earlier validation protocol are not shown")
    seeds = v.recorded_seeds(cfg, ours)
    cfg = cfg.model_copy(update={"seeds": seeds})
    sweep_scores = {r.run_id: r.score for r in snap.rows if r.run_id}
    candidates, seen = [v.Candidate(v.BASELINE, {})], {v.BASELINE}
    for r in sorted(ours, key=lambda r: r.created_at):
        if r.config_id not in seen:
            seen.add(r.config_id)
            candidates.append(v.Candidate(r.config_id, dict(r.suggestion), sweep_scores.get(r.config_id)))
    reports = v.build_report(cfg, candidates, ours)
    latest = v.latest_results(cfg, ours)
    per_seed: dict[str, list[SeedScore]] = {}
    for (config_id, seed), r in sorted(latest.items(), key=lambda kv: kv[0][1]):
        per_seed.setdefault(config_id, []).append(
            SeedScore(seed, r.score if r.status == v.SUCCESS else None, r.status, r.reason)
        )
    return build_view(reports, per_seed, seeds, str(cfg.results_path), snap.metric, snap.goal, newest.created_at, notes)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _last_json_line(path: Path, max_bytes: int = 65536) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            lines = [ln for ln in f.read().split(b"\n") if ln.strip()]
    except OSError:
        return None
    for raw in reversed(lines):
        try:
            d = json.loads(raw)
        except ValueError:
            continue
        if isinstance(d, dict):
            return d
    return None


def run_details(row: RunRow, sweep_dir: str | None) -> dict[str, Any]:
    """The full record of one run: the observation, plus seed, last metrics and paths when its run directory is on
    this machine (``<sweep_dir>/runs/<run_id>/``)."""
    d: dict[str, Any] = {
        "run_id": row.run_id or f"(rejected suggestion, seq {row.seq})",
        "trial": row.trial,
        "phase": row.phase,
        "status": "failed" if row.is_failure else "success",
        "score": row.score,
        "cost_s": row.cost,
        "worker": row.worker or "-",
        "failure_reason": row.reason or "-",
        "parameters": dict(row.params),
        "recorded_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created_at)) if row.created_at else "-",
    }
    if not (sweep_dir and row.run_id):
        return d
    run_dir = Path(sweep_dir) / "runs" / row.run_id
    d["log_path"] = str(run_dir / "train.log")
    d["checkpoint_dir"] = str(run_dir / "checkpoints")
    if not run_dir.is_dir():
        d["note"] = f"run directory {run_dir} is not on this machine"
        return d
    cfg = _read_json(run_dir / "config.json")
    if isinstance(cfg, dict):
        d["seed"] = (cfg.get("system") or {}).get("seed", cfg.get("seed"))
    result = _read_json(run_dir / "train_result.json")
    if isinstance(result, dict):
        d["train_result"] = result
    metrics = _last_json_line(run_dir / "metrics.jsonl")
    if metrics:
        d["metrics"] = metrics
    ckpts = sorted((run_dir / "checkpoints").glob("*.pt"))
    d["checkpoints"] = [p.name for p in ckpts[-3:]]
    return d


def load_wandb_snapshot(
    entity: str | None,
    project: str,
    sweep_name: str,
    workdir: str,
    max_observations: int | None = None,
    api: Any = None,
) -> str:
    """Copy a W&B sweep's observations (what the sweep's W&B mirror wrote) into a fresh SQLite store under
    ``workdir`` and return its URI. ``api`` defaults to ``wandb.Api``, which needs a reachable W&B server; without
    one this raises StoreError saying so."""
    from metta.sweep.store.wandb_mirror import import_from_wandb

    uri = str(Path(workdir) / "wandb_import.db")
    store = open_store(uri)
    try:
        try:
            import_from_wandb(store, sweep_name, project, entity, limit=max_observations, api=api)
        except MettaError as exc:
            raise StoreError(
                f"cannot read W&B sweep {sweep_name!r} of {entity or '-'}/{project}: {str(exc).rstrip('.')}. "
                "W&B is not reachable from here (or refused access); read the sweep store instead (--store URL, "
                "or the default store of --sweep-name)"
            ) from exc
    finally:
        store.close()
    return uri
