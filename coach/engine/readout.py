"""Pure per-frame helpers of the engine: what the safety rules read, and the verdict record.

Nothing here keeps state: the engine passes in the smoothed frame, the envelope result and its own
trackers' current values, and gets plain records back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coach.engine.envelope import ESTIMATE_ONLY, EnvelopeResult, estimate_only_words, twist_limit, unseen_measures
from coach.engine.exercises import Exercise
from coach.engine.safety import RuleInput
from coach.engine.verdict import Alert, Event, FrameVerdict, HoldState, MeasureVerdict, Status
from coach.measure.conventions import MEASURE_NAMES, SPEC, Reliability
from coach.measure.measures import Measures

INDEX = {name: i for i, name in enumerate(MEASURE_NAMES)}
DEG = np.array([SPEC[n].unit == "deg" for n in MEASURE_NAMES])


@dataclass(frozen=True, eq=False)
class SmoothedFrame:
    """One frame after smoothing. `measures` are all NaN when nobody is seen."""

    t_s: float
    dt_s: float
    seen: bool
    measures: Measures          # smoothed values, reliability as last measured
    speed: np.ndarray           # (n,) units per second, NaN = unknown
    framing: tuple[float, float]  # (body_size, out_of_frame), see coach.motion.presence


def edge_distances(exercise: Exercise, env: EnvelopeResult) -> np.ndarray:
    """(n,) distance of each envelope measure to the nearer edge of its band (inside or outside),
    NaN for measures outside the envelope or not seen: "near the end of the range" is near an edge.
    The bands are those of the phase `env` judged (a later phase may judge other measures)."""
    out = np.full(len(MEASURE_NAMES), np.nan)
    bands = exercise.phases[env.phase_index].envelope
    for check in env.checks:
        if check.measure in INDEX and math.isfinite(check.value):
            band = bands[check.key]
            out[INDEX[check.measure]] = min(abs(check.value - band.min), abs(check.value - band.max))
    return out


def safety_limits(exercise: Exercise, measures: Measures) -> np.ndarray:
    """(n,) the safety limit that applies to each measure's magnitude now, NaN where none."""
    s = exercise.safety
    out = np.full(len(MEASURE_NAMES), np.nan)
    out[INDEX["trunk_rotation_deg"]] = twist_limit(exercise, measures)
    flexion = measures["neck_flexion_deg"]
    out[INDEX["neck_flexion_deg"]] = s.neck_extension_max_deg if flexion < 0 else s.neck_flexion_max_deg
    out[INDEX["neck_rotation_deg"]] = s.neck_rotation_max_deg
    out[INDEX["neck_lateral_deg"]] = s.neck_lateral_max_deg
    return out


def near_end_speed(speed: np.ndarray, near_end: np.ndarray) -> float:
    """Fastest |speed| (deg/s) of an angle near its end range; NaN when none is near or known."""
    picked = np.abs(speed[near_end & DEG])
    picked = picked[np.isfinite(picked)]
    return float(picked.max()) if len(picked) else math.nan


def rule_input(exercise: Exercise, frame: SmoothedFrame, env: EnvelopeResult, near_end: np.ndarray,
               reversals: int, speed: np.ndarray | None = None) -> RuleInput:
    """What the rules read this frame. `speed` (n,) the speeds the ballistic rule judges (the engine
    passes the net speed of the measured values, which jitter does not raise; default: the smoother's)."""
    m = frame.measures
    missing = unseen_measures(env.checks) if frame.seen else ()
    limit = twist_limit(exercise, m) if frame.seen else math.nan
    estimates = frozenset(n for n, r in zip(MEASURE_NAMES, m.reliability) if r == Reliability.LOW)
    not_high = frozenset(n for n, r in zip(MEASURE_NAMES, m.reliability) if r != Reliability.HIGH)
    return RuleInput(pose_seen=frame.seen, values=dict(zip(MEASURE_NAMES, m.values.tolist())),
                     near_end_speed_deg_s=near_end_speed(frame.speed if speed is None else speed, near_end), near_end_reversals=reversals,
                     missing=missing, view=m.view, wanted_views=tuple(exercise.view),
                     body_size=frame.framing[0], out_of_frame=frame.framing[1], twist_limit_deg=limit,
                     estimates=estimates, not_high=not_high, others_unjudged=m.others_unjudged)


def measure_verdicts(frame: SmoothedFrame, env: EnvelopeResult) -> tuple[MeasureVerdict, ...]:
    checks = {c.measure: c for c in env.checks}
    out = []
    values, speeds = frame.measures.values.tolist(), frame.speed.tolist()  # plain floats: cheap records
    for name, value, rel, speed in zip(MEASURE_NAMES, values, frame.measures.reliability, speeds):
        c = checks.get(name)
        if c is None or not math.isfinite(value):
            out.append(MeasureVerdict(name, value, rel, in_envelope=c is not None, speed_per_s=speed))
            continue
        hint = c.hint if c.inside is False else ""
        out.append(MeasureVerdict(name, value, rel, c.inside, c.distance, hint, in_envelope=True, speed_per_s=speed))
    return tuple(out)


@dataclass(frozen=True)
class HoldView:
    """The hold tracker's state as the verdict reports it."""

    state: HoldState
    holding: bool
    hold_s: float
    target_s: float
    progress: float


def build_verdict(exercise: Exercise, progress, hold: HoldView, frame: SmoothedFrame, env: EnvelopeResult,
                  alerts: tuple[Alert, ...], events: list[Event], inside: bool | None,
                  sight: tuple[str, ...] = ()) -> FrameVerdict:
    """The frozen record for one frame (validated by `FrameVerdict` itself)."""
    status = progress.status
    return FrameVerdict(
        t_s=frame.t_s, exercise_id=exercise.id, status=status, phase=progress.phase.name,
        phase_index=progress.phase_index, side=progress.side, state=hold.state,
        holding=hold.holding and status != Status.STOPPED, hold_s=hold.hold_s, hold_target_s=hold.target_s,
        progress=hold.progress, reps_done=dict(progress.reps_done), sides_done=progress.sides_done,
        pose_seen=frame.seen, view=frame.measures.view, posture=frame.measures.posture,
        measures=measure_verdicts(frame, env), alerts=alerts, events=tuple(events),
        rest_left_s=progress.rest_left_s(frame.t_s), advice=progress.advice, in_envelope=inside,
        cant_judge=cant_judge(exercise, frame, env, status, sight))


def cant_judge(exercise: Exercise, frame: SmoothedFrame, env: EnvelopeResult, status: Status,
               sight: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Why the stretch can't be judged on this frame, in plain words (empty while coaching is not
    active or nobody is seen: other words say so): the body parts the camera can't see
    (`coach.engine.sight`), then "only an estimate"."""
    if status != Status.ACTIVE or not frame.seen:
        return ()
    out = list(sight)
    if env.reason == ESTIMATE_ONLY:
        out.append(estimate_only_words(exercise, env))
    return tuple(out)
