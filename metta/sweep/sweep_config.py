"""The one sweep-job model and its one ``resolve_sweep_job()``.

Both front ends resolve through it: ``./tools/sweep_execute.py`` passes the composed ``configs/sweep_job.yaml``, and
``SweepTool`` (metta/tools/sweep.py) passes the mapping :func:`sweep_job_from_config` builds from its
:class:`SweepConfig`. The Protein optimizer's own config (:class:`ProteinConfig`) lives in ``metta.sweep.optim``.

Everything that can be checked before a trial runs is checked here: Protein configs of the base sweep and of every
phase (bounds, distributions, means), the settings' bounds, and (with :func:`check_parameter_paths`) that every
searched parameter exists in the composed trainer config.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError

from metta.common.config import system_settings, to_container
from metta.common.config_base import FrozenConfig, format_validation_error
from metta.common.errors import ConfigError, OptimizerError
from metta.sweep.optim.config import ProteinConfig, flatten
from metta.sweep.phases import PhaseConfig, deep_merge, merged_sweep

_PROTEIN_KEYS = {"metric", "goal", "method", "parameters", "protein", "settings"}


class SweepSettings(FrozenConfig):
    """Loop and storage settings (``settings:`` of sweep_job.yaml)."""

    max_consecutive_failures: int = Field(0, ge=0, le=1_000_000, description="Stop when more fail in a row; 0 = never.")
    # legacy name: a "rollout" is one trial (train + evaluate)
    rollout_retry_delay: float = Field(5.0, ge=0, le=86_400, description="Seconds to wait after a failed trial.")
    max_observations_to_load: int = Field(250, ge=1, le=10_000_000, description="Newest observations given to Protein.")
    # legacy name from the hosted sweep service; today it names any sweep store, local or remote
    sweep_server_uri: str = Field(min_length=1, description="Store: file path, sqlite:///, postgresql://, http(s)://.")
    heartbeat_interval: float = Field(30.0, gt=0, le=3600, description="Seconds between heartbeats of a trial.")
    stale_trial_timeout: float = Field(1800.0, gt=0, description="Heartbeat age after which a foreign trial is dead.")
    train_timeout: float = Field(0.0, ge=0, description="Seconds before training is killed; 0 = no limit.")
    eval_timeout: float = Field(600.0, gt=0, description="Seconds before evaluation is abandoned (a failure).")
    max_rejections: int = Field(50, ge=1, le=100_000, description="Constraint-violating suggestions in a row allowed.")
    train_command: tuple[str, ...] = Field(
        (), description="Training command prefix; empty = the entry point's default."
    )
    seed_per_trial: bool = Field(
        True, description="Train each trial with its own seed derived from the base seed; false = all use system.seed."
    )


class WandbMirrorConfig(FrozenConfig):
    """Where the W&B mirror writes (mode disabled = no mirror)."""

    mode: Literal["online", "offline", "disabled", "auto"] = Field("disabled", description="W&B mode of the mirror.")
    project: str = Field("metta", min_length=1, description="W&B project.")
    entity: str | None = Field(None, description="W&B entity (team or user).")
    dir: str | None = Field(None, description="Directory for W&B files (default: the sweep directory).")


class SweepSpec(FrozenConfig):
    """The search: base Protein config dict, optional phases, and training overrides the sweep config brings."""

    base: dict[str, Any] = Field(description="Base sweep config (metric, goal, method, protein, parameters).")
    phases: tuple[PhaseConfig, ...] = Field((), description="schedule.phases, in order.")
    train_overrides: dict[str, Any] = Field(default_factory=dict, description="Training overrides of this sweep.")

    def protein_for(self, num_launched: int) -> tuple[str, ProteinConfig]:
        """(phase name, ProteinConfig) for the next trial after ``num_launched`` launched trials."""
        name, merged = merged_sweep(self.base, self.phases, num_launched)
        return name, ProteinConfig.from_dict(merged)

    def all_configs(self) -> list[tuple[str, ProteinConfig]]:
        """The config of every phase (or just the base), validated; raises ConfigError naming the phase."""
        out: list[tuple[str, ProteinConfig]] = []
        starts = [0]
        for p in self.phases:
            starts.append(starts[-1] + p.num_runs)
        for start in starts[: max(len(self.phases), 1)]:
            try:
                out.append(self.protein_for(start))
            except OptimizerError as exc:
                label = self.phases[starts.index(start)].name if self.phases else "base"
                raise ConfigError(f"sweep config (phase {label!r}) is invalid: {exc}") from exc
        return out


class SweepJobConfig(FrozenConfig):
    """The whole sweep job, typed and frozen."""

    sweep_name: str = Field(min_length=1, max_length=200, description="Name of the sweep (store key, run id prefix).")
    data_dir: str = Field(min_length=1, description="Root of run directories.")
    sweep_dir: str = Field(min_length=1, description="This sweep's directory (runs/<run_id>/ per trial).")
    seed: int = Field(0, ge=0, description="Base seed of the optimizer (derived per trial).")
    settings: SweepSettings = Field(description="Loop and storage settings.")
    sim_name: str = Field(min_length=1, description="Evaluation suite name (configs/sim/<name>.yaml).")
    sweep_job_overrides: dict[str, Any] = Field(default_factory=dict, description="Overrides for every training run.")
    num_trials: int = Field(0, ge=0, description="Trials this worker runs; 0 = until stopped.")
    wandb: WandbMirrorConfig = Field(default_factory=WandbMirrorConfig, description="W&B mirror.")
    sweep: SweepSpec = Field(description="Search space, phases and the sweep's training overrides.")

    def train_overrides(self) -> dict[str, Any]:
        """The sweep config's training overrides with ``sweep_job_overrides`` merged on top."""
        return deep_merge(self.sweep.train_overrides, self.sweep_job_overrides)


def build_sweep_spec(sweep: Mapping[str, Any]) -> SweepSpec:
    """Split a composed ``sweep:`` node into base config, phases and training overrides, and validate them all."""
    data = dict(sweep)
    schedule = data.pop("schedule", None) or {}
    train_overrides = data.pop("train_overrides", None) or {}
    data.pop("num_trials", None)  # the sweep's default trial count; read through sweep_job.yaml's num_trials
    unknown = set(data) - _PROTEIN_KEYS
    if unknown:
        raise ConfigError(
            f"unknown keys {sorted(unknown)} in sweep config; allowed: {sorted(_PROTEIN_KEYS)}, "
            "schedule, train_overrides, num_trials"
        )
    if not isinstance(schedule, Mapping) or set(schedule) - {"phases"}:
        raise ConfigError(f"sweep.schedule must be a mapping with only 'phases', got {schedule!r}")
    try:
        phases = tuple(PhaseConfig(**dict(p)) for p in (schedule.get("phases") or []))
        spec = SweepSpec(base=data, phases=phases, train_overrides=dict(train_overrides))
    except (ValidationError, TypeError) as exc:
        msg = format_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ConfigError(f"invalid sweep schedule: {msg}") from exc
    names = [p.name for p in phases]
    if len(set(names)) != len(names):
        raise ConfigError(f"phase names {names} repeat; give each phase a unique name")
    spec.all_configs()
    return spec


def _job_seed(d: Mapping[str, Any]) -> int:
    """The optimizer's base seed: the Hydra-era top-level ``seed`` when set, else ``system.seed``, else 0."""
    seed = system_settings(d).get("seed", 0)
    try:
        return int(seed if seed is not None else 0)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"seed={seed!r} must be a non-negative integer, e.g. system.seed=42") from exc


def resolve_sweep_job(cfg: Any) -> SweepJobConfig:
    """Turn the composed sweep_job DictConfig (or a plain dict) into a validated :class:`SweepJobConfig`."""
    try:
        d = to_container(cfg)
    except Exception as exc:  # omegaconf raises its own types for ??? and interpolation errors
        raise ConfigError(f"sweep_job config is incomplete: {exc} (did you pass sweep_name=...?)") from exc
    if not isinstance(d, Mapping):
        raise ConfigError("sweep_job config must be a mapping")
    w = d.get("wandb") or {}
    try:
        return SweepJobConfig(
            sweep_name=d["sweep_name"],
            data_dir=str(d["data_dir"]),
            sweep_dir=str(d["sweep_dir"]),
            seed=_job_seed(d),
            settings=SweepSettings(**dict(d["settings"])),
            sim_name=d["sim_name"],
            sweep_job_overrides=dict(d.get("sweep_job_overrides") or {}),
            num_trials=int(d.get("num_trials", 0)),
            wandb=WandbMirrorConfig(**{k: w[k] for k in ("mode", "project", "entity", "dir") if k in w}),
            sweep=build_sweep_spec(d["sweep"]),
        )
    except KeyError as exc:
        raise ConfigError(f"sweep_job config lacks required key {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "sweep_job")) from exc


def check_parameter_paths(configs: list[tuple[str, ProteinConfig]], train_tree: Mapping[str, Any]) -> None:
    """Every searched parameter path must name an existing leaf of the composed train_job tree."""
    known = flatten(train_tree)
    for phase, pc in configs:
        for path in pc.flat_parameters():
            if path not in known:
                raise ConfigError(
                    f"sweep parameter {path!r} (phase {phase!r}) does not exist in the trainer config "
                    f"(configs/train_job.yaml){unknown_path_hint(path, known)}"
                )


def unknown_path_hint(path: str, known: Mapping[str, Any]) -> str:
    """``"; did you mean [...]?"`` with up to three known paths of the same leaf name (else of a similar spelling),
    or ``""``."""
    near = sorted(k for k in known if k.rsplit(".", 1)[-1] == path.rsplit(".", 1)[-1])[:3]
    near = near or difflib.get_close_matches(path, list(known), n=3, cutoff=0.8)
    return f"; did you mean {near}?" if near else ""


class SweepConfig(FrozenConfig):
    """What SweepTool searches and how many trials; :func:`sweep_job_from_config` resolves it into the sweep job."""

    num_trials: int = Field(10, ge=0, le=100_000, description="Trials this worker runs; 0 = until stopped.")
    protein: ProteinConfig = Field(description="Metric, goal, method, parameters and Protein settings.")
    sim_name: str = Field("sweep_eval", min_length=1, description="Evaluation suite (configs/sim/<name>.yaml).")
    train_overrides: dict[str, Any] = Field(
        default_factory=dict, description="Dotted TrainTool overrides for every trial (e.g. the budget)."
    )
    settings: SweepSettings | None = Field(None, description="Loop/store settings (None = sweep_job.yaml defaults).")


def default_settings(data_dir: str) -> SweepSettings:
    """The loop/store settings of sweep_job.yaml, with the default store ``<data_dir>/sweep/sweeps.db``."""
    return SweepSettings(sweep_server_uri=f"{data_dir}/sweep/sweeps.db")


def sweep_job_from_config(sweep_name: str, data_dir: str, seed: int, sweep: SweepConfig) -> SweepJobConfig:
    """The sweep job of a :class:`SweepConfig`, resolved by :func:`resolve_sweep_job` like the Hydra path.

    ``sweep.train_overrides`` are not part of the job: they are TrainTool overrides applied by the caller's
    dispatcher when it builds each trial's TrainTool.
    """
    settings = sweep.settings or default_settings(data_dir)
    return resolve_sweep_job(
        {
            "sweep_name": sweep_name,
            "data_dir": data_dir,
            "sweep_dir": f"{data_dir}/sweep/{sweep_name}",
            "seed": seed,
            "settings": settings.model_dump(mode="json"),
            "sim_name": sweep.sim_name,
            "num_trials": sweep.num_trials,
            "sweep": sweep.protein.to_dict(),
        }
    )


def as_registered(job: SweepJobConfig, meta: Mapping[str, Any]) -> tuple[ProteinConfig, dict[str, Any]]:
    """The sweep as its trials ran: (base Protein config, training overrides), read from its registration in the
    store (``meta``), so ``sweep_name=x`` alone finds them whichever ``sweep=`` group the sweep was started with.

    A sweep registered before the training overrides were stored (or never registered) falls back to the composed
    ``job``. Overrides given now (``sweep_job_overrides.*``) apply on top of the stored ones."""
    config = job.sweep.protein_for(0)[1]
    stored = meta.get("config")
    if isinstance(stored, Mapping):
        try:
            config = ProteinConfig.from_dict(stored)
        except OptimizerError as exc:
            raise ConfigError(f"sweep {job.sweep_name!r}: its stored config is unreadable ({exc})") from exc
    train = meta.get("train_overrides")
    if isinstance(train, Mapping):
        return config, deep_merge(dict(train), job.sweep_job_overrides)
    return config, job.train_overrides()
