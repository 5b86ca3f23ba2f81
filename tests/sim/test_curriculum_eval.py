"""evaluate() on a curriculum env (what eval/training_task does when training on a curriculum)."""

from __future__ import annotations

from metta.sim import SimulationConfig, SimulationSuiteConfig, StatsDB
from metta.sim.evaluate import evaluate
from tests.sim.fakes import ScriptedPolicy

NOOP = 12


class Noop(ScriptedPolicy):
    num_actions = 19


def test_training_task_simulation_runs_a_curriculum(tmp_path):
    ckpt = tmp_path / "model_0001.pt"
    ckpt.write_bytes(b"x")
    sim = SimulationConfig(
        name="eval/training_task",
        env="/env/mettagrid/curriculum/arena/random",
        num_episodes=3,
        seed=42,
        env_overrides={"game.max_steps": 4},
    )
    res = evaluate(
        f"file://{ckpt}",
        SimulationSuiteConfig(name="t", simulations=(sim,)),
        tmp_path / "s.db",
        policy_loader=lambda p, d: (Noop((NOOP,)), {"epoch": 1}),
    )
    assert res.complete and res.metric("action.noop.success") == 4.0
    assert res.metric("eval/training_task") == 0.0  # nothing collected by standing still
    with StatsDB(tmp_path / "s.db") as db:
        assert db.query("SELECT steps, max_steps FROM episodes") == [(4, 4)] * 3
