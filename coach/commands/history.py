"""`coach history [--exercise ID] [--plot [PNG]] [--db FILE]`: the stored sessions.

Every `coach analyze`, `coach live` and `coach compare` session is stored in a local SQLite database
(`coach.history`: $COACH_DB, else the user data folder; created on first use, migrated on opening).
Lists them as a table; `--plot` writes a PNG of the range of motion (each measure's peak) and the holds
done over time, per side, and prints its path. A warning follows when one stretch was done more
often in a day than advised.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coach.commands.options import add_db
from coach.errors import CoachError, OutputError

HELP = "list the stored sessions; --plot range of motion and holds over time per side"
EXAMPLE = "coach history --exercise bridge --plot"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--exercise", default=None, metavar="ID", help="only this exercise's sessions")
    parser.add_argument("--plot", nargs="?", const="", default=None, metavar="PNG",
                        help="write a plot of range of motion and holds over time (needs --exercise; "
                             "default ./history-ID.png)")
    add_db(parser)


def _table(sessions) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(sessions)} session(s)")
    for column in ("#", "when", "kind", "exercise", "duration", "holds", "alerts"):
        table.add_column(column, justify="right" if column in ("#", "duration", "alerts") else "left")
    for s in sessions:
        holds = ", ".join(f"{side} {n}" for side, n in s.holds.items()) or "-"
        table.add_row(str(s.id), s.started_at.strftime("%Y-%m-%d %H:%M"), s.kind, s.exercise,
                      f"{s.duration_s:.0f} s", holds, str(s.alerts))
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    from coach.atomic import write_bytes
    from coach.history import History, overuse_warnings, plot_png

    if args.plot is not None and not args.exercise:
        raise CoachError("--plot needs --exercise ID: the plot is of one exercise")
    path = Path(args.plot or f"history-{args.exercise}.png") if args.plot is not None else None
    if path is not None:
        _check_plot_path(path)
    with History(args.db) as history:
        sessions = history.sessions(args.exercise)
    if args.plot is None:
        _table(sessions)
    elif not sessions:
        raise CoachError(f"no stored sessions of {args.exercise!r} to plot")
    else:
        write_bytes(path, plot_png(sessions, args.exercise))
        print(path)
    for warning in overuse_warnings(sessions):
        print(f"coach: warning: {warning}", file=sys.stderr)
    return 0


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
