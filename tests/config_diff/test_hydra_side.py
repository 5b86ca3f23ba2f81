"""Resolving Hydra trees (a legacy-style fixture) without running their code; --explain provenance."""

from pathlib import Path

import pytest

from metta.common.errors import ConfigError
from metta.config_diff.explain import hydra_origin
from metta.config_diff.hydra_side import resolve_hydra
from metta.config_diff.resolvers import NOW_MARKER

LEGACY = Path(__file__).parent / "fixtures" / "legacy"


def test_legacy_tree_resolves_with_safe_resolvers_and_strips_hydra_only_keys(monkeypatch):
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    monkeypatch.delenv("DATA_DIR", raising=False)
    tree = resolve_hydra(LEGACY)
    d = tree.data
    assert "hydra" not in d
    assert "_target_" not in d["trainer"] and "_target_" not in d["agent"]["components"]["_core_"]
    assert d["trainer"]["num_workers"] == 4  # ${int:${div:${trainer.num_cpus},2}}
    assert d["trainer"]["simulation"]["evaluate_interval"] == 300  # ${clamp:300,0,1000}
    assert d["trainer"]["simulation"]["skip_git_check"] is True  # ${if:${eq:${device},cpu},true,false}
    assert d["trainer"]["simulation"]["sample"] == 0.5  # ${sampling:0,1,0.5} -> centre
    assert d["started_at"] == NOW_MARKER
    assert d["wandb"]["entity"] == "<env:WANDB_ENTITY>"
    assert d["data_dir"] == "./train_dir"
    assert d["trainer"]["hyperparameter_scheduler"]["ppo_clip_schedule"]["initial_value"] == 0.1
    # a schedule class named only by _target_ becomes our `type:` field (mapping.yaml target_fields)
    assert d["trainer"]["hyperparameter_scheduler"]["learning_rate_schedule"]["type"] == "cosine"
    assert d["trainer"]["hyperparameter_scheduler"]["ppo_clip_schedule"]["type"] == "logarithmic"
    # the curriculum env is composed and placed under env
    assert d["env"]["game"]["agent"]["rewards"] == {"heart": 1, "ore_red": 0.1, "battery_red": 0.8, "laser": 0.5}
    # run is ??? so run_dir cannot resolve: kept as raw text with a note, not an abort
    assert d["run"] == "???"
    assert d["run_dir"].startswith("<unresolved ${data_dir}/${run}")
    assert any("run_dir" in n for n in tree.notes)


def test_resolvers_are_restored_after_resolution():
    from omegaconf import OmegaConf

    resolve_hydra(LEGACY)
    assert not OmegaConf.has_resolver("div")
    assert OmegaConf.has_resolver("oc.env")


def test_override_changes_value():
    tree = resolve_hydra(LEGACY, overrides=["run=abc", "trainer.ppo.clip_coef=0.3"])
    assert tree.data["run_dir"] == "./train_dir/abc"
    assert tree.data["trainer"]["ppo"]["clip_coef"] == 0.3


def test_missing_dir_or_config_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_hydra(tmp_path / "nope")
    with pytest.raises(ConfigError, match="train_job.yaml"):
        resolve_hydra(tmp_path)
    (tmp_path / "train_job.yaml").write_text("defaults:\n  - trainer: missing_option\n")
    with pytest.raises(ConfigError, match="cannot compose"):
        resolve_hydra(tmp_path)


def test_hydra_origin_names_file_and_line():
    cdir = LEGACY / "configs"
    assert hydra_origin(cdir, "train_job", [], "trainer.ppo.clip_coef") == "trainer/trainer.yaml:18: clip_coef: 0.1"
    assert hydra_origin(cdir, "train_job", [], "seed") == "common.yaml:1: seed: 0"
    assert hydra_origin(cdir, "train_job", ["trainer.ppo.clip_coef=0.2"], "trainer.ppo.clip_coef").startswith(
        "command-line override"
    )
    assert hydra_origin(cdir, "train_job", [], "trainer.nope") is None
