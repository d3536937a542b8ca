"""Follow-along in `coach live --reference DEMO`: a demonstration's ghost and a match score, live.

    follow = FollowAlong(Reference("anna.mp4", demo.frames, demo.series, exercise))
    run_live(feed, routine, display, options, follow=follow)   # a sink of the loop, ahead of the session
    overlay.annotate(rgb, pose_frame, verdict, ghost=follow.ghost)

As a sink of the session loop (`coach.session.loop`) it steps with every frame the loop hands out
(live's framing step included, so it starts with the person; none while paused), counts the judged
frames (those with a verdict: live's engine runs from the framing step on) in the mean, and starts the
demonstration again with each segment (in live each begins with its framing step: a new exercise, or
one restarted). It never decides: it only reads the frames and their measures.

The exercise a demonstration teaches is held, in follow-along, as long as the demonstration's holds
(`follow_exercise`, `reference_hold_s`): the ghost keeps the demonstration's time and the patient is
not told to rest before holding as it did.

The matching itself is `coach.physio.follow.Follower` (the demonstration advances with the person, never
back); this module only feeds it the person's measures, keeps the latest step for drawing, and
averages the score over the coached frames. The average goes into session.json as "follow"
(`FollowSummary.as_dict`, added by `LiveSession.finish`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from coach.engine.exercises import Exercise
from coach.engine.verdict import FrameVerdict
from coach.io.sources import Frame
from coach.measure.measures import Measures, compute_measures
from coach.physio.follow import Follower, FollowStep
from coach.physio.teach import HeldSpan, MeasureSeries
from coach.physio.teach_file import HOLD_TARGET_FRACTION
from coach.pose.core import Pose, PoseFrame
from coach.session.loop import Sink

# The fraction of the reference's median hold a patient holds: `coach teach`'s (the engine starts
# timing once the person has settled and pauses on jitter, so it times a little less than the still
# span found in the demonstration), defined there once. Tenths of a second, never whole ones:
# rounding a 1.9 s demonstrated hold down to 1 s told a patient still holding the bridge to rest.
FOLLOW_HOLD_FRACTION = HOLD_TARGET_FRACTION


def reference_hold_s(holds: Sequence[HeldSpan]) -> float:
    """The hold a patient follows: FOLLOW_HOLD_FRACTION of the reference's median hold, to the tenth
    of a second below (at least 0.1 s)."""
    if not holds:
        raise ValueError("reference_hold_s: the reference has no hold to time")
    median_s = statistics.median(h.duration_s for h in holds)
    return max(0.1, math.floor(10 * FOLLOW_HOLD_FRACTION * median_s + 1e-9) / 10)


def follow_exercise(exercise: Exercise, holds: Sequence[HeldSpan]) -> Exercise:
    """The exercise taught from a demonstration, with every phase held as long as the reference's
    holds (`reference_hold_s`): follow-along and its ghost keep the demonstration's time."""
    hold_s = reference_hold_s(holds)
    data = exercise.model_dump()
    data["phases"] = [{**phase, "hold_s": hold_s} for phase in data["phases"]]
    return Exercise.model_validate(data)


@dataclass(frozen=True)
class Reference:
    """A demonstration to follow: every frame with its measures, and the exercise it is scored on."""

    name: str                       # the demonstration's file name, as reported
    frames: Sequence[PoseFrame]
    series: MeasureSeries
    exercise: Exercise


@dataclass(frozen=True)
class FollowSummary:
    """How closely the session followed the demonstration (session.json "follow")."""

    reference: str
    exercise: str
    mean_score: float | None        # 0-100 over the coached frames that could be compared; None: none could
    frames_scored: int

    def as_dict(self) -> dict:
        return asdict(self)


class FollowAlong(Sink):
    """The live follow-along state: one `Follower`, its latest step and the coached frames' scores."""

    def __init__(self, reference: Reference):
        self.reference = reference
        self.scores: list[float] = []
        self.restart()

    def segment(self, exercise: Exercise | None, t_s: float, score: float | None) -> None:
        self.restart()   # live: a framing step - a new exercise, or the same one restarted

    def frame(self, frame: Frame | None, pose_frame: PoseFrame, verdict: FrameVerdict | None,
              measures: Measures | None = None) -> None:
        """Step with every frame (the engine's measures when it judged it: measured once); count the
        coached ones."""
        step = self.step(pose_frame, measures)
        if verdict is not None:
            self.count(step)

    def restart(self) -> None:
        """From the start of the demonstration again (the exercise was restarted); scores are kept."""
        ref = self.reference
        self._follower = Follower(ref.frames, ref.series, ref.exercise)
        self.last: FollowStep | None = None

    def step(self, pose_frame: PoseFrame, measures: Measures | None = None) -> FollowStep:
        """Advance with the person's pose at this frame; `measures`: its measures when already computed
        (as `compute_measures(pose, others)` gives them, e.g. the engine's `Coach.last_measures`), else
        measured here."""
        if measures is None:
            measures = compute_measures(pose_frame.pose, pose_frame.others)
        self.last = self._follower.step(pose_frame.pose, measures, pose_frame.t_s)
        return self.last

    def count(self, step: FollowStep) -> None:
        """Count a coached frame's score in the session's mean (a frame that can't be compared is not)."""
        if math.isfinite(step.score):
            self.scores.append(step.score)

    @property
    def ghost(self) -> Pose | None:
        return self.last.ghost if self.last is not None else None

    @property
    def score(self) -> float:
        """The latest match score, 0-100 (NaN: nothing to compare yet)."""
        return self.last.score if self.last is not None else math.nan

    def summary(self) -> FollowSummary:
        mean = round(sum(self.scores) / len(self.scores), 1) if self.scores else None
        return FollowSummary(self.reference.name, self.reference.exercise.id, mean, len(self.scores))
