"""Stopping on a signal: SIGTERM and SIGHUP are handled like Ctrl-C, and the results survive them all.

`timeout`, systemd and a closing terminal send SIGTERM or SIGHUP; their default action kills the
process at once, leaving the hidden temporary outputs behind and the results lost. `handling()`
(entered by `coach.cli.main`) makes each of SIGINT, SIGTERM and SIGHUP raise `Interrupted`, a
`KeyboardInterrupt`, so every "Ctrl-C keeps what was produced" path in the writers serves all three.

Only the first signal raises. From then on the command is stopping: it is finishing and publishing
the outputs for what was done, and a second Ctrl-C (people press it twice) must not interrupt that,
so later signals are only noted. `deferred()` extends the same protection to the flush after a run
that ended normally: a signal arriving while the results are being written is held back and raised
when the block ends, after publication. `exit_code()` is 128 + the signal's number, as a shell
reports a process killed by it (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_WHAT = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)", signal.SIGHUP: "hung up (SIGHUP)"}


class Interrupted(KeyboardInterrupt):
    """A stop requested by a signal (`signum`): the writers treat it exactly as Ctrl-C. `waited`: it
    was held back by `deferred()` and raised when the block ended, so what the block wrote is whole."""

    def __init__(self, signum: int = signal.SIGINT, waited: bool = False):
        super().__init__(signum)
        self.signum, self.waited = signum, waited


class _State:
    def __init__(self) -> None:
        self.signum: int | None = None   # the first signal received
        self.raised = False              # whether it has been raised as `Interrupted`
        self.depth = 0                   # nesting of `deferred()` blocks


_state = _State()


def _on_signal(signum: int, _frame) -> None:
    if _state.signum is not None:
        return                           # already stopping: the flush in progress must finish
    _state.signum = signum
    if _state.depth == 0:
        _state.raised = True
        raise Interrupted(signum)


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise `Interrupted` inside the block (main thread only; elsewhere
    Python cannot set handlers and the block runs with whatever is there)."""
    global _state
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state = _State()
    previous = {signum: signal.signal(signum, _on_signal) for signum in HANDLED}
    try:
        yield
    finally:
        # Once a signal has stopped the command the process is exiting: a late second Ctrl-C (people
        # press it twice) must not kill it during the interpreter's shutdown (exit -2, not 130).
        stopping = _state.signum is not None
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if stopping else handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Signals arriving inside are held back; the first is raised when the outermost block ends
    without an error, so that the results being written are complete and published first."""
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
    if _state.depth == 0 and _state.signum is not None and not _state.raised:
        _state.raised = True
        raise Interrupted(_state.signum, waited=True)


def waited(exc: BaseException | None) -> bool:
    """Whether `exc` is a signal `deferred()` held back until its block was done (see `Interrupted`)."""
    return isinstance(exc, Interrupted) and exc.waited


def received() -> int:
    """The signal that stopped the command (SIGINT when it was a plain KeyboardInterrupt)."""
    return _state.signum if _state.signum is not None else signal.SIGINT


def exit_code() -> int:
    return 128 + int(received())


def describe() -> str:
    """'interrupted', 'terminated (SIGTERM)' or 'hung up (SIGHUP)': the end of the one-line message."""
    return _WHAT.get(received(), f"stopped by signal {int(received())}")
