"""Ctrl-C that cannot be lost: a SIGINT/SIGTERM handler that records the request in a flag as well as raising
KeyboardInterrupt, plus deferral of the raise over short critical sections.

Python runs signal handlers between bytecodes of the main thread. When that happens inside a finalizer, an at-fork
hook (``subprocess.Popen`` runs the logging module's) or a C extension that cannot propagate errors, the
KeyboardInterrupt is printed as "Exception ignored" and dropped, and a long wait that follows would never notice the
user's Ctrl-C. Code that waits therefore calls :func:`check` in its poll loop: it re-raises a request that was
swallowed. Code that must not be cut in half (a store record that a trial started, or finished) runs under
:func:`deferred`: a signal arriving there only sets the flag, and the next :func:`check` (or :func:`allowed`) raises.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()


class _State:
    defer = 0  # depth of nested deferred() sections
    depth = 0  # depth of nested handling() sections
    reason = "interrupt requested"  # what the last request was, for the KeyboardInterrupt message


_state = _State()


def _reason(signum: int) -> str:
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return f"terminated by {name}" if signum == signal.SIGTERM else f"interrupted by {name}"


def on_signal(signum: int, frame: FrameType | None) -> None:
    """Signal handler: remember the request (and which signal), and raise KeyboardInterrupt unless deferred."""
    _state.reason = _reason(signum)
    _requested.set()
    if _state.defer == 0:
        raise KeyboardInterrupt(_state.reason)


def requested() -> bool:
    """True once an interrupt arrived (since the last :func:`handling` began)."""
    return _requested.is_set()


def reason() -> str:
    """What the last request was, e.g. "terminated by SIGTERM" (for a run's recorded error)."""
    return _state.reason


def check() -> None:
    """Raise KeyboardInterrupt if an interrupt arrived, even one whose first raise was swallowed."""
    if _requested.is_set():
        raise KeyboardInterrupt(reason())


def request() -> None:
    """Ask for an interrupt from code (e.g. a test or another thread); the next :func:`check` raises."""
    _requested.set()


@contextmanager
def deferred(raise_on_exit: bool = True) -> Iterator[None]:
    """Hold interrupts over a critical section; on a clean exit raise the one that arrived (if ``raise_on_exit``)."""
    _state.defer = _state.defer + 1
    try:
        yield
    finally:
        _state.defer = _state.defer - 1
    if raise_on_exit:
        check()


@contextmanager
def allowed() -> Iterator[None]:
    """Inside a deferred section, let interrupts raise again (raising at once if one is pending)."""
    saved = _state.defer
    _state.defer = 0
    try:
        check()
        yield
    finally:
        _state.defer = saved


@contextmanager
def handling(signals: tuple[int, ...] = (signal.SIGINT,)) -> Iterator[None]:
    """Install :func:`on_signal` for ``signals`` (main thread only; a signal set to be ignored stays ignored) and
    restore the previous handlers on exit. A request belongs to the outermost section: it is cleared when that
    section begins and when it ends, so a handled Ctrl-C never makes later code in the process raise."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _state.depth == 0:
        _requested.clear()
        _state.reason = "interrupt requested"
    _state.depth += 1
    saved = {}
    try:
        for sig in signals:
            prev = signal.getsignal(sig)
            if prev is signal.SIG_IGN or prev is on_signal:
                continue
            saved[sig] = prev
            signal.signal(sig, on_signal)
        yield
    finally:
        for sig, prev in saved.items():
            signal.signal(sig, prev)
        _state.depth -= 1
        if _state.depth == 0:
            _requested.clear()
