"""SweepTool: trials are built from the factory + overrides + suggestion and trained in a child; real SQLite store."""

import json
import sys
from pathlib import Path

from experiments.recipes.arena_basic_easy_shaped import train as arena_train
from metta.sweep.optim.config import ParameterConfig, ProteinConfig
from metta.sweep.store import open_store
from metta.sweep.sweep_config import SweepSettings
from metta.sweep.trial import EvalOutcome
from metta.tools.sweep import SweepConfig, SweepTool, ToolDispatcher
from metta.tools.train import from_json

# A stand-in for `tools/run.py metta.tools.train.from_json --args path=...`: loads the trial's TrainTool config,
# fails when clip_coef > 0.25 (a crashing trial), otherwise writes a checkpoint and train_result.json.
FAKE_TRAIN = """
import json, sys
from pathlib import Path
cfg = json.loads(Path(sys.argv[1].split("=", 1)[1]).read_text())
run_dir = Path(cfg["run_dir"])
if cfg["trainer"]["ppo"]["clip_coef"] > 0.25:
    print("boom: clip too large"); sys.exit(3)
(run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
(run_dir / "checkpoints" / "model_0001.pt").write_bytes(b"x")
(run_dir / "train_result.json").write_text(json.dumps({"status": "success", "agent_steps": 1, "epochs": 1,
    "wall_time_s": 0.1, "final_checkpoint": None, "error": None}))
"""


class TrialScore:
    """Evaluator stand-in: the score is a closed-form function of the trial's learning rate."""

    def evaluate(self, run_dir: Path, timeout_s: float) -> EvalOutcome:
        cfg = json.loads((run_dir / "train_tool.json").read_text())
        lr = cfg["trainer"]["optimizer"]["learning_rate"]
        return EvalOutcome(score=-abs(lr - 1e-3), wall_s=0.01)


def make_tool(tmp_path, num_trials=4):
    protein = ProteinConfig(
        metric="sweep_eval",
        parameters={
            "trainer": {
                "optimizer": {
                    "learning_rate": ParameterConfig(
                        min=1e-4, max=1e-2, mean=1e-3, distribution="log_normal", scale="auto"
                    )
                },
                "ppo": {
                    "clip_coef": ParameterConfig(min=0.05, max=0.3, mean=0.1, distribution="uniform", scale="auto")
                },
            }
        },
        settings={"num_random_samples": 2},
    )
    settings = SweepSettings(sweep_server_uri=str(tmp_path / "sweeps.db"), rollout_retry_delay=0, heartbeat_interval=60)
    return SweepTool(
        sweep_name="t",
        sweep=SweepConfig(
            num_trials=num_trials, protein=protein, train_overrides={"trainer.total_timesteps": 1234}, settings=settings
        ),
        data_dir=str(tmp_path / "data"),
        train_tool_factory=lambda run: arena_train(run=run, hardware="cpu"),
    )


def test_sweep_tool_runs_trials_through_the_store(tmp_path):
    tool = make_tool(tmp_path)
    script = tmp_path / "fake_train.py"
    script.write_text(FAKE_TRAIN)
    dispatcher = ToolDispatcher(
        tool.train_tool_factory, tool.sweep.train_overrides, command=[sys.executable, str(script)]
    )
    summary = tool.build_loop(dispatcher=dispatcher, evaluator=TrialScore(), log=lambda s: None).run()
    assert len(summary.trials) == 4
    obs = open_store(str(tmp_path / "sweeps.db")).load_observations("t")
    launched = [o for o in obs if o.run_id]
    assert len(launched) == 4
    for o in launched:
        run_dir = tmp_path / "data" / "sweep" / "t" / "runs" / o.run_id
        trial = from_json(str(run_dir / "train_tool.json"))
        # factory -> sweep defaults -> train_overrides -> suggestion, all applied and type-checked
        assert trial.run == o.run_id and trial.run_dir == str(run_dir)
        assert trial.trainer.total_timesteps == 1234
        assert trial.trainer.simulation.evaluate_interval == 0 and trial.wandb.mode == "disabled"
        assert trial.trainer.optimizer.learning_rate == o.suggestion["trainer"]["optimizer"]["learning_rate"]
        assert trial.trainer.batch_size == 12288  # the factory's cpu sizing is kept
        clip = o.suggestion["trainer"]["ppo"]["clip_coef"]
        if clip > 0.25:
            assert o.is_failure and o.objective is None
        else:
            assert not o.is_failure
            assert abs(o.objective + abs(trial.trainer.optimizer.learning_rate - 1e-3)) < 1e-12


def test_invalid_trial_override_is_a_recorded_failure_not_a_crash(tmp_path):
    tool = make_tool(tmp_path)
    from metta.sweep.dispatch import TrainRequest

    d = ToolDispatcher(tool.train_tool_factory, {"trainer.nope": 1}, command=[sys.executable, "-c", "pass"])
    out = d.train(TrainRequest("t.r1", tmp_path / "r1", ("run=t.r1",), tmp_path / "r1" / "log"))
    assert not out.ok and "trainer.nope" in out.reason


def test_sweep_arena_recipe_builds():
    from experiments.sweep_arena import sweep_optimizer

    tool = sweep_optimizer("s", num_trials=3, hardware="cpu")
    assert tool.sweep.num_trials == 3
    assert set(tool.sweep.protein.flat_parameters()) == {
        "trainer.optimizer.learning_rate",
        "trainer.ppo.clip_coef",
        "trainer.ppo.ent_coef",
        "trainer.ppo.gae_lambda",
    }
    assert tool.base_tool().trainer.total_timesteps == 98304


def test_sweep_arena_default_hardware_is_auto_and_picks_the_cpu_budget_without_cuda(monkeypatch):
    from experiments.sweep_arena import sweep_optimizer

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no CUDA device visible: auto must choose the CPU sizing
    tool = sweep_optimizer("s", num_trials=3)
    assert tool.base_tool().trainer.total_timesteps == 98304


def test_unknown_or_out_of_bounds_parameter_is_rejected_before_any_trial(tmp_path):
    import pytest

    from metta.common.errors import ConfigError

    tool = make_tool(tmp_path)
    bad = ProteinConfig(
        metric="m",
        parameters={"trainer": {"ppo": {"clip_cof": ParameterConfig(min=0.05, max=0.3, distribution="uniform")}}},
    )
    with pytest.raises(ConfigError, match="trainer.ppo.clip_cof.*valid keys: clip_coef"):
        tool.model_copy(update={"sweep": tool.sweep.model_copy(update={"protein": bad})}).build_loop()
    too_big = ProteinConfig(
        metric="m",
        parameters={"trainer": {"ppo": {"gamma": ParameterConfig(min=0.9, max=1.5, distribution="uniform")}}},
    )
    with pytest.raises(ConfigError, match="trainer.ppo.gamma"):
        tool.model_copy(update={"sweep": tool.sweep.model_copy(update={"protein": too_big})}).build_loop()
    assert not (tmp_path / "sweeps.db").exists()  # nothing was started


def test_seed_003_override_of_protein_settings(capsys):
    from metta.tools.runner import main

    assert (
        main(
            [
                "experiments.sweep_arena.sweep_optimizer",
                "--args",
                "sweep_name=my_sweep",
                "num_trials=50",
                "--overrides",
                "sweep.protein.settings.num_random_samples=100",
                "--dry-run",
            ]
        )
        == 0
    )
    import yaml

    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["sweep"]["protein"]["settings"]["num_random_samples"] == 100 and cfg["sweep"]["num_trials"] == 50
    assert "train_tool_factory" not in cfg
