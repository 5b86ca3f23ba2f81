"""W&B as a mirror of the sweep store: one W&B run per trial, grouped by sweep name, whose summary carries
``protein_suggestion`` and ``protein_observation``, the keys earlier Metta sweep tooling writes and reads (a failure
is ``is_failure: true`` with a null objective, because W&B drops NaN). ``import_from_wandb`` rebuilds a store from
those runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metta.common.errors import StoreError
from metta.common.wandb_auth import choose_wandb_mode
from metta.sweep.store import Observation, SweepStore
from metta.sweep.sweep_config import SweepJobConfig


def observation_summary(obs: Observation, phase: str = "") -> dict[str, Any]:
    """The W&B summary keys (``protein_suggestion``, ``protein_observation``) for one observation."""
    return {
        "protein_suggestion": obs.suggestion,
        "protein_observation": {
            "suggestion": obs.suggestion,
            "objective": obs.objective,  # None for failures (W&B would silently drop NaN)
            "cost": obs.cost,
            "is_failure": obs.is_failure,
            "reason": obs.reason,
            "phase": phase,
        },
    }


class WandbMirror:
    """Writes one W&B run per recorded trial (online or offline)."""

    def __init__(self, sweep_name: str, mode: str, project: str, entity: str | None, directory: str) -> None:
        mode, _ = choose_wandb_mode(mode)  # auto: WANDB_MODE from the environment, else online with credentials
        self.sweep_name, self.mode, self.project, self.entity, self.dir = sweep_name, mode, project, entity, directory

    def record(self, obs: Observation, phase: str = "") -> None:
        """Write ``obs`` as one W&B run (falls back to offline when an online server cannot be reached)."""
        import wandb  # lazy: wandb is heavy and only needed when the mirror is on

        Path(self.dir).mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = dict(
            project=self.project,
            entity=self.entity,
            group=self.sweep_name,
            name=obs.run_id,
            job_type="sweep_trial",
            dir=self.dir,
            config={"protein_suggestion": obs.suggestion},
            reinit=True,
        )
        try:
            run = wandb.init(mode=self.mode, **kwargs)  # type: ignore[arg-type]  # mode checked by choose_wandb_mode
        except Exception:  # unreachable server: keep the mirror local instead of failing the sweep
            if self.mode != "online":
                raise
            self.mode = "offline"
            run = wandb.init(mode="offline", **kwargs)
        try:
            run.summary.update(observation_summary(obs, phase))
        finally:
            run.finish()


def make_mirror(job: SweepJobConfig) -> WandbMirror | None:
    """The mirror for ``job`` (None when ``wandb.mode`` is disabled)."""
    if job.wandb.mode == "disabled":
        return None
    return WandbMirror(
        job.sweep_name,
        job.wandb.mode,
        job.wandb.project,
        job.wandb.entity,
        job.wandb.dir or str(Path(job.sweep_dir) / "wandb"),
    )


def import_from_wandb(
    store: SweepStore, sweep_name: str, project: str, entity: str | None, limit: int | None = None, api: Any = None
) -> int:
    """Copy the ``protein_observation`` of W&B runs in group ``sweep_name`` into ``store``; returns how many.

    Needs a reachable W&B server (``wandb.Api``); ``limit`` is a real cap on the runs read. Runs already in the
    store (same run id) are skipped.
    """
    if api is None:
        try:
            import wandb  # lazy: wandb is heavy and only needed for an import

            api = wandb.Api(timeout=30)
        except Exception as exc:  # wandb raises many types when it cannot reach a server
            raise StoreError(f"cannot reach the W&B API to import sweep {sweep_name!r}: {exc}") from exc
    path = f"{entity}/{project}" if entity else project
    store.register_sweep(sweep_name, {"project": project, "entity": entity, "imported_from": "wandb"})
    existing = {o.run_id for o in store.load_observations(sweep_name)}
    count = 0
    try:
        runs = api.runs(path, filters={"group": sweep_name}, per_page=min(limit or 100, 100))
        for i, run in enumerate(runs):
            if limit is not None and i >= limit:
                break
            obs = dict(run.summary.get("protein_observation") or {})
            if not obs or run.name in existing:
                continue
            failure = bool(obs.get("is_failure")) or obs.get("objective") is None
            store.record_observation(
                sweep_name,
                run.name,
                dict(obs.get("suggestion") or {}),
                None if failure else obs.get("objective"),
                float(obs.get("cost") or 1e-3),
                failure,
                obs.get("reason") or ("imported failure" if failure else ""),
            )
            count += 1
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"reading W&B runs of {path} group {sweep_name!r} failed: {exc}") from exc
    return count
