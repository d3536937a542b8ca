"""Where the native (C++) libraries' log lines go: never the terminal, unless asked.

MediaPipe's C++ code writes INFO/WARNING lines (`INFO: [accelerator_registry.cc...]`, `WARNING: Sparsity
tensors...`, `W0000 ... landmark_projection_calculator...`) straight to file descriptor 2 when a
landmarker is made, on its first inference and when it is closed. Python's `logging` and
`GLOG_minloglevel` do not reach them, so the only way to keep them off the terminal (and keep a
`-q` run silent and an error one line) is to point fd 2 elsewhere for those moments.

`NativeLogWindow` does that, and puts fd 2 back in `finally`, so an exception raised inside still
surfaces normally once the window closes. While fd 2 is redirected, anything else the process
writes to stderr goes to the same place, so the windows are kept to the native calls themselves.

Where the lines go:
- by default nowhere (the null device);
- with `--verbose` (which sets `$COACH_NATIVE_LOG`) appended to a log file, by default
  `native.log` in the user's log folder (`~/.local/state/coach/log/` on Linux, `$COACH_STATE_DIR`
  when that is set);
- with `COACH_DEBUG=1` to the terminal as MediaPipe wrote them.

This module imports nothing heavy: the CLI uses it to set up `--verbose`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ENV_NATIVE_LOG = "COACH_NATIVE_LOG"  # a file to append the native log lines to (what --verbose sets)
ENV_DEBUG = "COACH_DEBUG"            # 1: let the native lines through to the terminal
ENV_STATE_DIR = "COACH_STATE_DIR"    # the same override as the screening answers' folder
LOG_NAME = "native.log"
# A log kept across runs must not grow without end: past this size it starts over. 1 MiB holds
# some thousand runs' worth of lines (about 1 kB each), far more than anyone reads back.
MAX_LOG_BYTES = 1 << 20
written_this_run = False  # whether this process appended anything to the --verbose log


def default_log_path() -> Path:
    """`native.log` in $COACH_STATE_DIR, else in the platform's user log folder."""
    folder = os.environ.get(ENV_STATE_DIR)
    if not folder:
        import platformdirs

        folder = platformdirs.user_log_dir("coach")
    return Path(folder) / LOG_NAME


def log_path() -> Path | None:
    """The file --verbose asked for, or None when the lines are thrown away."""
    value = os.environ.get(ENV_NATIVE_LOG)
    return Path(value) if value else None


def _open_target(what: str) -> int:
    """A file descriptor for the native lines: the --verbose log (with a header line), else the null device."""
    global written_this_run
    path = log_path()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
                path.unlink()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            os.write(fd, f"--- {stamp} pid {os.getpid()} {what}\n".encode())
            written_this_run = True
            return fd
        except OSError:
            pass  # an unwritable log must not stop the run: the lines are dropped instead
    return os.open(os.devnull, os.O_WRONLY)


def _point_fd2_away(what: str) -> int | None:
    """fd 2 pointed at the native log (or the null device); a duplicate of the old fd 2, or None when
    there is no fd 2 to hide (or no target could be opened)."""
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # a closed or missing sys.stderr
        pass
    try:
        saved = os.dup(2)
    except OSError:
        return None
    try:
        target = _open_target(what)
    except OSError:
        os.close(saved)
        return None
    try:
        os.dup2(target, 2)
    finally:
        os.close(target)
    return saved


def route_for_the_run(what: str = "run") -> bool:
    """For a whole command run as a program: fd 2 points at the native log (or nowhere) from now on,
    and Python's own `sys.stderr` keeps writing to the terminal through a duplicate of the old fd 2.

    The windows below cover the three moments MediaPipe is known to log at, but TFLite also logs on
    a later inference now and then ("Input tensor memory is not aligned ... Reallocating memory",
    seen once in about forty runs of the same clip: it depends on where a buffer happened to be
    allocated), from whichever thread runs the model; that line would come before an error's one
    line, or break a quiet run. Only the process's entry point calls this (`coach.cli.main` without
    an argv): a test calling `main([...])` keeps its own stderr. What is lost: a native library's
    fatal message (an abort) goes to the native log too, so run with --verbose or `COACH_DEBUG=1`
    to see it. Returns whether fd 2 was routed (not with `COACH_DEBUG`, nor without an fd 2)."""
    saved = None if os.environ.get(ENV_DEBUG) else _point_fd2_away(what)
    if saved is None:
        return False
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    sys.stderr = os.fdopen(saved, "w", buffering=1, encoding=encoding, errors="backslashreplace")
    return True


class NativeLogWindow:
    """fd 2 pointed at the native log (or the null device) from `open()` to `close()`.

    Both are idempotent, so a window opened for an asynchronous first inference can be closed by
    whichever comes first: its result, or the detector's close. Use `with` for a synchronous call.
    """

    def __init__(self, what: str):
        self.what = what
        self._saved_fd: int | None = None

    @property
    def is_open(self) -> bool:
        return self._saved_fd is not None

    def open(self) -> NativeLogWindow:
        if self._saved_fd is None and not os.environ.get(ENV_DEBUG):
            self._saved_fd = _point_fd2_away(self.what)
        return self

    def close(self) -> None:
        saved, self._saved_fd = self._saved_fd, None
        if saved is None:
            return
        try:
            sys.stderr.flush()  # what Python wrote inside the window belongs to the window
        except (OSError, ValueError, AttributeError):
            pass
        try:
            os.dup2(saved, 2)
        finally:
            os.close(saved)

    def __enter__(self) -> NativeLogWindow:
        return self.open()

    def __exit__(self, *exc_info) -> None:
        self.close()
