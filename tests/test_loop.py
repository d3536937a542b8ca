"""The one session loop (`coach.session.loop.run_session`): what every sink gets, in which order, and
how a signal ends it. Real recordings (the bundled samples), the real engine, no mocks."""

from __future__ import annotations

import math
import signal
from dataclasses import dataclass

import numpy as np
import pytest

from coach import interrupts, samples_dir
from coach.engine.autodetect import Plan, PlannedSegment
from coach.engine.core import Coach
from coach.engine.exercises import get_exercise
from coach.engine.verdict import EventKind
from coach.measure.measures import compute_measures
from coach.pose.recording import Recording
from coach.session.loop import ListSink, Sink, run_session

BRIDGE = samples_dir() / "bridge.jsonl.gz"


def pairs(path=BRIDGE, stop_after: int | None = None):
    for i, pose_frame in enumerate(Recording(path).frames()):
        if stop_after is not None and i == stop_after:
            raise interrupts.Interrupted(signal.SIGTERM)
        yield None, pose_frame


class Calls(Sink):
    """Records the order of the calls it gets."""

    def __init__(self, log: list, name: str):
        self.log, self.name = log, name

    def segment(self, exercise, t_s, score):
        self.log.append((self.name, "segment", exercise.id if exercise is not None else None))

    def frame(self, frame, pose_frame, verdict, measures=None):
        self.log.append((self.name, "frame", pose_frame.index))

    def close(self, partial):
        self.log.append((self.name, "close", partial))


def test_every_sink_gets_every_frame_in_order_then_is_closed():
    log: list = []
    end = run_session(pairs(), get_exercise("bridge"), [Calls(log, "a"), Calls(log, "b")])
    n = Recording(BRIDGE).count_frames()
    assert end.frames == n and not end.interrupted
    assert log[:2] == [("a", "segment", "bridge"), ("b", "segment", "bridge")]
    frames = [x for x in log if x[1] == "frame"]
    assert [x[0] for x in frames[:4]] == ["a", "b", "a", "b"] and len(frames) == 2 * n
    assert log[-2:] == [("a", "close", False), ("b", "close", False)]


def test_the_verdicts_are_the_engines_own():
    exercise = get_exercise("bridge")
    coach = Coach(exercise)
    expected = [coach.update(f.pose, f.t_s, others=f.others) for f in Recording(BRIDGE).frames()]
    sink = ListSink()
    run_session(pairs(), exercise, [sink])
    assert list(map(repr, sink.verdicts)) == list(map(repr, expected))   # repr: NaN reads equal


def test_measures_given_by_the_caller_are_not_measured_again_and_give_the_same_verdicts():
    exercise = get_exercise("bridge")
    given = [compute_measures(f.pose, f.others) for f in Recording(BRIDGE).frames()]
    measured, reused = ListSink(), ListSink()
    run_session(pairs(), exercise, [measured])
    run_session(pairs(), exercise, [reused], measured=iter(given))
    assert list(map(repr, reused.verdicts)) == list(map(repr, measured.verdicts))


@pytest.mark.parametrize("stop_after, partial", [(0, True), (25, True), (None, False)],
                         ids=["signal before any frame", "signal mid-way", "no signal"])
def test_a_signal_ends_the_loop_and_the_sinks_close_partial(stop_after, partial):
    sink = ListSink()
    end = run_session(pairs(stop_after=stop_after), get_exercise("bridge"), [sink])
    assert end.interrupted is partial and sink.partial is partial
    if stop_after is not None:
        assert len(sink.verdicts) == end.frames == stop_after


def test_an_empty_input_gives_no_verdicts_and_a_complete_close():
    sink = ListSink()
    end = run_session(iter(()), get_exercise("bridge"), [sink])
    assert (end.frames, end.interrupted, sink.verdicts, sink.partial) == (0, False, [], False)


def test_a_plan_switches_exercise_and_starts_a_new_engine_at_the_segment_boundary():
    first, second = get_exercise("bridge"), get_exercise("childs_pose")
    plan = Plan((PlannedSegment(first, -math.inf, 2.0), PlannedSegment(second, 2.0, math.inf)), auto=True)
    log: list = []
    sink = ListSink()
    run_session(pairs(), plan, [Calls(log, "s"), sink])
    assert [x[2] for x in log if x[1] == "segment"] == ["bridge", "childs_pose"]
    started = [(v.exercise_id, v.t_s) for v in sink.verdicts for e in v.events if e.kind == EventKind.EXERCISE_STARTED]
    assert [ex for ex, _ in started] == ["bridge", "childs_pose"] and started[1][1] >= 2.0
    assert {v.exercise_id for v in sink.verdicts if v.t_s < 2.0} == {"bridge"}


# --- segments without an exercise: no engine (live's framing step, teach's reading) ---------------

@dataclass(frozen=True)
class Seg:
    exercise: object
    start_s: float
    end_s: float
    score: None = None

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


class FramingFirst:
    """A plan like live's: a framing step (no exercise) until 2 s, then the bridge coached."""

    def at(self, t_s: float) -> Seg:
        return Seg(None, -math.inf, 2.0) if t_s < 2.0 else Seg(get_exercise("bridge"), 2.0, math.inf)


class Measured(Sink):
    def __init__(self):
        self.rows: list = []

    def frame(self, frame, pose_frame, verdict, measures=None):
        self.rows.append((pose_frame, verdict, measures))


@pytest.mark.parametrize("plan, judged_from_s, segments", [
    (None, math.inf, [None]),
    (FramingFirst(), 2.0, [None, "bridge"]),
], ids=["a plan of None", "a framing step, then an exercise"])
def test_a_segment_without_an_exercise_hands_out_frames_without_a_verdict(plan, judged_from_s, segments):
    log: list = []
    sink = Measured()
    end = run_session(pairs(), plan, [Calls(log, "s"), sink])
    assert end.frames == Recording(BRIDGE).count_frames() == len(sink.rows)
    assert [x[2] for x in log if x[1] == "segment"] == segments
    for pose_frame, verdict, measures in sink.rows:
        if pose_frame.t_s < judged_from_s:
            assert verdict is None and measures is None, pose_frame.t_s
        else:   # the engine's measures, as `compute_measures` gives them: sinks need not measure again
            assert verdict is not None and verdict.exercise_id == "bridge"   # (NaN where the engine found a
            ref = compute_measures(pose_frame.pose, pose_frame.others)      # landmark implausible: engine.sight)
            same = np.isclose(measures.values, ref.values, equal_nan=True) | np.isnan(measures.values)
            assert same.all() and (measures.view, measures.posture) == (ref.view, ref.posture)


# --- after publication: `Sink.published` -----------------------------------------------------------

class Summary(Sink):
    """A summarising sink: makes the session's report when closed (as the result files do)."""

    def __init__(self):
        from coach.io.sources import InputInfo
        from coach.report.core import Summariser

        self.summary = Summariser(InputInfo("bridge.jsonl.gz", str(BRIDGE), "recording", 30.0, (640, 480)))

    def segment(self, exercise, t_s, score):
        self.summary.start_segment(exercise, t_s, score)

    def frame(self, frame, pose_frame, verdict, measures=None):
        self.summary.add(verdict)

    def close(self, partial):
        self.report, _ = self.summary.finish(partial=partial)


class Published(Calls):
    def published(self, report):
        self.log.append((self.name, "published", None if report is None else report.partial))


class PublishFails(Exception):
    pass


@pytest.mark.parametrize("how, stop_after, expected", [
    ("the caller's stack is left cleanly", None, [("p", "close", False), ("left", "stack"), ("p", "published", False)]),
    ("a signal stopped the frames", 25, [("p", "close", True), ("left", "stack"), ("p", "published", True)]),
    ("publishing failed", None, [("p", "close", False), ("left", "stack")]),
    ("no stack of the caller's", None, [("p", "close", False), ("p", "published", False)]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_published_runs_once_the_callers_stack_is_left_without_an_error(how, stop_after, expected):
    import contextlib

    log: list = []
    sinks = [Summary(), Published(log, "p")]
    if how == "no stack of the caller's":
        run_session(pairs(stop_after=stop_after), get_exercise("bridge"), sinks)
    else:
        with contextlib.suppress(PublishFails), contextlib.ExitStack() as flush:
            run_session(pairs(stop_after=stop_after), get_exercise("bridge"), sinks, flush=flush)
            log.append(("left", "stack"))   # the caller publishes its folder here
            if how == "publishing failed":
                raise PublishFails
    assert [x for x in log if x[1] != "frame" and x[1] != "segment"] == expected


def test_a_signal_during_the_flush_waits_for_published_and_is_raised_after_it():
    """The results are whole and on disk when the waiting signal is raised: what acts on a finished
    session (the history) still runs, first."""
    import contextlib
    import os

    class SignalAtClose(Sink):
        def close(self, partial):
            os.kill(os.getpid(), signal.SIGINT)   # the flush holds it back

    log: list = []
    with interrupts.handling(), pytest.raises(interrupts.Interrupted):
        with contextlib.ExitStack() as flush:
            run_session(pairs(), get_exercise("bridge"), [Summary(), SignalAtClose(), Published(log, "p")], flush=flush)
            log.append(("left", "stack"))
    assert [x for x in log if x[1] not in ("frame", "segment")] == [("p", "close", False), ("left", "stack"),
                                                                      ("p", "published", False)]


def test_published_gets_no_report_when_no_sink_made_one():
    log: list = []
    run_session(pairs(), get_exercise("bridge"), [Published(log, "p")])
    assert log[-1] == ("p", "published", None)
