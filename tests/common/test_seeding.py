import numpy as np
import pytest

from metta.common.seeding import derive_seed, make_rng, seed_everything


def test_make_rng_is_reproducible_and_independent_of_global_state():
    np.random.seed(123)
    a = make_rng(7).integers(0, 1_000_000, size=5)
    np.random.seed(999)
    b = make_rng(7).integers(0, 1_000_000, size=5)
    assert a.tolist() == b.tolist()
    assert make_rng(8).integers(0, 1_000_000, size=5).tolist() != a.tolist()


def test_derive_seed_is_deterministic_distinct_and_31_bit():
    seeds = {derive_seed(0, env, ep) for env in range(20) for ep in range(20)}
    assert len(seeds) == 400
    assert all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(5, 1, 2) == derive_seed(5, 1, 2)
    assert derive_seed(5, 1, 2) != derive_seed(5, 2, 1)


def test_seed_everything_applies_rank_offset_and_seeds_torch():
    torch = pytest.importorskip("torch")
    assert seed_everything(10, torch_deterministic=False, rank=3) == 13
    x = torch.rand(3)
    seed_everything(10, torch_deterministic=False, rank=3)
    assert torch.equal(x, torch.rand(3))
    seed_everything(10, torch_deterministic=False, rank=0)
    assert not torch.equal(x, torch.rand(3))
