"""Make ``./tools/<script>.py`` work from a plain shell: re-exec into the repository's .venv when it exists.

Imported first by every executable under tools/. Inside an activated virtualenv (VIRTUAL_ENV set) or when
already running on the repo's .venv interpreter, it does nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_VENV_PY = REPO_ROOT / ".venv" / "bin" / "python"


def _maybe_reexec() -> None:
    if os.environ.get("METTA_NO_REEXEC") or os.environ.get("VIRTUAL_ENV"):
        return
    if not _VENV_PY.exists():
        return
    if Path(sys.prefix).resolve() == (REPO_ROOT / ".venv").resolve():
        return
    os.environ["METTA_NO_REEXEC"] = "1"
    os.execv(str(_VENV_PY), [str(_VENV_PY), *sys.argv])


_maybe_reexec()
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
