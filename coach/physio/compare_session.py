"""`coach compare` as a library: teach from the demonstration, align the patient, coach the patient.

    result = compare(patient, reference, out_dir, model=None, video=True)
    result = compare(patient, reference, out_dir, exercise=coached_exercise("anna_bridge.toml"))

The exercise coached is taught from the demonstration, or is `exercise` when given (the physio's
edited file, `coach.physio.coached`): its bands, hold and sides judge the patient and the
measures compared are its envelope's; the demonstration still gives the ghost, the holds it
demonstrated (found as `coach teach` finds them, each hold's side told by the file's own rule) and
the reference's numbers at them.
    result.report, result.record        # the patient's session Report; the CompareRecord (comparison.json: .data)

Frames stream: the demonstration is read once (its measures kept; its poses in a landmark recording
unless it is one), the patient is read once and measured once (the per-frame `Measures` kept - the
DTW alignment needs the whole series before the patient can be drawn beside the demonstration -
and the poses in a recording), then the patient's poses are replayed through the session loop
(`coach.session.loop.run_session`) with those measures, so no frame is measured twice. Sinks: the
result files (frames.csv, key frames, then comparison.json, reference.toml, report.html with its
comparison section and session.json) and, when asked, compare.mp4 (the patient annotated with the
demonstrator's ghost, beside the demonstration at the aligned moment).

Ctrl-C (or SIGTERM, SIGHUP) while the patient is read: the frames read so far are aligned, coached
and published, marked partial, and the command then stops (`Interrupted`); while the demonstration
is read, nothing is written (there is nothing to compare with yet). During the alignment a signal
waits: the patient, read whole, is coached whole from its kept poses and published complete but
without compare.mp4 (its video is not decoded again), and then the command stops.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from coach import interrupts
from coach.engine.verdict import FrameVerdict
from coach.io.sources import Frame
from coach.measure.measures import Measures
from coach.physio.coached import CoachedExercise
from coach.physio.compare import Comparison, compare_series
from coach.physio.compare_report import CompareRecord
from coach.physio.demonstration import Demonstration, PoseCursor, Wrap, _plain, read_measures, replay
from coach.physio.teach import Taught, teach
from coach.pose.core import PoseFrame
from coach.report.core import InputInfo, Report, Summariser
from coach.session.loop import Sink, run_session
from coach.session.session_files import CSV, OutputFolder, ResultFiles, SessionFiles, check_replaceable

VIDEO = "compare.mp4"
FILES = ("comparison.json", "report.html", "session.json", CSV, VIDEO, "reference.toml")


@dataclass(frozen=True)
class CompareResult:
    report: Report
    record: CompareRecord   # the one record the terminal, comparison.json and the report are written from
    out_dir: Path | None = None   # where it was published (a partial beside a whole earlier result: `OutputFolder`)

    @property
    def data(self) -> dict:
        """comparison.json's data."""
        return self.record.as_dict()


class CompareInterrupted(interrupts.Interrupted):
    """A signal stopped `compare` after it published a result (`result`; its report says whether it is
    partial), or before (`result` None). The CLI says where it is before the one-line stop."""

    def __init__(self, result: CompareResult | None):
        super().__init__(interrupts.received())
        self.result = result


class CompareVideo(Sink):
    """compare.mp4: each patient frame annotated with the demonstrator's ghost, side by side with the
    demonstration's aligned frame (read forward from its kept recording)."""

    def __init__(self, path: Path, fps: float, reference: Demonstration, comparison: Comparison):
        self.path, self.fps, self.comparison = path, fps, comparison
        self.ref_t = reference.series.t_s
        self.cursor = PoseCursor(reference.landmarks)
        self.overlay = None
        self._stack = contextlib.ExitStack()
        self._sink = None

    def segment(self, exercise, t_s: float, score) -> None:
        from coach.render.overlay import Overlay

        self.overlay = Overlay(exercise)

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        from coach.io.video import VideoSink
        from coach.physio.compare_report import blank, reference_panel, side_by_side
        from coach.render.ghost import ghost_pose

        ref_t = self.ref_t
        j = int(np.clip(np.searchsorted(ref_t, self.comparison.reference_time_for(pose_frame.t_s)), 0, len(ref_t) - 1))
        ref_pose = self.cursor.at(j).pose
        canvas = frame.rgb if frame is not None else blank(pose_frame.pose.image_size)
        drawn = self.overlay.annotate(canvas, pose_frame, verdict, ghost=ghost_pose(ref_pose, pose_frame.pose))
        image = side_by_side(drawn, reference_panel(ref_pose, drawn.shape[0]))
        if self._sink is None:
            h, w = image.shape[:2]
            self._sink = self._stack.enter_context(VideoSink(self.path, self.fps, (w, h)))
        self._sink.write(image)

    def close(self, partial: bool) -> None:
        self.cursor.close()
        self._stack.close()


def taught_from(reference: Demonstration, reference_source: str) -> Taught:
    """The exercise taught from the demonstration; its id from the file's stem."""
    from coach.session.analyze import input_stem

    ref_name = Path(reference.name).name
    exercise_id = re.sub(r"[^a-z0-9_]+", "_", input_stem(reference_source).lower()).strip("_") or "reference"
    return teach(reference.series, exercise_id, name=f"Demonstration ({ref_name})", source=ref_name)


def with_exercise(taught: Taught, coached: CoachedExercise, series) -> Taught:
    """The demonstration's holds, coached with the named exercise: its exercise and file text, each
    hold's side re-told by the file's own side rule (the majority of the hold's frames whose side it
    tells; None when it tells none - unknown stays unknown; every side None without sides)."""
    from coach.engine.envelope import detect_side

    exercise = coached.exercise
    holds = []
    for h in taught.holds:
        told = [] if exercise.sides == "none" else \
            [s for i in range(h.first, h.stop) if (s := detect_side(exercise, series.measures_at(i))) is not None]
        side = max(("left", "right"), key=told.count) if told else None
        holds.append(replace(h, side=side))
    return replace(taught, exercise=exercise, toml=coached.text, holds=tuple(holds))


def compare(patient_source: str, reference_source: str, out: Path, *, model: str | None = None,
            video: bool = True, quiet: bool = False, wrap: Wrap = _plain,
            sinks: Sequence[Sink] = (), exercise: CoachedExercise | None = None) -> CompareResult:
    """Compare the patient with the demonstration into `out` (replaced only when it is an earlier
    coach result). `wrap` shows progress while each input is read. `sinks`: more readers of the
    patient's session, after the result files (the CLI's history: its `published` runs once `out` is).
    `exercise`: the exercise that coaches the patient (default: taught from the demonstration)."""
    inputs = (patient_source, reference_source)
    check_replaceable(out, inputs)   # before any work; checked again when publishing
    with tempfile.TemporaryDirectory(prefix="coach-compare-") as tmp:
        reference = read_measures(reference_source, model, quiet=quiet, what="reading the demonstration", wrap=wrap,
                                  keep=Path(tmp) / "reference.jsonl.gz")
        taught = taught_from(reference, reference_source)
        if exercise is not None:
            taught = with_exercise(taught, exercise, reference.series)
        # Ctrl-C while the patient is read: what was read is compared and coached, published partial
        patient = read_measures(patient_source, model, quiet=quiet, what="reading", wrap=wrap,
                                keep=Path(tmp) / "patient.jsonl.gz", keep_measures=True, partial_ok=True)
        stopped = False
        try:
            with interrupts.deferred():   # a signal now waits for the alignment ...
                comparison = compare_series(patient.series, reference.series, taught)
        except interrupts.Interrupted:    # ... then the patient, read whole, is coached whole, and the command stops:
            stopped, video = True, False  # the engine over the kept poses only (seconds; no video decoded again)
        flush = contextlib.ExitStack()   # from the end of the frames until `out` is published: signals wait
        data, output = None, OutputFolder(out, inputs)
        try:
            with flush, output as folder:
                data = _coach_patient(patient, patient_source, reference, taught, comparison, folder, video,
                                      sinks, flush, pixels=not stopped)
        except interrupts.Interrupted as stop:   # held back until `out` was published: the result is whole
            if isinstance(stop, CompareInterrupted) and stop.result is not None:   # stopped while the patient was read
                raise CompareInterrupted(replace(stop.result, out_dir=output.published)) from None
            if isinstance(stop, CompareInterrupted) or data is None or not interrupts.waited(stop):
                raise
            raise CompareInterrupted(replace(data, out_dir=output.published)) from None
        data = replace(data, out_dir=output.published)
    if stopped:
        raise CompareInterrupted(data)
    return data


def _coach_patient(patient: Demonstration, source: str, reference: Demonstration, taught: Taught,
                   comparison: Comparison, folder: Path, video: bool, more: Sequence[Sink],
                   flush: contextlib.ExitStack, pixels: bool = True) -> CompareResult:
    """The engine over the patient's replayed frames, through the session loop."""
    patient_name, ref_name = Path(patient.name).name, Path(reference.name).name
    info = InputInfo(patient_name, source, patient.kind if patient.kind != "camera" else "video",
                     float(patient.fps), patient.size_px, patient.model)
    written: dict = {}
    with SessionFiles(folder, info, video=False, landmarks=False) as files:
        def publish(report: Report, timeline) -> None:
            written["record"] = _write(folder, taught, comparison, report, timeline, files.keyframes,
                                     patient_name, ref_name)

        outputs = tuple(n for n in FILES if video or n != VIDEO)
        results = ResultFiles(files, Summariser(info), outputs=outputs, publish=publish)
        sinks: list[Sink] = [results]
        if video:
            sinks.append(CompareVideo(folder / VIDEO, patient.analysed_fps, reference, comparison))
        pairs = replay(patient, source, pixels=pixels and patient.kind == "video")
        with contextlib.closing(pairs):
            end = run_session(pairs, taught.exercise, [*sinks, *more], measured=iter(patient.measures),
                              interrupted=patient.partial, flush=flush)
    if end.interrupted:   # published partial, unless the signal came before any frame was coached
        raise CompareInterrupted(CompareResult(results.report, written["record"]) if "record" in written else None)
    return CompareResult(results.report, written["record"])


def _write(folder: Path, taught: Taught, comparison: Comparison, report: Report, timeline, picker,
           patient: str, reference: str) -> CompareRecord:
    from coach.io.atomic import write_text
    from coach.physio.compare_report import compare_record, section_html, with_section
    from coach.report.html import render_report

    record = compare_record(comparison, taught, report, patient, reference)
    data = record.as_dict()
    write_text(folder / "reference.toml", taught.toml)
    write_text(folder / "comparison.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    page = render_report(report, timeline, picker, {taught.exercise.id: taught.exercise})
    write_text(folder / "report.html", with_section(page, section_html(record, comparison)))
    write_text(folder / "session.json", report.to_json())   # last: it marks the folder complete
    return record


__all__ = ["CompareResult", "CompareVideo", "FILES", "compare"]
