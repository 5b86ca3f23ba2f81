"""Device and hardware-profile choice, decided one way for every entry point.

``auto`` means CUDA when a CUDA device is usable, else CPU. The hardware profile (``configs/hardware/{cpu,gpu}``)
follows the same rule. :func:`cuda_present` answers without importing torch (it looks for NVIDIA device files), so
tools that only launch other processes stay light; :func:`resolve_device` asks torch itself.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping

from metta.common.errors import ConfigError

HARDWARE_PROFILES = ("cpu", "gpu")


def cuda_present() -> bool:
    """True when an NVIDIA device is visible to this process (no torch import)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def visible_gpu_count(env: Mapping[str, str] | None = None) -> int:
    """NVIDIA GPUs this process may use, without importing torch: CUDA_VISIBLE_DEVICES when set, else device nodes."""
    visible = (os.environ if env is None else env).get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [d for d in visible.split(",") if d.strip()]
        return 0 if not ids or ids[0].strip() == "-1" else len(ids)
    return len(glob.glob("/dev/nvidia[0-9]*"))


def _torch_cuda() -> bool:
    import torch  # lazy: callers that never ask for a torch device must not pay for importing torch

    return bool(torch.cuda.is_available())


def resolve_device(spec: str) -> str:
    """``"auto"`` -> ``"cuda"`` or ``"cpu"``; an explicit CUDA device on a machine without CUDA is an error."""
    if spec == "auto":
        return "cuda" if _torch_cuda() else "cpu"
    if spec.startswith("cuda") and not _torch_cuda():
        raise ConfigError(f"device {spec!r} requested but CUDA is not available; use device=cpu or device=auto")
    if spec != "cpu" and not spec.startswith(("cuda", "mps")):
        raise ConfigError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:<index>")
    return spec


def resolve_hardware(profile: str) -> str:
    """``"auto"`` -> ``"gpu"`` when a CUDA device is present, else ``"cpu"``; explicit profiles pass through."""
    if profile == "auto":
        return "gpu" if cuda_present() else "cpu"
    if profile not in HARDWARE_PROFILES:
        raise ConfigError(f"unknown hardware profile {profile!r}; use auto, {', '.join(HARDWARE_PROFILES)}")
    return profile
