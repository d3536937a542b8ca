"""The one session loop: every frame's poses go to the engine, and its verdict to every sink.

    sinks = [ResultFiles(files, Summariser(info)), ProgressSink(progress)]
    end = run_session(pairs, Plan.fixed(exercise), sinks)     # pairs: (Frame | None, PoseFrame)
    end.interrupted                                            # Ctrl-C / SIGTERM / SIGHUP stopped it

`coach analyze`, `coach live`, `coach compare` and `coach teach` (and the tests) run through this
loop; it does not know which command runs it. Per frame: the plan gives the exercise for the
frame's time (a new segment makes a new Coach: `--exercise auto` switches exercise mid-video), the
Coach judges the pose at the frame's own time (never a clock), and every sink gets the frame, its
poses, that one `FrameVerdict` and the measures judged. A segment without an exercise runs no
engine (verdict None): live's framing step, and a plan of None - teach and compare read a
demonstration so, before any exercise exists. Sinks only read - result files, an overlay video,
the summary, follow-along, a progress bar, the history; none of them changes what the engine says.
Once the caller has published its results, every sink's `published(report)` runs (the history
stores the session then).

A signal (a `KeyboardInterrupt` subclass from `coach.interrupts`) ends the loop between frames:
each sink has either had a frame or not (the frame is handed out inside `interrupts.deferred()`),
and then every sink is closed with `partial=True`, so the files publish what was analysed. From the
end of the frames until the caller has published, further signals wait (`flush`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from coach import interrupts
from coach.engine.autodetect import Plan
from coach.engine.core import Coach, EngineSettings
from coach.engine.exercises import Exercise
from coach.engine.safety import RULES
from coach.engine.verdict import FrameVerdict
from coach.io.sources import Frame
from coach.measure.measures import Measures
from coach.pose.core import PoseFrame
from coach.report.core import Report

PosePairs = Iterable[tuple[Frame | None, PoseFrame]]


class Sink:
    """Reads the session as it runs. Every method is optional; the defaults do nothing.

    `report`: the sink that summarises the session (the result files, live's session) sets it in
    `close`; the loop hands it to every sink's `published` once the results are on disk."""

    report: Report | None = None

    def segment(self, exercise: Exercise | None, t_s: float, score: float | None) -> None:
        """A new exercise segment starts at `t_s` (the first frame, or a switch of `--exercise auto`);
        `score` is autodetect's confidence in it (None when the exercise was given). `exercise` None:
        a segment that is not judged (live's framing step; a plan of None)."""

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        """One frame: its pixels (None for a recording), its poses, the engine's verdict and the
        measures it judged (as `compute_measures` gives them). In a segment without an exercise
        (live's framing step, teach's reading) no engine runs: `verdict` is None, and `measures` are
        the caller's (`measured`) or None - a sink that needs them measures the pose itself."""

    def close(self, partial: bool) -> None:
        """The frames are done (`partial`: a signal stopped them); publish what was produced."""

    def published(self, report: Report | None) -> None:
        """The results are published: every sink is closed and the caller's folder is complete on
        disk (`flush` left without an error; a signal that waited for it is raised after this). `report`: the session's report, None when
        none was made. What acts on a finished session (the history) does it here."""


class ListSink(Sink):
    """Keeps every verdict (tests, small inputs): `verdicts`, and `partial` once closed."""

    def __init__(self) -> None:
        self.verdicts: list[FrameVerdict] = []
        self.partial: bool | None = None

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        self.verdicts.append(verdict)

    def close(self, partial: bool) -> None:
        self.partial = partial


class ProgressSink(Sink):
    """One `advance()` per judged frame of a progress reporter (`coach.session.analyze.Progress`)."""

    def __init__(self, progress) -> None:
        self.progress = progress

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        self.progress.advance()


@dataclass(frozen=True)
class SessionEnd:
    """How the loop ended: `interrupted` by a signal (the sinks were closed partial), after `frames`."""

    interrupted: bool
    frames: int


def new_coach(exercise: Exercise, kind: str = "video") -> Coach:
    """The engine for one segment. An image is one instant: no smoothing, and alerts fire at once
    (no dwell time) so that a single photo can raise them."""
    if kind != "image":
        return Coach(exercise, smoothing="causal")
    rules = tuple(replace(rule, dwell_s=0.0) for rule in RULES)
    return Coach(exercise, smoothing="none", settings=EngineSettings(rules=rules))


def run_session(pairs: PosePairs, plan: Plan | Exercise | None | Any, sinks: Sequence[Sink], *,
                coach_for: Callable[[Exercise], Coach] = new_coach, measured: Iterator[Measures] | None = None,
                interrupted: bool = False, flush: contextlib.ExitStack | None = None) -> SessionEnd:
    """Judge every frame of `pairs` with the exercise `plan` gives for its time and hand each verdict
    to `sinks`; then close them (in order: a sink may read what an earlier one finished).

    `plan`: one exercise, an autodetect `Plan`, or anything whose `at(t_s)` gives a segment with
    `exercise`, `score` and `covers(t_s)` (live's session, which moves on by key or when an
    exercise is done): a segment that no longer covers the frame's time starts a new Coach. A
    segment whose exercise is None runs no engine (live's framing step); a plan of None is one
    such segment for the whole input (teach reads its demonstration so: no exercise exists yet).

    `coach_for` makes the engine for a segment (default: causal smoothing). `measured`: the frames'
    measures, one per frame in order, when the caller already computed them (compare measures the
    patient for its alignment first): they are not measured again. `interrupted`: an earlier stage
    (the first pass of `--exercise auto`) was already stopped, so the result is partial anyway.
    `flush`: the caller's stack, left once it has published; signals wait from the end of the frames
    until then (default: until the sinks are closed). When it is left without an error, every
    sink's `published(report)` runs - also when a signal waited meanwhile, which is raised only
    after them: the results are whole and published by then, and the history keeps the session
    (signals no longer wait during `published`, as for any work after the results are safe)."""
    plan = Plan.fixed(plan) if isinstance(plan, Exercise) else _UNJUDGED if plan is None else plan
    coach, segment, count = None, None, 0
    try:
        for frame, pose_frame in pairs:
            t_s = pose_frame.t_s
            if segment is None or not segment.covers(t_s):
                segment = plan.at(t_s)
                coach = coach_for(segment.exercise) if segment.exercise is not None else None
                for sink in sinks:
                    sink.segment(segment.exercise, t_s, segment.score)
            measures = next(measured) if measured is not None else None
            verdict = None
            if coach is not None:
                verdict = coach.update(pose_frame.pose, t_s, others=pose_frame.others, measures=measures)
                measures = coach.last_measures   # as measured (the caller's, or the engine's own)
            with interrupts.deferred():   # every sink gets this frame, or none does
                for sink in sinks:
                    sink.frame(frame, pose_frame, verdict, measures)
            count += 1
    except KeyboardInterrupt:
        interrupted = True
    with contextlib.ExitStack() as own:
        stack = flush or own
        stack.push(lambda _, exc, __: _published(sinks) if exc is None or interrupts.waited(exc) else None)  # last
        stack.enter_context(interrupts.deferred())
        for sink in sinks:
            sink.close(interrupted)
    return SessionEnd(interrupted, count)


@dataclass(frozen=True)
class _Unjudged:
    """The plan of None: one segment without an exercise, covering every frame."""

    exercise: None = None
    score: None = None

    def at(self, t_s: float) -> _Unjudged:
        return self

    def covers(self, t_s: float) -> bool:
        return True


_UNJUDGED = _Unjudged()


def _published(sinks: Sequence[Sink]) -> None:
    """Every sink's `published`, with the report the summarising sink made (None: none was)."""
    report = next((sink.report for sink in sinks if getattr(sink, "report", None) is not None), None)
    for sink in sinks:
        sink.published(report)


__all__ = ["ListSink", "PosePairs", "ProgressSink", "SessionEnd", "Sink", "new_coach", "run_session"]
