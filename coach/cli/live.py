"""`coach live --exercise ID | --routine FILE | --reference DEMO`: coach a stretch in front of a camera, safely.

Red-flag screening first (window or terminal; remembered for the day), a framing step, then the live
overlay; the summary is printed and saved like `coach analyze`, and stored in the session history
(`coach history`; not with --no-history), with a warning when the stretch is done too often today.
Without a camera: `--source VIDEO --realtime` paces a file like a camera, `--no-window` runs the same
loop headless, and a landmark recording (.jsonl.gz) replays without a model. The model is the
offline default (full) unless it is measured too slow for real time on this machine, then lite
(`coach.session.live_model`); the screen and session.json say which and why.

--reference DEMO follows a physiotherapist's demonstration (a video or recording): its ghost is drawn
over the person, advancing with them, with a 0-100 match score. The exercise coached is taught from the
demonstration (`coach teach`), or is --exercise ID|FILE.toml when given - the physio's edited file: its
bands, hold and sides coach; the demonstration then only guides.
Nothing heavy is imported until `run`.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from coach.cli.options import (
    add_exercises,
    add_history,
    add_model,
    add_num_poses,
    add_out_folder,
    add_quiet,
    number_in,
    print_history_warnings,
    unused_model_note,
)

HELP = "coach a stretch live from a camera (or a video paced like one), with red-flag screening first"
EXAMPLE = ("coach live --exercise childs_pose --camera 0    (no camera: --source clip.mp4 --realtime --no-window)\n"
           "  coach live --reference physio_bridge.mp4        (follow a demonstration: ghost and match score)")
KEY_LINES = ("keys: space pause, n / p next / previous exercise, r restart, m mirror, f fullscreen, "
             "+ / - text size, g angle plot, x PAIN (stops and records it), q or Esc quit")
SCREEN_PX = (960, 600)
SCREEN_U_PX = 26          # the text unit of a SCREEN_PX screen; a window of another size scales it


def _screen_of(display) -> tuple[tuple[int, int], int]:
    """The size and text unit of a text screen: the window's size when known (the screen then fills it)."""
    size = getattr(display, "canvas_px", None) or SCREEN_PX
    return size, max(12, round(SCREEN_U_PX * min(size[0] / SCREEN_PX[0], size[1] / SCREEN_PX[1])))


def _window(text: str) -> tuple[int, int]:
    from coach.render.display import parse_window

    try:
        return parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_scale = number_in(0.5, 3.0)
_volume = number_in(0.0, 1.0)


def _rate(text: str) -> int:
    from coach.render.speech import RATE_RANGE_WPM

    return number_in(*RATE_RANGE_WPM, whole=True, unit="words per minute")(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from coach.render.speech import DEFAULT_RATE_WPM, DEFAULT_VOLUME

    what = parser.add_mutually_exclusive_group()   # one of them or --reference: checked in `run`
    what.add_argument("-e", "--exercise", metavar="ID|FILE.toml",
                      help="the exercise to coach: an id (see `coach exercises list`) or an exercise file "
                           "(e.g. the one `coach teach` wrote, as edited)")
    what.add_argument("--routine", metavar="FILE", help="a routine file: exercises in order (exercises/routines/)")
    parser.add_argument("--reference", metavar="DEMO",
                        help="a demonstration (video or .jsonl[.gz] recording) to follow: ghost and match score; "
                             "the exercise is taught from it unless --exercise is given (the file's bands, "
                             "hold and sides then coach; the demonstration only guides)")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=0, metavar="N", help="camera index (default 0)")
    src.add_argument("--source", metavar="VIDEO|URL", help="a video file, stream URL or .jsonl[.gz] landmark recording")
    parser.add_argument("--realtime", action="store_true", help="pace a file by its timestamps, like a camera")
    parser.add_argument("--no-window", action="store_true", help="run headless: draw but show nothing, read no keys")
    parser.add_argument("--window", type=_window, default=None, metavar="WxH",
                        help="the window's size in pixels, e.g. 1280x720 (default: fit the screen)")
    add_model(parser, default="full, as offline; lite if full is measured too slow for real time here")
    add_num_poses(parser)
    add_exercises(parser)
    add_out_folder(parser, "the result folder itself; default ./coach-out/live-DATE-TIME.coach; an existing one "
                           "must be a coach result", old_spelling=True)
    parser.add_argument("--record", action="store_true", help="also save the landmarks (landmarks.jsonl.gz)")
    parser.add_argument("--save-video", action="store_true", help="also save the annotated video (annotated.mp4)")
    parser.add_argument("--present", action="store_true", help="presentation mode: larger text, envelope numbers")
    parser.add_argument("--plot", action="store_true", help="show the live angle plot (key g)")
    parser.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                        help="mirror the picture (default: on for a camera, off for a file)")
    parser.add_argument("--text-scale", type=_scale, default=1.0, metavar="X", help="text size, 0.5 to 3 (keys +/-)")
    parser.add_argument("--voice", action=argparse.BooleanOptionalAction, default=True,
                        help="spoken cues (default; no speech engine or audio: tones, then silence); "
                             "--no-voice: tones only")
    parser.add_argument("--mute", action="store_true", help="no sound at all: no voice, no tones")
    parser.add_argument("--voice-rate", type=_rate, default=DEFAULT_RATE_WPM, metavar="WPM",
                        help=f"speech rate in words per minute (default {DEFAULT_RATE_WPM})")
    parser.add_argument("--voice-volume", type=_volume, default=DEFAULT_VOLUME, metavar="X",
                        help=f"speech volume, 0 to 1 (default {DEFAULT_VOLUME:g})")
    parser.add_argument("--clinician", action="store_true",
                        help="a clinician supervises: a red flag shows its advice but does not block")
    parser.add_argument("--answers", choices=["no"], default=None,
                        help="scripted runs: state that no red-flag question applies (recorded as answers)")
    parser.add_argument("--rescreen", action="store_true", help="ask the red-flag questions again today")
    add_quiet(parser)
    add_history(parser)
    parser.epilog = (parser.epilog or "") + "\n\n" + KEY_LINES


def _routine(args):
    from coach.engine.routine import Routine, load_routine
    from coach.physio.coached import coached_exercise

    if args.routine:
        return load_routine(args.routine, args.exercises)
    return Routine.single(coached_exercise(args.exercise, args.exercises).exercise)   # an id or a file


def demo_id(name: str) -> str:
    """An exercise id from a demonstration's file name: "Anna Bridge.mp4" -> "anna_bridge"."""
    stem = Path(name).name.split(".")[0]
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_") or "demonstration"


def _plan(args):
    """The routine to coach and the demonstration to follow (None without --reference)."""
    if args.reference is None:
        return _routine(args), None
    from coach.cli.teach import progress_bar
    from coach.engine.routine import Routine
    from coach.physio.demonstration import load_poses
    from coach.physio.live_follow import FollowAlong, Reference

    named = _routine(args).exercises[0] if args.exercise else None   # a bad file: before reading the demo
    demo = load_poses(args.reference, args.model, quiet=args.quiet, what="reading the demonstration",
                      wrap=progress_bar(args.quiet))
    name = Path(demo.name).name
    if named is not None:
        exercise = named
    else:
        from coach.physio.live_follow import follow_exercise
        from coach.physio.teach import teach

        taught = teach(demo.series, demo_id(name), source=name)
        exercise = follow_exercise(taught.exercise, taught.holds)   # held as long as the demonstration holds
    return Routine.single(exercise), FollowAlong(Reference(name, demo.frames, demo.series, exercise))


def window_asker(display, style):
    """Ask each red-flag question on a screen of its own; y / n answer, q / Esc or closing the window do not."""
    from coach.render.display import text_screen

    def ask(flag, number: int, count: int):
        size, u = _screen_of(display)
        img = text_screen(size, f"Before we start - question {number} of {count}", [flag.question],
                          "Press Y for yes or N for no  (Q quits)", u, style)
        while not display.closed:
            display.show(img)
            key = display.wait_key(0.1)
            if key in ("y", "n"):
                return key == "y"
            if key in ("q", "esc"):
                return None
        return None

    return ask


def _wait_on_screen(display, title: str, lines: list[str], style, timeout_s: float = 600.0) -> None:
    """Show a text screen until a key is pressed, the window is closed or `timeout_s` passes."""
    from coach.render.display import text_screen

    if not display.interactive:
        return
    size, u = _screen_of(display)
    img = text_screen(size, title, lines, "Press any key", u, style)
    end_s = time.monotonic() + timeout_s
    while not display.closed and time.monotonic() < end_s:
        display.show(img)
        if display.wait_key(0.1) is not None:
            return


def _screen(args, routine, display, style) -> str:
    """Ask (or recall) the red-flag questions; refuse to start on a "yes" without --clinician."""
    import json

    from coach.session.screening import enforce, remember, screen, terminal_asker

    in_window = display.interactive
    ask = window_asker(display, style) if in_window else terminal_asker()
    result = screen(routine.exercises, ask, scripted=args.answers, rescreen=args.rescreen,
                    source="window" if in_window else "terminal")
    remember(result, clinician=args.clinician)
    advice: list[str] = []
    try:
        enforce(result, clinician=args.clinician, tell=lambda text: (print(text, file=sys.stderr), advice.append(text)))
    finally:
        if advice and in_window:
            _wait_on_screen(display, "Please read this first", advice, style)
    return json.dumps(result.as_dict(clinician=args.clinician), indent=1) + "\n"


def _detector(feed, args):
    """The detector (None for a recording), the model choice and the feed to run: the default model
    is timed on the feed's first frame and falls back to lite when it cannot keep real time
    (`coach.session.live_model`); a model named with --model is kept, with a warning if it is slow.
    The detector tracks the person exercising and watches for others in its own thread."""
    from coach.pose.detector import PeopleDetector
    from coach.session.live_model import choose_live_model

    def make(path):
        return PeopleDetector(path, watch_poses=args.num_poses, threaded=True)

    if feed.info.kind == "recording" and args.model is not None and not args.quiet:
        print(unused_model_note(args.model), file=sys.stderr)
    detector, choice, feed = choose_live_model(feed, args.model, make, progress=not args.quiet)
    if choice.notice and not args.quiet:   # -q: the screen and session.json still say it
        print(f"coach: warning: {choice.notice}", file=sys.stderr)
    return detector, choice, feed


def _options(args, feed, screening_json: str, model=None):
    from coach.session.live import LiveOptions
    from coach.session.session_files import result_name

    out = Path(args.out) if args.out else Path("coach-out") / result_name(time.strftime("live-%Y%m%d-%H%M%S"))
    mirror = feed.info.live if args.mirror is None else args.mirror
    return LiveOptions(out, mirror=mirror, present=args.present, plot=args.plot, text_scale=args.text_scale,
                       realtime=args.realtime, save_video=args.save_video, record=args.record,
                       extra_files=(("screening.json", screening_json),), model=model)


def history_sink(args):
    """The session loop's history (None with --no-history): a coached session is stored once its
    folder is published - a quit or interrupted one too, and a pain stop is marked as one."""
    if not args.history:
        return None
    from coach.history.sink import HistorySink

    return HistorySink(args.db, "live", partial_too=True)


def _coach(args, routine, follow, display) -> int:
    from coach.render.overlay import OverlayStyle
    from coach.session.feed import open_feed
    from coach.session.live import run_live, summary_lines

    style = OverlayStyle()
    screening_json = _screen(args, routine, display, style)
    feed = open_feed(args.source if args.source is not None else args.camera, detect=False)
    detector, history, speech = None, history_sink(args), None
    try:
        detector, choice, feed = _detector(feed, args)
        speech = _speech(args)
        result = run_live(feed, routine, display, _options(args, feed, screening_json, choice), detector=detector,
                          speech=speech, follow=follow, sinks=(history,) if history is not None else ())
    except BaseException as exc:
        if speech is not None:
            speech.close()
        if isinstance(exc, KeyboardInterrupt):   # a signal after the session was stored: its warnings stand
            print_history_warnings(history, args.quiet)
        raise
    finally:
        feed.close()
        if detector is not None:
            detector.close()
    finish = result.ended_by != "interrupted"
    try:
        lines = summary_lines(result)
        if not args.quiet:
            print("\n".join(lines))
        warnings = [*history.advice, *history.warnings] if history is not None else []   # the window shows both
        print_history_warnings(history, args.quiet)
        lines += [f"Warning: {w}" for w in warnings]
        if finish:
            _wait_on_screen(display, "Session summary", lines, style)
    except BaseException:   # a signal on the summary screen: the worker and its player stop too
        finish = False
        raise
    finally:
        # the last cues (a stop's advice, "well done") are let finish - not after a signal
        speech.close(finish=finish)
    if speech.voice is not None and speech.voice.lost and not args.quiet:
        print(f"coach: warning: the voice stopped during the session: {speech.voice.lost}", file=sys.stderr)
    from coach.session.session_files import moved_aside
    from coach.usertext import printable

    # a stop that put the session beside a whole earlier one says where, -q or not (a new folder: never)
    moved = moved_aside(result.out_dir, Path(args.out) if args.out else None, "session")
    if result.ended_by == "source_lost":   # a fault, even with -q: one line, the session so far kept
        kept = f"; the session so far is saved in {result.out_dir}, marked partial" if result.out_dir else ""
        print(printable(f"coach: error: {result.message}{kept}"), file=sys.stderr)
        return 2
    if result.ended_by != "interrupted":
        return 0
    from coach import interrupts

    print(printable(f"coach: {interrupts.describe()}" + (f"; {moved}" if moved else "")), file=sys.stderr)   # the same one line as every command
    return interrupts.exit_code()


def _speech(args):
    """The voice, else the tones, else silence (`coach.render.speech.choose_sound`); said once
    (not with -q) when the voice was asked for and is not there. COACH_VOICE_DRIVER names the
    pyttsx3 driver (default: the platform's); one that does not exist is a session without a speech engine."""
    import os

    from coach.render.speech import VoiceSettings, choose_sound

    asked = "mute" if args.mute else "voice" if args.voice else "tones"
    settings = VoiceSettings(args.voice_rate, args.voice_volume, driver=os.environ.get("COACH_VOICE_DRIVER") or None)
    speech = choose_sound(asked, settings)
    if asked != "mute" and speech.used != asked and not args.quiet:   # once, before the session
        instead = "using tones" if speech.used == "tones" else "no sound"
        print(f"coach: warning: {asked} unavailable: {speech.reason}; {instead}", file=sys.stderr)
    return speech


def _problem(args: argparse.Namespace) -> str | None:
    """A bad combination of flags, named; None when they fit together."""
    if not (args.exercise or args.routine or args.reference):
        return "give the exercise to coach: --exercise ID, --routine FILE or --reference DEMO"
    if args.reference and args.routine:
        return "--reference follows one demonstrated exercise: use it alone or with --exercise ID, not --routine"
    if args.realtime and args.source is None:
        return "--realtime paces a file: it needs --source VIDEO"
    return None


def run(args: argparse.Namespace) -> int:
    from coach.render.display import CvWindow, NoWindow

    problem = _problem(args)
    if problem:
        print(f"coach: error: {problem}", file=sys.stderr)
        return 2
    routine, follow = _plan(args)
    display = NoWindow() if args.no_window else CvWindow(size_px=args.window)
    try:
        return _coach(args, routine, follow, display)
    finally:
        display.close()
