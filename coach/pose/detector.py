"""The MediaPipe adapter — the only module that imports mediapipe.

`PoseDetector(model_path, mode)` wraps one `PoseLandmarker`:
- "image": every frame on its own (photos, folders of photos);
- "video": frames of one video, tracked from frame to frame (strictly increasing integer ms
  timestamps are derived from `Frame.t_s`);
A camera runs in VIDEO mode too, behind a `latest` feed that drops the frames the detector has no
time for (`mode_for`); MediaPipe's LIVE_STREAM mode is not used.
`num_poses` defaults to 2 (a partner may be in view); `PrimaryTracker` picks the person exercising
stably and the rest become `others`. Results are `PoseFrame` records; nobody found is `Pose.empty()`.

Facts this module respects: MediaPipe wants a `str` path and C-contiguous RGB uint8 pixels (a sliced
view is silently misread, GRAY8 poisons the landmarker); it answers nothing after `close()`; and it
prints a traceback at interpreter exit if never closed — so always `close()` (or use `with`).
Its C++ code logs straight to fd 2 on creation, first inference and close: those three moments run
inside a `NativeLogWindow` (coach/native_log.py), so the lines never reach the terminal. And it
uploads usage statistics when a landmarker closes, which is blocked (see `_block_usage_upload`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from coach.errors import ModelError
from coach.io.sources import Frame, shrunk, to_rgb8
from coach.pose.core import Pose, PoseFrame
from coach.pose.models import describe_load_failure
from coach.pose.native_log import NativeLogWindow
from coach.pose.tracking import PrimaryTracker

MODES = ("image", "video")
# A camera runs in VIDEO mode like `coach live`: the feed's `latest` policy already drops the frames
# the detector has no time for, and VIDEO mode tracks from frame to frame the same way on every input.
MODE_FOR_KIND = {"image": "image", "folder": "image", "video": "video", "camera": "video", "stream": "video"}


def mode_for(kind: str) -> str:
    """The running mode for a kind of input (camera | stream | video | image | folder)."""
    return MODE_FOR_KIND[kind]
DEFAULT_NUM_POSES = 2
DEFAULT_CONFIDENCE = 0.5
# Frames are shrunk to this longer side before MediaPipe (`mediapipe_pixels`); the landmarks come
# back normalised, so they describe the original frame, whose size `Pose.image_size` keeps. The
# models look at 224 x 224 (person detector) and 256 x 256 (landmarks, on the person's crop), so a
# person filling the height of a 960 x 540 frame still gives the landmark model twice the pixels it
# uses. Measured on the shared photos (tests/test_downscale.py): shrinking by 2 changes landmarks and
# judged angles less than moving the photo by 2 pixels does (the model's own noise). A 1080p frame
# is halved (an exact INTER_AREA halving, 0.8 ms), which saves MediaPipe its own resampling of a
# 6 MB frame (1.3 ms of 19 with the full model, measured on a 1080p clip on this machine).
DEFAULT_MAX_SIDE_PX: int | None = 960
MIN_SIDE_PX = 256   # below the landmark model's own input size a shrink would lose detail it uses


def _mediapipe():
    import mediapipe
    from mediapipe.tasks.python import BaseOptions, vision

    return mediapipe, vision, BaseOptions


# --- MediaPipe's usage statistics -------------------------------------------------------------
# The PyPI build of MediaPipe Tasks links an HTTP usage logger (session start/end, invocation counts
# and latencies, platform and Python version; no pixels or landmarks) that posts to Google's logging
# host when a landmarker closes. It has no switch: the logging factory is compiled in and
# BaseOptions offers no option for it. Its HTTP client honours the standard proxy variables, so
# while a landmarker is open they point at a closed port on this machine: the upload fails at
# once, no name is looked up and nothing leaves the machine. The user's own values are put back
# when the last landmarker closes, so a model download (which may need the real proxy) is never
# affected: downloads happen before a detector is made.
_BLOCKING_PROXY = "http://127.0.0.1:9"  # port 9 is "discard": nothing listens, the connection is refused
_PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")
_NO_PROXY_VARS = ("no_proxy", "NO_PROXY")  # an exemption (even "*") would let the upload bypass the proxy
_open_landmarkers = 0
_saved_env: dict[str, str | None] = {}


def _block_usage_upload() -> None:
    global _open_landmarkers
    _open_landmarkers += 1
    if _open_landmarkers > 1:
        return
    _saved_env.clear()
    for name in _PROXY_VARS + _NO_PROXY_VARS:
        _saved_env[name] = os.environ.get(name)
    for name in _PROXY_VARS:
        os.environ[name] = _BLOCKING_PROXY
    for name in _NO_PROXY_VARS:
        os.environ.pop(name, None)


def _unblock_usage_upload() -> None:
    global _open_landmarkers
    _open_landmarkers = max(0, _open_landmarkers - 1)
    if _open_landmarkers:
        return
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_env.clear()


def _score(value: float | None) -> float:
    return 0.0 if value is None else float(value)


def poses_from_result(result, image_size: tuple[int, int]) -> list[Pose]:
    """MediaPipe's PoseLandmarkerResult as `Pose` records, in MediaPipe's order."""
    poses = []
    for image_lms, world_lms in zip(result.pose_landmarks, result.pose_world_landmarks):
        image = np.array([[lm.x, lm.y, lm.z, _score(lm.visibility), _score(lm.presence)] for lm in image_lms])
        world = np.array([[lm.x, lm.y, lm.z] for lm in world_lms])
        poses.append(Pose.from_arrays(image, world, image_size))
    return poses


def mediapipe_pixels(rgb: np.ndarray, max_side_px: int | None = None) -> np.ndarray:
    """What MediaPipe may be given: C-contiguous 3-channel RGB uint8 (anything else is converted),
    with the longer side at most `max_side_px` (None: as it is). Shrinking keeps the aspect ratio,
    so the normalised landmarks describe the original frame; INTER_AREA averages, never aliases."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        rgb = to_rgb8(rgb, order="rgb")
    return np.ascontiguousarray(shrunk(rgb, max_side_px))


class PoseDetector:
    """One MediaPipe Pose Landmarker in `mode` image|video. Use as a context manager or `close()`."""

    def __init__(self, model_path: str | os.PathLike, mode: str = "video", *, num_poses: int = DEFAULT_NUM_POSES,
                 min_detection_confidence: float = DEFAULT_CONFIDENCE,
                 min_presence_confidence: float = DEFAULT_CONFIDENCE,
                 min_tracking_confidence: float = DEFAULT_CONFIDENCE, max_side_px: int | None = DEFAULT_MAX_SIDE_PX):
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if int(num_poses) < 1:
            raise ValueError(f"num_poses: expected 1 or more, got {num_poses}")
        if max_side_px is not None and int(max_side_px) < MIN_SIDE_PX:
            raise ValueError(f"max_side_px: expected None or {MIN_SIDE_PX} or more, got {max_side_px}")
        self.model_path, self.mode, self.num_poses = Path(model_path), mode, int(num_poses)
        self.max_side_px = None if max_side_px is None else int(max_side_px)
        self._tracker = PrimaryTracker()
        self._last_ms = -1
        # MediaPipe logs natively on its first inference too.
        self._first_call: NativeLogWindow | None = NativeLogWindow(f"{self.model_path.name}: first inference")
        self._landmarker = self._create(min_detection_confidence, min_presence_confidence, min_tracking_confidence)

    def _create(self, detection: float, presence: float, tracking: float):
        mp, vision, base_options = _mediapipe()
        mode = {"image": vision.RunningMode.IMAGE, "video": vision.RunningMode.VIDEO}[self.mode]
        options = vision.PoseLandmarkerOptions(
            base_options=base_options(model_asset_path=str(self.model_path)),  # str, never a Path
            running_mode=mode, num_poses=self.num_poses, min_pose_detection_confidence=detection,
            min_pose_presence_confidence=presence, min_tracking_confidence=tracking)
        self._mp = mp
        _block_usage_upload()
        try:
            with NativeLogWindow(f"{self.model_path.name}: create"):
                return vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, OSError, ValueError) as exc:  # FileNotFoundError is an OSError
            _unblock_usage_upload()
            raise ModelError(describe_load_failure(self.model_path, exc)) from None
        except BaseException:
            _unblock_usage_upload()
            raise

    def _image(self, frame: Frame):
        return self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=mediapipe_pixels(frame.rgb, self.max_side_px))

    def _timestamp_ms(self, t_s: float) -> int:
        """Integer ms from `t_s`, forced strictly increasing as VIDEO mode requires."""
        self._last_ms = max(int(round(t_s * 1000.0)), self._last_ms + 1)
        return self._last_ms

    def _pose_frame(self, frame: Frame, result) -> PoseFrame:
        size = (int(frame.rgb.shape[1]), int(frame.rgb.shape[0]))
        pose, others = self._tracker.choose(poses_from_result(result, size))
        return PoseFrame(t_s=frame.t_s, index=frame.index, pose=pose if pose is not None else Pose.empty(size),
                         others=others)

    def _call(self, method: str, *args):
        if self._landmarker is None:
            raise ValueError(f"{self.model_path.name}: the detector is closed")
        window, self._first_call = self._first_call, None
        if window is None:
            return getattr(self._landmarker, method)(*args)
        with window:
            return getattr(self._landmarker, method)(*args)

    def detect(self, frame: Frame) -> PoseFrame:
        """The poses in one frame (image and video modes)."""
        if self.mode == "image":
            result = self._call("detect", self._image(frame))
        else:
            result = self._call("detect_for_video", self._image(frame), self._timestamp_ms(frame.t_s))
        return self._pose_frame(frame, result)

    def detect_stream(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, PoseFrame]]:
        """(frame, poses) for each frame, in order."""
        for frame in frames:
            yield frame, self.detect(frame)

    def close(self) -> None:
        """Release MediaPipe's graph (idempotent)."""
        landmarker, self._landmarker = self._landmarker, None
        if landmarker is not None:
            try:
                with NativeLogWindow(f"{self.model_path.name}: close"):
                    landmarker.close()
            finally:
                _unblock_usage_upload()

    def __enter__(self) -> PoseDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
