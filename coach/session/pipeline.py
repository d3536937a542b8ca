"""One way in for every input: `open_poses(source)` -> a `PoseStream` of `PoseFrame`s.

A landmark recording (.jsonl / .jsonl.gz) is replayed as it was recorded, without a model; anything
else (camera index, video, image, folder) is opened as frames and sent through the detector:

    with open_poses("stretch.mp4") as stream:      # or "stretch.jsonl.gz", "0", "photos/"
        print(stream.info.fps, stream.info.size)
        for pose_frame in stream:
            ...

Sources and the model are checked when the stream is opened, so a bad input fails before any work.
The detector (and a video's decoding thread) start on the first frame and are closed in `finally`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coach import interrupts
from coach.io.sources import Frame, open_source, source_kind
from coach.pose.core import PoseFrame
from coach.pose.detector import DEFAULT_NUM_POSES, MODE_FOR_KIND, MODES, PoseDetector
from coach.pose.models import resolve_model
from coach.pose.recording import Recording


@dataclass(frozen=True)
class StreamInfo:
    """What is being read. `kind`: camera|video|image|folder|recording; `size` (width_px, height_px)."""

    kind: str
    name: str
    fps: float
    size: tuple[int, int]
    frame_count: int | None = None  # None when unknown (cameras, recordings)
    model: str = ""                 # the bundle's file name (a recording: the one it was made with)
    label: str = ""                 # a recording's label


class PoseStream:
    """Poses from one input; iterate it for `PoseFrame`s, or `frames_and_poses()` to get the pixels too."""

    def __init__(self, source: str | int | os.PathLike, *, model: str | os.PathLike | None = None,
                 num_poses: int = DEFAULT_NUM_POSES, mode: str | None = None, fps: float | None = None,
                 download_progress: bool = True):
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if num_poses < 1:
            raise ValueError(f"num_poses: expected 1 or more, got {num_poses}")
        self.kind, self.num_poses, self._closed = source_kind(source), num_poses, False
        self.mode: str | None = None          # image|video|live; None for a recording
        self.model_path: Path | None = None   # None for a recording
        if self.kind == "recording":
            self._recording = Recording(source)
            head = self._recording.info
            self.info = StreamInfo("recording", str(source), head.fps, (head.width, head.height),
                                   model=head.model, label=head.label)
            return
        self._source = open_source(source, fps=fps)
        try:
            self.model_path = resolve_model(model, kind=self.kind, progress=download_progress)
        except BaseException:
            self._source.close()  # a camera is held open until then
            raise
        self.mode = mode or MODE_FOR_KIND[self.kind]
        src = self._source.info
        self.info = StreamInfo(self.kind, src.name, src.fps, src.size, src.frame_count, self.model_path.name)

    def frames_and_poses(self) -> Iterator[tuple[Frame | None, PoseFrame]]:
        """(frame, poses) pairs; the frame is None for a recording (it has no pixels)."""
        if self._closed:
            raise ValueError(f"{self.info.name}: the stream is closed")
        if self.kind == "recording":
            frames = self._recording.frames()
            try:
                for pose_frame in frames:
                    yield None, pose_frame
            finally:
                frames.close()
            return
        yield from self._detected()

    def _detected(self) -> Iterator[tuple[Frame, PoseFrame]]:
        frames = self._source.frames()
        detector = None
        try:
            detector = PoseDetector(self.model_path, self.mode, num_poses=self.num_poses)
            yield from detector.detect_stream(frames)
        finally:
            # A signal must not cut this short: a half-closed MediaPipe graph or a decoding thread
            # left running can crash the process as it exits, after the results were saved.
            with interrupts.deferred():
                if detector is not None:
                    detector.close()
                frames.close()
                self._source.close()

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
        if self.kind != "recording":
            self._source.close()

    def __enter__(self) -> PoseStream:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_poses(source: str | int | os.PathLike, *, model: str | os.PathLike | None = None, num_poses: int = DEFAULT_NUM_POSES,
               mode: str | None = None, fps: float | None = None, download_progress: bool = True) -> PoseStream:
    """Open any input as poses: a recording is replayed (no model needed); a camera index, video, image
    or folder is decoded and detected with `model` (lite|full|heavy|PATH; default per source kind).
    `mode` overrides image|video|live; `fps` sets the rate of images and folders (default 1.0)."""
    return PoseStream(source, model=model, num_poses=num_poses, mode=mode, fps=fps,
                      download_progress=download_progress)
