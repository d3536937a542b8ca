"""Where the person is in an exercise: phase, side, reps per side, rest, done or stopped.

Bookkeeping only, owned by the engine: every method takes the time and returns the events it
caused. Rules:
- A rep is every phase of the exercise held to its `hold_s` once, in any order: the coach expects
  the phases in file order, but when the person settles into another phase of the rep the engine
  follows them (`follow`) - cat-cow is a flow, and people start with either end.
- Sides: the working side is tentative (follows detection) until a hold starts on it (`lock_side`);
  a side with no progress is unlocked again when its hold is released. `reps_per_side` reps per
  side, then the other side; both done = exercise complete.
- Rest `rest_s` after every rep but the last (also when switching sides).
- A rep is a movement into the stretch and out of it: the next rep starts only once the person has
  come out of the position just held (the engine tells `tick` when the envelope read "out", never on
  "can't judge") and the rest is over. Staying in one long hold is one rep, however long it lasts:
  a physio's "3 reps" means three times into the stretch. With `rest_s = 0` the wait is only that.
"""

from __future__ import annotations

import math
from typing import Any

from coach.engine.exercises import Exercise, Phase
from coach.engine.verdict import Event, EventKind, Status


class ExerciseProgress:
    def __init__(self, exercise: Exercise):
        self.exercise = exercise
        self.sided = exercise.sides == "left_right"
        self.status = Status.ACTIVE
        self.phase_index = 0
        self.done_phases: set[int] = set()
        self.side: str | None = None
        self.side_locked = False
        self._announced_side: str | None = None
        self.reps_done: dict[str, int] = {"left": 0, "right": 0} if self.sided else {"both": 0}
        self.sides_done: tuple[str, ...] = ()
        self.rest_until_s = math.nan
        self.advice = ""

    @property
    def phase(self) -> Phase:
        return self.exercise.phases[self.phase_index]

    @property
    def active(self) -> bool:
        return self.status == Status.ACTIVE

    @property
    def finished(self) -> bool:
        return self.status in (Status.COMPLETED, Status.STOPPED)

    def pending_phases(self) -> list[int]:
        """Other phases of this rep not yet held: the ones the person may move into instead."""
        return [i for i in range(len(self.exercise.phases)) if i != self.phase_index and i not in self.done_phases]

    def rest_left_s(self, t_s: float) -> float:
        return max(0.0, self.rest_until_s - t_s) if self.status == Status.RESTING else 0.0

    def _event(self, kind: EventKind, t_s: float, **details: Any) -> Event:
        return Event(kind, t_s, details)

    # --- sides -----------------------------------------------------------------------------------

    def propose_side(self, detected: str | None) -> None:
        """Before a hold starts, the working side follows what the pose shows."""
        if self.sided and not self.side_locked and detected is not None and detected not in self.sides_done:
            self.side = detected

    def lock_side(self, t_s: float) -> list[Event]:
        if not self.sided or self.side_locked or self.side is None:
            return []
        self.side_locked = True
        if self.side == self._announced_side:
            return []
        old, self._announced_side = self._announced_side, self.side
        return [self._event(EventKind.SIDE_CHANGED, t_s, **{"from": old, "to": self.side})]

    def hold_released(self) -> None:
        """A hold ended early: a side with no progress yet may be changed again."""
        if self.sided and not self.done_phases and self.side and self.reps_done[self.side] == 0:
            self.side_locked = False

    # --- phases, reps, rest ----------------------------------------------------------------------

    def follow(self, index: int, t_s: float) -> list[Event]:
        old, self.phase_index = self.phase_index, index
        return [self._event(EventKind.PHASE_CHANGED, t_s, **{"from": self.exercise.phases[old].name,
                                                           "to": self.phase.name, "reason": "followed"})]

    def phase_completed(self, t_s: float) -> list[Event]:
        """The current phase's hold is done: next pending phase, or the rep is done."""
        self.done_phases.add(self.phase_index)
        n = len(self.exercise.phases)
        later = [(self.phase_index + k) % n for k in range(1, n)]
        pending = [i for i in later if i not in self.done_phases]
        if pending:
            old, self.phase_index = self.phase.name, pending[0]
            return [self._event(EventKind.PHASE_CHANGED, t_s, **{"from": old, "to": self.phase.name,
                                                               "reason": "next"})]
        return self._rep_completed(t_s)

    def _rep_completed(self, t_s: float) -> list[Event]:
        if self.sided and self.side is None:
            raise RuntimeError(f"{self.exercise.id}: a rep of a two-sided exercise ended without a working side")
        key = self.side if self.sided else "both"
        self.reps_done[key] += 1
        self.done_phases = set()
        events = [self._event(EventKind.REP_COMPLETED, t_s, side=self.side, rep=self.reps_done[key])]
        if self.reps_done[key] >= self.exercise.reps_per_side:
            self.sides_done += (key,)
            if not self.sided or len(self.sides_done) == 2:
                self.status = Status.COMPLETED
                return events + [self._event(EventKind.EXERCISE_COMPLETED, t_s, reps=dict(self.reps_done))]
            old, self.side = self.side, "right" if key == "left" else "left"
            self._announced_side, self.side_locked = self.side, True
            events.append(self._event(EventKind.SIDE_CHANGED, t_s, **{"from": old, "to": self.side}))
        return events + self._rest_or_restart(t_s)

    def _rest_or_restart(self, t_s: float) -> list[Event]:
        """Rest (status RESTING) until `rest_s` is over and the person came out of the position; with
        rest_s = 0 only the latter, said by no rest event."""
        self.status, self.rest_until_s = Status.RESTING, t_s + self.exercise.rest_s
        if self.exercise.rest_s > 0:
            return [self._event(EventKind.REST_STARTED, t_s, rest_s=self.exercise.rest_s)]
        return []

    def _restart(self, t_s: float) -> list[Event]:
        self.status, self.rest_until_s = Status.ACTIVE, math.nan
        if self.phase_index == 0:
            return []
        old, self.phase_index = self.phase.name, 0
        return [self._event(EventKind.PHASE_CHANGED, t_s, **{"from": old, "to": self.phase.name, "reason": "next rep"})]

    def tick(self, t_s: float, released: bool = True) -> list[Event]:
        """End the rest when its time is up and (`released`) the person has come out of the position."""
        if self.status != Status.RESTING or t_s < self.rest_until_s or not released:
            return []
        ended = [self._event(EventKind.REST_ENDED, t_s)] if self.exercise.rest_s > 0 else []
        return ended + self._restart(t_s)

    def stop(self, t_s: float, advice: str, reasons: list[str]) -> list[Event]:
        self.status, self.advice = Status.STOPPED, advice
        return [self._event(EventKind.EXERCISE_STOPPED, t_s, advice=advice, rules=tuple(reasons))]
