"""evaluate() on the real arena env: hand-counted metrics of a scripted policy, determinism, suites resolve."""

from __future__ import annotations

import pytest

from metta.common.errors import ConfigError, EvaluationError
from metta.sim import SimulationConfig, SimulationSuiteConfig, StatsDB, evaluate, load_suite
from tests.sim.fakes import RandomPolicy, ScriptedPolicy

NOOP, ROTATE_UP = 12, 14  # flat alphabetical action order (legacy-spec §0.2)


class ArenaScripted(ScriptedPolicy):
    num_actions = 19


class ArenaRandom(RandomPolicy):
    num_actions = 19


def _suite(num_episodes: int, max_steps: int, seed: int = 3) -> SimulationSuiteConfig:
    sim = SimulationConfig(name="arena/basic", env="/env/mettagrid/arena/basic", num_episodes=num_episodes,
                           seed=seed, env_overrides={"game.max_steps": max_steps})
    return SimulationSuiteConfig(name="tiny", simulations=(sim,))


@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "model_0002.pt"
    path.write_bytes(b"x")
    return path


def test_scripted_noop_rotate_hand_counted(tmp_path, ckpt):
    res = evaluate(f"file://{ckpt}", _suite(2, 5), tmp_path / "s.db",
                   policy_loader=lambda p, d: (ArenaScripted((NOOP, ROTATE_UP)), {"epoch": 2}))
    # 2 episodes x 24 agents; even agents noop 5 times, odd agents rotate up 5 times; nothing is collected
    assert res.metric("action.noop.success") == pytest.approx(2.5)
    assert res.metric("action.rotate.success") == pytest.approx(2.5)
    assert res.metric("action.move.success") == 0.0
    assert res.metric("reward") == 0.0 and res.metric("heart.get") == 0.0
    with StatsDB(tmp_path / "s.db") as db:
        eps = db.query("SELECT steps, max_steps FROM episodes")
        assert eps == [(5, 5), (5, 5)]  # full-length episodes (desync is off for evaluation)
        assert db.num_samples() == 48
        per_agent = db.query("SELECT agent_id, value FROM agent_metrics WHERE metric = 'action.noop.success'"
                             " ORDER BY episode_id, agent_id")
        assert [v for a, v in per_agent] == [5.0 if a % 2 == 0 else 0.0 for a, _ in per_agent]


def test_same_seed_same_results(tmp_path, ckpt):
    def run(i: int, seed: int):
        return evaluate(f"file://{ckpt}", _suite(2, 60), tmp_path / f"{i}.db", seed=seed,
                        policy_loader=lambda p, d: (ArenaRandom(), {}))

    a, b, c = run(0, 5), run(1, 5), run(2, 6)
    assert a.metrics == b.metrics
    assert a.metrics["action.move.success"] > 0
    assert a.metrics != c.metrics
    seeds = [StatsDB(tmp_path / f"{i}.db").query("SELECT seed FROM episodes ORDER BY env_index") for i in (0, 1)]
    assert seeds[0] == seeds[1] and len(set(seeds[0])) == 2


def test_shape_mismatch_on_real_env(tmp_path, ckpt):
    class Wrong(ArenaScripted):
        obs_shape = (100, 3)

    with pytest.raises(EvaluationError, match=r"observation shape \(100, 3\) != env observation shape \(200, 3\)"):
        evaluate(f"file://{ckpt}", _suite(1, 5), tmp_path / "s.db", policy_loader=lambda p, d: (Wrong(), {}))


def test_shipped_suites_resolve_to_existing_envs():
    from metta.env import load_env_config

    for name in ("arena", "sweep_eval"):
        suite = load_suite(name)
        for sim in suite.simulations:
            assert load_env_config(sim.env, sim.env_override_list()).game.num_agents > 0
    assert load_suite("arena").names[:3] == ["arena/basic", "arena/basic_easy", "arena/combat"]
    with pytest.raises(EvaluationError, match="unknown simulation suite 'nope'.*arena"):
        load_suite("nope")
    with pytest.raises(ConfigError, match="num_episodes"):
        load_suite("arena", ["num_episodes=0"])


def test_unknown_env_is_clear(tmp_path, ckpt):
    sim = SimulationConfig(name="arena/nope", env="/env/mettagrid/arena/nope")
    with pytest.raises(ConfigError, match="arena/nope"):
        evaluate(f"file://{ckpt}", SimulationSuiteConfig(name="t", simulations=(sim,)), tmp_path / "s.db",
                 policy_loader=lambda p, d: (ArenaScripted(), {}))
