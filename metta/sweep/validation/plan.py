"""What a validation runs: the candidates (baseline + the sweep's best configurations), every (configuration, seed)
pair in seed-major order, and the trainer arguments of one pair."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metta.common.errors import ConfigError
from metta.common.overrides import flatten, to_overrides
from metta.sweep.best_params import rank_observations, rank_posterior
from metta.sweep.optim.config import ProteinConfig, unflatten
from metta.sweep.store import SweepStore
from metta.sweep.store.base import dumps
from metta.sweep.sweep_config import unknown_path_hint
from metta.sweep.validation.config import BASELINE, ValidationConfig

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,39}")


@dataclass(frozen=True)
class Candidate:
    """A configuration to validate: ``config_id`` is the sweep run id that found it, or ``baseline``."""

    config_id: str
    suggestion: dict[str, Any]
    sweep_score: float | None = None


@dataclass(frozen=True)
class PlannedRun:
    """One (configuration, seed) training run."""

    candidate: Candidate
    seed: int
    run_id: str
    run_dir: Path


def select_candidates(
    store: SweepStore, sweep_name: str, goal: str, top_n: int, config: ProteinConfig | None = None
) -> list[Candidate]:
    """Baseline first, then the ``top_n`` best distinct configurations of the sweep.

    With the sweep's ``config`` they are ranked by GP posterior mean (as ``get_best_params_from_sweep.py --by
    posterior`` does, so what is validated is what the sweep recommends) and a candidate's sweep score is the mean
    of its runs; without it, by best single run (``--by observed``) and that run's score. A
    :class:`~metta.common.errors.SweepError` says the trials no longer fit ``config``'s search space."""
    obs = store.load_observations(sweep_name)
    out, seen = [Candidate(BASELINE, {})], {dumps({})}
    if config is not None:
        for o, r in rank_posterior(obs, config.model_copy(update={"goal": goal})):
            out.append(Candidate(o.run_id or f"seq{o.seq}", dict(o.suggestion), r.observed_mean))
            if len(out) > top_n:
                break
        return out
    for o in rank_observations(obs, goal):
        key = dumps(o.suggestion)
        if key in seen:
            continue
        seen.add(key)
        out.append(Candidate(o.run_id or f"seq{o.seq}", dict(o.suggestion), o.objective))
        if len(out) > top_n:
            break
    return out


def explicit_candidate(spec: str) -> Candidate:
    """A hand-written configuration to validate beside the sweep's winners: ``NAME:key=value[,key=value...]``.

    Keys are dotted training-config paths (``trainer.optimizer.learning_rate=1e-3``); a value is an int, a float,
    ``true``/``false``/``null`` or else a string. Raises ``ConfigError`` naming the bad part and the fix."""
    name, sep, body = spec.partition(":")
    if not sep or not _NAME.fullmatch(name) or name in (BASELINE, "base") or re.fullmatch(r"r\d+", name):
        raise ConfigError(
            f"--config {spec!r}: write NAME:key=value[,key=value...] with NAME a letter then up to 39 letters, digits "
            f"or _.- (not 'baseline', 'base' or r<digits>), e.g. lr1e-3:trainer.optimizer.learning_rate=1e-3"
        )
    flat: dict[str, Any] = {}
    for pair in body.split(","):
        key, eq, raw = pair.strip().partition("=")
        if not eq or not key or not raw or key in flat:
            raise ConfigError(f"--config {spec!r}: {pair!r} is not a new key=value pair (pairs are comma-separated)")
        flat[key.lstrip("+")] = _scalar(raw)
    return Candidate(name, unflatten(flat))


def _scalar(raw: str) -> Any:
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return {"true": True, "false": False, "null": None}.get(raw.lower(), raw)


def check_candidate_keys(candidates: Sequence[Candidate], train_tree: Mapping[str, Any]) -> None:
    """Every key of every candidate must name a leaf of the composed training tree (a typo would otherwise cost
    one failed training run per seed)."""
    known = flatten(train_tree)
    for c in candidates:
        for path in flatten(c.suggestion):
            if path not in known:
                raise ConfigError(
                    f"--config {c.config_id}: {path!r} does not exist in the trainer config "
                    f"(configs/train_job.yaml){unknown_path_hint(path, known)}"
                )


def plan_runs(cfg: ValidationConfig, candidates: Sequence[Candidate]) -> list[PlannedRun]:
    """Every (configuration, seed) pair, seed-major so an interrupted validation stays balanced."""
    root = Path(cfg.sweep_dir) / "validation" / "runs"
    runs = []
    for seed in cfg.seeds:
        for c in candidates:
            tag = c.config_id.rsplit(".", 1)[-1] if c.config_id.startswith(cfg.sweep_name + ".r.") else c.config_id
            tag = "base" if c.config_id == BASELINE else f"r{tag}" if tag.isdigit() else tag
            run_id = f"{cfg.sweep_name}.v.{tag}.s{seed}"
            runs.append(PlannedRun(c, seed, run_id, root / run_id))
    return runs


def train_args(cfg: ValidationConfig, run: PlannedRun) -> tuple[str, ...]:
    """Trainer command-line arguments: as the sweep loop builds them, then the extra overrides, then the seed (last)."""
    extra = tuple(a if a.startswith("+") else f"++{a}" for a in cfg.extra_overrides)
    return (
        f"run={run.run_id}",
        f"data_dir={cfg.data_dir}",
        f"run_dir={run.run_dir}",
        *to_overrides(cfg.train_overrides),
        *to_overrides(run.candidate.suggestion),
        *extra,
        f"++system.seed={run.seed}",
        "++system.torch_deterministic=true",
    )
