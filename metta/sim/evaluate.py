"""``evaluate()``: run a suite for one policy URI, write the stats DB, return a typed :class:`SuiteResult`.

This is the Python call the sweep uses to score a trial (``evaluate(...).metric("avg_category_score")``).
Scores are read back from the database rows this call wrote (filtered by its ``eval_id``), so the printed table,
the JSON output and later SQL queries agree.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metta.agent.checkpoint import ResolvedPolicy, load_policy, resolve_policy_uri
from metta.common.errors import CheckpointError, EvaluationError, MettaError
from metta.env import VecEnv
from metta.env.gym_adapter import GymTaskConfig
from metta.env.training_env import load_training_env
from metta.sim.config import SimulationConfig, SimulationSuiteConfig, load_suite
from metta.sim.replay import ReplayRecorder
from metta.sim.runner import PolicyHandle, run_simulation
from metta.sim.stats_db import Filter, StatsDB

KEY_METRICS = ("reward", "heart.get", "heart.put", "battery_red.gained", "ore_red.gained", "action.attack.success")
EnvMaker = Callable[[SimulationConfig], Callable[[int, int], Any]]
PolicyLoader = Callable[[Path, str], tuple[Any, dict]]


@dataclass(frozen=True)
class SimulationResult:
    """One simulation's outcome: status, episode counts, wall time and average metrics of the policy."""

    name: str
    category: str
    status: str
    episodes_requested: int
    episodes_completed: int
    wall_time_s: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class SuiteResult:
    """Scores of one policy on one suite (one ``evaluate`` call)."""

    suite: str
    policy_uri: str
    policy_key: str
    policy_version: int
    eval_id: str
    stats_db_path: str
    sim_scores: dict[str, float | None]
    category_scores: dict[str, float | None]
    avg_category_score: float | None
    metrics: dict[str, float]
    simulations: list[SimulationResult] = field(default_factory=list)
    wall_time_s: float = 0.0

    @property
    def complete(self) -> bool:
        """True when every simulation finished all its episodes."""
        return all(s.status == "complete" for s in self.simulations)

    def metric(self, name: str) -> float:
        """``avg_category_score``, a category, a simulation name, or an agent metric (pooled over the suite).

        Raises EvaluationError when the value does not exist (e.g. no episode finished within ``max_time_s``).
        """
        if name == "avg_category_score":
            value = self.avg_category_score
        elif name in self.category_scores:
            value = self.category_scores[name]
        elif name in self.sim_scores:
            value = self.sim_scores[name]
        elif name in self.metrics or not self.metrics:  # no metrics at all: no episode finished anywhere
            value = self.metrics.get(name)
        else:
            known = ["avg_category_score", *self.category_scores, *self.sim_scores, *self.metrics]
            raise EvaluationError(f"unknown metric {name!r} for suite {self.suite!r}; known: {known}")
        if value is None:
            unfinished = [s.name for s in self.simulations if s.episodes_completed == 0]
            raise EvaluationError(
                f"metric {name!r} has no value: simulations {unfinished} finished no episode (time-out or failure)"
            )
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data."""
        return asdict(self)


# Evaluation episodes always run to their full length: desync_episodes would cut each env's first episode short.
EVAL_ENV_OVERRIDES = ("++game.desync_episodes=false",)


def _default_env_maker(sim: SimulationConfig) -> Callable[[int, int], Any]:
    cfg = load_training_env(sim.env, [*EVAL_ENV_OVERRIDES, *sim.env_override_list()])  # eval/training_task may be one
    if isinstance(cfg, GymTaskConfig):
        raise EvaluationError(
            f"simulation {sim.name!r}: {sim.env} is a Gymnasium task; suites evaluate arena envs only"
        )
    return lambda num_envs, seed: VecEnv(cfg, num_envs=num_envs, seed=seed)


def _default_loader(path: Path, device: str) -> tuple[Any, dict]:
    return load_policy(str(path), device=device)


def load_policy_handle(uri: str, device: str, loader: PolicyLoader | None = None) -> PolicyHandle:
    """Resolve ``uri`` and load the policy; anything but a MettaError becomes a CheckpointError naming the file."""
    ref: ResolvedPolicy = resolve_policy_uri(uri)
    try:
        policy, meta = (loader or _default_loader)(ref.path, device)
    except MettaError:
        raise
    except Exception as exc:  # unpickling/torch errors of a bad file
        raise CheckpointError(f"cannot load policy from {ref.path} ({type(exc).__name__}: {exc})") from exc
    version = meta.get("epoch", ref.policy_version) if isinstance(meta, dict) else ref.policy_version
    return PolicyHandle(policy=policy, key=ref.policy_key, version=int(version))


def _result(
    db: StatsDB, suite: SimulationSuiteConfig, uri: str, handle: PolicyHandle, eval_id: str, wall: float
) -> SuiteResult:
    flt = Filter(eval_id=eval_id, policy_key=handle.key, policy_version=handle.version)
    sims = []
    for row in db.simulations(Filter(eval_id=eval_id)):
        sf = Filter(eval_id=eval_id, policy_key=handle.key, policy_version=handle.version, sim_name=row["name"])
        names = list(dict.fromkeys([*KEY_METRICS, *db.metric_names(sf)]))
        mets = {m: v for m in names if (v := db.average_metric(m, sf)) is not None}
        sims.append(
            SimulationResult(
                name=row["name"],
                category=row["category"],
                status=row["status"],
                episodes_requested=row["num_episodes_requested"],
                episodes_completed=row["num_episodes_completed"],
                wall_time_s=float(row["wall_time_s"] or 0.0),
                metrics=mets,
            )
        )
    names = list(dict.fromkeys([*KEY_METRICS, *db.metric_names(flt)]))
    pooled = {m: v for m in names if (v := db.average_metric(m, flt)) is not None}
    sim_scores = {s.name: s.metrics.get("reward") for s in sims}
    cats = db.category_scores(flt)
    return SuiteResult(
        suite=suite.name,
        policy_uri=uri,
        policy_key=handle.key,
        policy_version=handle.version,
        eval_id=eval_id,
        stats_db_path=str(db.path),
        sim_scores=sim_scores,
        category_scores={c: cats.get(c) for c in dict.fromkeys(s.category for s in sims)},
        avg_category_score=None if any(s.episodes_completed == 0 for s in sims) else db.avg_category_score(flt),
        metrics=pooled,
        simulations=sims,
        wall_time_s=wall,
    )


def evaluate(
    policy_uri: str,
    suite: SimulationSuiteConfig | str,
    stats_db_path: str | Path,
    device: str = "cpu",
    seed: int | None = None,
    *,
    sims: Sequence[str] | None = None,
    replay_dir: str | Path | None = None,
    env_maker: EnvMaker | None = None,
    policy_loader: PolicyLoader | None = None,
    torch_threads: int | None = 1,
) -> SuiteResult:
    """Evaluate ``policy_uri`` on every simulation of ``suite`` and record everything in ``stats_db_path``.

    ``seed`` (if given) replaces every simulation's seed; ``sims`` restricts the suite to those names.
    A simulation that crashes is recorded as ``failed`` and the error re-raised as EvaluationError.
    ``torch_threads`` caps torch's intra-op threads during the call (restored afterwards; None leaves them):
    inference batches are small, and on a busy 2-core machine one thread was ~20x faster than two.
    """
    with _torch_threads(torch_threads):
        return _evaluate(policy_uri, suite, stats_db_path, device, seed, sims, replay_dir, env_maker, policy_loader)


@contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _evaluate(
    policy_uri: str,
    suite: SimulationSuiteConfig | str,
    stats_db_path: str | Path,
    device: str,
    seed: int | None,
    sims: Sequence[str] | None,
    replay_dir: str | Path | None,
    env_maker: EnvMaker | None,
    policy_loader: PolicyLoader | None,
) -> SuiteResult:
    suite_cfg = load_suite(suite) if isinstance(suite, str) else suite
    if sims:
        suite_cfg = suite_cfg.select(sims)
    if seed is not None:
        new = tuple(s.model_copy(update={"seed": int(seed)}) for s in suite_cfg.simulations)
        suite_cfg = SimulationSuiteConfig(name=suite_cfg.name, simulations=new)
    handle = load_policy_handle(policy_uri, device, policy_loader)
    db = StatsDB(stats_db_path)  # a corrupt database fails here, before any simulation runs
    try:
        makers = [(sim, (env_maker or _default_env_maker)(sim)) for sim in suite_cfg.simulations]
        npc_uris = sorted({s.npc_policy_uri for s in suite_cfg.simulations if s.npc_policy_uri})
        npcs = {u: load_policy_handle(u, device, policy_loader) for u in npc_uris}
        eval_id, t0 = uuid.uuid4().hex, time.monotonic()
        for sim, make in makers:
            npc = npcs.get(sim.npc_policy_uri) if sim.npc_policy_uri is not None else None
            _run_one(db, suite_cfg.name, sim, make, handle, npc, eval_id, device, replay_dir)
        return _result(db, suite_cfg, policy_uri, handle, eval_id, time.monotonic() - t0)
    finally:
        db.close()


def _run_one(
    db: StatsDB,
    suite: str,
    sim: SimulationConfig,
    make: Callable[[int, int], Any],
    handle: PolicyHandle,
    npc: PolicyHandle | None,
    eval_id: str,
    device: str,
    replay_dir: str | Path | None,
) -> None:
    sid = db.start_simulation(
        eval_id=eval_id,
        name=sim.name,
        suite=suite,
        env=sim.env,
        policy_key=handle.key,
        policy_version=handle.version,
        num_episodes=sim.num_episodes,
    )
    recorder = None
    if replay_dir is not None:
        recorder = ReplayRecorder(Path(replay_dir), sim.name, eval_id)
    t0 = time.monotonic()
    try:
        out = run_simulation(
            sim,
            make,
            handle,
            npc,
            device=device,
            on_episode=lambda rec: db.add_episode(sid, rec),
            on_step=recorder.on_step if recorder else None,
        )
    except Exception as exc:
        db.finish_simulation(sid, "failed", time.monotonic() - t0, error=f"{type(exc).__name__}: {exc}")
        if isinstance(exc, MettaError):
            raise
        raise EvaluationError(f"simulation {sim.name!r} crashed: {type(exc).__name__}: {exc}") from exc
    if recorder is not None and (paths := recorder.write()) is not None:
        db.set_replay_url(sid, paths[0].resolve().as_uri())
    db.finish_simulation(sid, out.status, out.wall_time_s)
