"""`coach analyze`: one input in, one folder of results out - streaming, with bounded memory.

    report = analyze("stretch.mp4", "coach-out/stretch", AnalyzeOptions(exercise="bridge"))

The pipeline is the session loop (`coach.session.loop.run_session`): every frame's poses go to the
engine; its verdict becomes one CSV row, one landmarks line, one annotated video frame and one row
of the summary (the `ResultFiles` sink) and one step of the progress bar. Nothing keeps
frames: the summary keeps small numbers per frame (`coach.report.timeline`) and a few thumbnails
(`coach.report.keyframes`). With `--exercise auto` a first pass detects the poses once (writing
landmarks.jsonl.gz) so `coach.engine.autodetect` can plan the exercise segments; the second pass replays
those landmarks (and decodes the video again for the annotated copy, if one is wanted).

Outputs (`coach.session.session_files`) are built in a hidden folder beside the target and moved into place
at the end, each file written atomically: an error (disk full, unwritable folder) leaves nothing
half-written; Ctrl-C (or SIGTERM, SIGHUP: `coach.interrupts`) finishes the outputs for what was
analysed (`"partial": true`) and then raises `AnalysisInterrupted` (a KeyboardInterrupt), so the
command exits 130 (143, 129). Once the frames are done, further signals wait until the results are
published. The target is replaced only when it is an earlier coach result (`check_replaceable`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from coach import interrupts
from coach.engine.autodetect import Features, Plan, plan
from coach.engine.exercises import Exercise, exercise_named, load_library
from coach.errors import CoachError, InputError
from coach.io.sources import Frame
from coach.pose.core import PoseFrame
from coach.pose.detector import DEFAULT_NUM_POSES
from coach.report.core import InputInfo, Report, Summariser
from coach.report.timeline import TimelineArrays
from coach.session.loop import ProgressSink, Sink, new_coach, run_session
from coach.session.session_files import (
    LANDMARKS,
    OutputFolder,
    ResultFiles,
    SessionFiles,
    check_replaceable,
    moved_aside,
    result_name,
)

AUTO = "auto"


@dataclass(frozen=True)
class AnalyzeOptions:
    exercise: str = AUTO                 # an exercise id, or "auto"
    model: str | None = None             # lite | full | heavy | PATH (default: full)
    video: bool = True                   # write annotated.mp4 (annotated.jpg for an image)
    num_poses: int = DEFAULT_NUM_POSES
    exercise_dirs: tuple[str, ...] = ()  # extra exercise folders


class Progress:
    """Where progress goes; the CLI passes a rich progress bar, the library default is silence."""

    def start(self, description: str, total: int | None) -> None:
        """A new stage begins (`total` frames, None when unknown)."""

    def advance(self) -> None:
        """One more frame done."""


class AnalysisInterrupted(KeyboardInterrupt):
    """Ctrl-C: the outputs for what was analysed are written (partial) and `report` says so."""

    def __init__(self, report: Report | None, out_dir: Path | None = None):
        super().__init__()
        self.report = report
        self.out_dir = out_dir   # where the partial results went (beside a whole earlier result: `OutputFolder`)


# --- the pipeline ------------------------------------------------------------------------------

def _coach_for(kind: str):
    return lambda exercise: new_coach(exercise, kind)


def analyze(source: str | os.PathLike, out_dir: str | os.PathLike, options: AnalyzeOptions = AnalyzeOptions(),
            progress: Progress = Progress(), sinks: Sequence[Sink] = ()) -> Report:
    """Analyse one input (video, image or landmark recording) into `out_dir`, which is created - or,
    when it is an earlier coach result, replaced as a whole when the analysis is done. Returns the
    session report. `sinks`: more readers of the session, after the result files (the CLI's
    history: its `published` runs once the folder is)."""
    from coach.io.sources import source_kind
    from coach.session.feed import ANALYSIS, analysed_fps, open_feed

    check_replaceable(Path(out_dir), (source,))   # before any work; checked again when publishing
    kind = source_kind(source)
    if kind in ("folder", "camera"):
        raise InputError(f"{source}: is a {kind}; analyze takes files (`coach analyze` expands a folder; "
                         "`coach live` coaches from a camera)")
    exercises = _exercises(options)
    stream = open_feed(source, model=options.model, num_poses=options.num_poses, download_progress=False,
                       max_rate_hz=ANALYSIS)   # a 60 fps video is analysed at 30 frames/s (ANALYSIS_RATE_HZ)
    info = _input_info(source, stream.info)
    _warm_up_report()
    flush = contextlib.ExitStack()   # entered when the frames are done; left once the folder is published
    results, output = None, OutputFolder(out_dir, inputs=(source,))
    try:
        with flush, output as folder, stream:
            summary = Summariser(info)
            if options.exercise == AUTO:
                copy = folder / PIXELS_COPY if options.video and info.kind == "video" else None
                plan_, interrupted = _first_pass(stream, folder, exercises, progress, copy,
                                                 analysed_fps(info.fps, stream.max_rate_hz))
                summary.not_sure = plan_.not_sure_notes()   # said in session.json, report.html and by the CLI
                if copy is not None and copy.exists():   # holds exactly the frames kept: no cap again
                    pairs = _replay(folder / LANDMARKS, copy, info, options, None)
                else:
                    pairs = _replay(folder / LANDMARKS, source, info, options, stream.max_rate_hz)
            else:
                plan_, interrupted = Plan.fixed(exercises[0]), False
                pairs = stream.frames_and_poses()   # detected in a thread, ahead of the engine
            with SessionFiles(folder, info, target=Path(out_dir), video=options.video, landmarks=not plan_.auto,
                              video_fps=analysed_fps(info.fps, stream.max_rate_hz)) as files:
                progress.start(f"analysing {_short(info.name)}", _frame_count(source, stream.info))
                results = ResultFiles(files, summary)
                with contextlib.closing(pairs):
                    end = run_session(pairs, plan_, [results, ProgressSink(progress), *sinks], coach_for=_coach_for(info.kind),
                                      interrupted=interrupted, flush=flush)
            (folder / PIXELS_COPY).unlink(missing_ok=True)   # the first pass's copy is never published
    except KeyboardInterrupt as stop:
        if not interrupts.waited(stop) or results is None or results.report is None:
            raise
        # A signal that waited while the results were being published: they are whole (`run_session`
        # kept the history too), and the command stops now with them, as after a signal mid-video.
        raise AnalysisInterrupted(results.report, output.published) from None
    if end.interrupted:
        raise AnalysisInterrupted(results.report, output.published)
    return results.report


def _warm_up_report() -> None:
    """Import the report's plotting and templating in a thread now, while the frames are analysed,
    rather than after the last frame (about a second saved on every input)."""
    import threading

    def warm() -> None:
        import importlib

        from coach.report import plots as report_plots

        report_plots.pyplot()
        importlib.import_module("jinja2")

    threading.Thread(target=warm, name="coach-warm-up", daemon=True).start()


# --- --exercise auto ---------------------------------------------------------------------------

# The first pass of `--exercise auto` keeps the analysed frames, at annotated.mp4's size, in this
# hidden file of the staging folder; the second pass draws on them instead of decoding the input
# again. Decoding a 1080p60 input twice was a third of the time of `coach analyze` on a 1080p60 clip
# (bench/bench_speed.py); the copy is made while the model runs (the first pass waits on it), costs
# 2 ms a frame and ~7 kB a frame of disk, and is removed before the results are published.
PIXELS_COPY = ".analysed-frames.mp4"


def _first_pass(stream, folder: Path, exercises: list[Exercise], progress: Progress, copy: Path | None,
                copy_fps: float) -> tuple[Plan, bool]:
    """Detect (or read) every frame once: write landmarks.jsonl.gz and collect what autodetect scores;
    with `copy`, keep the frames there as annotated.mp4 will show them (`annotated_pixels`)."""
    from coach.io.video import VideoSink
    from coach.measure.measures import compute_measures
    from coach.pose.recording import RecordingInfo, RecordingWriter
    from coach.session.session_files import annotated_pixels

    info, features, interrupted = stream.info, Features(), False
    header = RecordingInfo(info.fps, info.size_px[0], info.size_px[1], info.model, info.label)
    progress.start(f"detecting {_short(info.name)}", _frame_count(info.path, info))
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(RecordingWriter(folder / LANDMARKS, header))
        pairs = stack.enter_context(contextlib.closing(stream.frames_and_poses()))
        pixels = None
        try:
            for frame, pose_frame in pairs:
                writer.write(pose_frame)
                if copy is not None and frame is not None:
                    small = annotated_pixels(frame.rgb)
                    if pixels is None:
                        pixels = stack.enter_context(VideoSink(copy, copy_fps, small.shape[1::-1], threaded=True))
                    pixels.write(small)
                features.add(pose_frame.t_s, compute_measures(pose_frame.pose, pose_frame.others))
                progress.advance()
        except KeyboardInterrupt:
            interrupted = True
    return plan(features, exercises), interrupted


def _replay(landmarks: Path, source, info: InputInfo, options: AnalyzeOptions, max_rate_hz: float | None) -> Iterator:
    """The recorded poses again, with the source's pixels when an annotated video is wanted (the
    same frames the first pass kept: the same rate cap over the same timestamps)."""
    from coach.io.sources import open_source
    from coach.pose.recording import Recording

    poses = Recording(landmarks).frames()
    if not options.video or info.kind not in ("video", "image"):
        return ((None, pose_frame) for pose_frame in poses)
    pixels = open_source(source).frames(max_rate_hz=max_rate_hz)   # the first pass's copy: every frame kept
    return _zipped(pixels, poses)


def _zipped(pixels: Iterator[Frame], poses: Iterator[PoseFrame]) -> Iterator[tuple[Frame, PoseFrame]]:
    try:
        for frame, pose_frame in zip(pixels, poses):
            yield Frame(pose_frame.t_s, pose_frame.index, frame.rgb), pose_frame   # the input's own times
    finally:
        pixels.close()
        poses.close()


# --- inputs ------------------------------------------------------------------------------------

def _exercises(options: AnalyzeOptions) -> list[Exercise]:
    if options.exercise != AUTO:
        return [exercise_named(options.exercise, list(options.exercise_dirs))]   # an id or a file
    return list(load_library(list(options.exercise_dirs)).values())


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _frame_count(source, stream_info) -> int | None:
    """Frames to expect, for the progress bar: the container's count, or a recording's lines."""
    if stream_info.kind != "recording":
        return stream_info.frame_count
    from coach.pose.recording import Recording

    return Recording(source).count_frames()   # bounded reads; None when the replay will report a problem


def _input_info(source, stream_info) -> InputInfo:
    kind = {"folder": "image"}.get(stream_info.kind, stream_info.kind)
    # resolved: session.json and the history name the file itself, wherever the command was run from
    return InputInfo(Path(str(source)).name, str(Path(str(source)).absolute()), kind, stream_info.fps, stream_info.size_px, stream_info.model)


def input_stem(path: str | os.PathLike) -> str:
    """An input's file name without the extension(s): "clip.mp4" -> "clip"."""
    name = Path(path).name
    for suffix in (".jsonl.gz", ".jsonl"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or "input"
    return Path(name).stem or "input"


def output_names(sources: list[str]) -> list[str]:
    """One result folder name per input, "<stem>.coach" (a name no input of that stem has); inputs
    sharing a stem get "<stem>-2.coach", "-3", ... in order."""
    seen: dict[str, int] = {}
    names = []
    for source in sources:
        stem = input_stem(source)
        seen[stem] = seen.get(stem, 0) + 1
        names.append(result_name(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"))
    return names


def expand_inputs(sources: list[str]) -> list[str]:
    """Folders become the videos, images and recordings in them (sorted); files stay as they are."""
    from coach.io.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES
    from coach.pose.recording import is_recording_path

    out = []
    for source in sources:
        path = Path(source)
        if not path.is_dir():
            out.append(source)
            continue
        found = sorted(str(p) for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                       and (is_recording_path(p) or p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES))
        if not found:
            raise InputError(f"{path}: folder holds no videos, images or landmark recordings")
        out.extend(found)
    return out


# --- batch -------------------------------------------------------------------------------------

def _with_model(sources: list[str], options: AnalyzeOptions) -> AnalyzeOptions:
    """Resolve the model once for the whole batch (if any input needs one)."""
    from coach.pose.models import resolve_model
    from coach.pose.recording import is_recording_path

    if all(is_recording_path(s) for s in sources):
        return options
    return replace(options, model=str(resolve_model(options.model, kind="video", progress=False)))


@dataclass(frozen=True)
class BatchResult:
    source: str
    out_dir: Path
    report: Report | None = None
    error: str | None = None


class BatchInterrupted(KeyboardInterrupt):
    def __init__(self, results: list[BatchResult]):
        super().__init__()
        self.results = results


def analyze_batch(sources: list[str], out_root: str | os.PathLike, options: AnalyzeOptions = AnalyzeOptions(),
                  progress: Progress = Progress(), on_error=None, sinks: Sequence[Sink] = ()) -> list[BatchResult]:
    """Analyse each input into out_root/<name>/; a bad input is reported (`on_error(message)`) and
    skipped. Ctrl-C raises BatchInterrupted with the results so far (the current one partial).
    `sinks` read every input's session in turn (`analyze`)."""
    _exercises(options)  # an unknown exercise fails before any work ...
    options = _with_model(sources, options)  # ... and so does a model that cannot be found
    results: list[BatchResult] = []
    for source, name in zip(sources, output_names(sources)):
        out_dir = Path(out_root) / name
        try:
            results.append(BatchResult(source, out_dir, analyze(source, out_dir, options, progress, sinks)))
        except AnalysisInterrupted as stop:
            results.append(BatchResult(source, stop.out_dir or out_dir, stop.report))
            batch = BatchInterrupted(results)
            batch.kept = moved_aside(stop.out_dir, out_dir)   # said on the stop's one line, -q or not
            raise batch from None
        except CoachError as exc:
            results.append(BatchResult(source, out_dir, error=str(exc)))
            if on_error is not None:
                on_error(str(exc))
    return results


__all__ = ["AUTO", "AnalyzeOptions", "AnalysisInterrupted", "BatchInterrupted", "BatchResult", "Progress",
           "TimelineArrays", "analyze", "analyze_batch", "expand_inputs", "output_names"]
