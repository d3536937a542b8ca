"""`coach demo`: analyse the bundled sample recordings - no camera, no video, no model download.

Each sample (samples/*.jsonl.gz, landmarks of real people doing a stretch) is analysed as the
exercise its header names into ./coach-demo/<sample>.coach/ (or --out DIR): frames.csv, landmarks,
session.json and report.html - no annotated.mp4, as a recording has no pixels. Then the table of
results is printed, with where each report is.
"""

from __future__ import annotations

import argparse
import sys

from coach.cli.options import add_out_folder, add_quiet

HELP = "analyse the bundled sample recordings into ./coach-demo/ and print where the reports are"
EXAMPLE = "coach demo"
DEFAULT_OUT = "coach-demo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_out_folder(parser, f"one result folder per sample goes in it; default ./{DEFAULT_OUT}", default=DEFAULT_OUT)
    add_quiet(parser)


def samples() -> list[tuple[str, str]]:
    """(recording path, exercise id) for each bundled sample; the exercise is the header's label
    when it names a known exercise, else "auto"."""
    from coach import samples_dir
    from coach.engine.exercises import load_library
    from coach.pose.recording import Recording
    from coach.session.analyze import AUTO

    known = load_library()
    out = []
    for path in sorted(samples_dir().glob("*.jsonl.gz")):
        label = Recording(path).info.label
        out.append((str(path), label if label in known else AUTO))
    return out


def short_clips_note(results) -> str:
    """The bundled clips are excerpts of a few seconds, shorter than most holds they show: say so, so
    that "0 of 3" holds done reads as "too short to finish", not as a failure."""
    from coach.engine.exercises import load_library

    library, short = load_library(), []
    for r in results:
        if r.error or r.report is None:
            continue
        targets = [p.hold_s for s in r.report.segments if s.exercise in library for p in library[s.exercise].phases]
        if targets and r.report.duration_s < min(targets):
            short.append(f"{r.source} ({r.report.duration_s:.0f} s, holds of {min(targets):.0f} s)")
    if not short:
        return ""
    return ("These samples are shorter than their exercise's hold, so no hold can be completed in them: "
            + "; ".join(short) + '. "longest hold" shows how far each got.')


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from coach.cli.analyze import print_summary, rich_progress
    from coach.errors import CoachError
    from coach.session.analyze import AnalysisInterrupted, AnalyzeOptions, BatchResult, analyze, output_names

    found = samples()
    if not found:
        raise CoachError("no sample recordings found (the coach._samples package is missing)")
    results = []
    names = output_names([path for path, _ in found])
    with rich_progress(args.quiet) as progress:
        for (path, exercise), name in zip(found, names):
            out_dir = Path(args.out) / name
            try:
                report = analyze(path, out_dir, AnalyzeOptions(exercise=exercise, video=False), progress)
            except AnalysisInterrupted as stop:
                results.append(BatchResult(Path(path).name, out_dir, stop.report))
                raise
            results.append(BatchResult(Path(path).name, out_dir, report))
    if not args.quiet:
        print_summary(results, "coach demo: the bundled samples")
        note = short_clips_note(results)
        if note:
            print(note, file=sys.stdout)
        print(f"Open a report in a browser, e.g. {results[0].out_dir / 'report.html'}", file=sys.stdout)
    return 0
