"""SIGINT and SIGTERM at any moment of a run: one exception, raised where the main thread
is, naming the phase it interrupted, so that every phase can still end with a report.

Start-up and writing defer the signal (it is noted, and acted on once the run knows where
its report goes, or once the report is whole); the shard loop turns it into a stop request
for the workers (see executor.stop_on_signals); everywhere else it raises `Interrupted`.
Only the first signal interrupts: later ones are noted while the run winds down.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

# Test hook: the process signals itself on entering the named phase ("snapshot", or
# "snapshot:SIGTERM"), so a test can interrupt each phase exactly. Unset in normal use.
PHASE_HOOK = "DSCAN_TEST_SIGNAL_AT_PHASE"
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The user (or a supervisor) asked the run to stop. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` on the way swallows it."""

    def __init__(self, phase: str, signal_name: str):
        super().__init__(f"interrupted by {signal_name} during {phase}")
        self.phase, self.signal_name = phase, signal_name

    def as_report(self) -> dict:
        return {"phase": self.phase, "signal": self.signal_name}


class _State:
    def __init__(self):
        self.phase = "start-up"
        self.deferring = 1  # start-up defers: nothing knows yet where a report would go
        self.noted: Interrupted | None = None  # the first signal, and the phase it hit
        self.raised = False
        self.installed = 0
        self.previous: dict = {}


_state = _State()


def _handler(signum, _frame) -> None:
    note(signum)
    if not _state.deferring and not _state.raised:
        _state.raised = True
        raise _state.noted


def note(signum: int, phase: str | None = None) -> None:
    """Remember the first signal and the phase it interrupted (without raising)."""
    if _state.noted is None:
        _state.noted = Interrupted(phase or _state.phase, signal.Signals(signum).name)


def received() -> Interrupted | None:
    """The interrupt this run has received, if any."""
    return _state.noted


def install() -> None:
    """Catch SIGINT and SIGTERM from now on (nested calls count; the last uninstall restores
    the previous handlers). A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return
    if _state.installed == 0:
        _state.previous = {sig: signal.signal(sig, _handler) for sig in SIGNALS}
    _state.installed += 1


def uninstall() -> None:
    if threading.current_thread() is not threading.main_thread() or not _state.installed:
        return
    _state.installed -= 1
    if _state.installed == 0:
        for sig, handler in _state.previous.items():
            signal.signal(sig, handler)
        reset()
    else:  # the run is over, the process not yet: a late signal is only noted
        _state.deferring += 1


def ignore_from_now() -> None:
    """The run is over: a signal while the interpreter shuts down changes nothing (Python
    would restore the default handlers, and a late Ctrl-C would kill it)."""
    _signal_if_asked("exit")  # noted, since the run is over: see uninstall
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def reset() -> None:
    """Forget the run's interrupt and phase (between in-process runs)."""
    _state.phase, _state.deferring, _state.noted, _state.raised = "start-up", 1, None, False


def begin_run() -> None:
    """A scan begins: in-process use (no handlers installed) starts from a clean state."""
    if not _state.installed:
        reset()


def started() -> None:
    """Start-up is over: the run knows where its report goes. A signal noted during
    start-up interrupts now."""
    _signal_if_asked("start-up")
    _state.deferring = max(_state.deferring - 1, 0)
    _raise_noted()


def check() -> None:
    """Raise the interrupt noted while the work before could not be interrupted."""
    _raise_noted()


def _raise_noted() -> None:
    if _state.noted is not None and not _state.deferring and not _state.raised:
        _state.raised = True
        raise _state.noted


@contextmanager
def phase(name: str):
    """Run a phase of the scan: an interrupt inside it names it."""
    before = _state.phase
    _state.phase = name
    try:
        _signal_if_asked(name)
        _raise_noted()
        yield
    finally:
        _state.phase = before


@contextmanager
def deferred(name: str | None = None):
    """Signals inside are noted, not raised: for work that must finish (removing a
    snapshot, writing a report). The caller looks at `received()` afterwards."""
    before = _state.phase
    _state.phase = name or before
    _state.deferring += 1
    try:
        if name:
            _signal_if_asked(name)
        yield
    finally:
        _state.deferring -= 1
        _state.phase = before


def current_phase() -> str:
    return _state.phase


def _signal_if_asked(name: str) -> None:
    asked = os.environ.get(PHASE_HOOK, "")
    wanted, _, signal_name = asked.partition(":")
    if wanted == name:
        os.kill(os.getpid(), getattr(signal, signal_name or "SIGINT"))
