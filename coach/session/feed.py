"""One way in for every input: `open_feed(source)` -> a `Feed` with an explicit frame policy.

    with open_feed("stretch.mp4") as feed:      # or "stretch.jsonl.gz", "0", "rtsp://...", "photos/"
        print(feed.info.fps, feed.info.size_px, feed.policy)
        for frame, pose_frame in feed.frames_and_poses():   # the frame is None for a recording
            ...

The policy says what happens when the consumer is slower than the input (`coach.io.background`):
`lossless` (files, recordings: every frame is analysed, deterministic) or `latest` (cameras and
streams: stale frames are dropped, never queued, and counted in `dropped`). `max_rate_hz` keeps at most
that many frames per second of the input, chosen by their own timestamps (which stay true), before the
detector sees them; a video's source skips the others without converting their pixels.
`analysis_rate_hz(kind)` is the one default the analysing commands pass (ANALYSIS_RATE_HZ for a video). A landmark recording is replayed as it was recorded, without a model.

Threads: a video or camera is decoded in its own thread; `frames_and_poses()` runs the detector in a
second one, a few frames ahead of the consumer (MediaPipe releases the GIL, so decoding, inference
and the engine overlap). `coach live` instead takes `items()` (decoded frames, no detector) through a
`FramePipeline`, whose capture and inference threads never wait on the display. A video or camera
is detected by `PeopleDetector`: the exerciser tracked with one pose, and a second, slower detector
(the partner watch) a few times a second - here at the frames' timestamps, each look overlapping
the tracked inference of its frame and used in order (deterministic), in its own thread behind a
single-slot `latest` mailbox for `coach live` (frames are never written to, so they can be shared).

Sources and the model are checked when the feed is opened, so a bad input fails before any work. The
detector starts on the first frame (which is decoded while the models load); it, the decoding
thread and the capture are closed in `finally`.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from coach import interrupts
from coach.errors import InputError
from coach.io.background import LATEST, LOSSLESS, POLICIES, Background, End, Mailbox, prefetch
from coach.io.sources import CameraSource, Frame, InputInfo, RateCap, open_source, source_kind
from coach.pose.core import PoseFrame
from coach.pose.detector import DEFAULT_NUM_POSES, MODES, PeopleDetector, PoseDetector, mode_for
from coach.pose.models import resolve_model
from coach.pose.recording import Recording

PREFETCH_FRAMES = 4   # detected frames ready ahead of the engine: enough to cover a slow frame, little memory

# Frames per second a video file is analysed at (analyze, compare, teach: `analysis_rate_hz`). The
# fastest motion the engine judges is bouncing at end range (ballistic stretching, about 2-3 Hz):
# 30 samples/s still give 10 or more per cycle, so a turn's extreme is caught within 1/30 s, and the
# stillness slope (0.4 s window, `EngineSettings.still_window_s`) keeps 12 samples. A hold's timing
# needs far less. Faster input only repeats the same pose: MediaPipe's frame-to-frame jitter is not
# averaged away by more frames of a person who has not moved. 30 fps is also what most phones
# film at, so such a video is analysed whole; a 60 fps one keeps every other frame, timestamps true.
ANALYSIS_RATE_HZ = 30.0
ANALYSIS = "analysis"   # open_feed(max_rate_hz=ANALYSIS): the analysing commands' cap for the input's kind


def analysis_rate_hz(kind: str) -> float | None:
    """The rate cap for analysing an input of `kind`: ANALYSIS_RATE_HZ for a video file; None (every
    frame) for a recording (replayed as recorded, no model to save), images and folders (their rate
    is the user's `fps`) and live sources (already paced by the camera and the `latest` policy)."""
    return ANALYSIS_RATE_HZ if kind == "video" else None


ANALYSED_FPS_SPAN_S = 60.0   # the cap's pattern repeats within a second for any usual rate; a minute averages the rest


def analysed_fps(fps: float, max_rate_hz: float | None) -> float:
    """How many frames per second a video of `fps` yields under the rate cap (the `RateCap` run over
    a minute of its frames: 60 fps gives 30, 50 gives 30, 35 a little under): the rate an annotated
    copy of the analysed frames is written at, so that it plays at the input's speed."""
    if max_rate_hz is None or fps <= max_rate_hz:
        return fps   # frames a period or more apart are all kept
    keep = RateCap(max_rate_hz)
    n = int(round(fps * ANALYSED_FPS_SPAN_S))
    return sum(keep(i / fps) for i in range(n)) / (n / fps)


@dataclass(frozen=True)
class Captured:
    """One frame as captured. `rgb` is None for a landmark recording, whose poses come in `pose_frame`."""

    t_s: float
    index: int
    rgb: np.ndarray | None = None
    pose_frame: PoseFrame | None = None
    captured_s: float = math.nan    # time.monotonic() when the capture thread handed it over


@dataclass(frozen=True)
class Inferred:
    """The poses of one captured frame; `done_s` (monotonic) when they were ready."""

    captured: Captured
    pose_frame: PoseFrame
    done_s: float
    inference_s: float              # time in the detector (0 for a recording)


def default_policy(kind: str) -> str:
    """A camera or stream runs in real time: only its newest frame is worth analysing. Anything else
    (a file, a recording) is analysed frame by frame."""
    return LATEST if kind in ("camera", "stream") else LOSSLESS


def at_most(items: Iterable, rate_hz: float | None) -> Iterator:
    """At most `rate_hz` items per second of their own `t_s` (None: all; `RateCap` chooses), so 30
    frames/s at 10 Hz keep every third frame, their timestamps unchanged."""
    keep = RateCap(rate_hz)
    for item in items:
        if keep(item.t_s):
            yield item


def _check_rate(max_rate_hz: float | None) -> None:
    """A bad rate fails when the feed is opened (before a camera is held), not on the first frame."""
    if max_rate_hz is not None and not (math.isfinite(max_rate_hz) and max_rate_hz > 0):
        raise ValueError(f"max_rate_hz: expected a positive number of frames per second, got {max_rate_hz}")


class Feed:
    """An opened input: `info`, `policy`, `items()` (`Captured` frames, no detector),
    `frames_and_poses()` / iteration (with the detector), `dropped` and `close()`."""

    def __init__(self, info: InputInfo, items: Callable[[], Iterator[Captured]],
                 close: Callable[[], None] = lambda: None, *, policy: str | None = None,
                 detector: Callable[[], PoseDetector] | None = None, max_rate_hz: float | None = None,
                 dropped: Callable[[], int] = lambda: 0, mode: str | None = None):
        policy = policy or default_policy(info.kind)
        if policy not in POLICIES:
            raise ValueError(f"policy: expected one of {', '.join(POLICIES)}, got {policy!r}")
        _check_rate(max_rate_hz)
        self.info, self.policy, self.max_rate_hz = info, policy, max_rate_hz
        self.mode = mode   # the detector's running mode (image | video); None without a detector
        # What the poses are detected with: `PoseDetector.settings` once the detector has started
        # (by the first frame), or what a recording's header says; {} until known.
        self.detector_settings: dict = {}
        self._items, self._close, self._detector, self._dropped = items, close, detector, dropped
        self._closed = False

    @property
    def dropped(self) -> int:
        """Stale frames the feed replaced before anyone took them (only under `latest`)."""
        return self._dropped()

    def items(self) -> Iterator[Captured]:
        """The frames (with `max_rate_hz`, the ones kept), decoded but not detected."""
        if self._closed:
            raise ValueError(f"{self.info.name}: the feed is closed")
        return _closing(at_most(self._items(), self.max_rate_hz))

    def frames_and_poses(self) -> Iterator[tuple[Frame | None, PoseFrame]]:
        """(frame, poses) pairs, in order; the frame is None for a recording (it has no pixels)."""
        items = self.items()
        if self._detector is None:
            return _recorded(items, self.info.name)
        return prefetch(_detected(items, self._detector, self._started), PREFETCH_FRAMES, name="coach-detect")

    def _started(self, detector: PoseDetector) -> None:
        self.detector_settings = dict(detector.settings)

    def __iter__(self) -> Iterator[PoseFrame]:
        pairs = self.frames_and_poses()
        try:
            for _, pose_frame in pairs:
                yield pose_frame
        finally:
            pairs.close()

    def close(self) -> None:
        """Release the source (a started iteration is closed by its own `finally`)."""
        self._closed = True
        self._close()

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _closing(items: Iterator) -> Iterator:
    """`items` as a generator whose `close()` reaches the source's (an iterator chain is closed at once)."""
    try:
        yield from items
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _recorded(items: Iterator[Captured], name: str) -> Iterator[tuple[None, PoseFrame]]:
    try:
        for item in items:
            if item.pose_frame is None:
                raise InputError(f"{name}: a frame with pixels came from a feed opened without a model")
            yield None, item.pose_frame
    finally:
        items.close()


def _detected(items: Iterator[Captured], new_detector: Callable[[], PoseDetector],
              started: Callable[[PoseDetector], None] = lambda detector: None) -> Iterator[tuple[Frame, PoseFrame]]:
    frames = (Frame(item.t_s, item.index, item.rgb) for item in items)
    detector = None
    try:
        # The first frame is asked for before the models load, so the input is opened and decoded
        # (in its own thread, a few frames ahead) while MediaPipe is imported and loaded: both take
        # a second or so on this machine, and decoding lets go of the GIL.
        ahead = list(itertools.islice(frames, 1))
        detector = new_detector()
        started(detector)
        yield from detector.detect_stream(itertools.chain(ahead, frames))
    finally:
        # A signal must not cut this short: a half-closed MediaPipe graph or a decoding thread
        # left running can crash the process as it exits, after the results were saved.
        with interrupts.deferred():
            if detector is not None:
                detector.close()
            items.close()


def _pixel_items(source, policy: str, max_rate_hz: float | None) -> Callable[[], Iterator[Captured]]:
    def items() -> Iterator[Captured]:
        frames = source.frames(policy, max_rate_hz)   # the source skips dropped frames cheaply
        try:
            for frame in frames:
                yield Captured(frame.t_s, frame.index, frame.rgb)
        finally:
            frames.close()
    return items


def _recording_items(recording: Recording) -> Callable[[], Iterator[Captured]]:
    def items() -> Iterator[Captured]:   # a recording has no real time: always every frame
        frames = recording.frames()
        try:
            for pf in frames:
                yield Captured(pf.t_s, pf.index, None, pf)
        finally:
            frames.close()
    return items


def open_feed(spec: str | int | os.PathLike, *, model: str | os.PathLike | None = None, detect: bool = True,
              num_poses: int = DEFAULT_NUM_POSES, mode: str | None = None, fps: float | None = None,
              policy: str | None = None, max_rate_hz: float | str | None = None, download_progress: bool = True) -> Feed:
    """Open a camera index, a stream URL (rtsp://, http://...), a video, image, folder or landmark
    recording. Pixels go through `model` (lite|full|heavy|PATH; default per source kind) in `mode`
    (image|video; default per kind, `mode_for`): video mode tracks the exerciser and watches for
    `num_poses` people (0: no watch), image mode finds `num_poses` at once (at least one);
    `detect=False` opens the frames only (`coach live`
    runs its own detector). `fps` sets the rate of images and folders (default 1.0); `policy`
    overrides lossless|latest (default per kind); `max_rate_hz` thins the frames by timestamp
    (ANALYSIS: `analysis_rate_hz` of the input's kind; the feed's `max_rate_hz` says what was chosen)."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if num_poses < 0:
        raise ValueError(f"num_poses: expected 0 or more, got {num_poses}")
    analysis = max_rate_hz == ANALYSIS
    if analysis:
        max_rate_hz = None
    _check_rate(max_rate_hz)
    if isinstance(spec, str) and "://" in spec:
        try:
            source = CameraSource(spec)  # OpenCV opens a URL like a camera; the clock gives t_s
        except InputError:
            raise InputError(f"{spec}: cannot open the stream (check the URL and the network)") from None
    elif source_kind(spec) == "recording":
        recording = Recording(spec)
        head = recording.info
        info = InputInfo(Path(str(spec)).name, str(spec), "recording", head.fps, (head.width, head.height),
                         head.model, label=head.label)
        max_rate_hz = analysis_rate_hz(info.kind) if analysis else max_rate_hz
        feed = Feed(info, _recording_items(recording), policy=policy, max_rate_hz=max_rate_hz)
        feed.detector_settings = {**({"model": head.model} if head.model else {}), **head.settings}
        return feed
    else:
        source = open_source(spec, fps=fps)
    info, detector, chosen = source.info, None, None
    max_rate_hz = analysis_rate_hz(info.kind) if analysis else max_rate_hz
    policy = policy or default_policy(info.kind)
    if detect:
        try:
            model_path = resolve_model(model, kind=info.kind if info.kind != "stream" else "camera",
                                       progress=download_progress)
        except BaseException:
            source.close()  # a camera is held open until then
            raise
        chosen = mode or mode_for(info.kind)
        info = replace(info, model=model_path.name)

        def detector() -> PoseDetector | PeopleDetector:
            if chosen == "image":   # each image on its own: everyone in it at once, the largest exercising
                return PoseDetector(model_path, chosen, num_poses=max(1, num_poses))
            return PeopleDetector(model_path, watch_poses=num_poses)   # one tracked, the others watched
    return Feed(info, _pixel_items(source, policy, max_rate_hz), source.close, policy=policy, detector=detector,
                max_rate_hz=max_rate_hz, dropped=lambda: source.dropped, mode=chosen)


# --- coach live: capture and inference in their own threads --------------------------------------

def paced(items: Iterable[Captured], stop: threading.Event, clock=time.monotonic) -> Iterator[Captured]:
    """`items` released at the pace of their timestamps, like a camera (for --realtime)."""
    start_s = t0_s = None
    for item in items:
        if start_s is None:
            start_s, t0_s = clock(), item.t_s
        delay_s = start_s + (item.t_s - t0_s) - clock()
        if delay_s > 0 and stop.wait(delay_s):
            return
        yield item


class FramePipeline:
    """Frames in for `coach live`: capture, inference and display never wait on one another.

        with FramePipeline(feed, detector.detect, lossless=False, realtime=False) as pipe:
            result, shown = pipe.wait(0.1)       # newest inferred frame (or End), newest frame to show

    A capture thread reads the feed and puts each frame into two single-slot mailboxes, one for
    display (always `latest`) and one for inference (`latest`, or with `lossless` - a file without
    --realtime - waiting for the detector, so every frame is analysed). An inference thread takes
    the newest frame, finds the poses and hands them over one at a time (never dropped: the engine
    must see them in order). `realtime`: a file is paced by its own timestamps like a camera (wall
    clock pacing lives only here). A feed that ends or fails (a camera unplugged) ends with an `End`
    carrying the error. Threads are joined and the feed closed when the block ends.
    `detect` is None for a recording."""

    def __init__(self, feed: Feed, detect: Callable[[Frame], PoseFrame] | None, *, lossless: bool,
                 realtime: bool):
        self.feed, self.detect, self.realtime = feed, detect, realtime
        cond = threading.Condition()   # one for all three mailboxes: the main loop waits on two of them
        self.display = Mailbox(1, LATEST, cond)
        self._capture = Background(self._captured, maxsize=1, policy=LOSSLESS if lossless else LATEST,
                                   name="coach-capture", cond=cond)
        self._inference = Background(self._inferred, maxsize=1, policy=LOSSLESS, name="coach-inference", cond=cond)
        self.infer, self.results = self._capture.box, self._inference.box
        self.captured = 0

    def __enter__(self) -> FramePipeline:
        self._capture.start()
        self._inference.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._capture.stop.set()
        self._inference.stop.set()
        try:
            self._capture.close()
            self._inference.close()
        finally:
            self.feed.close()

    def wait(self, timeout_s: float) -> tuple[Inferred | End | None, Captured | None]:
        """The next result (or End) and the newest frame to show; (None, None) after `timeout_s`."""
        with self.display.cond:
            self.display.cond.wait_for(lambda: self.results.full or self.display.full, timeout=timeout_s)
            return self.results.take_nowait(), self.display.take_nowait()

    def _captured(self, put, stop: threading.Event) -> None:
        items = self.feed.items()
        try:
            for item in (paced(items, stop) if self.realtime else items):
                item = replace(item, captured_s=time.monotonic())
                self.captured += 1
                self.display.put(item)
                if not put(item):
                    break
        finally:
            items.close()

    def _inferred(self, put, stop: threading.Event) -> None:
        while (item := self.infer.take(stop)) is not None:
            if isinstance(item, End):
                if item.error is not None:
                    raise item.error   # a lost camera ends the session like a detector failure
                return
            if not put(self._infer(item)):
                return

    def _infer(self, item: Captured) -> Inferred:
        if item.pose_frame is not None:
            return Inferred(item, item.pose_frame, time.monotonic(), 0.0)
        if self.detect is None:
            raise InputError("a frame with pixels came from a feed opened without a model")
        start_s = time.monotonic()
        pose_frame = self.detect(Frame(item.t_s, item.index, item.rgb))
        done_s = time.monotonic()
        return Inferred(item, pose_frame, done_s, done_s - start_s)


__all__ = ["ANALYSIS", "ANALYSIS_RATE_HZ", "Captured", "End", "Feed", "FramePipeline", "Inferred", "LATEST", "LOSSLESS",
           "analysed_fps", "analysis_rate_hz", "at_most", "default_policy", "open_feed", "paced"]
