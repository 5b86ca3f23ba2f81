import pytest

from metta.common.config import CONFIGS_DIR, compose, to_container
from metta.common.errors import ConfigError, MettaError


def test_compose_train_job_with_overrides_resolves_interpolations():
    cfg = compose("train_job", ["run=abc", "data_dir=/tmp/dd", "trainer.ppo.clip_coef=0.25"])
    data = to_container(cfg)
    assert data["run_dir"] == "/tmp/dd/abc"
    assert data["trainer"]["ppo"]["clip_coef"] == 0.25


def test_compose_unknown_key_names_it():
    with pytest.raises(ConfigError) as err:
        compose("train_job", ["run=abc", "trainer.no_such_key=1"])
    assert "no_such_key" in str(err.value)
    assert isinstance(err.value, MettaError)


def test_compose_missing_config_dir_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        compose("train_job", config_dir=tmp_path / "nope")


def test_configs_dir_is_the_repo_tree():
    assert (CONFIGS_DIR / "train_job.yaml").is_file()
