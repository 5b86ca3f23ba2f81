"""Store faults: a PostgreSQL restart mid-sweep is ridden out with reconnect-and-retry; a read-only SQLite location
gives a clear error and leaves the stored data intact."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from metta.common.errors import StoreError
from metta.sweep.store import PostgresSweepStore, open_store

from .conftest import POSTGRES_ENV, postgres_url


def test_postgres_restart_mid_sweep_loses_nothing(sweep_name: str) -> None:
    if os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} points at a server this session cannot restart")
    from tests import postgres_server

    store = PostgresSweepStore(postgres_url())
    store.register_sweep(sweep_name, {"metric": "m"})
    ids: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(40):
                rid = store.next_run_id(sweep_name)
                store.start_trial(sweep_name, rid, {"i": i}, "w")
                store.record_observation(sweep_name, rid, {"i": i}, float(i), 1.0, False, "")
                ids.append(rid)
                time.sleep(0.05)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=work)
    t.start()
    time.sleep(0.5)
    assert postgres_server.restart()
    t.join(120)
    assert not errors, errors
    obs = store.load_observations(sweep_name)
    assert len(ids) == 40 and len(set(ids)) == 40
    assert sorted(o.run_id for o in obs) == sorted(ids) and store.list_trials(sweep_name) == []
    store.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_sqlite_location_is_a_clear_error_and_data_stays_intact(tmp_path: Path) -> None:
    _check_read_only_case(tmp_path)


def test_read_only_sqlite_file_as_root_via_immutable_copy(tmp_path: Path) -> None:
    """Root ignores permissions, so simulate a read-only medium with SQLite's read-only URI mode on the file."""
    db = tmp_path / "sweeps.db"
    store = open_store(db)
    store.register_sweep("s", {"metric": "m"})
    store.record_observation("s", None, {"lr": 0.1}, 1.0, 1.0, False, "")
    store.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    import sqlite3

    from metta.sweep.store import SQLiteSweepStore

    ro = SQLiteSweepStore.__new__(SQLiteSweepStore)
    SQLiteSweepStore.__init__(ro, db)
    ro._conn.close()
    ro._conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    with pytest.raises(StoreError) as exc:
        ro.record_observation("s", None, {"lr": 0.2}, 2.0, 1.0, False, "")
    assert str(db) in str(exc.value) and "readonly" in str(exc.value).replace("-", "").replace(" ", "").lower()
    ro._conn.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert len(open_store(db).load_observations("s")) == 1


def _check_read_only_case(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    store = open_store(d / "sweeps.db")
    store.register_sweep("s", {"metric": "m"})
    store.close()
    before = hashlib.sha256((d / "sweeps.db").read_bytes()).hexdigest()
    os.chmod(d / "sweeps.db", 0o444)
    os.chmod(d, 0o555)
    try:
        with pytest.raises(StoreError) as exc:
            s = open_store(d / "sweeps.db")
            s.record_observation("s", None, {"lr": 0.2}, 2.0, 1.0, False, "")
        assert str(d) in str(exc.value)
    finally:
        os.chmod(d, 0o755)
        os.chmod(d / "sweeps.db", 0o644)
    assert hashlib.sha256((d / "sweeps.db").read_bytes()).hexdigest() == before
    _ = threading  # keep import used when skipped


def test_a_locked_store_file_is_waited_for_then_reported_as_locked_not_damaged(tmp_path: Path) -> None:
    """Two workers creating one store at once may see "database is locked" while the file is switched to WAL; that
    is contention: the store waits for it (up to its timeout), and past the timeout says so, naming the file."""
    import sqlite3

    from metta.sweep.store import SQLiteSweepStore

    db = tmp_path / "sweeps.db"
    holder = sqlite3.connect(str(db), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError, match="stayed locked by another process") as info:
        SQLiteSweepStore(db, timeout_s=0.3)
    assert str(db) in str(info.value) and "not a readable" not in str(info.value)
    release = threading.Timer(0.5, holder.rollback)
    release.start()
    store = SQLiteSweepStore(db, timeout_s=30.0)  # waits for the lock, then opens
    release.join()
    store.register_sweep("s", {})
    assert store.get_sweep("s") is not None
    store.close()
    holder.close()
