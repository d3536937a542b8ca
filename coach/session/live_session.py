"""The state of one `coach live` session: which exercise, framing or coaching, paused, mirrored...

`LiveSession` is driven by `coach.session.live` through the one session loop
(`coach.session.loop.run_session`): `take(inferred)` for every analysed frame (the framing step, or
True: coach it), then the loop's engine (`at` is the plan, `new_coach` the engine) hands the
verdict to the session as a sink (`segment`, `frame`: the session files, video, sounds, moving on;
`close`: the summary). The voice (`speech`): the cues `coach.render.voice.CuePicker` chooses from the
exercise, the framing step and each verdict are put on the speech worker's queue, never waited for.
The engine runs from an exercise's framing step on, safety only until the step passes
(`Coach.holds_on`): the safety rules judge every pose seen, whatever the framing says, and such a
session is saved. `render(captured)` for every frame shown, `on_action(action)` for every key
(the one key table is `KEYS`). It decides nothing about form: the
engine does; the overlay draws. Pain: the pain key ends the exercise - and the session - at the next
analysed frame, recorded as an `exercise_stopped` event with rule "pain_reported", and that frame's
verdict carries status "stopped" and the advice, so the report says so like any engine stop.
Follow-along (with --reference: `coach.physio.live_follow.FollowAlong`, built by the CLI and passed in as a
`Follow`) is a sink of the loop ahead of the session: it steps with every frame the loop hands out (the
framing step's included, so it starts with the person; none while paused) and starts again with each
framing step. The session only reads it: its ghost is drawn over the person, its match score shown in
the status line, and the coached frames' mean goes into session.json.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Protocol

import numpy as np

from coach import interrupts
from coach.engine.core import Coach
from coach.engine.framing import FRAMING_HOLD_S, FramingGate
from coach.engine.routine import Routine, RoutineEntry
from coach.engine.verdict import Event, EventKind, FrameVerdict, Status
from coach.io.sources import Frame
from coach.measure.measures import Measures
from coach.pose.core import Pose, PoseFrame
from coach.render.display import PROMPT_HEIGHT_U, blank, draw_plot, draw_prompt, draw_status
from coach.render.overlay import Overlay, OverlayStyle
from coach.render.overlay_widgets import LIVE_MIN_TEXT_OF_HEIGHT, LIVE_TEXT_UNIT
from coach.render.voice import CuePicker
from coach.report.core import InputInfo, Report, Summariser
from coach.session.feed import Captured, Inferred
from coach.session.live_model import ModelChoice
from coach.session.loop import Sink
from coach.session.session_files import LANDMARKS, VIDEO


class Action(str, Enum):
    PAUSE = "pause"
    NEXT = "next exercise"
    PREVIOUS = "previous exercise"
    RESTART = "restart exercise"
    MIRROR = "mirror on/off"
    FULLSCREEN = "fullscreen"
    BIGGER = "larger text"
    SMALLER = "smaller text"
    PLOT = "angle plot on/off"
    PAIN = "pain: stop"
    QUIT = "quit"


KEYS: dict[str | None, Action] = {
    "space": Action.PAUSE, "n": Action.NEXT, "p": Action.PREVIOUS, "r": Action.RESTART, "m": Action.MIRROR,
    "f": Action.FULLSCREEN, "+": Action.BIGGER, "=": Action.BIGGER, "-": Action.SMALLER, "g": Action.PLOT,
    "x": Action.PAIN, "q": Action.QUIT, "esc": Action.QUIT,
}
KEY_HELP = "space pause | n/p exercise | r restart | m mirror | f full | +/- text | x PAIN | q quit"
PAIN_RULE = "pain_reported"
FRAMING_NOT_PASSED = "the framing check did not pass"   # the reason when the gate names none
PAIN_ADVICE = ("You reported pain, so this stretch is stopped. Rest and breathe; if the pain does not settle, "
               "see a professional before stretching again.")
TEXT_SCALE_STEP, TEXT_SCALE_RANGE = 1.15, (0.5, 3.0)
PRESENT_TEXT_SCALE = 1.3
PLOT_SAMPLES = 150
MAX_VIDEO_REPEAT_S = 5.0
CANVAS_WIDTH_PX = 640    # a recording (no pixels) is drawn on a dark canvas this wide


class Follow(Protocol):
    """What the session reads of a follow-along (`coach.physio.live_follow.FollowAlong`): a sink of
    the loop ahead of the session (it steps with every frame the loop hands out), so the
    demonstration code stays a stage above the session; the session only draws and reports it."""

    ghost: Pose | None    # the demonstration's pose placed on the person (None: nothing yet)
    score: float          # the latest match score 0-100, NaN when nothing compares

    def summary(self): ...


def score_text(follow: Follow | None) -> str:
    """The status line's part: "match 87" (or "match -"), empty without a demonstration."""
    if follow is None:
        return ""
    score = follow.score
    return f"match {score:.0f}  |  " if math.isfinite(score) else "match -  |  "


@dataclass(frozen=True)
class LiveOptions:
    """How a session runs. `out_dir` receives the summary (replaced as a whole at the end)."""

    out_dir: Path
    mirror: bool = False            # show the picture like a mirror (analysis is never mirrored)
    present: bool = False           # presentation mode: larger text, envelope numbers on the gauges
    plot: bool = False              # the live angle plot (key g)
    text_scale: float = 1.0
    realtime: bool = False          # pace a file like a camera
    save_video: bool = False        # annotated.mp4 (never otherwise)
    record: bool = False            # landmarks.jsonl.gz
    framing_hold_s: float = FRAMING_HOLD_S
    extra_files: tuple[tuple[str, str], ...] = ()   # (name, text) also written in the folder (screening.json)
    model: ModelChoice | None = None   # the model chosen for the session (None: the input's, not measured)


class LiveSession(Sink):
    def __init__(self, routine: Routine, options: LiveOptions, info: InputInfo, *, sounds=None,
                 follow: Follow | None = None, speech=None):
        self.routine, self.options, self.info = routine, options, info
        self.sounds, self.follow = sounds, follow
        # speech: a `coach.render.speech.SoundChoice` (the voice, else the tones it fell back to), recorded in session.json
        self.speech = speech
        self.voice = speech.voice if speech is not None else None
        if speech is not None and speech.sounds is not None:
            self.sounds = speech.sounds
        self.cues = CuePicker()
        self._intro = False
        self.mirror, self.plot, self.paused, self.fullscreen = options.mirror, options.plot, False, False
        self.text_scale = options.text_scale * (PRESENT_TEXT_SCALE if options.present else 1.0)
        self.summary = Summariser(info)
        self.model = options.model or ModelChoice(info.model)
        self.status_text = self.notice_text = ""   # what the last frame drawn said (status line, model notice)
        self.ended, self.ended_by, self.message = False, "", ""
        self.events: list[Event] = []
        self.latencies_s: list[float] = []
        self.inference_s: list[float] = []
        self.waits_s: list[float] = []        # captured -> taken by the detector (time in the mailbox)
        self.analysed = self.shown = 0
        self.first_show_s = self.last_show_s = math.nan
        self._shows: deque[float] = deque(maxlen=30)
        self._pain = False
        self.last_pose: PoseFrame | None = None
        self._blank: np.ndarray | None = None
        self.folder = self.files = self._stack = self._video = None
        self.outputs: tuple[str, ...] = ()
        self.out_dir = Path(options.out_dir)
        self._serial, self._result, self._coaching = 0, None, False
        self.report: Report | None = None
        self.routine_log: list[RoutineEntry] = []   # every exercise left so far, with what became of it
        self._reached = 0                            # the furthest routine index started
        self.index = -1
        self._goto(0)

    # --- exercises --------------------------------------------------------------------------------

    @property
    def exercise(self):
        return self.routine.exercises[self.index]

    def _goto(self, index: int, why: str = "") -> None:
        """Start exercise `index` (clamped) from its framing step; the one left is logged (`why` it
        was left when it was not completed)."""
        if self.index >= 0:
            self._log(why)
        self.index = min(max(index, 0), len(self.routine.exercises) - 1)
        self._reached = max(self._reached, self.index)
        self.coach: _LiveCoach | None = None
        self._serial += 1   # the coached segment (if any) is over
        self.verdict: FrameVerdict | None = None
        self._coaching = False   # the framing step passed (or pain was reported): coach the frames
        self.gate = FramingGate(self.exercise, self.options.framing_hold_s)
        self.plot_values: deque[float] = deque(maxlen=PLOT_SAMPLES)
        self._intro = True   # the voice says the exercise at its next analysed frame
        self._restyle()

    def _log(self, why: str) -> None:
        """Record what became of the current exercise as it is left (`why`: the key pressed)."""
        self.routine_log.append(self._entry(why))

    def _ended_why(self) -> str:
        """How the session ended, as a routine entry's reason: "the recording ended", "the session was
        interrupted" (not "the session ended: The recording ended." / "...: Stopped: interrupted.")."""
        if self.ended_by == "interrupted":
            return f"the session was {interrupts.describe()}"
        if self.ended_by in ("stopped", "pain"):   # the message is the stop's advice, said with the exercise stopped
            return f"the session stopped at {self.exercise.name}" + (" (pain reported)" if self.ended_by == "pain" else "")
        if not self.message:
            return "the session is still running"
        return self.message[0].lower() + self.message[1:].rstrip(".")

    def _current_entry(self) -> RoutineEntry:
        return self._entry(self._ended_why(), ended=True)

    def _entry(self, why: str, ended: bool = False) -> RoutineEntry:
        ex, v = self.exercise, self.verdict
        if v is not None and v.status == Status.COMPLETED:
            entry = RoutineEntry(ex.id, ex.name, "completed")
        elif v is not None and v.status == Status.STOPPED:
            entry = RoutineEntry(ex.id, ex.name, "stopped", v.advice or "the exercise was stopped")
        elif not self._coaching:
            framing = self.gate.main_reason or FRAMING_NOT_PASSED
            entry = RoutineEntry(ex.id, ex.name, "skipped", f"never framed ({framing}); {why}")
        else:
            entry = RoutineEntry(ex.id, ex.name, "unfinished" if ended else "skipped", why)
        return entry

    def routine_summary(self) -> tuple[RoutineEntry, ...]:
        """Every exercise of the routine with what became of it: those left so far, the current one
        as the session ended, and those never reached."""
        done = [*self.routine_log, self._current_entry()]   # the current exercise is logged only when left
        for ex in self.routine.exercises[self._reached + 1:]:
            done.append(RoutineEntry(ex.id, ex.name, "skipped", f"not reached: {self._ended_why()}"))
        return tuple(done)

    def _restyle(self) -> None:
        style = OverlayStyle(presentation=self.options.present, text_scale=self.text_scale, text_unit=LIVE_TEXT_UNIT,
                             min_text_of_height=LIVE_MIN_TEXT_OF_HEIGHT)
        self.overlay = Overlay(self.exercise, style)

    # --- the session loop's plan and coach (`coach.session.loop.run_session`) ----------------------

    def at(self, t_s: float) -> _Segment:
        """The plan: the current exercise, from its framing step on - the engine runs from the first
        frame, so the safety rules judge every pose seen whatever the framing says - until a move to
        another exercise (or a restart) ends it. Holds are timed once the framing step passed."""
        return _Segment(self, self._serial, self.exercise)

    def new_coach(self, exercise) -> _LiveCoach:
        """The engine for one exercise: the pain key's stop is applied to its verdicts; safety only
        (`Coach.holds_on` False) until the framing step passes."""
        engine = Coach(exercise, smoothing="causal")
        engine.holds_on = self._coaching
        self.coach = _LiveCoach(self, engine)
        return self.coach

    def end(self, how: str, message: str) -> None:
        if not self.ended:
            self.ended, self.ended_by, self.message = True, how, message

    def feed_ended(self, error: BaseException | None) -> None:
        if error is None:
            self.end("source_ended", f"The {'recording' if self.info.kind == 'recording' else 'video'} ended.")
        else:
            self.end("source_lost", f"The input stopped ({error}); the session ended.")

    # --- frames -----------------------------------------------------------------------------------

    def take(self, result: Inferred) -> bool:
        """One analysed frame: True when it goes to the session loop - to the framing step (which has
        just stepped with it) or, once that passed, to be coached; False while paused or over."""
        pf = self.last_pose = result.pose_frame
        self.analysed += 1
        if result.inference_s > 0:
            self.inference_s.append(result.inference_s)
            self.waits_s.append(result.done_s - result.inference_s - result.captured.captured_s)
        if self.paused or self.ended:
            return False
        if self._intro:
            self._intro = False
            self._say(self.cues.exercise(self.exercise, pf.t_s))
        if not self._coaching:
            framing = self.gate.step(pf.pose, pf.t_s, pf.others)
            self._coaching = self.gate.passed or self._pain
            if self.coach is not None:
                self.coach.engine.holds_on = self._coaching
            if not self._coaching and not framing.ready:
                self._say(self.cues.framing(framing.message, pf.t_s))
        self._result = result
        return True

    # --- the session loop's sink: the coached frames' verdicts ----------------------------------------

    def segment(self, exercise, t_s: float, score) -> None:
        if exercise is not None:   # None: the framing step, summarised as nothing
            self.summary.start_segment(exercise, t_s, routine_index=self.index)

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        result = self._result
        self.latencies_s.append(time.monotonic() - result.captured.captured_s)
        if verdict is None:   # no engine ran for this frame
            return
        self._keep(frame, result, verdict)
        self._after(verdict)

    def close(self, partial: bool) -> None:
        """The frames are done: a signal ended the session (`partial`), or it ended on its own."""
        if partial:
            self.end("interrupted", f"Stopped: {interrupts.describe()}.")
        self.report = self.finish()

    def frame_of(self, result: Inferred) -> Frame | None:
        rgb = result.captured.rgb
        return Frame(result.pose_frame.t_s, result.pose_frame.index, rgb) if rgb is not None else None

    def _keep(self, frame: Frame | None, result: Inferred, verdict: FrameVerdict) -> None:
        self.verdict = verdict
        self.summary.framing("" if self._coaching else self.gate.main_reason or FRAMING_NOT_PASSED)
        self.events.extend(verdict.events)
        inside = self.summary.add(verdict)
        self.files.write_frame(frame, result.pose_frame, verdict, inside, self.exercise)
        if self.options.save_video:
            self._write_video(result, verdict)
        gauges = self.overlay.gauges(verdict)
        self.plot_values.append(gauges[0].value if gauges else math.nan)
        self._sound(verdict)
        self._say(self.cues.verdict(verdict))

    def _after(self, verdict: FrameVerdict) -> None:
        if verdict.status == Status.STOPPED:
            self.end("pain" if self._pain else "stopped", verdict.advice or "The exercise was stopped.")
        elif verdict.status == Status.COMPLETED:
            if self.index + 1 < len(self.routine.exercises):
                self._goto(self.index + 1, "completed")
            else:
                self.end("done", "Well done: every exercise is complete.")

    def _say(self, cues) -> None:
        """Hand the cues to the voice (a queue: never waits); the cue choice runs without one too."""
        if self.voice is not None:
            for cue in cues:
                self.voice.say(cue)

    def _sound(self, verdict: FrameVerdict) -> None:
        """The tones, each with the cooldown of the cue it stands for (`CuePicker.tones`)."""
        if self.sounds is None:
            return
        for name in self.cues.tones(verdict):
            self.sounds.play(name)

    # --- keys -------------------------------------------------------------------------------------

    def on_action(self, action: Action, display) -> None:
        if action == Action.QUIT:
            self.end("quit", "You ended the session.")
        elif action == Action.PAIN:
            self._pain, self.paused = True, False
        elif action == Action.PAUSE:
            self.paused = not self.paused
        elif action in (Action.NEXT, Action.PREVIOUS, Action.RESTART):
            self._move(action)
        elif action == Action.MIRROR:
            self.mirror = not self.mirror
        elif action == Action.FULLSCREEN:
            self.fullscreen = not self.fullscreen
            display.set_fullscreen(self.fullscreen)
        elif action == Action.PLOT:
            self.plot = not self.plot
        else:
            step = TEXT_SCALE_STEP if action == Action.BIGGER else 1.0 / TEXT_SCALE_STEP
            self.text_scale = min(max(self.text_scale * step, TEXT_SCALE_RANGE[0]), TEXT_SCALE_RANGE[1])
            self._restyle()

    def _move(self, action: Action) -> None:
        if action == Action.NEXT and self.index + 1 >= len(self.routine.exercises):
            self.end("quit", "You skipped past the last exercise.")
            return
        offset = {Action.NEXT: 1, Action.PREVIOUS: -1, Action.RESTART: 0}[action]
        why = {Action.NEXT: "you moved on to the next exercise", Action.PREVIOUS: "you went back to the one before",
               Action.RESTART: "you restarted it"}[action]
        self._goto(self.index + offset, why)

    # --- drawing ----------------------------------------------------------------------------------

    def render(self, shown: Captured, canvas_px: tuple[int, int] | None = None) -> np.ndarray:
        """The frame to show: the overlay with the latest poses and verdict, then the live screens.
        `canvas_px`: the window's size - the frame is fitted into it and everything drawn at its size."""
        canvas = shown.rgb if shown.rgb is not None else self._canvas()
        pf = self.last_pose or PoseFrame(shown.t_s, shown.index, Pose.empty(self.info.size_px))
        ghost = self.follow.ghost if self.follow is not None else None
        img = self.overlay.annotate(canvas, pf, self.verdict, mirror=self.mirror, ghost=ghost, canvas_px=canvas_px)
        lay = self.overlay.layout(img.shape[1], img.shape[0])
        u, style = lay.u_px, self.overlay.style
        if self.plot and self._coaching:
            self._draw_plot(img, lay)
        self.status_text = (f"{score_text(self.follow)}{self.model.tag}  |  {self._fps():.0f} fps  "
                            f"{self._latency_ms():.0f} ms  |  {KEY_HELP}")
        # prompts go above the status line; in a portrait window (panels stacked, the hold panel down to
        # the cue) the status line would cover the hold panel: it shows only while nothing is coached
        if lay.stacked and self._coaching and not (self.paused or self.ended):
            bottom = lay.cue[1] - u // 2
        else:
            bottom = draw_status(img, self.status_text, u, style, lay.cue[1]) - u // 2
        if self.ended:
            draw_prompt(img, "Session over", self.message, u, style, bottom)
        elif self.paused:
            draw_prompt(img, "Paused", "Press space to continue", u, style, bottom)
        elif not self._coaching:
            message = self.gate.last.message or "Hold still - starting..."
            draw_prompt(img, f"{self.exercise.name}: get ready", message, u, style, bottom, self.gate.progress(pf.t_s))
        self.notice_text = self.model.screen_notice if not self._coaching and not self.ended else ""
        if self.notice_text:   # before coaching: why the model is not the default one that fits
            draw_status(img, self.notice_text, u, style, bottom - round(PROMPT_HEIGHT_U * u))
        self._count_show()
        return img

    def _canvas(self) -> np.ndarray:
        """The picture of a landmark recording: a dark canvas of its aspect ratio, made once."""
        if self._blank is None:
            w, h = self.info.size_px
            height = max(1, round(CANVAS_WIDTH_PX * h / w)) if w > 0 and h > 0 else CANVAS_WIDTH_PX * 3 // 4
            self._blank = blank((CANVAS_WIDTH_PX, height))
        return self._blank

    def _draw_plot(self, img, lay) -> None:
        gauges = self.overlay.gauges(self.verdict)
        if not gauges:
            return
        u, g = lay.u_px, gauges[0]
        x0, _, x1, y0 = lay.hold_panel   # under the hold ring, down to the status line
        box = (x0, y0 + u // 2, x1, min(lay.cue[1] - 2 * u, y0 + u // 2 + 9 * u))
        if box[3] - box[1] >= 3.5 * u:
            draw_plot(img, box, list(self.plot_values), g.band, g.label, u, self.overlay.style)

    def _count_show(self) -> None:
        now = time.monotonic()
        self.first_show_s = now if math.isnan(self.first_show_s) else self.first_show_s
        self.last_show_s = now
        self._shows.append(now)

    def _fps(self) -> float:
        span = self._shows[-1] - self._shows[0] if len(self._shows) > 1 else 0.0
        return (len(self._shows) - 1) / span if span > 0 else 0.0

    def _latency_ms(self) -> float:
        recent = self.latencies_s[-15:]
        return 1000.0 * sum(recent) / len(recent) if recent else 0.0

    # --- files ------------------------------------------------------------------------------------

    def attach(self, folder: Path, files, stack) -> None:
        """Where the session is written (set by the loop once the output folder exists)."""
        self.folder, self.files, self._stack = folder, files, stack

    def _write_video(self, result: Inferred, verdict: FrameVerdict) -> None:
        """annotated.mp4 in frame time: a frame is repeated over the gap a dropped frame left."""
        from coach.io.video import VideoSink

        rgb = result.captured.rgb if result.captured.rgb is not None else self._canvas()
        ghost = self.follow.ghost if self.follow is not None else None
        img = self.overlay.annotate(rgb, result.pose_frame, verdict, ghost=ghost)
        fps = self.info.fps if self.info.fps > 0 else 30.0
        if self._video is None:
            sink = VideoSink(self.folder / VIDEO, fps, (img.shape[1], img.shape[0]))
            self._video = [self._stack.enter_context(sink), result.pose_frame.t_s]
            repeat = 1
        else:
            gap_s = min(result.pose_frame.t_s - self._video[1], MAX_VIDEO_REPEAT_S)
            repeat = max(1, round(gap_s * fps))
            self._video[1] = result.pose_frame.t_s
        for _ in range(repeat):
            self._video[0].write(img)

    def finish(self) -> Report | None:
        """Summarise and write session.json / report.html (nothing when nothing was coached)."""
        from coach.io.atomic import write_text

        if not self.summary.exercises:
            return None
        partial = self.ended_by in ("quit", "interrupted", "source_lost")
        if partial:
            self.files.mark_partial()
        extra = tuple(name for name, _ in self.options.extra_files)
        names = tuple(n for n in self.files.names() if n != LANDMARKS or self.options.record)  # names() lists it always
        self.outputs = names + ((VIDEO,) if self._video else ()) + extra
        report, timeline = self.summary.finish(partial=partial, outputs=self.outputs, routine=self.routine_summary(),
                                               routine_name=self.routine.name)
        for name, text in self.options.extra_files:
            write_text(Path(self.folder) / name, text)
        more = {"model_choice": self.model.as_dict()}
        if self.speech is not None:
            more["sound"] = self.speech.as_dict()
        if self.follow is not None:
            more["follow"] = self.follow.summary().as_dict()
        self.files.write_summary(report, timeline, self.summary.exercises, more)
        return report


@dataclass(frozen=True)
class _Segment:
    """The session loop's segment: one exercise, from its framing step (safety only) through its
    coaching, until the session moves on (`_serial`)."""

    session: LiveSession
    serial: int
    exercise: object | None
    score: None = None

    def covers(self, t_s: float) -> bool:
        return self.session._serial == self.serial


class _LiveCoach:
    """The engine of one coached exercise, with the pain key: the frame at which pain was reported
    is stopped (`_with_pain`), like any engine stop."""

    def __init__(self, session: LiveSession, coach: Coach):
        self.session, self.engine = session, coach

    @property
    def last_measures(self):
        return self.engine.last_measures

    def update(self, pose: Pose, t_s: float, others=(), measures=None) -> FrameVerdict:
        verdict = self.engine.update(pose, t_s, others=others, measures=measures)
        return _with_pain(verdict) if self.session._pain else verdict


def _with_pain(verdict: FrameVerdict) -> FrameVerdict:
    """The verdict of the frame at which pain was reported: stopped, with the advice and the event."""
    event = Event(EventKind.EXERCISE_STOPPED, verdict.t_s, {"advice": PAIN_ADVICE, "rules": (PAIN_RULE,)})
    return replace(verdict, status=Status.STOPPED, advice=PAIN_ADVICE, events=verdict.events + (event,))
