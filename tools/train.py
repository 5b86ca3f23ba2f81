#!/usr/bin/env python3
"""Train a policy: ``./tools/train.py run=<name> [overrides]`` (Hydra; composes configs/train_job.yaml).

- Without a ``hardware=`` override the profile is chosen here: ``hardware=cpu`` when no CUDA device is present,
  ``hardware=gpu`` otherwise. The effective values are printed at start and stored in ``<run_dir>/config.json``.
- ``--cfg job`` prints the (resolved) composed config and exits.
- Writes ``<run_dir>/train_result.json`` (status, agent_steps, epochs, wall_time_s, final_checkpoint, error) and
  exits 0 on success, 1 on a training failure, 2 on a configuration error, 130 when interrupted.
- Nothing is written to ``outputs/``: Hydra's run dir is the current directory and its own files are disabled.
"""

import _bootstrap  # noqa: F401  (re-exec into the repo .venv; must stay first)

import json
import os
import sys
import time
from pathlib import Path

import hydra

from metta.common.config import CONFIGS_DIR, to_container

EXIT_CODE = 0


def _has_override(argv: list[str], key: str) -> bool:
    return any(a.lstrip("+").split("=", 1)[0] == key for a in argv)


def prepare_argv(argv: list[str]) -> list[str]:
    """Add the hardware profile and the no-litter Hydra settings unless the user set them."""
    args = list(argv)
    extra = []  # prepended: argparse wants positional overrides before flags such as --cfg job
    if not _has_override(args, "hardware"):
        import torch

        extra.append("hardware=gpu" if torch.cuda.is_available() else "hardware=cpu")
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


def write_result(run_dir: Path | None, payload: dict) -> None:
    if run_dir is None:
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "train_result.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(run_dir / "train_result.json")


def print_effective(job, sizes) -> None:
    t = job.trainer
    hs = t.hyperparameter_scheduler
    lines = [
        f"run {job.run} -> {job.run_dir}",
        f"hardware profile: {job.hardware} | device {job.system.device} | torch threads "
        f"{job.system.torch_threads or 'default'} | seed {job.system.seed} | deterministic {job.system.torch_deterministic}",
        f"agent {job.agent.name} | env {t.curriculum} {dict(t.env_overrides) or ''} | num_envs {t.num_envs} "
        f"({sizes.total_agents} agents)",
        f"total_timesteps {t.total_timesteps:,} | batch_size {t.batch_size:,} -> effective {sizes.batch_size:,} "
        f"({sizes.total_agents} agents x {sizes.horizon} steps) | minibatch {t.minibatch_size:,} -> "
        f"{sizes.num_minibatches} minibatches of ~{sizes.segments_per_minibatch} segments x {t.bptt_horizon} | "
        f"update_epochs {t.update_epochs}",
        f"optimizer {t.optimizer.type} lr {t.optimizer.learning_rate} | ppo clip {t.ppo.clip_coef} ent "
        f"{t.ppo.ent_coef} vf {t.ppo.vf_coef} vf_clip {t.ppo.vf_clip_coef} gamma {t.ppo.gamma} lambda {t.ppo.gae_lambda}",
        "schedules: "
        + ", ".join(
            f"{name} {s.type}->{s.min_value}" if s else f"{name} constant"
            for name, s in (
                ("lr", hs.learning_rate_schedule),
                ("clip", hs.ppo_clip_schedule),
                ("ent", hs.ppo_ent_coef_schedule),
                ("vf_clip", hs.ppo_vf_clip_schedule),
            )
        ),
        f"checkpoint every {t.checkpoint.checkpoint_interval} epochs | evaluate every "
        f"{t.simulation.evaluate_interval or 'never'} | wandb {job.wandb.mode}",
    ]
    print("\n".join(lines), flush=True)


def make_evaluate_fn(job):
    """Evaluate checkpoints on trainer.simulation.suite during training; failures are reported, not fatal."""
    if job.trainer.simulation.evaluate_interval <= 0:
        return None

    def _evaluate(checkpoint: Path, epoch: int) -> dict[str, float]:
        from metta.common.errors import MettaError
        from metta.sim import evaluate

        try:
            res = evaluate(
                f"file://{checkpoint}", job.trainer.simulation.suite, Path(job.run_dir) / "stats.db", seed=job.system.seed
            )
        except MettaError as exc:
            print(f"warning: evaluation at epoch {epoch} failed: {exc}", file=sys.stderr)
            return {}
        out = {f"overview/{c}_score": v for c, v in res.category_scores.items() if v is not None}
        if res.avg_category_score is not None:
            out["overview/avg_category_score"] = res.avg_category_score
        return out

    return _evaluate


def run(cfg) -> int:
    from metta.common.errors import ConfigError, MettaError
    from metta.common.logger import NullLogger, WandbLogger
    from metta.rl.checkpoint import load_latest_good
    from metta.rl.ppo import effective_sizes
    from metta.rl.trainer import train
    from metta.rl.trainer_config import resolve_train_job

    start = time.monotonic()
    run_dir = None
    try:
        raw = to_container(cfg)
        run_dir = Path(raw["run_dir"]) if isinstance(raw, dict) and raw.get("run_dir") else None
    except Exception as exc:  # noqa: BLE001 - omegaconf errors (missing run=...) are reported as config errors
        print(f"error: {exc} (pass run=<name>)", file=sys.stderr)
        return 2
    result = {"status": "failed", "agent_steps": 0, "epochs": 0, "wall_time_s": 0.0, "final_checkpoint": None}
    try:
        job = resolve_train_job(cfg)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        write_result(run_dir, {**result, "error": f"ConfigError: {exc}"})
        return 2
    is_main = int(os.environ.get("RANK", "0")) == 0
    if is_main:
        print_effective(job, effective_sizes(job.trainer, job.trainer.num_envs * job.env.num_agents))
    logger = NullLogger()
    code = 1
    try:
        if job.wandb.mode != "disabled" and is_main:
            logger = WandbLogger(
                job.run, job.wandb.mode, job.wandb.project, job.wandb.entity, job.wandb.group, job.wandb.tags,
                config=job.to_dict(), dir=job.wandb.dir or job.run_dir,
            )  # fmt: skip
        res = train(job, logger=logger, evaluate_fn=make_evaluate_fn(job))
        result = {**result, **res.as_dict(), "status": "success", "error": None}
        code = 0
    except KeyboardInterrupt:
        result["error"] = "KeyboardInterrupt: interrupted by the user"
        code = 130
    except MettaError as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - any crash must still produce a failed train_result.json
        result["error"] = f"{type(exc).__name__}: {exc}"
        import traceback

        traceback.print_exc()
    finally:
        logger.close()
    if code != 0:
        good = load_latest_good(Path(job.run_dir) / "checkpoints")
        if good is not None:
            result.update(final_checkpoint=good["path"], agent_steps=good["agent_step"], epochs=good["epoch"])
        result["wall_time_s"] = time.monotonic() - start
        print(f"error: {result['error']}", file=sys.stderr)
    if is_main:
        write_result(run_dir, result)
        print(json.dumps({"train_result": str(Path(job.run_dir) / "train_result.json"), **result}), flush=True)
    return code


@hydra.main(config_path=str(CONFIGS_DIR), config_name="train_job", version_base="1.3")
def main(cfg) -> None:
    global EXIT_CODE
    EXIT_CODE = run(cfg)


if __name__ == "__main__":
    sys.argv = [sys.argv[0], *prepare_argv(sys.argv[1:])]
    main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # torchrun: leave the process group cleanly, then skip interpreter teardown (gloo can abort there)
        from metta.rl.distributed import DistContext

        DistContext(world_size=2).shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_CODE)
    sys.exit(EXIT_CODE)
