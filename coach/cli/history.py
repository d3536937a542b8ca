"""`coach history [--exercise ID] [--plot [PNG]] [--db FILE]`: the stored sessions.

Every `coach analyze`, `coach live` and `coach compare` session is stored in a local SQLite database
(`coach.history.store`: $COACH_DB, else the user data folder; created on first use, migrated on opening).
Lists them as a table - with the input each came from, the model its poses came from, whether it is
the person's own and any pain stop; `--plot` writes a PNG of the person's own range of motion (each
measure's peak) and holds done over time, per side, and prints its path: its lines break where the
model changes (lite and full read some angles differently), each part labelled with its model.
A warning follows when one stretch was done more often in a day than advised (the person's own
sessions only: `live`, and recordings analysed with `--mine`).
A row that cannot be read is skipped with a one-line warning.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coach.cli.options import add_db
from coach.errors import CoachError, OutputError

HELP = "list the stored sessions; --plot range of motion and holds over time per side"
EXAMPLE = "coach history --exercise bridge --plot"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--exercise", default=None, metavar="ID", help="only this exercise's sessions")
    parser.add_argument("--plot", nargs="?", const="", default=None, metavar="PNG",
                        help="write a plot of range of motion and holds over time (needs --exercise; "
                             "default ./history-ID.png)")
    add_db(parser)


def _cell(text: str):
    """User text as a table cell: drawn literally (no rich markup), control characters shown escaped."""
    from rich.text import Text

    return Text("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))


def _table(sessions) -> None:
    """One row per session, two lines where needed so 80 columns hold it: the kind, with "not yours"
    under a recording not marked --mine and "pain stop" under a session stopped for pain; the
    exercise, with the input it came from and its model under it ("clip.mp4 (full)")."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    others = sum(1 for s in sessions if not s.mine)
    caption = (f"{others} not yours (a recording analysed without --mine): listed, not counted toward the "
               "daily limit, not plotted" if others else None)
    table = Table(title=f"{len(sessions)} session(s)", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("when", "kind", "exercise / input (model)", "length", "holds", "alerts"):
        table.add_column(column, justify="right" if column in ("length", "alerts") else "left",
                         no_wrap=column != "exercise / input (model)", overflow="fold",
                         min_width=20 if column == "exercise / input (model)" else None)   # ids are <= 20 or so
    for s in sessions:
        # "both" is the key of an exercise without sides, never a word for a person ("holds both 0")
        holds = Text("\n").join(_cell(str(n) if side == "both" else f"{side} {n}") for side, n in s.holds.items()) \
            or Text("-")
        kind = Text(s.kind)
        for note, shown in (("not yours", not s.mine), ("pain stop", s.pain_stop)):
            if shown:
                kind.append(f"\n{note}", style="bold red" if note == "pain stop" else "dim")
        where = _cell(s.exercise)
        where.append("\n" + _cell(f"{s.input_name or '-'} ({s.model_label})").plain, style="dim")
        table.add_row(s.started_at.strftime("%Y-%m-%d %H:%M"), kind, where, f"{s.duration_s:.0f} s", holds,
                      str(s.alerts))
    console = Console()
    console.print(table)
    if caption:
        console.print(Text(caption, style="dim"))


def run(args: argparse.Namespace) -> int:
    from coach.history.store import History, default_path, one_per_input, overuse_warnings, plot_png
    from coach.io.atomic import write_bytes

    if args.plot is not None and not args.exercise:
        raise CoachError("--plot needs --exercise ID: the plot is of one exercise")
    path = Path(args.plot or f"history-{args.exercise}.png") if args.plot is not None else None
    if path is not None:
        _check_plot_path(path)
    db = Path(args.db) if args.db is not None else default_path()
    sessions, skipped = [], []
    if db.exists():   # a listing never creates a database (a mistyped --db made an empty one)
        with History(db) as history:
            sessions, skipped = history.sessions(args.exercise), history.skipped
    if args.exercise and not sessions:
        _check_exercise(args.exercise)
    for warning in skipped:
        print(f"coach: warning: {warning}", file=sys.stderr)
    if args.plot is None:
        _table(sessions)
    else:
        mine = [s for s in sessions if s.mine]
        if not mine:
            others = f" ({len(sessions)} not yours: recordings analysed without --mine)" if sessions else ""
            raise CoachError(f"no stored sessions of your own of {args.exercise!r} to plot{others}")
        names = _names()
        write_bytes(path, plot_png(one_per_input(mine), names.get(args.exercise, args.exercise)))   # once per input
        print(path)
    for warning in overuse_warnings(sessions, _names() if sessions else {}):
        print(f"coach: warning: {warning}", file=sys.stderr)
    return 0


def _names() -> dict[str, str]:
    """The library's exercise names by id, for the plot's title and the warnings ({} when the library
    cannot be read: the stored ids are said instead - the history does not need the library)."""
    from coach.engine.exercises import load_library
    from coach.errors import ExerciseError

    try:
        return {ex_id: ex.name for ex_id, ex in load_library().items()}
    except ExerciseError:
        return {}


def _check_exercise(exercise_id: str) -> None:
    """An exercise with no stored session must at least exist (in the library, or $COACH_EXERCISES):
    a misspelt id is an error, not an empty table. A taught exercise lives only in the history, so
    one with stored sessions is never checked."""
    from coach.engine.exercises import load_library

    known = load_library()
    if exercise_id not in known:
        raise CoachError(f"--exercise {exercise_id!r}: no such exercise and no stored session of it "
                         "(see `coach exercises list`)")


def _check_plot_path(path: Path) -> None:
    """The plot replaces only a PNG: a name ending in .png, and an existing file must be one."""
    if path.suffix.lower() != ".png":
        raise OutputError(f"{path}: the plot is a PNG; its name must end in .png")
    if path.exists() or path.is_symlink():
        try:
            with open(path, "rb") as fh:
                png = not path.is_symlink() and path.is_file() and fh.read(8) == b"\x89PNG\r\n\x1a\n"
        except OSError:
            png = False
        if not png:
            raise OutputError(f"{path}: exists and is not a PNG image; coach does not replace it - "
                              "move it or choose another name")
