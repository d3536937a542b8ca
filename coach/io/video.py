"""Video files out: `VideoSink` writes RGB frames to an MP4, atomically.

    with VideoSink("out/annotated.mp4", fps=info.fps, size_px=(w, h)) as sink:
        for rgb in frames:
            sink.write(rgb)

Frames go to a temporary file beside the target (same extension, so OpenCV picks the container),
which is renamed over the target when the block ends - also after Ctrl-C, keeping every frame
written so far. Any other error removes the temporary file and leaves the target untouched.
`cv2.VideoWriter.write` says nothing when the disk is full, so after the encoder is released the
file is checked (`check_video`: the MP4's boxes fill the file and its index is there, and it
re-opens with every frame written) and a short file is an `OutputError`, never published.
The MPEG-4 encoder needs even dimensions: an odd width or height is padded by one repeated
column / row (`written_size_px` says what is in the file). `fps` stays a float (29.97 is not 30).
With `threaded=True` the encoding runs in its own thread, a few frames behind `write` (OpenCV
releases the GIL while it encodes, so drawing the next frame overlaps encoding this one); an error
there is raised by the next `write` or by the end of the block.
"""

from __future__ import annotations

import errno
import math
import os
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np

from coach.errors import OutputError
from coach.io import faults
from coach.io.atomic import publish
from coach.io.background import JOIN_TIMEOUT_S, LOSSLESS, Mailbox

FOURCC = "mp4v"
ENCODE_QUEUE_FRAMES = 4   # frames drawn ahead of the encoder: enough to even out a slow frame, ~25 MB at 1080p
_DONE = object()          # the last item for the encoding thread


def _check_args(fps: float, size_px: tuple[int, int]) -> tuple[float, tuple[int, int]]:
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"VideoSink fps: expected a finite number > 0, got {fps}")
    if len(size_px) != 2 or any(int(v) != v or v <= 0 for v in size_px):
        raise ValueError(f"VideoSink size_px: expected (width, height) positive integers, got {size_px}")
    return fps, (int(size_px[0]), int(size_px[1]))


class VideoSink:
    """Context manager writing RGB uint8 frames of `size_px` (width, height) to an MP4 at `path`."""

    def __init__(self, path: str | os.PathLike, fps: float, size_px: tuple[int, int], *, threaded: bool = False):
        self.path = Path(path)
        self.fps, self.size_px = _check_args(fps, size_px)
        w, h = self.size_px
        self.written_size_px = (w + w % 2, h + h % 2)
        self.frames_written = 0
        self.threaded = threaded
        self._writer: cv2.VideoWriter | None = None
        self._tmp: Path | None = None
        self._box: Mailbox | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> VideoSink:
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            problem = "is not a folder" if folder.exists() else "does not exist"
            raise OutputError(f"{self.path}: folder {folder} {problem}")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=self.path.suffix or ".mp4", dir=folder)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write in {folder} ({exc.strerror})") from None
        os.close(fd)
        self._tmp = Path(tmp)
        self._log_level = _quiet_opencv()
        self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*FOURCC), self.fps,
                                       self.written_size_px)
        if not self._writer.isOpened():
            cv2.utils.logging.setLogLevel(self._log_level)
            self._discard()
            raise OutputError(f"{self.path}: cannot open an MP4 writer (codec {FOURCC}, "
                              f"{self.size_px[0]}x{self.size_px[1]} at {self.fps:g} fps)")
        if self.threaded:
            self._box = Mailbox(ENCODE_QUEUE_FRAMES, LOSSLESS)
            self._thread = threading.Thread(target=self._encoding, name="coach-encode", daemon=True)
            self._thread.start()
        return self

    def _encoding(self) -> None:
        """The encoding thread: frames from the mailbox until `_DONE` (or `_stop`)."""
        try:
            while (rgb := self._box.take(self._stop)) is not None and rgb is not _DONE:
                self._encode(rgb)
        except BaseException as exc:   # raised again in the writing thread
            self._error = exc
            self._stop.set()

    def _encode(self, rgb: np.ndarray) -> None:
        w, h = self.size_px
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if self.written_size_px != self.size_px:
            bgr = cv2.copyMakeBorder(bgr, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
        self._writer.write(bgr)
        self.frames_written += 1

    def _raise_encoding_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def write(self, rgb: np.ndarray) -> None:
        """Append one RGB uint8 frame of exactly `size_px`."""
        if self._writer is None:
            raise ValueError(f"{self.path}: VideoSink.write outside its `with` block")
        w, h = self.size_px
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.shape != (h, w, 3):
            got = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise ValueError(f"{self.path}: expected an RGB uint8 frame of shape {(h, w, 3)}, got {got}")
        if self._box is None:
            self._encode(rgb)
            return
        self._raise_encoding_error()
        if not self._box.put(rgb, self._stop):   # the frame is not written to again: handed over as it is
            self._raise_encoding_error()

    def _finish_encoding(self, keep: bool) -> None:
        """Let the encoding thread write what it was given (`keep`) or drop it, and wait for it."""
        if self._thread is None:
            return
        if not (keep and self._box.put(_DONE, self._stop)):
            self._stop.set()
        self._thread.join(timeout=None if keep else JOIN_TIMEOUT_S)
        self._thread = None

    def __exit__(self, exc_type, exc, tb) -> None:
        """Move the file into place on success and after Ctrl-C; remove it after any other error."""
        keep = exc_type is None or issubclass(exc_type, KeyboardInterrupt)
        try:
            self._finish_encoding(keep)
            if keep:
                self._raise_encoding_error()
        except BaseException:
            self._writer.release()
            self._writer = None
            cv2.utils.logging.setLogLevel(self._log_level)
            self._discard()
            raise
        self._writer.release()
        self._writer = None
        cv2.utils.logging.setLogLevel(self._log_level)
        if not keep:
            self._discard()
            return
        try:
            faults.after_native_write(self._tmp)
            check_video(self._tmp, self.frames_written)
            with open(self._tmp, "rb") as fh:
                os.fsync(fh.fileno())   # a full disk may only show here (see coach.atomic.settle)
            publish(self._tmp, self.path)
        except OSError as err:
            self._discard()
            why = err.strerror or str(err)
            why = "disk full" if why == os.strerror(errno.ENOSPC) else why
            raise OutputError(f"{self.path}: could not be written ({why})") from None

    def _discard(self) -> None:
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def _quiet_opencv() -> int:
    """Errors only from OpenCV while a video is written: on a full disk it warns "Failed to write
    frame" once per frame on stderr, where only the one-line error (from `check_video`) belongs.
    Returns the level to restore."""
    import cv2.utils.logging as cv_log

    level = cv_log.getLogLevel()
    cv_log.setLogLevel(min(level, cv_log.LOG_LEVEL_ERROR))
    return level


def _mp4_whole(path: Path) -> bool:
    """Whether the file's top-level MP4 boxes fill it exactly and include the index ('moov', which
    OpenCV's writer puts last): a file cut short by a full disk fails this without a decoder, which
    would print its complaint on stderr."""
    size, pos, index = path.stat().st_size, 0, False
    with open(path, "rb") as fh:
        while pos < size:
            fh.seek(pos)
            head = fh.read(16)
            if len(head) < 8:
                return False
            n, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if n == 1 and len(head) == 16:
                n = int.from_bytes(head[8:16], "big")   # a 64-bit box size
            elif n == 0:
                n = size - pos                          # "to the end of the file"
            if n < 8 or pos + n > size:
                return False
            index |= kind == b"moov"
            pos += n
    return index


def check_video(path: str | os.PathLike, frames: int) -> None:
    """`OSError(ENOSPC)` unless the MP4 at `path` is whole and re-opens with `frames` frames."""
    path = Path(path)
    whole = path.stat().st_size > 0 and _mp4_whole(path)
    found = -1
    if whole:
        cap = cv2.VideoCapture(str(path))
        try:
            found = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else -1
        finally:
            cap.release()
    if found < frames:
        got = "is cut short" if not whole else f"holds {max(found, 0)} of the {frames} frames written"
        raise OSError(errno.ENOSPC, f"disk full? the video {got}", str(path))
