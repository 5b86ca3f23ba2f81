"""evaluate() on the real arena env: hand-counted metrics of a scripted policy, determinism, suites resolve."""

from __future__ import annotations

import pytest
import torch

from metta.common.errors import ConfigError, EvaluationError
from metta.sim import SimulationConfig, SimulationSuiteConfig, StatsDB, load_suite
from metta.sim.evaluate import evaluate
from tests.sim.fakes import RandomPolicy, ScriptedPolicy

NOOP, ROTATE_UP = 12, 14  # flat alphabetical action order (the Hydra-era action numbering)


class ArenaScripted(ScriptedPolicy):
    num_actions = 19


class ArenaRandom(RandomPolicy):
    num_actions = 19


def _suite(num_episodes: int, max_steps: int, seed: int = 3) -> SimulationSuiteConfig:
    sim = SimulationConfig(
        name="arena/basic",
        env="/env/mettagrid/arena/basic",
        num_episodes=num_episodes,
        seed=seed,
        env_overrides={"game.max_steps": max_steps},
    )
    return SimulationSuiteConfig(name="tiny", simulations=(sim,))


@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "model_0002.pt"
    path.write_bytes(b"x")
    return path


def test_scripted_noop_rotate_hand_counted(tmp_path, ckpt):
    res = evaluate(
        f"file://{ckpt}",
        _suite(2, 5),
        tmp_path / "s.db",
        policy_loader=lambda p, d: (ArenaScripted((NOOP, ROTATE_UP)), {"epoch": 2}),
    )
    # 2 episodes x 24 agents; even agents noop 5 times, odd agents rotate up 5 times; nothing is collected
    assert res.metric("action.noop.success") == pytest.approx(2.5)
    assert res.metric("action.rotate.success") == pytest.approx(2.5)
    assert res.metric("action.move.success") == 0.0
    assert res.metric("reward") == 0.0 and res.metric("heart.get") == 0.0
    with StatsDB(tmp_path / "s.db") as db:
        eps = db.query("SELECT steps, max_steps FROM episodes")
        assert eps == [(5, 5), (5, 5)]  # full-length episodes (desync is off for evaluation)
        assert db.num_samples() == 48
        per_agent = db.query(
            "SELECT agent_id, value FROM agent_metrics WHERE metric = 'action.noop.success'"
            " ORDER BY episode_id, agent_id"
        )
        assert [v for a, v in per_agent] == [5.0 if a % 2 == 0 else 0.0 for a, _ in per_agent]


def test_same_seed_same_results(tmp_path, ckpt):
    def run(i: int, seed: int):
        return evaluate(
            f"file://{ckpt}",
            _suite(2, 60),
            tmp_path / f"{i}.db",
            seed=seed,
            policy_loader=lambda p, d: (ArenaRandom(), {}),
        )

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

    for name in ("arena", "arena_easy", "sweep_eval"):
        suite = load_suite(name)
        for sim in suite.simulations:
            assert load_env_config(sim.env, sim.env_override_list()).game.num_agents > 0
    # the legacy suite, in legacy order; basic_easy has its own suite so arena_score matches legacy
    assert load_suite("arena").names == [
        "arena/basic",
        "arena/combat",
        "arena/advanced",
        "arena/tag",
        "arena/advanced_poor",
    ]
    assert load_suite("arena_easy").names == ["arena_easy/basic_easy"]
    assert {s.seed for s in load_suite("arena").simulations} == {42}
    with pytest.raises(EvaluationError, match="unknown simulation suite 'nope'.*arena"):
        load_suite("nope")
    with pytest.raises(ConfigError, match="num_episodes"):
        load_suite("arena", ["num_episodes=0"])


def test_unknown_env_is_clear(tmp_path, ckpt):
    sim = SimulationConfig(name="arena/nope", env="/env/mettagrid/arena/nope")
    with pytest.raises(ConfigError, match="arena/nope"):
        evaluate(
            f"file://{ckpt}",
            SimulationSuiteConfig(name="t", simulations=(sim,)),
            tmp_path / "s.db",
            policy_loader=lambda p, d: (ArenaScripted(), {}),
        )


CHAIN = ("#####", "#.m.#", "#nA_#", "#####")  # mine above, generator left, altar right of the agent
# rotate up, take ore, rotate left, put ore into the generator, take the battery, rotate right, put it into the
# altar, take the heart; then noop. Flat indices: get_items 9, noop 12, put_items 13, rotate up/left/right 14/16/17.
HEART_SCRIPT = (14, 9, 16, 13, 9, 17, 13, 9)


class TimedScript(ArenaScripted):
    """Plays HEART_SCRIPT by episode step (the recurrent state is the step counter; reset at episode end)."""

    def act(self, obs, state, generator):
        t = state.long()
        actions = torch.tensor([HEART_SCRIPT[i] if i < len(HEART_SCRIPT) else NOOP for i in t.tolist()])
        b = obs.shape[0]
        return actions, torch.zeros(b), torch.zeros(b), state + 1


def test_scripted_heart_chain_on_hand_made_map(tmp_path, ckpt):
    from metta.env import VecEnv, load_env_config

    layout = "[" + ",".join(f"'{row}'" for row in CHAIN) + "]"
    cfg = load_env_config(
        "arena/basic_easy_shaped",
        [f"++game.map.layout={layout}", "++game.num_agents=1", "++game.desync_episodes=false", "++game.max_steps=10"],
    )
    sim = SimulationConfig(name="chain/heart", env="hand-made", num_episodes=3, seed=1)
    res = evaluate(
        f"file://{ckpt}",
        SimulationSuiteConfig(name="t", simulations=(sim,)),
        tmp_path / "s.db",
        env_maker=lambda s: lambda n, seed: VecEnv(cfg, num_envs=n, seed=seed),
        policy_loader=lambda p, d: (TimedScript(), {}),
    )
    # every episode: ore 0.1 → battery 0.8 → heart 1.0 (shaped reward of the final inventory: one heart)
    expected = {
        "reward": 1.0,
        "heart.get": 1,
        "ore_red.get": 1,
        "battery_red.get": 1,
        "ore_red.put": 1,
        "action.rotate.success": 3,
        "action.get_items.success": 3,
        "action.put_items.success": 2,
        "action.noop.success": 2,
        "action.move.success": 0,
    }
    for k, v in expected.items():
        assert res.metric(k) == pytest.approx(v, abs=1e-6), k
    assert res.metric("chain") == pytest.approx(1.0, abs=1e-6)
    with StatsDB(tmp_path / "s.db") as db:
        assert db.query("SELECT steps FROM episodes") == [(10,)] * 3
