"""W&B-agent style arguments for ./tools/train.py: ``--key=value`` (dotted paths) and SB3-style names.

``wandb agent`` runs ``train.py --learning_rate=0.001 --trainer.ppo.gamma=0.99``; :func:`split_agent_args` and
:func:`param_overrides` turn those into Hydra overrides. Names without a dot go through :data:`ALIASES` (the names
Stable-Baselines3-style sweep files use). A nested value such as ``--policy_lr={"start": 1e-3, "end": 0}`` becomes
the learning rate plus a linear schedule from start to end. Parameters can also come from ``wandb.config``
(:func:`sweep_config_params`): the file ``WANDB_SWEEP_PARAM_PATH`` names (what ``wandb agent`` writes), else a
``wandb.init()`` run's config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from metta.common.errors import ConfigError
from metta.common.overrides import format_override

ALIASES: dict[str, str] = {
    "learning_rate": "trainer.optimizer.learning_rate",
    "policy_lr": "trainer.optimizer.learning_rate",
    "clip_range": "trainer.ppo.clip_coef",
    "n_epochs": "trainer.update_epochs",
    "batch_size": "trainer.minibatch_size",  # SB3's batch_size is the minibatch
    "n_steps": "trainer.batch_size",  # steps per environment: batch_size = n_steps x num_envs x agents per env
    "gamma": "trainer.ppo.gamma",
    "gae_lambda": "trainer.ppo.gae_lambda",
    "ent_coef": "trainer.ppo.ent_coef",
    "vf_coef": "trainer.ppo.vf_coef",
    "max_grad_norm": "trainer.ppo.max_grad_norm",
}
_FLAGS = {"--cfg", "--package", "--info", "--config-name", "--config-path", "--config-dir", "--experimental-rerun"}
# --config_id <task>:<algo> of gym-style sweep files -> a trainer patch (configs/trainer/patch/<name>.yaml)
CONFIG_IDS: dict[str, str] = {"CartPole-v1:ppo": "cartpole_ppo"}
SWEEP_FLAGS = {"--wandb_sweep", "--wandb-sweep", "wandb_sweep=true", "wandb_sweep=True"}


def _parse(raw: str) -> Any:
    try:
        return yaml.safe_load(raw)  # numbers, booleans, JSON objects and lists
    except yaml.YAMLError:
        return raw


def param_overrides(params: Mapping[str, Any]) -> list[str]:
    """Hydra overrides for ``{name: value}`` (dotted paths or alias names; ``n_steps`` is left to the caller)."""
    out: list[str] = []
    for key, value in params.items():
        if key.startswith("_wandb") or key == "wandb_sweep":
            continue
        if key == "config_id":
            if value not in CONFIG_IDS:
                raise ConfigError(f"--config_id {value!r} is not known; known: {sorted(CONFIG_IDS)}")
            out.append(f"+trainer/patch={CONFIG_IDS[value]}")
            continue
        path = key if "." in key else ALIASES.get(key)
        if path is None:
            raise ConfigError(
                f"unknown parameter {key!r}: use a dotted trainer path (e.g. trainer.ppo.gamma) or one of "
                f"{sorted(ALIASES)}"
            )
        if isinstance(value, Mapping) and key == "policy_lr":
            if set(value) - {"start", "end"} or "start" not in value:
                raise ConfigError(f"policy_lr={value!r} must be a number or {{start, end}}")
            out.append(format_override("trainer.optimizer.learning_rate", float(value["start"]), mode=""))
            sched = "trainer.hyperparameter_scheduler.learning_rate_schedule"
            out.append(format_override(f"{sched}.type", "linear", mode=""))
            out.append(format_override(f"{sched}.initial_value", float(value["start"]), mode=""))
            out.append(format_override(f"{sched}.min_value", float(value.get("end", value["start"])), mode=""))
            continue
        if key == "n_steps":
            continue  # needs the composed num_envs x agents: applied by the caller (see N_STEPS_KEY)
        out.append(format_override(path, value, mode=""))  # plain set: a path that does not exist is an error
    return out


def split_agent_args(argv: list[str]) -> tuple[list[str], dict[str, Any], bool]:
    """(Hydra args kept as given, ``--key=value`` parameters, whether a sweep flag asked for wandb.config)."""
    keep: list[str] = []
    params: dict[str, Any] = {}
    sweep = False
    it = iter(argv)
    for a in it:
        if a == "--config_id":
            params["config_id"] = next(it, "")
        elif a in SWEEP_FLAGS:
            sweep = True
        elif a.startswith("--") and "=" in a and a.split("=", 1)[0] not in _FLAGS:
            k, v = a[2:].split("=", 1)
            params[k] = _parse(v)
        else:
            keep.append(a)
    return keep, params, sweep


def sweep_config_params() -> dict[str, Any]:
    """The run's parameters from wandb.config: WANDB_SWEEP_PARAM_PATH's file, else ``wandb.init().config``."""
    path = os.environ.get("WANDB_SWEEP_PARAM_PATH")
    if path and Path(path).exists():
        data = yaml.safe_load(Path(path).read_text()) or {}
        return {k: (v.get("value") if isinstance(v, Mapping) and "value" in v else v) for k, v in data.items()}
    try:
        import wandb
    except ImportError as exc:
        raise ConfigError("wandb_sweep=true needs the wandb package (pip install wandb)") from exc
    run = wandb.init()
    params = {k: v for k, v in dict(run.config).items() if not k.startswith("_")}
    return json.loads(json.dumps(params, default=str))
