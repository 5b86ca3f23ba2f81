"""One PPO update over a filled rollout buffer (minibatches are a permutation of segments)."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from metta.agent.policy import RecurrentPolicy
from metta.common.errors import TrainingError
from metta.rl.advantage import gae
from metta.rl.distributed import DistContext
from metta.rl.losses import PPOCoefficients, explained_variance, ppo_loss
from metta.rl.phases import NO_TIMER, NullTimer
from metta.rl.rollout import RolloutBuffer
from metta.rl.schedules import Hyperparameters
from metta.rl.trainer_config import TrainerConfig


@dataclass(frozen=True)
class Sizes:
    """Effective rollout/update sizes for a given number of agents (printed at start, stored with the run)."""

    total_agents: int
    horizon: int  # steps per agent per rollout (multiple of bptt)
    batch_size: int  # = total_agents * horizon
    num_segments: int
    num_minibatches: int
    segments_per_minibatch: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def effective_sizes(trainer: TrainerConfig, total_agents: int) -> Sizes:
    """Round batch_size to a multiple of total_agents*bptt (at least one segment per agent); keep the requested
    minibatch size as closely as a whole number of segments allows."""
    bptt = trainer.bptt_horizon
    k = max(1, round(trainer.batch_size / (total_agents * bptt)))
    horizon = k * bptt
    batch = total_agents * horizon
    segments = total_agents * k
    n_mb = min(segments, max(1, round(batch / trainer.minibatch_size)))
    return Sizes(total_agents, horizon, batch, segments, n_mb, math.ceil(segments / n_mb))


def _l2_terms(policy: RecurrentPolicy, trainer: TrainerConfig, init_params: list[torch.Tensor] | None) -> torch.Tensor:
    total = torch.zeros(())
    if trainer.ppo.l2_reg_loss_coef > 0:
        total = total + trainer.ppo.l2_reg_loss_coef * sum((p**2).sum() for p in policy.parameters())
    if trainer.ppo.l2_init_loss_coef > 0 and init_params is not None:
        total = total + trainer.ppo.l2_init_loss_coef * sum(
            ((p - p0) ** 2).sum() for p, p0 in zip(policy.parameters(), init_params, strict=True)
        )
    return total


def _experience_stats(buf: RolloutBuffer, values: np.ndarray, adv: np.ndarray) -> dict[str, float]:
    acts = buf.actions.float()
    return {
        "experience/rewards": float(buf.rewards.mean()),
        "experience/values": float(values.mean()),
        "experience/advantages": float(adv.mean()),
        "experience/act_log_prob": float(buf.logprobs.mean()),
        "experience/dones": float(buf.dones.mean()),
        "experience/actions_mean": float(acts.mean()),
        "experience/actions_std": float(acts.std()),
    }


@dataclass(frozen=True)
class _Batch:
    """GAE outputs of one rollout plus the per-segment views the minibatch loop indexes."""

    values_np: np.ndarray
    adv_np: np.ndarray
    returns_np: np.ndarray
    adv: torch.Tensor
    returns: torch.Tensor
    feats: torch.Tensor
    actions: torch.Tensor
    old_logp: torch.Tensor
    old_values: torch.Tensor
    h0: torch.Tensor
    c0: torch.Tensor
    resets: torch.Tensor


def _prepare_batch(buf: RolloutBuffer, trainer: TrainerConfig) -> _Batch:
    """Compute GAE advantages/returns and cut every rollout tensor into [segments, bptt, ...] views."""
    device = buf.values.device
    values_np = buf.values.cpu().numpy()
    boot = buf.bootstrap.cpu().numpy()
    adv_np = gae(buf.rewards, values_np, buf.dones, boot, trainer.ppo.gamma, trainer.ppo.gae_lambda)
    returns_np = adv_np + values_np
    adv = buf.segment_view(torch.from_numpy(adv_np).to(device))
    returns = buf.segment_view(torch.from_numpy(returns_np).to(device))
    feats = buf.segment_view(buf.features)
    actions = buf.segment_view(buf.actions)
    old_logp = buf.segment_view(buf.logprobs)
    old_values = buf.segment_view(buf.values)
    h0, c0 = buf.segment_state()
    resets = buf.reset_mask()
    return _Batch(values_np, adv_np, returns_np, adv, returns, feats, actions, old_logp, old_values, h0, c0, resets)


def _coefficients(trainer: TrainerConfig, hp: Hyperparameters) -> PPOCoefficients:
    """Combine the scheduled hyperparameters with the fixed PPO settings of the trainer."""
    return PPOCoefficients(
        clip_coef=hp.clip_coef,
        vf_clip_coef=hp.vf_clip_coef,
        ent_coef=hp.ent_coef,
        vf_coef=trainer.ppo.vf_coef,
        clip_vloss=trainer.ppo.clip_vloss,
        norm_adv=trainer.ppo.norm_adv,
    )


def _minibatch_loss(
    policy: RecurrentPolicy,
    batch: _Batch,
    idx: torch.Tensor,
    coef: PPOCoefficients,
    trainer: TrainerConfig,
    init_params: list[torch.Tensor] | None,
    amp: Callable[[], AbstractContextManager],
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Re-evaluate the policy on the segments ``idx`` and return the PPO loss (plus L2 terms) and its stats."""
    state = (batch.h0[:, idx], batch.c0[:, idx])
    with amp():
        new_logp, entropy, new_values = policy.evaluate(batch.feats[idx], batch.actions[idx], state, batch.resets[idx])
    loss, stats = ppo_loss(
        new_logp,
        batch.old_logp[idx],
        entropy,
        new_values,
        batch.old_values[idx],
        batch.adv[idx],
        batch.returns[idx],
        coef,
    )
    if trainer.ppo.l2_reg_loss_coef > 0 or trainer.ppo.l2_init_loss_coef > 0:
        loss = loss + _l2_terms(policy, trainer, init_params)
    return loss, stats


def _backward_and_step(
    policy: RecurrentPolicy,
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    stats: dict[str, torch.Tensor],
    trainer: TrainerConfig,
    dist: DistContext | None,
    timer: NullTimer,
    where: str,
) -> torch.Tensor:
    """Backpropagate, sync and clip gradients, step the optimizer; raise TrainingError on NaN/inf, return grad norm."""
    finite = bool(torch.isfinite(loss))
    timer.lap("train_forward")
    optimizer.zero_grad(set_to_none=True)
    if finite:
        loss.backward()
    timer.lap("backward")
    if dist is not None and dist.world_size > 1:
        finite = dist.sync_gradients(policy, finite)
    if not finite:
        detail = ", ".join(f"{k}={float(v):.4g}" for k, v in stats.items())
        raise TrainingError(
            f"non-finite PPO loss ({float(loss.detach())}) in {where}: "
            f"{detail}; the optimizer step was skipped and the last good checkpoint is kept. "
            "Try a lower trainer.optimizer.learning_rate or trainer.ppo.max_grad_norm"
        )
    grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), trainer.ppo.max_grad_norm)
    if not bool(torch.isfinite(grad_norm)):  # identical on every rank (gradients were averaged)
        raise TrainingError(
            f"non-finite gradient norm ({float(grad_norm)}) in {where}; "
            "the optimizer step was skipped and the last good checkpoint is kept. "
            "Try a lower trainer.optimizer.learning_rate"
        )
    optimizer.step()
    timer.lap("optimizer")
    return grad_norm


def _accumulate_stats(
    sums: dict[str, float], epoch_kl: list[float], stats: dict[str, torch.Tensor], grad_norm: torch.Tensor
) -> None:
    """Add one minibatch's loss statistics (and its grad norm) to the running sums; record its approx KL."""
    stats["grad_norm"] = grad_norm.detach()
    for k, v in stats.items():
        sums[k] = sums.get(k, 0.0) + float(v)
    epoch_kl.append(float(stats["approx_kl"]))


def _kl_stop(epoch_kl: list[float], trainer: TrainerConfig, dist: DistContext | None) -> bool:
    """Whether the epoch's mean approx KL (averaged over ranks) exceeds ``trainer.ppo.target_kl``."""
    mean_kl = float(np.mean(epoch_kl))
    if dist is not None and dist.world_size > 1:
        mean_kl = dist.mean_scalar(mean_kl)
    return trainer.ppo.target_kl is not None and mean_kl > trainer.ppo.target_kl


def _summarise(
    sums: dict[str, float], count: int, stop_early: bool, buf: RolloutBuffer, batch: _Batch, sizes: Sizes
) -> dict[str, float]:
    """Average the accumulated loss stats and add explained variance, experience and parameter statistics."""
    out = {f"losses/{k}": v / max(1, count) for k, v in sums.items()}
    out["losses/explained_variance"] = explained_variance(batch.values_np, batch.returns_np)
    out["losses/early_stop"] = float(stop_early)
    out.update(_experience_stats(buf, batch.values_np, batch.adv_np))
    # legacy names: the policy ratio averaged over the update; importance weights of prioritised replay (identity
    # here: segments are a uniform permutation); truncations (none: the arena time limit is a terminal)
    out["experience/ratio"] = out.get("losses/ratio", 1.0)
    out["losses/importance"] = 1.0
    out["experience/truncateds"] = 0.0
    out["parameters/num_minibatches"] = float(sizes.num_minibatches)
    out["parameters/minibatch_updates"] = float(count)
    return out


def ppo_update(
    policy: RecurrentPolicy,
    optimizer: torch.optim.Optimizer,
    buf: RolloutBuffer,
    trainer: TrainerConfig,
    hp: Hyperparameters,
    sizes: Sizes,
    generator: torch.Generator,
    init_params: list[torch.Tensor] | None = None,
    dist: DistContext | None = None,
    timer: NullTimer = NO_TIMER,
    autocast: Callable[[], AbstractContextManager] | None = None,
) -> dict[str, float]:
    """Run ``update_epochs`` passes of minibatch PPO; returns averaged statistics (raises TrainingError on NaN/inf).

    With a multi-process ``dist`` context, gradients (and the NaN flag and target-KL statistic) are averaged
    across ranks before each optimizer step, so every rank applies the same update. ``autocast`` (e.g. a bf16
    ``torch.autocast``) wraps the policy's forward pass only; the loss is computed in float32. ``timer`` receives
    one lap per phase (gae, train_forward, backward, optimizer).
    """
    amp = autocast if autocast is not None else nullcontext
    timer.start()
    batch = _prepare_batch(buf, trainer)
    coef = _coefficients(trainer, hp)
    timer.lap("gae")
    sums: dict[str, float] = {}
    count = 0
    stop_early = False
    for update_epoch in range(trainer.update_epochs):
        perm = torch.randperm(buf.num_segments, generator=generator).to(buf.values.device)
        epoch_kl: list[float] = []
        for mb_i, idx in enumerate(perm.tensor_split(sizes.num_minibatches)):
            loss, stats = _minibatch_loss(policy, batch, idx, coef, trainer, init_params, amp)
            where = f"update epoch {update_epoch}, minibatch {mb_i}"
            grad_norm = _backward_and_step(policy, optimizer, loss, stats, trainer, dist, timer, where)
            _accumulate_stats(sums, epoch_kl, stats, grad_norm)
            count += 1
            timer.lap("stats")
        if _kl_stop(epoch_kl, trainer, dist):
            stop_early = True
            break
    return _summarise(sums, count, stop_early, buf, batch, sizes)
