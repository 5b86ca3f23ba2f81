"""What a trainer or an evaluation runs, named by one config path: an arena env, a curriculum or a Gymnasium task.

``trainer.curriculum`` (the Hydra-era name) holds the path: names under ``env/gym/`` are Gymnasium tasks, names under
``curriculum/`` are curricula over arena envs, anything else is one arena env config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from metta.common.errors import EnvConfigError
from metta.env.config import EnvConfig, load_env_config
from metta.env.curriculum import CurriculumConfig, is_curriculum_name, load_curriculum
from metta.env.gym_adapter import GymTaskConfig, is_gym_task, load_gym_task

TrainingEnv = EnvConfig | CurriculumConfig | GymTaskConfig


def load_training_env(name: str, overrides: Sequence[str] = ()) -> TrainingEnv:
    """Load the env, curriculum or Gymnasium task named ``name`` with dotted env ``overrides``."""
    if is_gym_task(name):
        return load_gym_task(name, overrides)
    if is_curriculum_name(name):
        return load_curriculum(name, overrides)
    return load_env_config(name, overrides)


def coerce_training_env(value: Any) -> TrainingEnv:
    """A training env from itself or from its ``model_dump`` (a curriculum has ``task_configs``, a task ``gym_id``)."""
    if isinstance(value, EnvConfig | CurriculumConfig | GymTaskConfig):
        return value
    if isinstance(value, Mapping):
        data = dict(value)
        if "task_configs" in data:
            return CurriculumConfig.from_dict(data)
        if "gym_id" in data:
            return GymTaskConfig.model_validate(data)
        return EnvConfig.from_dict(data)
    raise EnvConfigError(
        f"env must be an EnvConfig, a curriculum, a Gymnasium task or a mapping, got {type(value).__name__}"
    )
