"""Frame sources: a camera index, a video file, an image, a folder of images. Each yields `Frame`s.

Every frame is C-contiguous RGB uint8 (gray, alpha, 16-bit and palette inputs are converted: GRAY8
poisons the landmarker) with `t_s` strictly increasing float seconds: container timestamps for
videos (variable frame rates keep real time), the clock for cameras, `index / fps` for images.
Rotation metadata is honoured (display matrix, EXIF). Videos and cameras are decoded in a thread
(`coach.io.background`: lossless for a video, newest-frame-only for a camera), overlapping inference;
captures are released in `finally`. A video's `frames(max_rate_hz=...)` keeps at most that many frames
per second by their own timestamps (`RateCap`); the ones it drops are only demuxed and decoded
(`grab()`), never converted to pixels (`retrieve()`, BGR to RGB): a 1080p 60 fps clip capped at 30
frames/s decodes in about 0.7 of the time of reading and converting every frame (measured here). Problems are `InputError`s naming the input. `InputInfo` describes
any input. Recordings are recognised here but replayed by `coach.session.feed`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from coach.errors import InputError
from coach.io.background import LATEST, LOSSLESS, Background

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pgm", ".ppm", ".pbm")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp")
DEFAULT_CAMERA_FPS = 30.0
CAMERA_FIRST_FRAME_TIMEOUT_S = 10.0
TRUNCATED_FRACTION = 0.9  # fewer decoded frames than this share of the container's count = truncated
_QUEUE_FRAMES = {"video": 8, "camera": 1}  # a few frames ahead of inference; a camera: only the newest
_EXIF_ORIENTATION_TAG = 0x0112


RECORDING_SUFFIXES = (".jsonl", ".jsonl.gz")   # pose-landmarks/1 recordings (coach.pose.recording)


def is_recording_path(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(RECORDING_SUFFIXES)


class Frame(NamedTuple):
    """One decoded image: `t_s` float seconds (strictly increasing), 0-based index, C-contiguous RGB uint8."""

    t_s: float
    index: int
    rgb: np.ndarray


KINDS = ("camera", "stream", "video", "image", "folder", "recording")


@dataclass(frozen=True)
class InputInfo:
    """What is read - the one description of an input, from the source to the report's `input`.

    `name`: the file name (or "camera 0", a stream's URL); `path`: the input as given; `kind`:
    camera | stream | video | image | folder | recording (a report names what was coached: video |
    image | recording | camera); `size_px` (width, height; 0 when a camera does not say). The first six
    fields, in this order, are session.json's `input` (`as_report`); the rest are for progress and
    recordings."""

    name: str
    path: str
    kind: str
    fps: float
    size_px: tuple[int, int]
    model: str = ""                 # the model's file name (a recording: the one it was made with)
    frame_count: int | None = None  # None when unknown (cameras, recordings)
    label: str = ""                 # a recording's label

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        fps = float(self.fps)
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps: expected a finite number > 0, got {self.fps}")
        size = tuple(int(v) for v in self.size_px)
        if len(size) != 2 or min(size) < 0 or size != tuple(self.size_px):
            raise ValueError(f"size_px: expected (width, height) integers >= 0, got {self.size_px}")
        if self.frame_count is not None and int(self.frame_count) < 0:
            raise ValueError(f"frame_count: expected None or 0 or more, got {self.frame_count}")
        object.__setattr__(self, "fps", fps)
        object.__setattr__(self, "size_px", size)

    @property
    def live(self) -> bool:
        """It runs in real time: frames come whether or not anyone is ready for them."""
        return self.kind in ("camera", "stream")

    def as_report(self) -> dict:
        """The fields session.json's `input` holds, in its order (unchanged since coach-session/1)."""
        return {"name": self.name, "path": self.path, "kind": self.kind, "fps": self.fps,
                "size_px": list(self.size_px), "model": self.model}


def _described(kind: str, spec, fps: float, size_px: tuple[int, int], frame_count: int | None = None) -> InputInfo:
    """The InputInfo of a source opened from `spec` (a path, or a camera index)."""
    name = f"camera {spec}" if kind == "camera" else (str(spec) if kind == "stream" else Path(str(spec)).name)
    return InputInfo(name, str(spec), kind, fps, size_px, frame_count=frame_count)


def _cv2():
    """cv2, imported on first use with its own and FFmpeg's console logging silenced."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read when a file is opened
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2


# --- pixels -----------------------------------------------------------------------------------

def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        scale = 255.0 if np.nanmax(a, initial=0.0) <= 1.0 else 1.0
        return np.clip(np.nan_to_num(a) * scale + 0.5, 0, 255).astype(np.uint8)
    raise ValueError(f"unsupported pixel type {a.dtype}")


def _over_white(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colour (H, W, C) composited over white by alpha (H, W, 1), all uint8."""
    weight = alpha.astype(np.float32) / 255.0
    return (colour.astype(np.float32) * weight + 255.0 * (1.0 - weight) + 0.5).astype(np.uint8)


def to_rgb8(image: np.ndarray, order: str = "bgr") -> np.ndarray:
    """Any decoded image (gray, gray+alpha, BGR/RGB, BGRA/RGBA; uint8, uint16 or float) as C-contiguous
    RGB uint8. `order` is the channel order of 3- and 4-channel input ("bgr" as OpenCV decodes)."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.size == 0 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise ValueError(f"unsupported image shape {a.shape}")
    a = _to_uint8(a)
    if a.ndim == 3 and a.shape[2] in (2, 4):  # drop alpha over a white background
        a = _over_white(a[:, :, :-1], a[:, :, -1:])
        a = a[:, :, 0] if a.shape[2] == 1 else a
    cv2 = _cv2()
    if a.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_GRAY2RGB)
    if order == "bgr":
        return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(a)


def shrunk(rgb: np.ndarray, max_side_px: int | None, *, whole_divisor: bool = False) -> np.ndarray:
    """`rgb` with its longer side at most `max_side_px` (None, or already small enough: unchanged),
    aspect ratio kept, averaged by INTER_AREA (no aliasing). `whole_divisor`: divided by the smallest
    whole number that fits (1920 x 1080 -> 960 x 540 for 1280), which INTER_AREA does fastest."""
    h, w = rgb.shape[:2]
    if max_side_px is None or max(h, w) <= max_side_px:
        return rgb
    if whole_divisor:
        n = -(-max(h, w) // max_side_px)   # ceil
        size = (max(1, w // n), max(1, h // n))
    else:
        scale = max_side_px / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return _cv2().resize(rgb, size, interpolation=_cv2().INTER_AREA)


@lru_cache(maxsize=8)
def _solid(height_px: int, width_px: int, rgb: tuple[int, int, int]) -> np.ndarray:
    image = np.full((height_px, width_px, 3), rgb, dtype=np.uint8)
    image.flags.writeable = False
    return image


def solid(height_px: int, width_px: int, rgb: tuple[int, int, int]) -> np.ndarray:
    """A new writable canvas of one colour. Copied from a cached one: filling with a colour triple costs
    about 40x a copy (measured: 4.4 ms vs 0.09 ms at 640x480), and compare.mp4 draws one or two a frame."""
    return _solid(max(1, int(height_px)), max(1, int(width_px)), tuple(int(c) for c in rgb)).copy()


def _exif_orientation(path: Path) -> int:
    """The EXIF orientation (1-8) of an image file; 1 when absent or when Pillow is not installed."""
    try:
        from PIL import Image

        with Image.open(path) as img:
            value = int(img.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except (ImportError, OSError, ValueError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Turn pixels stored with EXIF `orientation` upright (as viewers show them)."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
           7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}
    op = ops.get(orientation)
    return rgb if op is None else np.ascontiguousarray(op(rgb))


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as upright C-contiguous RGB uint8, or an InputError naming the file."""
    path = Path(path)
    _check_file(path, "an image")
    cv2 = _cv2()
    try:
        raw = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except (OSError, cv2.error) as exc:
        raise InputError(f"{path}: cannot read the image ({exc})") from None
    if raw is None:
        raise InputError(f"{path}: not an image OpenCV can decode")
    try:
        rgb = to_rgb8(raw, order="bgr")
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
    return apply_orientation(rgb, _exif_orientation(path))


# --- what the user named ----------------------------------------------------------------------

def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected {what}")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file, expected {what}")


def source_kind(spec: str | int | os.PathLike) -> str:
    """camera (an integer or digits), recording (.jsonl[.gz]), folder, image or video — without opening it."""
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return "camera"
    path = Path(spec)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if path.is_dir():
        if is_recording_path(path) or suffix in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
            raise InputError(f"{path}: is a directory, expected a file")
        return "folder"
    if is_recording_path(path):
        return "recording"
    return "image" if suffix in IMAGE_SUFFIXES else "video"


def image_files(folder: Path) -> list[Path]:
    """The images in `folder`, sorted by name with numbers in numeric order (frame2 before frame10)."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return sorted(files, key=lambda p: [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)])


# --- sources ----------------------------------------------------------------------------------

class ImageSource:
    """Still images in order, `fps` apart, read one at a time: one image (kind "image") or a folder's."""

    def __init__(self, files: list[Path], name: str, kind: str = "image", fps: float = 1.0):
        if fps <= 0:
            raise ValueError(f"fps: expected a positive frame rate, got {fps}")
        self.files = list(files)
        self._first = read_image(self.files[0])
        height, width = self._first.shape[:2]
        self.info = _described(kind, name, float(fps), (width, height), len(self.files))

    dropped = 0   # images are read when asked for: none is ever dropped

    def frames(self, policy: str = LOSSLESS, max_rate_hz: float | None = None) -> Iterator[Frame]:
        keep = RateCap(max_rate_hz)
        for index, path in enumerate(self.files):
            if keep(index / self.info.fps):   # an image the cap drops is not even read
                yield Frame(index / self.info.fps, index, self._first if index == 0 else read_image(path))

    def close(self) -> None:
        """Nothing to release: images are read one at a time."""


class RateCap:
    """At most `rate_hz` frames per second of their own time (None: every frame): `keep(t_s)` says
    whether a frame is kept. A frame is kept when it is due - one period (1/rate_hz) after the last
    kept one, less JITTER_FRACTION of a period - and the next is due a period later, so a 60 fps
    video at 30 Hz keeps every other frame, 50 fps keeps 30 of each 50 (on average exactly the
    rate: lateness is not credited beyond the tolerance), and a 30 fps phone video whose frame
    times jitter by a few milliseconds is kept whole. Kept frames keep their own timestamps.
    Times must come in increasing order."""

    # A phone's frame times jitter by a few ms around their nominal step (variable-rate recording);
    # a quarter period is 8 ms at 30 Hz, more than that jitter and less than half of a 60 fps step
    # (8.3 ms of 16.7), so a 30 fps video keeps every frame and a 60 fps one every other.
    JITTER_FRACTION = 0.25

    def __init__(self, rate_hz: float | None):
        if rate_hz is not None and not (np.isfinite(rate_hz) and rate_hz > 0):
            raise ValueError(f"rate_hz: expected a positive number of frames per second, got {rate_hz}")
        self.rate_hz = rate_hz
        self._due_s: float | None = None

    def __call__(self, t_s: float) -> bool:
        if self.rate_hz is None:
            return True
        period_s = 1.0 / self.rate_hz
        slack_s = self.JITTER_FRACTION * period_s
        if self._due_s is not None and t_s + slack_s < self._due_s:
            return False
        self._due_s = (t_s if self._due_s is None else max(self._due_s, t_s - slack_s)) + period_s
        return True


def _increasing(t_s: float, prev_s: float, step_s: float) -> float:
    """`t_s`, or `prev_s + step_s` when `t_s` is missing or does not move forward."""
    if not np.isfinite(t_s) or t_s <= prev_s:
        return prev_s + step_s if np.isfinite(prev_s) else 0.0
    return float(t_s)


def _why_not_video(path: Path) -> str:
    """A short diagnosis of a file FFmpeg could not open."""
    with open(path, "rb") as fh:
        whole = fh.read(256 << 20)  # enough to find an MP4's index in any file worth diagnosing
    head = whole[:4096]
    if b"\x00" not in head:
        return "not a video (it looks like a text file)"
    if head[4:8] == b"ftyp":
        if b"moov" not in whole:
            return "truncated or unfinished MP4 (its 'moov' index is missing)"
        if b"trak" not in whole:
            return "video holds no frames (no track)"
    return "not a video that OpenCV/FFmpeg can decode (wrong format or damaged)"


class VideoSource:
    """A video file, decoded in a background thread; `t_s` from the container's timestamps."""

    def __init__(self, path: Path):
        self.path, self._reader = path, None
        _check_file(path, "a video")
        cap = self._open()
        try:
            ok, first = cap.read()
            fps = float(cap.get(_cv2().CAP_PROP_FPS))
            count = int(cap.get(_cv2().CAP_PROP_FRAME_COUNT))
        finally:
            cap.release()
        if not ok or first is None:
            raise InputError(f"{path}: video holds no frames that can be decoded")
        fps = fps if np.isfinite(fps) and fps > 0 else DEFAULT_CAMERA_FPS
        self.info = _described("video", path, fps, (first.shape[1], first.shape[0]), count if count > 0 else None)

    def _open(self):
        cv2 = _cv2()
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise InputError(f"{self.path}: {_why_not_video(self.path)}")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # honour the display matrix (phone videos)
        return cap

    def _decode(self, cap, stop: threading.Event, put, keep: RateCap) -> None:
        cv2 = _cv2()
        step_s, prev_s, start_ms, index = 1.0 / self.info.fps, -np.inf, None, 0
        try:
            while not stop.is_set():
                if not cap.grab():   # demux and decode; the pixels are converted only for a kept frame
                    break
                pos_ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
                start_ms = pos_ms if start_ms is None else start_ms
                prev_s = _increasing((pos_ms - start_ms) / 1000.0, prev_s, step_s)
                if keep(prev_s):
                    ok, bgr = cap.retrieve()
                    if not ok or bgr is None:
                        break
                    if not put(Frame(prev_s, index, to_rgb8(bgr))):
                        return
                index += 1
        finally:
            cap.release()
        expected = self.info.frame_count
        if expected and index < TRUNCATED_FRACTION * expected:
            raise InputError(f"{self.path}: video is truncated or damaged: decoding stopped after "
                             f"{index} of {expected} frames")

    def frames(self, policy: str = LOSSLESS, max_rate_hz: float | None = None) -> Iterator[Frame]:
        """Every frame (`lossless`), or under `latest` the newest when the consumer is ready (a file
        played like a camera: the frames it drops are counted in `dropped`). `max_rate_hz`: at most
        that many frames per second (`RateCap`); frame indices stay those of the file."""
        keep = RateCap(max_rate_hz)
        cap = self._open()
        maxsize = _QUEUE_FRAMES["video"] if policy == LOSSLESS else _QUEUE_FRAMES["camera"]  # latest: never queued
        self._reader = Background(lambda put, stop: self._decode(cap, stop, put, keep), maxsize=maxsize,
                                  policy=policy, name="coach-read", label=str(self.path))
        yield from self._reader

    @property
    def dropped(self) -> int:
        return self._reader.dropped if self._reader is not None else 0

    def close(self) -> None:
        """Nothing to release: each `frames()` opens and releases its own capture."""


class CameraSource:
    """A live camera; `t_s` from the monotonic clock. A missing camera fails at once, never hangs."""

    def __init__(self, index: int):
        cv2 = _cv2()
        if isinstance(index, int) and index < 0:   # OpenCV's "any camera" (-1) crashes its V4L backend
            raise InputError(f"camera {index}: a camera index is 0 or more")
        self.index, self._reader = index, None
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(f"camera {index}: no such camera (or it is in use by another program)")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.info = _described("stream" if isinstance(index, str) else "camera", index,
                               fps if fps > 0 else DEFAULT_CAMERA_FPS, size)

    def _capture(self, cap, stop: threading.Event, put, keep: RateCap) -> None:
        prev_s, start_s, index = -np.inf, time.monotonic(), 0
        try:
            while not stop.is_set():
                ok, bgr = cap.read()
                if not ok:
                    raise InputError(f"camera {self.index}: stopped sending frames")
                prev_s = _increasing(time.monotonic() - start_s, prev_s, 0.001)
                if keep(prev_s) and not put(Frame(prev_s, index, to_rgb8(bgr))):
                    return
                index += 1
        finally:
            cap.release()

    def frames(self, policy: str = LATEST, max_rate_hz: float | None = None) -> Iterator[Frame]:
        """The newest frame whenever the consumer is ready (`latest`; older ones are counted in
        `dropped`), or every frame (`lossless`: it waits, so the driver's own buffer fills instead).
        `max_rate_hz`: at most that many frames per second (`RateCap`), before any conversion."""
        keep = RateCap(max_rate_hz)
        cap, self._cap = self._cap, None  # the reading thread owns (and releases) the capture
        if cap is None:
            raise InputError(f"camera {self.index}: its frames can be read only once")
        self._reader = Background(lambda put, stop: self._capture(cap, stop, put, keep), maxsize=_QUEUE_FRAMES["camera"],
                                  policy=policy, name="coach-read", label=self.info.name,
                                  first_timeout_s=CAMERA_FIRST_FRAME_TIMEOUT_S)
        yield from self._reader

    @property
    def dropped(self) -> int:
        return self._reader.dropped if self._reader is not None else 0

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


Source = ImageSource | VideoSource | CameraSource


def open_source(spec: str | int | os.PathLike, *, fps: float | None = None) -> Source:
    """Open a camera index, video, image or folder (checked now; frames are read by `.frames()`).

    `fps` sets the frame rate given to images and folders (default 1.0: one image per second)."""
    kind = source_kind(spec)
    if kind == "camera":
        return CameraSource(int(spec))
    path = Path(spec)
    if kind == "recording":
        raise InputError(f"{path}: is a landmark recording and has no pixels; open it with coach.session.feed")
    if kind == "video":
        return VideoSource(path)
    files = image_files(path) if kind == "folder" else [path]
    if not files:
        raise InputError(f"{path}: folder holds no images ({', '.join(IMAGE_SUFFIXES[:4])}, ...)")
    return ImageSource(files, str(path), kind, fps or 1.0)
