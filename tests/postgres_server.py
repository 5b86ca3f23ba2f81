"""A private PostgreSQL server for the test session, started on first use when ``METTA_TEST_POSTGRES_URL`` is unset.

As root the server runs as the ``postgres`` user (initdb refuses root) through ``runuser``; otherwise as the current
user. It listens on 127.0.0.1 on a free port, keeps its data in a temporary directory, and is stopped (and the
directory removed) when the session ends. Without PostgreSQL binaries the caller skips with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from metta.common.net import free_loopback_port

_state: dict[str, object] = {}


def find_bin_dir() -> Path | None:
    """The newest PostgreSQL bin directory with initdb and pg_ctl (Debian layout, then PATH), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()],
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start() -> str:
    """Start (once per session) and return the server's URL; raises RuntimeError with the reason on failure."""
    if "url" in _state:
        return str(_state["url"])
    if "error" in _state:
        raise RuntimeError(str(_state["error"]))
    bin_dir = find_bin_dir()
    if bin_dir is None:
        _state["error"] = (
            "no PostgreSQL binaries (initdb/pg_ctl) found; install postgresql or set METTA_TEST_POSTGRES_URL"
        )
        raise RuntimeError(_state["error"])
    tmp = Path(tempfile.mkdtemp(prefix="metta-pg-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    port = free_loopback_port()
    data = tmp / "data"
    try:
        subprocess.run(
            _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
            timeout=120,
        )
        opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_server_user(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-o", opts, "-l", str(tmp / "log"), "start"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        _state["error"] = (
            f"could not start a private PostgreSQL in {tmp}: {exc} {detail.decode(errors='replace')[-300:]}"
        )
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(_state["error"]) from exc
    _state.update(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", tmp=tmp, data=data, bin=bin_dir, opts=opts)
    return str(_state["url"])


def stop() -> None:
    """Stop the session's server if this module started one, and remove its directory."""
    if "data" not in _state:
        return
    bin_dir, data, tmp = Path(str(_state["bin"])), str(_state["data"]), Path(str(_state["tmp"]))
    subprocess.run(
        _as_server_user([str(bin_dir / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"]),
        capture_output=True,
        timeout=60,
    )
    shutil.rmtree(tmp, ignore_errors=True)
    _state.clear()


def restart() -> bool:
    """Restart the session's private server (fast shutdown: connections drop); False when it is not ours."""
    if "data" not in _state:
        return False
    bin_dir, data, tmp = Path(str(_state["bin"])), str(_state["data"]), Path(str(_state["tmp"]))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 120, "check": True}
    subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"]), **quiet)
    start_cmd = [str(bin_dir / "pg_ctl"), "-D", data, "-w", "-o", str(_state["opts"]), "-l", str(tmp / "log"), "start"]
    subprocess.run(_as_server_user(start_cmd), **quiet)
    return True
