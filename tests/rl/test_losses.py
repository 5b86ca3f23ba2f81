import math

import numpy as np
import pytest
import torch

from metta.rl.losses import PPOCoefficients, explained_variance, normalize, ppo_loss


def test_ppo_loss_against_hand_computation():
    new_lp = torch.tensor([math.log(1.5), math.log(0.5)])
    old_lp = torch.zeros(2)
    ent = torch.tensor([1.0, 3.0])
    new_v = torch.tensor([1.0, 0.0])
    old_v = torch.tensor([0.0, 0.0])
    adv = torch.tensor([1.0, -1.0])
    ret = torch.tensor([2.0, 1.0])
    coef = PPOCoefficients(clip_coef=0.2, vf_clip_coef=0.5, ent_coef=0.01, vf_coef=0.5, clip_vloss=True, norm_adv=False)
    loss, stats = ppo_loss(new_lp, old_lp, ent, new_v, old_v, adv, ret, coef)
    # ratios 1.5 and 0.5: pg terms max(-1*1.5, -1*1.2) = -1.2 ; max(1*0.5, 1*0.8) = 0.8 -> mean -0.2
    assert float(stats["policy_loss"]) == pytest.approx(-0.2)
    # value: unclipped (1-2)^2=1, (0-1)^2=1 ; clipped v: 0.5 -> (0.5-2)^2=2.25 ; 0 -> 1 -> 0.5*mean(2.25, 1)
    assert float(stats["value_loss"]) == pytest.approx(0.5 * (2.25 + 1.0) / 2)
    assert float(stats["entropy"]) == pytest.approx(2.0)
    assert float(loss) == pytest.approx(-0.2 - 0.01 * 2.0 + 0.5 * 0.8125)
    assert float(stats["clipfrac"]) == pytest.approx(1.0)
    kl = ((1.5 - 1) - math.log(1.5) + (0.5 - 1) - math.log(0.5)) / 2
    assert float(stats["approx_kl"]) == pytest.approx(kl)


def test_unclipped_value_loss_and_gradients_flow():
    new_v = torch.tensor([1.0, 3.0], requires_grad=True)
    coef = PPOCoefficients(0.1, 0.1, 0.0, 1.0, clip_vloss=False, norm_adv=True)
    loss, stats = ppo_loss(
        torch.zeros(2),
        torch.zeros(2),
        torch.zeros(2),
        new_v,
        torch.zeros(2),
        torch.tensor([1.0, 2.0]),
        torch.tensor([0.0, 0.0]),
        coef,
    )
    assert float(stats["value_loss"]) == pytest.approx(0.5 * (1 + 9) / 2)
    loss.backward()
    assert new_v.grad.tolist() == pytest.approx([0.5, 1.5])


def test_normalize_and_explained_variance():
    a = torch.tensor([1.0, 2.0, 3.0])
    np.testing.assert_allclose(normalize(a).numpy(), [-1.0, 0.0, 1.0], atol=1e-6)
    assert explained_variance([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert explained_variance([0, 0, 0], [1, 2, 3]) == pytest.approx(0.0)
    assert math.isnan(explained_variance([1, 2], [5, 5]))
