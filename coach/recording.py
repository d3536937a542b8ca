"""Read and write landmark recordings in the pose-landmarks/1 format (JSON Lines, optionally gzip).

The format is specified in ../shared/landmarks/FORMAT.md: a header line, then one line per frame
with `frame`, `t` and `poses` (each `{"image": 33 x [x, y, z, visibility, presence],
"world": 33 x [x, y, z]}`). The person exercising is written first; others follow.

Writes are atomic: frames go to a temporary file beside the target, which replaces the target on
close — also after Ctrl-C (or SIGTERM / SIGHUP) or an input failing part way, so every frame written
so far is kept in a valid file, whose header then says `"partial": true`. A failure to write (a full
disk) removes the temporary file and leaves the target untouched. The header is written with `"partial": false ` reserved, so
that marking it costs one write in place: in a .gz file the header is a gzip member of its own,
stored uncompressed, so the same-length line gives a member of the same length (gzip readers read
concatenated members as one stream).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coach import faults, interrupts
from coach.atomic import publish, settle
from coach.errors import OutputError, RecordingError
from coach.landmarks import LANDMARK_NAMES, NUM_LANDMARKS
from coach.pose import Pose, PoseFrame
from coach.tracking import PrimaryTracker

FORMAT = "pose-landmarks/1"
IMAGE_FIELDS = ["x", "y", "z", "visibility", "presence"]
WORLD_FIELDS = ["x", "y", "z"]
# Decimal places written, as in the shared recordings: coordinates 5, visibility/presence 4, time 4.
COORD_DECIMALS, SCORE_DECIMALS, TIME_DECIMALS = 5, 4, 4
RECORDING_SUFFIXES = (".jsonl", ".jsonl.gz")
GZIP_LEVEL = 6  # level 9 costs ~1 ms more per frame for a few percent smaller files


def is_recording_path(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(RECORDING_SUFFIXES)


@dataclass(frozen=True)
class RecordingInfo:
    """The header of a recording. `fps` stays a float (29.97 is not 30)."""

    fps: float
    width: int
    height: int
    model: str = ""
    label: str = ""
    partial: bool = False   # the recording was cut short by Ctrl-C or a signal

    def header(self) -> dict:
        return {"format": FORMAT, "label": self.label, "fps": float(self.fps), "width": int(self.width),
                "height": int(self.height), "model": self.model, "landmark_names": list(LANDMARK_NAMES),
                "image_fields": IMAGE_FIELDS, "world_fields": WORLD_FIELDS, "partial": bool(self.partial)}


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def _parse_header(path: Path, line: str) -> RecordingInfo:
    try:
        head = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"{path}: line 1: not JSON ({exc.msg})") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        got = head.get("format") if isinstance(head, dict) else type(head).__name__
        raise RecordingError(f"{path}: line 1: format is {got!r}, expected {FORMAT!r}")
    names = head.get("landmark_names", list(LANDMARK_NAMES))
    if len(names) != NUM_LANDMARKS:
        raise RecordingError(f"{path}: line 1: {len(names)} landmark_names, expected {NUM_LANDMARKS}")
    try:
        return RecordingInfo(fps=float(head["fps"]), width=int(head["width"]), height=int(head["height"]),
                             model=str(head.get("model", "")), label=str(head.get("label", "")),
                             partial=head.get("partial") is True)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{path}: line 1: bad or missing header key {exc}") from None


def _parse_pose(where: str, item: dict, size: tuple[int, int]) -> Pose:
    try:
        image = np.asarray(item["image"], dtype=np.float64)
        world = np.asarray(item["world"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{where}: pose needs numeric 'image' and 'world' arrays ({exc})") from None
    if image.shape != (NUM_LANDMARKS, 5) or world.shape != (NUM_LANDMARKS, 3):
        raise RecordingError(f"{where}: expected {NUM_LANDMARKS} landmarks of 5 image and 3 world fields, "
                             f"got image {image.shape} and world {world.shape}")
    return Pose.from_arrays(image, world, size)


class Recording:
    """A recording opened for reading: `info` is parsed at once, `frames()` streams `PoseFrame`s."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise RecordingError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise RecordingError(f"{self.path}: is a directory, expected a .jsonl or .jsonl.gz recording")
        with _open_text(self.path) as fh:
            first = self._read_line(fh, 1)
        if not first.strip():
            raise RecordingError(f"{self.path}: empty file, expected a {FORMAT} header line")
        self.info = _parse_header(self.path, first)

    def _read_line(self, fh, lineno: int) -> str:
        try:
            return fh.readline()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise RecordingError(f"{self.path}: line {lineno}: unreadable ({exc})") from None

    def frames(self) -> Iterator[PoseFrame]:
        """Yield every frame; the person exercising is chosen stably, as for live detection."""
        size = (self.info.width, self.info.height)
        tracker = PrimaryTracker()
        fh = _open_text(self.path)
        try:
            self._read_line(fh, 1)
            lineno = 1
            while line := self._read_line(fh, lineno + 1):
                lineno += 1
                if not line.strip():
                    continue
                where = f"{self.path}: line {lineno}"
                try:
                    rec = json.loads(line)
                    poses = [_parse_pose(where, p, size) for p in rec["poses"]]
                    t_s, index = float(rec["t"]), int(rec["frame"])
                except json.JSONDecodeError as exc:
                    raise RecordingError(f"{where}: not JSON ({exc.msg})") from None
                except (KeyError, TypeError, ValueError) as exc:
                    raise RecordingError(f"{where}: frame needs 'frame', 't' and 'poses' ({exc})") from None
                pose, others = tracker.choose(poses)
                yield PoseFrame(t_s=t_s, index=index, pose=pose if pose is not None else Pose.empty(size),
                                others=others)
        finally:
            fh.close()

    def __iter__(self) -> Iterator[PoseFrame]:
        return self.frames()


def read_recording(path: str | os.PathLike) -> Recording:
    return Recording(path)


def _pose_json(pose: Pose) -> dict:
    image = pose.as_image_array()
    if not (np.isfinite(image).all() and np.isfinite(pose.world).all()):
        raise ValueError("cannot record a pose with non-finite landmarks")
    # .tolist() first: rounding Python floats is several times faster than rounding numpy scalars
    img = [[round(a, COORD_DECIMALS), round(b, COORD_DECIMALS), round(c, COORD_DECIMALS),
            round(v, SCORE_DECIMALS), round(p, SCORE_DECIMALS)] for a, b, c, v, p in image.tolist()]
    wld = [[round(x, COORD_DECIMALS), round(y, COORD_DECIMALS), round(z, COORD_DECIMALS)]
           for x, y, z in pose.world.tolist()]
    return {"image": img, "world": wld}


def frame_json(frame: PoseFrame) -> str:
    """One frame line. The exercising person is first; an empty pose is not written."""
    poses = [] if frame.pose.is_empty else [_pose_json(frame.pose)]
    poses += [_pose_json(p) for p in frame.others if not p.is_empty]
    return json.dumps({"frame": int(frame.index), "t": round(frame.t_s, TIME_DECIMALS), "poses": poses},
                      separators=(", ", ": "))


def _header_bytes(info: RecordingInfo, partial: bool, gz: bool) -> bytes:
    """The header line; "true " and "false" have the same length, so either fits the other's place."""
    text = json.dumps({**info.header(), "partial": partial}).replace('"partial": true}', '"partial": true }')
    line = (text + "\n").encode("utf-8")
    return gzip.compress(line, compresslevel=0, mtime=0) if gz else line


class RecordingWriter:
    """Context manager writing a recording atomically; gzip when the name ends in `.gz`."""

    def __init__(self, path: str | os.PathLike, info: RecordingInfo):
        self.path = Path(path)
        self.info = info
        self.frames_written = 0
        self.partial = False
        self._failed = False   # a write of this file failed (a full disk): it is not kept
        self._fh = None
        self._tmp: Path | None = None
        self._gz = self.path.name.endswith(".gz")

    def __enter__(self) -> RecordingWriter:
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise OutputError(f"{self.path}: folder {folder} does not exist")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write in {folder} ({_why(exc)})") from None
        self._tmp = Path(tmp)
        raw = faults.fdopen(fd, "wb")
        try:
            raw.write(_header_bytes(self.info, False, self._gz))
        except OSError as exc:
            raw.close()
            self._tmp.unlink(missing_ok=True)
            raise OutputError(f"{self.path}: could not be written ({_why(exc)})") from None
        binary = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=GZIP_LEVEL) if self._gz else raw
        self._raw, self._fh = raw, io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
        return self

    def write(self, frame: PoseFrame) -> None:
        """One frame line. A signal arriving meanwhile waits until the line is whole (a gzip stream
        cut between its checksum and its data would not read back)."""
        line = frame_json(frame) + "\n"
        with interrupts.deferred():
            try:
                self._fh.write(line)
            except OSError as exc:
                self._failed = True
                raise OutputError(f"{self.path}: could not be written ({_why(exc)})") from None
            self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        """Finish the file and move it into place - marked partial when something stopped it (Ctrl-C,
        a signal, an input that fails part way) - unless writing it failed (a full disk): then remove
        it, leaving the target untouched. A failure to finish it is an `OutputError`. (An error from
        elsewhere - a terminal gone after SIGHUP - does not cost the frames already written.)"""
        if self._failed:   # the write's own OutputError is on its way; only clean up
            for fh in (self._fh, self._raw):
                with contextlib.suppress(OSError, ValueError):
                    fh.close()
            self._tmp.unlink(missing_ok=True)
            return
        keep, cut_short = True, exc_type is not None
        try:
            if self._gz:
                self._fh.close()   # ends the gzip stream, which leaves the raw file it wraps open...
            else:
                self._fh.flush()
            settle(self._raw)
            self._fh.close()
            self._raw.close()      # ...so close that too, or its last bytes arrive after the rename
            if keep and cut_short:
                self._mark_partial()
            if keep:
                publish(self._tmp, self.path)
        except OSError as err:
            keep = False
            with contextlib.suppress(OSError, ValueError):
                self._raw.close()
            raise OutputError(f"{self.path}: could not be written ({_why(err)})") from None
        finally:
            if not keep:
                self._tmp.unlink(missing_ok=True)

    def _mark_partial(self) -> None:
        old, new = _header_bytes(self.info, False, self._gz), _header_bytes(self.info, True, self._gz)
        if len(old) != len(new):   # cannot happen (see the module doc); never corrupt the frames for it
            return
        with open(self._tmp, "r+b") as fh:
            fh.write(new)
            settle(fh)
        self.partial = True


def _why(err: OSError) -> str:
    return "disk full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
