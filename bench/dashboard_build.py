#!/usr/bin/env python3
"""Server time to build the sweep dashboard for a 5,000-observation synthetic sweep (target: under 2 s).

    .venv/bin/python bench/dashboard_build.py                  # 5,000 observations, median of 3 builds
    .venv/bin/python bench/dashboard_build.py --observations 20000 --repeats 5

The sweep is written through the store API into a temporary SQLite file. One build = reading the sweep from the store
(``load_snapshot``) + serving the index page + the layout + the page callback that returns every card, figure and
table (through Flask's test client, so JSON encoding is included; no browser). ``build_s`` is wall time (it grows when
other work shares the CPU); ``cpu_s`` is this process's CPU time for the same build (app creation included). The
last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from metta.sweep.dashboard.app import create_app  # noqa: E402
from metta.sweep.dashboard.model import value_range  # noqa: E402
from metta.sweep.dashboard.source import load_snapshot  # noqa: E402
from metta.sweep.dashboard.synthetic import write_synthetic_sweep  # noqa: E402
from metta.sweep.store import open_store  # noqa: E402

TARGET_S = 2.0


def _page_payload(deps: list[dict], snap: object) -> dict:
    dep = next(d for d in deps if "cards.children" in d["output"])
    rows = snap.rows  # type: ignore[attr-defined]
    s_lo, s_hi = value_range(r.score for r in rows)
    c_lo, c_hi = value_range(r.cost for r in rows)
    values = {
        "score-range.value": [s_lo, s_hi],
        "cost-range.value": [c_lo, c_hi],
        "score-range.min": s_lo,
        "score-range.max": s_hi,
        "cost-range.min": c_lo,
        "cost-range.max": c_hi,
    }
    outs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in dep["output"].strip(".").split("...")]
    return {
        "output": dep["output"],
        "outputs": outs,
        "changedPropIds": ["score-range.value"],
        "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
        "state": [{**s, "value": values.get(f"{s['id']}.{s['property']}")} for s in dep["state"]],
    }


def build_once(uri: str, name: str) -> dict[str, float]:
    """Time one cold build: a fresh app whose loader reads the store, then index + layout + page callback."""
    times: dict[str, float] = {}

    def loader() -> object:
        t = time.perf_counter()
        snap = load_snapshot(uri, name)
        times["load_s"] = time.perf_counter() - t
        return snap

    cpu0 = time.process_time()
    app = create_app(loader, refresh_s=0)
    client = app.server.test_client()
    deps = client.get("/_dash-dependencies").get_json()
    t = time.perf_counter()
    index = client.get("/")
    times["index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    layout = client.get("/_dash-layout")
    times["layout_s"] = time.perf_counter() - t
    t = time.perf_counter()
    resp = client.post("/_dash-update-component", json=_page_payload(deps, app._metta_first_snapshot))
    times["callback_s"] = time.perf_counter() - t
    if index.status_code != 200 or layout.status_code != 200 or resp.status_code != 200:
        raise SystemExit(f"page request failed: {index.status_code} {layout.status_code} {resp.status_code}")
    times["cpu_s"] = time.process_time() - cpu0  # this process's CPU time for the whole build (less load-sensitive)
    times["payload_mb"] = len(resp.data) / 1e6
    times["build_s"] = times["load_s"] + times["index_s"] + times["layout_s"] + times["callback_s"]
    return times


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--observations", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dash_bench_") as tmp:
        uri = str(Path(tmp) / "sweeps.db")
        store = open_store(uri)
        t = time.perf_counter()
        try:
            write_synthetic_sweep(store, "bench", a.observations, seed=0)
        finally:
            store.close()
        print(f"wrote {a.observations} observations through the store API in {time.perf_counter() - t:.1f}s")
        runs = [build_once(uri, "bench") for _ in range(a.repeats)]
    for i, r in enumerate(runs, 1):
        print(f"build {i}: " + ", ".join(f"{k}={v:.3f}" for k, v in r.items()))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result = {
        "bench": "dashboard_build",
        "observations": a.observations,
        "repeats": a.repeats,
        **{k: round(v, 4) for k, v in med.items()},
        "target_s": TARGET_S,
        "ratio_to_target": round(med["build_s"] / TARGET_S, 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
