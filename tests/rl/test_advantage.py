import numpy as np
import pytest

from metta.rl.advantage import gae, gae_reference


def test_gae_matches_hand_computed_values():
    # one agent, 3 steps, done after step 1 (index 1): gamma=0.5, lambda=0.5
    r = np.array([[1.0, 2.0, 3.0]])
    v = np.array([[0.5, 1.0, 2.0]])
    d = np.array([[False, True, False]])
    boot = np.array([4.0])
    adv = gae(r, v, d, boot, gamma=0.5, gae_lambda=0.5)
    # t=2: delta = 3 + .5*4 - 2 = 3; A2 = 3
    # t=1: done -> delta = 2 - 1 = 1; A1 = 1 (no carry across the done)
    # t=0: delta = 1 + .5*1 - .5 = 1; A0 = 1 + .25*A1 = 1.25
    np.testing.assert_allclose(adv, [[1.25, 1.0, 3.0]], rtol=1e-6)


def test_gae_lambda_one_gives_discounted_return_minus_value():
    r = np.array([[1.0, 1.0, 1.0, 1.0]])
    v = np.zeros((1, 4))
    adv = gae(r, v, np.zeros((1, 4), bool), np.array([10.0]), gamma=0.9, gae_lambda=1.0)
    expected = [sum(0.9**k for k in range(4 - t)) + 0.9 ** (4 - t) * 10.0 for t in range(4)]
    np.testing.assert_allclose(adv[0], expected, rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gae_matches_slow_reference(seed):
    rng = np.random.default_rng(seed)
    n, t = 5, 23
    r = rng.normal(size=(n, t)).astype(np.float32)
    v = rng.normal(size=(n, t)).astype(np.float32)
    d = rng.random((n, t)) < 0.15
    boot = rng.normal(size=n).astype(np.float32)
    fast = gae(r, v, d, boot, 0.977, 0.916)
    slow = gae_reference(r.tolist(), v.tolist(), d.tolist(), boot.tolist(), 0.977, 0.916)
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)
