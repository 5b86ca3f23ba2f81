"""Dash callbacks driven through Flask's test client (no browser): page, filters, click details, CSV, offline assets."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from metta.sweep.dashboard.app import create_app
from metta.sweep.dashboard.source import load_snapshot
from metta.sweep.store import open_store
from metta.sweep.validation import SUCCESS, ResultLog, RunResult, ValidationConfig
from tests.dashboard.conftest import SWEEP, write_run_dir


def _outputs(spec: str) -> list[dict[str, str]]:
    parts = spec.strip(".").split("...") if spec.startswith("..") else [spec]
    return [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]


class Callbacks:
    """Calls the app's callbacks the way the browser does (POST /_dash-update-component)."""

    def __init__(self, app: Any) -> None:
        self.client = app.server.test_client()
        self.deps = self.client.get("/_dash-dependencies").get_json()

    def call(self, output: str, values: dict[str, Any], changed: str) -> dict[str, dict[str, Any]]:
        dep = next(d for d in self.deps if output in d["output"])
        ins = [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]]
        states = [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in dep["state"]]
        outs = _outputs(dep["output"])
        payload = {
            "output": dep["output"],
            "outputs": outs if len(outs) > 1 else outs[0],
            "inputs": ins,
            "state": states,
            "changedPropIds": [changed],
        }
        r = self.client.post("/_dash-update-component", json=payload)
        assert r.status_code in (200, 204), r.data[:500]
        return r.get_json()["response"] if r.status_code == 200 else {}


@pytest.fixture(scope="module")
def app_and_dir(synthetic_store: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    sweep_dir = tmp_path_factory.mktemp("sweepdir")
    write_run_dir(sweep_dir, f"{SWEEP}.r.7", seed=13)
    app = create_app(
        lambda: load_snapshot(synthetic_store, SWEEP, sweep_dir=str(sweep_dir)), hourly_cost=2.0, refresh_s=5
    )
    return app, sweep_dir


def _page_values(
    smin: float, smax: float, cmin: float, cmax: float, sv: list | None = None, cv: list | None = None
) -> dict[str, Any]:
    return {
        "score-range.value": sv or [smin, smax],
        "cost-range.value": cv or [cmin, cmax],
        "score-range.min": smin,
        "score-range.max": smax,
        "cost-range.min": cmin,
        "cost-range.max": cmax,
        "refresh.n_intervals": None,
    }


def test_index_serves_everything_locally(app_and_dir: tuple[Any, Path]):
    client = app_and_dir[0].server.test_client()
    html = client.get("/").data.decode()
    srcs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert srcs and all(s.startswith("/") for s in srcs), srcs
    assert any("dashboard.css" in s for s in srcs)
    assert client.get("/assets/dashboard.css").status_code == 200
    plotly_js = [s for s in srcs if "plotly" in s.lower()]
    assert not plotly_js or client.get(plotly_js[0]).status_code == 200


def test_page_callback_builds_cards_figures_and_table_and_the_sliders_filter(
    app_and_dir: tuple[Any, Path], synthetic_store: str
):
    app, _ = app_and_dir
    snap = load_snapshot(synthetic_store, SWEEP)
    ok = [r for r in snap.rows if r.ok]
    cb = Callbacks(app)
    smin, smax = min(r.score for r in ok) - 1, max(r.score for r in ok) + 1
    cmin, cmax = 0.0, 1000.0
    out = cb.call("cards.children", _page_values(smin, smax, cmin, cmax), "score-range.value")
    assert out["filter-note"]["children"] == "showing 300 of 300 observations"
    cards = str(out["cards"]["children"])
    assert "300" in cards and f"{sum(r.cost for r in snap.rows) / 3600 * 2.0:,.2f}" in cards
    runs = next(t for t in out["cost-score"]["figure"]["data"] if t["name"] == "runs")
    assert len(runs["x"]) == len(ok)
    assert len(out["runs-table"]["data"]) == 300
    cut = sorted(r.score for r in ok)[len(ok) // 2]
    out = cb.call("cards.children", _page_values(smin, smax, cmin, cmax, sv=[cut, smax]), "score-range.value")
    runs = next(t for t in out["cost-score"]["figure"]["data"] if t["name"] == "runs")
    assert len(runs["x"]) == sum(r.score >= cut for r in ok)
    shown = int(out["filter-note"]["children"].split()[1])
    assert shown == sum(r.score >= cut for r in ok) + sum(not r.ok for r in snap.rows)


def test_clicking_a_point_shows_the_run_details(app_and_dir: tuple[Any, Path], synthetic_store: str):
    app, sweep_dir = app_and_dir
    snap = load_snapshot(synthetic_store, SWEEP)
    row = next(r for r in snap.rows if r.run_id == f"{SWEEP}.r.7")
    cb = Callbacks(app)
    out = cb.call(
        "details.children", {"cost-score.clickData": {"points": [{"customdata": row.seq}]}}, "cost-score.clickData"
    )
    text = str(out["details"]["children"])
    assert f"{SWEEP}.r.7" in text and "13" in text and str(sweep_dir / "runs" / f"{SWEEP}.r.7" / "train.log") in text
    viewport = [{"seq": row.seq, "run_id": row.run_id}]
    out = cb.call(
        "details.children",
        {"runs-table.active_cell": {"row": 0, "column": 1}, "runs-table.derived_viewport_data": viewport},
        "runs-table.active_cell",
    )
    assert f"{SWEEP}.r.7" in str(out["details"]["children"])


def test_csv_download_has_a_header_and_every_shown_run(app_and_dir: tuple[Any, Path]):
    cb = Callbacks(app_and_dir[0])
    vals = {"csv-button.n_clicks": 1, "score-range.value": None, "cost-range.value": None}
    out = cb.call("csv-download.data", vals, "csv-button.n_clicks")
    data = out["csv-download"]["data"]
    lines = data["content"].strip().splitlines()
    assert lines[0].startswith("trial,run id,status,score,cost (s),phase,learning_rate")
    assert len(lines) == 301 and data["filename"] == f"{SWEEP}_runs.csv"


def test_refresh_widens_slider_bounds_but_keeps_a_narrowed_range(app_and_dir: tuple[Any, Path]):
    cb = Callbacks(app_and_dir[0])
    vals = {
        "refresh.n_intervals": 1,
        "score-range.value": [0.0, 0.5],
        "score-range.min": 0.0,
        "score-range.max": 0.5,
        "cost-range.value": [20.0, 30.0],
        "cost-range.min": 0.0,
        "cost-range.max": 40.0,
    }
    out = cb.call("score-range.min", vals, "refresh.n_intervals")
    smin, smax = out["score-range"]["min"], out["score-range"]["max"]
    assert smax > 1.0 and out["score-range"]["value"] == [smin, smax]  # full range stays full
    assert out["cost-range"]["value"] == [20.0, 30.0]  # a narrowed range is kept


def test_live_refresh_shows_new_runs_and_validation_progress(tmp_path: Path):
    uri, sweep_dir = str(tmp_path / "s.db"), tmp_path / "sweep" / "live"
    store = open_store(uri)
    store.register_sweep("live", {"metric": "score", "goal": "maximize"})
    store.record_observation("live", store.next_run_id("live"), {"x": 1.0}, 0.5, 3.0, False)
    cfg = ValidationConfig(
        sweep_name="live", data_dir=str(sweep_dir), sweep_dir=str(sweep_dir), sim_name="s", metric="score", seeds=(1,)
    )
    log = ResultLog(cfg.results_path)
    log.append(RunResult("baseline", 1, "live.v.base.s1", SUCCESS, 0.1, "", {}, cfg.protocol(), created_at=1.0))
    app = create_app(lambda: load_snapshot(uri, "live", sweep_dir=str(sweep_dir)), refresh_s=0.3)
    cb = Callbacks(app)
    vals = _page_values(0.0, 1.0, 0.0, 10.0)
    out = cb.call("cards.children", vals, "refresh.n_intervals")
    assert out["filter-note"]["children"] == "showing 1 of 1 observations"
    assert out["validation-progress"]["children"].startswith("1 of 1 runs done")
    store.record_observation("live", store.next_run_id("live"), {"x": 2.0}, 0.7, 4.0, False)
    store.close()
    log.append(RunResult("live.r.0", 1, "live.v.r0.s1", SUCCESS, 0.45, "", {"x": 1.0}, cfg.protocol(), created_at=2.0))
    time.sleep(0.5)  # older than the refresh interval: the next tick reloads the store and the results file
    out = cb.call("cards.children", {**vals, "refresh.n_intervals": 1}, "refresh.n_intervals")
    assert out["filter-note"]["children"] == "showing 2 of 2 observations"
    assert out["validation-progress"]["children"].startswith("2 of 2 runs done")
    assert [r["config"] for r in out["validation-table"]["data"]] == ["baseline", "live.r.0"]
