"""`coach compare PATIENT --reference DEMO [-o DIR]`: how close a patient gets to a demonstration.

Both inputs are videos or landmark recordings. The exercise is taught from DEMO (`coach.physio.teach`), the
two are aligned in time by DTW on its measures (`coach.physio.compare`), and the patient is coached with the
taught exercise. DIR (default ./coach-out/PATIENT-vs-DEMO.coach) gets:
  comparison.json  per measure, how far the patient was from the demonstration (at its holds and
                   overall, degrees); holds done against those demonstrated; alerts
  report.html      the `coach analyze` report of the patient, with a "Compared with the
                   demonstration" section first;   session.json  that report's data
  compare.mp4      side by side: the patient annotated, with the demonstrator's skeleton as a ghost
                   scaled and aligned onto their body, and the demonstration at the aligned moment
  reference.toml   the exercise taught from DEMO (edit it and pass it to `coach analyze`)
An existing DIR is replaced only when it is an earlier coach result. The session is stored in the
history database (`coach history`) unless --no-history; a history that cannot be written is a warning.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from pathlib import Path

from coach.cli.options import add_history, add_mine, add_model, add_out_folder, add_quiet

HELP = "compare a patient with a demonstration: aligned deviations, ghost video, report"
EXAMPLE = "coach compare patient.mp4 --reference physio_bridge.mp4 -o coach-out/anna"
FILES = ("comparison.json", "report.html", "session.json", "compare.mp4", "reference.toml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("patient", metavar="PATIENT", help="the patient's video or .jsonl[.gz] landmark recording")
    parser.add_argument("--reference", required=True, metavar="DEMO",
                        help="the demonstration: a video or .jsonl[.gz] landmark recording")
    add_out_folder(parser, "the result folder itself; default ./coach-out/PATIENT-vs-DEMO.coach")
    add_model(parser)
    parser.add_argument("--no-video", dest="video", action="store_false", help="skip compare.mp4")
    add_history(parser)
    add_mine(parser)
    add_quiet(parser)


def _pixels(source: str, kind: str, count: int):
    """The patient's frames' pixels again (a video), else None per frame."""
    if kind != "video":
        return contextlib.nullcontext(iter([None] * count))
    from coach.io.sources import open_source

    return contextlib.closing(f.rgb for f in open_source(source).frames())


def _render(overlay, rgb, pose_frame, verdict, ghost):
    from coach.physio.compare_report import blank

    cache: list = []

    def drawn():
        if not cache:
            canvas = rgb if rgb is not None else blank(pose_frame.pose.image_size)
            cache.append(overlay.annotate(canvas, pose_frame, verdict, ghost=ghost))
        return cache[0]
    return drawn


def coach_patient(patient, reference, taught, comparison, folder: Path, video: bool, source: str):
    """The engine over the patient's frames: the Report, its timeline, key frames; compare.mp4 if asked."""
    import numpy as np

    from coach.engine.core import Coach
    from coach.io.video import VideoSink
    from coach.physio.compare_report import reference_panel, side_by_side
    from coach.render.ghost import ghost_pose
    from coach.render.overlay import Overlay
    from coach.report.core import InputInfo, Summariser
    from coach.report.keyframes import KeyframePicker

    exercise = taught.exercise
    info = InputInfo(Path(patient.name).name, source, patient.kind if patient.kind != "camera" else "video",
                     float(patient.fps), patient.size)
    coach, summary, overlay = Coach(exercise), Summariser(info), Overlay(exercise)
    picker = KeyframePicker(lambda _exercise: overlay)
    summary.start_segment(exercise, patient.frames[0].t_s)
    ref_t = reference.series.t_s
    with contextlib.ExitStack() as stack:
        pixels = stack.enter_context(_pixels(source, patient.kind, len(patient.frames)))
        sink = None
        for pose_frame, rgb in zip(patient.frames, pixels):
            verdict = coach.update(pose_frame.pose, pose_frame.t_s, others=pose_frame.others)
            summary.add(verdict)
            j = int(np.clip(np.searchsorted(ref_t, comparison.reference_time_for(pose_frame.t_s)), 0, len(ref_t) - 1))
            ref_pose = reference.frames[j].pose
            drawn = _render(overlay, rgb, pose_frame, verdict, ghost_pose(ref_pose, pose_frame.pose))
            picker.offer(exercise, verdict, pose_frame, rgb)
            if video:
                frame = side_by_side(drawn(), reference_panel(ref_pose, drawn().shape[0]))
                if sink is None:
                    h, w = frame.shape[:2]
                    sink = stack.enter_context(VideoSink(folder / "compare.mp4", patient.fps, (w, h)))
                sink.write(frame)
    names = tuple(n for n in FILES if video or n != "compare.mp4")
    report, timeline = summary.finish(partial=False, outputs=names)
    return report, timeline, picker


def _write(folder: Path, taught, comparison, report, timeline, picker, patient: str, reference: str) -> dict:
    from coach.io.atomic import write_text
    from coach.physio.compare_report import comparison_dict, section_html, with_section
    from coach.report.html import render_report

    data = comparison_dict(comparison, taught, report, patient, reference)
    write_text(folder / "reference.toml", taught.toml)
    write_text(folder / "comparison.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    page = render_report(report, timeline, picker, {taught.exercise.id: taught.exercise})
    write_text(folder / "report.html", with_section(page, section_html(data, comparison)))
    write_text(folder / "session.json", report.to_json())   # last: it marks the folder complete
    return data


def summary_lines(data: dict, out: Path) -> list[str]:
    def deg(v):
        return "-" if v is None else f"{v:.0f} deg"
    lines = [f"compared {data['patient']} with {data['reference']} -> {out}",
             f"  off the demonstration: {deg(data['deviation_at_holds_deg'])} at its holds, "
             f"{deg(data['deviation_overall_deg'])} overall"]
    lines += [f"  {m['key']:24} at holds {deg(m['at_holds']):>7}   overall {deg(m['overall']):>7}"
              for m in data["measures"]]
    lines.append("  holds: " + "; ".join(f"{s} {h['achieved']} of {h['demonstrated']}" for s, h in data["holds"].items())
                 + f"; alerts: {len(data['alerts'])}")
    return lines


def run(args: argparse.Namespace) -> int:
    from coach import interrupts
    from coach.cli.options import store_session
    from coach.cli.teach import load_poses
    from coach.physio.compare import compare_series
    from coach.physio.teach import teach
    from coach.session.analyze import input_stem
    from coach.session.session_files import OutputFolder, check_replaceable, result_name

    out = Path(args.out) if args.out else \
        Path("coach-out") / result_name(f"{input_stem(args.patient)}-vs-{input_stem(args.reference)}")
    inputs = (args.patient, args.reference)
    check_replaceable(out, inputs)   # before any work; checked again when publishing
    reference = load_poses(args.reference, args.model, args.quiet, "reading the demonstration")
    ref_name = Path(reference.name).name
    exercise_id = re.sub(r"[^a-z0-9_]+", "_", input_stem(args.reference).lower()).strip("_") or "reference"
    taught = teach(reference.series, exercise_id, name=f"As demonstrated in {ref_name}", source=ref_name)
    patient = load_poses(args.patient, args.model, args.quiet, "reading")
    comparison = compare_series(patient.series, reference.series, taught)
    with OutputFolder(out, inputs) as folder:
        report, timeline, picker = coach_patient(patient, reference, taught, comparison, folder, args.video,
                                                 args.patient)
        with interrupts.deferred():   # the results are complete: a signal now waits until they are published
            data = _write(folder, taught, comparison, report, timeline, picker, Path(patient.name).name, ref_name)
    warnings = store_session(report, "compare", args.db, mine=args.mine) if args.history else []
    if not args.quiet:
        from coach.usertext import printable

        print("\n".join(printable(line) for line in summary_lines(data, out)), file=sys.stderr)
    for w in warnings:
        print(f"coach: warning: {w}", file=sys.stderr)
    print(out)
    return 0
