#!/usr/bin/env python3
"""Load benchmark of the HTTP sweep server: C concurrent clients each allocate N run ids from one sweep.

    .venv/bin/python bench/sweep_server_load.py [--clients 8] [--requests 500] [--store PATH_OR_URL]

The server is tools/sweep_server.py in its own process (a SQLite store in a temp dir unless --store is given, with
a token); clients are threads of this process using the ordinary HTTP client. Checks every run id is unique and
prints p50/p99 latency; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metta.sweep.store import HTTPSweepStore  # noqa: E402


def _start_server(store: str, token: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "sweep_server.py"), "--store", store, "--port", "0", "--token", token],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if " on http" not in line:
        proc.kill()
        raise SystemExit(f"sweep server did not start: {line!r}")
    return proc, line.strip().rsplit(" on ", 1)[1]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=500, help="run ids per client")
    p.add_argument("--store", default="", help="store behind the server (default: a new SQLite file)")
    a = p.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="sweep-load-")
    store = a.store or os.path.join(tmp, "sweeps.db")
    token = secrets.token_urlsafe(16)
    server, url = _start_server(store, token)
    sweep = f"load_{secrets.token_hex(4)}"
    try:
        HTTPSweepStore(url, token=token).register_sweep(sweep, {"metric": "m"})
        ids: list[list[str]] = [[] for _ in range(a.clients)]
        lat: list[list[float]] = [[] for _ in range(a.clients)]

        def client(i: int) -> None:
            c = HTTPSweepStore(url, token=token)
            for _ in range(a.requests):
                t0 = time.perf_counter()
                ids[i].append(c.next_run_id(sweep))
                lat[i].append(time.perf_counter() - t0)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(10)
    all_ids = [x for xs in ids for x in xs]
    all_lat = sorted(x for xs in lat for x in xs)
    n = len(all_ids)
    out = {
        "bench": "sweep_server_load",
        "store": "sqlite" if not a.store else a.store.split(":", 1)[0],
        "clients": a.clients,
        "requests": n,
        "unique": len(set(all_ids)),
        "duplicates": n - len(set(all_ids)),
        "p50_ms": round(1000 * statistics.median(all_lat), 2),
        "p99_ms": round(1000 * all_lat[min(n - 1, int(0.99 * n))], 2),
        "max_ms": round(1000 * all_lat[-1], 2),
        "throughput_rps": round(n / wall, 1),
        "wall_s": round(wall, 2),
    }
    print(f"{n} run ids from {a.clients} clients in {wall:.1f}s; unique={out['unique']}")
    print(json.dumps(out))
    return 0 if out["duplicates"] == 0 and n == a.clients * a.requests else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
