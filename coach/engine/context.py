"""Stable context: the camera view, the posture and the working side, as the coach acts on them.

`coach.measure.posture` decides view and posture per frame and `coach.engine.envelope.detect_side`
the side per frame; all three gate "in envelope" (and the view sets which measures can be trusted).
Per frame they flicker: on the shared bridge__01 (31 s, 30 fps, full model) the view changes 197
times (138 between known readings) and the posture 155 times (96), and 128 of the 139 view runs
between known readings last under 0.5 s; the lite recording of it changes view 222 times. Made
stable as below, the view changes 4 times (lite: 1) and the posture 6 (lite: 4); `bench/
bench_context.py` prints these counts for every recording. A real change is slower: lying down or
getting up takes a person 2 s or more, turning on a mat or a chair far enough to change the view
(45 deg or more) about 1 s, and a camera cut, though instant, needs no faster answer than a hold's
grace window (1 s).

So each of the three passes a majority window with hysteresis (`StableValue`): over the last
`window_s` of KNOWN readings, a new value takes over only when it holds at least `switch_share` of
them and those readings span at least switch_share x window_s (after a gap the window holds fewer
seconds: a single reading after it does not decide); the current value stays otherwise, also
through a 50/50 flicker. A flicker run shorter than switch_share x window_s can never win on its
own; a clean real change is followed after switch_share x window_s (`ContextSettings`: 0.6 s),
within the 1-2 s the change itself takes.

Missing is unknown, never a change: a frame with nobody seen, or a reading of "unknown", casts no
vote. When nothing known has been read for `forget_s` the stable value becomes unknown silently; the
first known reading after that (or at the start) is taken at once - an unknown context gates
everything to "can't judge" anyway, so there is nothing to protect - and it is an event only when it
differs from the last known stable value. Every other change of a stable value is an Event
(`EventKind.CONTEXT_CHANGED`: context "view" / "posture" / "side", from, to).

`rejudge` re-reads each measure's reliability for the stable view (the conventions table, and each
joint's stable face-on: `StableContext.step_measures`), so the reliability of a view-dependent measure
does not flicker with the per-frame view either.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from coach.engine.verdict import Event, EventKind
from coach.measure.conventions import MEASURE_NAMES, Posture, Reliability, View
from coach.measure.measures import (
    FACE_OFF_MIN_DEG,
    FACE_ON_MAX_DEG,
    JOINT_SLOTS,
    ONE_STEP_LOWER,
    Measures,
    reliability_for,
)

T = TypeVar("T")
EPS_S = 1e-9   # time comparisons tolerate float round-off



@dataclass(frozen=True)
class ContextSettings:
    """How the per-frame view / posture / side become stable (see the module doc for the numbers).

    window_s      the majority window of known readings (1.0 s: the fastest real change, a turn on
                  the mat, takes about 1 s; 128 of 139 flicker runs on bridge__01 last < 0.5 s)
    switch_share  a new value needs this share of the window (0.6: a strict majority with margin, so
                  a 50/50 flicker between two values never switches; latency 0.6 s)
    forget_s      no known reading this long: the stable value becomes unknown (5 s: longer than
                  any gap a pose recovers from in a hold - grace 1 s, smoothing gap 0.5 s - and
                  short enough that someone who left and came back is not judged in the old context)
    """

    window_s: float = 1.0
    switch_share: float = 0.6
    forget_s: float = 5.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.window_s) and self.window_s > 0):
            raise ValueError(f"ContextSettings.window_s: expected a finite number > 0, got {self.window_s}")
        if not 0.5 < self.switch_share <= 1.0:
            raise ValueError(f"ContextSettings.switch_share: expected 0.5 < share <= 1, got {self.switch_share}")
        if not (math.isfinite(self.forget_s) and self.forget_s >= self.window_s):
            raise ValueError(f"ContextSettings.forget_s: expected a finite number >= window_s, got {self.forget_s}")


class StableValue(Generic[T]):
    """One per-frame reading made stable: majority of the last `window_s` of known readings, with
    hysteresis (`switch_share`). `step(reading, t_s)` returns (stable value, changed from a known
    value). `unknown` is the reading that casts no vote (and the stable value before any)."""

    def __init__(self, unknown: T, settings: ContextSettings):
        self.unknown, self.settings = unknown, settings
        self.value: T = unknown
        self._last_known: T = unknown
        self._votes: deque[tuple[float, T]] = deque()
        self._counts: dict[T, int] = {}   # votes per value in `_votes`, kept as they come and go
        self._known_at = -math.inf

    def step(self, reading: T, t_s: float) -> tuple[T, T | None]:
        """(stable value, the last known stable value it changed from - None when no change)."""
        s = self.settings
        counts = self._counts
        if reading != self.unknown:
            self._votes.append((t_s, reading))
            counts[reading] = counts.get(reading, 0) + 1
            self._known_at = t_s
        while self._votes and self._votes[0][0] <= t_s - s.window_s:
            old_vote = self._votes.popleft()[1]
            counts[old_vote] -= 1
            if not counts[old_vote]:
                del counts[old_vote]
        if t_s - self._known_at > s.forget_s:
            self.value = self.unknown    # silent: missing is never a change
            return self.value, None
        if not self._votes:
            return self.value, None
        if self.value == self.unknown:
            new = reading if reading != self.unknown else self._votes[-1][1]
        else:
            # a tie never switches (a new value needs switch_share > 0.5), so which of tied values
            # `max` names does not matter
            best = max(counts, key=counts.__getitem__)
            span_s = t_s - self._votes[0][0]   # after a gap the window holds fewer seconds of readings
            switch = counts[best] >= s.switch_share * len(self._votes) and span_s >= s.switch_share * s.window_s - EPS_S
            new = best if best != self.value and switch else self.value
        self.value = new
        if new == self._last_known or self._last_known == self.unknown:
            self._last_known = new
            return new, None
        old, self._last_known = self._last_known, new
        return new, old


class StableContext:
    """The stable view, posture and detected side of one person (one per `Coach`).

    `step(t_s, view, posture, seen)` and `step_side(t_s, side)` -> the events of this frame's
    changes; the stable values are `view`, `posture`, `side` (None = not told)."""

    def __init__(self, settings: ContextSettings | None = None):
        self.settings = settings or ContextSettings()
        self._view: StableValue[View] = StableValue(View.UNKNOWN, self.settings)
        self._posture: StableValue[Posture] = StableValue(Posture.UNKNOWN, self.settings)
        self._side: StableValue[str | None] = StableValue(None, self.settings)
        # Each joint's "face-on" (`coach.measure.measures.limb_plane_deg`) is the limb's own view and
        # flickers as the trunk's does near its bound: made stable the same way (a limb turns no
        # faster than a body turns on the mat), with a dead band - a plane within FACE_ON_MAX_DEG votes
        # face-on, past FACE_OFF_MIN_DEG (or none: a straight limb) not, in between for the stable
        # value as it stands (so a limb held in the band keeps it, however long) - and silently: it
        # moves a reliability, not what the person is told.
        self._limbs = {i: StableValue(None, self.settings) for i in JOINT_SLOTS}
        self._face_on = np.zeros(len(MEASURE_NAMES), dtype=bool)

    @property
    def view(self) -> View:
        return self._view.value

    @property
    def posture(self) -> Posture:
        return self._posture.value

    @property
    def side(self) -> str | None:
        return self._side.value

    def step(self, t_s: float, view: View, posture: Posture, seen: bool = True) -> list[Event]:
        """This frame's per-frame view and posture (`seen` False: nobody seen, no vote) -> the events
        of the stable values' changes."""
        if not seen:
            view, posture = View.UNKNOWN, Posture.UNKNOWN
        return self._changes(t_s, (("view", self._view, view), ("posture", self._posture, posture)))

    def step_measures(self, t_s: float, measures: Measures, seen: bool = True) -> list[Event]:
        """`step` with this frame's view and posture, and the face-on votes of its measured joints."""
        events = self.step(t_s, measures.view, measures.posture, seen)
        for i, limb in self._limbs.items():
            vote = None
            if seen and math.isfinite(measures.values[i]):
                deg = float(measures.limb_plane_deg[i])
                vote = True if deg <= FACE_ON_MAX_DEG else (limb.value if deg <= FACE_OFF_MIN_DEG else False)
            self._face_on[i] = limb.step(vote, t_s)[0] is True
        return events

    def step_side(self, t_s: float, side: str | None) -> list[Event]:
        """This frame's detected side ('left' / 'right', None = can't tell: no vote) -> its events."""
        return self._changes(t_s, (("side", self._side, side),))

    @staticmethod
    def _changes(t_s: float, readings) -> list[Event]:
        events = []
        for name, tracker, reading in readings:
            value, old = tracker.step(reading, t_s)
            if old is not None:
                events.append(Event(EventKind.CONTEXT_CHANGED, t_s, {"context": name, "from": _word(old),
                                                                     "to": _word(value)}))
        return events

    def apply(self, measures: Measures) -> Measures:
        """`measures` in the stable context: its view and posture, and reliability for that view and
        the stable face-on joints (as `step_measures` last read them)."""
        view, posture, face_on = self.view, self.posture, self._face_on & np.isfinite(measures.values)
        if view == measures.view and posture == measures.posture and (face_on == measures.face_on).all():
            return measures
        values, reliability = rejudge(measures, view, face_on)
        return Measures(values, reliability, view, posture, measures.others_unjudged, face_on,
                        measures.limb_plane_deg, measures.marginal)


def _word(value) -> str | None:
    return getattr(value, "value", value)


def rejudge(measures: Measures, view: View,
            face_on: np.ndarray | None = None) -> tuple[np.ndarray, tuple[Reliability, ...]]:
    """(values, reliability) of `measures` read for `view` (and the face-on joints `face_on`; default:
    the frame's own) instead of what they were judged in: `reliability_for` `view` (the table, a
    face-on limb at MEDIUM at least), one step lower where the per-frame judgement had lowered it (a
    marginal landmark, `coach.measure.measures.judge`); NaN where `view` cannot carry the measure. A
    value the per-frame view could not carry stays NaN (it was never read). Marginal: as the record
    says (`Measures.marginal`), or for a record built by hand, where its reliability sits one step
    below the table's."""
    clear = [False] * len(MEASURE_NAMES)
    if measures.marginal is not None:
        marginal = measures.marginal.tolist()
    else:
        was = reliability_for(measures.view, clear, measures.face_on)
        marginal = [r != before and r == ONE_STEP_LOWER[before] and r != Reliability.NONE
                    for r, before in zip(measures.reliability, was)]
    now = reliability_for(view, marginal, measures.face_on if face_on is None else face_on)
    never = [r == Reliability.NONE for r in reliability_for(view, clear)]
    values = np.where(never, np.nan, measures.values)
    return values, tuple(Reliability.NONE if n else r for r, n in zip(now, never))
