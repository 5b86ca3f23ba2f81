"""Runner and evaluate() on a counting env with scripted/random policies: exact hand-counted metrics."""

from __future__ import annotations

import itertools

import pytest

from metta.common.errors import EvaluationError
from metta.sim import SimulationConfig, SimulationSuiteConfig, StatsDB
from metta.sim.evaluate import evaluate
from metta.sim.runner import PolicyHandle, episodes_per_env, run_simulation
from tests.sim.fakes import CountingEnv, RandomPolicy, ScriptedPolicy


def _suite(*sims: SimulationConfig) -> SimulationSuiteConfig:
    return SimulationSuiteConfig(name="t", simulations=sims)


def _maker(length: int = 3, num_agents: int = 2):
    return lambda sim: lambda n, seed: CountingEnv(n, seed, num_agents=num_agents, length=length)


def _loader(policies: dict[str, object]):
    return lambda path, device: (policies[path.name], {"epoch": 7})


@pytest.fixture
def ckpts(tmp_path):
    (tmp_path / "ckpt").mkdir()
    for name in ("model_0001.pt", "model_0007.pt", "npc.pt", "rand.pt"):
        (tmp_path / "ckpt" / name).write_bytes(b"x")
    return tmp_path / "ckpt"


def test_episode_split():
    assert episodes_per_env(5, 3) == [2, 2, 1]
    assert episodes_per_env(2, 2) == [1, 1]


def test_scripted_policy_hand_counted(tmp_path, ckpts):
    # 3 episodes on 3 envs of lengths 3, 4, 5; agent 0 always takes action 1 (reward 1/step), agent 1 never.
    sim = SimulationConfig(name="arena/count", env="fake", num_episodes=3, seed=5)
    res = evaluate(
        f"file://{ckpts}",
        _suite(sim),
        tmp_path / "s.db",
        env_maker=_maker(),
        policy_loader=_loader({"model_0007.pt": ScriptedPolicy((1, 0))}),
    )
    assert res.policy_version == 7 and res.policy_key == f"file://{ckpts.resolve()}"
    # reward: agent 0 gets 3, 4, 5; agent 1 gets 0 → (3+4+5)/6 agent-episodes = 2.0
    assert res.metric("reward") == pytest.approx(2.0)
    # "ones" emitted only by agent 0 → zero-filled to the same 2.0
    assert res.metric("ones") == pytest.approx(2.0)
    assert res.metric("arena/count") == res.metric("arena") == res.metric("avg_category_score") == pytest.approx(2.0)
    with StatsDB(tmp_path / "s.db") as db:
        rows = db.query("SELECT env_index, steps, max_steps FROM episodes ORDER BY env_index")
        assert [(r[0], r[1]) for r in rows] == [(0, 3), (1, 4), (2, 5)]  # real lengths, not max_steps
        assert len({r[0] for r in db.query("SELECT seed FROM episodes")}) == 3
    assert res.simulations[0].status == "complete" and res.complete


def test_more_episodes_than_envs_and_reset_state(tmp_path):
    pol = ScriptedPolicy((1, 1))
    sim = SimulationConfig(name="a/b", env="fake", num_episodes=10, seed=1)  # 8 envs, envs 0-1 run 2 episodes
    envs = []

    def make(n, seed):
        envs.append(CountingEnv(n, seed, length=2))
        return envs[-1]

    out = run_simulation(sim, make, PolicyHandle(pol, "p", 0))
    assert len(out.episodes) == 10 and out.status == "complete"
    assert sorted(e.env_index for e in out.episodes) == [0, 0, 1, 1, 2, 3, 4, 5, 6, 7]
    # env e lasts 2 + e steps: env 1 runs 2 episodes (6 steps), env 7 one episode of 9 steps → 9 steps in total
    assert out.env_steps == 9
    assert sorted(e.steps for e in out.episodes if e.env_index == 1) == [3, 3]
    assert pol.resets > 0


def test_npc_share_recorded_per_agent(tmp_path, ckpts):
    sim = SimulationConfig(
        name="arena/npc",
        env="fake",
        num_episodes=2,
        seed=3,
        npc_policy_uri=f"file://{ckpts}/npc.pt",
        policy_agents_pct=0.5,
    )
    res = evaluate(
        f"file://{ckpts}/model_0007.pt",
        _suite(sim),
        tmp_path / "s.db",
        env_maker=_maker(length=2),
        policy_loader=_loader({"model_0007.pt": ScriptedPolicy((0,)), "npc.pt": ScriptedPolicy((1,))}),
    )
    # the policy (agent 0 of each env) always takes action 0 → reward 0; the NPC's reward must not leak in
    assert res.metric("reward") == 0.0
    with StatsDB(tmp_path / "s.db") as db:
        owners = db.query("SELECT agent_id, policy_key FROM agent_policies ORDER BY episode_id, agent_id")
        assert [o[1].endswith("npc.pt") for o in owners] == [False, True, False, True]
        assert db.query("SELECT AVG(value) FROM agent_metrics WHERE agent_id = 1 AND metric = 'reward'") == [(2.5,)]


def test_same_seed_same_results_different_seed_differs(tmp_path, ckpts):
    sim = SimulationConfig(name="arena/rand", env="fake", num_episodes=3, seed=11)
    runs = [
        evaluate(
            f"file://{ckpts}/rand.pt",
            _suite(sim),
            tmp_path / f"{i}.db",
            env_maker=_maker(length=20),
            policy_loader=_loader({"rand.pt": RandomPolicy()}),
            seed=seed,
        )
        for i, seed in enumerate((11, 11, 12))
    ]
    assert runs[0].metrics == runs[1].metrics
    assert runs[0].metrics["reward"] != runs[2].metrics["reward"]


def test_timeout_keeps_finished_episodes(tmp_path, ckpts):
    sim = SimulationConfig(name="arena/slow", env="fake", num_episodes=3, max_time_s=3.5)
    ticks = itertools.count()
    db = StatsDB(tmp_path / "s.db")
    sid = db.start_simulation(
        eval_id="e", name=sim.name, suite="t", env="fake", policy_key="p", policy_version=0, num_episodes=3
    )
    out = run_simulation(
        sim,
        lambda n, s: CountingEnv(n, s, length=3),
        PolicyHandle(ScriptedPolicy(), "p", 0),
        on_episode=lambda r: db.add_episode(sid, r),
        clock=lambda: float(next(ticks)),
    )
    # clock reads 0 at start, then 1, 2, 3, 4 before steps: 3 steps run, only env 0 (length 3) finished
    assert out.status == "timeout" and out.env_steps == 3
    assert [e.env_index for e in out.episodes] == [0]
    assert db.query("SELECT COUNT(*) FROM episodes") == [(1,)]
    db.close()


def test_evaluate_records_timeout_and_metric_raises(tmp_path, ckpts):
    slow = SimulationConfig(name="arena/slow", env="fake", num_episodes=1, max_time_s=1e-9)
    res = evaluate(
        f"file://{ckpts}",
        _suite(slow),
        tmp_path / "s.db",
        env_maker=_maker(length=50),
        policy_loader=_loader({"model_0007.pt": ScriptedPolicy()}),
    )
    assert res.simulations[0].status == "timeout" and not res.complete
    assert res.sim_scores == {"arena/slow": None}
    for name in ("avg_category_score", "arena", "arena/slow", "reward"):
        with pytest.raises(EvaluationError, match=r"simulations \['arena/slow'\] finished no episode"):
            res.metric(name)
    with StatsDB(tmp_path / "s.db") as db:
        assert db.query("SELECT status, num_episodes_completed FROM simulations") == [("timeout", 0)]


def test_shape_mismatch_is_clear_and_recorded(tmp_path, ckpts):
    class Wrong(ScriptedPolicy):
        num_actions = 19

    sim = SimulationConfig(name="arena/x", env="fake")
    with pytest.raises(EvaluationError, match="19 actions but the env has 3"):
        evaluate(
            f"file://{ckpts}",
            _suite(sim),
            tmp_path / "s.db",
            env_maker=_maker(),
            policy_loader=_loader({"model_0007.pt": Wrong()}),
        )
    with StatsDB(tmp_path / "s.db") as db:
        assert db.query("SELECT status FROM simulations") == [("failed",)]


def test_unknown_sim_name_and_metric(tmp_path, ckpts):
    sim = SimulationConfig(name="arena/x", env="fake")
    with pytest.raises(EvaluationError, match="unknown simulation.*arena/nope.*known"):
        evaluate(f"file://{ckpts}", _suite(sim), tmp_path / "s.db", sims=["arena/nope"], env_maker=_maker())
    res = evaluate(
        f"file://{ckpts}",
        _suite(sim),
        tmp_path / "s.db",
        env_maker=_maker(),
        policy_loader=_loader({"model_0007.pt": ScriptedPolicy()}),
    )
    with pytest.raises(EvaluationError, match="unknown metric 'nope'"):
        res.metric("nope")
