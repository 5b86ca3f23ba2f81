"""The clipped PPO objective (pure torch function of one minibatch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    import numpy.typing as npt


@dataclass(frozen=True)
class PPOCoefficients:
    """Coefficients in effect for one update (after schedules)."""

    clip_coef: float
    vf_clip_coef: float
    ent_coef: float
    vf_coef: float
    clip_vloss: bool = True
    norm_adv: bool = True


def normalize(adv: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(A - mean) / (std + eps) with the unbiased std (0 for a single element)."""
    if adv.numel() < 2:
        return adv - adv.mean()
    return (adv - adv.mean()) / (adv.std() + eps)


def ppo_loss(
    new_logprob: torch.Tensor,
    old_logprob: torch.Tensor,
    entropy: torch.Tensor,
    new_value: torch.Tensor,
    old_value: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    coef: PPOCoefficients,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """loss = pg - ent_coef * entropy + vf_coef * v, and detached statistics.

    pg = mean(max(-A r, -A clip(r, 1±c))); v = 0.5 mean(max((v-R)^2, (V_old + clip(v-V_old, ±vc) - R)^2)) when
    clip_vloss, else 0.5 mean((v-R)^2). approx_kl = mean((r-1) - log r); clipfrac = mean(|r-1| > c).
    """
    adv = normalize(advantages) if coef.norm_adv else advantages
    log_ratio = new_logprob - old_logprob
    ratio = log_ratio.exp()
    pg = torch.max(-adv * ratio, -adv * ratio.clamp(1.0 - coef.clip_coef, 1.0 + coef.clip_coef)).mean()
    v_unclipped = (new_value - returns) ** 2
    if coef.clip_vloss:
        v_clipped = old_value + (new_value - old_value).clamp(-coef.vf_clip_coef, coef.vf_clip_coef)
        v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - returns) ** 2).mean()
    else:
        v_loss = 0.5 * v_unclipped.mean()
    ent = entropy.mean()
    loss = pg - coef.ent_coef * ent + coef.vf_coef * v_loss
    with torch.no_grad():
        stats = {
            "policy_loss": pg.detach(),
            "value_loss": v_loss.detach(),
            "entropy": ent.detach(),
            "approx_kl": ((ratio - 1.0) - log_ratio).mean(),
            "clipfrac": ((ratio - 1.0).abs() > coef.clip_coef).float().mean(),
            "ratio": ratio.mean(),
        }
    return loss, stats


def explained_variance(values: npt.ArrayLike, returns: npt.ArrayLike) -> float:
    """1 - Var(R - V) / Var(R); NaN when Var(R) is 0."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64).ravel()
    returns = np.asarray(returns, dtype=np.float64).ravel()
    var = returns.var()
    if var == 0:
        return float("nan")
    return float(1.0 - (returns - values).var() / var)
