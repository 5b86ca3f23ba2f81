"""``from metta.sweep.protein import Protein`` keeps working: the optimizer lives in :mod:`metta.sweep.optim`."""

from metta.sweep.optim.protein import Protein

__all__ = ["Protein"]
