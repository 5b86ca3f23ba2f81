"""Pure hyperparameter schedules over training progress p = agent_step / total_timesteps (capped to [0, 1]).

With v0 = initial value, v1 = min (final) value, d = decay_rate:

- constant:     v(p) = v0
- linear:       v(p) = v0 + (v1 - v0) * p
- cosine:       v(p) = v1 + (v0 - v1) * (1 + cos(pi p)) / 2
- exponential:  v(p) = max(v1, v0 * d**p)             (d < 1 decays; v(1) = max(v1, v0*d))
- logarithmic:  v(p) = v0 + (v1 - v0) * ln(1 + p/d) / ln(1 + 1/d)   (fast early decay; v(1) = v1)

Every schedule except exponential ends exactly at v1. ``initial_value: null`` means "the base coefficient".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from metta.rl.trainer_config import ScheduleConfig, TrainerConfig


def progress(agent_step: int, total_timesteps: int) -> float:
    """p = agent_step / total_timesteps, clipped to [0, 1]."""
    if total_timesteps <= 0:
        return 1.0
    return min(1.0, max(0.0, agent_step / total_timesteps))


def schedule_value(kind: str, p: float, initial: float, final: float, decay_rate: float = 0.1) -> float:
    """Closed-form value of schedule ``kind`` at progress ``p`` (clipped to [0, 1])."""
    p = min(1.0, max(0.0, float(p)))
    if kind == "constant":
        return initial
    if kind == "linear":
        return initial + (final - initial) * p
    if kind == "cosine":
        return final + (initial - final) * 0.5 * (1.0 + math.cos(math.pi * p))
    if kind == "exponential":
        return max(final, initial * decay_rate**p)
    if kind == "logarithmic":
        return initial + (final - initial) * math.log1p(p / decay_rate) / math.log1p(1.0 / decay_rate)
    raise ValueError(f"unknown schedule type {kind!r}; use constant, linear, cosine, exponential or logarithmic")


def scheduled(cfg: ScheduleConfig | None, base: float, p: float) -> float:
    """Value of an optional schedule whose null initial_value means ``base``; None → constant ``base``."""
    if cfg is None:
        return base
    initial = base if cfg.initial_value is None else cfg.initial_value
    final = initial if cfg.min_value is None else cfg.min_value
    return schedule_value(cfg.type, p, initial, final, cfg.decay_rate)


@dataclass(frozen=True)
class Hyperparameters:
    """The scheduled coefficients in effect for one update."""

    learning_rate: float
    clip_coef: float
    ent_coef: float
    vf_clip_coef: float

    def as_metrics(self) -> dict[str, float]:
        return {
            "hyperparameters/learning_rate": self.learning_rate,
            "hyperparameters/ppo_clip_coef": self.clip_coef,
            "hyperparameters/ppo_ent_coef": self.ent_coef,
            "hyperparameters/ppo_vf_clip_coef": self.vf_clip_coef,
        }


def hyperparameters_at(trainer: TrainerConfig, agent_step: int) -> Hyperparameters:
    """All scheduled coefficients for ``agent_step`` under ``trainer``'s schedules."""
    p = progress(agent_step, trainer.total_timesteps)
    hs = trainer.hyperparameter_scheduler
    return Hyperparameters(
        learning_rate=scheduled(hs.learning_rate_schedule, trainer.optimizer.learning_rate, p),
        clip_coef=scheduled(hs.ppo_clip_schedule, trainer.ppo.clip_coef, p),
        ent_coef=scheduled(hs.ppo_ent_coef_schedule, trainer.ppo.ent_coef, p),
        vf_clip_coef=scheduled(hs.ppo_vf_clip_schedule, trainer.ppo.vf_clip_coef, p),
    )
