"""Search-space transforms: round trips, bounds, integer/pow2 types, against brute-force enumeration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metta.common.errors import OptimizerError
from metta.sweep.optim.config import ParameterConfig
from metta.sweep.optim.spaces import SearchSpace, decode, encode, search_center, search_scale

CONTINUOUS = [
    ParameterConfig(min=-3.0, max=7.0, distribution="uniform"),
    ParameterConfig(min=1e-5, max=1e-2, distribution="log_normal"),
    ParameterConfig(min=0.05, max=0.99, distribution="logit_normal"),
]


@pytest.mark.parametrize("p", CONTINUOUS, ids=lambda p: p.distribution)
def test_continuous_round_trip_and_bounds(p: ParameterConfig) -> None:
    zs = np.linspace(-1.2, 1.2, 241)  # includes values outside [-1, 1]: decode clips
    for z in zs:
        v = decode(p, z)
        assert isinstance(v, float)
        assert p.min <= v <= p.max
        if -1 <= z <= 1:
            assert encode(p, v) == pytest.approx(z, abs=1e-9)
    for v in np.linspace(p.min, p.max, 50):
        assert decode(p, encode(p, v)) == pytest.approx(v, rel=1e-9)
    assert encode(p, p.min) == pytest.approx(-1.0) and encode(p, p.max) == pytest.approx(1.0)


def test_log_normal_is_uniform_in_log_space() -> None:
    p = ParameterConfig(min=1e-4, max=1e-2, distribution="log_normal")
    assert decode(p, 0.0) == pytest.approx(1e-3)  # geometric centre
    p = ParameterConfig(min=0.1, max=0.9, distribution="logit_normal")
    assert decode(p, 0.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "p, expected",
    [
        (ParameterConfig(min=2, max=8, distribution="int_uniform"), list(range(2, 9))),
        (ParameterConfig(min=2.5, max=5.5, distribution="int_uniform"), [3, 4, 5]),
        (ParameterConfig(min=256, max=4096, distribution="uniform_pow2"), [256, 512, 1024, 2048, 4096]),
        (ParameterConfig(min=100, max=1000, distribution="uniform_pow2"), [128, 256, 512]),
        (ParameterConfig(values=["relu", "tanh", 3]), ["relu", "tanh", 3]),
    ],
    ids=["int", "int_frac_bounds", "pow2", "pow2_unaligned", "categorical"],
)
def test_discrete_values_match_brute_force(p: ParameterConfig, expected: list) -> None:
    zs = np.linspace(-1, 1, 4001)
    seen = [decode(p, z) for z in zs]
    assert sorted(set(map(repr, seen))) == sorted(map(repr, expected))  # every value reachable, nothing else
    counts = np.array([sum(1 for s in seen if s == e and type(s) is type(e)) for e in expected])
    assert counts.min() > 0.8 * counts.max()  # equal bins: uniform sampling is uniform over values
    for v in expected:
        assert decode(p, encode(p, v)) == v and type(decode(p, encode(p, v))) is type(v)
    if p.distribution != "categorical":
        assert all(isinstance(s, int) for s in seen)
        assert all(p.min <= s <= p.max for s in seen)
    if p.distribution == "uniform_pow2":
        assert all(s & (s - 1) == 0 for s in seen)


def test_encode_rejects_values_outside_the_space() -> None:
    with pytest.raises(OptimizerError, match="outside"):
        encode(ParameterConfig(min=0, max=1, distribution="uniform"), 1.5)
    with pytest.raises(OptimizerError, match="power of two"):
        encode(ParameterConfig(min=256, max=4096, distribution="uniform_pow2"), 300)
    with pytest.raises(OptimizerError, match="not an integer"):
        encode(ParameterConfig(min=1, max=9, distribution="int_uniform"), 2.5)
    with pytest.raises(OptimizerError, match="not one of"):
        encode(ParameterConfig(values=["a", "b"]), "c")


def test_centre_and_scale() -> None:
    p = ParameterConfig(min=1e-4, max=1e-2, distribution="log_normal", mean=3e-4, scale="time")
    assert decode(p, search_center(p)) == pytest.approx(3e-4)
    assert search_scale(p) == pytest.approx(1.0 / math.log2(100))
    q = ParameterConfig(min=262144, max=2097152, distribution="uniform_pow2", mean=524288)
    assert decode(q, search_center(q)) == 524288
    assert search_scale(q) == 0.5
    r = ParameterConfig(min=0, max=10, distribution="int_uniform", mean=3)
    assert decode(r, search_center(r)) == 3


def test_search_space_vector_round_trip_and_snap() -> None:
    flat = {
        "b.lr": CONTINUOUS[1],
        "a.n": ParameterConfig(min=1, max=4, distribution="int_uniform"),
        "c": ParameterConfig(values=[True, False]),
    }
    space = SearchSpace.from_flat(flat)
    assert space.names == ("a.n", "b.lr", "c")
    rng = np.random.default_rng(0)
    for z in rng.uniform(-1, 1, (50, 3)):
        values = space.decode(z)
        snapped = space.snap(z)[0]
        assert np.allclose(space.encode(values), snapped)
        assert space.decode(snapped) == values
    with pytest.raises(OptimizerError, match="missing"):
        space.encode({"a.n": 1})
