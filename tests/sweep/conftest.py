"""Fixtures for the sweep-execution tests: one ``store`` fixture parametrised over every SweepStore backend."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from metta.sweep.store import PostgresSweepStore, SQLiteSweepStore, SweepHTTPServer, SweepStore, open_store

POSTGRES_ENV = "METTA_TEST_POSTGRES_URL"
TOKEN = "test-token"


def postgres_url() -> str:
    """The test PostgreSQL URL, or skip with the reason (CI's .ci/run exports it)."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (run .ci/run, or start a local PostgreSQL and export the URL)")
    return url


class ServedStore:
    """An HTTP sweep service on a free loopback port, backed by a SQLite file; stopped at teardown."""

    def __init__(self, db: Path, token: str = TOKEN) -> None:
        self.backing = SQLiteSweepStore(db)
        self.server = SweepHTTPServer(("127.0.0.1", 0), self.backing, token=token)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.backing.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedStore]:
    s = ServedStore(tmp_path / "served.db")
    yield s
    s.stop()


@pytest.fixture(params=["sqlite", "postgres", "http"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SweepStore]:
    """Every backend behind one fixture; the contract suite runs once per backend."""
    if request.param == "sqlite":
        s: SweepStore = open_store(tmp_path / "sweeps.db")
        yield s
        s.close()
    elif request.param == "postgres":
        s = PostgresSweepStore(postgres_url())
        yield s
        s.close()
    else:
        served = ServedStore(tmp_path / "served.db")
        monkeypatch.setenv("METTA_SWEEP_TOKEN", TOKEN)
        s = open_store(served.url)
        yield s
        served.stop()


@pytest.fixture
def sweep_name() -> str:
    """A fresh sweep name, so tests sharing one PostgreSQL database never see each other's rows."""
    return f"t_{uuid.uuid4().hex[:12]}"
