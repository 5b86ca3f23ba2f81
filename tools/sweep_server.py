#!/usr/bin/env python3
"""Serve a sweep store over HTTP (the sweep routes of the Hydra-era "Cogweb" coordinator) so many workers share it.

    ./tools/sweep_server.py --store ./train_dir/sweep/sweeps.db --port 8765 --token "$METTA_SWEEP_SERVER_TOKEN"
    ./tools/sweep_execute.py sweep_name=x settings.sweep_server_uri=http://<host>:8765   # with $METTA_SWEEP_TOKEN

The store may be a SQLite file or a postgresql:// URL. Every request must carry the token in the X-Auth-Token
header (--token or $METTA_SWEEP_SERVER_TOKEN); without one a random token is made and printed. Binds to 127.0.0.1
unless --host is given; another address needs an explicit token. Request bodies are limited to 1 MiB.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys

import _bootstrap  # noqa: F401  (re-exec into the repo venv, put the repo on sys.path)

from metta.common.errors import ConfigError, MettaError


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
    from metta.sweep.store.http import is_loopback

    try:
        store = open_store(a.store)
        if store.uri.startswith(("http://", "https://")):
            raise MettaError("--store must be a database (SQLite path or postgresql://), not another HTTP service")
        if not a.token and not is_loopback(a.host):
            raise ConfigError(
                f"refusing to serve on {a.host!r} without a token: pass --token or set METTA_SWEEP_SERVER_TOKEN"
            )
        token = a.token or secrets.token_urlsafe(24)
        server = SweepHTTPServer((a.host, a.port), store, token=token, verbose=a.verbose)
    except ConfigError as exc:
        print(f"sweep_server: {exc}", file=sys.stderr)
        return 2
    except (MettaError, OSError) as exc:
        print(f"sweep_server: {exc}", file=sys.stderr)
        return 1
    if not a.token:
        print(f"sweep_server: no token given; clients must send METTA_SWEEP_TOKEN={token}", flush=True)
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
