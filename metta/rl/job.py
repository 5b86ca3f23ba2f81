"""Run a resolved training job end to end: print effective values, W&B logger, train, ``train_result.json``.

Shared by ``./tools/train.py`` (Hydra) and Python entry points (``metta.tools.TrainTool``) through
:func:`metta.tools.train.run_train_job`, so both behave the same:
``run_job(job) -> (exit_code, result)`` where exit_code is 0 on success, 1 on failure, 130 when interrupted, and
``<run_dir>/train_result.json`` holds status, agent_steps, epochs, wall_time_s, final_checkpoint and error.
Under torchrun only rank 0 prints, logs to W&B and writes the result file.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metta.common import interrupt
from metta.common.errors import MettaError
from metta.common.logger import NullLogger, WandbLogger
from metta.rl.checkpoint import load_latest_good
from metta.rl.ppo import Sizes, effective_sizes
from metta.rl.trainer import train
from metta.rl.trainer_config import TrainJobConfig

EvaluateFn = Callable[[Path, int], dict[str, float]]

EMPTY_RESULT: dict[str, Any] = {
    "status": "failed",
    "agent_steps": 0,
    "epochs": 0,
    "wall_time_s": 0.0,
    "final_checkpoint": None,
    "error": None,
}


def write_result(run_dir: Path | str | None, payload: dict) -> None:
    """Atomically write ``<run_dir>/train_result.json``."""
    if run_dir is None:
        return
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "train_result.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(run_dir / "train_result.json")


def print_effective(job: TrainJobConfig, sizes: Sizes) -> None:
    """Print the effective training values (what this run will actually do)."""
    t = job.trainer
    hs = t.hyperparameter_scheduler
    lines = [
        f"run {job.run} -> {job.run_dir}",
        f"hardware profile: {job.hardware} | device {job.system.device} | torch threads "
        f"{job.system.torch_threads or 'default'} | seed {job.system.seed} | "
        f"deterministic {job.system.torch_deterministic}",
        f"agent {job.agent.name} | env {t.curriculum} {dict(t.env_overrides) or ''} | num_envs {t.num_envs} "
        f"({sizes.total_agents} agents)",
        f"total_timesteps {t.total_timesteps:,} | batch_size {t.batch_size:,} -> effective {sizes.batch_size:,} "
        f"({sizes.total_agents} agents x {sizes.horizon} steps) | minibatch {t.minibatch_size:,} -> "
        f"{sizes.num_minibatches} minibatches of ~{sizes.segments_per_minibatch} segments x {t.bptt_horizon} | "
        f"update_epochs {t.update_epochs}",
        f"optimizer {t.optimizer.type} lr {t.optimizer.learning_rate} | ppo clip {t.ppo.clip_coef} ent "
        f"{t.ppo.ent_coef} vf {t.ppo.vf_coef} vf_clip {t.ppo.vf_clip_coef} gamma {t.ppo.gamma} "
        f"lambda {t.ppo.gae_lambda}",
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


def _wandb_logger(job: TrainJobConfig) -> WandbLogger:
    w = job.wandb
    return WandbLogger(
        job.run, w.mode, w.project, w.entity, w.group, w.tags, config=job.to_dict(), dir=w.dir or job.run_dir
    )


def _failure(exc: Exception) -> tuple[str, int]:
    """(error, exit code) for an exception out of training. A signal that landed inside C++ code (torch's
    writers, for one) comes out as some other exception: the recorded request says it was an interrupt."""
    if interrupt.requested():
        return f"KeyboardInterrupt: {interrupt.reason()} (surfaced as {type(exc).__name__}: {exc})", 130
    if not isinstance(exc, MettaError):
        traceback.print_exc()
    return f"{type(exc).__name__}: {exc}", 1


def run_job(job: TrainJobConfig, evaluate_fn: EvaluateFn | None = None) -> tuple[int, dict[str, Any]]:
    """Train ``job``; returns (exit code, result dict) and writes ``train_result.json`` (rank 0).

    ``evaluate_fn(checkpoint, epoch) -> metrics`` scores checkpoints during training (the evaluation layer builds
    it: :func:`metta.sim.training_eval.make_evaluate_fn`); None trains without in-training evaluation.
    """
    start = time.monotonic()
    result = dict(EMPTY_RESULT)
    is_main = int(os.environ.get("RANK", "0")) == 0
    if is_main:
        print_effective(job, effective_sizes(job.trainer, job.trainer.num_envs * job.env.num_agents))
    logger: Any = NullLogger()
    code = 1
    with interrupt.handling((signal.SIGINT, signal.SIGTERM)):  # _failure reads the request inside this section
        try:
            if job.wandb.mode != "disabled" and is_main:
                logger = _wandb_logger(job)
            res = train(job, logger=logger, evaluate_fn=evaluate_fn)
            result.update(res.as_dict(), status="success", error=None)
            code = 0
        except KeyboardInterrupt as exc:
            result["error"], code = f"KeyboardInterrupt: {exc or 'interrupted by the user'}", 130
        except Exception as exc:  # any crash must still produce a failed train_result.json
            result["error"], code = _failure(exc)
        finally:
            logger.close()
    if code != 0:
        good = load_latest_good(Path(job.run_dir) / "checkpoints")
        if good is not None:
            result.update(final_checkpoint=good["path"], agent_steps=good["agent_step"], epochs=good["epoch"])
        result["wall_time_s"] = time.monotonic() - start
        print(f"error: {result['error']}", file=sys.stderr)
    if is_main:
        write_result(job.run_dir, result)
        print(json.dumps({"train_result": str(Path(job.run_dir) / "train_result.json"), **result}), flush=True)
    return code, result
