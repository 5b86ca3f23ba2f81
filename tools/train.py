#!/usr/bin/env python3
"""Train a policy: ``./tools/train.py run=<name> [overrides]`` (Hydra; composes configs/train_job.yaml).

- Without a ``hardware=`` override (or with ``hardware=auto``) the profile follows the shared rule of
  :func:`metta.common.device.resolve_hardware`: ``hardware=cpu`` when no CUDA device is present, ``hardware=gpu``
  otherwise. The effective values are printed at start and stored in ``<run_dir>/config.json``.
- ``--cfg job`` prints the (resolved) composed config and exits.
- Writes ``<run_dir>/train_result.json`` (status, agent_steps, epochs, wall_time_s, final_checkpoint, error) and
  exits 0 on success, 1 on a training failure, 2 on a configuration error, 130 when interrupted.
- Nothing is written to ``outputs/``: Hydra's run dir is the current directory and its own files are disabled.
- W&B-agent style parameters work beside Hydra overrides: ``--trainer.ppo.gamma=0.99``, SB3 names such as
  ``--learning_rate=3e-4 --n_steps=128 --clip_range=0.2`` (metta.tools.wandb_args.ALIASES); with ``wandb_sweep=true``
  / ``--wandb_sweep`` or under ``wandb agent`` (``WANDB_SWEEP_ID`` set) the parameters come from ``wandb.config``.
- The last output line is the run summary as one JSON object (what a sweep reads its metric from).
"""

import os
import signal
import sys
from pathlib import Path

import _bootstrap  # noqa: F401  (re-exec into the repo .venv; must stay first)
import hydra

from metta.common.config import CONFIGS_DIR, to_container
from metta.common.device import resolve_hardware

EXIT_CODE = 0
N_STEPS: int | None = None  # SB3-style n_steps: rollout steps per environment, applied once the config is composed


def _has_override(argv: list[str], key: str) -> bool:
    return any(a.lstrip("+").split("=", 1)[0] == key for a in argv)


def prepare_argv(argv: list[str]) -> list[str]:
    """Add the hardware profile and the no-litter Hydra settings unless the user set them."""
    args = list(argv)
    extra = []  # prepended: argparse wants positional overrides before flags such as --cfg job
    auto = [i for i, a in enumerate(args) if a.lstrip("+") == "hardware=auto"]
    for i in auto:  # hardware=auto names no YAML file: pick the profile the one shared rule picks
        args[i] = f"hardware={resolve_hardware('auto')}"
    if not _has_override(args, "hardware"):
        extra.append(f"hardware={resolve_hardware('auto')}")
    for key, value in (
        ("hydra.run.dir", "."),
        ("hydra.output_subdir", "null"),
        ("hydra/job_logging", "disabled"),
        ("hydra/hydra_logging", "disabled"),
    ):
        if not _has_override(args, key):
            extra.append(f"{key}={value}")
    if ("--cfg" in args or "-c" in args) and "--resolve" not in args:
        args.append("--resolve")
    return extra + args


def run(cfg) -> int:
    from metta.common.errors import ConfigError
    from metta.rl.job import EMPTY_RESULT, write_result
    from metta.rl.trainer_config import resolve_train_job
    from metta.tools.train import run_train_job

    try:
        raw = to_container(cfg)
        run_dir = Path(raw["run_dir"]) if isinstance(raw, dict) and raw.get("run_dir") else None
    except Exception as exc:  # omegaconf errors (missing run=...) are reported as config errors
        print(f"error: {exc} (pass run=<name>)", file=sys.stderr)
        return 2
    try:
        job = resolve_train_job(cfg)
        if N_STEPS is not None:  # batch_size = n_steps x environments x agents per environment
            from omegaconf import open_dict

            with open_dict(cfg):
                cfg.trainer.batch_size = N_STEPS * job.trainer.num_envs * job.env.num_agents
            job = resolve_train_job(cfg)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if int(os.environ.get("RANK", "0")) == 0:
            write_result(run_dir, {**EMPTY_RESULT, "error": f"ConfigError: {exc}"})
        return 2
    code = run_train_job(job)[0]
    summary = Path(job.run_dir) / "summary.json"
    if summary.exists() and int(os.environ.get("RANK", "0")) == 0:
        import json

        print(json.dumps(json.loads(summary.read_text())), flush=True)  # one line: the sweep's metric source
    return code


def agent_style_argv(argv: list[str]) -> list[str]:
    """Turn W&B-agent ``--key=value`` parameters (and wandb.config under a sweep) into Hydra overrides."""
    global N_STEPS
    from metta.tools.wandb_args import param_overrides, split_agent_args, sweep_config_params

    keep, params, sweep = split_agent_args(argv)
    if sweep or os.environ.get("WANDB_SWEEP_ID"):
        params = {**sweep_config_params(), **params}
    if "n_steps" in params:
        N_STEPS = int(params["n_steps"])
    return param_overrides(params) + keep  # positional overrides before flags such as --cfg job


@hydra.main(config_path=str(CONFIGS_DIR), config_name="train_job", version_base="1.3")
def main(cfg) -> None:
    global EXIT_CODE
    EXIT_CODE = run(cfg)


if __name__ == "__main__":
    from metta.common import interrupt

    signal.signal(signal.SIGTERM, interrupt.on_signal)  # a killed trial still writes a failed train_result.json
    try:
        argv = agent_style_argv(sys.argv[1:])
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.argv = [sys.argv[0], *prepare_argv(argv)]
    main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # torchrun: leave the process group cleanly, then skip interpreter teardown (gloo can abort there)
        from metta.rl.distributed import DistContext

        DistContext(world_size=2).shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_CODE)
    sys.exit(EXIT_CODE)
