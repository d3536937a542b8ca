"""A test hook that simulates a full disk in every writer, read in this one place.

    COACH_FAULT_ENOSPC_AFTER_BYTES=N coach analyze ...

With the variable set, the files this process writes share one budget of N bytes: the write that
would go past it stores what fits and raises `OSError(ENOSPC)`, as a full disk does. The files
opened through `fdopen` (every atomic write: CSV, HTML, JSON, TOML, recordings) are counted as they
are written. A video is written by OpenCV's encoder, which cannot be intercepted and which never
reports a full disk; so `after_native_write` counts the finished file and cuts it at the budget, as a
full disk leaves it - and the real check after the encoder is released has to find it short.

Unset (always, outside tests) the hook costs one dictionary look-up per file opened.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

ENV = "COACH_FAULT_ENOSPC_AFTER_BYTES"


class _Budget:
    def __init__(self) -> None:
        self.left: int | None = None
        self.read = False

    def remaining(self) -> int | None:
        if not self.read:
            self.read = True
            text = os.environ.get(ENV, "").strip()
            self.left = max(0, int(text)) if text else None
        return self.left


_budget = _Budget()


def _full(path: str) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


class _BudgetedRaw(io.RawIOBase):
    """A raw file that stores at most the bytes left in the budget, then raises ENOSPC."""

    def __init__(self, fd: int):
        self._file = io.FileIO(fd, "w")
        self.name = self._file.name

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        left = _budget.left
        if left <= 0 and len(data):
            raise _full(str(self.name))
        n = self._file.write(bytes(data[:left]))
        _budget.left = left - n
        return n

    def fileno(self) -> int:
        return self._file.fileno()

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._file.close()


def fdopen(fd: int, mode: str = "w", **kwargs):
    """`os.fdopen` for a new output file, counted against the budget when the hook is on."""
    if _budget.remaining() is None:
        return os.fdopen(fd, mode, **kwargs)
    if "r" in mode or "+" in mode:
        raise ValueError(f"faults.fdopen is for new output files, got mode {mode!r}")
    buffered = io.BufferedWriter(_BudgetedRaw(fd))
    if "b" in mode:
        return buffered
    return io.TextIOWrapper(buffered, encoding=kwargs.get("encoding"), newline=kwargs.get("newline"),
                            write_through=False)


def after_native_write(path: str | os.PathLike) -> None:
    """Count a file written by native code (the video encoder); cut it at the budget if it passes it."""
    if _budget.remaining() is None:
        return
    size = Path(path).stat().st_size
    if size > _budget.left:
        os.truncate(path, _budget.left)
        _budget.left = 0
        return
    _budget.left -= size
