"""The evaluation stats database: one SQLite file in WAL mode, safe for several concurrent writer processes.

Tables
- ``simulations``: one row per (evaluation, simulation): name, category (name before "/"), suite, env, policy key
  and version, eval id, status (``running`` → ``complete`` | ``timeout`` | ``failed``), episodes requested and
  completed, wall time, timestamps.
- ``episodes``: one row per finished episode: real step count, max_steps, seed, env index, timestamps, replay path.
- ``agent_metrics``: ``(episode_id, agent_id, metric, value)``: the episode return as ``reward`` plus every agent stat.
- ``agent_policies``: ``(episode_id, agent_id, policy_key, policy_version)``: which policy controlled each agent.

Averages count every agent-episode of the selected policy, so an agent-episode that never emitted a metric counts
as 0. An existing file is opened and appended to, never truncated; a corrupt file raises EvaluationError naming it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metta.common.errors import EvaluationError
from metta.sim.config import category_of

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS simulations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    eval_id TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    suite TEXT NOT NULL,
    env TEXT NOT NULL,
    policy_key TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'running',
    num_episodes_requested INTEGER NOT NULL,
    num_episodes_completed INTEGER NOT NULL DEFAULT 0,
    wall_time_s REAL,
    error TEXT,
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    simulation_id INTEGER NOT NULL REFERENCES simulations(id),
    env_index INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    max_steps INTEGER,
    created_at REAL NOT NULL,
    completed_at REAL NOT NULL,
    replay_url TEXT
);
CREATE TABLE IF NOT EXISTS agent_metrics (
    episode_id INTEGER NOT NULL REFERENCES episodes(id),
    agent_id INTEGER NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (episode_id, agent_id, metric)
);
CREATE TABLE IF NOT EXISTS agent_policies (
    episode_id INTEGER NOT NULL REFERENCES episodes(id),
    agent_id INTEGER NOT NULL,
    policy_key TEXT NOT NULL,
    policy_version INTEGER NOT NULL,
    PRIMARY KEY (episode_id, agent_id)
);
CREATE INDEX IF NOT EXISTS idx_episodes_sim ON episodes(simulation_id);
CREATE INDEX IF NOT EXISTS idx_policies_key ON agent_policies(policy_key, policy_version);
CREATE INDEX IF NOT EXISTS idx_metrics_metric ON agent_metrics(metric);
"""
_REQUIRED = {
    "simulations": {"id", "eval_id", "name", "category", "suite", "env", "policy_key", "policy_version", "status"},
    "episodes": {"id", "simulation_id", "env_index", "seed", "steps"},
    "agent_metrics": {"episode_id", "agent_id", "metric", "value"},
    "agent_policies": {"episode_id", "agent_id", "policy_key", "policy_version"},
}
SIM_STATUSES = ("running", "complete", "timeout", "failed")


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode to store: per-agent metrics (``reward`` included) and per-agent policy."""

    env_index: int
    seed: int
    steps: int
    agent_metrics: Sequence[Mapping[str, float]]
    agent_policies: Sequence[tuple[str, int]]
    created_at: float
    completed_at: float
    max_steps: int | None = None
    replay_url: str | None = None


@dataclass(frozen=True)
class Filter:
    """Which agent-episodes a query covers. ``None`` fields do not filter."""

    policy_key: str | None = None
    policy_version: int | None = None
    eval_id: str | None = None
    suite: str | None = None
    sim_name: str | None = None
    category: str | None = None

    def sql(self) -> tuple[str, list[object]]:
        """A WHERE clause over aliases ``ap`` (agent_policies) and ``s`` (simulations), with its parameters."""
        cols = {
            "policy_key": "ap.policy_key",
            "policy_version": "ap.policy_version",
            "eval_id": "s.eval_id",
            "suite": "s.suite",
            "sim_name": "s.name",
            "category": "s.category",
        }
        clauses, params = ["1=1"], []
        for field, col in cols.items():
            value = getattr(self, field)
            if value is not None:
                clauses.append(f"{col} = ?")  # exact match: category "arena" must not also match "arena_hard"
                params.append(value)
        return " AND ".join(clauses), params


class StatsDB:
    """A SQLite stats database at ``path`` (created if missing, appended to if present)."""

    def __init__(self, path: str | Path, timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where a directory should be, no permission, ...
            raise EvaluationError(
                f"cannot create the directory of stats database {self.path} ({exc}); pass another stats_db_uri"
            ) from exc
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            self._check_schema(existing_only=True)  # read-only: a refused file is left byte for byte as it was
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self._transaction():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._conn.execute(stmt)
            self._check_schema()
        except sqlite3.OperationalError as exc:
            self._close_quietly()
            raise EvaluationError(
                f"cannot open stats database {self.path} ({exc}); check that it is a writable file path"
            ) from exc
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            raise EvaluationError(
                f"stats database {self.path} is corrupt or not a SQLite database ({exc}); it was left untouched — "
                "move it away or pass another stats_db_uri"
            ) from exc

    # -- plumbing -------------------------------------------------------------------------------------------
    def _close_quietly(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close the connection (the file stays)."""
        self._conn.close()

    def __enter__(self) -> StatsDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): one writer at a time, waiting up to the busy timeout."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _check_schema(self, existing_only: bool = False) -> None:
        """Every table we need has our columns (``existing_only``: only the tables the file already has)."""
        for table, cols in _REQUIRED.items():
            have = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if existing_only and not have:
                continue
            if not cols <= have:
                raise EvaluationError(
                    f"stats database {self.path}: table {table!r} lacks columns {sorted(cols - have)} "
                    "(a database from another tool or version?); pass another stats_db_uri"
                )

    # -- writes ---------------------------------------------------------------------------------------------
    def start_simulation(
        self,
        *,
        eval_id: str,
        name: str,
        suite: str,
        env: str,
        policy_key: str,
        policy_version: int,
        num_episodes: int,
        category: str | None = None,
    ) -> int:
        """Insert a ``running`` simulation row and return its id."""
        with self._transaction() as c:
            cur = c.execute(
                "INSERT INTO simulations (eval_id, name, category, suite, env, policy_key, policy_version,"
                " num_episodes_requested, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    eval_id,
                    name,
                    category or category_of(name),
                    suite,
                    env,
                    policy_key,
                    int(policy_version),
                    int(num_episodes),
                    time.time(),
                ),
            )
            assert cur.lastrowid is not None  # set by every successful INSERT
            return int(cur.lastrowid)

    def add_episode(self, simulation_id: int, ep: EpisodeRecord) -> int:
        """Store one finished episode (all its rows in one transaction) and return its id."""
        if len(ep.agent_metrics) != len(ep.agent_policies):
            raise EvaluationError(
                f"episode has {len(ep.agent_metrics)} agent metric dicts but {len(ep.agent_policies)} agent policies"
            )
        with self._transaction() as c:
            cur = c.execute(
                "INSERT INTO episodes (simulation_id, env_index, seed, steps, max_steps, created_at, completed_at,"
                " replay_url) VALUES (?,?,?,?,?,?,?,?)",
                (
                    simulation_id,
                    ep.env_index,
                    ep.seed,
                    ep.steps,
                    ep.max_steps,
                    ep.created_at,
                    ep.completed_at,
                    ep.replay_url,
                ),
            )
            assert cur.lastrowid is not None  # set by every successful INSERT
            eid = int(cur.lastrowid)
            c.executemany(
                "INSERT INTO agent_metrics (episode_id, agent_id, metric, value) VALUES (?,?,?,?)",
                [(eid, a, m, float(v)) for a, mets in enumerate(ep.agent_metrics) for m, v in mets.items()],
            )
            c.executemany(
                "INSERT INTO agent_policies (episode_id, agent_id, policy_key, policy_version) VALUES (?,?,?,?)",
                [(eid, a, k, int(v)) for a, (k, v) in enumerate(ep.agent_policies)],
            )
            c.execute(
                "UPDATE simulations SET num_episodes_completed = num_episodes_completed + 1 WHERE id = ?",
                (simulation_id,),
            )
            return eid

    def finish_simulation(self, simulation_id: int, status: str, wall_time_s: float, error: str | None = None) -> None:
        """Mark a simulation ``complete``, ``timeout`` (partial results kept) or ``failed``."""
        if status not in SIM_STATUSES[1:]:
            raise EvaluationError(f"unknown simulation status {status!r}; use one of {SIM_STATUSES[1:]}")
        with self._transaction() as c:
            c.execute(
                "UPDATE simulations SET status = ?, wall_time_s = ?, error = ?, finished_at = ? WHERE id = ?",
                (status, float(wall_time_s), error, time.time(), simulation_id),
            )

    def set_replay_url(self, simulation_id: int, url: str, env_index: int = 0) -> None:
        """Attach a replay file to the first stored episode of ``env_index`` in a simulation."""
        with self._transaction() as c:
            c.execute(
                "UPDATE episodes SET replay_url = ? WHERE id = (SELECT MIN(id) FROM episodes"
                " WHERE simulation_id = ? AND env_index = ?)",
                (url, simulation_id, env_index),
            )

    # -- queries --------------------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Run a read-only query and return all rows."""
        return list(self._conn.execute(sql, tuple(params)))

    def num_samples(self, flt: Filter = Filter()) -> int:
        """Number of agent-episodes (episode, agent) matching ``flt``."""
        where, params = flt.sql()
        sql = (
            "SELECT COUNT(*) FROM agent_policies ap JOIN episodes e ON e.id = ap.episode_id"
            f" JOIN simulations s ON s.id = e.simulation_id WHERE {where}"
        )
        return int(self.query(sql, params)[0][0])

    def average_metric(self, metric: str, flt: Filter = Filter()) -> float | None:
        """Σ values of ``metric`` ÷ number of matching agent-episodes (missing = 0); None when nothing matches."""
        n = self.num_samples(flt)
        if n == 0:
            return None
        where, params = flt.sql()
        sql = (
            "SELECT COALESCE(SUM(m.value), 0) FROM agent_policies ap JOIN episodes e ON e.id = ap.episode_id"
            " JOIN simulations s ON s.id = e.simulation_id JOIN agent_metrics m"
            f" ON m.episode_id = ap.episode_id AND m.agent_id = ap.agent_id AND m.metric = ? WHERE {where}"
        )
        return float(self.query(sql, [metric, *params])[0][0]) / n

    def metric_names(self, flt: Filter = Filter()) -> list[str]:
        """All metric names recorded for agent-episodes matching ``flt``."""
        where, params = flt.sql()
        sql = (
            "SELECT DISTINCT m.metric FROM agent_policies ap JOIN episodes e ON e.id = ap.episode_id"
            " JOIN simulations s ON s.id = e.simulation_id JOIN agent_metrics m"
            f" ON m.episode_id = ap.episode_id AND m.agent_id = ap.agent_id WHERE {where} ORDER BY m.metric"
        )
        return [r[0] for r in self.query(sql, params)]

    def _names(self, column: str, flt: Filter) -> list[str]:
        where, params = flt.sql()
        sql = (
            f"SELECT DISTINCT s.{column} FROM simulations s LEFT JOIN episodes e ON e.simulation_id = s.id"
            f" LEFT JOIN agent_policies ap ON ap.episode_id = e.id WHERE {where} ORDER BY s.id"
        )
        return list(dict.fromkeys(r[0] for r in self.query(sql, params)))

    def simulation_scores(self, flt: Filter = Filter(), metric: str = "reward") -> dict[str, float | None]:
        """Average ``metric`` per simulation name (exact match); None for a simulation with no finished episode."""
        return {name: self.average_metric(metric, _replace(flt, sim_name=name)) for name in self._names("name", flt)}

    def category_scores(self, flt: Filter = Filter(), metric: str = "reward") -> dict[str, float | None]:
        """Average ``metric`` over all agent-episodes of each category (exact match on the name before '/')."""
        return {cat: self.average_metric(metric, _replace(flt, category=cat)) for cat in self._names("category", flt)}

    def avg_category_score(self, flt: Filter = Filter(), metric: str = "reward") -> float | None:
        """Unweighted mean of the category scores; None if any category has no finished episode."""
        scores = list(self.category_scores(flt, metric).values())
        known = [s for s in scores if s is not None]
        if not scores or len(known) != len(scores):
            return None
        return sum(known) / len(known)

    def simulations(self, flt: Filter = Filter()) -> list[dict[str, Any]]:
        """Simulation rows (as dicts) matching the simulation-level fields of ``flt``."""
        where, params = _replace(flt, policy_key=None, policy_version=None).sql()
        cur = self._conn.execute(f"SELECT * FROM simulations s WHERE {where} ORDER BY s.id", params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


if TYPE_CHECKING:
    from typing import TypedDict

    from typing_extensions import Unpack

    class _FilterChanges(TypedDict, total=False):
        """Keyword arguments of ``_replace``: any subset of the :class:`Filter` fields."""

        policy_key: str | None
        policy_version: int | None
        eval_id: str | None
        suite: str | None
        sim_name: str | None
        category: str | None


def _replace(flt: Filter, **changes: Unpack[_FilterChanges]) -> Filter:
    from dataclasses import replace

    return replace(flt, **changes)
