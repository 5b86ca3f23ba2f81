"""The HTTP sweep server: a token on every route, no open non-loopback bind, a body size limit, and SQL that treats
hostile sweep names and suggestions as data."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT
from metta.common.errors import ConfigError, StoreError
from metta.sweep.store import HTTPSweepStore, SQLiteSweepStore, SweepHTTPServer
from metta.sweep.store.http import MAX_BODY_BYTES

from .conftest import TOKEN, ServedStore

ROUTES = [
    ("GET", "/sweeps/s", None),
    ("POST", "/sweeps/s/create_sweep", {"project": "p"}),
    ("POST", "/sweeps/s/runs/next", {}),
    ("POST", "/sweeps/s/trials", {"run_id": "s.r.0", "suggestion": {}, "worker": "w"}),
    ("POST", "/sweeps/s/trials/heartbeat", {"run_id": "s.r.0"}),
    ("GET", "/sweeps/s/trials?status=all", None),
    ("POST", "/sweeps/s/trials/interrupted", {"run_ids": ["s.r.0"]}),
    ("POST", "/sweeps/s/observations", {"suggestion": {}, "cost": 1.0, "is_failure": True}),
    ("GET", "/sweeps/s/observations?limit=5", None),
    ("GET", "/sweeps/s/observations/count", None),
    ("GET", "/nothing/here", None),
]


def _call(url: str, method: str, path: str, body: object, token: str | None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    if token is not None:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_needs_the_token(served: ServedStore, method: str, path: str, body: object) -> None:
    for bad in (None, "", "wrong-token", TOKEN + "x"):
        code, out = _call(served.url, method, path, body, bad)
        assert code == 401 and "X-Auth-Token" in out["detail"], (bad, code, out)
    assert served.backing.get_sweep("s") is None  # nothing was written by the refused requests
    code, _ = _call(served.url, method, path, body, TOKEN)
    assert code != 401


def test_a_non_loopback_bind_without_a_token_is_refused(tmp_path: Path) -> None:
    store = SQLiteSweepStore(tmp_path / "s.db")
    with pytest.raises(ConfigError, match="without a token"):
        SweepHTTPServer(("0.0.0.0", 0), store)
    r = subprocess.run(
        [sys.executable, "tools/sweep_server.py", "--store", str(tmp_path / "s.db"), "--host", "0.0.0.0"],
        cwd=str(REPO_ROOT),
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert r.returncode == 2 and "without a token" in r.stderr, r.stderr
    store.close()


def test_the_tool_binds_loopback_and_makes_a_token_when_none_is_given(tmp_path: Path) -> None:
    p = subprocess.Popen(
        [sys.executable, "tools/sweep_server.py", "--store", str(tmp_path / "s.db"), "--port", "0"],
        cwd=str(REPO_ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    try:
        assert p.stdout is not None
        token_line = p.stdout.readline()
        serving = p.stdout.readline()
        token = token_line.strip().rsplit("METTA_SWEEP_TOKEN=", 1)[1]
        url = serving.strip().rsplit(" on ", 1)[1]
        assert url.startswith("http://127.0.0.1:") and len(token) >= 24
        assert _call(url, "GET", "/sweeps/s", None, None)[0] == 401
        assert _call(url, "GET", "/sweeps/s", None, token) == (
            200,
            {"exists": False, "wandb_sweep_id": "", "name": "s"},
        )
    finally:
        p.terminate()
        p.wait(10)


def test_request_bodies_over_the_limit_are_refused(served: ServedStore) -> None:
    big = {"project": "x" * (MAX_BODY_BYTES + 10)}
    code, out = _call(served.url, "POST", "/sweeps/s/create_sweep", big, TOKEN)
    assert code == 413 and str(MAX_BODY_BYTES) in out["detail"]
    assert served.backing.get_sweep("s") is None
    assert _call(served.url, "POST", "/sweeps/s/create_sweep", {"project": "x" * 1000}, TOKEN)[0] == 200


INJECTIONS = [
    "x'; DROP TABLE observations; --",
    'x"); DELETE FROM trials; --',
    "x' OR '1'='1",
    "robert'); DROP TABLE sweeps;--",
    "名前 with spaces / and %2F",
]


def _tables_and_rows(db_path: Path) -> tuple[set[str], int]:
    db = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return tables, db.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize("name", INJECTIONS)
def test_hostile_sweep_names_are_refused_by_name_and_change_nothing(served: ServedStore, name: str) -> None:
    client = HTTPSweepStore(served.url, token=TOKEN)
    client.register_sweep("victim", {"metric": "m"})
    client.record_observation("victim", None, {"lr": 0.1}, 1.0, 1.0, False, "")
    before = _tables_and_rows(served.backing_path)
    with pytest.raises(StoreError, match="invalid sweep name"):
        client.register_sweep(name, {"metric": "m"})
    with pytest.raises(StoreError, match="invalid sweep name|is not registered"):
        client.record_observation(name, None, {"lr": 0.1}, 1.0, 1.0, False, "")
    assert _tables_and_rows(served.backing_path) == before and client.count_observations("victim") == 1


@pytest.mark.parametrize("evil", INJECTIONS)
def test_hostile_suggestions_reasons_and_meta_are_stored_as_data(served: ServedStore, evil: str) -> None:
    client = HTTPSweepStore(served.url, token=TOKEN)
    client.register_sweep("victim", {"metric": "m"})
    client.record_observation("victim", None, {"lr": 0.1}, 1.0, 1.0, False, "")
    client.register_sweep("s", {"metric": evil})
    rid = client.next_run_id("s")
    suggestion = {"trainer": {evil: evil, "lr": 0.001}}
    client.start_trial("s", rid, suggestion, evil)
    assert client.list_trials("s")[0].worker == evil
    client.record_observation("s", rid, suggestion, 0.5, 2.0, False, "")
    client.record_observation("s", None, suggestion, None, 1.0, True, evil)
    o_fail, o_ok = client.load_observations("s")
    assert o_ok.suggestion == suggestion and o_ok.run_id == rid and o_fail.reason == evil
    assert client.get_sweep("s").meta == {"metric": evil}
    tables, rows = _tables_and_rows(served.backing_path)
    assert {"sweeps", "trials", "observations"} <= tables and rows == 3
    assert client.count_observations("victim") == 1
