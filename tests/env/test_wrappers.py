"""Arena interop wrappers: PettingZoo's own API test, Gymnasium vector-env contract, PufferLib-style send/recv."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("pettingzoo")

from metta.common.config import REPO_ROOT
from metta.env import load_env_config


@pytest.fixture(scope="module")
def cfg():
    return load_env_config("arena/basic_easy_shaped", ["game.num_agents=6", "game.max_steps=30"])


def test_pettingzoo_parallel_api(cfg) -> None:
    from pettingzoo.test import parallel_api_test

    from metta.env.wrappers.pettingzoo_env import ArenaParallelEnv

    env = ArenaParallelEnv(cfg, seed=1)
    parallel_api_test(env, num_cycles=100)
    obs, _ = env.reset(seed=3)
    assert sorted(obs) == [f"agent_{i}" for i in range(6)]
    for t in range(30):  # noqa: B007 - t is checked after the loop; the step limit (at most 30 here) truncates every agent together
        *_, trunc, _ = env.step({a: 0 for a in env.agents})
        assert len(set(trunc.values())) == 1
        if all(trunc.values()):
            break
        assert env.agents
    assert all(trunc.values()) and env.agents == [] and t < 30


def test_gymnasium_vector_env(cfg) -> None:
    from metta.env.wrappers.gymnasium_env import ArenaVectorEnv

    env = ArenaVectorEnv(cfg, num_instances=2, seed=0)
    obs, _ = env.reset(seed=0)
    assert env.num_envs == 12 and obs in env.observation_space
    env.action_space.seed(0)
    ended = np.zeros(2, int)
    for _ in range(30):
        obs, rew, term, trunc, _ = env.step(env.action_space.sample())
        assert obs in env.observation_space and rew.shape == (12,) and not term.any()
        per_instance = trunc.reshape(2, 6)
        assert (per_instance.all(axis=1) == per_instance.any(axis=1)).all()  # an instance's agents end together
        ended += per_instance.all(axis=1)
    assert (ended >= 1).all()  # every instance reached its step limit (<= 30) once
    env.close()


def test_puffer_style_send_recv(cfg) -> None:
    from metta.env.wrappers.puffer_env import ArenaPufferEnv

    env = ArenaPufferEnv(cfg, num_instances=2, seed=0)
    assert env.num_agents == 12 and env.single_action_space.n > 1
    obs, _ = env.reset(seed=0)
    assert obs.shape == (12, *env.single_observation_space.shape)
    episodes = []
    for _ in range(30):
        env.send(np.zeros(12, dtype=np.int64))
        obs, rew, term, trunc, infos, ids, masks = env.recv()
        episodes += infos
    assert len(episodes) >= 2 and all(1 <= e["length"] <= 30 for e in episodes)
    assert (ids == np.arange(12)).all() and masks.all()


def test_wrappers_import_without_torch() -> None:
    code = (
        "import sys; import metta.env.wrappers.pettingzoo_env, metta.env.wrappers.gymnasium_env, "
        "metta.env.wrappers.puffer_env; assert 'torch' not in sys.modules, 'torch imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
