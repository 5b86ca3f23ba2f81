"""The Hydra-era (upstream 724cde8) trees against ours, on the stand-in fixture tree (no upstream clone needed).

- the fixture resolves to the full key set measured on upstream train_job (fixtures/hydra_era_keys/);
- the mapping table has a mapping or a verdict for every key of upstream train_job, sim_job and sweep_job;
- fixture vs our recipe: no critical difference, and each major is a documented deliberate difference;
- seed 002's drift (schedules deleted, seed changed, reward cap changed, batch sizes changed) is critical.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metta.common.config import REPO_ROOT
from metta.config_diff.diff import canonicalize, one_sided_entry
from metta.config_diff.hydra_side import resolve_hydra, typed_view
from metta.config_diff.normalize import load_normalize_rules, normalize
from metta.config_diff.rules import load_mapping, load_rules
from metta.config_diff.tree import dotted, flatten, split

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "hydra_era" / "configs"
KEYS = HERE / "fixtures" / "hydra_era_keys"
TOOL = REPO_ROOT / "tools" / "config_diff.py"
TABLE, RULES, NORM = load_mapping(), load_rules(), load_normalize_rules()
OURS = {"train_job": [], "sim_job": [], "sweep_job": ["sweep_name=x", "sweep=full"]}
SCHEDULES = ["learning_rate_schedule", "ppo_clip_schedule", "ppo_ent_coef_schedule", "ppo_vf_clip_schedule"]


def run_tool(*args, cwd=REPO_ROOT):
    env = {**os.environ, "METTA_NO_REEXEC": "1"}
    env.pop("DATA_DIR", None)
    env.pop("METTA_LEGACY_REPO", None)
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def upstream_keys(job):
    return [k for k in (KEYS / f"{job}.txt").read_text().splitlines() if k and not k.startswith("#")]


def test_fixture_has_the_full_resolved_key_set_of_upstream_train_job():
    tree = resolve_hydra(FIXTURE, "train_job", ["run=config_diff"])
    assert sorted(dotted(p) for p in flatten(tree.data)) == sorted(upstream_keys("train_job"))
    env = tree.data["env"]["game"]
    assert env["agent"]["rewards"]["inventory"]["battery_red"] == 0.8 and env["map_builder"]["instances"] == 4


def _our_paths(job):
    tree = resolve_hydra(REPO_ROOT / "configs", job, ["run=x", *OURS[job]])
    if job == "train_job":  # what the trainer receives (every schema default filled in), like the recipe dump
        tree = typed_view(tree)
    flat, _ = canonicalize(flatten(tree.data), TABLE, job)
    flat, _ = normalize(flat, "ours", NORM)
    return {p[:i] for p in flat for i in range(1, len(p) + 1)}


def _covered(path, ours, job):
    return (
        path in ours
        or one_sided_entry(path, TABLE, job) is not None
        or any(r.jobs and job in r.jobs for r in [RULES.rule_of(dotted(path), job)] if r)
    )


@pytest.mark.parametrize("job", ["train_job", "sim_job", "sweep_job"])
def test_every_upstream_key_is_mapped_or_has_a_verdict(job):
    ours = _our_paths(job)
    if job == "train_job":  # with values: the normalisation rules apply (agent string, unplaced objects...)
        flat, _ = canonicalize(flatten(resolve_hydra(FIXTURE, job, ["run=x"]).data), TABLE, job)
        paths = list(normalize(flat, "legacy", NORM)[0])
        assert len(paths) > 150
    else:
        paths = [next(iter(canonicalize({split(k): None}, TABLE, job)[0])) for k in upstream_keys(job)]
    uncovered = sorted({dotted(p) for p in paths if not _covered(p, ours, job)})
    assert uncovered == [], f"{job}: keys with neither a mapping nor a verdict: {uncovered[:20]}"


def _json(result):
    assert result.returncode in (0, 1), result.stderr
    first, _, _ = result.stdout.partition("\n")
    payload = json.loads(result.stdout)
    return payload, {d["path"]: d for d in payload["differences"]}


def test_fixture_against_our_recipe_has_no_critical_and_only_documented_majors():
    r = run_tool(FIXTURE, "--format", "json")
    payload, diffs = _json(r)
    assert r.returncode == 0, r.stdout[-2000:]
    assert re.match(
        r"config_diff: 0 critical \(change training\), 3 major \(may change training\), \d+ cosmetic, "
        r"\d+ inert legacy knobs; \d+\.\ds$",
        payload["summary"],
    ), payload["summary"]
    majors = {p: d for p, d in diffs.items() if d["severity"] == "major"}
    assert set(majors) == {"trainer.num_envs", "trainer.hyperparameter_scheduler", "env.game.desync_episodes"}
    assert all(d["doc"] for d in majors.values())
    assert diffs["trainer.hyperparameter_scheduler"]["kind"] == "behaviour"
    # legacy-only knobs are inert with a reason, never unmapped
    assert diffs["trainer.kickstart"]["severity"] == "info" and "no teacher" in diffs["trainer.kickstart"]["why"]
    assert all(d["verdict"] or d["mapped"] for d in diffs.values() if d["kind"] in ("missing", "added"))
    text = run_tool(FIXTURE, "--show", "major")
    assert text.stdout.startswith("config_diff: 0 critical"), text.stdout[:300]


def _drift(root):
    """Seed 002's regression replayed on the Hydra-era side: every change below must be critical."""
    trainer = root / "trainer" / "trainer.yaml"
    text = trainer.read_text()
    start, end = text.index("hyperparameter_scheduler:"), text.index("prioritized_experience_replay")
    text = text[:start] + text[end:]  # schedules deleted
    text = text.replace("batch_size: 524288", "batch_size: 1024").replace(
        "minibatch_size: 16384", "minibatch_size: 512"
    )
    trainer.write_text(text)
    common = root / "common.yaml"
    common.write_text(common.read_text().replace("seed: 0", "seed: 1337"))
    shaped = root / "env" / "mettagrid" / "rewards" / "shaped.yaml"
    shaped.write_text(shaped.read_text().replace("battery_red_max: 1", "battery_red_max: 3"))


def test_seed_002_drift_on_the_fixture_is_critical(tmp_path):
    drifted = tmp_path / "configs"
    shutil.copytree(FIXTURE, drifted)
    _drift(drifted)
    r = run_tool(drifted, "--format", "json")
    assert r.returncode == 1, r.stderr
    _, diffs = _json(r)
    crit = {p for p, d in diffs.items() if d["severity"] == "critical"}
    expected = {f"trainer.hyperparameter_scheduler.{s}" for s in SCHEDULES}
    expected |= {
        "system.seed",
        "env.game.agent.rewards.inventory_max.battery_red",
        "trainer.batch_size",
        "trainer.minibatch_size",
    }
    assert crit == expected
    assert diffs["env.game.agent.rewards.inventory_max.battery_red"]["left_path"] == (
        "env.game.agent.rewards.inventory.battery_red_max"
    )
    assert (diffs["system.seed"]["left"], diffs["system.seed"]["right"]) == (1337, 0)
    assert all(diffs[f"trainer.hyperparameter_scheduler.{s}"]["kind"] == "added" for s in SCHEDULES)
