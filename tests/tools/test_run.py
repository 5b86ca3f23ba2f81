"""./tools/run.py: argument binding, overrides, --dry-run, errors (real subprocesses) and TrainTool paths."""

import os
import subprocess
import sys

import pytest
import yaml

from metta.common.config import REPO_ROOT
from metta.common.errors import ConfigError
from metta.tools.runner import bind_args, build_tool, main

RUN = REPO_ROOT / "tools" / "run.py"
TRAIN = "experiments.recipes.arena_basic_easy_shaped.train"


def run_py(*args):
    env = {**os.environ, "METTA_NO_REEXEC": "1"}
    env.pop("DATA_DIR", None)
    return subprocess.run(
        [sys.executable, str(RUN), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env
    )


def test_seed_command_dry_run_prints_final_config():
    r = run_py(
        TRAIN,
        "--args",
        "run=validation_seed_42",
        "--overrides",
        "system.seed=42",
        "system.torch_deterministic=true",
        "--dry-run",
    )
    assert r.returncode == 0, r.stderr
    cfg = yaml.safe_load(r.stdout)
    assert cfg["tool"] == "TrainTool"
    assert cfg["system"]["seed"] == 42 and cfg["system"]["torch_deterministic"] is True
    assert cfg["run"] == "validation_seed_42"
    assert cfg["run_dir"] == "./train_dir/validation_seed_42"
    assert cfg["trainer"]["hyperparameter_scheduler"]["learning_rate_schedule"]["type"] == "cosine"
    assert cfg["env"]["game"]["agent"]["rewards"]["inventory"]["battery_red"] == 0.8


@pytest.mark.parametrize(
    "args, message",
    [
        (["--args", "run=x", "bogus=1"], "unknown argument 'bogus' for train; valid arguments: run, hardware='auto'"),
        (
            ["--args", "run=x", "--overrides", "trainer.ppo.clip_cof=0.2"],
            "unknown override path 'trainer.ppo.clip_cof': trainer.ppo has no key 'clip_cof'",
        ),
        (["--args", "run=x", "--overrides", "system.seed=abc"], "system.seed"),
        (["--args", "run=x", "--overrides", "trainer.ppo.gamma=2"], "trainer.ppo.gamma"),
        (["--args", "run=x", "--overrides", "noequals"], "key=value"),
        ([], "needs argument(s) ['run']"),
    ],
)
def test_errors_exit_2_and_name_the_problem(args, message, capsys):
    assert main([TRAIN, *args, "--dry-run"]) == 2  # in-process: the same code path as the script, faster
    assert message in capsys.readouterr().err


def test_error_exit_code_through_the_script():
    r = run_py(TRAIN, "--args", "run=x", "--overrides", "trainer.ppo.clip_cof=0.2", "--dry-run")
    assert r.returncode == 2 and "trainer.ppo has no key 'clip_cof'" in r.stderr


def test_unknown_function_lists_the_module_functions(capsys):
    assert main(["experiments.recipes.arena_basic_easy_shaped.trian", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "no function 'trian'" in err and "train" in err and "evaluate_in_sweep" in err


def test_bind_args_converts_to_annotated_types():
    def f(name: str, n: int = 1, x: float = 0.5, on: bool = False):
        return name, n, x, on

    assert bind_args(f, ["name=042", "n=3", "x=1e-3", "on=true"]) == {"name": "042", "n": 3, "x": 0.001, "on": True}
    with pytest.raises(ConfigError, match="n='three' does not fit"):
        bind_args(f, ["name=a", "n=three"])


def test_run_dir_follows_run_and_data_dir_overrides_unless_set():
    tool, _ = build_tool(TRAIN, ["run=a"], ["run=b", "data_dir=/data"])
    assert (tool.run_dir, tool.policy_uri) == ("/data/b", "file:///data/b/checkpoints")
    tool, _ = build_tool(TRAIN, ["run=a"], ["run_dir=/x/y", "run=c"])
    assert tool.run_dir == "/x/y" and tool.policy_uri == "file:///x/y/checkpoints"


def test_cpu_profile_and_job_round_trip():
    tool, _ = build_tool(TRAIN, ["run=a", "hardware=cpu"], ["trainer.total_timesteps=1000"])
    job = tool.job()
    assert job.trainer.batch_size == 12288 and job.system.device == "cpu" and job.trainer.total_timesteps == 1000
    assert job.env.game.agent.rewards.inventory["battery_red"] == 0.8


def _unset_fields(model, prefix=""):
    from pydantic import BaseModel

    out = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if name not in model.model_fields_set:
            out.append(path)
        if isinstance(value, BaseModel):
            out.extend(_unset_fields(value, f"{path}."))
    return out


@pytest.mark.parametrize("hardware", ["gpu", "cpu"])
def test_recipe_sets_every_training_value_explicitly(hardware):
    """Seed 002's lesson: no trainer/agent/system/wandb value of the recipe may come from a class default."""
    from experiments.recipes.arena_basic_easy_shaped import train

    tool = train(run="x", hardware=hardware)
    unset = [
        p for block in ("trainer", "agent", "system", "wandb") for p in _unset_fields(getattr(tool, block), f"{block}.")
    ]
    # decay_rate only shapes exponential/logarithmic schedules; the YAML leaves it unset for cosine/linear too
    hs = tool.trainer.hyperparameter_scheduler
    unset = [
        p
        for p in unset
        if not (p.endswith(".decay_rate") and getattr(hs, p.split(".")[2]).type in ("cosine", "linear", "constant"))
    ]
    assert unset == [], f"set these explicitly in experiments/recipes/arena_basic_easy_shaped.py: {unset}"
