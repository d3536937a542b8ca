"""`coach compare PATIENT --reference DEMO [--exercise ID|FILE.toml] [-o DIR]`: how close a patient gets to a demonstration.

Both inputs are videos or landmark recordings. The exercise is taught from DEMO (`coach.physio.teach`), or is
the one --exercise names (the physio's edited file: its bands, hold and sides coach the patient), the
two are aligned in time by DTW on its measures (`coach.physio.compare`), and the patient is coached with the
taught exercise (`coach.physio.compare_session`, through the session loop). DIR (default ./coach-out/PATIENT-vs-DEMO.coach) gets:
  comparison.json  per measure, how far the patient was from the demonstration (at its holds and
                   overall, degrees); holds done per side against the target and those
                   demonstrated; which sides each did (a mirrored patient is said so); alerts;
                   the measures left out (the patient's view cannot read them reliably) and why
  report.html      the `coach analyze` report of the patient, with a "Compared with the
                   demonstration" section first;   session.json  that report's data
  compare.mp4      side by side: the patient annotated, with the demonstrator's skeleton as a ghost
                   scaled and aligned onto their body, and the demonstration at the aligned moment
  reference.toml   the exercise coached: taught from DEMO (edit it and pass it with --exercise), or the
                   --exercise file as it was read
  frames.csv       one row per patient frame, as `coach analyze` writes it
An existing DIR is replaced only when it is an earlier coach result. The session is stored in the
history database (`coach history`) unless --no-history; a history that cannot be written is a warning.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coach.cli.options import (
    add_exercises,
    add_history,
    add_mine,
    add_model,
    add_out_folder,
    add_quiet,
    print_history_warnings,
)

HELP = "compare a patient with a demonstration: aligned deviations, ghost video, report"
EXAMPLE = ("coach compare patient.mp4 --reference physio_bridge.mp4 -o coach-out/anna\n"
           "  coach compare patient.mp4 --reference physio_bridge.mp4 --exercise anna_bridge.toml   (the edited file)")
EXERCISE_HELP = ("the exercise that coaches the patient: an exercise file (the one `coach teach` wrote, as edited) "
                 "or an id (see `coach exercises list`); its bands, hold and sides judge the patient and DEMO "
                 "gives the ghost and the numbers to compare with (default: taught from DEMO)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("patient", metavar="PATIENT", help="the patient's video or .jsonl[.gz] landmark recording")
    parser.add_argument("--reference", required=True, metavar="DEMO",
                        help="the demonstration: a video or .jsonl[.gz] landmark recording")
    parser.add_argument("-e", "--exercise", metavar="ID|FILE.toml", default=None, help=EXERCISE_HELP)
    add_exercises(parser)
    add_out_folder(parser, "the result folder itself; default ./coach-out/PATIENT-vs-DEMO.coach")
    add_model(parser)
    parser.add_argument("--no-video", dest="video", action="store_false", help="skip compare.mp4")
    add_history(parser)
    add_mine(parser)
    add_quiet(parser)


def run(args: argparse.Namespace) -> int:
    from coach.cli.teach import progress_bar
    from coach.history.sink import HistorySink
    from coach.physio.coached import coached_exercise
    from coach.physio.compare_session import CompareInterrupted, compare
    from coach.session.analyze import input_stem
    from coach.session.session_files import result_name

    out = Path(args.out) if args.out else \
        Path("coach-out") / result_name(f"{input_stem(args.patient)}-vs-{input_stem(args.reference)}")
    exercise = coached_exercise(args.exercise, args.exercises) if args.exercise else None   # before any reading
    history = HistorySink(args.db, "compare", mine=args.mine) if args.history else None
    try:
        result = compare(args.patient, args.reference, out, model=args.model, video=args.video, quiet=args.quiet,
                         wrap=progress_bar(args.quiet), sinks=(history,) if history is not None else (),
                         exercise=exercise)
    except CompareInterrupted as stop:   # stopped after the result was published: say where it is
        if stop.result is not None:
            what = "partial: the patient's frames read" if stop.result.report.partial else "whole"
            _said(stop.result, out, args, history, f" (interrupted; {what})")
        else:
            print_history_warnings(history, args.quiet)
        raise
    except KeyboardInterrupt:   # stopped after the session was stored: its history warnings still count
        print_history_warnings(history, args.quiet)
        raise
    _said(result, out, args, history)
    return 0


def _said(result, out: Path, args: argparse.Namespace, history, stopped: str = "") -> None:
    """The summary (stderr, not with -q; `stopped` marks its first line), the history's warnings and the
    result's path (stdout): on success and when a signal stopped the command after publishing."""
    from coach.usertext import printable

    if not args.quiet:
        lines = result.record.lines(result.out_dir or out)
        print("\n".join(printable(line) for line in [lines[0] + stopped, *lines[1:]]), file=sys.stderr)
    print_history_warnings(history, args.quiet)
    print(result.out_dir or out)
