"""W&B mirror (offline run summaries carry protein_suggestion / protein_observation) and the W&B importer."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from metta.common.errors import StoreError
from metta.sweep.store import Observation, open_store
from metta.sweep.store.wandb_mirror import WandbMirror, import_from_wandb, observation_summary


def test_failure_summary_has_null_objective() -> None:
    o = Observation("s", "s.r.3", {"trainer": {"gamma": 0.9}}, None, 12.0, True, "NaN score")
    s = observation_summary(o, "explore")
    assert s["protein_suggestion"] == {"trainer": {"gamma": 0.9}}
    assert s["protein_observation"] == {
        "suggestion": {"trainer": {"gamma": 0.9}},
        "objective": None,
        "cost": 12.0,
        "is_failure": True,
        "reason": "NaN score",
        "phase": "explore",
    }
    json.dumps(s, allow_nan=False)  # nothing W&B would drop


class _FakeWandbRun:
    def __init__(self, kwargs: dict) -> None:
        self.kwargs, self.summary, self.finished = kwargs, {}, False

    def finish(self) -> None:
        self.finished = True


def test_mirror_groups_by_sweep_and_writes_legacy_summary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    runs: list[_FakeWandbRun] = []
    fake = SimpleNamespace(init=lambda **kw: runs.append(_FakeWandbRun(kw)) or runs[-1])
    monkeypatch.setitem(sys.modules, "wandb", fake)
    m = WandbMirror("grp", "offline", "proj", "team", str(tmp_path))
    m.record(Observation("grp", "grp.r.4", {"trainer": {"gamma": 0.95}}, 0.5, 3.5, False), "explore")
    (run,) = runs
    assert run.kwargs["group"] == "grp" and run.kwargs["name"] == "grp.r.4" and run.kwargs["mode"] == "offline"
    assert run.kwargs["project"] == "proj" and run.kwargs["entity"] == "team" and run.finished
    assert run.summary["protein_observation"]["objective"] == 0.5
    assert run.summary["protein_suggestion"] == {"trainer": {"gamma": 0.95}}


@pytest.mark.slow
def test_offline_mirror_writes_a_local_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    m = WandbMirror("grp", "offline", "metta", None, str(tmp_path))
    m.record(Observation("grp", "grp.r.0", {"trainer": {"gamma": 0.95}}, None, 3.5, True, "crashed"), "base")
    import time

    deadline = time.monotonic() + 10  # the wandb-core service may flush the record file a moment after finish()
    while True:
        files = list(tmp_path.glob("wandb/offline-run-*/run-*.wandb"))
        data = files[0].read_bytes() if len(files) == 1 else b""
        if b"protein_observation" in data or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(files) == 1
    assert b"protein_observation" in data and b'is_failure":true' in data and b"grp" in data


class _FakeRun(SimpleNamespace):
    pass


class _FakeApi:
    def __init__(self, runs: list[_FakeRun]) -> None:
        self._runs = runs
        self.calls: list[tuple] = []

    def runs(self, path: str, filters: dict, per_page: int):
        self.calls.append((path, filters, per_page))
        return iter(self._runs)


def test_importer_rebuilds_a_store_with_a_real_cap(tmp_path: Path) -> None:
    runs = [
        _FakeRun(
            name="w.r.0",
            summary={
                "protein_observation": {"suggestion": {"a": 1}, "objective": 2.0, "cost": 3.0, "is_failure": False}
            },
        ),
        _FakeRun(
            name="w.r.1",
            summary={
                "protein_observation": {"suggestion": {"a": 2}, "objective": None, "cost": 1.0, "is_failure": True}
            },
        ),
        _FakeRun(name="w.r.2", summary={}),  # not a sweep trial
        _FakeRun(
            name="w.r.3",
            summary={
                "protein_observation": {"suggestion": {"a": 3}, "objective": 1.0, "cost": 1.0, "is_failure": False}
            },
        ),
    ]
    store = open_store(tmp_path / "s.db")
    api = _FakeApi(runs)
    assert import_from_wandb(store, "w", "metta", "team", limit=3, api=api) == 2
    assert api.calls == [("team/metta", {"group": "w"}, 3)]
    obs = {o.run_id: o for o in store.load_observations("w")}
    assert obs["w.r.0"].objective == 2.0 and obs["w.r.1"].is_failure and "w.r.3" not in obs
    assert import_from_wandb(store, "w", "metta", "team", api=_FakeApi(runs)) == 1  # only w.r.3 is new


def test_importer_reports_unreachable_api(tmp_path: Path) -> None:
    class Broken:
        def runs(self, *a, **k):
            raise ConnectionError("no route to host")

    with pytest.raises(StoreError, match="no route to host"):
        import_from_wandb(open_store(tmp_path / "s.db"), "w", "metta", None, api=Broken())
