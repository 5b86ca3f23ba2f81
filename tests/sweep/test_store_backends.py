"""Backend-specific behaviour: SQLite files (WAL, corrupt files, URIs) and the HTTP service's legacy endpoints."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from metta.common.errors import StoreError
from metta.sweep.store import HTTPSweepStore, SQLiteSweepStore, open_store

from .conftest import TOKEN, ServedStore


def test_open_store_picks_backend_by_uri(tmp_path: Path) -> None:
    a = open_store(tmp_path / "a.db")
    b = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    assert isinstance(a, SQLiteSweepStore) and isinstance(b, SQLiteSweepStore)
    assert b.path == tmp_path / "b.db" and (tmp_path / "b.db").exists()
    assert isinstance(open_store("http://127.0.0.1:1"), HTTPSweepStore)
    with pytest.raises(StoreError, match="unsupported"):
        open_store("mysql://x")
    with pytest.raises(StoreError, match="empty"):
        open_store("  ")


def test_sqlite_uses_wal_and_persists_across_reopen(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    s = SQLiteSweepStore(db)
    s.register_sweep("x")
    s.next_run_id("x")
    s.record_observation("x", None, {"a": 1}, 2.0, 3.0, False)
    s.close()
    mode = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    s2 = SQLiteSweepStore(db)
    assert s2.next_run_id("x") == "x.r.1"
    assert [o.objective for o in s2.load_observations("x")] == [2.0]


def test_corrupt_sqlite_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "broken.db"
    junk = b"this is not a database" * 200
    db.write_bytes(junk)
    with pytest.raises(StoreError, match=r"broken\.db.*not a readable SQLite database"):
        SQLiteSweepStore(db)
    assert db.read_bytes() == junk


def test_directory_as_store_path_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        SQLiteSweepStore(tmp_path)


def _raw(url: str, method: str = "GET", token: str | None = TOKEN, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_http_legacy_cogweb_endpoints(served: ServedStore) -> None:
    u = served.url
    assert _raw(f"{u}/sweeps/legacy") == (200, {"exists": False, "wandb_sweep_id": "", "name": "legacy"})
    code, out = _raw(
        f"{u}/sweeps/legacy/create_sweep", "POST", body={"project": "metta", "entity": "team", "wandb_sweep_id": "abc"}
    )
    assert (code, out) == (200, {"created": True, "sweep_id": "legacy"})
    assert _raw(f"{u}/sweeps/legacy/create_sweep", "POST", body={"project": "metta"})[1]["created"] is False
    code, info = _raw(f"{u}/sweeps/legacy")
    assert code == 200 and info["exists"] is True and info["wandb_sweep_id"] == "abc"
    assert _raw(f"{u}/sweeps/legacy/runs/next", "POST") == (200, {"run_id": "legacy.r.0"})
    assert _raw(f"{u}/sweeps/legacy/runs/next", "POST") == (200, {"run_id": "legacy.r.1"})
    assert _raw(f"{u}/sweeps/nope/runs/next", "POST")[0] == 404
    # the legacy client spelling works too
    client = HTTPSweepStore(u, token=TOKEN)
    assert client.create_sweep("legacy2", "metta", "team", "w")["created"] is True
    assert client.get_next_run_id("legacy2") == "legacy2.r.0"
    # and the rows are in the backing SQL store
    assert served.backing.get_sweep("legacy").meta["wandb_sweep_id"] == "abc"


def test_http_token_is_required(served: ServedStore) -> None:
    assert _raw(f"{served.url}/sweeps/x", token=None)[0] == 401
    assert _raw(f"{served.url}/sweeps/x", token="wrong")[0] == 401
    with pytest.raises(StoreError, match="401"):
        HTTPSweepStore(served.url, token="wrong").get_sweep("x")


def test_http_errors_are_store_errors(served: ServedStore) -> None:
    c = HTTPSweepStore(served.url, token=TOKEN)
    c.register_sweep("e")
    with pytest.raises(StoreError, match="400.*not registered"):
        c.record_observation("unknown", None, {"a": 1}, 1.0, 1.0, False)
    c.start_trial("e", "e.r.0", {}, "w")
    with pytest.raises(StoreError, match="already started"):
        c.start_trial("e", "e.r.0", {"other": 1}, "w")
    with pytest.raises(StoreError, match="cannot reach.*gave up after retrying"):
        HTTPSweepStore("http://127.0.0.1:9", token=TOKEN, timeout_s=2, reconnect_s=0.5).get_sweep("x")


def test_http_client_rejects_a_non_sweep_server(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Html(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *a) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with pytest.raises(StoreError, match="invalid answer"):
            HTTPSweepStore(f"http://127.0.0.1:{srv.server_address[1]}").get_sweep("x")
    finally:
        srv.shutdown()
        srv.server_close()
