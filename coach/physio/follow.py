"""Live follow-along: the demonstration advances with the person, as a ghost and a match score.

    follower = Follower(reference_frames, reference_series, taught.exercise)
    for pose_frame in stream:
        step = follower.step(pose_frame.pose, measures, pose_frame.t_s)
        overlay.annotate(rgb, pose_frame, verdict, ghost=step.ghost)   # step.score: 0-100

An online, one-way version of the DTW in `coach.physio.compare`: the reference index never goes back; each
frame the follower looks a `window_s` ahead of where it is for the reference frame whose envelope
measures (read toward the person's side) best match the person's, with a small cost for straying from
the demonstration's own pace: where many frames match (a hold) it keeps time, and a clearly better
match elsewhere in the window wins. The score is 100 x exp(-d^2 / 2), d = the RMS of the
differences in units of each band's half-width: on the demonstration 100, one half-width off ~61,
two ~14. The ghost is the matched reference pose placed on the person (`coach.render.ghost`). Keeps state
(the index); time is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coach.engine.envelope import detect_side, resolve_key, toward_side
from coach.engine.exercises import Exercise
from coach.measure.conventions import SPEC
from coach.measure.measures import Measures
from coach.physio.compare import envelope_keys, features, frame_sides
from coach.physio.teach import MeasureSeries
from coach.pose.core import Pose, PoseFrame
from coach.render.ghost import ghost_pose

PACE_COST = 1.0     # cost of a whole window off the demonstration's own pace, in squared half-widths


@dataclass(frozen=True)
class FollowStep:
    reference_index: int
    reference_t_s: float
    score: float        # 0-100; NaN when nothing could be compared
    ghost: Pose         # the matched reference pose on the person's body (empty: nothing to draw)


def _half_widths(exercise: Exercise, keys: tuple[str, ...]) -> np.ndarray:
    widths = {}
    for phase in exercise.phases:
        for key, band in phase.envelope.items():
            widths[key] = max(widths.get(key, 0.0), (band.max - band.min) / 2)
    return np.array([max(widths.get(k, 1.0), 1.0) for k in keys])


def _filled(values: np.ndarray) -> np.ndarray:
    """Gaps in each column filled from the nearest seen frames (a column never seen stays NaN)."""
    out = values.copy()
    idx = np.arange(len(values))
    for k in range(values.shape[1]):
        seen = np.isfinite(values[:, k])
        if seen.any():
            out[:, k] = np.interp(idx, idx[seen], values[seen, k])
    return out


class Follower:
    """Follows a person along a reference demonstration; `step` once per frame."""

    def __init__(self, frames: Sequence[PoseFrame], series: MeasureSeries, exercise: Exercise, *,
                 window_s: float = 2.0):
        if len(frames) != len(series) or not len(frames):
            raise ValueError(f"Follower: expected one PoseFrame per measured frame, got {len(frames)} and {len(series)}")
        if not window_s > 0:
            raise ValueError(f"Follower window_s: expected > 0, got {window_s}")
        self.exercise, self.frames = exercise, list(frames)
        self.keys = envelope_keys(exercise)
        self._ref = _filled(features(series, exercise).values)
        self._t = series.t_s
        self._scale = _half_widths(exercise, self.keys)
        fps = (len(series) - 1) / max(series.t_s[-1] - series.t_s[0], 1e-9) if len(series) > 1 else 1.0
        self._fps, self._window = fps, max(1, int(round(window_s * fps)))
        self.index = 0
        self._side: str | None = next((x for x in frame_sides(series, exercise) if x), None)  # until one is seen
        self._last_t_s: float | None = None

    def reading(self, measures: Measures) -> np.ndarray:
        """The person's envelope keys, toward the side they show (kept while it can't be told)."""
        sided = self.exercise.sides != "none"
        if sided:
            self._side = detect_side(self.exercise, measures) or self._side
        out = np.full(len(self.keys), np.nan)
        for k, key in enumerate(self.keys):
            name = resolve_key(key, self._side if sided else None)
            if name is not None and name in SPEC:
                out[k] = toward_side(name, measures[name], self._side)
        return out

    def step(self, pose: Pose, measures: Measures, t_s: float) -> FollowStep:
        """Advance to the best match within the window ahead and place that reference pose on `pose`."""
        x = self.reading(measures)
        seen = np.isfinite(x)
        ahead = self._ref[self.index:self.index + self._window + 1]
        elapsed_s = 0.0 if self._last_t_s is None else max(0.0, t_s - self._last_t_s)
        self._last_t_s = t_s
        expected = elapsed_s * self._fps   # frames ahead if the person keeps the demonstration's pace
        if seen.any():
            sq = ((ahead[:, seen] - x[seen]) / self._scale[seen]) ** 2
            n = np.isfinite(sq).sum(axis=1)
            d2 = np.where(n > 0, np.where(np.isfinite(sq), sq, 0.0).sum(axis=1) / np.maximum(n, 1), np.inf)
            cost = d2 + PACE_COST * np.abs(np.arange(len(ahead)) - expected) / self._window
            if np.isfinite(cost).any():
                self.index += int(np.argmin(cost))
        score = self.score(x)
        return FollowStep(self.index, float(self._t[self.index]), score,
                          ghost_pose(self.frames[self.index].pose, pose))

    def score(self, reading: np.ndarray) -> float:
        """0-100 match of a reading against the current reference frame; NaN when nothing compares."""
        d2 = ((reading - self._ref[self.index]) / self._scale) ** 2
        d2 = d2[np.isfinite(d2)]
        return float(round(100.0 * math.exp(-0.5 * float(d2.mean())), 1)) if len(d2) else math.nan
