#!/usr/bin/env python3
"""Evaluate one or more policies on a simulation suite and print per-simulation and per-category tables.

    ./tools/sim.py policy_uri=file://./train_dir/my_run/checkpoints sim=arena
    ./tools/sim.py run=my_run sim=sweep_eval json=true          # newest checkpoint of my_run, JSON on stdout
    ./tools/sim.py run=my_run replay_dir=./train_dir/my_run/replays sim.num_episodes=1

Writes every episode to the SQLite stats DB ``stats_db_uri`` (default ``${run_dir}/stats.db``). Exit code 0 when
every simulation completed, 2 when some timed out (partial results are still stored and printed), 1 on error.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import _bootstrap  # noqa: F401  (re-exec into the repo venv, put the repo on sys.path)
import hydra
from omegaconf import DictConfig

from metta.common.config import to_container
from metta.common.device import resolve_device
from metta.common.errors import ConfigError, MettaError

SHOWN = ("reward", "heart.get", "heart.put", "ore_red.gained", "battery_red.gained", "action.attack.success")


def _db_path(uri: str) -> str:
    return uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else uri


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _tables(res: Any) -> str:
    lines = [f"policy {res.policy_uri}  ({res.policy_key} v{res.policy_version})  suite {res.suite}"]
    cols = " ".join(f"{m:>14}" for m in SHOWN)
    head = f"{'simulation':<28} {'status':<9} {'episodes':>8} {cols} {'time_s':>7}"
    lines += [head, "-" * len(head)]
    for s in res.simulations:
        eps = f"{s.episodes_completed}/{s.episodes_requested}"
        vals = " ".join(f"{_fmt(s.metrics.get(m)):>14}" for m in SHOWN)
        lines.append(f"{s.name:<28} {s.status:<9} {eps:>8} {vals} {s.wall_time_s:>7.1f}")
    lines += ["", f"{'category':<28} {'score (mean reward per agent-episode)':>38}"]
    lines += [f"{c:<28} {_fmt(v):>38}" for c, v in res.category_scores.items()]
    lines.append(f"{'avg_category_score':<28} {_fmt(res.avg_category_score):>38}")
    return "\n".join(lines)


def _check_policy_given(task_overrides: list[str]) -> None:
    keys = {o.lstrip("+~").split("=", 1)[0] for o in task_overrides}
    if not keys & {"policy_uri", "policy_uris", "run"}:
        raise ConfigError(
            "no policy given; pass run=<training run> (evaluates its newest checkpoint) or policy_uri=file://<path>"
        )


def run(cfg: DictConfig, task_overrides: list[str] | None = None) -> int:
    from metta.sim import resolve_suite
    from metta.sim.evaluate import evaluate

    if task_overrides is not None:
        _check_policy_given(task_overrides)
    data = to_container(cfg)
    suite = resolve_suite(data["sim"])
    uris = [u for u in [data.get("policy_uri"), *(data.get("policy_uris") or [])] if u]
    if not uris:
        raise ConfigError("no policy given; pass policy_uri=file://<run_dir>/checkpoints (or run=<train run>)")
    db_path = _db_path(str(data["stats_db_uri"]))
    results = [
        evaluate(
            uri,
            suite,
            db_path,
            device=resolve_device(str(data["system"]["device"])),
            sims=data.get("sims"),
            replay_dir=data.get("replay_dir"),
        )
        for uri in uris
    ]
    if data.get("json"):
        print(json.dumps({"stats_db_path": db_path, "results": [r.to_dict() for r in results]}, indent=1))
    else:
        print("\n\n".join(_tables(r) for r in results))
        print(f"\nstats database: {db_path}")
        if data.get("replay_dir"):
            print(f"replays: {data['replay_dir']}")
    return 0 if all(r.complete for r in results) else 2


@hydra.main(config_path="../configs", config_name="sim_job", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    try:
        code = run(cfg, list(HydraConfig.get().overrides.task))
    except MettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
