"""Atomic file writes: write beside the target, then rename over it.

A reader never sees a half-written file, and a failed write (disk full, no permission) leaves
nothing behind but raises `OutputError` with a one-line message naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from coach.errors import OutputError
from coach.io import faults


def _describe(err: OSError) -> str:
    if err.errno == errno.ENOSPC:
        return "disk full"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    return err.strerror or str(err)


def ensure_dir(path: str | os.PathLike) -> Path:
    """Create an output folder (and parents); `OutputError` when that is not possible."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):   # a file (or a file above it) where the folder would go
        blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), path)
        raise OutputError(f"{blocking}: exists and is a file, not a folder; choose another output folder") from None
    except OSError as err:
        raise OutputError(f"{path}: cannot create output folder ({_describe(err)})") from None
    if not os.access(path, os.W_OK):
        raise OutputError(f"{path}: output folder is not writable")
    return path


def _new_file_mode() -> int:
    """The mode `open()` gives a new file (0o666 less the umask); mkstemp's own 0o600 would hide
    recordings and reports from everyone else."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def settle(fh: IO) -> None:
    """Flush a file to the disk before it is published: some file systems (network ones, and any
    with delayed allocation) report a full disk only here, and a rename of unsynced data can leave
    an empty file after a crash."""
    fh.flush()
    os.fsync(fh.fileno())


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Move a finished temporary file over `path`, with the permissions a plainly created file has."""
    os.chmod(tmp, _new_file_mode())
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", keep_on_interrupt: bool = False,
                **kwargs) -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path`.

    On an error the temporary file is removed and `path` is untouched. With `keep_on_interrupt`,
    Ctrl-C still moves what was written into place (for streams whose every line is valid).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise OutputError(f"{path}: cannot write ({_describe(err)})") from None
    keep = False
    try:
        with faults.fdopen(fd, mode, **kwargs) as fh:
            try:
                yield fh
            except KeyboardInterrupt:
                if keep_on_interrupt:
                    settle(fh)
                    keep = True
                raise
            settle(fh)
            keep = True
    except OSError as err:
        keep = False
        raise OutputError(f"{path}: could not be written ({_describe(err)})") from None
    finally:
        if keep:
            try:
                publish(tmp, path)
            except OSError as err:
                Path(tmp).unlink(missing_ok=True)
                raise OutputError(f"{path}: could not be written ({_describe(err)})") from None
        else:
            Path(tmp).unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
