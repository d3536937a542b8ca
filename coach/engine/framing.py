"""The framing step of `coach live`: before an exercise is coached, the camera must see what it needs.

`check_framing(exercise, pose)` is pure: it says whether the landmarks the exercise's envelopes need
are seen (for a sided exercise, those of at least one side), the body is inside the frame, and the
camera view is one the exercise is judged from - and, when not, what to do, in plain words ("Step
back until your whole body is visible", "Turn side-on to the camera"). `FramingGate` adds the
debounce: the framing must hold for `hold_s` seconds of frame time (t_s) before coaching starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from coach.engine.envelope import NOT_SEEN, in_envelope
from coach.engine.exercises import Exercise
from coach.engine.safety import MIN_BODY_SIZE, VIEW_ADVICE, view_advice
from coach.measure.conventions import SPEC
from coach.measure.measures import compute_measures
from coach.measure.motion import presence
from coach.pose.core import Pose

__all__ = ["COME_CLOSER", "FRAMING_HOLD_S", "STEP_BACK", "STEP_INTO_VIEW", "VIEW_ADVICE", "Framing", "FramingGate",
           "check_framing"]

MAX_OUT_OF_FRAME = 0.1   # more than this share of landmarks predicted outside the frame: step back
FRAMING_HOLD_S = 1.0

STEP_INTO_VIEW = "Step into view of the camera"
STEP_BACK = "Step back until your whole body is visible"
COME_CLOSER = "Come closer to the camera"


@dataclass(frozen=True)
class Framing:
    """`ready`: the exercise can be judged from this picture; else `message` says what to do."""

    ready: bool
    message: str = ""
    missing: tuple[str, ...] = ()   # measures that cannot be read (landmarks not seen)


def _unseen(exercise: Exercise, measures, side: str | None) -> tuple[str, ...]:
    """The envelope needs not read from this pose: a measure that cannot be read, except that a
    per-side joint angle is needed once (the far hip of a person side-on is hidden, the near one will do)."""
    read: dict[str, bool] = {}
    for i in range(len(exercise.phases)):
        for c in in_envelope(exercise, measures, i, side).checks:
            spec = SPEC.get(c.measure)
            need = f"{spec.base} angle" if spec is not None and spec.paired else c.measure
            read[need] = read.get(need, False) or c.reason != NOT_SEEN
    return tuple(need for need, ok in read.items() if not ok)


def _missing(exercise: Exercise, measures) -> tuple[str, ...]:
    """What the envelopes need and the pose does not show, for the side that misses least."""
    sides = ("left", "right") if exercise.sides == "left_right" else (None,)
    return min((_unseen(exercise, measures, side) for side in sides), key=len)


def check_framing(exercise: Exercise, pose: Pose, others: tuple[Pose, ...] = ()) -> Framing:
    """Whether `exercise` can be coached from this pose, and if not the one thing to do first."""
    seen, (body_size, out_of_frame) = presence(pose)
    if not seen:
        return Framing(False, STEP_INTO_VIEW)
    measures = compute_measures(pose, others)
    missing = _missing(exercise, measures)
    if missing or (math.isfinite(out_of_frame) and out_of_frame > MAX_OUT_OF_FRAME):
        return Framing(False, STEP_BACK, missing)
    if math.isfinite(body_size) and body_size < MIN_BODY_SIZE:
        return Framing(False, COME_CLOSER)
    if measures.view not in exercise.view:
        return Framing(False, view_advice(exercise.view[0]))
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
        self.last = Framing(False, STEP_INTO_VIEW)

    def step(self, pose: Pose, t_s: float, others: tuple[Pose, ...] = ()) -> Framing:
        self.last = check_framing(self.exercise, pose, others)
        if not self.last.ready:
            self._ready_since = None
            return self.last
        if self._ready_since is None:
            self._ready_since = t_s
        self.passed = self.passed or t_s - self._ready_since >= self.hold_s
        return self.last

    def progress(self, t_s: float) -> float:
        """0..1: how far through the framing hold at `t_s`."""
        if self._ready_since is None:
            return 0.0
        return 1.0 if self.hold_s == 0 else min(1.0, max(0.0, (t_s - self._ready_since) / self.hold_s))
