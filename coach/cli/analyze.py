"""`coach analyze INPUT... [--exercise ID|FILE.toml|auto] [--out DIR]`: a folder of results per input.

INPUT is a video, an image, a landmark recording (.jsonl[.gz]) or a folder of those (each file in it
is one input). Each goes to DIR/<input name>.coach/ (default DIR ./coach-out; inputs sharing a name
get -2, -3, ...; an existing path there is replaced only when it is an earlier coach result):
annotated.mp4, frames.csv, landmarks.jsonl.gz, session.json and report.html (see coach/analyze.py).
Progress (frames/s, time left) goes to stderr; a table of the results to stdout. A bad input is
reported on one line and skipped; the exit code is then 2. With `--exercise auto`, a part whose
exercise can't be told apart from another (`coach.engine.autodetect`: "not sure") is judged as the
likelier one, written, and named on one stderr line with its candidates; the exit code is then 3
(NOT_SURE_EXIT, unless a bad input made it 2): the person should choose with --exercise. Ctrl-C
(SIGTERM, SIGHUP) keeps the outputs of what was analysed (marked partial) and exits 130 (143, 129).
Nothing heavy is imported until `run`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from coach.cli.options import (
    add_exercises,
    add_history,
    add_mine,
    add_model,
    add_num_poses,
    add_out_folder,
    add_quiet,
    print_history_warnings,
    unused_model_note,
)

HELP = "analyse videos, images or recordings: annotated video, CSV, landmarks, session.json, report.html"
EXAMPLE = "coach analyze stretch.mp4 --exercise bridge --out results/"
DEFAULT_OUT = "coach-out"
NOT_SURE_EXIT = 3   # analysed, but --exercise auto could not tell the exercise of some part



def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="video, image, .jsonl[.gz] landmark recording, or a folder of them")
    parser.add_argument("-e", "--exercise", default="auto", metavar="ID|FILE.toml|auto",
                        help="the exercise shown: an id (see `coach exercises list`) or an exercise file, or auto "
                             "to find it, segment by segment (default auto)")
    add_out_folder(parser, f"one result folder per input goes in it; default ./{DEFAULT_OUT}", default=DEFAULT_OUT)
    add_model(parser)
    parser.add_argument("--no-video", dest="video", action="store_false",
                        help="skip annotated.mp4 (the slowest output to write)")
    add_num_poses(parser)
    add_exercises(parser)
    add_quiet(parser)
    add_history(parser)
    add_mine(parser)


def history_sink(args: argparse.Namespace):
    """The session loop's history (None with --no-history): every complete session is stored once
    its folder is published, as the person's own only with --mine."""
    if not args.history:
        return None
    from coach.history.sink import HistorySink

    return HistorySink(args.db, "analyze", mine=args.mine)


def _fps_column():
    from rich.progress import ProgressColumn
    from rich.text import Text

    class FpsColumn(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:5.1f} fps" if speed else "  ... fps", style="progress.data.speed")

    return FpsColumn()


@contextlib.contextmanager
def rich_progress(quiet: bool) -> Iterator:
    """An `analyze.Progress` drawing a rich bar on stderr (frames, frames/s, time left); silent if quiet."""
    from rich.console import Console

    from coach.session.analyze import Progress

    console = Console(stderr=True)
    if quiet or not console.is_terminal:  # piped or logged: rich would leave a blank line behind
        yield Progress()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               _fps_column(), TimeRemainingColumn()]

    class RichProgress(Progress):
        task = None

        def start(self, description: str, total: int | None) -> None:
            if self.task is not None:
                bar.remove_task(self.task)
            self.task = bar.add_task(description, total=total)

        def advance(self) -> None:
            bar.advance(self.task)

    with Bar(*columns, console=console, transient=True) as bar:
        yield RichProgress()


def _status(result) -> str:
    if result.error:
        return "error"
    return "partial" if result.report.partial else "ok"


def _row(result) -> list[str]:
    from pathlib import Path

    from rich.markup import escape

    from coach.usertext import printable

    name = escape(printable(Path(result.source).name))
    if result.error:
        return [name, "", "", "", "", "", "[red]error[/red]"]
    rep = result.report
    image = rep.input.kind == "image"   # one frame holds nothing
    from coach.report.stats import holds_done, longest_hold

    holds = "-" if image else holds_done(rep.segments)
    longest = "-" if image else longest_hold(rep.segments, rep.holds)
    stops = sum(1 for a in rep.alerts if a.severity == "stop")
    alerts = f"{len(rep.alerts)}" + (f" ({stops} stop)" if stops else "")
    if image:
        in_position = {True: "yes", False: "no", None: "can't judge"}[rep.in_envelope]
    else:
        share = rep.time_in_envelope_pct()
        in_position = f"{share:.0f}%" if share == share else "-"
    status = _status(result)
    colour = "green" if status == "ok" else "yellow"
    return [name, escape(", ".join(dict.fromkeys(s.exercise for s in rep.segments))), holds, longest,
            alerts, in_position, f"[{colour}]{status}[/{colour}]"]


COLUMNS = (("input", "left"), ("exercise", "left"), ("holds done", "right"), ("longest hold", "right"),
           ("alerts", "right"), ("in position", "right"), ("status", "left"))


def summary_table(results, title: str = "coach analyze"):
    """A rich table: one row per input with its exercise(s), holds done of the target, the longest hold
    against its target, alerts, time in position (an image: in position or not) and status (ok, partial,
    error). Names are never cut: each column is at least as wide as its longest word, and a narrow
    terminal wraps cells only between words."""
    from rich.table import Table
    from rich.text import Text

    rows = [_row(result) for result in results]
    table = Table(title=title, title_justify="left")
    for i, (name, justify) in enumerate(COLUMNS):
        # names may wrap between words; numbers ("20.0 of 30 s") and states are kept on one line
        cells = [Text.from_markup(row[i]).plain for row in rows]
        words = [w for c in cells for w in (c.split() if i < 2 else [c])] + [name]   # headers on one line
        table.add_column(name, justify=justify, overflow="fold", min_width=max(len(w) for w in words))
    for row in rows:
        table.add_row(*row)
    return table


def print_summary(results, title: str = "coach analyze") -> None:
    """The table, then one line per input: where its report is, or what went wrong."""
    from rich.console import Console
    from rich.markup import escape

    from coach.usertext import printable

    console = Console(soft_wrap=True, highlight=False)
    console.print(summary_table(results, title))
    for r in results:
        line = f"  error  {r.error}" if r.error else f"  report {r.out_dir / 'report.html'}"
        console.print(escape(printable(line)))


def run(args: argparse.Namespace) -> int:
    from coach.session.analyze import (
        AnalyzeOptions,
        BatchInterrupted,
        analyze_batch,
        expand_inputs,
    )

    options = AnalyzeOptions(exercise=args.exercise, model=args.model, video=args.video, num_poses=args.num_poses,
                             exercise_dirs=tuple(args.exercises))
    sources = expand_inputs(args.inputs)
    from coach.pose.recording import is_recording_path

    if args.model is not None and not args.quiet and all(is_recording_path(s) for s in sources):
        print(unused_model_note(args.model), file=sys.stderr)

    def on_error(message: str) -> None:
        from coach.usertext import printable

        print(f"coach: error: {printable(message)}", file=sys.stderr)

    history = history_sink(args)
    try:
        with rich_progress(args.quiet) as progress:
            results = analyze_batch(sources, args.out, options, progress, on_error=on_error,
                                    sinks=(history,) if history is not None else ())
    except BatchInterrupted as stop:
        print_history_warnings(history, args.quiet)
        if not args.quiet:
            last = stop.results[-1].report if stop.results else None
            whole = last is not None and not last.partial   # the signal came as its results were published
            print_summary(stop.results, "coach analyze (interrupted" + ("" if whole else ": the last input is partial")
                          + ")")
        raise
    print_history_warnings(history, args.quiet)
    if not args.quiet and any(not r.error for r in results):
        print_summary(results)   # when every input failed, their one-line errors said it all
    from coach.usertext import printable

    unsure = [(r, note) for r in results if not r.error and r.report is not None for note in r.report.not_sure]
    for r, note in unsure:   # asked even with -q: the results hold a guess the person must confirm
        print(f"coach: warning: {printable(str(r.source))}: not sure which exercise this is ({note}); it was judged as "
              f"the first named - name it with --exercise ID", file=sys.stderr)
    return 2 if any(r.error for r in results) else NOT_SURE_EXIT if unsure else 0
