"""History: two refs (--ref A --ref B, A..B), --log PATH A..B, bare git dirs and METTA_LEGACY_REPO, on a throwaway
repository whose history is built here from the Hydra-era fixture tree."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT

TOOL = REPO_ROOT / "tools" / "config_diff.py"
FIXTURE = Path(__file__).parent / "fixtures" / "hydra_era" / "configs"
ENT = "trainer.hyperparameter_scheduler.ppo_ent_coef_schedule.initial_value"


def run_tool(*args, env_extra=None):
    env = {**os.environ, "METTA_NO_REEXEC": "1", **(env_extra or {})}
    env.pop("DATA_DIR", None)
    if not env_extra:
        env.pop("METTA_LEGACY_REPO", None)
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def git(repo, *args):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    out = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env)
    return out.stdout.strip()


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """c1 fixture; c2 docs only; c3 ent_coef 0.0021 -> 0.01 (reaches the schedule by interpolation);
    c4 train_job switches its trainer defaults to a file without schedules (trainer.yaml itself untouched);
    c5 an unrelated device change."""
    repo = tmp_path_factory.mktemp("hist") / "repo"
    shutil.copytree(FIXTURE, repo / "configs")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "c1 hydra-era tree")
    (repo / "NOTES.md").write_text("docs only\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "c2 docs")
    edit(repo / "configs" / "trainer" / "trainer.yaml", "ent_coef: 0.0021", "ent_coef: 0.01")
    git(repo, "commit", "-qam", "c3 raise entropy")
    text = (repo / "configs" / "trainer" / "trainer.yaml").read_text()
    start, end = text.index("hyperparameter_scheduler:"), text.index("prioritized_experience_replay")
    (repo / "configs" / "trainer" / "lean.yaml").write_text(text[:start] + text[end:])
    edit(repo / "configs" / "train_job.yaml", "trainer: trainer", "trainer: lean")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "c4 lean trainer defaults")
    edit(repo / "configs" / "common.yaml", "device: cuda", "device: cpu")
    git(repo, "commit", "-qam", "c5 device")
    shas = git(repo, "rev-list", "--reverse", "HEAD").split()
    bare = repo.parent / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True, capture_output=True)
    return repo, bare, shas


def test_log_finds_the_commit_that_dropped_the_schedules_through_defaults(history):
    repo, _, shas = history
    r = run_tool("--repo", repo, "--log", "trainer.hyperparameter_scheduler.learning_rate_schedule")
    assert r.returncode == 0, r.stderr
    assert "1 commits changed it" in r.stdout
    assert "c4 lean trainer defaults" in r.stdout and "c3 raise entropy" not in r.stdout
    assert '"type": "cosine"' in r.stdout and "-> <absent>" in r.stdout


def test_log_over_a_range_sees_a_change_that_comes_through_interpolation(history):
    repo, _, shas = history
    r = run_tool("--repo", repo, "--log", ENT, f"{shas[0]}..{shas[-1]}")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "c3 raise entropy" in r.stdout and "0.0021 -> 0.01" in r.stdout
    assert "c4 lean trainer defaults" in r.stdout and "0.01 -> <absent>" in r.stdout
    assert not any("c5 device" in line or "c2 docs" in line for line in lines)


def test_two_refs_compare_two_hydra_trees_and_a_range_means_the_same(history):
    repo, _, shas = history
    a = run_tool("--repo", repo, "--ref", shas[1], "--ref", shas[2], "--format", "json")
    b = run_tool("--repo", repo, "--ref", f"{shas[1]}..{shas[2]}", "--format", "json")
    assert a.returncode == 1, a.stderr
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    got = {d["path"]: (d["left"], d["right"], d["severity"]) for d in da["differences"]}
    assert got == {"trainer.ppo.ent_coef": (0.0021, 0.01, "critical"), ENT: (0.0021, 0.01, "critical")}
    assert da["differences"] == db["differences"]
    assert da["summary"].startswith("config_diff: 2 critical (change training), 0 major")


def test_a_bare_git_dir_works_as_repo_and_through_the_environment_variable(history):
    _, bare, shas = history
    r = run_tool("--repo", bare, "--ref", shas[2], "--ref", shas[3], "--format", "json")
    assert r.returncode == 1, r.stderr
    paths = {d["path"] for d in json.loads(r.stdout)["differences"]}
    assert {f"trainer.hyperparameter_scheduler.{s}" for s in ("learning_rate_schedule", "ppo_clip_schedule")} <= paths
    env = run_tool("--ref", f"{shas[2]}..{shas[3]}", "--format", "json", env_extra={"METTA_LEGACY_REPO": str(bare)})
    assert env.returncode == 1, env.stderr
    assert {d["path"] for d in json.loads(env.stdout)["differences"]} == paths


def test_a_ref_nowhere_says_how_to_give_the_legacy_repository():
    r = run_tool("--ref", "0123456789abcdef0123")
    assert r.returncode == 2
    assert "--repo PATH" in r.stderr and "METTA_LEGACY_REPO" in r.stderr
