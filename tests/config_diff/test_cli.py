"""./tools/config_diff.py as a real subprocess: exit codes, formats, errors, --ref, --explain."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT

TOOL = REPO_ROOT / "tools" / "config_diff.py"
LEGACY = Path(__file__).parent / "fixtures" / "legacy"


def run_tool(*args, cwd=REPO_ROOT, timeout=120):
    env = {**os.environ, "METTA_NO_REEXEC": "1"}
    env.pop("DATA_DIR", None)
    env.pop("METTA_LEGACY_REPO", None)
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def git(repo, *args):
    subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )


def test_identical_trees_report_nothing_and_exit_0():
    r = run_tool(LEGACY, LEGACY, "--fail-on", "info")
    assert r.returncode == 0, r.stderr
    assert "No differences." in r.stdout


def test_changed_tree_exit_1_json_and_markdown(tmp_path):
    other = tmp_path / "b"
    shutil.copytree(LEGACY, other)
    f = other / "configs" / "trainer" / "trainer.yaml"
    f.write_text(
        f.read_text()
        .replace("ent_coef: 0.0021", "ent_coef: 0.01")
        .replace("checkpoint_interval: 50", "checkpoint_interval: 10")
    )
    r = run_tool(LEGACY, other, "--format", "json")
    assert r.returncode == 1, r.stderr
    payload = json.loads(r.stdout)
    got = {d["path"]: (d["severity"], d["left"], d["right"]) for d in payload["differences"]}
    assert got == {
        "trainer.ppo.ent_coef": ("critical", 0.0021, 0.01),
        "trainer.checkpoint.checkpoint_interval": ("minor", 50, 10),
    }
    assert run_tool(LEGACY, other, "--fail-on", "never").returncode == 0
    md = run_tool(LEGACY, other, "--format", "md")
    assert "## loss functions" in md.stdout and "`trainer.ppo.ent_coef`" in md.stdout
    # the summary line leads every format
    assert md.stdout.startswith(
        "**config_diff: 1 critical (change training), 0 major (may change training), 1 cosmetic"
    )
    assert payload["summary"].startswith("config_diff: 1 critical (change training)")


def test_dump_files_on_either_side(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"seed": 1, "trainer": {"batch_size": 8}}))
    (tmp_path / "b.yaml").write_text("system:\n  seed: 1\ntrainer:\n  batch_size: 16\n")
    r = run_tool(tmp_path / "a.json", tmp_path / "b.yaml", "--format", "json")
    assert r.returncode == 1
    diffs = json.loads(r.stdout)["differences"]
    assert [(d["path"], d["kind"]) for d in diffs] == [("trainer.batch_size", "changed")]


def test_ref_takes_the_hydra_side_from_git_without_touching_the_work_tree(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(LEGACY, repo)
    git(repo, "init", "-q")
    git(repo, "add", "configs")
    git(repo, "commit", "-qm", "one")
    f = repo / "configs" / "trainer" / "trainer.yaml"
    f.write_text(f.read_text().replace("batch_size: 524288", "batch_size: 262144"))
    git(repo, "commit", "-qam", "two")
    before = f.read_text()
    r = run_tool("--repo", repo, "--ref", "HEAD~1", repo / "configs", "--format", "json")
    assert r.returncode == 1, r.stderr
    assert [d["path"] for d in json.loads(r.stdout)["differences"]] == ["trainer.batch_size"]
    assert f.read_text() == before
    assert (
        subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True).stdout == ""
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ref", "no_such_ref_123"], "METTA_LEGACY_REPO=PATH"),
        (["--recipe", "experiments.recipes.no_such_module.train"], "No module named"),
        (["--ref-recipe", "tests.config_diff.fixtures.raising_recipe.train", LEGACY, LEGACY], "not both"),
    ],
)
def test_usage_errors_exit_2(args, message):
    r = run_tool(*args)
    assert r.returncode == 2
    assert message in r.stderr


def test_config_that_does_not_compose_exits_2(tmp_path):
    (tmp_path / "train_job.yaml").write_text("defaults:\n  - trainer: nope\n")
    r = run_tool(tmp_path, LEGACY)
    assert r.returncode == 2 and "cannot compose" in r.stderr


def test_recipe_that_raises_exits_2():
    r = run_tool(LEGACY, "--recipe", "tests.config_diff.fixtures.raising_recipe.train")
    assert r.returncode == 2
    assert "raised RuntimeError: recipe exploded on purpose" in r.stderr


def test_explain_names_yaml_file_and_line():
    r = run_tool(LEGACY, LEGACY, "--explain", "trainer.optimizer.learning_rate", "--explain", "system.seed")
    assert r.returncode == 0, r.stderr
    assert "trainer/trainer.yaml:12: learning_rate: 0.000457" in r.stdout
    assert "path : seed (canonical system.seed)" in r.stdout and "common.yaml:1: seed: 0" in r.stdout


def test_explain_recipe_side_names_the_recipe_line_or_the_class_default():
    r = run_tool(
        "--explain",
        "trainer.ppo.clip_coef",
        "--explain",
        "trainer.hyperparameter_scheduler.learning_rate_schedule.decay_rate",
    )
    assert r.returncode == 0, r.stderr
    assert "trainer/trainer.yaml:" in r.stdout  # Hydra side: file and line
    assert "arena_basic_easy_shaped.py:" in r.stdout and "clip_coef=0.1" in r.stdout  # recipe side: its line
    assert "default of ScheduleConfig.decay_rate" in r.stdout
    assert "value: <absent>" in r.stdout  # the YAML leaves decay_rate unset for a cosine schedule
