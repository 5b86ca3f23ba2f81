"""sweep_job.yaml composes and resolves; bad sweep configs fail before any trial, naming the parameter."""

from __future__ import annotations

import pytest

from metta.common.config import compose
from metta.common.errors import ConfigError, OptimizerError
from metta.common.overrides import hydra_value, to_overrides
from metta.sweep.sweep_config import check_parameter_paths, resolve_sweep_job
from metta.sweep.trial import check_constraints


def test_quick_resolves_with_documented_defaults() -> None:
    job = resolve_sweep_job(compose("sweep_job", ["sweep_name=q"]))
    s = job.settings
    assert (s.max_consecutive_failures, s.rollout_retry_delay, s.max_observations_to_load) == (0, 5, 250)
    assert s.sweep_server_uri.endswith("sweep/sweeps.db") and job.num_trials == 8 and job.sim_name == "sweep_eval"
    assert resolve_sweep_job(compose("sweep_job", ["sweep_name=q", "num_trials=0"])).num_trials == 0
    assert resolve_sweep_job(compose("sweep_job", ["sweep_name=q", "sweep=full"])).num_trials == 0
    assert job.sweep_dir.endswith("sweep/q")
    tr = job.train_overrides()
    assert tr["trainer"]["total_timesteps"] == 393216 and tr["trainer"]["simulation"]["evaluate_interval"] == 0
    assert job.wandb.mode == "disabled"
    assert tr["agent"]["name"] == "mlp"  # the demo's agent: hyperparameters matter within its budget


def test_missing_sweep_name_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="sweep_name"):
        resolve_sweep_job(compose("sweep_job", []))


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("sweep.parameters.trainer.ppo.ent_coef.min=0.5", "ent_coef.*min=0.5 > max"),
        ("sweep.parameters.trainer.optimizer.learning_rate.min=0", "learning_rate.*min > 0"),
        ("sweep.parameters.trainer.ppo.ent_coef.distribution=gaussian", "ent_coef"),
        ("sweep.parameters.trainer.ppo.ent_coef.mean=0.9", "ent_coef.*outside"),
    ],
)
def test_bad_parameters_fail_naming_the_parameter(override: str, match: str) -> None:
    with pytest.raises((ConfigError, OptimizerError), match=match):
        resolve_sweep_job(compose("sweep_job", ["sweep_name=q", override]))


def test_unknown_parameter_path_fails_against_trainer_tree() -> None:
    job = resolve_sweep_job(
        compose(
            "sweep_job", ["sweep_name=q", "+sweep.parameters.trainer.ppo.gamam={distribution:uniform,min:0.9,max:0.99}"]
        )
    )
    tree = {
        "trainer": {
            "ppo": {"gamma": 0.9, "clip_coef": 0.1, "ent_coef": 0.0, "gae_lambda": 0.9},
            "optimizer": {"learning_rate": 0.001},
        }
    }
    with pytest.raises(ConfigError, match=r"'trainer\.ppo\.gamam'.*does not exist"):
        check_parameter_paths(job.sweep.all_configs(), tree)
    good = resolve_sweep_job(compose("sweep_job", ["sweep_name=q"]))
    check_parameter_paths(good.sweep.all_configs(), tree)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="max_observations_to_load"):
        resolve_sweep_job(compose("sweep_job", ["sweep_name=q", "settings.max_observations_to_load=0"]))
    with pytest.raises(ConfigError, match="max_consecutive_failures"):
        resolve_sweep_job(compose("sweep_job", ["sweep_name=q", "settings.max_consecutive_failures=-1"]))


def test_constraints() -> None:
    assert check_constraints({"batch_size": 1024, "minibatch_size": 256, "bptt_horizon": 64}) is None
    assert "not divisible by minibatch_size=384" in check_constraints(
        {"batch_size": 1024, "minibatch_size": 384, "bptt_horizon": 64}
    )
    assert "minibatch_size=256 is not divisible by bptt_horizon=48" in check_constraints(
        {"batch_size": 1024, "minibatch_size": 256, "bptt_horizon": 48}
    )


def test_override_formatting_round_trips_through_hydra() -> None:
    assert hydra_value(1e-05) == "1e-05" and hydra_value(True) == "true" and hydra_value(None) == "null"
    assert hydra_value("true") == "'true'" and hydra_value("/env/mettagrid/arena/basic") == "/env/mettagrid/arena/basic"
    tree = {
        "trainer": {
            "optimizer": {"learning_rate": 1.234e-05},
            "batch_size": 2048,
            "curriculum": "/env/mettagrid/arena/combat",
        },
        "wandb": {"mode": "disabled"},
    }
    cfg = compose("train_job", ["run=x", "hardware=cpu", *to_overrides(tree)])
    assert cfg.trainer.optimizer.learning_rate == pytest.approx(1.234e-05)
    assert cfg.trainer.batch_size == 2048 and cfg.trainer.curriculum == "/env/mettagrid/arena/combat"
    assert cfg.wandb.mode == "disabled"


def test_as_registered_reads_the_stored_space_and_budget_and_falls_back_to_the_composed_job(tmp_path) -> None:
    from metta.sweep.sweep_config import as_registered

    job = resolve_sweep_job(
        compose("sweep_job", ["sweep_name=a", f"data_dir={tmp_path}", "+sweep_job_overrides.trainer.max_epochs=3"])
    )
    clip = resolve_sweep_job(compose("sweep_job", ["sweep_name=a", "sweep=quick_clip", f"data_dir={tmp_path}"]))
    stored = {"config": clip.sweep.protein_for(0)[1].to_dict(), "train_overrides": {"trainer": {"total_timesteps": 7}}}
    config, train = as_registered(job, stored)
    assert sorted(config.flat_parameters()) == ["trainer.optimizer.learning_rate", "trainer.ppo.clip_coef"]
    assert train["trainer"]["total_timesteps"] == 7 and train["trainer"]["max_epochs"] == 3  # overrides given now win
    config, train = as_registered(job, {})  # registered before these were stored
    assert "trainer.ppo.ent_coef" in config.flat_parameters() and train == job.train_overrides()
    with pytest.raises(ConfigError, match="stored config is unreadable"):
        as_registered(job, {"config": {"parameters": {"x": {"distribution": "nope"}}}})


def test_quick_clip_differs_from_quick_only_in_its_search_space(tmp_path) -> None:
    # quick_clip.yaml is self-contained (tools/wandb_sweep.py reads sweep files as they are, without Hydra's defaults
    # list), so it repeats quick.yaml's budget and Protein settings; this keeps the two from drifting apart
    quick, clip = (
        resolve_sweep_job(compose("sweep_job", ["sweep_name=a", f"sweep={name}", f"data_dir={tmp_path}"]))
        for name in ("quick", "quick_clip")
    )
    assert clip.sweep.train_overrides == quick.sweep.train_overrides and clip.num_trials == quick.num_trials
    base_q, base_c = (dict(job.sweep.base) for job in (quick, clip))
    assert base_q.pop("parameters") != base_c.pop("parameters") and base_q == base_c
