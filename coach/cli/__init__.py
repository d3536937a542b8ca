"""The `coach` command line: a thin layer over the library.

Each subcommand lives in `coach/commands/<name>.py` with `HELP`, `EXAMPLE`, `add_arguments(parser)`
and `run(args) -> int`. Those modules import nothing heavy at module level, so `coach --help` and
`coach --version` stay fast; mediapipe and cv2 are imported only by the commands that need them.
Named `CoachError`s become one-line messages with exit code 2. Ctrl-C, SIGTERM and SIGHUP stop a
command the same way (`coach.interrupts`): what was produced is kept, marked partial, and the exit code
is 128 + the signal's number (130, 143, 129).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from coach import __version__, interrupts
from coach.errors import CoachError

COMMANDS = ("demo", "record", "exercises", "analyze", "live", "teach", "compare", "history")
MODEL_COMMANDS = ("record", "analyze", "live", "teach", "compare")  # the ones that run MediaPipe: --verbose


def _load(name: str):
    try:
        return importlib.import_module(f"coach.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"coach.cli.{name}":
            return None  # not built yet
        raise


class _OneLineParser(argparse.ArgumentParser):
    """A wrong option is one line, like every other bad input (argparse would print the usage block
    first); the subcommands' parsers are of this class too (argparse makes them as their parent)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="coach", description="A pose-form coach for back stretches (MediaPipe Pose Landmarker).",
        epilog="Example: coach demo    (runs on the bundled samples; no camera, no model download)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"coach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _load(name)
        if module is None:
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP,
                           epilog=f"Example:\n  {module.EXAMPLE}", formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        if name in MODEL_COMMANDS:
            p.add_argument("--verbose", action="store_true",
                           help="keep MediaPipe's native log lines in a log file (its path is printed at the end)")
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    if getattr(args, "verbose", False):
        _keep_native_log()
    if argv is None and args._run.__module__.rsplit(".", 1)[-1] in MODEL_COMMANDS:
        from coach.pose import native_log  # run as a program: native lines never reach the terminal

        native_log.route_for_the_run(f"coach {args._run.__module__.rsplit('.', 1)[-1]}")
    with interrupts.handling():
        try:
            return int(args._run(args) or 0)
        except CoachError as exc:
            from coach.usertext import printable

            _say(f"coach: error: {printable(str(exc))}")   # one line, no escape codes
            return exc.exit_code
        except KeyboardInterrupt as stop:   # `kept`: what a command says of its output, on the same line
            kept = getattr(stop, "kept", "")
            _say(f"coach: {interrupts.describe()}" + (f"; {kept}" if kept else ""))
            return interrupts.exit_code()
        except BrokenPipeError:
            return 0
        finally:
            if getattr(args, "verbose", False):
                _tell_native_log()


def _say(line: str) -> None:
    """The one line on stderr; after SIGHUP the terminal may be gone, and that must not traceback."""
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):
        pass


def _keep_native_log() -> None:
    """--verbose: MediaPipe's native lines go to a log file instead of nowhere ($COACH_NATIVE_LOG wins)."""
    import os

    from coach.pose import native_log

    os.environ.setdefault(native_log.ENV_NATIVE_LOG, str(native_log.default_log_path()))


def _tell_native_log() -> None:
    from coach.pose import native_log

    if native_log.written_this_run:
        _say(f"coach: MediaPipe's native log: {native_log.log_path()}")
