"""W&B-agent style arguments of tools/train.py: --key=value, SB3 aliases, policy_lr schedules, wandb.config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from metta.common.errors import ConfigError
from metta.tools.wandb_args import param_overrides, split_agent_args, sweep_config_params


def test_split_and_aliases() -> None:
    keep, params, sweep = split_agent_args(
        ["run=x", "--learning_rate=0.001", "--trainer.ppo.gamma=0.95", "--n_epochs=4", "--wandb_sweep", "--cfg", "job"]
    )
    assert keep == ["run=x", "--cfg", "job"] and sweep
    assert params == {"learning_rate": 0.001, "trainer.ppo.gamma": 0.95, "n_epochs": 4}
    assert param_overrides(params) == [
        "trainer.optimizer.learning_rate=0.001",
        "trainer.ppo.gamma=0.95",
        "trainer.update_epochs=4",
    ]
    assert param_overrides({"clip_range": 0.2, "batch_size": 64, "n_steps": 128}) == [
        "trainer.ppo.clip_coef=0.2",
        "trainer.minibatch_size=64",
    ]
    with pytest.raises(ConfigError, match="unknown parameter 'lr'"):
        param_overrides({"lr": 1})


def test_policy_lr_schedule_and_param_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, params, _ = split_agent_args(['--policy_lr={"start": 0.001, "end": 0.0}'])
    out = param_overrides(params)
    assert out[0] == "trainer.optimizer.learning_rate=0.001"
    assert "trainer.hyperparameter_scheduler.learning_rate_schedule.min_value=0.0" in out
    f = tmp_path / "config-defaults.yaml"
    f.write_text("gamma:\n  value: 0.9\n_wandb:\n  value: {}\n")
    monkeypatch.setenv("WANDB_SWEEP_PARAM_PATH", str(f))
    assert param_overrides(sweep_config_params()) == ["trainer.ppo.gamma=0.9"]
