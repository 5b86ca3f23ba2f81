"""The one root exception of the project and its few subclasses.

Every error raised on purpose by library code derives from :class:`MettaError`. Messages name the bad value
and, where there is one, the fix.
"""

from __future__ import annotations


class MettaError(Exception):
    """Root of every deliberate metta error."""


class ConfigError(MettaError, ValueError):
    """A configuration value, key or file is invalid (names the key, the value and the fix)."""


class EnvConfigError(ConfigError):
    """The environment (game) configuration is invalid."""


class CheckpointError(MettaError):
    """A checkpoint is missing, truncated, corrupt or incompatible."""


class TrainingError(MettaError):
    """Training cannot continue (e.g. NaN/inf losses)."""


class EvaluationError(MettaError):
    """Evaluation failed (unknown simulation, policy/env mismatch, corrupt stats database...)."""


class OptimizerError(MettaError, ValueError):
    """The hyperparameter optimizer got invalid input (bad bounds, non-positive cost...)."""


class StoreError(MettaError):
    """A sweep store could not be opened, read or written."""


class DuplicateTrialError(StoreError):
    """Another worker is already running exactly this suggestion (ask the optimizer again)."""


class SweepError(MettaError):
    """The sweep loop cannot continue."""
