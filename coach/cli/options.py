"""Options shared by several commands, defined once so their names, defaults and help agree."""

from __future__ import annotations

import argparse

MODEL_METAVAR = "lite|full|heavy|PATH"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def add_model(parser: argparse.ArgumentParser, default: str = "full; recordings need none") -> None:
    parser.add_argument("--model", default=None, metavar=MODEL_METAVAR,
                        help=f"model variant or .task bundle (default {default})")


def add_num_poses(parser: argparse.ArgumentParser) -> None:
    # = coach.detector.DEFAULT_NUM_POSES (not imported: the CLI layer stays light; a test keeps them equal)
    parser.add_argument("--num-poses", type=positive_int, default=2, metavar="N",
                        help="people to look for; the person exercising is chosen stably (default 2)")


def add_exercises(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exercises", metavar="DIR", action="append", default=[],
                        help="an extra exercise folder (repeatable; also $COACH_EXERCISES)")


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, metavar="FILE",
                        help="the history database (default $COACH_DB or the user data folder)")


def add_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-history", dest="history", action="store_false",
                        help="don't store the session in the history database (`coach history`)")
    add_db(parser)


def add_mine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mine", action="store_true",
                        help="the recording is of you: count it toward the daily limit of the same stretch "
                             "(default: a recording may be anyone's - a patient's, a demonstration - so it is "
                             "stored in the history as not yours and not counted)")


def store_session(report, kind: str, db, **details) -> list[str]:
    """Store a published session in the history database; the warnings to print. The results are
    already complete on disk when this runs, so a history that cannot be written (disk full, a
    locked or unreadable database) is one warning, and the command's exit code stays what it was."""
    import sqlite3

    from coach.errors import CoachError
    from coach.history.store import record_session

    try:
        return record_session(report, kind, db, **details)
    except (CoachError, sqlite3.Error, OSError) as exc:
        why = " ".join(str(exc).split()) or type(exc).__name__
        return [f"the session was not stored in the history database ({why}); its results are kept"]
