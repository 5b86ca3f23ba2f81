"""W&B sweep files on our loop: reader/exporter (reader.py) and the distribution mapping (distributions.py)."""

from metta.sweep.wandb_format.distributions import WANDB_DISTRIBUTIONS, sample, to_parameter
from metta.sweep.wandb_format.reader import WandbSweep, export_wandb_sweep, read_wandb_sweep

__all__ = ["WANDB_DISTRIBUTIONS", "WandbSweep", "export_wandb_sweep", "read_wandb_sweep", "sample", "to_parameter"]
