"""Options shared by several commands, defined once so their names, defaults and help agree.

Every command that takes one of these takes it from here (`tests/test_cli_basics.py` checks it):
`--model`, `--num-poses`, `--exercises`, `-q/--quiet`, `-o/--out`, `--no-history` / `--db`, `--mine`
(and `--verbose`, added by `coach.cli` to the commands that run MediaPipe). Where the default differs
by command (the model, the output), the help says the same and then names the command's default.
"""

from __future__ import annotations

import argparse

MODEL_METAVAR = "lite|full|heavy|PATH"
MODEL_HELP = "model variant or .task bundle"
QUIET_HELP = "no progress and no summary: a run that goes well prints nothing on stderr"
OUT_FOLDER_HELP = "the output folder"
OUT_FILE_HELP = "one file, where analyze, compare, demo and live write a folder"


def model_spec(text: str) -> str:
    """An argparse type for --model: a variant name, or the path of a file that exists (whether it is
    a readable bundle is checked when it is loaded). Anything else - a misspelt variant ("tiny") - is
    refused at once, whatever the input: a recording needs no model, but a wrong name is still wrong."""
    from pathlib import Path

    from coach.pose.models import VARIANTS  # a light module: no mediapipe

    if text.lower() in VARIANTS:
        return text
    path = Path(text).expanduser()
    if path.is_file():
        return text
    what = "is a directory" if path.is_dir() else "is no model name, and no such model file"
    raise argparse.ArgumentTypeError(f"{text}: {what}; expected {', '.join(VARIANTS)} or the path of a .task bundle")


def add_model(parser: argparse.ArgumentParser, default: str = "full; recordings need none") -> None:
    parser.add_argument("--model", type=model_spec, default=None, metavar=MODEL_METAVAR,
                        help=f"{MODEL_HELP} (default {default})")


def unused_model_note(model: str | None) -> str:
    """The one stderr line (not with -q) when --model is given for inputs that are all landmark
    recordings, which replay their stored poses and run no model."""
    return (f"coach: note: --model {model} is not used: landmark recordings replay the poses stored in them "
            "(made with the model they name)")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)


def _out(parser: argparse.ArgumentParser, metavar: str, help_text: str, *, default: str | None = None,
         required: bool = False, old_spelling: bool = False) -> None:
    """-o/--out; with `old_spelling`, `--output` (what record, teach and live had) is still accepted
    for the scripts that use it, but no longer shown."""
    target = parser.add_mutually_exclusive_group(required=required) if old_spelling else parser
    target.add_argument("-o", "--out", default=default, metavar=metavar, help=help_text)
    if old_spelling:
        target.add_argument("--output", dest="out", metavar=metavar, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_out_folder(parser: argparse.ArgumentParser, detail: str, *, default: str | None = None,
                   old_spelling: bool = False) -> None:
    """-o/--out DIR: the folder a command writes its results in; `detail` says what goes there and the default."""
    _out(parser, "DIR", f"{OUT_FOLDER_HELP} ({detail})", default=default, old_spelling=old_spelling)


def add_out_file(parser: argparse.ArgumentParser, detail: str, *, required: bool = False) -> None:
    """-o/--out FILE: the one file a command writes (record, teach)."""
    _out(parser, "FILE", f"{detail} ({OUT_FILE_HELP})", required=required, old_spelling=True)


# = coach.pose.recording.MAX_NUM_POSES: a recording's line could not hold more people (a test keeps them equal)
MAX_NUM_POSES = 100


def number_in(low: float, high: float, *, whole: bool = False, unit: str = ""):
    """An argparse type: a number from `low` to `high` (`whole`: a whole number), `unit` named in its errors."""
    units = f" {unit}" if unit else ""
    def parse(text: str) -> float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            what = (f"whole {unit}" if unit else "a whole number") if whole else f"a number{units}"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low:g} to {high:g}{units}, got {value}")
        return value
    return parse


people_count = number_in(0, MAX_NUM_POSES, whole=True)


def add_num_poses(parser: argparse.ArgumentParser) -> None:
    # = coach.detector.DEFAULT_NUM_POSES (not imported: the CLI layer stays light; a test keeps them equal)
    parser.add_argument("--num-poses", type=people_count, default=3, metavar="N",
                        help="people the partner watch looks for, you among them: the person exercising is "
                             "tracked on its own, the others' hands are watched for the neck alert "
                             "(0: no watch; a photo looks for N people at once) (default 3)")


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


def print_history_warnings(history, quiet: bool = False) -> None:
    """The history sink's warnings, one `coach: warning:` line each: why a session was not stored, and
    (not with -q: a run that goes well prints nothing) the overuse advice; nothing for None (--no-history)."""
    import sys

    for warning in ([] if history is None else [*([] if quiet else history.advice), *history.warnings]):
        print(f"coach: warning: {warning}", file=sys.stderr)


def add_mine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mine", action="store_true",
                        help="the recording is of you: count it toward the daily limit of the same stretch "
                             "(default: a recording may be anyone's - a patient's, a demonstration - so it is "
                             "stored in the history as not yours and not counted)")
