"""`coach live`: coach a person through a routine in front of a camera, frame by frame.

    result = run_live(open_feed("0"), routine, CvWindow(), LiveOptions(out_dir), detector=detector)

The session loop (`coach.session.loop.run_session`, main thread) takes its frames from `_analysed`,
which waits on the `FramePipeline` (`coach.session.feed`: capture and inference run in their own
threads, stale frames are dropped, never queued) for two things: a new inferred frame,
which goes through the framing step or the engine (`update(pose, t_s)`: time is the frame's own
timestamp, never a clock) and is written to the session files; and the newest captured frame, which
is drawn by the `Overlay` with the latest poses and verdict and shown by the `Display`. Keys map to
actions in the one table `KEYS`. At the end the session is summarised and saved exactly as
`coach analyze` saves it (`Summariser`, `SessionFiles`: session.json, report.html, frames.csv; the
landmarks with --record; annotated.mp4 only with --save-video).

With a demonstration (`follow`, a `coach.physio.live_follow.FollowAlong` the CLI builds), its ghost
advances with the person and the match score shows in the status line; the summary says how closely it was followed.

Wall clocks are read only to measure (display FPS, capture-to-verdict latency) and, for
--realtime, to pace a file inside the capture thread.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.engine.routine import Routine, worth_listing
from coach.engine.verdict import Event
from coach.io.sources import Frame
from coach.pose.core import PoseFrame
from coach.report.core import InputInfo, Report
from coach.report.stats import holds_done, longest_hold, status_text
from coach.session.feed import LOSSLESS, End, Feed, FramePipeline, Inferred
from coach.session.live_session import KEYS, Action, Follow, LiveOptions, LiveSession
from coach.session.loop import Sink, run_session
from coach.session.session_files import OutputFolder, SessionFiles
from coach.usertext import rule_words

WAIT_S = 0.1             # the loop wakes at least this often (keys, window events) when nothing arrives


@dataclass(frozen=True)
class LiveResult:
    """How a session went. `ended_by`: done | stopped | pain | quit | interrupted | source_ended | source_lost."""

    ended_by: str
    message: str
    report: Report | None
    out_dir: Path | None
    events: tuple[Event, ...]
    frames_captured: int
    frames_analysed: int
    frames_shown: int
    frames_dropped: int                  # stale frames replaced before the detector took them
    wall_s: float
    display_fps: float
    latency_ms: tuple[float, float]      # median, 90th percentile (capture -> verdict)
    inference_ms: float                  # median time in the detector (NaN for a recording)
    wait_ms: float                       # median time a frame waited in the mailbox for the detector
    outputs: tuple[str, ...] = field(default=())
    follow: object | None = None         # with a demonstration: how closely it was followed (FollowSummary)
    routine: tuple = field(default=())   # RoutineEntry per exercise: completed, stopped, skipped (why), unfinished
    routine_name: str = ""


def input_info(feed: Feed, detector=None) -> InputInfo:
    """The session's input as the report names it: a camera or stream is "camera"; images play as a
    video. The model is the detector's (pixels) or the one the recording was made with."""
    info = feed.info
    kind = {"stream": "camera", "image": "video", "folder": "video"}.get(info.kind, info.kind)
    # a camera is named, not given as a path; a file is given resolved, as analyze does: session.json
    # and the history name the file itself, wherever the command was run from
    path = info.name if kind == "camera" else str(Path(info.path).absolute())
    model_path = getattr(detector, "model_path", None)
    model = Path(model_path).name if model_path is not None else info.model
    return InputInfo(info.name, path, kind, info.fps, info.size_px, model)


def run_live(feed: Feed, routine: Routine, display, options: LiveOptions, *, detector=None, sounds=None,
             follow: Follow | None = None, sinks: Sequence[Sink] = (), speech=None) -> LiveResult:
    """Coach `routine` on `feed` until it is done, stopped, quit or the feed ends; save the session.
    With `follow` (a sink of the loop), the demonstration is followed along (ghost, match score). `sinks`: more readers
    of the coached frames, after the session itself (the CLI's history: its `published` runs once
    the folder is). `speech`: the voice (or the tones it fell back to), a `coach.render.speech.SoundChoice`:
    the cues it says are chosen from the verdicts and put on its queue (the loop never waits for it)."""
    info = input_info(feed, detector)
    lossless = feed.policy == LOSSLESS and not options.realtime
    session = LiveSession(routine, options, info, sounds=sounds, follow=follow, speech=speech)
    follows = (follow,) if follow is not None else ()   # a sink ahead of the session, which draws its ghost
    start_s = time.monotonic()
    detect = detector.detect if detector is not None else None
    source = () if feed.info.live else (feed.info.name,)
    flush = contextlib.ExitStack()   # from the end of the loop until the folder is published: signals wait
    output = OutputFolder(options.out_dir, inputs=source)
    with flush, output as folder, contextlib.ExitStack() as stack:
        files = stack.enter_context(SessionFiles(folder, info, video=False, landmarks=options.record))
        session.attach(folder, files, stack)
        with FramePipeline(feed, detect, lossless=lossless, realtime=options.realtime) as pipe:
            pairs = _analysed(pipe, session, display)
            with contextlib.closing(pairs):
                run_session(pairs, session, [*follows, session, *sinks], coach_for=session.new_coach, flush=flush)
        report = session.report
    counts = (pipe.captured, session.analysed, session.shown, pipe.infer.dropped)  # never analysed
    session.out_dir = output.published   # a stopped session beside a whole earlier one: `OutputFolder`
    return _result(session, report, counts, time.monotonic() - start_s)


def _analysed(pipe: FramePipeline, session: LiveSession, display) -> Iterator[tuple[Frame | None, PoseFrame]]:
    """The frames to coach, for the session loop; meanwhile the newest frame goes to the screen and
    keys to actions. Ends when the session does (or the feed)."""
    while not session.ended:
        result, shown = pipe.wait(WAIT_S)
        if isinstance(result, End):
            session.feed_ended(result.error)
            return
        if isinstance(result, Inferred) and session.take(result):
            yield session.frame_of(result), result.pose_frame   # the engine and the sinks run here
        if shown is not None:
            display.show(session.render(shown, getattr(display, "canvas_px", None)))
            session.shown += 1
        action = KEYS.get(display.key())
        if action is not None:
            session.on_action(action, display)
        if display.closed:
            session.end("quit", "The window was closed.")


def _percentile_ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q) * 1000.0) if values else float("nan")


def _result(session: LiveSession, report: Report | None, counts: tuple[int, int, int, int],
            wall_s: float) -> LiveResult:
    captured, analysed, shown, dropped = counts
    lat = session.latencies_s
    fps = (shown - 1) / (session.last_show_s - session.first_show_s) if shown > 1 and \
        session.last_show_s > session.first_show_s else float("nan")
    return LiveResult(session.ended_by, session.message, report, session.out_dir if report else None,
                      tuple(session.events), captured, analysed, shown, dropped, wall_s, fps,
                      (_percentile_ms(lat, 50), _percentile_ms(lat, 90)),
                      _percentile_ms(session.inference_s, 50), _percentile_ms(session.waits_s, 50),
                      session.outputs, session.follow.summary() if session.follow is not None else None,
                      session.routine_summary(), session.routine.name)


def summary_lines(result: LiveResult) -> list[str]:
    """The end-of-session summary, for the terminal and the window."""
    lines = [result.message]
    report = result.report
    if report is None:
        return lines + ["Nothing was analysed, so no summary was saved.",
                        performance_line(result)]
    for seg in report.segments:
        # "both": the key of an exercise without sides, not said ("reps both 0/4" read as both sides done)
        reps = ", ".join(f"{'' if side == 'both' else side + ' '}{n}/{seg.reps_target}" for side, n in seg.reps.items())
        # as the report's card says it: the target is over the sides done, and a side not done is named
        not_done = [side for side in seg.reps if side != "both" and seg.sides_done and side not in seg.sides_done]
        missed = f" ({' and '.join(not_done)} side not done)" if not_done else ""
        holds = f"holds done {holds_done([seg])}{missed}, longest {longest_hold([seg], report.holds)}"
        lines.append(f"{seg.name}: {status_text(seg)} - reps {reps}; {holds}; "
                     f"in position {seg.time_in_envelope_pct:.0f}% of the time")
        if seg.advice and seg.advice != result.message:   # the pain stop's advice opens the summary already
            lines.append(f"  {seg.advice}")
    if worth_listing(result.routine):
        lines += [f"Routine: {result.routine_name}" if result.routine_name else "Routine:"]
        lines += [f"  {i}. {e.line()}" for i, e in enumerate(result.routine, 1)]
    rules = sorted({rule_words(a.rule).lower() for a in report.alerts})   # in words, never the rule's id
    lines.append(f"Alerts: {len(report.alerts)}" + (f" ({', '.join(rules)})" if rules else ""))
    if result.follow is not None:
        lines.append(follow_line(result.follow))
    lines.append(f"Saved in {result.out_dir}: {', '.join(result.outputs)}")
    return lines + [performance_line(result)]


def follow_line(follow) -> str:
    """`follow`: a `coach.physio.live_follow.FollowSummary`."""
    if follow.mean_score is None:
        return f"Following {follow.reference}: no coached frame could be compared with it"
    return (f"Following {follow.reference}: mean match {follow.mean_score:.0f}/100 "
            f"over {follow.frames_scored} coached frames")


def performance_line(result: LiveResult) -> str:
    median_ms, p90_ms = result.latency_ms
    inference = (f" (waiting for the detector {result.wait_ms:.0f} ms, inference {result.inference_ms:.0f} ms)"
                 if result.inference_ms == result.inference_ms else "")
    return (f"Performance: {result.display_fps:.1f} frames/s shown; capture to verdict {median_ms:.0f} ms median, "
            f"{p90_ms:.0f} ms p90{inference}; {result.frames_dropped} stale frames dropped")


__all__ = ["Action", "Follow", "KEYS", "LiveOptions", "LiveResult", "follow_line", "input_info",
           "performance_line", "run_live", "summary_lines"]
