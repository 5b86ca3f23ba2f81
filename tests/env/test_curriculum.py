"""Curricula: sampling maths against hand-computed values, a scripted score sequence, and task switching in VecEnv."""

from __future__ import annotations

import numpy as np
import pytest

from metta.common.errors import EnvConfigError
from metta.env import VecEnv, load_env_config
from metta.env import kernels as K
from metta.env.curriculum import (
    CurriculumConfig,
    LearningProgressConfig,
    LearningProgressSampler,
    RandomSampler,
    learning_progress,
    load_curriculum,
    progress_distribution,
    reweight,
)
from metta.env.multitask import build_task_set


def test_reweight_and_progress_closed_form():
    assert reweight(np.array([0.0, 1.0]), 0.05).tolist() == [0.0, 1.0]
    assert reweight(np.array([0.5]), 0.05)[0] == pytest.approx(0.95)
    assert reweight(np.array([0.2]), 0.05)[0] == pytest.approx(0.19 / 0.23)
    assert learning_progress(np.array([0.5]), np.array([0.2]), 0.05)[0] == pytest.approx(0.95 - 0.19 / 0.23)
    # only tasks with progress (or success) take part: z = [-1, 1] -> sigmoid, normalised; task 0 gets nothing
    s = 1 / (1 + np.exp(-np.array([-1.0, 1.0])))
    dist = progress_distribution(np.array([0.0, 0.1, 0.3]), np.zeros(3))
    assert dist == pytest.approx([0.0, *(s / s.sum())])
    # no progress anywhere: uniform; success without progress still counts
    assert progress_distribution(np.zeros(4), np.zeros(4)) == pytest.approx([0.25] * 4)
    assert progress_distribution(np.zeros(3), np.array([0.0, 0.4, 0.0])) == pytest.approx([0.0, 1.0, 0.0])


def test_random_sampler_follows_weights():
    sampler = RandomSampler(["a", "b", "c"], [1.0, 1.0, 2.0])
    rng = np.random.default_rng(0)
    draws = np.bincount([sampler.sample(rng) for _ in range(4000)], minlength=3) / 4000
    assert draws == pytest.approx([0.25, 0.25, 0.5], abs=0.03)


def test_learning_progress_moves_toward_the_task_whose_score_changes():
    sampler = LearningProgressSampler(["rising", "flat_a", "flat_b"], [1, 1, 1], LearningProgressConfig())
    rng = np.random.default_rng(1)
    assert sampler.probs() == pytest.approx([1 / 3] * 3)
    n = 600
    for i in range(n):  # scripted: one episode of each task per round; only the first task's score rises
        sampler.complete(0, i / n, rng)
        sampler.complete(1, 0.0, rng)
        sampler.complete(2, 0.0, rng)
    probs = sampler.probs()
    assert sampler.updates > 10
    assert probs[0] > 0.9 and probs[1] < 0.05 and probs[2] < 0.05
    assert probs.sum() == pytest.approx(1.0)
    assert max(len(o) for o in sampler.outcomes) < 60  # trimmed to the last 25 at every update (600 completed)


def test_learning_progress_waits_for_sample_threshold():
    sampler = LearningProgressSampler(["a", "b"], [1, 1], LearningProgressConfig(num_active_tasks=2, rand_task_rate=1))
    rng = np.random.default_rng(2)
    sampler.complete(0, 1.0, rng)  # the first completion always updates (sets the baseline)
    assert sampler.updates == 1
    active = set(sampler.active)
    for _ in range(9):
        sampler.complete(next(iter(active)), 1.0, rng)
    assert sampler.updates == 1  # 9 < sample_threshold new outcomes
    sampler.complete(next(iter(active)), 1.0, rng)
    assert sampler.updates == 2


def test_arena_curricula_load_with_legacy_defaults():
    rnd = load_curriculum("/env/mettagrid/curriculum/arena/random", ["game.max_steps=50"])
    assert rnd.type == "random" and len(rnd.tasks) == 15 and set(rnd.tasks.values()) == {1.0}
    assert all(c.game.max_steps == 50 for c in rnd.task_configs.values())
    lp = load_curriculum("env/mettagrid/curriculum/arena/learning_progress")
    assert lp.type == "learning_progress" and lp.tasks == rnd.tasks
    assert lp.learning_progress == LearningProgressConfig()
    assert (lp.learning_progress.ema_timescale, lp.learning_progress.num_active_tasks) == (0.001, 16)
    # round trip through plain data (what checkpoints store)
    assert CurriculumConfig.from_dict(lp.model_dump(mode="json")) == lp


def test_curriculum_env_switches_tasks_at_reset_without_recompiling():
    names = ["/env/mettagrid/arena/basic", "/env/mettagrid/arena/basic_easy_shaped", "/env/mettagrid/arena/tag"]
    configs = {n: load_env_config(n, ["game.max_steps=10", "game.desync_episodes=false"]) for n in names}
    cur = CurriculumConfig(name="t", tasks=dict.fromkeys(names, 1.0), task_configs=configs)
    env = VecEnv(cur, num_envs=3, seed=5)
    assert (env.height, env.width) == (62, 62)  # the largest task; tag's 60x60 map sits in the corner
    env.reset()
    seen, rng = set(), np.random.default_rng(0)
    env.step(rng.integers(0, env.num_actions, env.total_agents))  # compiles the kernel (if numba) for the first tasks
    sigs = len(K.step_envs.signatures) if K.HAVE_NUMBA else 0
    for _ in range(60):
        _, rewards, _, infos = env.step(rng.integers(0, env.num_actions, env.total_agents))
        for info in infos:
            seen.add(info.task)
            size = 60 if info.task.endswith("tag") else 62
            assert (info.map_width, info.map_height) == (size, size) and info.label == info.task.removeprefix(
                "/env/mettagrid/"
            )
            assert info.game_stats["objects.altar"] == (8 if size == 60 else 20)  # filler walls are not counted
    assert seen == set(names)
    if K.HAVE_NUMBA:
        assert len(K.step_envs.signatures) == sigs == 1  # same array types after switches: no recompilation
    for e in range(3):  # each env rewards with its current task's weights
        w = configs[names[int(env.env_task[e])]].game.agent.rewards.inventory
        assert env.reward_w[e, env.tables.items.index("ore_red")] == w.get("ore_red", 0.0)


def test_tasks_must_share_agent_settings():
    a = load_env_config("arena/basic")
    b = load_env_config("arena/basic", ["game.agent.freeze_duration=3"])
    with pytest.raises(EnvConfigError, match="freeze_duration = 3 differs"):
        build_task_set([a, b], ["a", "b"])
