"""The compiled kernels equal the same code run as plain Python (NUMBA_DISABLE_JIT=1, a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from metta.common.config import REPO_ROOT
from metta.env import kernels

SCRIPT = """
import hashlib, sys
import numpy as np
from metta.env import VecEnv, load_env_config
cfg = load_env_config("arena/combat", ["game.max_steps=12", "game.num_agents=12"])
env = VecEnv(cfg, num_envs=2, seed=3)
h = hashlib.sha256(env.reset().tobytes())
rng = np.random.default_rng(1)
for i in range(20):
    if i == 2:
        env.set_inventory(0, 0, "laser", 3)
    obs, rew, done, infos = env.step(rng.integers(0, env.num_actions, env.total_agents))
    h.update(obs.tobytes()); h.update(rew.tobytes()); h.update(done.tobytes())
    for info in infos:
        h.update(repr((info.env_index, info.seed, info.steps, info.agent_returns.tolist(),
                       info.agent_stats, sorted(info.game_stats.items()))).encode())
print(h.hexdigest())
"""


def _digest(disable_jit: bool) -> str:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1" if disable_jit else "0")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed: only the Python path exists")
def test_compiled_equals_plain_python():
    fast = _digest(False)
    slow = _digest(True)
    assert len(fast) == 64 and fast == slow


def test_xorshift_matches_closed_form():
    state = np.array([2463534242], dtype=np.int64)
    x = 2463534242
    for _ in range(5):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        assert kernels.rng_next(state, 0) == x
    assert 0 < x < 2**32
    first = np.array([2463534242], dtype=np.int64)
    assert kernels.rng_next(first, 0) == 723471715  # Marsaglia (2003), xorshift32 with shifts 13/17/5
