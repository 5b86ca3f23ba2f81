"""Protein's stall switch: after ``stall_ucb_after`` observations without a new best (by posterior mean) the next
model-based suggestion maximises UCB instead of EI, and EI returns once a new best is found."""

from __future__ import annotations

from metta.sweep import ParameterConfig, ProteinConfig, ProteinSettings
from metta.sweep.optim.protein import Protein


def _protein(stall: int) -> Protein:
    cfg = ProteinConfig(
        metric="score",
        parameters={"a": ParameterConfig(min=0.0, max=1.0), "b": ParameterConfig(min=0.0, max=1.0)},
        settings=ProteinSettings(
            num_random_samples=2, random_suggestions=128, suggestions_per_pareto=32, stall_ucb_after=stall
        ),
    )
    return Protein(cfg, seed=3)


def _feed(opt: Protein, points: list[tuple[float, float, float]]) -> None:
    for a, b, score in points:
        opt.observe({"a": a, "b": b}, score, 1.0)


BEST_FIRST = [(0.5, 0.5, 1.0), (0.05, 0.05, 0.1), (0.95, 0.1, 0.0), (0.1, 0.9, 0.05), (0.9, 0.9, 0.02)]


def _reason(opt: Protein) -> str:
    ((_, info),) = opt.suggest(1)
    assert info["phase"] == "model"
    return info["reason"]


def test_ei_until_stall_then_ucb() -> None:
    opt = _protein(stall=4)
    _feed(opt, BEST_FIRST[:4])  # the best point, then 3 worse ones: not stalled yet
    assert _reason(opt).startswith("max ei acquisition")
    opt = _protein(stall=4)
    _feed(opt, BEST_FIRST)  # 4 worse observations after the best
    reason = _reason(opt)
    assert reason.startswith("max ucb acquisition") and "stall_ucb_after" in reason


def test_new_best_returns_to_ei_and_zero_disables() -> None:
    opt = _protein(stall=4)
    _feed(opt, BEST_FIRST + [(0.55, 0.5, 1.5)])  # a clearly better point ends the stall
    assert _reason(opt).startswith("max ei acquisition")
    opt = _protein(stall=0)
    _feed(opt, BEST_FIRST + [(0.3, 0.7, 0.01), (0.7, 0.3, 0.03)])  # 6 worse observations, switch off
    assert _reason(opt).startswith("max ei acquisition")


def test_stall_counts_only_successful_observations() -> None:
    opt = _protein(stall=4)
    _feed(opt, BEST_FIRST[:4])
    opt.observe({"a": 0.3, "b": 0.8}, float("nan"), 1.0)  # a failed trial is not evidence of a stall
    assert _reason(opt).startswith("max ei acquisition")
