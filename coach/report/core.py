"""The session summary: a frozen `Report`, built from the verdict stream by `Summariser`.

    summary = Summariser(input_info)
    summary.start_segment(exercise, t_s)             # once per exercise segment (one, unless --exercise auto
                                                     # or a live routine)
    for verdict in verdicts:
        summary.add(verdict)                         # incremental: events -> holds / alerts, a timeline row
    report, timeline = summary.finish(partial=False)
    report.to_json()                                 # session.json

The summariser only collects what the engine said (events, verdicts); the numbers it derives at the
end (peak / median per measure and side, time in the envelope, what could not be measured) are
pure functions of the collected timeline, in `coach.report.stats`. Times are seconds of the input.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from coach import __version__
from coach.engine.exercises import Exercise
from coach.engine.routine import RoutineEntry
from coach.engine.verdict import EventKind, FrameVerdict
from coach.io.sources import InputInfo
from coach.report.stats import (
    AlertSpan,
    Hold,
    MeasureStats,
    Note,
    SegmentSummary,
    measure_stats,
    notes_for,
    reported_sides,
    segment_summary,
)
from coach.report.timeline import Timeline, TimelineArrays

FORMAT = "coach-session/1"


@dataclass(frozen=True)
class Report:
    input: InputInfo
    frames: int
    duration_s: float
    partial: bool
    auto: bool
    segments: tuple[SegmentSummary, ...]
    holds: tuple[Hold, ...]
    alerts: tuple[AlertSpan, ...]
    measures: tuple[MeasureStats, ...]
    notes: tuple[Note, ...]
    in_envelope: bool | None = None       # an image: the single frame's verdict
    hints: tuple[str, ...] = ()           # an image: the corrections for the bands it misses
    outputs: tuple[str, ...] = ()         # the files written beside session.json
    # --exercise auto could not tell these parts apart: "0:00-0:31: bridge or supine_twist", one per
    # segment (coached as the first named; `coach.engine.autodetect.PlannedSegment.candidates`)
    not_sure: tuple[str, ...] = ()
    # `coach live`: what became of every exercise of the routine, in the order they were left
    # (completed, stopped, skipped with why, unfinished); empty for the other commands
    routine: tuple[RoutineEntry, ...] = ()
    routine_name: str = ""                # the routine file's `name` ("" without a routine)
    version: str = __version__

    @property
    def exercise(self) -> str | None:
        """The exercise when the whole input is one; None for several segments (or none)."""
        ids = {s.exercise for s in self.segments}
        return ids.pop() if len(ids) == 1 else None

    def reps(self) -> dict[str, int]:
        """Reps per side over all segments."""
        out: dict[str, int] = {}
        for seg in self.segments:
            for side, n in seg.reps.items():
                out[side] = out.get(side, 0) + n
        return out

    def time_in_envelope_pct(self) -> float:
        total = sum(s.frames for s in self.segments)
        if not total:
            return math.nan
        return sum(s.time_in_envelope_pct * s.frames for s in self.segments) / total

    def as_dict(self) -> dict:
        data = {**asdict(self), "input": self.input.as_report()}
        data = {"format": FORMAT, "exercise": self.exercise, **data, "reps": self.reps(),
                "time_in_envelope_pct": self.time_in_envelope_pct()}
        if self.input.kind != "image":
            data.pop("in_envelope")
            data.pop("hints")
        if not self.routine:
            data.pop("routine")
        if not self.routine_name:
            data.pop("routine_name")
        for seg in data["segments"]:   # only a live session's segments coach a routine's exercise
            if seg["routine_index"] is None:
                seg.pop("routine_index")
            if not seg["unframed"]:
                seg.pop("unframed")
        return _clean(data)

    def to_json(self, extra: dict | None = None) -> str:
        """session.json; `extra`: keys added at the end (live follow-along adds "follow")."""
        data = {**self.as_dict(), **(extra or {})}
        return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _clean(value):
    """JSON-ready: NaN -> null, floats rounded to 4 decimals (as the CSV's times), tuples -> lists."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    return value


@dataclass
class _Open:
    """A hold or alert that has started and not ended yet."""

    start_s: float
    details: dict = field(default_factory=dict)
    worst: float = math.nan
    above: bool = True


class Summariser:
    """Collects the verdict stream into holds, alerts and a timeline; `finish()` builds the Report."""

    def __init__(self, info: InputInfo):
        self.info = info
        self.timeline = Timeline()
        # (exercise, start_s, auto-detection score, the live routine's exercise index)
        self._segments: list[tuple[Exercise, float, float | None, int | None]] = []
        self._last: list[FrameVerdict | None] = []
        self._unframed: list[str] = []   # per segment, `framing`
        self._framed: list[bool] = []
        self._holds: list[Hold] = []
        self._alerts: list[AlertSpan] = []
        self._open_holds: _Open | None = None
        self._open_alerts: dict[str, _Open] = {}
        self._last_t = math.nan
        self.not_sure: tuple[str, ...] = ()   # the plan's "not sure" notes, set by the caller

    @property
    def exercise(self) -> Exercise:
        return self._segments[-1][0]

    @property
    def exercises(self) -> dict[str, Exercise]:
        """The exercises of the segments so far, by id."""
        return {ex.id: ex for ex, *_ in self._segments}

    def start_segment(self, exercise: Exercise, t_s: float, score: float | None = None,
                      routine_index: int | None = None) -> None:
        """`score`: --exercise auto's confidence; `routine_index`: `coach live`'s routine exercise (the
        segments of one count its target once, `coach.report.stats.same_exercise`)."""
        if self._segments:
            self._close_all()
        self._segments.append((exercise, t_s, score, routine_index))
        self._last.append(None)
        self._unframed.append("")
        self._framed.append(False)

    def framing(self, why: str) -> None:
        """`coach live`: why the current segment's framing step has not passed yet ("" once it has). A
        segment framed once stays so; one never framed is reported with the last reason."""
        if why == "":
            self._framed[-1], self._unframed[-1] = True, ""
        elif not self._framed[-1]:
            self._unframed[-1] = why

    def add(self, verdict: FrameVerdict) -> bool | None:
        """Take one frame's verdict; returns the frame's envelope flag (True / False / None)."""
        inside = verdict.in_envelope
        self.timeline.add(len(self._segments) - 1, self.exercise, verdict, inside)
        for event in verdict.events:
            self._event(event, verdict)
        for alert in verdict.alerts:
            self._worsen(alert.rule_id, alert.value, alert.message)
        self._last[-1], self._last_t = verdict, verdict.t_s
        return inside

    def _event(self, event, verdict: FrameVerdict) -> None:
        d = event.details
        if event.kind == EventKind.HOLD_STARTED:
            self._open_holds = _Open(event.t_s, {"phase": d.get("phase", verdict.phase), "side": d.get("side")})
        elif event.kind in (EventKind.HOLD_COMPLETED, EventKind.HOLD_RELEASED) and self._open_holds:
            done = event.kind == EventKind.HOLD_COMPLETED
            end_s = event.t_s if done else float(d.get("held_until_s", event.t_s))
            self._close_hold(end_s, float(d.get("hold_s", 0.0)), done)
        elif event.kind == EventKind.ALERT_RAISED:
            value, limit = float(d.get("value", math.nan)), float(d.get("limit", math.nan))
            above = not (math.isfinite(value) and math.isfinite(limit) and value < limit)
            self._open_alerts[d["rule"]] = _Open(event.t_s, dict(d), value, above)
        elif event.kind == EventKind.ALERT_CLEARED and d.get("rule") in self._open_alerts:
            self._close_alert(d["rule"], event.t_s, ended=True)
        elif event.kind == EventKind.EXERCISE_STOPPED:
            self._stopped(event)

    def _stopped(self, event) -> None:
        """A stop for a reason no alert raised (the person reported pain, `coach live`'s x key) is a
        stop-level safety event of its own: counted and listed with the alerts, never "no alerts".
        A stop the safety rules made is already there, as the stop alerts that made it."""
        raised = set(self._open_alerts) | {a.rule for a in self._alerts if a.exercise == self.exercise.id}
        for rule in event.details.get("rules", ()):
            if rule not in raised:
                self._alerts.append(AlertSpan(self.exercise.id, rule, "stop", event.t_s, event.t_s, math.nan,
                                              math.nan, str(event.details.get("advice", "")), active_at_end=False))

    def _worsen(self, rule: str, value: float, message: str) -> None:
        """The span keeps its worst reading, and the message that quotes it: the raise's message
        quoted the first reading past the limit ("138°/s") while the stored value was the worst
        (139.27), so the two disagreed; now the message is the one rendered from the stored value."""
        alert = self._open_alerts.get(rule)
        if alert is None or not math.isfinite(value):
            return
        if not math.isfinite(alert.worst) or (value > alert.worst if alert.above else value < alert.worst):
            alert.worst = value
            if message:
                alert.details["message"] = message

    def _close_hold(self, end_s: float, duration_s: float, completed: bool) -> None:
        h, ex = self._open_holds, self.exercise
        phase = next((p for p in ex.phases if p.name == h.details["phase"]), ex.phases[0])
        self._holds.append(Hold(ex.id, phase.name, h.details["side"], h.start_s, max(end_s, h.start_s),
                                duration_s, phase.hold_s, completed))
        self._open_holds = None

    def _close_alert(self, rule: str, end_s: float, ended: bool) -> None:
        a = self._open_alerts.pop(rule)
        d = a.details
        self._alerts.append(AlertSpan(self.exercise.id, rule, str(d.get("severity", "")), a.start_s, end_s,
                                      a.worst, float(d.get("limit", math.nan)), str(d.get("message", "")),
                                      active_at_end=not ended))

    def _close_all(self) -> None:
        """End of a segment (or of the input): what is still open ends at the last frame."""
        last = self._last[-1]
        if self._open_holds is not None and last is not None:
            self._close_hold(self._last_t, last.hold_s, False)
        self._open_holds = None
        for rule in list(self._open_alerts):
            self._close_alert(rule, self._last_t, ended=False)

    def finish(self, partial: bool = False, outputs: tuple[str, ...] = (),
               routine: tuple[RoutineEntry, ...] = (), routine_name: str = "") -> tuple[Report, TimelineArrays]:
        if self._segments:
            self._close_all()
        tl = self.timeline.arrays()
        segments = tuple(segment_summary(i, ex, start_s, score, last, tl, self._holds, slot, self._unframed[i])
                         for i, ((ex, start_s, score, slot), last) in enumerate(zip(self._segments, self._last)))
        exercises = [ex for ex, *_ in self._segments]
        stats = tuple(s for i, ex in enumerate(exercises)
                      for s in measure_stats(i, ex, tl, reported_sides(i, ex, tl, segments[i].sides_done)))
        notes = tuple(notes_for(exercises, tl))
        duration_s = float(tl.t_s[-1] - tl.t_s[0]) if tl.n > 1 else 0.0
        image = self.info.kind == "image"
        last = self._last[-1] if self._last else None
        report = Report(self.info, tl.n, duration_s, partial, any(s is not None for _, _, s, _ in self._segments),
                        segments, tuple(self._holds), tuple(self._alerts), stats, notes,
                        in_envelope=last.in_envelope if image and last else None,
                        hints=tuple(m.hint for m in last.measures if m.hint) if image and last else (),
                        outputs=tuple(outputs), not_sure=tuple(self.not_sure), routine=tuple(routine),
                        routine_name=routine_name if routine else "")
        return report, tl
