"""The repository's two trees agree; a recipe that drifts the way seed 002 describes is caught exactly."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from metta.common.config import REPO_ROOT

TOOL = REPO_ROOT / "tools" / "config_diff.py"
RECIPE = "experiments/recipes/arena_basic_easy_shaped.py"
SCHEDULES = ["learning_rate_schedule", "ppo_clip_schedule", "ppo_ent_coef_schedule", "ppo_vf_clip_schedule"]


def run_tool(*args, cwd=REPO_ROOT):
    env = {**os.environ, "METTA_NO_REEXEC": "1"}
    env.pop("DATA_DIR", None)
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=180, env=env
    )


def critical(stdout):
    return {d["path"]: d for d in json.loads(stdout)["differences"] if d["severity"] == "critical"}


@pytest.mark.parametrize("hardware", ["gpu", "cpu"])
def test_repo_hydra_tree_and_recipe_agree(hardware):
    r = run_tool(
        "--override",
        "run=parity",
        f"--override=hardware={hardware}",
        "--recipe-arg",
        "run=parity",
        "--recipe-arg",
        f"hardware={hardware}",
        "--format",
        "json",
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert critical(r.stdout) == {}
    paths = {d["path"] for d in json.loads(r.stdout)["differences"]}
    # the settings that matter are present on both sides (nothing silently unmapped)
    assert not {p for p in paths if p.startswith(("trainer.ppo", "trainer.optimizer", "system", "agent"))}


@pytest.mark.parametrize("hardware", ["gpu", "cpu"])
def test_typed_views_are_identical(hardware):
    """Through resolve_train_job the Hydra job equals the recipe's TrainTool field for field (run name aside)."""
    r = run_tool(
        "--typed", f"--override=hardware={hardware}", "--recipe-arg", f"hardware={hardware}", "--fail-on", "info"
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "No differences." in r.stdout


def _git(repo, *args):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def _drift(text):
    """The seed-002 regression: schedules dropped, seed randomised, one shaped reward changed."""
    text, n = re.subn(r"(\w+_schedule)=ScheduleConfig\([^)]*\)", r"\1=None", text)
    assert n == 4
    text = text.replace("SystemConfig(seed=0,", "SystemConfig(seed=random.randint(1, 2**31 - 2),", 1)
    text = text.replace('"battery_red": 0.8', '"battery_red": 0.9', 1)
    return text.replace("import os\n", "import os\nimport random\n", 1)


def test_drifted_recipe_in_a_throwaway_repo_reports_exactly_those_as_critical(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "configs", repo / "configs")
    (repo / "experiments" / "recipes").mkdir(parents=True)
    for name in ("experiments/__init__.py", "experiments/recipes/__init__.py", RECIPE):
        shutil.copy(REPO_ROOT / name, repo / name)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "trees agree")
    # sanity: the copied trees agree at HEAD
    same = run_tool(
        "--repo", repo, "--ref", "HEAD", "--override", "run=r", "--recipe-arg", "run=r", "--format", "json", cwd=repo
    )
    assert same.returncode == 0, same.stderr
    recipe = repo / RECIPE
    recipe.write_text(_drift(recipe.read_text()))
    _git(repo, "commit", "-qam", "dehydrate")
    r = run_tool(
        "--repo", repo, "--ref", "HEAD", "--override", "run=r", "--recipe-arg", "run=r", "--format", "json", cwd=repo
    )
    assert r.returncode == 1, r.stderr
    crit = critical(r.stdout)
    expected = {f"trainer.hyperparameter_scheduler.{s}" for s in SCHEDULES}
    expected |= {"system.seed", "env.game.agent.rewards.inventory.battery_red"}
    assert set(crit) == expected
    assert crit["env.game.agent.rewards.inventory.battery_red"]["left"] == 0.8
    assert crit["env.game.agent.rewards.inventory.battery_red"]["right"] == 0.9
    assert crit["system.seed"]["left"] == 0 and crit["system.seed"]["right"] != 0
    assert all(crit[p]["right"] is None for p in expected if "scheduler" in p)
    # the text report groups them by subsystem
    text = run_tool("--repo", repo, "--ref", "HEAD", "--override", "run=r", "--recipe-arg", "run=r", cwd=repo)
    assert "== schedules (4) ==" in text.stdout and "== random seeding" in text.stdout
