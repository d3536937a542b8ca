"""The MediaPipe adapter — the only module that imports mediapipe.

`PoseDetector(model_path, mode)` wraps one `PoseLandmarker`:
- "image": every frame on its own (photos, folders of photos);
- "video": frames of one video, tracked from frame to frame (strictly increasing integer ms
  timestamps are derived from `Frame.t_s`);
A camera runs in VIDEO mode too, behind a `latest` feed that drops the frames the detector has no
time for (`mode_for`); MediaPipe's LIVE_STREAM mode is not used.
In IMAGE mode `num_poses` people are looked for and `PrimaryTracker` picks the person exercising.
A video or a camera goes through `PeopleDetector`: the person exercising is tracked with one pose
(MediaPipe tracks from frame to frame only then), and a `PartnerWatch` - a second landmarker in
IMAGE mode, several poses, on a downscaled frame, a few times a second - finds everyone else; the
pure `coach.pose.tracking.PeopleTracker` keeps who is who, and a tracked pose that jumps to another
body or is lost is re-detected (see `PeopleDetector`). Results are `PoseFrame` records; nobody found
is `Pose.empty()`.

Facts this module respects: MediaPipe wants a `str` path and C-contiguous RGB uint8 pixels (a sliced
view is silently misread, GRAY8 poisons the landmarker); it answers nothing after `close()`; and it
prints a traceback at interpreter exit if never closed — so always `close()` (or use `with`).
Its C++ code logs straight to fd 2 on creation, first inference and close: those three moments run
inside a `NativeLogWindow` (coach/native_log.py), so the lines never reach the terminal. And it
uploads usage statistics when a landmarker closes, which is blocked (see `_block_usage_upload`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from coach.errors import ModelError
from coach.io.background import LATEST, Background, End, Mailbox
from coach.io.sources import Frame, shrunk, to_rgb8
from coach.pose.core import Pose, PoseFrame
from coach.pose.models import describe_load_failure
from coach.pose.native_log import NativeLogWindow
from coach.pose.tracking import OTHER_MIN_HITS, PeopleTracker, PrimaryTracker, body_size

MODES = ("image", "video")
# A camera runs in VIDEO mode like `coach live`: the feed's `latest` policy already drops the frames
# the detector has no time for, and VIDEO mode tracks from frame to frame the same way on every input.
MODE_FOR_KIND = {"image": "image", "folder": "image", "video": "video", "camera": "video", "stream": "video"}


def mode_for(kind: str) -> str:
    """The running mode for a kind of input (camera | stream | video | image | folder)."""
    return MODE_FOR_KIND[kind]
# People the partner watch looks for, the person exercising among them (`--num-poses`; 0: no watch).
# Three: the exerciser, a partner and one more (a second helper, or a figure on a poster the watch
# must see to set aside as scenery). A photo (IMAGE mode) looks for as many, all at once.
DEFAULT_NUM_POSES = 3
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
        self.confidences = {"min_pose_detection_confidence": float(min_detection_confidence),
                            "min_pose_presence_confidence": float(min_presence_confidence),
                            "min_tracking_confidence": float(min_tracking_confidence)}
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

    @property
    def settings(self) -> dict:
        """What this detector was made with - model, poses looked for, running mode, confidences -
        as `coach record` writes it in a recording's header (pose-landmarks/1's optional keys, named
        as MediaPipe's options; coach.pose.recording checks them when read). A plain dict: a setting
        added later is one more key."""
        return {"model": self.model_path.name, "num_poses": self.num_poses, "running_mode": self.mode,
                **self.confidences, **({} if self.max_side_px is None else {"max_side_px": self.max_side_px})}

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

    def _result(self, frame: Frame):
        if self.mode == "image":
            return self._call("detect", self._image(frame))
        return self._call("detect_for_video", self._image(frame), self._timestamp_ms(frame.t_s))

    def detect(self, frame: Frame) -> PoseFrame:
        """The poses in one frame (image and video modes)."""
        return self._pose_frame(frame, self._result(frame))

    def poses(self, frame: Frame, image_size: tuple[int, int] | None = None) -> list[Pose]:
        """Every pose in one frame in MediaPipe's order, nobody chosen; `image_size` is the size of the
        frame the poses belong to when `frame` is a downscaled copy (normalised landmarks stay right)."""
        size = image_size or (int(frame.rgb.shape[1]), int(frame.rgb.shape[0]))
        return poses_from_result(self._result(frame), size)

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


# --- the person exercising tracked, everyone else watched ---------------------------------------

# The watch looks this often, by the frames' own timestamps (the first frame of each 1/rate slot), so an
# offline run gives the same results every time. 4 Hz: someone walking in is on the frame for seconds,
# and the partner rule's own dwell (0.3 s) is of the same order. Cost, measured on this 2-core machine
# (3 poses looked for, two people in view, median of 12 looks): full model ~50 ms a look, lite ~38 ms;
# at 4 Hz that is 0.2 s (full) of inference per second of video, in its own thread when live.
WATCH_RATE_HZ = 4.0
# The watch's frame is downscaled to this larger side first. MediaPipe's person detector sees 224 px
# and its landmark model a 256 px crop of each person anyway, so this costs no accuracy for anyone
# filling a sixth of the frame's height or more; it saves little time (1080p looks took the same
# ~50 ms as 850x567 ones above) but keeps the copy handed to the watch's thread small.
WATCH_MAX_SIDE_PX = 640
# Recovery. After a loss or a jump, the main landmarker is given frames with everything outside the
# exerciser's last box - grown by `REDETECT_BOX_MARGIN` of its size on each side - blanked, for at most
# `REDETECT_MASK_S`: MediaPipe's detector runs on every frame while nothing is tracked, so the
# exerciser, if still there, is found on the first such frame and then tracked. 0.5 of the box each
# side covers a trunk moving ~1 m/s for the half second the box is used; past that the whole frame is
# searched again. A jump restarts the landmarker (its tracking would stay on the other body); restarts
# are at most one per `MIN_RESTART_GAP_S`, as each costs a model load (60-80 ms on this machine).
REDETECT_BOX_MARGIN = 0.5
REDETECT_MASK_S = 0.5
MIN_RESTART_GAP_S = 1.0
# The stated bound: a lost or jumped exerciser who is in view again is tracked again within this time
# of video (the loss is seen on its own frame, re-detection is on the next one; the margin covers a
# 10 frame/s camera and a restart). Tests hold `PeopleDetector` to it.
REACQUIRE_BOUND_S = 0.5
# A newly arrived partner counts after `OTHER_MIN_HITS` looks: within this time of arriving (two watch
# periods; when live, plus the look itself, ~0.1 s, in its own thread). Tests hold the watch to it.
PARTNER_LATENCY_S = OTHER_MIN_HITS / WATCH_RATE_HZ


class PartnerWatch:
    """The second landmarker: IMAGE mode, `num_poses` people, on a frame downscaled to
    `max_side_px`, at most `rate_hz` looks per second of the frames' own time (`due`)."""

    def __init__(self, model_path: str | os.PathLike, num_poses: int = DEFAULT_NUM_POSES, *,
                 rate_hz: float = WATCH_RATE_HZ, max_side_px: int = WATCH_MAX_SIDE_PX):
        if not (np.isfinite(rate_hz) and rate_hz > 0):
            raise ValueError(f"rate_hz: expected a positive number of looks per second, got {rate_hz}")
        if int(max_side_px) < 64:
            raise ValueError(f"max_side_px: expected 64 or more, got {max_side_px}")
        self.rate_hz, self.max_side_px = float(rate_hz), int(max_side_px)
        self._last_slot: int | None = None
        self._detector = PoseDetector(model_path, "image", num_poses=num_poses)
        self.looks, self.look_s = 0, 0.0   # how many looks, and the time spent in them

    def due(self, t_s: float) -> bool:
        """True for the first frame of each 1/rate_hz slot of time (remembered: ask once a frame)."""
        slot = math.floor(t_s * self.rate_hz + 1e-6)   # 1e-6: 3 * (1/12) s is slot 1 at 4 Hz, not 0.9999
        if self._last_slot is not None and slot <= self._last_slot:
            return False
        self._last_slot = slot
        return True

    def look(self, frame: Frame) -> list[Pose]:
        """Everyone in `frame` (landmarks normalised to the full frame, sized as it is)."""
        start_s = time.perf_counter()
        small = Frame(frame.t_s, frame.index, shrunk(frame.rgb, self.max_side_px))
        poses = self._detector.poses(small, (int(frame.rgb.shape[1]), int(frame.rgb.shape[0])))
        self.looks, self.look_s = self.looks + 1, self.look_s + time.perf_counter() - start_s
        return poses

    def close(self) -> None:
        self._detector.close()


class _WatchThread:
    """The watch in its own thread (`coach live`): frames go in through a single-slot `latest` mailbox
    (a look still running when the next is due drops the older frame), results come back as
    (t_s, the exerciser's pose then, poses) through a small `latest` mailbox drained on every frame."""

    def __init__(self, watch: PartnerWatch):
        self.watch = watch
        self.inbox = Mailbox(1, LATEST)
        self._thread = Background(self._looks, maxsize=4, policy=LATEST, name="coach-watch")
        self._thread.start()

    def _looks(self, put, stop) -> None:
        while (item := self.inbox.take(stop)) is not None:
            frame, exerciser = item
            if not put((frame.t_s, exerciser, self.watch.look(frame))):
                return

    def submit(self, frame: Frame, exerciser: Pose | None) -> None:
        self.inbox.put((frame, exerciser))

    def results(self) -> list[tuple[float, Pose | None, list[Pose]]]:
        out = []
        while (item := self._thread.box.take_nowait()) is not None:
            if isinstance(item, End):
                if item.error is not None:
                    raise item.error
                break
            out.append(item)
        return out

    def close(self) -> None:
        self._thread.close()


class PeopleDetector:
    """A video's or camera's people: the exerciser tracked with one pose, the others from a
    `PartnerWatch` (`watch_poses` people looked for; 0: none), who is who kept by `PeopleTracker`.
    `detect(frame)` -> `PoseFrame` like `PoseDetector`'s, its `others` with their age.

    Identity and recovery: each tracked pose is checked against the exerciser (`PeopleTracker.primary`).
    Lost: the frame says unseen, and the next frames are masked to the exerciser's grown box (see
    `REDETECT_MASK_S`). Jumped to another body: unseen too (never their angles), the landmarker is
    restarted and re-detects on masked frames. `threaded`: the watch runs in its own thread (live),
    its looks used when they are done; otherwise at the frames' timestamps, so a file gives the same
    result every time - `overlapped` (the default), a due look runs in a worker thread while the
    tracked landmarker runs on the same frame, and is used once both are done, exactly where an
    in-line look would be (`overlapped=False`): the same poses, in the same order, on two cores."""

    mode = "video"

    def __init__(self, model_path: str | os.PathLike, *, watch_poses: int = DEFAULT_NUM_POSES,
                 threaded: bool = False, overlapped: bool = True):
        if int(watch_poses) < 0:
            raise ValueError(f"watch_poses: expected 0 or more, got {watch_poses}")
        self.model_path, self.num_poses = Path(model_path), int(watch_poses)
        self.people = PeopleTracker()
        self._main = PoseDetector(model_path, "video", num_poses=1)
        self._watch: PartnerWatch | None = None
        self._thread: _WatchThread | None = None
        # Offline, the look of a frame overlaps the tracked inference of that frame: MediaPipe's calls
        # are ctypes calls, which let go of the GIL, and each landmarker runs its graph on its own
        # native threads, so the two share the second core (bench/bench_speed.py measures the gain).
        self._overlap: ThreadPoolExecutor | None = None
        try:
            if self.num_poses:
                self._watch = PartnerWatch(model_path, self.num_poses)
                self._thread = _WatchThread(self._watch) if threaded else None
                if overlapped and not threaded:
                    self._overlap = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coach-watch")
        except BaseException:
            self.close()
            raise
        self._mask_until_s: float | None = None
        self._last_restart_s = -math.inf
        self.restarts = 0
        self.events: list[tuple[float, str]] = []   # (t_s, "lost" | "jumped" | "reacquired")

    @property
    def watch(self) -> PartnerWatch | None:
        return self._watch

    @property
    def settings(self) -> dict:
        """What `coach record` writes in a header: the tracked landmarker's `PoseDetector.settings`
        (one pose) and the watch's (people looked for, looks per second, its frame size; 0: none)."""
        watch = {"watch_num_poses": 0} if self._watch is None else {
            "watch_num_poses": self.num_poses, "watch_rate_hz": self._watch.rate_hz,
            "watch_max_side_px": self._watch.max_side_px}
        return {**self._main.settings, **watch}

    def _masked(self, frame: Frame) -> Frame:
        box = self.people.exerciser_box(REDETECT_BOX_MARGIN)
        if box is None:
            return frame
        h, w = frame.rgb.shape[:2]
        x0, x1 = (min(w, max(0, round(v * w))) for v in (box[0], box[2]))
        y0, y1 = (min(h, max(0, round(v * h))) for v in (box[1], box[3]))
        rgb = np.zeros_like(frame.rgb)
        rgb[y0:y1, x0:x1] = frame.rgb[y0:y1, x0:x1]
        return Frame(frame.t_s, frame.index, rgb)

    def _restart(self, t_s: float) -> None:
        if t_s - self._last_restart_s < MIN_RESTART_GAP_S:
            return
        self._last_restart_s = t_s
        try:   # the new one first: a reload that fails leaves the old one tracking, never none
            fresh = PoseDetector(self.model_path, "video", num_poses=1, max_side_px=self._main.max_side_px)
        except ModelError:
            return   # the mask still steers the old landmarker's re-detection
        fresh._last_ms = self._main._last_ms   # timestamps keep increasing across the restart
        old, self._main = self._main, fresh
        self.restarts += 1
        old.close()

    def _choose_first(self, frame: Frame) -> tuple[list[Pose], Pose | None] | None:
        """Before anyone is tracked, the watch looks at this very frame (in line, also when threaded):
        the largest body in view is the exerciser (as `PrimaryTracker` chooses), whoever MediaPipe's
        one-pose detector happened to find; (everyone seen, the one chosen), or None (no look due)."""
        if self._watch is None or self.people.exerciser is not None or not self._watch.due(frame.t_s):
            return None
        looked = self._watch.look(frame)
        target = max(looked, key=body_size, default=None)
        if target is not None:
            self.people.remember(frame.t_s, target)
        return looked, target

    def detect(self, frame: Frame) -> PoseFrame:
        t_s, size = frame.t_s, (int(frame.rgb.shape[1]), int(frame.rgb.shape[0]))
        first = self._choose_first(frame)
        pending = self._submit_look(frame) if first is None else None
        masking = self._mask_until_s is not None and t_s <= self._mask_until_s
        try:
            found = self._main.poses(self._masked(frame) if masking else frame)
        finally:
            looked = None if pending is None else pending.result()   # never a look left running
        pose = found[0] if found else None
        status = self.people.primary(t_s, pose)
        if status == "ok":
            if self._mask_until_s is not None or (self.events and self.events[-1][1] != "reacquired"):
                self.events.append((t_s, "reacquired"))
            self._mask_until_s = None
        else:
            if not self.events or self.events[-1][1] == "reacquired":
                self.events.append((t_s, "lost" if status == "unseen" else "jumped"))
            if status == "jumped":   # re-detect on the exerciser's box from now, whatever came before
                self._restart(t_s)
                self._mask_until_s = t_s + REDETECT_MASK_S
            elif self._mask_until_s is None and self.people.exerciser is not None:
                self._mask_until_s = t_s + REDETECT_MASK_S
            pose = None
        if first is not None:
            self.people.watch(t_s, first[0], pose if pose is not None else first[1])
        elif looked is not None:
            self.people.watch(t_s, looked, pose)   # where `_look` would have looked in line
        elif pending is None:
            self._look(frame, pose)
        return PoseFrame(t_s=t_s, index=frame.index, pose=pose if pose is not None else Pose.empty(size),
                         others=self.people.others(t_s))

    def _submit_look(self, frame: Frame) -> Future | None:
        """Offline and overlapped: a look due at this frame, started in the worker (None: none due, or
        the watch is in line or in its own thread). Its first inference - the one that opens a
        `NativeLogWindow` - always ran in line in `_choose_first`, so no two windows overlap."""
        if self._overlap is None or self._watch is None or not self._watch.due(frame.t_s):
            return None
        return self._overlap.submit(self._watch.look, frame)

    def _look(self, frame: Frame, pose: Pose | None) -> None:
        if self._watch is None:
            return
        due = self._watch.due(frame.t_s)
        if self._thread is None:
            if due:
                self.people.watch(frame.t_s, self._watch.look(frame), pose)
            return
        if due:
            self._thread.submit(frame, pose)
        for t_s, exerciser, poses in self._thread.results():   # looks finished since the last frame
            self.people.watch(t_s, poses, exerciser)

    def detect_stream(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, PoseFrame]]:
        for frame in frames:
            yield frame, self.detect(frame)

    def close(self) -> None:
        """The watch's thread (or worker), then both landmarkers (idempotent)."""
        try:
            if self._thread is not None:
                self._thread.close()
            if self._overlap is not None:
                self._overlap.shutdown(wait=True)
        finally:
            try:
                if self._watch is not None:
                    self._watch.close()
            finally:
                if self._main is not None:
                    self._main.close()

    def __enter__(self) -> PeopleDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
