"""The framing step of `coach live`: before an exercise is coached, the camera must see what it needs.

`check_framing(exercise, pose)` is pure: it says whether the landmarks the exercise's envelopes need
are seen (for a sided exercise, those of at least one side), the body is inside the frame, and the
camera view is one the exercise is judged from - and, when not, what to do, in plain words ("Step
back until your whole body is visible", "Turn side-on to the camera"). It reads the framing rules of
the alert table (`coach.engine.safety`): what lets an exercise start is what keeps its alerts quiet.
`FramingGate` adds the debounce: the framing must hold for `hold_s` seconds of frame time (t_s)
before coaching starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.engine.envelope import in_envelope, unseen_measures
from coach.engine.exercises import Exercise
from coach.engine.safety import (
    FRAMING_RULE_IDS,
    RULES,
    VIEW_ADVICE,
    Level,
    Rule,
    RuleInput,
    evaluate,
    rule_by_id,
    view_advice,
)
from coach.measure.measures import Measures, compute_measures
from coach.measure.motion import presence
from coach.pose.core import Pose

__all__ = ["COME_CLOSER", "FRAMING_HOLD_S", "STEP_BACK", "STEP_INTO_VIEW", "VIEW_ADVICE", "Framing", "FramingGate",
           "check_framing"]

FRAMING_HOLD_S = 1.0
# A break in the framing shorter than this does not restart its hold: stepping out of view or turning
# to another view takes a person longer (a body turn is about a second), while the landmarker's own
# flicker - one or two frames read unseen, or a view on the oblique/side boundary - is shorter. Measured
# on the bundled bridge clip (samples/bridge.jsonl.gz, 24 fps): 116 of its 144 frames are framed, in
# runs broken by 1-2 frames (<= 0.08 s); without this grace its framing never held 1 s and no hold
# was timed. 0.3 s is four times the longest such flicker and well under a deliberate movement.
FRAMING_BREAK_GRACE_S = 0.3

STEP_INTO_VIEW = "Step into view of the camera"
STEP_BACK = "Step back until your whole body is visible"
COME_CLOSER = "Come closer to the camera"
# What the framing step says for each framing rule, first things first ("" = the view advice).
GATE_ADVICE: tuple[tuple[str, str], ...] = (("person_lost", STEP_INTO_VIEW), ("landmarks_missing", STEP_BACK),
                                            ("too_close", STEP_BACK), ("too_far", COME_CLOSER), ("wrong_view", ""))


@dataclass(frozen=True)
class Framing:
    """`ready`: the exercise can be judged from this picture; else `message` says what to do."""

    ready: bool
    message: str = ""
    missing: tuple[str, ...] = ()   # measures that cannot be read (landmarks not seen)


def _missing(exercise: Exercise, measures: Measures) -> tuple[str, ...]:
    """What the envelopes of all phases need and the pose does not show (`unseen_measures`), for
    the side that misses least."""
    sides = ("left", "right") if exercise.sides == "left_right" else (None,)
    return min((unseen_measures(c for i in range(len(exercise.phases))
                                for c in in_envelope(exercise, measures, i, side).checks) for side in sides), key=len)


def check_framing(exercise: Exercise, pose: Pose, others: tuple[Pose, ...] = (),
                  rules: tuple[Rule, ...] = RULES) -> Framing:
    """Whether `exercise` can be coached from this pose, and if not the one thing to do first: the
    framing rules of the alert table (`FRAMING_RULE_IDS`, the same limits the alerts use) read once,
    without their dwell, asked in the order of `GATE_ADVICE`. A rule that can't judge (the view
    unknown) is not a pass."""
    seen, (body_size, out_of_frame) = presence(pose)
    measures = compute_measures(pose, others) if seen else Measures.empty()
    missing = _missing(exercise, measures) if seen else ()
    inp = RuleInput(pose_seen=seen, missing=missing, view=measures.view, wanted_views=tuple(exercise.view),
                    body_size=body_size, out_of_frame=out_of_frame)
    readings = evaluate(tuple(rule_by_id(i, rules) for i in FRAMING_RULE_IDS), inp, exercise.safety)
    hidden_by_view = readings["wrong_view"].level == Level.VIOLATED   # the missing parts are the angle's doing
    for rule_id, advice in GATE_ADVICE:
        if rule_id == "landmarks_missing" and hidden_by_view and readings[rule_id].level == Level.UNKNOWN:
            continue   # "step back" would not show them: turning will (`read_missing`)
        if readings[rule_id].level in (Level.VIOLATED, Level.UNKNOWN):
            return Framing(False, advice or view_advice(exercise.view[0]), missing)
    return Framing(True)


class FramingGate:
    """Debounces `check_framing`: `step(...)` returns the latest Framing and `passed` turns True once
    the framing has been ready for `hold_s` seconds of frame time without a break."""

    def __init__(self, exercise: Exercise, hold_s: float = FRAMING_HOLD_S):
        if not hold_s >= 0:
            raise ValueError(f"hold_s: expected seconds >= 0, got {hold_s}")
        self.exercise, self.hold_s = exercise, float(hold_s)
        self.passed = False
        self._ready_since: float | None = None
        self._unready_since: float | None = None   # the start of the current break in the framing
        self.last = Framing(False, STEP_INTO_VIEW)
        self._blocked_s: dict[str, float] = {}    # frame time each "not ready" message stood, until the next frame
        self._last_t: float | None = None

    @property
    def main_reason(self) -> str:
        """What kept the framing from passing for the longest time ("Come closer to the camera"), not the
        last frame's message: a recording's fade-out to black said "Step into view" for a person who was
        too far away for 29 of its 30 s."""
        if not self._blocked_s:
            return self.last.message
        return max(self._blocked_s.items(), key=lambda kv: kv[1])[0]

    def step(self, pose: Pose, t_s: float, others: tuple[Pose, ...] = ()) -> Framing:
        if self._last_t is not None and not self.last.ready and t_s > self._last_t:
            self._blocked_s[self.last.message] = self._blocked_s.get(self.last.message, 0.0) + t_s - self._last_t
        self._last_t = t_s
        self.last = check_framing(self.exercise, pose, others)
        if not self.last.ready:
            if self._unready_since is None:
                self._unready_since = t_s
            if t_s - self._unready_since > FRAMING_BREAK_GRACE_S:   # a real break: the hold starts again
                self._ready_since = None
            return self.last
        if self._unready_since is not None and t_s - self._unready_since > FRAMING_BREAK_GRACE_S:
            self._ready_since = None   # the break outlasted the grace, though no frame came in it
        self._unready_since = None
        if self._ready_since is None:
            self._ready_since = t_s
        self.passed = self.passed or t_s - self._ready_since >= self.hold_s
        return self.last

    def progress(self, t_s: float) -> float:
        """0..1: how far through the framing hold at `t_s`."""
        if self._ready_since is None:
            return 0.0
        return 1.0 if self.hold_s == 0 else min(1.0, max(0.0, (t_s - self._ready_since) / self.hold_s))
