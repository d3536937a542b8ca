"""What the engine says about one frame: frozen records, validated on creation.

`FrameVerdict` is the engine's whole answer for a frame: the measures with reliability, each
judged against the phase envelope (in / out / can't judge, signed distance, hint), the hold state
and progress, reps and sides done, the active alerts, and the events this frame caused. Overlay and
report read these records; they never decide anything themselves.

Numbers: every number that claims to be valid is finite. A value that cannot be judged is NaN and
says so (`valid=False`, `inside=None`), never a silent 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Mapping

from coach.measure.conventions import Posture, Reliability, View


class EventKind(str, Enum):
    """What changed. Each event's `details`:

    hold_started     phase, side
    hold_paused      phase, side, hold_s (held so far)
    hold_resumed     phase, side, paused_s
    hold_released    phase, side, hold_s (held before it ended), held_until_s (when it really ended)
    hold_completed   phase, side, hold_s
    phase_changed    from, to, reason: "next" (the last phase is done) | "followed" (the person
                     settled into another phase of the rep) | "next rep"
    side_changed     from (None the first time), to
    context_changed  context ("view" | "posture" | "side": the one the pose shows, before a hold locks
                     it), from, to - a change of the stable value (`coach.engine.context`), never
                     one from or to "can't tell"
    rep_completed    side, rep (reps done on that side)
    rest_started     rest_s;  rest_ended: none
    exercise_started exercise (id);  exercise_completed: reps;  exercise_stopped: advice, rules
    alert_raised / alert_cleared   rule, severity, message, value, limit
    pose_lost / pose_regained      none
    """

    HOLD_STARTED = "hold_started"        # in the envelope and still long enough: the hold clock runs
    HOLD_PAUSED = "hold_paused"          # out of the envelope, moving or not seen: grace window begins
    HOLD_RESUMED = "hold_resumed"        # back within the grace window: the hold continues
    HOLD_RELEASED = "hold_released"      # out for longer than the grace window before the hold was done
    HOLD_COMPLETED = "hold_completed"    # the phase's hold_s reached
    PHASE_CHANGED = "phase_changed"
    SIDE_CHANGED = "side_changed"
    CONTEXT_CHANGED = "context_changed"  # the stable view, posture or seen side changed
    REP_COMPLETED = "rep_completed"
    REST_STARTED = "rest_started"
    REST_ENDED = "rest_ended"
    EXERCISE_STARTED = "exercise_started"
    EXERCISE_COMPLETED = "exercise_completed"
    EXERCISE_STOPPED = "exercise_stopped"  # the stop rule ended the exercise; details carry the advice
    ALERT_RAISED = "alert_raised"
    ALERT_CLEARED = "alert_cleared"
    POSE_LOST = "pose_lost"
    POSE_REGAINED = "pose_regained"


class HoldState(str, Enum):
    OUT = "out"              # not in the envelope (or not judged yet)
    ENTERING = "entering"    # in the envelope, settling: not still long enough yet
    HOLDING = "holding"      # in the envelope and still: hold time accrues
    PAUSED = "paused"        # was holding, now out / moving / unseen, within the grace window
    RELEASED = "released"    # left for longer than the grace window; the next hold starts from 0
    COMPLETED = "completed"  # hold_s reached


class Status(str, Enum):
    ACTIVE = "active"        # coaching a phase
    RESTING = "resting"      # rest between reps
    COMPLETED = "completed"  # every rep of every side done
    STOPPED = "stopped"      # ended by the stop rule


class Severity(str, Enum):
    CAUTION = "caution"
    STOP = "stop"


def _frozen_mapping(details: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(details or {}))


def _finite_or_nan(name: str, value: float) -> float:
    value = float(value)
    if math.isinf(value):
        raise ValueError(f"{name}: expected a finite number or NaN, got {value}")
    return value


@dataclass(frozen=True)
class Event:
    """Something that changed at `t_s`; `details` says what (phase, side, rule id, times...)."""

    kind: EventKind
    t_s: float
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EventKind(self.kind))
        if not math.isfinite(self.t_s):
            raise ValueError(f"Event.t_s: expected a finite time in seconds, got {self.t_s}")
        object.__setattr__(self, "details", _frozen_mapping(self.details))


@dataclass(frozen=True)
class Alert:
    """An active safety alert: `value` measured against `limit` (units of the rule's measure)."""

    rule_id: str
    severity: Severity
    message: str
    value: float
    limit: float
    since_s: float
    measure: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "value", _finite_or_nan("Alert.value", self.value))
        object.__setattr__(self, "limit", _finite_or_nan("Alert.limit", self.limit))
        if not self.message:
            raise ValueError(f"Alert {self.rule_id}: empty message")


@dataclass(frozen=True)
class MeasureVerdict:
    """One measure against the phase envelope.

    inside    True / False against the band (with its hysteresis), None = can't judge (NaN value)
    distance  signed distance to the band: 0 inside, < 0 below min, > 0 above max; NaN when not judged.
              For a signed measure in a sided exercise it is read toward the working side.
    valid     False when the value is NaN (can't measure); then inside is None and distance NaN
    """

    name: str
    value: float
    reliability: Reliability
    inside: bool | None = None
    distance: float = math.nan
    hint: str = ""
    in_envelope: bool = False  # this measure is part of the current phase's envelope
    speed_per_s: float = math.nan  # smoothed rate of change, unit per second (NaN = unknown)

    def __post_init__(self) -> None:
        if type(self.reliability) is not Reliability:
            object.__setattr__(self, "reliability", Reliability(self.reliability))
        for name in ("value", "distance", "speed_per_s"):  # hot path: convert only what needs it
            v = getattr(self, name)
            if type(v) is not float:
                v = float(v)
                object.__setattr__(self, name, v)
            if math.isinf(v):
                raise ValueError(f"MeasureVerdict({self.name}).{name}: expected a finite number or NaN, got {v}")
        if self.inside is not None and (math.isnan(self.value) or math.isnan(self.distance)):
            raise ValueError(f"MeasureVerdict({self.name}): judged inside={self.inside} without a value and distance")

    @property
    def valid(self) -> bool:
        return not math.isnan(self.value)


@dataclass(frozen=True)
class FrameVerdict:
    """The engine's answer for one frame. See the module docstring for the NaN rule."""

    t_s: float
    exercise_id: str
    status: Status
    phase: str
    phase_index: int
    side: str | None
    state: HoldState
    holding: bool                        # in the stretch and still right now (the hold detector)
    hold_s: float                        # hold time accrued in this phase and rep
    hold_target_s: float
    progress: float                      # hold_s / hold_target_s, in [0, 1]
    reps_done: Mapping[str, int]         # per side ("left"/"right", or "both" without sides)
    sides_done: tuple[str, ...]
    pose_seen: bool
    view: View = View.UNKNOWN
    posture: Posture = Posture.UNKNOWN
    measures: tuple[MeasureVerdict, ...] = ()
    alerts: tuple[Alert, ...] = ()
    events: tuple[Event, ...] = ()
    rest_left_s: float = 0.0
    advice: str = ""
    in_envelope: bool | None = None      # inside the phase envelope (bands with hysteresis, posture and
                                         # view gates); None = can't judge (nobody seen, side unknown...)
    cant_judge: tuple[str, ...] = ()     # why the stretch can't be judged now, in the words shown to the
                                         # person (only an estimate; a body part hidden, with the fix)

    def __post_init__(self) -> None:
        for name in ("t_s", "hold_s", "hold_target_s", "progress", "rest_left_s"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"FrameVerdict.{name}: expected a finite number, got {getattr(self, name)}")
        if not 0.0 <= self.progress <= 1.0:
            raise ValueError(f"FrameVerdict.progress: expected 0..1, got {self.progress}")
        if self.hold_s < 0 or self.rest_left_s < 0:
            raise ValueError(f"FrameVerdict: negative time (hold_s={self.hold_s}, rest_left_s={self.rest_left_s})")
        for name, enum in (("status", Status), ("state", HoldState), ("view", View), ("posture", Posture)):
            object.__setattr__(self, name, enum(getattr(self, name)))
        object.__setattr__(self, "reps_done", _frozen_mapping(self.reps_done))
        object.__setattr__(self, "measures", tuple(self.measures))
        object.__setattr__(self, "alerts", tuple(self.alerts))
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "cant_judge", tuple(str(t) for t in self.cant_judge))

    def measure(self, name: str) -> MeasureVerdict:
        for m in self.measures:
            if m.name == name:
                return m
        raise KeyError(f"no measure {name!r} in this verdict; have: {', '.join(m.name for m in self.measures)}")

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return tuple(a.rule_id for a in self.alerts)
