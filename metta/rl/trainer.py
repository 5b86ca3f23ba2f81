"""The PPO training loop: ``train(job, logger=None) -> TrainResult``.

Per epoch: apply the schedules for the current agent_step (learning rate, clip, entropy, value clip), collect one
rollout from the VecEnv, run the PPO update, log metrics, checkpoint every ``checkpoint_interval`` epochs and at the
end. Resumes from the newest good checkpoint in ``<run_dir>/checkpoints``. NaN/inf losses stop the run with a
TrainingError before the optimizer step, so the last written checkpoint stays the last good one.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from metta.agent import make_policy
from metta.common.errors import CheckpointError, TrainingError
from metta.common.logger import JsonlLogger, Logger, MultiLogger, NullLogger
from metta.common.progress import Progress
from metta.common.seeding import derive_seed, seed_everything
from metta.rl.checkpoint import (
    checkpoint_path,
    load_latest_good,
    policy_from_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from metta.rl.distributed import DistContext
from metta.rl.ppo import effective_sizes, ppo_update
from metta.rl.rollout import RolloutBuffer, RolloutState, collect
from metta.rl.schedules import hyperparameters_at
from metta.rl.stats import episode_metrics
from metta.rl.trainer_config import TrainJobConfig

EvaluateFn = Callable[[Path, int], "dict[str, float] | None"]


@dataclass(frozen=True)
class TrainResult:
    """Outcome of a finished run."""

    final_checkpoint: str | None
    agent_steps: int
    epochs: int
    wall_time_s: float
    last_metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "final_checkpoint": self.final_checkpoint,
            "agent_steps": self.agent_steps,
            "epochs": self.epochs,
            "wall_time_s": self.wall_time_s,
        }


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"device {spec!r} requested but CUDA is not available; use device=cpu or device=auto")
    return torch.device(spec)


def make_optimizer(policy: torch.nn.Module, job: TrainJobConfig) -> torch.optim.Optimizer:
    o = job.trainer.optimizer
    cls = torch.optim.AdamW if o.type == "adamw" else torch.optim.Adam
    return cls(policy.parameters(), lr=o.learning_rate, betas=(o.beta1, o.beta2), eps=o.eps, weight_decay=o.weight_decay)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train(
    job: TrainJobConfig,
    logger: Logger | None = None,
    evaluate_fn: EvaluateFn | None = None,
    progress_stream=None,
    env_factory: Callable[..., Any] | None = None,
) -> TrainResult:
    """Train (or resume) the run described by ``job``; see the module docstring."""
    start = time.monotonic()
    tr = job.trainer
    if job.system.torch_threads > 0:
        torch.set_num_threads(job.system.torch_threads)
    device = resolve_device(job.system.device)
    dist = DistContext.from_env(device.type)
    if device.type == "cuda" and dist.world_size > 1:
        device = torch.device(f"cuda:{dist.local_rank}")
    seed_everything(job.system.seed, job.system.torch_deterministic, rank=dist.rank)  # weights: broadcast below
    rank_seed = (dist.rank,) if dist.rank else ()
    run_dir = Path(job.run_dir)
    ckpt_dir = run_dir / "checkpoints"
    run_dir.mkdir(parents=True, exist_ok=True)

    if env_factory is None:
        from metta.env import VecEnv as env_factory  # noqa: N813
    resume = load_latest_good(ckpt_dir, warn=_say)
    start_epoch = int(resume["epoch"]) if resume else 0
    agent_step = int(resume["agent_step"]) if resume else 0
    env_seed = derive_seed(job.system.seed, start_epoch, *rank_seed) if (resume or dist.rank) else job.system.seed
    env = env_factory(job.env, tr.num_envs, env_seed)
    sizes = effective_sizes(tr, env.total_agents)
    num_features = int(getattr(env, "num_features", 25))
    policy = make_policy(job.agent, env.num_actions, tuple(env.obs_shape), num_features).to(device)
    optimizer = make_optimizer(policy, job)
    if resume:
        loaded = policy_from_checkpoint(resume, device)
        try:
            policy.load_state_dict(loaded.state_dict())
            if resume.get("optimizer"):
                optimizer.load_state_dict(resume["optimizer"])
        except (RuntimeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {resume['path']} does not match this run's agent: {exc}") from exc
        _say(f"resuming from {resume['path']} (epoch {start_epoch}, agent_step {agent_step})")
    dist.broadcast_parameters(policy)
    init_params = [p.detach().clone() for p in policy.parameters()] if tr.ppo.l2_init_loss_coef > 0 else None

    config_data = job.to_dict()
    effective = {**sizes.as_dict(), "world_size": dist.world_size}
    if dist.is_main:
        (run_dir / "config.json").write_text(json.dumps({**config_data, "effective": effective}, indent=2))
        jsonl = JsonlLogger(run_dir / "metrics.jsonl")
        log = MultiLogger([jsonl, logger if logger is not None else NullLogger()])
    else:
        jsonl, log = NullLogger(), NullLogger()
    meta = {"run": job.run, "hardware": job.hardware, "world_size": dist.world_size}

    def save(epoch: int) -> Path:
        if not dist.is_main:
            return checkpoint_path(ckpt_dir, epoch)
        path = save_checkpoint(ckpt_dir, epoch, agent_step, policy, optimizer, config_data, meta)
        prune_checkpoints(ckpt_dir, tr.checkpoint.keep_last)
        return path

    last_ckpt = Path(resume["path"]) if resume else save(0)
    gen_act = torch.Generator(device=device).manual_seed(derive_seed(job.system.seed, 1, start_epoch, *rank_seed))
    gen_mb = torch.Generator().manual_seed(derive_seed(job.system.seed, 2, start_epoch, *rank_seed))
    obs0 = env.reset()
    feats0 = policy.features(torch.from_numpy(obs0[:1]).to(device))
    buf = RolloutBuffer.allocate(
        sizes.total_agents, sizes.horizon, tr.bptt_horizon, feats0.shape[1:], feats0.dtype,
        job.agent.lstm_layers, job.agent.hidden_size, device,
    )  # fmt: skip
    carry = RolloutState(obs=obs0, state=policy.initial_state(sizes.total_agents, device))
    if dist.is_main:
        progress = Progress(tr.total_timesteps, stream=progress_stream)
    else:
        progress = Progress(tr.total_timesteps, stream=io.StringIO(), interactive=False)
        evaluate_fn = None
    epoch = start_epoch
    last_reward: float | None = None
    metrics: dict[str, float] = {}
    train_time = 0.0
    try:
        while agent_step < tr.total_timesteps and (tr.max_epochs is None or epoch < tr.max_epochs):
            t0 = time.monotonic()
            policy.eval()
            carry, infos = collect(env, policy, buf, carry, gen_act, device)
            t1 = time.monotonic()
            # the update sees progress including this rollout, so the last update runs at p = 1 (final values)
            hp = hyperparameters_at(tr, agent_step + sizes.batch_size)
            for group in optimizer.param_groups:
                group["lr"] = hp.learning_rate
            policy.train()
            stats = ppo_update(policy, optimizer, buf, tr, hp, sizes, gen_mb, init_params, dist)
            t2 = time.monotonic()
            train_time += t2 - t0
            agent_step += sizes.batch_size * dist.world_size
            epoch += 1
            ep = episode_metrics(infos, Path(tr.curriculum).name)
            last_reward = ep.get("overview/reward", last_reward)
            sps = sizes.batch_size * dist.world_size / max(1e-9, t2 - t0)
            metrics = {
                **stats, **ep, **hp.as_metrics(),
                "overview/sps": sps,
                "timing/rollout_s": t1 - t0,
                "timing/update_s": t2 - t1,
                "parameters/learning_rate": hp.learning_rate,
                "parameters/epoch_steps": float(sizes.batch_size),
                "metric/agent_step": float(agent_step),
                "metric/epoch": float(epoch),
                "metric/total_time": time.monotonic() - start,
                "metric/train_time": train_time,
            }  # fmt: skip
            if epoch % tr.checkpoint.checkpoint_interval == 0:
                last_ckpt = save(epoch)
                metrics["parameters/latest_saved_policy_epoch"] = float(epoch)
            if evaluate_fn is not None and tr.simulation.evaluate_interval > 0:
                if epoch % tr.simulation.evaluate_interval == 0:
                    if int(last_ckpt.stem.split("_")[1]) != epoch:
                        last_ckpt = save(epoch)
                    metrics.update(evaluate_fn(last_ckpt, epoch) or {})
            if epoch % tr.log_interval == 0:
                log.log(metrics, agent_step)
            progress.update(agent_step, epoch, sps, last_reward)
        if int(last_ckpt.stem.split("_")[1]) != epoch:
            last_ckpt = save(epoch)
        dist.barrier()
    finally:
        progress.close()
        wall = time.monotonic() - start
        log.summary({"agent_steps": agent_step, "epochs": epoch, "wall_time_s": wall, **metrics})
        jsonl.close()
    return TrainResult(str(last_ckpt), agent_step, epoch, time.monotonic() - start, metrics)
