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

`rejudge` re-reads each measure's reliability for the stable view (the conventions table), so the
reliability of a view-dependent measure does not flicker with the per-frame view either.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from coach.engine.verdict import Event, EventKind
from coach.measure.conventions import MEASURE_NAMES, SPEC, Posture, Reliability, View
from coach.measure.measures import Measures

T = TypeVar("T")
EPS_S = 1e-9   # time comparisons tolerate float round-off

_LOWER = {Reliability.HIGH: Reliability.MEDIUM, Reliability.MEDIUM: Reliability.LOW,
          Reliability.LOW: Reliability.LOW, Reliability.NONE: Reliability.NONE}
_TABLE: dict[View, tuple[Reliability, ...]] = {v: tuple(SPEC[n].reliability[v] for n in MEASURE_NAMES) for v in View}


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
        self._known_at = -math.inf

    def step(self, reading: T, t_s: float) -> tuple[T, T | None]:
        """(stable value, the last known stable value it changed from - None when no change)."""
        s = self.settings
        if reading != self.unknown:
            self._votes.append((t_s, reading))
            self._known_at = t_s
        while self._votes and self._votes[0][0] <= t_s - s.window_s:
            self._votes.popleft()
        if t_s - self._known_at > s.forget_s:
            self.value = self.unknown    # silent: missing is never a change
            return self.value, None
        if not self._votes:
            return self.value, None
        if self.value == self.unknown:
            new = reading if reading != self.unknown else self._votes[-1][1]
        else:
            counts: dict[T, int] = {}
            for _, v in self._votes:
                counts[v] = counts.get(v, 0) + 1
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
        """`measures` in the stable context: its view and posture, and reliability for that view."""
        view, posture = self.view, self.posture
        if view == measures.view and posture == measures.posture:
            return measures
        values, reliability = rejudge(measures, view)
        return Measures(values, reliability, view, posture, measures.others_unjudged)


def _word(value) -> str | None:
    return getattr(value, "value", value)


def rejudge(measures: Measures, view: View) -> tuple[np.ndarray, tuple[Reliability, ...]]:
    """(values, reliability) of `measures` read for `view` instead of the view they were judged in:
    the conventions table's reliability for `view`, one step lower where the per-frame judgement had
    lowered it (a marginal landmark, `coach.measure.measures.judge`); NaN where `view` cannot carry
    the measure. A value the per-frame view could not carry stays NaN (it was never read)."""
    was = _TABLE[measures.view]
    now = _TABLE[view]
    values = measures.values.copy()
    rel = []
    for i, (r, before, after) in enumerate(zip(measures.reliability, was, now)):
        if after == Reliability.NONE:
            values[i] = np.nan
            rel.append(Reliability.NONE)
            continue
        marginal = r != before and r == _LOWER[before] and r != Reliability.NONE
        rel.append(_LOWER[after] if marginal else after)
    return values, tuple(rel)
