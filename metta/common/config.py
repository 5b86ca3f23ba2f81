"""The one Hydra compose helper of the library.

Tools may use ``@hydra.main``; everything else that needs a composed YAML tree goes through :func:`compose`.
The result is a DictConfig that must be turned into typed, frozen pydantic objects by a ``resolve()`` function
before it reaches library code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metta.common.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS_DIR = REPO_ROOT / "configs"


def compose(config_name: str, overrides: Sequence[str] = (), config_dir: str | Path | None = None) -> Any:
    """Compose ``config_name`` (e.g. ``"train_job"`` or ``"env/mettagrid/arena/basic"``) with Hydra overrides.

    Returns an OmegaConf DictConfig (struct mode on). Errors from Hydra are re-raised as :class:`ConfigError`
    naming the config and the overrides.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    cdir = Path(config_dir) if config_dir is not None else CONFIGS_DIR
    if not cdir.is_dir():
        raise ConfigError(f"config directory {cdir} does not exist; pass config_dir= pointing at a configs/ tree")
    name = config_name.lstrip("/")
    if name.endswith(".yaml"):
        name = name[: -len(".yaml")]
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(cdir.resolve()), version_base="1.3"):
            return hydra_compose(config_name=name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException, ValueError) as exc:  # Hydra raises ValueError for some overrides
        raise ConfigError(
            f"cannot compose config {name!r} from {cdir} with overrides {list(overrides)}: {exc}"
        ) from exc
    finally:
        if GlobalHydra.instance().is_initialized():
            GlobalHydra.instance().clear()


def to_container(cfg: Any) -> Any:
    """Fully resolve an OmegaConf node into plain Python data (dicts, lists, scalars)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    return cfg


# Hydra-era spellings of the system settings, accepted at the top level of a job (``seed=42``); a non-null alias
# wins over the ``system.*`` value. Every job resolver reads system settings through :func:`system_settings`.
LEGACY_SYSTEM_ALIASES = ("seed", "torch_deterministic", "device", "torch_threads")


def system_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """A job's ``system.*`` mapping merged with the top-level legacy aliases (``seed``, ``device``, ...)."""
    system = data.get("system") or {}
    if not isinstance(system, Mapping):
        raise ConfigError(f"system must be a mapping of seed/torch_deterministic/device/torch_threads, got {system!r}")
    merged = dict(system)
    for key in LEGACY_SYSTEM_ALIASES:
        if data.get(key) is not None:
            merged[key] = data[key]
    return merged
