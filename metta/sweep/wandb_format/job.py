"""Build the sweep job of a W&B sweep file: our composed sweep_job settings with the file's search in place."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from metta.common.errors import ConfigError
from metta.sweep.sweep_config import SweepJobConfig, resolve_sweep_job
from metta.sweep.wandb_format.reader import WandbSweep, read_wandb_sweep


def load_wandb_file(path: str | Path) -> WandbSweep:
    """Parse and read a W&B sweep YAML file (ConfigError naming the file on any problem)."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read W&B sweep file {p}: {exc}") from exc
    try:
        return read_wandb_sweep(doc)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from exc


def wandb_sweep_job(composed: Mapping[str, Any], wb: WandbSweep, num_trials_given: bool) -> SweepJobConfig:
    """The composed sweep_job dict with ``sweep`` replaced by the W&B file's search.

    ``num_trials`` is per worker and defaults to 0 here: a W&B sweep ends at its run_cap, target or finished grid.
    """
    d = dict(composed)
    d["sweep"] = wb.sweep
    if not num_trials_given:
        d["num_trials"] = 0
    return resolve_sweep_job(d)


def resolve_program(program: str | None, sweep_file: Path, fallback_train: Path) -> str | None:
    """The program path: as written if it exists (relative to the sweep file's folder or the working directory);
    a missing ``train.py`` means our training entry point."""
    if program is None:
        return None
    for base in (sweep_file.parent, Path.cwd()):
        cand = (base / program).resolve()
        if cand.exists():
            return str(cand)
    if Path(program).name == "train.py":
        return str(fallback_train)
    raise ConfigError(f"program {program!r} not found next to {sweep_file} or in {Path.cwd()}; fix 'program:'")
