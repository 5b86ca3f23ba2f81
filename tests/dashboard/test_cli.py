"""The command line as a real subprocess: export a report from the sweep's default store, and clear errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from metta.sweep.dashboard.synthetic import write_synthetic_sweep
from metta.sweep.store import open_store

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "experiments" / "dashboards" / "sweep_dashboard.py"


def _run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)}
    env.pop("WANDB_API_KEY", None)
    return subprocess.run(
        [sys.executable, str(CLI), *args], capture_output=True, text=True, env=env, timeout=300, cwd=str(data_dir)
    )


def test_export_reads_the_default_store_and_writes_a_self_contained_report(tmp_path: Path):
    store = open_store(tmp_path / "sweep" / "sweeps.db")  # where sweep_execute puts it for this data_dir
    try:
        write_synthetic_sweep(store, "cli", 40, seed=3)
        best = max((o for o in store.load_observations("cli") if not o.is_failure), key=lambda o: o.objective)
    finally:
        store.close()
    out = tmp_path / "report.html"
    r = _run(["--sweep-name", "cli", "--export", str(out), "--hourly-cost", "3"], tmp_path)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert best.run_id in html and "Pareto frontier" in html and "Total cost" in html
    assert not re.findall(r'<script[^>]+src="http', html)  # plotly.js is inlined, no CDN
    assert html.count('class="plotly-graph-div"') >= 6
    assert html.count("<tr>") == 41  # header + one row per observation


def test_unknown_sweep_fails_with_a_clear_message(tmp_path: Path, capsys):
    from experiments.dashboards.sweep_dashboard import main

    rc = main(["--sweep-name", "nope", "--store", str(tmp_path / "x.db"), "--export", str(tmp_path / "r.html")])
    assert rc == 1 and "'nope' is not registered" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_unreachable_wandb_fails_with_a_clear_message(tmp_path: Path, capsys, monkeypatch):
    from experiments.dashboards.sweep_dashboard import main

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    rc = main(["--sweep-name", "w", "--entity", "e", "--project", "p", "--export", str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert rc == 1 and "W&B is not reachable" in err and "--store" in err


def test_phases_come_from_the_composed_config_only_when_it_matches_the_stored_one(capsys):
    from experiments.dashboards.sweep_dashboard import _phases, sweep_job

    job = sweep_job("x", ["sweep=phased"])
    stored = job.sweep.protein_for(0)[1].to_dict()  # what the sweep loop registers with the sweep
    assert [p.name for p in _phases(job, stored)] == ["explore_cheap", "exploit_medium", "peak_expensive"]
    assert _phases(job, {**stored, "metric": "other"}) == ()
    assert "phases are not shown" in capsys.readouterr().err
