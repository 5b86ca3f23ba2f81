#!/usr/bin/env python3
"""Interactive sweep dashboard (and a self-contained HTML report) over a sweep store.

    python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep              # http://127.0.0.1:8050/
    python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep --hourly-cost 2.5 --max-observations 500
    python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep --store postgresql://u@db:5432/sweeps
    python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep --export report.html   # no server
    python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep sweep=phased data_dir=/data/runs

Without --store the sweep's own store is read, chosen exactly as ./tools/sweep_execute.py chooses it (the composed
configs/sweep_job.yaml: settings.sweep_server_uri, by default <data_dir>/sweep/sweeps.db). Extra ``key=value``
arguments are Hydra overrides of that config (e.g. sweep=phased to show the phases of a phased sweep, data_dir=...).
--entity/--project read the sweep from W&B instead, which needs a reachable W&B server.
Exit code: 0 done, 1 error (e.g. sweep not found), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from metta.common.errors import ConfigError, MettaError  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="Hydra overrides of configs/sweep_job.yaml (sweep=..., data_dir=...)")
    p.add_argument("--sweep-name", required=True, help="sweep to show")
    p.add_argument("--store", help="store URL: file path, sqlite:///, postgresql://, http(s):// (default: the sweep's)")
    p.add_argument("--max-observations", type=int, default=None, help="newest observations to load (default: all)")
    p.add_argument("--hourly-cost", type=float, default=None, help="price of one hour of compute, for money totals")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="port (8050)")
    p.add_argument("--export", metavar="REPORT.html", help="write a self-contained HTML report and exit")
    p.add_argument("--refresh-seconds", type=float, default=10.0, help="live refresh interval; 0 = off (10)")
    p.add_argument("--sweep-dir", help="the sweep's directory (run logs, validation results); default from config")
    p.add_argument("--entity", help="W&B entity (with --project: read the sweep from W&B)")
    p.add_argument("--project", help="W&B project (needs a reachable W&B server)")
    a = p.parse_intermixed_args(argv)
    if a.max_observations is not None and a.max_observations < 1:
        p.error(f"--max-observations {a.max_observations} must be >= 1")
    if a.hourly_cost is not None and not a.hourly_cost >= 0:
        p.error(f"--hourly-cost {a.hourly_cost} must be >= 0")
    if not 0 < a.port < 65536:
        p.error(f"--port {a.port} must be in 1..65535")
    if a.entity and not a.project:
        p.error("--entity needs --project")
    return a


def sweep_job(sweep_name: str, overrides: list[str]) -> Any:
    """The sweep's job config, composed and resolved exactly as tools/sweep_execute.py does."""
    from metta.common.config import compose
    from metta.sweep.sweep_config import resolve_sweep_job

    return resolve_sweep_job(compose("sweep_job", [f"sweep_name={sweep_name}", *overrides]))


def _phases(job: Any, meta_config: Any) -> tuple:
    """The composed sweep's phases, unless the stored sweep was run with a different search config."""
    if job is None or not job.sweep.phases:
        return ()
    if meta_config and meta_config != job.sweep.protein_for(0)[1].to_dict():
        print(
            "note: the stored sweep config differs from the composed one; phases are not shown "
            "(pass the sweep's own sweep=... override)",
            file=sys.stderr,
        )
        return ()
    return tuple(job.sweep.phases)


def _stored_config(uri: str, name: str) -> Any:
    from metta.sweep.store import open_store

    store = open_store(uri)
    try:
        info = store.get_sweep(name)
    finally:
        store.close()
    if info is None:
        raise MettaError(f"sweep {name!r} is not registered in {uri}; check --sweep-name and --store")
    return info.meta.get("config")


def make_loader(a: argparse.Namespace, workdir: str) -> Any:
    """A function returning a fresh Snapshot of the sweep (and the source it reads)."""
    from metta.sweep.dashboard.source import load_snapshot, load_wandb_snapshot

    job = None
    if a.project:
        uri = load_wandb_snapshot(a.entity, a.project, a.sweep_name, workdir, a.max_observations)
    else:
        try:
            job = sweep_job(a.sweep_name, a.overrides)
        except ConfigError:
            if not a.store:
                raise
        uri = a.store or job.settings.sweep_server_uri
    sweep_dir = a.sweep_dir or (job.sweep_dir if job is not None else None)
    phases = _phases(job, _stored_config(uri, a.sweep_name))

    def loader() -> Any:
        return load_snapshot(uri, a.sweep_name, max_observations=a.max_observations, phases=phases, sweep_dir=sweep_dir)

    return loader


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sweep_dashboard_") as workdir:
        try:
            loader = make_loader(a, workdir)
            if a.export:
                from metta.sweep.dashboard.export import write_report

                snap = loader()
                path = write_report(snap, a.export, a.hourly_cost)
                print(f"wrote {path} ({len(snap.rows)} observations of sweep {a.sweep_name}; open it in a browser)")
                return 0
            from metta.sweep.dashboard.app import create_app

            app = create_app(
                loader, hourly_cost=a.hourly_cost, refresh_s=a.refresh_seconds, title=f"Sweep {a.sweep_name}"
            )
        except ConfigError as exc:
            print(f"sweep_dashboard: configuration error: {exc}", file=sys.stderr)
            return 2
        except MettaError as exc:
            print(f"sweep_dashboard: {exc}", file=sys.stderr)
            return 1
        print(f"sweep dashboard for {a.sweep_name}: http://{a.host}:{a.port}/", flush=True)
        app.run(host=a.host, port=a.port, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
