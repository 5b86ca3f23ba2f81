#!/usr/bin/env python3
"""Serve a sweep store over HTTP so many workers share one coordinator (the sweep routes of the Hydra-era "Cogweb"
coordinator service).

    ./tools/sweep_server.py --store ./train_dir/sweep/sweeps.db --port 8765 --token "$METTA_SWEEP_SERVER_TOKEN"
    ./tools/sweep_execute.py sweep_name=x settings.sweep_server_uri=http://<host>:8765   # with $METTA_SWEEP_TOKEN

The store may be a SQLite file or a postgresql:// URL. Requests must carry the token in the X-Auth-Token header
when one is set (--token or $METTA_SWEEP_SERVER_TOKEN). Binds to 127.0.0.1 unless --host is given.
"""

from __future__ import annotations

import argparse
import os
import sys

import _bootstrap  # noqa: F401  (re-exec into the repo venv, put the repo on sys.path)

from metta.common.errors import MettaError


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_store = os.path.join(os.environ.get("DATA_DIR", "./train_dir"), "sweep", "sweeps.db")
    p.add_argument("--store", default=default_store, help=f"store URI or SQLite path (default {default_store})")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    p.add_argument("--token", default=os.environ.get("METTA_SWEEP_SERVER_TOKEN", ""), help="required X-Auth-Token")
    p.add_argument("--verbose", action="store_true", help="log every request")
    a = p.parse_args(argv)
    from metta.sweep.store import SweepHTTPServer, open_store

    try:
        store = open_store(a.store)
        if store.uri.startswith(("http://", "https://")):
            raise MettaError("--store must be a database (SQLite path or postgresql://), not another HTTP service")
        server = SweepHTTPServer((a.host, a.port), store, token=a.token, verbose=a.verbose)
    except (MettaError, OSError) as exc:
        print(f"sweep_server: {exc}", file=sys.stderr)
        return 1
    if not a.token:
        print("sweep_server: warning: no token set; any client that can reach the port may write", file=sys.stderr)
    print(f"sweep_server: serving {store.uri} on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
