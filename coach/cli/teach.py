"""`coach teach DEMO --id ID [--name NAME] [-o FILE]`: an exercise file from a demonstration.

DEMO is a video, a landmark recording (.jsonl[.gz]) or a camera index (Ctrl-C ends a camera
demonstration). The held positions, sides, envelope bands and hold target are learned by
`coach.physio.teach` from its measures, read frame by frame (`coach.physio.demonstration`: no frame is
kept); the file is written atomically and validated by loading it back. A demonstration with
no stable hold is refused with one line (exit 2). Nothing heavy is imported until `run`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from coach.cli.options import add_model, add_out_file, add_quiet
from coach.errors import ExerciseError, OutputError

HELP = "learn an exercise from a demonstration (video, recording or camera) and write its exercise file"
EXAMPLE = 'coach teach physio_bridge.mp4 --id anna_bridge --name "Bridge (Anna)"'
ID_PATTERN = re.compile(r"^[a-z0-9_]+$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("demo", metavar="DEMO", help="video, .jsonl[.gz] landmark recording, or camera index (0, 1, ...)")
    parser.add_argument("--id", required=True, dest="exercise_id",
                        help="the new exercise's id: lower_snake_case (also the file name)")
    parser.add_argument("--name", default=None, help="the exercise's name as shown to the patient (default from the id)")
    add_out_file(parser, "the exercise file to write, named ID.toml (default ./ID.toml) - put it in a "
                         "$COACH_EXERCISES folder")
    parser.add_argument("--force", action="store_true", help="replace FILE if it exists (only an exercise file)")
    parser.add_argument("--rest", choices=("auto", "none"), default="auto",
                        help="auto: the position the demonstration starts in is rest when it later holds another; "
                             "none: every still position is a hold (default auto)")
    parser.add_argument("--sides", choices=("auto", "none", "left_right"), default="auto",
                        help="auto: left/right when the held position is asymmetric (the other side is its mirror); "
                             "none or left_right to decide it yourself (default auto)")
    parser.add_argument("--hold-s", type=_seconds, default=None, metavar="S",
                        help="the hold target in seconds (default: from the demonstrated holds)")
    parser.add_argument("--tolerance", type=_factor, default=1.0, metavar="X",
                        help="scale every band's margins: 1.5 = half as wide again for a more mobile patient, "
                             "0.7 = narrower for a stiffer one (default 1)")
    add_model(parser)
    add_quiet(parser)


def _number(text: str, what: str, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value <= high):   # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r}: expected {what} above 0 and at most {high:g}")
    return value


def _seconds(text: str) -> float:
    from coach.cli.options import number_in
    from coach.engine.exercises import MAX_HOLD_S, MIN_HOLD_S

    return number_in(MIN_HOLD_S, MAX_HOLD_S, unit="seconds")(text)


def _factor(text: str) -> float:
    from coach.physio.teach_file import MAX_TOLERANCE

    return _number(text, "a factor", MAX_TOLERANCE)


def progress_bar(quiet: bool):
    """A `wrap` for `coach.physio.demonstration.read_measures`: a rich progress bar on a terminal."""
    return lambda stream, description: _progress(stream, description, quiet)


def _progress(stream, description: str, quiet: bool):
    from rich.console import Console

    console = Console(stderr=True)
    if quiet or not console.is_terminal:  # piped or logged: rich would leave a blank line behind
        yield from stream
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=stream.info.frame_count)
        for item in stream:
            yield item
            bar.advance(task)


def _output(args: argparse.Namespace) -> Path:
    if not ID_PATTERN.match(args.exercise_id):
        raise ExerciseError(f"--id {args.exercise_id!r}: use lower_snake_case letters, digits and _ (e.g. anna_bridge)")
    if args.name is not None:
        from coach.usertext import control_character, printable

        if found := control_character(args.name):
            raise ExerciseError(f"--name {printable(args.name)!r}: holds the control character {found}; "
                                "an exercise's name is plain text on one line")
    path = Path(args.out) if args.out else Path(f"{args.exercise_id}.toml")
    if path.suffix != ".toml":   # an exercises folder loads *.toml (a .TOML file there is never read)
        raise OutputError(f"{path}: an exercise file's name must end in .toml")
    if path.stem != args.exercise_id:   # the library rule: an exercises folder holding it would not load
        other = f" or --id {path.stem}" if ID_PATTERN.match(path.stem) else ""
        raise OutputError(f"{path}: an exercise file is named after its id; use -o "
                          f"{path.with_name(args.exercise_id + '.toml')}{other}")
    if (path.exists() or path.is_symlink()) and not args.force:
        raise OutputError(f"{path}: exists; pass --force to replace it")
    if (path.exists() or path.is_symlink()) and not _is_exercise_file(path):
        raise OutputError(f"{path}: exists and is not an exercise file (no id and [[phases]]); "
                          "even with --force coach does not replace it")
    return path


# An exercise file is a few kilobytes; anything this large is not one, and is not read to find out.
MAX_EXERCISE_FILE_BYTES = 1024 * 1024


def _is_exercise_file(path: Path) -> bool:
    """Whether `path` is a regular file holding an exercise (a TOML table with an id and phases):
    --force replaces an old exercise, never some other file that happens to have the name."""
    from coach.engine.datafile import read_toml
    from coach.errors import CoachError

    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_EXERCISE_FILE_BYTES:
            return False
        data = read_toml(path, ExerciseError, "exercise file")
    except (OSError, CoachError, RecursionError):
        return False
    return isinstance(data.get("id"), str) and isinstance(data.get("phases"), list)


def summary_lines(taught, path: Path) -> list[str]:
    ex = taught.exercise
    lines = [f"taught {ex.id!r} ({ex.name}) -> {path}",
             f"  holds found: {len(taught.holds)}, hold target {ex.phases[0].hold_s:g} s, {ex.reps_per_side} rep(s)"
             + (f" per side (side from {ex.side_from})" if ex.side_from else ""),
             f"  posture {', '.join(p.value for p in ex.posture)}; views {', '.join(v.value for v in ex.view)}"]
    if taught.stretch:
        lines.append(f"  matched the shipped {taught.stretch!r}: its measures and the people its bands accept")
    for b in taught.bands:
        lines.append(f"  {b.key:24} {b.low:6.0f} .. {b.high:<6.0f} (demonstrated {b.centre:.0f})"
                     + (" estimate" if b.estimate else ""))
    lines += [f"  note: {n}" for n in taught.notes]
    return lines


def run(args: argparse.Namespace) -> int:
    from coach import interrupts
    from coach.engine.exercises import load_exercise_file
    from coach.io.atomic import write_text
    from coach.physio.demonstration import read_measures
    from coach.physio.teach import TeachSettings, teach

    path = _output(args)
    existed, written = path.exists(), False
    try:
        demo = read_measures(args.demo, args.model, quiet=args.quiet, wrap=progress_bar(args.quiet))
        taught = teach(demo.series, args.exercise_id, name=args.name, source=Path(demo.name).name,
                       settings=TeachSettings(rest=args.rest), sides=args.sides, hold_s=args.hold_s,
                       tolerance=args.tolerance)
        with interrupts.deferred():   # written whole or not at all, and known which
            write_text(path, taught.toml)
            written = True
    except KeyboardInterrupt as stop:   # a half-read demonstration teaches nothing: said on the stop's line
        stop.kept = (f"{path} was written" if written else
                     f"nothing was written ({path} is as it was)" if existed else f"nothing was written to {path}")
        raise
    load_exercise_file(path)   # as an exercises folder will load it (the id equals the file name)
    if not args.quiet:
        from coach.usertext import printable

        print("\n".join(printable(line) for line in summary_lines(taught, path)), file=sys.stderr)
    print(path)
    return 0
