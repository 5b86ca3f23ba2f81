"""The PPO training loop: ``train(job, logger=None) -> TrainResult``.

Per epoch: collect one rollout from the VecEnv, apply the schedules at the progress reached by it (learning rate,
clip, entropy, value clip), run the PPO update, log metrics, checkpoint every ``checkpoint_interval`` epochs and at the
end. Resumes from the newest good checkpoint in ``<run_dir>/checkpoints``. NaN/inf losses stop the run with a
TrainingError before the optimizer step, so the last written checkpoint stays the last good one.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TextIO

import torch

from metta.agent.factory import make_policy
from metta.common.device import resolve_device as common_resolve_device
from metta.common.errors import CheckpointError
from metta.common.logger import JsonlLogger, Logger, MultiLogger, NullLogger
from metta.common.progress import Progress
from metta.common.seeding import derive_seed, seed_everything
from metta.env import VecEnv
from metta.env.gym_adapter import GymTaskConfig, GymVecEnv
from metta.rl.checkpoint import (
    checkpoint_path,
    load_latest_good,
    load_policy,
    policy_from_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from metta.rl.compute import apply_compile, autocast_factory
from metta.rl.distributed import DistContext
from metta.rl.phases import NO_TIMER, NullTimer
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
        """The run summary: every field but ``last_metrics``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "last_metrics"}


def resolve_device(spec: str) -> torch.device:
    """The torch device for ``system.device`` (``auto`` = CUDA when available), by the shared rule."""
    return torch.device(common_resolve_device(spec))


def configure_matmul_precision(device: torch.device) -> str:
    """TF32 matmuls on CUDA (float32 precision "high", as the Hydra-era trainer ran); full float32 ("highest") on
    CPU, where TF32 does not exist. Returns the precision set."""
    precision = "high" if device.type == "cuda" else "highest"
    torch.set_float32_matmul_precision(precision)
    return precision


def make_optimizer(policy: torch.nn.Module, job: TrainJobConfig) -> torch.optim.Optimizer:
    o = job.trainer.optimizer
    cls = torch.optim.AdamW if o.type == "adamw" else torch.optim.Adam
    betas = (o.beta1, o.beta2)
    return cls(policy.parameters(), lr=o.learning_rate, betas=betas, eps=o.eps, weight_decay=o.weight_decay)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Trainer:
    """One training run: set up (or resume), then ``run()`` epochs until the budget is spent."""

    def __init__(
        self,
        job: TrainJobConfig,
        logger: Logger | None,
        evaluate_fn: EvaluateFn | None,
        progress_stream: TextIO | None,
        env_factory: Callable[..., Any] | None,
    ) -> None:
        self.start = time.monotonic()
        self.job, self.tr = job, job.trainer
        if job.system.torch_threads > 0:
            torch.set_num_threads(job.system.torch_threads)
        device = resolve_device(job.system.device)
        self.dist = DistContext.from_env(device.type)
        if device.type == "cuda" and self.dist.world_size > 1:
            device = torch.device(f"cuda:{self.dist.local_rank}")
        self.device = device
        configure_matmul_precision(device)
        seed_everything(job.system.seed, job.system.torch_deterministic, rank=self.dist.rank)  # weights: broadcast
        self.run_dir = Path(job.run_dir).resolve()  # absolute paths in results, whatever the cwd
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        resume = load_latest_good(self.ckpt_dir, warn=_say)
        self.epoch = int(resume["epoch"]) if resume else 0
        self.agent_step = int(resume["agent_step"]) if resume else 0
        self._build(env_factory, resume)
        self._outputs(logger, evaluate_fn, progress_stream)
        self.last_ckpt = Path(resume["path"]) if resume else self.save(0)

    def _seed(self, *parts: int) -> int:
        rank = (self.dist.rank,) if self.dist.rank else ()
        return derive_seed(self.job.system.seed, *parts, *rank)

    def _build(self, env_factory: Callable[..., Any] | None, resume: dict | None) -> None:
        job, tr, device = self.job, self.tr, self.device
        fresh = resume is None and self.dist.rank == 0
        seed = job.system.seed if fresh else self._seed(self.epoch)
        self.env: VecEnv | GymVecEnv
        if env_factory is not None:
            self.env = env_factory(job.env, tr.num_envs, seed)
        elif isinstance(job.env, GymTaskConfig):
            self.env = GymVecEnv(job.env, tr.num_envs, seed)
        else:
            self.env = VecEnv(job.env, tr.num_envs, seed)
        self.sizes = effective_sizes(tr, self.env.total_agents)
        num_features = int(getattr(self.env, "num_features", 25))
        init_seed = derive_seed(job.system.seed, 0)  # same initial weights on every rank
        obs_shape = tuple(self.env.obs_shape)
        self.policy = make_policy(job.agent, self.env.num_actions, obs_shape, num_features, seed=init_seed).to(device)
        self.optimizer = make_optimizer(self.policy, job)
        self.autocast = autocast_factory(tr.compute, device)  # None = float32 (the default)
        apply_compile(self.policy, tr.compute)
        if resume:
            try:
                self.policy.load_state_dict(policy_from_checkpoint(resume, device).state_dict())
                if resume.get("optimizer"):
                    self.optimizer.load_state_dict(resume["optimizer"])
            except (RuntimeError, ValueError) as exc:
                raise CheckpointError(f"checkpoint {resume['path']} does not match this run's agent: {exc}") from exc
            _say(f"resuming from {resume['path']} (epoch {self.epoch}, agent_step {self.agent_step})")
        elif tr.initial_policy_uri:
            self._load_initial_policy(tr.initial_policy_uri)
        if tr.mask_dead_attack and hasattr(self.env, "task_set"):
            from metta.env.actions import dead_action_mask

            self.policy.set_action_mask(dead_action_mask(self.env.task_set.cfgs, self.env.action_names))
        self.dist.broadcast_parameters(self.policy)
        self.init_params = (
            [p.detach().clone() for p in self.policy.parameters()] if tr.ppo.l2_init_loss_coef > 0 else None
        )
        self.gen_act = torch.Generator(device=device).manual_seed(self._seed(1, self.epoch))
        self.gen_mb = torch.Generator().manual_seed(self._seed(2, self.epoch))
        obs0 = self.env.reset()
        feats0 = self.policy.features(torch.from_numpy(obs0[:1]).to(device))
        self.buf = RolloutBuffer.allocate(
            self.sizes.total_agents,
            self.sizes.horizon,
            tr.bptt_horizon,
            feats0.shape[1:],
            feats0.dtype,
            job.agent.lstm_layers,
            job.agent.hidden_size,
            device,
        )
        self.carry = RolloutState(obs=obs0, state=self.policy.initial_state(self.sizes.total_agents, device))

    def _load_initial_policy(self, uri: str) -> None:
        initial, meta = load_policy(uri, self.device)
        try:
            self.policy.load_state_dict(initial.state_dict())
        except RuntimeError as exc:
            raise CheckpointError(
                f"trainer.initial_policy_uri {uri} ({meta['path']}) does not fit agent {self.job.agent.name}: {exc}"
            ) from exc
        _say(f"starting from the weights of {meta['path']} (epoch {meta['epoch']}); counters start at 0")

    def _outputs(self, logger: Logger | None, evaluate_fn: EvaluateFn | None, progress_stream: TextIO | None) -> None:
        self.config_data = self.job.to_dict()
        self.meta = {"run": self.job.run, "hardware": self.job.hardware, "world_size": self.dist.world_size}
        if self.dist.is_main:
            effective = {**self.sizes.as_dict(), "world_size": self.dist.world_size}
            stored = {**self.config_data, "effective": effective}
            (self.run_dir / "config.json").write_text(json.dumps(stored, indent=2))
            self.jsonl: Any = JsonlLogger(self.run_dir / "metrics.jsonl")
            self.log: Any = MultiLogger([self.jsonl, logger if logger is not None else NullLogger()])
            self.progress = Progress(self.tr.total_timesteps, stream=progress_stream)
            self.evaluate_fn = evaluate_fn
        else:
            self.jsonl, self.log = NullLogger(), NullLogger()
            self.progress = Progress(self.tr.total_timesteps, stream=io.StringIO(), interactive=False)
            self.evaluate_fn = None

    def save(self, epoch: int) -> Path:
        """Checkpoint the current policy/optimizer as model_{epoch:04d}.pt (rank 0 only)."""
        if not self.dist.is_main:
            return checkpoint_path(self.ckpt_dir, epoch)
        path = save_checkpoint(
            self.ckpt_dir, epoch, self.agent_step, self.policy, self.optimizer, self.config_data, self.meta
        )
        prune_checkpoints(self.ckpt_dir, self.tr.checkpoint.keep_last)
        return path

    def _saved_epoch(self) -> int:
        return int(self.last_ckpt.stem.split("_")[1])

    def run_epoch(self, timer: NullTimer = NO_TIMER) -> dict[str, float]:
        """One rollout + update; returns this epoch's metrics (``timer``: per-phase wall time, for profiling)."""
        tr, sizes = self.tr, self.sizes
        t0, cpu0 = time.monotonic(), time.process_time()
        self.policy.eval()
        self.carry, infos = collect(
            self.env, self.policy, self.buf, self.carry, self.gen_act, self.device, timer, self.autocast
        )
        t1 = time.monotonic()
        # the update sees progress including this rollout, so the last update runs at p = 1 (final values)
        hp = hyperparameters_at(tr, self.agent_step + sizes.batch_size)
        for group in self.optimizer.param_groups:
            group["lr"] = hp.learning_rate
        self.policy.train()
        stats = ppo_update(
            self.policy,
            self.optimizer,
            self.buf,
            tr,
            hp,
            sizes,
            self.gen_mb,
            self.init_params,
            self.dist,
            timer,
            self.autocast,
        )
        t2 = time.monotonic()
        self.train_time += t2 - t0
        self.agent_step += sizes.batch_size * self.dist.world_size
        self.epoch += 1
        return {
            **stats,
            **episode_metrics(infos, Path(tr.curriculum).name),
            **hp.as_metrics(),
            **self._curriculum_metrics(),
            "overview/sps": sizes.batch_size * self.dist.world_size / max(1e-9, t2 - t0),
            "timing/rollout_s": t1 - t0,
            "timing/update_s": t2 - t1,
            "timing/process_cpu_s": time.process_time() - cpu0,  # all threads of this process
            "parameters/learning_rate": hp.learning_rate,
            "parameters/epoch_steps": float(sizes.batch_size),
            "metric/agent_step": float(self.agent_step),
            "metric/epoch": float(self.epoch),
            "metric/total_time": time.monotonic() - self.start,
            "metric/train_time": self.train_time,
        }

    def _curriculum_metrics(self) -> dict[str, float]:
        """``curriculum/probs/<task>`` (current sampling probabilities) and sampler stats of a curriculum env."""
        probs: dict[str, float] = getattr(self.env, "curriculum_probs", dict)()
        out = {f"curriculum/probs/{task}": p for task, p in probs.items()}
        sampler = getattr(self.env, "sampler", None)
        if sampler is not None:
            out.update({f"curriculum/{k}": v for k, v in sampler.stats().items()})
        return out

    def _checkpoint_and_evaluate(self, metrics: dict[str, float]) -> None:
        tr, epoch = self.tr, self.epoch
        if epoch % tr.checkpoint.checkpoint_interval == 0:
            self.last_ckpt = self.save(epoch)
            metrics["parameters/latest_saved_policy_epoch"] = float(epoch)
        if self.evaluate_fn is not None and tr.simulation.evaluate_interval > 0:
            if epoch % tr.simulation.evaluate_interval == 0:
                if self._saved_epoch() != epoch:
                    self.last_ckpt = self.save(epoch)
                metrics.update(self.evaluate_fn(self.last_ckpt, epoch) or {})

    def run(self) -> TrainResult:
        tr = self.tr
        metrics: dict[str, float] = {}
        last_reward: float | None = None
        self.train_time = 0.0
        try:
            while self.agent_step < tr.total_timesteps and (tr.max_epochs is None or self.epoch < tr.max_epochs):
                metrics = self.run_epoch()
                last_reward = metrics.get("overview/reward", last_reward)
                self._checkpoint_and_evaluate(metrics)
                if self.epoch % tr.log_interval == 0:
                    self.log.log(metrics, self.agent_step)
                self.progress.update(self.agent_step, self.epoch, metrics["overview/sps"], last_reward)
            if self._saved_epoch() != self.epoch:
                self.last_ckpt = self.save(self.epoch)
            self.dist.barrier()
        finally:
            self.progress.close()
            wall = time.monotonic() - self.start
            self.log.summary({"agent_steps": self.agent_step, "epochs": self.epoch, "wall_time_s": wall, **metrics})
            self.jsonl.close()
        return TrainResult(str(self.last_ckpt), self.agent_step, self.epoch, time.monotonic() - self.start, metrics)


def train(
    job: TrainJobConfig,
    logger: Logger | None = None,
    evaluate_fn: EvaluateFn | None = None,
    progress_stream: TextIO | None = None,
    env_factory: Callable[..., Any] | None = None,
) -> TrainResult:
    """Train (or resume) the run described by ``job``; see the module docstring."""
    return Trainer(job, logger, evaluate_fn, progress_stream, env_factory).run()
