"""Suite configs: inheritance of suite defaults, validation errors naming the key, sim_job composition."""

from __future__ import annotations

import pytest

from metta.common.config import compose, to_container
from metta.common.errors import ConfigError, EvaluationError
from metta.sim import resolve_suite
from metta.sim.config import category_of, env_override_strings


def test_suite_defaults_are_inherited_and_overridable():
    suite = resolve_suite(
        {
            "name": "s",
            "num_episodes": 3,
            "seed": 9,
            "env_overrides": {"game.max_steps": 100},
            "simulations": {
                "a/x": {"env": "e1"},
                "b/y": {"env": "e2", "num_episodes": 1, "env_overrides": {"game.num_agents": 4}},
            },
        }
    )
    a, b = suite.simulations
    assert (a.num_episodes, a.seed, a.env_overrides) == (3, 9, {"game.max_steps": 100})
    assert (b.num_episodes, b.env_overrides) == (1, {"game.max_steps": 100, "game.num_agents": 4})
    assert (a.category, b.category) == ("a", "b")
    assert category_of("arena") == "arena"
    assert env_override_strings({"k": True, "s": "x y", "f": 0.5}) == ["++k=true", "++s='x y'", "++f=0.5"]
    assert suite.select(["b/y"]).names == ["b/y"]
    with pytest.raises(EvaluationError, match=r"unknown simulation\(s\) \['c/z'\].*known: \['a/x', 'b/y'\]"):
        suite.select(["c/z"])


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"name": "s", "simulations": {"a/x": {"env": "e"}}, "episodes": 2}, r"unknown key\(s\) \['episodes'\]"),
        ({"name": "s", "simulations": {}}, "non-empty 'simulations'"),
        ({"name": "s", "simulations": {"a/x": {"env": "e", "num_episodes": 0}}}, "num_episodes"),
        ({"name": "s", "simulations": {"a/x": {"env": "e", "max_time_s": float("nan")}}}, "max_time_s"),
        ({"name": "s", "simulations": {"a/x": {"env": "e", "policy_agents_pct": 0.5}}}, "needs npc_policy_uri"),
        ({"name": "s", "simulations": {"a/x": {"env": "e", "colour": 1}}}, "colour"),
        ({"name": "s", "simulations": {"a/x": "e"}}, "must be a mapping"),
    ],
)
def test_bad_suites_name_the_problem(data, match):
    with pytest.raises(ConfigError, match=match):
        resolve_suite(data)


def test_sim_job_composes_with_suite_and_db_under_run_dir():
    cfg = to_container(compose("sim_job", ["run=r1", "sim=sweep_eval", "sim.num_episodes=1"]))
    assert cfg["stats_db_uri"] == f"{cfg['data_dir']}/r1/stats.db"
    assert cfg["policy_uri"] == f"file://{cfg['data_dir']}/r1/checkpoints"
    suite = resolve_suite(cfg["sim"])
    assert suite.name == "sweep_eval" and suite.simulations[0].num_episodes == 1
