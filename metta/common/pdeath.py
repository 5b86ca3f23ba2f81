"""Child processes that die with their parent: on Linux, ask the kernel to send SIGKILL to this process when the
process (thread) that started it exits, so a worker killed with ``kill -9`` leaves no child behind to write into
closed pipes."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int | None = None) -> bool:
    """Arrange SIGKILL for this process when its parent exits; returns False where the platform has no such call.

    ``expected_parent``: the parent's pid as the parent saw it. If the parent is already gone (we were re-parented
    before the call took effect), exit at once and quietly.
    """
    ok = False
    if sys.platform.startswith("linux"):
        try:
            ok = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0
        except (OSError, AttributeError):
            ok = False
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(0)
    return ok
