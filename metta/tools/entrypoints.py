"""Where the command-line entry points live, named once for the library code that starts them as subprocesses."""

from __future__ import annotations

import sys

from metta.common.config import REPO_ROOT
from metta.common.device import visible_gpu_count

TOOLS_DIR = REPO_ROOT / "tools"
TRAIN_SCRIPT = TOOLS_DIR / "train.py"  # the Hydra training entry point (one trial of a sweep)
RUN_SCRIPT = TOOLS_DIR / "run.py"  # the Tool runner: ./tools/run.py <module.function> --args ...
TRAIN_SH = REPO_ROOT / "devops" / "train.sh"  # torchrun wrapper: trains over every visible GPU (and across nodes)


def default_train_command() -> list[str]:
    """The trainer command of a sweep trial: this interpreter running tools/train.py; with more than one visible GPU,
    devops/train.sh, which trains over all of them with torchrun (so no GPU of the worker stays idle)."""
    if visible_gpu_count() > 1:
        return [str(TRAIN_SH)]
    return [sys.executable, str(TRAIN_SCRIPT)]
