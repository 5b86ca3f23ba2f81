"""A Cogweb-compatible sweep coordination service over any SQL store, and its client (a :class:`SweepStore`).

Cogweb is the hosted web service that earlier Metta sweep workers used to create sweeps and draw run ids; its routes
are kept so those clients can talk to this server.

Cogweb endpoints (same paths and JSON as the Cogweb sweep routes, token in the ``X-Auth-Token`` header):

- ``POST /sweeps/{name}/create_sweep`` body ``{project, entity, wandb_sweep_id}`` -> ``{created, sweep_id}``
- ``GET  /sweeps/{name}`` -> ``{exists, wandb_sweep_id}`` (plus ``name``, ``meta``, ``created_at``, ``run_ids_issued``)
- ``POST /sweeps/{name}/runs/next`` -> ``{run_id}``

Extensions used by the loop: ``POST /sweeps/{name}/trials``, ``POST /sweeps/{name}/trials/heartbeat``,
``GET /sweeps/{name}/trials?status=running``, ``POST /sweeps/{name}/trials/interrupted``,
``POST /sweeps/{name}/observations``, ``GET /sweeps/{name}/observations?limit=N``,
``GET /sweeps/{name}/observations/count``.
"""

from __future__ import annotations

import hmac
import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from metta.common.errors import ConfigError, DuplicateTrialError, MettaError, StoreError
from metta.common.retry import backoff_delays
from metta.sweep.store.base import (
    INTERRUPTED_REASON,
    TRIAL_RUNNING,
    Observation,
    SweepInfo,
    SweepStore,
    Trial,
    to_jsonable,
)

TOKEN_HEADER = "X-Auth-Token"
TOKEN_ENV = "METTA_SWEEP_TOKEN"
MAX_BODY_BYTES = 1 << 20  # one observation is a few kB; anything near a MiB is a mistake or an attack
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _info_json(info: SweepInfo | None, name: str) -> dict[str, Any]:
    if info is None:
        return {"exists": False, "wandb_sweep_id": "", "name": name}
    return {
        "exists": True,
        "wandb_sweep_id": str(info.meta.get("wandb_sweep_id", "")),
        "name": info.name,
        "meta": info.meta,
        "created_at": info.created_at,
        "run_ids_issued": info.run_ids_issued,
    }


def _trial_json(t: Trial) -> dict[str, Any]:
    return {
        "run_id": t.run_id,
        "sweep": t.sweep,
        "suggestion": t.suggestion,
        "status": t.status,
        "worker": t.worker,
        "started_at": t.started_at,
        "heartbeat_at": t.heartbeat_at,
    }


def _trial_from(d: dict[str, Any]) -> Trial:
    return Trial(
        d["run_id"], d["sweep"], dict(d["suggestion"]), d["status"], d["worker"], d["started_at"], d["heartbeat_at"]
    )


class _Handler(BaseHTTPRequestHandler):
    server: SweepHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        if self.server.verbose:
            super().log_message(format, *args)

    def _discard_body(self, n: int) -> None:
        """Read and drop a refused body (at most 16 limits' worth) so a client still sending it can read the reply
        instead of failing on a broken pipe; nothing of it is parsed or kept."""
        left = min(max(n, 0), 16 * MAX_BODY_BYTES)
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            left -= len(chunk)

    def do_GET(self) -> None:  # stdlib naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # stdlib naming
        self._dispatch("POST")

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(to_jsonable(body)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        token = self.server.token
        if token and not hmac.compare_digest(self.headers.get(TOKEN_HEADER, "").encode(), token.encode()):
            self._reply(401, {"detail": f"missing or wrong {TOKEN_HEADER} header"})
            return
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._reply(400, {"detail": "Content-Length is not an integer"})
            return
        if n > MAX_BODY_BYTES or n < 0:
            self.close_connection = True  # the unread body must not be parsed as the next request
            self._discard_body(n)
            self._reply(413, {"detail": f"request body of {n} bytes exceeds the limit of {MAX_BODY_BYTES} bytes"})
            return
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/") if p]
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            body = self._body() if method == "POST" else {}
            code, out = _route(self.server.store, method, parts, query, body)
        except DuplicateTrialError as exc:
            code, out = (409, {"detail": str(exc)})
        except (MettaError, KeyError, ValueError, TypeError) as exc:
            code, out = (400, {"detail": f"{type(exc).__name__}: {exc}"})
        self._reply(code, out)

    def _body(self) -> dict[str, Any]:
        n = int(self.headers.get("Content-Length") or 0)
        if n == 0:
            return {}
        data = json.loads(self.rfile.read(n))
        if not isinstance(data, dict):
            raise ValueError("request body must be a JSON object")
        return data


def _route(
    store: SweepStore, method: str, parts: list[str], query: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    if len(parts) < 2 or parts[0] != "sweeps":
        return 404, {"detail": f"unknown path /{'/'.join(parts)}"}
    name, rest = parts[1], parts[2:]
    key = (method, "/".join(rest))
    if key == ("GET", ""):
        return 200, _info_json(store.get_sweep(name), name)
    if key == ("POST", "create_sweep"):
        info, created = store.register_sweep(name, body.get("meta") or {k: v for k, v in body.items() if v is not None})
        return 200, {"created": created, "sweep_id": info.name}
    if key == ("POST", "runs/next"):
        if store.get_sweep(name) is None:
            return 404, {"detail": f"sweep {name!r} not found; create it first"}
        return 200, {"run_id": store.next_run_id(name)}
    if key == ("POST", "trials"):
        t = store.start_trial(name, body["run_id"], body["suggestion"], body["worker"])
        return 200, _trial_json(t)
    if key == ("POST", "trials/heartbeat"):
        store.heartbeat(name, body["run_id"])
        return 200, {"ok": True}
    if key == ("GET", "trials"):
        status = query.get("status", TRIAL_RUNNING)
        trials = store.list_trials(name, None if status == "all" else status)
        return 200, {"trials": [_trial_json(t) for t in trials]}
    if key == ("POST", "trials/interrupted"):
        closed = store.mark_interrupted(name, list(body["run_ids"]), body.get("reason", INTERRUPTED_REASON))
        return 200, {"closed": closed}
    if key == ("POST", "observations"):
        o = store.record_observation(
            name,
            body.get("run_id"),
            body["suggestion"],
            body.get("objective"),
            body["cost"],
            bool(body["is_failure"]),
            body.get("reason", ""),
        )
        return 200, o.to_dict()
    if key == ("GET", "observations"):
        limit = query.get("limit")
        obs = store.load_observations(name, None if limit in (None, "") else int(limit))
        return 200, {"observations": [o.to_dict() for o in obs]}
    if key == ("GET", "observations/count"):
        launched = query.get("launched_only", "false").lower() in ("1", "true", "yes")
        return 200, {"count": store.count_observations(name, launched_only=launched)}
    return 404, {"detail": f"unknown endpoint {method} /sweeps/{name}/{'/'.join(rest)}"}


class SweepHTTPServer(ThreadingHTTPServer):
    """Threaded HTTP server exposing ``store``; every request must carry ``token`` in ``X-Auth-Token`` when one is
    set. A non-loopback address without a token is refused (anyone reaching the port could write observations)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: SweepStore, token: str = "", verbose: bool = False) -> None:
        if not token and not is_loopback(str(address[0])):
            raise ConfigError(
                f"refusing to serve the sweep store on {address[0]!r} without a token: pass --token (or set "
                "METTA_SWEEP_SERVER_TOKEN), or bind to 127.0.0.1"
            )
        super().__init__(address, _Handler)
        self.store = store
        self.token = token
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{host}:{port}"


class _Unreachable(StoreError):
    """The request may not have reached the service, or its answer was lost (refused, reset, timed out)."""


class _RefusedAfterRetry(StoreError):
    """The service refused a request that was sent again after its first answer was lost (``original``: why)."""

    def __init__(self, original: StoreError) -> None:
        super().__init__(str(original))
        self.original = original


class HTTPSweepStore(SweepStore):
    """Client of the sweep service; a :class:`SweepStore`. The token comes from ``token`` or ``$METTA_SWEEP_TOKEN``."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 30.0, reconnect_s: float = 60.0) -> None:
        self.uri = url.rstrip("/")
        self._token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        self._timeout = timeout_s
        self.reconnect_s = reconnect_s

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request, repeated while the service cannot be reached (restarting, say) with exponential backoff
        (0.25 s doubling to 8 s) for up to ``reconnect_s`` seconds. A refusal of a retry raises _RefusedAfterRetry:
        the attempt whose answer was lost may have applied the write (see start_trial and _store_observation)."""
        delays, retried = backoff_delays(self.reconnect_s), False
        while True:
            try:
                return self._call_once(method, path, body)
            except _Unreachable as exc:
                delay = next(delays, None)
                if delay is None:
                    raise StoreError(f"{exc} (gave up after retrying for {self.reconnect_s:.0f}s)") from exc
                time.sleep(delay)
                retried = True
            except StoreError as exc:
                if retried:
                    raise _RefusedAfterRetry(exc) from exc
                raise

    def _call_once(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(to_jsonable(body)).encode()
        req = urllib.request.Request(self.uri + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self._token:
            req.add_header(TOKEN_HEADER, self._token)
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                raw = resp.read()
            out = json.loads(raw)
            if not isinstance(out, dict):
                raise ValueError("not a JSON object")
            return out
        except ValueError as exc:
            raise StoreError(
                f"sweep service {self.uri}{path} sent an invalid answer ({exc}); is it a sweep server?"
            ) from exc
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            if exc.code == 409:
                raise DuplicateTrialError(detail) from exc
            hint = f" (set ${TOKEN_ENV})" if exc.code == 401 else ""
            raise StoreError(f"sweep service {self.uri}{path} answered {exc.code}: {detail}{hint}") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
            raise _Unreachable(
                f"cannot reach sweep service {self.uri}: {exc}; is ./tools/sweep_server.py running?"
            ) from exc

    @staticmethod
    def _p(name: str) -> str:
        return "/sweeps/" + urllib.parse.quote(name, safe="")

    # the method names of the Cogweb client, kept for callers written against it
    def create_sweep(self, name: str, project: str = "", entity: str = "", wandb_sweep_id: str = "") -> dict[str, Any]:
        """Cogweb-client call: create the sweep (idempotent); returns ``{created, sweep_id}``."""
        return self._call(
            "POST",
            self._p(name) + "/create_sweep",
            {"project": project, "entity": entity, "wandb_sweep_id": wandb_sweep_id},
        )

    def get_next_run_id(self, name: str) -> str:
        """Cogweb-client call: same as :meth:`next_run_id`."""
        return self.next_run_id(name)

    def register_sweep(self, name: str, meta: dict[str, Any] | None = None) -> tuple[SweepInfo, bool]:
        out = self._call("POST", self._p(name) + "/create_sweep", {"meta": meta or {}})
        info = self.get_sweep(name)
        if info is None:
            raise StoreError(f"sweep service {self.uri} did not keep sweep {name!r}")
        return info, bool(out["created"])

    def get_sweep(self, name: str) -> SweepInfo | None:
        d = self._call("GET", self._p(name))
        if not d.get("exists"):
            return None
        return SweepInfo(
            d["name"], dict(d.get("meta") or {}), float(d.get("created_at") or 0), int(d.get("run_ids_issued") or 0)
        )

    def next_run_id(self, name: str) -> str:
        return str(self._call("POST", self._p(name) + "/runs/next")["run_id"])

    def start_trial(self, name: str, run_id: str, suggestion: dict[str, Any], worker: str) -> Trial:
        body = {"run_id": run_id, "suggestion": suggestion, "worker": worker}
        try:
            d = self._call("POST", self._p(name) + "/trials", body)
        except _RefusedAfterRetry as exc:
            # the service may have started the trial and lost the answer before a retry, which it then refuses
            mine = [t for t in self.list_trials(name, None) if t.run_id == run_id and t.worker == worker]
            if mine and mine[0].suggestion == to_jsonable(suggestion):
                return mine[0]
            raise exc.original from None
        return _trial_from(d)

    def heartbeat(self, name: str, run_id: str) -> None:
        self._call("POST", self._p(name) + "/trials/heartbeat", {"run_id": run_id})

    def _store_observation(self, draft: Observation) -> Observation:
        # validated by record_observation before anything goes over the network
        body = {k: getattr(draft, k) for k in ("run_id", "suggestion", "objective", "cost", "is_failure", "reason")}
        try:
            out = self._call("POST", self._p(draft.sweep) + "/observations", body)
        except _RefusedAfterRetry as exc:
            # a retry after a lost answer finds the observation already stored (run ids are single-use): the same
            # run's record is the answer; anything else is a real refusal
            same = [o for o in self.load_observations(draft.sweep) if draft.run_id and o.run_id == draft.run_id]
            if same and same[0].is_failure == draft.is_failure and same[0].objective == draft.objective:
                return same[0]
            raise exc.original from None
        return Observation.from_dict(out)

    def load_observations(self, name: str, limit: int | None = None) -> list[Observation]:
        q = "" if limit is None else f"?limit={int(limit)}"
        out = self._call("GET", self._p(name) + "/observations" + q)
        return [Observation.from_dict(o) for o in out["observations"]]

    def count_observations(self, name: str, launched_only: bool = False) -> int:
        q = "?launched_only=true" if launched_only else ""
        return int(self._call("GET", self._p(name) + "/observations/count" + q)["count"])

    def list_trials(self, name: str, status: str | None = TRIAL_RUNNING) -> list[Trial]:
        q = "all" if status is None else urllib.parse.quote(status)
        return [_trial_from(t) for t in self._call("GET", self._p(name) + f"/trials?status={q}")["trials"]]

    def mark_interrupted(self, name: str, run_ids: list[str], reason: str = INTERRUPTED_REASON) -> list[str]:
        out = self._call("POST", self._p(name) + "/trials/interrupted", {"run_ids": list(run_ids), "reason": reason})
        return list(out["closed"])

    def close(self) -> None:
        return None
