"""Reading a demonstration (or a patient) for teach, compare and follow-along, one frame at a time.

    demo = read_measures("anna.mp4")                          # teach: the measure series only
    demo = read_measures("anna.mp4", keep=tmp / "anna.jsonl.gz", keep_measures=True)   # compare
    demo = load_poses("anna.mp4")                             # follow-along: every pose as well

The frames stream through the session loop (`coach.session.loop.run_session`) with a plan of None:
no exercise exists yet (teach makes it; compare teaches it first), so no engine runs, and the
`MeasureCollector` sink measures each frame once. What is kept is the small per-frame measure
arrays (`MeasureSeries`, and with `keep_measures` the `Measures` records the engine can take
instead of measuring again), never pixels. Poses are kept only where they are needed later - in a landmark recording on disk
(`keep`, replayed forward by `PoseCursor` and `replay`), or in memory for live follow-along, whose
demonstration is stepped back and forth within a window (`load_poses`). Ctrl-C ends a camera
demonstration early; on a file it is passed on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from coach import interrupts
from coach.engine.verdict import FrameVerdict
from coach.errors import InputError
from coach.io.sources import Frame
from coach.measure.measures import Measures, compute_measures
from coach.physio.teach import MeasureSeries
from coach.pose.core import PoseFrame
from coach.session.loop import Sink, run_session

# wrap(stream, description) -> the same PoseFrames, e.g. through a progress bar (the CLI's)
Wrap = Callable[[Iterable[PoseFrame], str], Iterable[PoseFrame]]


def _plain(frames: Iterable[PoseFrame], _description: str) -> Iterable[PoseFrame]:
    return frames


@dataclass(frozen=True)
class Demonstration:
    """An input read through: its measures, and where its poses are kept (if anywhere)."""

    name: str
    kind: str                         # video | recording | camera | image | folder
    fps: float
    size_px: tuple[int, int]
    series: MeasureSeries
    measures: tuple[Measures, ...] = ()   # with keep_measures: each frame's, as the engine takes them
    landmarks: Path | None = None     # a recording of its poses: the input itself, or the one kept
    frames: tuple[PoseFrame, ...] = ()   # load_poses only: every frame's poses
    model: str = ""                   # the model's file name (a recording: the one it was made with)
    max_rate_hz: float | None = None  # the rate cap it was read with (a video: `feed.ANALYSIS_RATE_HZ`)
    partial: bool = False             # a signal stopped the reading (read with `partial_ok`): the frames before it

    @property
    def analysed_fps(self) -> float:
        """Frames per second read (the rate an annotated copy plays at its own speed)."""
        from coach.session.feed import analysed_fps

        return analysed_fps(self.fps, self.max_rate_hz)


def read_measures(source: str, model: str | None = None, *, quiet: bool = False, what: str = "reading",
                  wrap: Wrap = _plain, keep: Path | None = None, keep_measures: bool = False,
                  keep_poses: bool = False, partial_ok: bool = False) -> Demonstration:
    """Detect (or replay) every frame of `source` and measure it once. `keep`: where to write a
    recording of its poses when it is not one already (a recording is its own); `keep_measures`:
    also keep each frame's `Measures`; `keep_poses`: keep every `PoseFrame` in memory.
    A signal (Ctrl-C) ends a camera's reading; any other input's raises `Interrupted`, unless
    `partial_ok` and a frame was read: then the frames before it, marked `partial`."""
    from coach.pose.recording import RecordingInfo, RecordingWriter
    from coach.session.feed import ANALYSIS, open_feed

    with open_feed(source, model=model, download_progress=not quiet, max_rate_hz=ANALYSIS) as stream, \
            contextlib.ExitStack() as stack:
        info = stream.info
        landmarks = Path(source) if info.kind == "recording" else keep
        writer = None
        if keep is not None and info.kind != "recording":
            header = RecordingInfo(info.fps, info.size_px[0], info.size_px[1], info.model, info.label)
            writer = stack.enter_context(RecordingWriter(keep, header))
        reading = MeasureCollector(writer, keep_poses)
        pairs = ((None, pose_frame) for pose_frame in wrap(stream, f"{what} {Path(info.name).name}"))
        with contextlib.closing(pairs):
            end = run_session(pairs, None, [reading])   # no exercise yet: no engine runs
        partial = end.interrupted and info.kind != "camera"
        if partial and not (partial_ok and reading.t_s):
            raise interrupts.Interrupted(interrupts.received())
    if not reading.t_s:
        raise InputError(f"{source}: no frames")
    series = MeasureSeries.from_measures(reading.t_s, reading.measures)
    return Demonstration(info.name, info.kind, info.fps, tuple(info.size_px), series,
                         tuple(reading.measures) if keep_measures else (), landmarks, tuple(reading.frames),
                         info.model, stream.max_rate_hz, partial)


class MeasureCollector(Sink):
    """The session loop's sink for a reading without an engine (a plan of None): each frame is
    measured once and its time and measures kept; its poses written to `writer` (a recording) and,
    with `keep_poses`, kept in memory."""

    def __init__(self, writer=None, keep_poses: bool = False):
        self.writer, self.keep_poses = writer, keep_poses
        self.t_s: list[float] = []
        self.measures: list[Measures] = []
        self.frames: list[PoseFrame] = []

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        m = measures if measures is not None else compute_measures(pose_frame.pose, pose_frame.others)
        self.t_s.append(pose_frame.t_s)
        self.measures.append(m)
        if self.writer is not None:
            self.writer.write(pose_frame)
        if self.keep_poses:
            self.frames.append(pose_frame)


def load_poses(source: str, model: str | None = None, quiet: bool = False, what: str = "reading",
               wrap: Wrap = _plain) -> Demonstration:
    """Every frame's poses and measures, in memory: the demonstration live follow-along steps along
    (a reference clip, short; the session itself streams)."""
    return read_measures(source, model, quiet=quiet, what=what, wrap=wrap, keep_poses=True)


def replay(demo: Demonstration, source: str, pixels: bool) -> Iterator[tuple[Frame | None, PoseFrame]]:
    """The kept poses again, in order, with the source's pixels when `pixels` (a video): the pairs
    the session loop takes. Warnings about the recording were given on the first reading."""
    from coach.pose.recording import Recording

    poses = _timed(Recording(demo.landmarks, on_warning=lambda _message: None).frames(), demo.series.t_s)
    if not pixels:
        try:
            yield from ((None, pose_frame) for pose_frame in poses)
        finally:
            poses.close()
        return
    from coach.io.sources import open_source

    frames = open_source(source).frames(max_rate_hz=demo.max_rate_hz)   # the frames first read
    try:
        yield from zip(frames, poses)
    finally:
        frames.close()
        poses.close()


def _timed(poses: Iterator[PoseFrame], t_s) -> Iterator[PoseFrame]:
    """The kept poses at the times first read (a recording keeps times to a few decimals; the
    engine gets exactly the times it would have had in one pass)."""
    try:
        for pose_frame, t in zip(poses, t_s):
            yield dataclasses.replace(pose_frame, t_s=float(t))
    finally:
        poses.close()


class PoseCursor:
    """A kept recording read forward by frame number: `at(j)` is frame j's pose frame. The aligned
    reference frame only moves forward with the patient's time, so reading on (and reopening in the
    rare step back) holds one frame, not the demonstration."""

    def __init__(self, landmarks: str | os.PathLike):
        self.landmarks = landmarks
        self._open()

    def _open(self) -> None:
        from coach.pose.recording import Recording

        self._frames = Recording(self.landmarks, on_warning=lambda _message: None).frames()
        self._j, self._current = -1, None

    def at(self, j: int) -> PoseFrame:
        if j < self._j:
            self.close()
            self._open()
        while self._j < j:
            nxt = next(self._frames, None)
            if nxt is None:
                break
            self._current, self._j = nxt, self._j + 1
        if self._current is None:
            raise InputError(f"{self.landmarks}: no frames")
        return self._current

    def close(self) -> None:
        self._frames.close()


__all__ = ["Demonstration", "MeasureCollector", "PoseCursor", "load_poses", "read_measures", "replay"]
