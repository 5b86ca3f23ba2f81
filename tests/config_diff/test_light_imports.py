"""config_diff's speed rests on what its two processes import: neither the recipes nor DeepDiff may load torch,
scipy's optimizers or pandas (each costs a second or more on two cores). Checked in fresh interpreters."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "scipy.optimize", "pandas")  # numba imports the bare scipy package (13 ms) for its version


def _loaded_after(code: str) -> dict[str, bool]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "module",
    ["experiments.recipes.arena_basic_easy_shaped", "experiments.sweep_arena", "metta.tools.sweep"],
)
def test_recipe_modules_build_tools_without_torch_scipy_or_pandas(module):
    assert _loaded_after(f"import {module}") == {m: False for m in HEAVY}


def test_deepdiff_warm_up_leaves_pandas_unloaded_and_importable():
    loaded = _loaded_after(
        "from metta.config_diff.engine import warm_up, structural_diff\n"
        "from metta.config_diff.rules import load_rules\n"
        "warm_up()\n"
        "assert [d.path for d in structural_diff({'a': 1}, {'a': 2}, load_rules())] == [('a',)]\n"
        "import sys\n"
        "assert 'pandas' not in sys.modules  # hidden only while deepdiff was imported, not left as None"
    )
    assert loaded == {m: False for m in HEAVY}


def test_policy_factory_still_builds_both_agents():
    from metta.agent.config import AgentConfig
    from metta.agent.factory import make_policy

    for name in ("fast", "mlp"):
        policy = make_policy(AgentConfig(name=name), num_actions=9, seed=3)
        assert sum(p.numel() for p in policy.parameters()) > 1000
