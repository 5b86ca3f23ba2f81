"""Where the command-line entry points live, named once for the library code that starts them as subprocesses."""

from __future__ import annotations

from metta.common.config import REPO_ROOT

TOOLS_DIR = REPO_ROOT / "tools"
TRAIN_SCRIPT = TOOLS_DIR / "train.py"  # the Hydra training entry point (one trial of a sweep)
RUN_SCRIPT = TOOLS_DIR / "run.py"  # the Tool runner: ./tools/run.py <module.function> --args ...
