"""The SQL sweep store: one implementation over SQLite (default, one file, WAL) and PostgreSQL (psycopg 3).

Every write is one transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: row locks via ``UPDATE ... RETURNING``),
run ids come from an atomic per-sweep counter, and an observation and its trial's status change commit together.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from metta.common.errors import DuplicateTrialError, StoreError
from metta.common.retry import backoff_delays
from metta.sweep.store.base import (
    INTERRUPTED_REASON,
    TRIAL_DONE,
    TRIAL_FAILED,
    TRIAL_RUNNING,
    TRIAL_STATUSES,
    Observation,
    SweepInfo,
    SweepStore,
    Trial,
    check_sweep_name,
    dumps,
    format_run_id,
    now,
)

SCHEMA_VERSION = 1

_TABLES = """
CREATE TABLE IF NOT EXISTS sweep_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sweeps (
  name TEXT PRIMARY KEY, meta TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
  next_run INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS trials (
  run_id TEXT PRIMARY KEY, sweep TEXT NOT NULL REFERENCES sweeps(name), suggestion TEXT NOT NULL,
  status TEXT NOT NULL, worker TEXT NOT NULL, started_at DOUBLE PRECISION NOT NULL,
  heartbeat_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION);
CREATE TABLE IF NOT EXISTS observations (
  id {autoinc}, sweep TEXT NOT NULL REFERENCES sweeps(name), run_id TEXT UNIQUE, suggestion TEXT NOT NULL,
  objective DOUBLE PRECISION, cost DOUBLE PRECISION NOT NULL, is_failure INTEGER NOT NULL, reason TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS observations_sweep_id ON observations (sweep, id);
CREATE INDEX IF NOT EXISTS trials_sweep_status ON trials (sweep, status);
"""

_OBS_COLS = "id, sweep, run_id, suggestion, objective, cost, is_failure, reason, created_at"
_TRIAL_COLS = "run_id, sweep, suggestion, status, worker, started_at, heartbeat_at"


_SWEEP_SELECT = "SELECT name, meta, created_at, next_run FROM sweeps WHERE name = ?"
_OBS_INSERT = "INSERT INTO observations (sweep, run_id, suggestion, objective, cost, is_failure, reason, created_at)"


def _info(row: Any) -> SweepInfo:
    return SweepInfo(name=row[0], meta=json.loads(row[1]), created_at=float(row[2]), run_ids_issued=int(row[3]))


def _obs(row: Any) -> Observation:
    return Observation(
        seq=int(row[0]),
        sweep=row[1],
        run_id=row[2],
        suggestion=json.loads(row[3]),
        objective=None if row[4] is None else float(row[4]),
        cost=float(row[5]),
        is_failure=bool(row[6]),
        reason=row[7],
        created_at=float(row[8]),
    )


def _trial(row: Any) -> Trial:
    return Trial(
        run_id=row[0],
        sweep=row[1],
        suggestion=json.loads(row[2]),
        status=row[3],
        worker=row[4],
        started_at=float(row[5]),
        heartbeat_at=float(row[6]),
    )


class SQLSweepStore(SweepStore):
    """Dialect-independent store logic; subclasses provide ``_tx()`` (a cursor inside one transaction)."""

    uri: str
    placeholder = "?"

    def __init__(self) -> None:
        self._lock = threading.RLock()

    # -- dialect hooks -------------------------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Any]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _exec(self, cur: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
        cur.execute(self._q(sql), params)
        return cur

    # -- protocol ------------------------------------------------------------------------------------------------
    def register_sweep(self, name: str, meta: dict[str, Any] | None = None) -> tuple[SweepInfo, bool]:
        check_sweep_name(name)
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO sweeps (name, meta, created_at, next_run) VALUES (?, ?, ?, 0)"
                " ON CONFLICT (name) DO NOTHING",
                (name, dumps(meta or {}), now()),
            )
            created = cur.rowcount == 1
            row = self._exec(cur, _SWEEP_SELECT, (name,)).fetchone()
        return _info(row), created

    def get_sweep(self, name: str) -> SweepInfo | None:
        with self._tx() as cur:
            row = self._exec(cur, _SWEEP_SELECT, (name,)).fetchone()
        return None if row is None else _info(row)

    def next_run_id(self, name: str) -> str:
        with self._tx() as cur:
            row = self._exec(
                cur, "UPDATE sweeps SET next_run = next_run + 1 WHERE name = ? RETURNING next_run", (name,)
            ).fetchone()
        if row is None:
            raise StoreError(f"sweep {name!r} is not registered in {self.uri}; register it first (register_sweep)")
        return format_run_id(name, int(row[0]) - 1)

    def start_trial(self, name: str, run_id: str, suggestion: dict[str, Any], worker: str) -> Trial:
        t = now()
        text = dumps(suggestion)
        with self._tx() as cur:
            self._lock_sweep(cur, name)
            self._require_sweep(cur, name)
            dup = self._exec(
                cur,
                "SELECT run_id FROM trials WHERE sweep = ? AND status = ? AND suggestion = ?",
                (name, TRIAL_RUNNING, text),
            ).fetchone()
            if dup is not None:
                raise DuplicateTrialError(f"trial {dup[0]!r} of sweep {name!r} is already running this suggestion")
            try:
                self._exec(
                    cur,
                    f"INSERT INTO trials ({_TRIAL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (run_id, name, text, TRIAL_RUNNING, worker, t, t),
                )
            except self._integrity_errors() as exc:
                raise StoreError(f"trial {run_id!r} was already started in {self.uri}; allocate a new run id") from exc
        return Trial(run_id, name, dict(suggestion), TRIAL_RUNNING, worker, t, t)

    def heartbeat(self, name: str, run_id: str) -> None:
        with self._tx() as cur:
            self._exec(
                cur,
                "UPDATE trials SET heartbeat_at = ? WHERE sweep = ? AND run_id = ? AND status = ?",
                (now(), name, run_id, TRIAL_RUNNING),
            )

    def _store_observation(self, draft: Observation) -> Observation:
        name, run_id, suggestion, is_failure = draft.sweep, draft.run_id, draft.suggestion, draft.is_failure
        obj, cost, reason = draft.objective, draft.cost, draft.reason
        t = now()
        with self._tx() as cur:
            self._require_sweep(cur, name)
            if run_id is not None:
                self._replace_interrupted(cur, name, run_id)
            row = self._exec(
                cur,
                _OBS_INSERT + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (name, run_id, dumps(suggestion), obj, float(cost), int(bool(is_failure)), reason, t),
            ).fetchone()
            if run_id is not None:
                self._exec(
                    cur,
                    "UPDATE trials SET status = ?, finished_at = ? WHERE sweep = ? AND run_id = ?",
                    (TRIAL_FAILED if is_failure else TRIAL_DONE, t, name, run_id),
                )
        return Observation(name, run_id, dict(suggestion), obj, float(cost), bool(is_failure), reason, t, int(row[0]))

    def _replace_interrupted(self, cur: Any, name: str, run_id: str) -> None:
        """A worker that was presumed dead may still finish: its real result replaces the 'interrupted' record."""
        row = self._exec(
            cur, "SELECT id, reason FROM observations WHERE sweep = ? AND run_id = ?", (name, run_id)
        ).fetchone()
        if row is None:
            return
        if row[1] != INTERRUPTED_REASON:
            raise StoreError(f"run {run_id!r} of sweep {name!r} already has an observation; run ids are single-use")
        self._exec(cur, "DELETE FROM observations WHERE id = ?", (row[0],))

    def load_observations(self, name: str, limit: int | None = None) -> list[Observation]:
        if limit is not None and int(limit) < 0:
            raise StoreError(f"limit {limit!r} must be >= 0 or None")
        sql = f"SELECT {_OBS_COLS} FROM observations WHERE sweep = ? ORDER BY id DESC"
        params: tuple[Any, ...] = (name,)
        if limit is not None:
            sql += " LIMIT ?"
            params = (name, int(limit))
        with self._tx() as cur:
            rows = self._exec(cur, sql, params).fetchall()
        return [_obs(r) for r in rows]

    def count_observations(self, name: str, launched_only: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM observations WHERE sweep = ?" + (" AND run_id IS NOT NULL" if launched_only else "")
        with self._tx() as cur:
            return int(self._exec(cur, sql, (name,)).fetchone()[0])

    def list_trials(self, name: str, status: str | None = TRIAL_RUNNING) -> list[Trial]:
        if status is not None and status not in TRIAL_STATUSES:
            raise StoreError(f"unknown trial status {status!r}; use one of {TRIAL_STATUSES} or None")
        sql = f"SELECT {_TRIAL_COLS} FROM trials WHERE sweep = ?"
        params: tuple[Any, ...] = (name,)
        if status is not None:
            sql += " AND status = ?"
            params = (name, status)
        with self._tx() as cur:
            rows = self._exec(cur, sql + " ORDER BY started_at, run_id", params).fetchall()
        return [_trial(r) for r in rows]

    def mark_interrupted(self, name: str, run_ids: list[str], reason: str = INTERRUPTED_REASON) -> list[str]:
        # cost = time the trial was last known alive (heartbeat - start), not the downtime until someone noticed
        closed: list[str] = []
        t = now()
        with self._tx() as cur:
            for rid in run_ids:
                row = self._exec(
                    cur,
                    "UPDATE trials SET status = ?, finished_at = ? WHERE sweep = ? AND run_id = ? AND status = ?"
                    " RETURNING suggestion, started_at, heartbeat_at",
                    (TRIAL_FAILED, t, name, rid, TRIAL_RUNNING),
                ).fetchone()
                if row is None:
                    continue
                self._exec(
                    cur,
                    _OBS_INSERT + " VALUES (?, ?, ?, NULL, ?, 1, ?, ?)",
                    (name, rid, row[0], max(float(row[2]) - float(row[1]), 1e-3), reason, t),
                )
                closed.append(rid)
        return closed

    def _lock_sweep(self, cur: Any, name: str) -> None:
        """Serialise trial starts of one sweep (SQLite's BEGIN IMMEDIATE already does)."""

    def _require_sweep(self, cur: Any, name: str) -> None:
        if self._exec(cur, "SELECT 1 FROM sweeps WHERE name = ?", (name,)).fetchone() is None:
            raise StoreError(f"sweep {name!r} is not registered in {self.uri}; register it first (register_sweep)")

    def _integrity_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.IntegrityError,)


class SQLiteSweepStore(SQLSweepStore):
    """Embedded default: one SQLite file (WAL journal, ``BEGIN IMMEDIATE`` writes, 60 s busy timeout)."""

    def __init__(self, path: str | Path, timeout_s: float = 60.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.uri = f"sqlite:///{self.path}"
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"sweep store path {self.path} is a directory; point sweep_server_uri at a .db file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._conn = self._open(timeout_s)
                return
            except sqlite3.OperationalError as exc:
                # two workers creating the file at once: switching a new file to WAL can report "locked" at once,
                # without waiting for the busy timeout; that is contention, not a damaged file, so wait and retry
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise self._unreadable(exc) from exc
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"sweep store {self.path} stayed locked by another process for {timeout_s:.0f} s ({exc}); "
                        "stop the process holding it or point settings.sweep_server_uri at another file"
                    ) from exc
                time.sleep(0.1)
            except sqlite3.DatabaseError as exc:
                raise self._unreadable(exc) from exc

    def _open(self, timeout_s: float) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._conn = conn
            self._create_schema()
        except BaseException:
            conn.close()
            raise
        return conn

    def _unreadable(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"sweep store {self.path} is not a readable SQLite database ({exc}); it was left untouched — "
            "move it aside or point settings.sweep_server_uri at another file"
        )

    def _create_schema(self) -> None:
        with self._tx() as cur:
            _create_tables(self, cur, autoinc="INTEGER PRIMARY KEY AUTOINCREMENT")

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open a transaction on {self.path}: {exc}") from exc
            try:
                yield cur
                cur.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # read-only file or directory, disk full, I/O error
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise StoreError(
                    f"cannot write the sweep store {self.path}: {exc} (check that its directory is writable and the "
                    "disk has space; stored data is unchanged)"
                ) from exc
            except BaseException:
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _create_tables(store: SQLSweepStore, cur: Any, autoinc: str) -> None:
    """Create the tables that do not exist yet (``autoinc``: the backend's auto-increment key) and check the version."""
    for stmt in _TABLES.format(autoinc=autoinc).split(";"):
        if stmt.strip():
            cur.execute(stmt)
    _check_schema_version(store, cur)


def _check_schema_version(store: SQLSweepStore, cur: Any) -> None:
    row = store._exec(cur, "SELECT value FROM sweep_store_meta WHERE key = ?", ("schema_version",)).fetchone()
    if row is None:
        store._exec(
            cur, "INSERT INTO sweep_store_meta (key, value) VALUES (?, ?)", ("schema_version", str(SCHEMA_VERSION))
        )
    elif int(row[0]) != SCHEMA_VERSION:
        raise StoreError(f"sweep store {store.uri} has schema version {row[0]}, this code expects {SCHEMA_VERSION}")


class PostgresSweepStore(SQLSweepStore):
    """Shared store for workers on many machines: a ``postgresql://`` URL, psycopg 3, one transaction per call."""

    placeholder = "%s"

    def __init__(self, url: str, connect_timeout_s: int = 10, reconnect_s: float = 60.0) -> None:
        super().__init__()
        self.uri = _redact(url)
        self._url, self._connect_timeout, self.reconnect_s = url, connect_timeout_s, reconnect_s
        try:
            import psycopg  # lazy: an optional extra, needed only for postgresql:// stores
        except ImportError as exc:
            raise StoreError("PostgreSQL sweep stores need psycopg 3: pip install 'psycopg[binary]'") from exc
        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(url, connect_timeout=connect_timeout_s, autocommit=False)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL sweep store {self.uri}: {exc}") from exc
        with self._tx() as cur:
            # Serialise concurrent schema creation by several workers starting at once.
            cur.execute("SELECT pg_advisory_xact_lock(715517)")
            _create_tables(self, cur, autoinc="BIGSERIAL PRIMARY KEY")

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    yield cur
            except self._psycopg.errors.UniqueViolation as exc:
                raise StoreError(f"duplicate record in {self.uri}: {exc}") from exc
            except self._psycopg.OperationalError as exc:
                if self._conn.closed or self._conn.broken:  # nothing was committed: safe to reconnect and retry
                    raise _ConnectionLost(f"PostgreSQL sweep store {self.uri} connection lost: {exc}") from exc
                raise StoreError(f"PostgreSQL sweep store {self.uri} failed: {exc}") from exc

    def _reconnect(self) -> None:
        with self._lock:
            if not (self._conn.closed or self._conn.broken):
                return
            try:
                self._conn = self._psycopg.connect(self._url, connect_timeout=self._connect_timeout, autocommit=False)
            except self._psycopg.Error as exc:
                raise _ConnectionLost(f"cannot reconnect to PostgreSQL sweep store {self.uri}: {exc}") from exc

    def _integrity_errors(self) -> tuple[type[BaseException], ...]:
        return (self._psycopg.errors.UniqueViolation,)

    def _lock_sweep(self, cur: Any, name: str) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _redact(url: str) -> str:
    """Hide a password in a connection URL before it appears in messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


class _ConnectionLost(StoreError):
    """The PostgreSQL connection broke before the transaction committed (e.g. the server restarted)."""


def _with_reconnect(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Retry a one-transaction store call after the connection broke, reconnecting with exponential backoff
    (0.25 s doubling to 8 s) for up to ``reconnect_s`` seconds; then the StoreError names the store."""

    @functools.wraps(fn)
    def call(self: PostgresSweepStore, *args: Any, **kwargs: Any) -> Any:
        delays = backoff_delays(self.reconnect_s)
        while True:
            try:
                self._reconnect()
                return fn(self, *args, **kwargs)
            except _ConnectionLost as exc:
                delay = next(delays, None)
                if delay is None:
                    raise StoreError(f"{exc} (gave up after retrying for {self.reconnect_s:.0f}s)") from exc
                time.sleep(delay)

    return call


for _method in (
    "register_sweep",
    "get_sweep",
    "next_run_id",
    "start_trial",
    "heartbeat",
    "list_trials",
    "mark_interrupted",
    "record_observation",
    "load_observations",
    "count_observations",
):
    setattr(PostgresSweepStore, _method, _with_reconnect(getattr(SQLSweepStore, _method)))
