"""Curricula: which arena task an env instance plays in its next episode.

``load_curriculum("/env/mettagrid/curriculum/arena/random")`` composes a curriculum YAML (a ``tasks`` mapping of env
config names to weights, a ``type`` and, for learning progress, its parameters) into a frozen
:class:`CurriculumConfig` with every task's :class:`EnvConfig` resolved. ``make_sampler(cfg)`` gives the stateful
sampler a :class:`metta.env.VecEnv` asks for a task at every env reset and tells each finished episode's score.

- ``random``: task ``i`` with probability ``w_i / Σ w`` (fixed weights).
- ``learning_progress`` (bidirectional learning progress, Hydra-era defaults): each score is clipped to [0, 1]
  into a per-task outcome window; after enough new outcomes, a fast EMA of the baseline-normalised success rate and
  a slow EMA of the fast one are updated, learning progress is ``|reweight(fast) − reweight(slow)|``, and the
  sampling weights are sigmoid(z-score of the progress) over the tasks that show progress (or success), zero for the
  rest. So sampling moves toward tasks whose score is changing.

The maths are pure functions of arrays (tested against hand-computed values); randomness comes from the
``np.random.Generator`` passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from metta.common.config import compose, to_container
from metta.common.config_base import FrozenConfig, validate_model
from metta.common.errors import EnvConfigError
from metta.env.config import EnvConfig, load_env_config

RANDOM_BASELINE_CAP = 0.75  # the random baseline of a task's success rate never exceeds this


class LearningProgressConfig(FrozenConfig):
    """Parameters of the learning-progress curriculum (defaults = the Hydra-era class defaults)."""

    ema_timescale: float = Field(0.001, gt=0.0, le=1.0, description="EMA step of the fast (and slow) averages")
    progress_smoothing: float = Field(0.05, ge=0.0, lt=0.5, description="Reweighting of success rates near 0 and 1")
    num_active_tasks: int = Field(16, ge=1, le=10_000, description="Tasks drawn per update whose EMAs move next")
    rand_task_rate: float = Field(0.25, ge=0.0, le=1.0, description="Share of active-task draws that are uniform")
    sample_threshold: int = Field(10, ge=1, le=10**6, description="New outcomes of an active task before an update")
    memory: int = Field(25, ge=1, le=10**6, description="Outcomes kept per task")


class CurriculumConfig(FrozenConfig):
    """A resolved curriculum: task names, weights, sampler type and every task's env config."""

    name: str = Field(min_length=1, description="Curriculum config name")
    type: Literal["random", "learning_progress"] = Field("random", description="Sampler")
    tasks: dict[str, float] = Field(min_length=1, description="Env config name -> initial sampling weight (>= 0)")
    learning_progress: LearningProgressConfig = Field(
        default_factory=LearningProgressConfig, description="Learning-progress parameters (type learning_progress)"
    )
    task_configs: dict[str, EnvConfig] = Field(description="Env config name -> resolved env config")

    @property
    def num_agents(self) -> int:
        return next(iter(self.task_configs.values())).game.num_agents

    @property
    def task_names(self) -> list[str]:
        return list(self.tasks)

    @property
    def label(self) -> str:
        return self.name

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CurriculumConfig:
        return validate_model(cls, data, "curriculum", error=EnvConfigError)


def is_curriculum_name(name: str) -> bool:
    """True for names under ``env/mettagrid/curriculum/`` (the trainer then builds a multi-task env)."""
    return "curriculum/" in name.strip().lstrip("/")


def short_task_name(task: str) -> str:
    """``/env/mettagrid/arena/basic`` -> ``basic`` (the key used in per-task metrics)."""
    return task.rstrip("/").rsplit("/", 1)[-1]


def load_curriculum(name: str, overrides: Sequence[str] = ()) -> CurriculumConfig:
    """Compose curriculum YAML ``name`` and load every task env with the same env ``overrides``."""
    full = name.strip().lstrip("/")
    full = full[: -len(".yaml")] if full.endswith(".yaml") else full
    try:
        data = to_container(compose(full))
    except Exception as exc:  # Hydra/omegaconf raise their own error types
        raise EnvConfigError(f"cannot load curriculum {name!r}: {exc}") from exc
    for part in full.split("/")[:-1]:
        data = data[part]
    tasks = {str(k): float(v) for k, v in (data.get("tasks") or {}).items()}
    if any(w < 0 for w in tasks.values()) or not tasks or sum(tasks.values()) <= 0:
        raise EnvConfigError(f"curriculum {name!r}: tasks = {tasks}: weights must be >= 0 with a positive sum")
    configs = {t: load_env_config(t, overrides) for t in tasks}
    return CurriculumConfig.from_dict(
        {
            "name": "/" + full,
            "type": data.get("type", "random"),
            "tasks": tasks,
            "learning_progress": data.get("learning_progress") or {},
            "task_configs": configs,
        }
    )


# ---------------------------------------------------------------------------------------------- pure maths
def reweight(p: np.ndarray, smoothing: float) -> np.ndarray:
    """p·(1−s) / (p + s·(1−2p)): stretches success rates near 0 and 1 (0 -> 0, 1 -> 1)."""
    p = np.asarray(p, dtype=np.float64)
    den = p + smoothing * (1.0 - 2.0 * p)
    return p * (1.0 - smoothing) / np.where(den <= 0, 1.0, den)


def learning_progress(p_fast: np.ndarray, p_slow: np.ndarray, smoothing: float) -> np.ndarray:
    """|reweight(fast) − reweight(slow)|."""
    return np.abs(reweight(p_fast, smoothing) - reweight(p_slow, smoothing))


def progress_distribution(lp: np.ndarray, p_true: np.ndarray) -> np.ndarray:
    """Sampling probabilities: sigmoid of the z-scored progress over the tasks with progress or success
    (``lp > 0 or p_true > 0``), normalised; tasks outside that set get 0. With no such task: over all tasks."""
    lp = np.asarray(lp, dtype=np.float64)
    active = (lp > 0) | (np.asarray(p_true) > 0)
    sub = lp[active] if active.any() else lp
    std = float(np.std(sub))
    z = (sub - sub.mean()) / std if std > 0 else sub - sub.mean()
    s = 1.0 / (1.0 + np.exp(-z))
    s = s / s.sum() if s.sum() > 0 else np.full_like(s, 1.0 / len(s))
    if not active.any():
        return s
    out = np.zeros_like(lp)
    out[active] = s
    return out


def ema(old: np.ndarray, new: np.ndarray, rate: float) -> np.ndarray:
    """One exponential-moving-average step: rate·new + (1−rate)·old."""
    return rate * np.asarray(new) + (1.0 - rate) * np.asarray(old)


# ---------------------------------------------------------------------------------------------- samplers
class RandomSampler:
    """Fixed weights; ``complete`` only counts completions."""

    def __init__(self, tasks: Sequence[str], weights: Sequence[float]):
        self.tasks = list(tasks)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.completions = np.zeros(len(self.tasks), dtype=np.int64)

    def probs(self) -> np.ndarray:
        total = self.weights.sum()
        return self.weights / total if total > 0 else np.full(len(self.tasks), 1.0 / len(self.tasks))

    def sample(self, rng: np.random.Generator) -> int:
        return self.pick(float(rng.random()))

    def pick(self, u: float) -> int:
        """The task whose cumulative-probability interval holds ``u`` in [0, 1) (inverse-CDF sampling)."""
        cdf = np.cumsum(self.probs())
        return int(min(np.searchsorted(cdf, u * cdf[-1], side="right"), len(self.tasks) - 1))

    def complete(self, task: int, score: float, rng: np.random.Generator) -> None:
        self.completions[task] += 1

    def stats(self) -> dict[str, float]:
        return {}


class LearningProgressSampler(RandomSampler):
    """Bidirectional learning progress over fast/slow EMAs of each task's success rate (see module doc)."""

    def __init__(self, tasks: Sequence[str], weights: Sequence[float], cfg: LearningProgressConfig):
        super().__init__(tasks, weights)
        n = len(self.tasks)
        self.cfg = cfg
        self.outcomes: list[list[float]] = [[] for _ in range(n)]
        self.baseline: np.ndarray | None = None
        self.p_fast = np.zeros(n)
        self.p_slow = np.zeros(n)
        self.p_true = np.zeros(n)
        self.update_mask = np.ones(n, dtype=bool)
        self.active: list[int] = list(range(n))
        self.counter = dict.fromkeys(self.active, 0)
        self.updates = 0

    def _success_rates(self) -> np.ndarray:
        return np.array([float(np.mean(o)) if o else 0.0 for o in self.outcomes])

    def _update_emas(self) -> None:
        rates = self._success_rates()
        if self.baseline is None:  # set once, from the outcomes seen at the first update
            self.baseline = np.minimum(rates, RANDOM_BASELINE_CAP)
        m = self.update_mask
        den = np.where(1.0 - self.baseline[m] <= 0, 1.0, 1.0 - self.baseline[m])
        norm = np.maximum(rates[m] - self.baseline[m], 0.0) / den
        rate = self.cfg.ema_timescale
        if self.updates == 0:
            self.p_fast[m], self.p_slow[m], self.p_true[m] = norm, norm, rates[m]
        else:
            self.p_fast[m] = ema(self.p_fast[m], norm, rate)
            self.p_slow[m] = ema(self.p_slow[m], self.p_fast[m], rate)
            self.p_true[m] = ema(self.p_true[m], rates[m], rate)
        self.updates += 1

    def _draw_active(self, dist: np.ndarray, rng: np.random.Generator) -> None:
        n = len(self.tasks)
        self.active = []
        for _ in range(self.cfg.num_active_tasks):
            uniform = rng.random() < self.cfg.rand_task_rate
            self.active.append(int(rng.integers(n)) if uniform else int(rng.choice(n, p=dist)))
        self.update_mask = np.zeros(n, dtype=bool)
        self.update_mask[self.active] = True
        self.counter = dict.fromkeys(self.active, 0)

    def complete(self, task: int, score: float, rng: np.random.Generator) -> None:
        super().complete(task, score, rng)
        self.outcomes[task].append(min(1.0, max(0.0, float(score))))
        if task in self.counter:
            self.counter[task] += 1
        if self.baseline is not None and all(v < self.cfg.sample_threshold for v in self.counter.values()):
            return
        self._update_emas()
        dist = progress_distribution(
            learning_progress(self.p_fast, self.p_slow, self.cfg.progress_smoothing), self.p_true
        )
        self.outcomes = [o[-self.cfg.memory :] for o in self.outcomes]
        self._draw_active(dist, rng)
        self.weights = dist

    def stats(self) -> dict[str, float]:
        return {
            "lp/num_active_tasks": float(len(self.active)),
            "lp/num_zeros_lp_dist": float((self.probs() == 0).sum()),
            "lp/task_success_rate": float(self._success_rates().mean()),
            "lp/updates": float(self.updates),
        }


def make_sampler(cfg: CurriculumConfig) -> RandomSampler:
    """The stateful sampler of ``cfg`` (random or learning progress)."""
    weights = [cfg.tasks[t] for t in cfg.task_names]
    if cfg.type == "learning_progress":
        return LearningProgressSampler(cfg.task_names, weights, cfg.learning_progress)
    return RandomSampler(cfg.task_names, weights)
