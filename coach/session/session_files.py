"""The files of one analysed input, written as the frames stream past.

    with OutputFolder("coach-out/clip.coach") as folder:      # a hidden staging folder until the end
        with SessionFiles(folder, info, video=True) as files:
            files.write_frame(frame, pose_frame, verdict, inside, exercise)   # per frame
        files.write_summary(report, timeline, exercises)      # report.html, session.json

or, in the session loop, the sink that does both: `ResultFiles(files, Summariser(info))`.

frames.csv        one row per frame: time, phase and side, every measure with its reliability and
                  band verdict, the envelope flag, hold state and progress, reps, active alerts
landmarks.jsonl.gz  the poses (pose-landmarks/1), unless a first pass already wrote them
annotated.mp4     the live overlay on every analysed frame, at most 1280 px wide or tall and at the analysed
                  rate so it plays at the input's speed (annotated.jpg for an image; none for a
                  landmark recording, which has no pixels - its report's key frames show the
                  skeleton on a blank canvas instead)
session.json      the `Report`;   report.html  the readable report (`coach.report.html`)

Every file is written atomically inside the staging folder; `OutputFolder` moves the folder into
place when the block ends normally or by Ctrl-C (if a session.json was written), and deletes it
after any other error. A failed write becomes a one-line `OutputError`.

A partial result never replaces a whole one: a run stopped early (its session.json says partial) whose
folder already holds a whole earlier result is published beside it instead, as `clip.partial.coach`
(`DIR.partial` for a folder named without `.coach`; `-2`, `-3` ... when that name holds a whole result
or anything coach did not write; `OutputFolder.published` says where), and the earlier result stays.

A result replaces only a result: the folder coach names itself ends in `.coach` (`result_name`), so
it cannot be an input file of the same stem, and an existing path is replaced only when it is a
coach result folder (its session.json carries the coach session format tag) - anything else, and a
folder holding one of the run's inputs, is a one-line error before any work is done.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from coach.engine.exercises import Exercise
from coach.engine.verdict import FrameVerdict
from coach.errors import OutputError
from coach.io.atomic import atomic_open, ensure_dir, write_bytes, write_text
from coach.io.sources import Frame, shrunk
from coach.measure.conventions import MEASURE_NAMES
from coach.measure.measures import Measures
from coach.pose.core import PoseFrame
from coach.report.core import FORMAT as SESSION_FORMAT
from coach.report.core import InputInfo, Report, Summariser
from coach.report.keyframes import KeyframePicker, encode_jpeg
from coach.report.timeline import TimelineArrays
from coach.session.loop import Sink

CSV, LANDMARKS, VIDEO, IMAGE, SESSION, HTML = ("frames.csv", "landmarks.jsonl.gz", "annotated.mp4", "annotated.jpg",
                                               "session.json", "report.html")


def _why(err: OSError) -> str:
    return "disk full" if err.errno == errno.ENOSPC else (err.strerror or str(err))


RESULT_SUFFIX = ".coach"
# A session.json larger than this is not one coach wrote (a long live session's is well under 1 MB);
# it is not read whole just to find out.
MAX_SESSION_JSON_BYTES = 64 * 1024 * 1024


def result_name(stem: str) -> str:
    """The result folder coach names for an input stem: "clip" -> "clip.coach"."""
    return stem + RESULT_SUFFIX


def _session_of(path: Path) -> dict | None:
    """The session.json of the result folder `path` (None: not a folder coach wrote)."""
    session = path / SESSION
    try:
        if path.is_symlink() or not path.is_dir() or session.stat().st_size > MAX_SESSION_JSON_BYTES:
            return None
        with open(session, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == SESSION_FORMAT else None


def is_result(path: Path) -> bool:
    """Whether `path` is a folder coach wrote: a real folder whose session.json has the format tag."""
    return _session_of(path) is not None


def is_whole_result(path: Path) -> bool:
    """Whether `path` is a result folder of a run that was not stopped early."""
    data = _session_of(path)
    return data is not None and data.get("partial") is False


def partial_name(path: Path, n: int = 1) -> Path:
    """Where a partial result goes when `path` holds a whole one: "clip.coach" -> "clip.partial.coach"
    ("clip.partial-2.coach" for `n` 2, when the first is taken); a folder named without `.coach`
    ("DIR") -> "DIR.partial"."""
    mark = ".partial" if n == 1 else f".partial-{n}"
    if path.suffix == RESULT_SUFFIX:
        return path.with_name(path.stem + mark + RESULT_SUFFIX)
    return path.with_name(path.name + mark)


def moved_aside(published: Path | None, asked: Path | None, what: str = "result") -> str:
    """The words a stop's one line adds when the partial `what` went beside a whole one at `asked`
    ("" when it went where it was asked to, or nowhere)."""
    if published is None or asked is None or Path(published) == Path(asked):
        return ""
    return f"the partial {what} is in {published} (a whole one was already in {asked})"


MAX_PARTIAL_NAMES = 100   # past this many taken names beside one result, a stopped run is an error


def _free_partial(path: Path, inputs: tuple[str | os.PathLike, ...]) -> Path:
    """The first `partial_name` beside `path` that holds nothing a stopped run may not replace: free, or
    an earlier partial coach result - never a whole result (another input's `clip.partial.coach`) and
    never anything coach did not write."""
    for n in range(1, MAX_PARTIAL_NAMES + 1):
        candidate = partial_name(path, n)
        if is_whole_result(candidate):
            continue
        try:
            check_replaceable(candidate, inputs)
        except OutputError:
            continue
        return candidate
    raise OutputError(f"{path}: holds a whole result and every name for a partial one beside it is taken "
                      f"({partial_name(path)} ... {partial_name(path, MAX_PARTIAL_NAMES)}); move some away")


# Every name a result folder of any command may hold (analyze, demo, live, compare); a result folder
# holding anything else has the user's own files in it, and replacing it would delete them.
RESULT_NAMES = frozenset({"session.json", "frames.csv", "landmarks.jsonl.gz", "report.html", "annotated.mp4",
                          "annotated.jpg", "screening.json", "comparison.json", "compare.mp4", "reference.toml"})


def _written_by_coach(path: Path) -> set[str]:
    """The names in a result folder that coach wrote: what its session.json lists as its outputs (and
    session.json itself). A name another command writes is not enough: an analyze result holding a
    compare.mp4 holds the user's file. Only a session.json without the list (or with a damaged one)
    falls back to every name a result of any command may hold."""
    try:
        listed = json.loads((path / SESSION).read_text(encoding="utf-8")).get("outputs")
    except (OSError, ValueError, AttributeError):
        listed = None
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        return set(RESULT_NAMES)
    return {SESSION, *listed}


def check_replaceable(path: Path, inputs: tuple[str | os.PathLike, ...] = ()) -> None:
    """`OutputError` unless `path` is free or a previous coach result not holding any of `inputs`,
    and is not inside another coach result (which a later run would replace, taking this one with it)."""
    for above in Path(path).absolute().parents:
        if is_result(above):
            raise OutputError(f"{path}: is inside the coach result {above}; choose an output outside it")
    if not (path.exists() or path.is_symlink()):
        return
    if not is_result(path):
        what = "a file" if path.is_file() else "a link" if path.is_symlink() else "a folder"
        raise OutputError(f"{path}: exists and is {what}, not a coach result (no coach {SESSION}); "
                          "coach does not replace it - move it or choose another output")
    where = path.resolve()
    for source in inputs:
        found = Path(source).resolve()
        if found == where or where in found.parents:
            raise OutputError(f"{source}: is inside the result folder {path} this run would replace; "
                              "choose another output")
    strangers = sorted(entry.name for entry in path.iterdir() if entry.name not in _written_by_coach(path))
    if strangers:
        shown = ", ".join(strangers[:3]) + (f" and {len(strangers) - 3} more" if len(strangers) > 3 else "")
        raise OutputError(f"{path}: is a coach result but also holds {shown}, which coach did not write; "
                          "coach does not replace it - move them or choose another output")


class OutputFolder:
    """Build `path` in a hidden folder beside it; publish it whole at the end (see the module doc).
    `inputs`: the run's input files, which must not be inside an old result it replaces."""

    def __init__(self, path: str | os.PathLike, inputs: tuple[str | os.PathLike, ...] = ()):
        self.path = Path(path)
        self.published = self.path   # where the results went (`partial_name` for a partial beside a whole result)
        self.inputs = tuple(inputs)
        self.staging: Path | None = None
        self.created: list[Path] = []   # the folders above `path` this run made, deepest first

    def __enter__(self) -> Path:
        check_replaceable(self.path, self.inputs)
        above = self.path.parent.absolute()
        self.created = [p for p in (above, *above.parents) if not p.exists()]
        parent = ensure_dir(self.path.parent)
        try:
            self.staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".partial", dir=parent))
        except OSError as err:
            raise OutputError(f"{parent}: cannot create an output folder ({_why(err)})") from None
        return self.staging

    def __exit__(self, exc_type, exc, tb) -> None:
        done = exc_type is None or issubclass(exc_type, KeyboardInterrupt)
        if done and (self.staging / SESSION).exists():
            self._publish()
            return
        shutil.rmtree(self.staging, ignore_errors=True)
        self._remove_created()
        if isinstance(exc, OutputError) and str(self.staging) in str(exc):
            # name the file the user asked for, not its hidden staging copy (which is gone)
            raise OutputError(str(exc).replace(str(self.staging), str(self.path))) from None

    def _remove_created(self) -> None:
        """A run that published nothing leaves no folder it made (they are empty: the staging is gone)."""
        for folder in self.created:
            try:
                folder.rmdir()
            except OSError:
                break   # not empty (another run's results) or not ours to remove

    def _publish(self) -> None:
        _ordinary_permissions(self.staging)
        old, path = None, self.path
        try:
            check_replaceable(path, self.inputs)   # again: something may have appeared meanwhile
            if is_whole_result(path) and not is_whole_result(self.staging):   # a stopped run keeps the whole one
                path = _free_partial(path, self.inputs)
        except OutputError:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise
        try:
            if path.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
                os.replace(path, old / path.name)
            os.replace(self.staging, path)
        except OSError as err:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise OutputError(f"{path}: cannot move the results into place ({_why(err)})") from None
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.published = path


def _ordinary_permissions(folder: Path) -> None:
    """Temporary files and folders are private (0600 / 0700); results get the user's usual modes."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.iterdir():
        path.chmod(0o666 & ~umask)


# annotated.mp4's longer side at most (1280 x 720, "HD"): the overlay scales with the frame and stays
# legible there, and finer pixels show nothing more of the pose - MediaPipe's landmarks of a still
# person spread by ~0.7% of the body's size (bench/noise_levels.py), ~4 px for a body 540 px tall.
# Encoding and drawing cost grow with the pixels: a 1080p frame costs 11.7 ms to encode (mp4v) on
# this 2-core machine, its half 2.3 ms. The frame is divided by a whole number (1920 x 1080 -> 960 x 540,
# 3840 x 2160 -> 1280 x 720), which INTER_AREA does fast and without aliasing.
ANNOTATED_MAX_SIDE_PX = 1280


def annotated_pixels(rgb: np.ndarray, max_side_px: int = ANNOTATED_MAX_SIDE_PX) -> np.ndarray:
    """`rgb` as annotated.mp4 holds it: divided by the smallest whole number that brings its longer side
    to `max_side_px` or less (unchanged when it already is)."""
    return shrunk(rgb, max_side_px, whole_divisor=True)


def csv_header() -> list[str]:
    head = ["t_s", "frame", "exercise", "phase", "side", "status", "pose_seen", "view", "posture", "in_envelope",
            "hold_state", "holding", "hold_s", "hold_progress", "reps_done", "alerts"]
    for name in MEASURE_NAMES:
        head += [name, f"{name}_reliability", f"{name}_in_band"]
    return head


def _num(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else ""


def _flag(value: bool | None) -> str:
    return "" if value is None else str(int(value))


def csv_row(pose_frame: PoseFrame, verdict: FrameVerdict, inside: bool | None) -> list[str]:
    v = verdict
    row = [_num(v.t_s, 4), str(pose_frame.index), v.exercise_id, v.phase, v.side or "", v.status.value,
           str(int(v.pose_seen)), v.view.value, v.posture.value, _flag(inside), v.state.value, str(int(v.holding)),
           _num(v.hold_s, 3), _num(v.progress, 3), ";".join(f"{k}={n}" for k, n in v.reps_done.items()),
           ";".join(v.alert_ids)]
    for m in v.measures:
        row += [_num(m.value), m.reliability.value, _flag(m.inside) if m.in_envelope else ""]
    return row


class SessionFiles:
    """The per-frame writers of one input (a context manager) and the end-of-run summary files."""

    def __init__(self, folder: Path, info: InputInfo, *, target: Path | None = None, video: bool = True,
                 landmarks: bool = True, video_fps: float | None = None):
        self.folder, self.info = folder, info
        # annotated.mp4 holds the analysed frames only (a 60 fps input analysed at 30 frames/s: every
        # other one), written at that rate so it plays at the input's speed (`feed.analysed_fps`)
        self.video_fps = video_fps or info.fps
        self.target = target or folder   # the folder named in error messages
        self.video = video and info.kind in ("video", "image")
        self.landmarks = landmarks
        self.keyframes = KeyframePicker(self._overlay)
        self._stack = contextlib.ExitStack()
        self._overlays: dict[str, object] = {}
        self._csv = self._recording = self._sink = None

    def names(self) -> tuple[str, ...]:
        media = (VIDEO if self.info.kind == "video" else IMAGE) if self.video else None
        return tuple(n for n in (CSV, LANDMARKS, media, SESSION, HTML) if n)

    def __enter__(self) -> SessionFiles:
        try:
            return self._open()
        except OSError as err:
            raise OutputError(f"{self.target}: results could not be written ({_why(err)})") from None

    def _open(self) -> SessionFiles:
        from coach.pose.recording import RecordingInfo, RecordingWriter

        with self._stack:
            fh = self._stack.enter_context(atomic_open(self.folder / CSV, "w", keep_on_interrupt=True,
                                                       encoding="utf-8", newline=""))
            self._csv = csv.writer(fh)
            self._csv.writerow(csv_header())
            if self.landmarks:
                w, h = self.info.size_px
                header = RecordingInfo(self.info.fps, w, h, self.info.model, "")
                self._recording = self._stack.enter_context(RecordingWriter(self.folder / LANDMARKS, header))
            self._stack = self._stack.pop_all()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._stack.__exit__(exc_type, exc, tb)
        except OSError as err:
            raise OutputError(f"{self.target}: results could not be written ({_why(err)})") from None

    def mark_partial(self) -> None:
        """The session was cut short (a signal, a quit): the landmarks' header says so too when closed."""
        if self._recording is not None:
            self._recording.stopped_early = True

    def write_frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict, inside: bool | None,
                    exercise: Exercise) -> None:
        """One frame: a CSV row, a landmarks line, an annotated video frame, key-frame candidates."""
        try:
            self._csv.writerow(csv_row(pose_frame, verdict, inside))
            if self._recording is not None:
                self._recording.write(pose_frame)
            rgb = frame.rgb if frame is not None else None
            if self.info.kind == "image":
                self._image(exercise, verdict, pose_frame, rgb)
                return
            if self.video and rgb is not None:
                small = annotated_pixels(rgb)
                self._video_sink(small).write(self._overlay(exercise).annotate(small, pose_frame, verdict))
            self.keyframes.offer(exercise, verdict, pose_frame, rgb)
        except OSError as err:
            raise OutputError(f"{self.target}: results could not be written ({_why(err)})") from None

    def _image(self, exercise: Exercise, verdict: FrameVerdict, pose_frame: PoseFrame, rgb) -> None:
        """An image is one frame: it is its own key frame, and annotated.jpg at full size."""
        self.keyframes.keep_frame(exercise, verdict, pose_frame, rgb)
        if self.video and rgb is not None:
            write_bytes(self.folder / IMAGE, encode_jpeg(self._overlay(exercise).annotate(rgb, pose_frame, verdict)))

    def _overlay(self, exercise: Exercise):
        if exercise.id not in self._overlays:
            from coach.render.overlay import Overlay

            self._overlays[exercise.id] = Overlay(exercise)
        return self._overlays[exercise.id]

    def _video_sink(self, rgb):
        if self._sink is None:
            from coach.io.video import VideoSink

            h, w = rgb.shape[:2]
            self._sink = self._stack.enter_context(VideoSink(self.folder / VIDEO, self.video_fps, (w, h),
                                                             threaded=True))
        return self._sink

    def write_summary(self, report: Report, timeline: TimelineArrays, exercises: dict[str, Exercise],
                      extra: dict | None = None) -> None:
        """report.html, then session.json (its presence marks the folder complete), each atomically;
        `extra`: keys added to session.json (live follow-along: "follow")."""
        from coach.report.html import render_report

        write_text(self.folder / HTML, render_report(report, timeline, self.keyframes, exercises))
        write_text(self.folder / SESSION, report.to_json(extra))


class ResultFiles(Sink):
    """The session loop's sink for a result folder: each verdict goes to the `Summariser` and to the
    per-frame files; at the end the summary is built (`report`, `timeline`), the per-frame files are
    closed and report.html / session.json written - or, with `publish`, whatever the command writes
    instead (compare adds its comparison). `outputs`: the names session.json lists (default
    `files.names()`); `extra`: keys added to session.json."""

    def __init__(self, files: SessionFiles, summary: Summariser, *, outputs: tuple[str, ...] | None = None,
                 publish: Callable[[Report, TimelineArrays], None] | None = None, extra: dict | None = None):
        self.files, self.summary, self.outputs = files, summary, outputs
        self.publish, self.extra = publish, extra
        self.exercise: Exercise | None = None
        self.report: Report | None = None
        self.timeline: TimelineArrays | None = None

    def segment(self, exercise: Exercise, t_s: float, score: float | None) -> None:
        self.exercise = exercise
        self.summary.start_segment(exercise, t_s, score)

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        inside = self.summary.add(verdict)
        self.files.write_frame(frame, pose_frame, verdict, inside, self.exercise)

    def close(self, partial: bool) -> None:
        outputs = self.outputs if self.outputs is not None else self.files.names()
        self.report, self.timeline = self.summary.finish(partial=partial, outputs=outputs)
        if partial:
            self.files.mark_partial()
        self.files.__exit__(None, None, None)   # frames.csv, landmarks, video complete (a no-op when done)
        if self.publish is not None:
            self.publish(self.report, self.timeline)
        else:
            self.files.write_summary(self.report, self.timeline, self.summary.exercises, self.extra)
