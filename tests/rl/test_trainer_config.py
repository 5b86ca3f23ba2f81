import pytest
from pydantic import ValidationError

from metta.common.config import compose
from metta.common.errors import ConfigError
from metta.rl.trainer_config import (
    AgentConfig,
    TrainerConfig,
    TrainJobConfig,
    resolve_train_job,
)


def test_compose_train_job_with_overrides(tmp_path):
    cfg = compose(
        "train_job",
        [
            "run=abc",
            f"data_dir={tmp_path}",
            "trainer.optimizer.learning_rate=0.001",
            "agent=mlp",
            "seed=7",
            "++trainer.env_overrides.game.max_steps=50",
        ],
    )
    job = resolve_train_job(cfg)
    assert job.run == "abc"
    assert job.run_dir == f"{tmp_path}/abc"
    assert job.policy_uri == f"file://{tmp_path}/abc/checkpoints"
    assert job.trainer.optimizer.learning_rate == 0.001
    assert job.agent.name == "mlp" and job.agent.lstm_layers == 1
    assert job.system.seed == 7
    assert job.env.game.max_steps == 50
    assert job.hardware == "gpu"  # the composed default; tools/train.py picks cpu without a GPU


def test_hardware_cpu_profile_scales_sizes(tmp_path):
    job = resolve_train_job(compose("train_job", ["run=a", f"data_dir={tmp_path}", "hardware=cpu"]))
    assert job.hardware == "cpu"
    assert job.system.device == "cpu" and job.system.torch_threads == 1
    assert job.trainer.batch_size == 12288 and job.trainer.num_envs == 8
    # everything else keeps the Hydra-era values
    assert job.trainer.ppo.gae_lambda == 0.916 and job.trainer.optimizer.eps == 1e-12


def test_yaml_defaults_equal_python_defaults():
    cfg = compose("train_job", ["run=a"])
    from metta.common.config import to_container

    data = to_container(cfg)
    assert TrainerConfig.model_validate(data["trainer"]) == TrainerConfig()
    assert AgentConfig.model_validate(data["agent"]) == AgentConfig()


def test_hydra_era_values():
    t = TrainerConfig()
    o, ppo = t.optimizer, t.ppo
    assert (o.beta1, o.beta2, o.eps, o.learning_rate) == (0.9, 0.999, 1e-12, 0.000457)
    assert (ppo.clip_coef, ppo.ent_coef, ppo.gae_lambda, ppo.gamma, ppo.vf_coef) == (0.1, 0.0021, 0.916, 0.977, 0.44)
    assert (t.batch_size, t.minibatch_size, t.bptt_horizon, t.update_epochs) == (524288, 16384, 64, 1)
    assert t.total_timesteps == 10_000_000_000
    hs = t.hyperparameter_scheduler
    assert hs.learning_rate_schedule.type == "cosine" and hs.learning_rate_schedule.min_value == 0.00003
    assert hs.ppo_clip_schedule.type == "logarithmic" and hs.ppo_clip_schedule.decay_rate == 0.1


@pytest.mark.parametrize(
    "override, match",
    [
        ("trainer.minibatch_size=1000", "not divisible by minibatch_size 1000"),
        ("trainer.minibatch_size=32", "minibatch_size 32 is not divisible by bptt_horizon 64"),
        ("trainer.optimizer.learning_rate=-1", "trainer.optimizer.learning_rate"),
        ("trainer.ppo.gamma=1.5", "trainer.ppo.gamma"),
        ("trainer.checkpoint.checkpoint_interval=0", "checkpoint_interval"),
        ("trainer.batch_size=100", "minibatch_size 16384 > batch_size 100"),
        ("++trainer.bogus=1", "bogus"),
        ("system.device=tpu", "device 'tpu'"),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(tmp_path, override, match):
    cfg = compose("train_job", ["run=a", f"data_dir={tmp_path}", override])
    with pytest.raises(ConfigError, match=match):
        resolve_train_job(cfg)


def test_missing_run_is_a_config_error():
    with pytest.raises(ConfigError, match="run"):
        resolve_train_job(compose("train_job", []))


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ConfigError, match="unknown top-level train_job keys \\['colour'\\]"):
        resolve_train_job(compose("train_job", ["run=a", "+colour=red"]))


def test_round_trip_through_plain_data(tmp_path):
    job = resolve_train_job(compose("train_job", ["run=a", f"data_dir={tmp_path}", "hardware=cpu"]))
    again = TrainJobConfig.from_dict(job.to_dict())
    assert again == job
    with pytest.raises(ValidationError):
        job.trainer.batch_size = 3  # frozen
