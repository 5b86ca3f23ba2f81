"""Training on a curriculum: config resolution, per-task metrics, and the in-training evaluation suite."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metta.env import EpisodeInfo
from metta.env.curriculum import CurriculumConfig
from metta.rl.stats import episode_metrics
from metta.rl.trainer import train
from metta.rl.trainer_config import TrainJobConfig
from metta.sim.training_eval import training_eval_suite
from tests.rl.helpers import tiny_job

LP = "trainer.curriculum=/env/mettagrid/curriculum/arena/learning_progress"


def _info(task: str, label: str, ret: float, size: int = 62) -> EpisodeInfo:
    return EpisodeInfo(
        env_index=0,
        seed=7,
        steps=20,
        agent_returns=np.full(2, ret, np.float32),
        agent_stats=[{}, {}],
        game_stats={},
        max_steps=20,
        label=label,
        task=task,
        map_width=size,
        map_height=size,
    )


def test_episode_metrics_per_task_map_reward_and_attributes():
    infos = [
        _info("/env/mettagrid/arena/basic", "arena/basic", 1.0),
        _info("/env/mettagrid/arena/basic", "arena/basic", 3.0),
        _info("/env/mettagrid/arena/tag", "arena/tag", 0.5, size=60),
    ]
    m = episode_metrics(infos, "random")
    assert m["env_task_reward/basic/rewards.mean"] == pytest.approx(2.0)
    assert m["env_task_reward/tag/rewards.mean"] == pytest.approx(0.5)
    assert "env_task_reward/random/rewards.mean" not in m
    assert m["env_map_reward/arena/basic"] == pytest.approx(2.0) and m["env_map_reward/arena/tag"] == 0.5
    assert m["env_attributes/map_w"] == pytest.approx((62 + 62 + 60) / 3)
    assert m["env_attributes/max_steps"] == 20.0
    assert m["overview/reward"] == pytest.approx(4.5 / 3)


def test_curriculum_job_resolves_and_round_trips(tmp_path):
    job = tiny_job(tmp_path, extra=[LP])
    assert isinstance(job.env, CurriculumConfig) and job.env.type == "learning_progress"
    assert job.env.num_agents == 24 and len(job.env.task_configs) == 15
    assert all(c.game.max_steps == 20 for c in job.env.task_configs.values())  # env_overrides reach every task
    again = TrainJobConfig.from_dict(json.loads(json.dumps(job.to_dict())))
    assert again.env == job.env


def test_training_eval_suite_uses_suite_seed_and_adds_training_task(tmp_path):
    job = tiny_job(tmp_path, extra=[LP, "seed=9"])
    suite = training_eval_suite(job)
    assert suite.names == [
        "arena/basic",
        "arena/combat",
        "arena/advanced",
        "arena/tag",
        "arena/advanced_poor",
        "eval/training_task",
    ]
    assert {s.seed for s in suite.simulations} == {42}  # not the run seed 9
    training = suite.simulations[-1]
    assert training.env == "/env/mettagrid/curriculum/arena/learning_progress"
    assert training.env_overrides == {"game.max_steps": 20}


def test_learning_progress_curriculum_trains_and_logs_probs(tmp_path):
    job = tiny_job(tmp_path, extra=[LP])
    res = train(job)
    assert res.epochs == 3
    rows = [json.loads(line) for line in (tmp_path / "tiny" / "metrics.jsonl").read_text().splitlines()]
    probs = {k: v for k, v in rows[-1].items() if k.startswith("curriculum/probs/")}
    assert len(probs) == 15 and "curriculum/probs/tag_easy_shaped" in probs
    assert sum(probs.values()) == pytest.approx(1.0)
    tasks = {k for r in rows for k in r if k.startswith("env_task_reward/")}
    assert tasks and all(k.endswith("/rewards.mean") for k in tasks)


def test_dead_attack_mask_stops_attack_sampling_in_training(tmp_path):
    job = tiny_job(tmp_path, extra=["trainer.mask_dead_attack=true", "trainer.total_timesteps=768"])
    train(job)
    rows = [json.loads(line) for line in (tmp_path / "tiny" / "metrics.jsonl").read_text().splitlines()]
    done = [r for r in rows if r.get("overview/episodes", 0) > 0]
    assert done and all(r["env_agent/action.attack.failed"] == 0 for r in done)  # never sampled
    assert all(r["env_agent/action.noop.success"] > 0 for r in done)
