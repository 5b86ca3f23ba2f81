"""evaluate() on real checkpoints written by metta.rl.checkpoint: load, score, and clear errors for bad files."""

from __future__ import annotations

import pytest
import torch

from metta.common.errors import CheckpointError, EvaluationError
from metta.sim import SimulationConfig, SimulationSuiteConfig, StatsDB
from metta.sim.evaluate import evaluate

rl_checkpoint = pytest.importorskip("metta.rl.checkpoint")


def _save(ckdir, epoch: int, num_actions: int = 19):
    from metta.agent.config import AgentConfig
    from metta.agent.factory import make_policy

    torch.manual_seed(epoch)
    cfg = AgentConfig(name="mlp", hidden_size=16, lstm_layers=1, fc_size=16, actor_hidden=16, critic_hidden=16)
    policy = make_policy(cfg, num_actions)
    return rl_checkpoint.save_checkpoint(ckdir, epoch, 100 * epoch, policy, None, {"run": "t"})


SUITE = SimulationSuiteConfig(
    name="tiny",
    simulations=(
        SimulationConfig(
            name="arena/basic", env="/env/mettagrid/arena/basic", num_episodes=1, env_overrides={"game.max_steps": 20}
        ),
        SimulationConfig(
            name="eval/basic_easy_shaped",
            env="/env/mettagrid/arena/basic_easy_shaped",
            num_episodes=1,
            env_overrides={"game.max_steps": 20},
        ),
    ),
)


def test_newest_checkpoint_is_evaluated_and_recorded(tmp_path):
    for epoch in (1, 12, 3):
        _save(tmp_path / "run" / "checkpoints", epoch)
    res = evaluate(f"file://{tmp_path}/run/checkpoints", SUITE, tmp_path / "stats.db", seed=1)
    assert res.policy_version == 12 and res.complete
    assert set(res.category_scores) == {"arena", "eval"}
    assert res.metric("avg_category_score") == pytest.approx(sum(res.category_scores.values()) / 2)
    with StatsDB(tmp_path / "stats.db") as db:
        assert db.query("SELECT DISTINCT policy_version FROM agent_policies") == [(12,)]
        assert db.query("SELECT steps FROM episodes") == [(20,), (20,)]
    again = evaluate(f"file://{tmp_path}/run/checkpoints/model_0012.pt", SUITE, tmp_path / "stats.db", seed=1)
    assert again.metrics == res.metrics  # same policy + seeds → same results; appended to the same DB
    with StatsDB(tmp_path / "stats.db") as db:
        assert db.query("SELECT COUNT(*) FROM episodes") == [(4,)]


def test_corrupt_and_missing_checkpoint(tmp_path):
    bad = tmp_path / "model_0001.pt"
    bad.write_bytes(b"\x80\x02 truncated torch archive")
    with pytest.raises(CheckpointError, match="model_0001.pt"):
        evaluate(f"file://{bad}", SUITE, tmp_path / "stats.db")
    with pytest.raises(CheckpointError, match="does not exist"):
        evaluate(f"file://{tmp_path}/missing.pt", SUITE, tmp_path / "stats.db")
    assert not (tmp_path / "stats.db").exists()  # nothing created for a policy that cannot load


def test_action_count_mismatch(tmp_path):
    path = _save(tmp_path, 1, num_actions=7)
    with pytest.raises(EvaluationError, match="7 actions but the env has 19"):
        evaluate(f"file://{path}", SUITE, tmp_path / "stats.db")


def test_corrupt_db_not_truncated(tmp_path):
    path = _save(tmp_path, 1)
    db = tmp_path / "stats.db"
    db.write_bytes(b"garbage" * 1000)
    with pytest.raises(EvaluationError, match="stats.db"):
        evaluate(f"file://{path}", SUITE, db)
    assert db.read_bytes() == b"garbage" * 1000
