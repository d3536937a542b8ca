"""Hold timing for one phase: out -> entering -> holding <-> paused -> released | completed.

A hold needs two things at once: the pose inside the phase envelope AND still (the truth's "in the
stretch and still"). `StillTracker` turns an angular speed (the engine gives it the net speed of
`coach.measure.motion.NetSpeed`) into still / moving with hysteresis; `HoldTracker` runs the state machine:

  OUT / RELEASED  not in the envelope (RELEASED: a hold just ended early; it shows until re-entry)
  ENTERING        in the envelope; becomes HOLDING after `settle_s` of in-envelope-and-still
  HOLDING         hold time accrues (only here, only for frames no further apart than max_frame_gap_s)
  PAUSED          was holding, now out / moving / can't judge: the grace window runs. Back within
                  `grace_s` resumes the same hold; longer releases it (hold time back to 0)
  COMPLETED       `target_s` reached; the tracker keeps reporting whether the person is still in
                  the stretch (`holding`) but emits nothing more

"Can't judge" (None: NaN measures, person not seen) never counts as inside or still: a hold pauses
on it, an approach waits on it. A frame gap longer than `max_frame_gap_s` pauses a hold at the last
frame before the gap. Nothing here reads a clock: every step gets `t_s` and `dt_s`.
"""

from __future__ import annotations

import math
from typing import Any

from coach.engine.verdict import EventKind, HoldState

Change = tuple[EventKind, dict[str, Any]]
EPS_S = 1e-9  # time comparisons tolerate float round-off (90 frames of 1/30 s reach 3 s)

# Wrong form: while the coach is correcting the stretch itself, the hold is not a good one and does
# not time. The rule that says so by the exercise file's own numbers is the twist past its safe
# limit (coach.engine.safety). Not among them: the neck and hand rules - a neck stretch, or a hand at
# the head, is held and timed while its alert is raised (the truth files' neck intervals with
# `expect = alert` lie inside counted holds, ../shared/landmarks/FORMAT.md); the framing rules (view,
# distance, person lost), which say what the camera can't see; and, for now, the motion rules
# (ballistic, bouncing): they fire on correct bridges today (issue 13, item 2), and a movement fast
# enough to be one already breaks stillness. Once they are confirmed readings they belong here.
# Also wrong form, in any exercise: a caution on a measure the phase's own envelope targets (the neck
# side bend's tilt past its own limit): the stretch's own movement is overdone, and the overlay's cue
# says "too far" then - a hold timed meanwhile would contradict it. A neck or hand rule on a measure
# the envelope does not target (or on none, like the neck-stretch notice) still leaves the hold timed.
WRONG_FORM_RULES = frozenset({"twist"})


def wrong_form(alert_ids, overdone: bool = False) -> bool:
    """True when one of the active alerts (rule ids) says the stretch itself is done wrong, or
    `overdone`: an active alert is on a measure of the phase's envelope (`overdone_measure`)."""
    return overdone or not WRONG_FORM_RULES.isdisjoint(alert_ids)


def overdone_measure(alerts, envelope_measures) -> bool:
    """True when an active alert judges one of the envelope's measures (past the exercise's own limit)."""
    return any(a.measure is not None and a.measure in envelope_measures for a in alerts)


class StillTracker:
    """Still when speed < enter_deg_s; moving again only when speed > exit_deg_s. An unknown speed
    keeps the last decision for `memory_s`, then gives None (can't judge)."""

    def __init__(self, enter_deg_s: float, exit_deg_s: float, memory_s: float):
        if not 0 < enter_deg_s <= exit_deg_s:
            raise ValueError(f"StillTracker: expected 0 < enter_deg_s <= exit_deg_s, got {enter_deg_s}, {exit_deg_s}")
        self.enter_deg_s, self.exit_deg_s, self.memory_s = enter_deg_s, exit_deg_s, memory_s
        self.still: bool | None = None
        self._known_at = -math.inf

    def step(self, speed_deg_s: float, t_s: float) -> bool | None:
        if not math.isfinite(speed_deg_s):
            if t_s - self._known_at > self.memory_s:
                self.still = None
            return self.still
        self._known_at = t_s
        limit = self.exit_deg_s if self.still else self.enter_deg_s
        self.still = abs(speed_deg_s) < limit
        return self.still


class HoldTracker:
    """The hold state machine of one phase (and side). `step` returns the changes it made."""

    def __init__(self, target_s: float, *, settle_s: float, grace_s: float, max_frame_gap_s: float):
        if not target_s > 0 or settle_s < 0 or grace_s < 0 or not max_frame_gap_s > 0:
            raise ValueError(f"HoldTracker: expected target_s > 0, settle_s >= 0, grace_s >= 0, max_frame_gap_s > 0; "
                             f"got {target_s}, {settle_s}, {grace_s}, {max_frame_gap_s}")
        self.target_s, self.settle_s, self.grace_s, self.max_frame_gap_s = target_s, settle_s, grace_s, max_frame_gap_s
        self.state = HoldState.OUT
        self.hold_s = 0.0
        self.was_inside = False          # for the envelope's hysteresis
        self._ok_since: float | None = None
        self._paused_at = math.nan
        self._ok_now = False

    @property
    def holding(self) -> bool:
        """In the stretch and still now: holding, or still in the stretch after completing it."""
        return self.state == HoldState.HOLDING or (self.state == HoldState.COMPLETED and self._ok_now)

    @property
    def progress(self) -> float:
        return min(1.0, max(0.0, self.hold_s / self.target_s))

    def step(self, t_s: float, dt_s: float, inside: bool | None, still: bool | None) -> list[Change]:
        ok = inside is True and still is True
        self._ok_now = ok
        if inside is not None:
            self.was_inside = inside
        if self.state == HoldState.COMPLETED:
            return []
        gap = dt_s > self.max_frame_gap_s
        if self.state == HoldState.HOLDING:
            return self._holding(t_s, dt_s, ok, gap)
        if self.state == HoldState.PAUSED:
            return self._paused(t_s, ok)
        return self._approach(t_s, inside, ok)

    def start_now(self, t_s: float) -> list[Change]:
        """Begin holding at once (the engine saw this phase settle while it coached another one)."""
        self.state, self.hold_s, self._ok_now = HoldState.HOLDING, 0.0, True
        self.was_inside = True
        return [(EventKind.HOLD_STARTED, {})]

    def release(self, t_s: float) -> list[Change]:
        """End a running or paused hold now (the engine moved on, or the exercise was stopped)."""
        if self.state not in (HoldState.HOLDING, HoldState.PAUSED):
            return []
        until_s = self._paused_at if self.state == HoldState.PAUSED else t_s
        held_s, self.hold_s, self.state = self.hold_s, 0.0, HoldState.RELEASED
        return [(EventKind.HOLD_RELEASED, {"hold_s": round(held_s, 3), "held_until_s": until_s})]

    def _holding(self, t_s: float, dt_s: float, ok: bool, gap: bool) -> list[Change]:
        if ok and not gap:
            self.hold_s += dt_s
            if self.hold_s >= self.target_s - EPS_S:
                self.hold_s, self.state = self.target_s, HoldState.COMPLETED
                return [(EventKind.HOLD_COMPLETED, {"hold_s": round(self.hold_s, 3)})]
            return []
        self.state = HoldState.PAUSED
        self._paused_at = t_s - dt_s if gap else t_s
        changes: list[Change] = [(EventKind.HOLD_PAUSED, {"hold_s": round(self.hold_s, 3)})]
        return changes + self._paused(t_s, ok) if gap else changes

    def _paused(self, t_s: float, ok: bool) -> list[Change]:
        away_s = t_s - self._paused_at
        if away_s > self.grace_s + EPS_S:
            held_s, self.hold_s, self.state = self.hold_s, 0.0, HoldState.RELEASED
            self._ok_since = None
            return [(EventKind.HOLD_RELEASED, {"hold_s": round(held_s, 3), "held_until_s": self._paused_at})]
        if ok:
            self.state = HoldState.HOLDING
            return [(EventKind.HOLD_RESUMED, {"paused_s": round(away_s, 3)})]
        return []

    def _approach(self, t_s: float, inside: bool | None, ok: bool) -> list[Change]:
        if inside is False:
            if self.state == HoldState.ENTERING:
                self.state = HoldState.OUT
            self._ok_since = None
            return []
        if inside is None:
            self._ok_since = None
            return []
        self.state = HoldState.ENTERING
        if not ok:
            self._ok_since = None
            return []
        self._ok_since = t_s if self._ok_since is None else self._ok_since
        if t_s - self._ok_since >= self.settle_s - EPS_S:
            self.state, self.hold_s = HoldState.HOLDING, 0.0
            return [(EventKind.HOLD_STARTED, {})]
        return []
