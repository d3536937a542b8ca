"""Frames in for `coach live`: capture, inference and display never wait on one another.

    feed = open_feed("0")                        # a camera, a video file, a stream URL or a recording
    with FramePipeline(feed, detector.detect, lossless=False, realtime=False) as pipe:
        result, shown = pipe.wait(0.1)           # newest inferred frame (or End), newest frame to show

Threads: a capture thread reads the feed and puts each frame into two `LatestFrame` mailboxes, one
for display and one for inference; an inference thread takes the newest frame, finds the poses and
hands them over. A mailbox holds one frame: a new one replaces a stale one (counted in `dropped`),
nothing is ever queued, so the poses are always of the newest frame the detector could take. Results
are handed over one at a time (never dropped: the engine must see them in order).

`lossless` (a file without --realtime): the capture thread waits for the inference thread instead of
replacing frames, so every frame is analysed - deterministic, for tests and replays. `realtime`: a
file is paced by its own timestamps like a camera (wall-clock pacing lives only here). A feed that
ends or fails (a camera unplugged) ends with an `End` carrying the error. Threads are joined and the
feed closed (captures released) when the block ends.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from coach.errors import InputError
from coach.io.sources import Frame
from coach.pose.core import PoseFrame

JOIN_TIMEOUT_S = 5.0


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


@dataclass(frozen=True)
class End:
    """The feed ended: normally (`error` None) or because it failed (a camera that stopped sending)."""

    error: BaseException | None = None


@dataclass(frozen=True)
class FeedInfo:
    """What is read. `kind`: camera | stream | video | image | folder | recording; `live`: it runs in real time."""

    kind: str
    name: str
    fps: float
    size_px: tuple[int, int]
    frame_count: int | None = None
    model: str = ""

    @property
    def live(self) -> bool:
        return self.kind in ("camera", "stream")


class Feed:
    """An input for the live loop: `info`, `items()` (an iterator of `Captured`) and `close()`."""

    def __init__(self, info: FeedInfo, items: Callable[[], Iterator[Captured]],
                 close: Callable[[], None] = lambda: None):
        self.info, self._items, self._close = info, items, close

    def items(self) -> Iterator[Captured]:
        return self._items()

    def close(self) -> None:
        self._close()


def _pixel_items(source) -> Iterator[Captured]:
    frames = source.frames()
    try:
        for frame in frames:
            yield Captured(frame.t_s, frame.index, frame.rgb)
    finally:
        frames.close()


def _recording_items(recording) -> Iterator[Captured]:
    frames = recording.frames()
    try:
        for pf in frames:
            yield Captured(pf.t_s, pf.index, None, pf)
    finally:
        frames.close()


def open_feed(spec: str | int, *, fps: float | None = None) -> Feed:
    """A camera index, a stream URL (rtsp://, http://...), a video, image, folder or landmark recording."""
    from coach.io.sources import CameraSource, open_source, source_kind
    from coach.pose.recording import Recording

    if isinstance(spec, str) and "://" in spec:
        try:
            source = CameraSource(spec)  # OpenCV opens a URL like a camera; the clock gives t_s
        except InputError:
            raise InputError(f"{spec}: cannot open the stream (check the URL and the network)") from None
        info = source.info
        return Feed(FeedInfo("stream", spec, info.fps, info.size), lambda: _pixel_items(source), source.close)
    if source_kind(spec) == "recording":
        recording = Recording(spec)
        head = recording.info
        return Feed(FeedInfo("recording", str(spec), head.fps, (head.width, head.height), None, head.model),
                    lambda: _recording_items(recording))
    source = open_source(spec, fps=fps)
    info = source.info
    return Feed(FeedInfo(info.kind, info.name, info.fps, info.size, info.frame_count),
                lambda: _pixel_items(source), source.close)


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


class LatestFrame:
    """A single-slot mailbox. `put` replaces what is there (the stale item is counted in `dropped`);
    with `lossless` it waits until the slot is empty instead. Mailboxes of one pipeline share one
    condition, so a consumer can wait on several."""

    def __init__(self, cond: threading.Condition | None = None, *, lossless: bool = False):
        self.cond = cond or threading.Condition()
        self.lossless = lossless
        self.dropped = 0
        self._item = None
        self._full = False

    @property
    def full(self) -> bool:
        return self._full

    def put(self, item, stop: threading.Event | None = None) -> bool:
        """Put `item`; False (nothing put) when `stop` was set while a lossless put waited."""
        with self.cond:
            while self.lossless and self._full:
                if stop is not None and stop.is_set():
                    return False
                self.cond.wait(0.05)
            self.dropped += int(self._full)
            self._item, self._full = item, True
            self.cond.notify_all()
        return True

    def take_nowait(self):
        """The item, or None when the slot is empty."""
        with self.cond:
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            self.cond.notify_all()
            return item

    def take(self, stop: threading.Event, timeout_s: float | None = None):
        """Wait for an item (None when `stop` is set or `timeout_s` passes first)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self.cond:
            while not self._full and not stop.is_set():
                left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.take_nowait()


class FramePipeline:
    """The capture and inference threads (see the module doc). `detect` is None for a recording."""

    def __init__(self, feed: Feed, detect: Callable[[Frame], PoseFrame] | None, *, lossless: bool,
                 realtime: bool):
        self.feed, self.detect, self.realtime = feed, detect, realtime
        self.stop = threading.Event()
        cond = threading.Condition()
        self.display = LatestFrame(cond)
        self.infer = LatestFrame(cond, lossless=lossless)
        self.results = LatestFrame(cond, lossless=True)
        self.captured = 0
        self._threads = [threading.Thread(target=self._capture, name="coach-capture", daemon=True),
                         threading.Thread(target=self._inference, name="coach-inference", daemon=True)]

    def __enter__(self) -> FramePipeline:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        with self.display.cond:
            self.display.cond.notify_all()
        try:
            for thread in self._threads:
                thread.join(timeout=JOIN_TIMEOUT_S)
        finally:
            self.feed.close()

    def wait(self, timeout_s: float) -> tuple[Inferred | End | None, Captured | None]:
        """The next result (or End) and the newest frame to show; (None, None) after `timeout_s`."""
        with self.display.cond:
            self.display.cond.wait_for(lambda: self.results.full or self.display.full, timeout=timeout_s)
            return self.results.take_nowait(), self.display.take_nowait()

    def _capture(self) -> None:
        error, items = None, self.feed.items()
        try:
            for item in (paced(items, self.stop) if self.realtime else items):
                if self.stop.is_set():
                    break
                item = replace(item, captured_s=time.monotonic())
                self.captured += 1
                self.display.put(item)
                if not self.infer.put(item, self.stop):
                    break
        except Exception as exc:  # handed to the main loop, which ends the session cleanly
            error = exc
        finally:
            items.close()
            self.infer.put(End(error), self.stop)

    def _inference(self) -> None:
        try:
            while (item := self.infer.take(self.stop)) is not None:
                if isinstance(item, End):
                    self.results.put(item, self.stop)
                    return
                if not self.results.put(self._infer(item), self.stop):
                    return
        except Exception as exc:  # a detector failure ends the session like a lost camera
            self.results.put(End(exc), self.stop)

    def _infer(self, item: Captured) -> Inferred:
        if item.pose_frame is not None:
            return Inferred(item, item.pose_frame, time.monotonic(), 0.0)
        if self.detect is None:
            raise InputError("a frame with pixels came from a feed opened without a model")
        start_s = time.monotonic()
        pose_frame = self.detect(Frame(item.t_s, item.index, item.rgb))
        done_s = time.monotonic()
        return Inferred(item, pose_frame, done_s, done_s - start_s)
