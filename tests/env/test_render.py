"""ASCII rendering of snapshots and the ``python -m metta.env`` demo."""

from __future__ import annotations

import subprocess
import sys

from metta.common.config import REPO_ROOT
from metta.env import VecEnv
from metta.env.render import render_ascii
from tests.env.util import layout_cfg, run


def test_render_ascii_shows_objects_agents_orientation_and_frozen():
    env = VecEnv(layout_cfg(["#####", "#mA_#", "#bA.#", "#####"]), num_envs=1, seed=0)
    env.reset()
    env.set_inventory(0, 0, "laser", 1)
    run(env, [["rotate_1", "rotate_3"], ["attack_0", "noop_0"]])
    assert render_ascii(env.snapshot(0), env.tables).splitlines() == ["#####", "#mv_#", "#b*.#", "#####"]


def test_demo_module_runs():
    out = subprocess.run(
        [sys.executable, "-m", "metta.env", "arena/combat", "--steps", "20", "--envs", "2", "game.max_steps=10"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "arena/combat: 2 envs x 24 agents, 20 steps" in out.stdout
    assert "episodes finished: 4" in out.stdout
