"""Sweep experiment: Protein over PPO coefficients of the arena recipe, via SweepTool.

    ./tools/run.py experiments.sweep_arena.sweep_optimizer --args sweep_name=my_arena_sweep num_trials=20
    ./tools/run.py experiments.sweep_arena.sweep_optimizer --args sweep_name=s num_trials=3 hardware=cpu \\
        --overrides sweep.protein.settings.num_random_samples=2

Results share the store of ./tools/sweep_execute.py (<data_dir>/sweep/sweeps.db), so
./tools/get_best_params_from_sweep.py sweep_name=<name> works on these sweeps too.
"""

from __future__ import annotations

from experiments.recipes.arena_basic_easy_shaped import train as arena_train
from metta.common.device import resolve_hardware
from metta.sweep import ParameterConfig, ProteinConfig
from metta.tools.sweep import SweepConfig, SweepTool
from metta.tools.train import TrainTool

# A trial's budget on hardware=cpu: 8 epochs of 12288 agent-steps (about a minute on 2 cores).
CPU_BUDGET = {"trainer.total_timesteps": 98304, "trainer.checkpoint.checkpoint_interval": 1000}


def sweep_optimizer(sweep_name: str, num_trials: int = 10, hardware: str = "auto") -> SweepTool:
    """Sweep learning rate, clip, entropy and GAE lambda (centred on the recipe's values) with Protein.

    ``hardware=auto`` picks the GPU sizing when a CUDA device is present, else the CPU sizing with its short trial
    budget, so the command runs to completion on a CPU machine; ``hardware=gpu`` forces the full-size trials.
    """
    hardware = resolve_hardware(hardware)
    protein = ProteinConfig(
        metric="sweep_eval",
        goal="maximize",
        method="bayes",
        parameters={
            "trainer": {
                "optimizer": {
                    "learning_rate": ParameterConfig(
                        min=1e-5, max=1e-2, mean=4.57e-4, distribution="log_normal", scale="auto"
                    ),
                },
                "ppo": {
                    "clip_coef": ParameterConfig(min=0.05, max=0.3, mean=0.1, distribution="uniform", scale="auto"),
                    "ent_coef": ParameterConfig(
                        min=1e-4, max=1e-2, mean=2.1e-3, distribution="log_normal", scale="auto"
                    ),
                    "gae_lambda": ParameterConfig(
                        min=0.8, max=0.99, mean=0.916, distribution="logit_normal", scale="auto"
                    ),
                },
            }
        },
    )

    def train_factory(run_name: str) -> TrainTool:
        return arena_train(run=run_name, hardware=hardware)

    return SweepTool(
        sweep_name=sweep_name,
        sweep=SweepConfig(
            num_trials=num_trials,
            protein=protein,
            sim_name="sweep_eval",
            train_overrides=CPU_BUDGET if hardware == "cpu" else {},
        ),
        train_tool_factory=train_factory,
    )
