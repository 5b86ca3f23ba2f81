"""Optional ways to raise the network's compute limit: bf16 autocast and ``torch.compile`` (both off by default).

- ``precision: bf16`` runs the policy's forward passes (rollout and update) under ``torch.autocast`` with bfloat16
  (matrix products and convolutions in bf16, accumulated in fp32); log-probs, values, the loss, gradients and the
  optimizer state stay float32. Needs a CPU with native bf16 (AVX512-BF16 / AMX) or a CUDA device.
- ``compile: true`` compiles the observation encoder and the actor/critic heads with ``torch.compile`` (the LSTM and
  its reset-aware unroll stay eager). Needs a C++ compiler on CPU.

Neither is bit-identical to the float32 eager default; the tests bound the loss difference.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from metta.common.config_base import FrozenConfig
from metta.common.errors import ConfigError

if TYPE_CHECKING:  # torch is imported by the functions: ComputeConfig is read by tools that never train
    import torch

    from metta.agent.policy import RecurrentPolicy

Autocast = Callable[[], AbstractContextManager]


class ComputeConfig(FrozenConfig):
    """Numerical precision and compilation of the policy's passes (defaults: float32, eager = deterministic)."""

    precision: Literal["fp32", "bf16"] = Field("fp32", description="fp32, or bf16 autocast of forward passes.")
    compile: bool = Field(False, description="torch.compile the encoder and heads (needs a C++ compiler on CPU).")


def bf16_supported(device: torch.device) -> bool:
    """True when ``device`` runs bf16 matrix products natively (CUDA with bf16, or a CPU with AVX512-BF16/AMX)."""
    import torch

    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def compiler_available() -> bool:
    """True when a C++ compiler for inductor's CPU kernels is on PATH (``$CXX``, g++, clang++ or c++)."""
    names = [os.environ.get("CXX", ""), "g++", "clang++", "c++"]
    return any(name and shutil.which(name) for name in names)


def autocast_factory(cfg: ComputeConfig, device: torch.device) -> Autocast | None:
    """A factory of the autocast context for ``cfg.precision`` on ``device`` (None for fp32)."""
    if cfg.precision == "fp32":
        return None
    if not bf16_supported(device):
        raise ConfigError(
            f"trainer.compute.precision=bf16 needs native bf16 on {device} (AVX512-BF16/AMX CPU or a bf16 GPU), "
            "which was not found; use trainer.compute.precision=fp32"
        )
    import torch

    return partial(torch.autocast, device_type=device.type, dtype=torch.bfloat16)


def apply_compile(policy: RecurrentPolicy, cfg: ComputeConfig) -> RecurrentPolicy:
    """With ``cfg.compile``, replace the policy's ``encode_features`` and ``heads`` by compiled versions (in place;
    parameters and state_dict are unchanged, so checkpoints are the same). Returns the policy."""
    if not cfg.compile:
        return policy
    if next(policy.parameters()).device.type == "cpu" and not compiler_available():
        raise ConfigError(
            "trainer.compute.compile=true needs a C++ compiler (g++/clang++, or $CXX) for CPU kernels, and none was "
            "found on PATH; install one or use trainer.compute.compile=false"
        )
    import torch

    policy.encode_features = torch.compile(policy.encode_features, dynamic=False)  # type: ignore[method-assign]
    policy.heads = torch.compile(policy.heads, dynamic=False)  # type: ignore[method-assign]
    return policy
