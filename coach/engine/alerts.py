"""Alert timing: a debouncer per rule (dwell, hysteresis, cooldown) and the stop rule.

`RuleTimer` works like norfair's hit counters, with time passed in:
- a rule fires only after its reading has been VIOLATED for `dwell_s` of measured time: the dwell
  adds the time up to each frame whose VIOLATED reading was measured then; a frame back inside the
  limit restarts the count; an UNKNOWN frame, or a value the smoother only held over a gap (`held`),
  neither restarts nor advances it (it is no evidence either way); for a reading that is a
  low-reliability estimate the dwell is `estimate_dwell_factor` times longer;
- an active alert clears only on a CLEAR reading (inside the limit by the rule's hysteresis); a
  BETWEEN reading keeps it; an UNKNOWN reading for longer than `stale_s` clears it (nobody can say
  it is still true);
- after clearing it cannot fire again within `cooldown_s`; a violation that lasts through the
  cooldown fires as soon as the cooldown ends.
`AlertBoard` runs one timer per rule, turns changes into events, and counts stop-level alerts:
`stop_count` of them raised within `stop_window_s` end the exercise (`StopRule`).
These are the small stateful helpers the engine owns; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from coach.engine.safety import UNKNOWN, Level, Reading, Rule
from coach.engine.verdict import Alert, Event, EventKind, Severity

EPS_S = 1e-9  # time comparisons tolerate float round-off


class RuleTimer:
    """Debounces one rule's readings into raise / clear changes."""

    def __init__(self, dwell_s: float, cooldown_s: float, stale_s: float):
        if dwell_s < 0 or cooldown_s < 0 or stale_s < 0:
            raise ValueError(f"RuleTimer: times must be >= 0, got dwell_s={dwell_s}, cooldown_s={cooldown_s}, "
                             f"stale_s={stale_s}")
        self.dwell_s, self.cooldown_s, self.stale_s = dwell_s, cooldown_s, stale_s
        self.active = False
        self.since_s = math.nan            # when the active alert was raised
        self._violated_s: float | None = None  # measured violation time so far (None: not violating)
        self._last_t = math.nan
        self._unknown_since: float | None = None
        self._cleared_at = -math.inf

    def step(self, level: Level, t_s: float, dwell_s: float | None = None, held: bool = False) -> str | None:
        """Feed one reading; returns "raised", "cleared" or None. `dwell_s` overrides the dwell for
        this frame (a longer one for estimates); `held`: the value was held over a gap, not measured."""
        last_t, self._last_t = self._last_t, t_s
        if level == Level.UNKNOWN:
            return self._unknown(t_s)
        self._unknown_since = None
        if self.active:
            if level == Level.CLEAR:
                self.active, self._cleared_at, self._violated_s = False, t_s, None
                return "cleared"
            return None
        if level != Level.VIOLATED:
            self._violated_s = None
            return None
        if self._violated_s is None:
            self._violated_s = 0.0
        elif not held:
            self._violated_s += t_s - last_t
        dwell_s = self.dwell_s if dwell_s is None else dwell_s
        if (not held and self._violated_s >= dwell_s - EPS_S
                and t_s - self._cleared_at >= self.cooldown_s - EPS_S):
            self.active, self.since_s = True, t_s
            return "raised"
        return None

    def _unknown(self, t_s: float) -> str | None:
        if self._unknown_since is None:
            self._unknown_since = t_s
        if t_s - self._unknown_since < self.stale_s - EPS_S:
            return None
        self._violated_s = None
        if self.active:
            self.active, self._cleared_at = False, t_s
            return "cleared"
        return None


class StopRule:
    """`count` stop-level alerts raised within `window_s` end the exercise."""

    def __init__(self, count: int, window_s: float):
        if count < 1 or window_s <= 0:
            raise ValueError(f"StopRule: expected count >= 1 and window_s > 0, got {count}, {window_s}")
        self.count, self.window_s = count, window_s
        self._raised: deque[float] = deque()

    def add(self, t_s: float) -> bool:
        """Record one stop-level alert; True when the exercise must stop."""
        self._raised.append(t_s)
        while self._raised and t_s - self._raised[0] > self.window_s:
            self._raised.popleft()
        return len(self._raised) >= self.count


@dataclass(frozen=True)
class BoardStep:
    events: tuple[Event, ...]
    alerts: tuple[Alert, ...]
    stop: bool


class AlertBoard:
    """One `RuleTimer` per rule; `step(readings, t_s)` -> events, active alerts, stop flag."""

    def __init__(self, rules: tuple[Rule, ...], stale_s: float, stop: StopRule, estimate_dwell_factor: float = 1.0):
        self.rules, self.estimate_dwell_factor = rules, estimate_dwell_factor
        self.timers = {r.id: RuleTimer(r.dwell_s, r.cooldown_s, stale_s) for r in rules}
        self.stop_rule = stop
        self._last: dict[str, Reading] = {}

    def step(self, readings: dict[str, Reading], t_s: float) -> BoardStep:
        events, stop = [], False
        for rule in self.rules:
            reading = readings.get(rule.id, UNKNOWN)
            dwell_s = rule.dwell_s * self.estimate_dwell_factor if reading.estimate else None
            change = self.timers[rule.id].step(reading.level, t_s, dwell_s, reading.held)
            # An alert quotes the last reading that broke the limit: a value back inside the
            # hysteresis band ("43 deg, past 45 deg") would contradict its own message.
            if reading.level == Level.VIOLATED or rule.id not in self._last:
                self._last[rule.id] = reading
            if change is None:
                continue
            events.append(self._event(rule, change, self._last[rule.id], t_s))
            if change == "raised" and rule.severity == Severity.STOP:
                stop = self.stop_rule.add(t_s) or stop
        return BoardStep(tuple(events), self.active_alerts(), stop)

    def _event(self, rule: Rule, change: str, reading: Reading, t_s: float) -> Event:
        kind = EventKind.ALERT_RAISED if change == "raised" else EventKind.ALERT_CLEARED
        return Event(kind, t_s, {"rule": rule.id, "severity": rule.severity.value, "message": rule.render(reading),
                                 "value": reading.value, "limit": reading.limit})

    def active_alerts(self) -> tuple[Alert, ...]:
        out = []
        for rule in self.rules:
            timer = self.timers[rule.id]
            if timer.active:
                reading = self._last[rule.id]
                out.append(Alert(rule.id, rule.severity, rule.render(reading), reading.value, reading.limit,
                                 timer.since_s, rule.measure))
        return tuple(out)
