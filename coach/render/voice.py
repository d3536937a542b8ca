"""What `coach live` says aloud, chosen from the engine's verdicts: a pure function of the stream.

    picker = CuePicker()
    cues = picker.exercise(exercise, t_s)           # "Child's pose. Kneel on a mat..."
    cues = picker.framing("Come closer to the camera", t_s)
    cues = picker.verdict(verdict)                  # milestones, alerts, sides, rest countdown

Each call returns the `SpokenCue`s due at that time, highest priority first; nothing is spoken here
(the speech worker, `coach.render.speech`, only speaks). Time is the frame's own (`t_s`), never a
clock, so the same stream always gives the same cues - testable without audio.

What is said, and its priority (stop > caution > hold milestones > instructions):
    STOP         an alert of severity stop, the exercise stopped (its advice)
    CAUTION      an alert of severity caution (its user text, in plain words: `alert_words`)
    MILESTONE    "Breathe out into the stretch" on entering it; a hold started / halfway / five
                 seconds left / done; a rest and its last three seconds; the exercise complete
    INSTRUCTION  the exercise and its first instruction; a phase's cue; switch sides; the framing advice

A cue has a key (the rule, the milestone, the message): the same key is not said again within its
cooldown, so an alert that flickers or a framing message that stays is not repeated every frame.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import IntEnum

from coach.engine.verdict import EventKind, FrameVerdict, HoldState, Severity, Status
from coach.usertext import printable, switch_side_words  # the overlay's and the report's side words


class Priority(IntEnum):
    INSTRUCTION = 0
    MILESTONE = 1
    CAUTION = 2
    STOP = 3


# Cooldowns of a cue key, in frame seconds. A spoken sentence of 8-12 words takes 3-5 s at the
# default 160 words/min; the person then needs a few seconds to act on it. 10 s lets a cue be said
# and acted on before it may come again; the framing advice, which the person is actively following
# while nothing else is said, repeats after 8 s (one sentence plus about the time to move a step).
COOLDOWN_S = 10.0
FRAMING_COOLDOWN_S = 8.0
# A short cue ("Hold, thirty seconds", "Halfway") takes about 1.5 s to say. Halfway is said only when
# it falls at least 3 s after the hold started (two short cues with a breath between), and "five
# seconds left" only when it falls 3 s or more after halfway, so milestones never talk over each other.
MILESTONE_GAP_S = 3.0
LAST_SECONDS_S = 5.0        # "five seconds left"
COUNTDOWN_S = (3, 2, 1)     # the last seconds of a rest, said one by one (each word ~0.4 s)
BREATHE = "Breathe out into the stretch."


@dataclass(frozen=True)
class SpokenCue:
    """One thing to say at `t_s`; `key` names it for the cooldown."""

    key: str
    text: str
    priority: Priority
    t_s: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "priority", Priority(self.priority))
        if not self.key or not self.text.strip():
            raise ValueError(f"SpokenCue: empty key or text (key={self.key!r}, text={self.text!r})")
        if not math.isfinite(self.t_s):
            raise ValueError(f"SpokenCue({self.key}).t_s: expected a finite time in seconds, got {self.t_s}")


_PARENS = re.compile(r"\s*\([^)]*\)")


def spoken(text: str) -> str:
    """A user text (an instruction, a cue, advice) as spoken words: printable, asides in brackets
    dropped, degrees said, ending as a sentence."""
    text = _PARENS.sub("", printable(text)).replace("°", " degrees").strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def alert_words(message: str) -> str:
    """An alert's user text in plain words: what to do, without its numbers. The text is "what to
    do: why", and the why is said only when it has no number ("Rotate less: your twist (52°) is
    past the safe 45°" says "Rotate less."; "Slow down: ease into the stretch smoothly (80°/s)"
    says "Slow down. Ease into the stretch smoothly.")."""
    text = printable(message).strip()
    head, sep, tail = text.partition(": ")
    tail = _PARENS.sub("", tail).strip()
    return spoken(f"{head}. {tail[:1].upper()}{tail[1:]}" if sep and tail and not re.search(r"\d", tail) else head)


def seconds(value_s: float) -> str:
    n = round(value_s)
    return "one second" if n == 1 else f"{n} seconds"


@dataclass
class CuePicker:
    """The cues of one session's verdict stream. State: what was said when (the cooldowns) and the
    previous verdict (milestones are crossings); no clock."""

    exercise_obj: object | None = None
    _said: dict[str, float] = field(default_factory=dict)
    _last: FrameVerdict | None = None
    _rest_s: float = 0.0
    _toned: dict[str, float] = field(default_factory=dict)   # the tones' own cooldowns, by the same keys

    # --- the session's own moments --------------------------------------------------------------

    def exercise(self, exercise, t_s: float) -> list[SpokenCue]:
        """A new exercise (its framing step begins): its name and first instruction."""
        self.exercise_obj, self._last = exercise, None
        text = f"{spoken(exercise.name)} {spoken(exercise.instructions[0])}"
        return self._due([SpokenCue(f"exercise:{exercise.id}", text, Priority.INSTRUCTION, t_s)])

    def framing(self, message: str, t_s: float) -> list[SpokenCue]:
        """The framing step's advice (empty: nothing to say)."""
        if not message.strip():
            return []
        return self._due([SpokenCue(f"framing:{message}", spoken(message), Priority.INSTRUCTION, t_s)],
                         FRAMING_COOLDOWN_S)

    # --- the engine's verdicts ------------------------------------------------------------------

    def verdict(self, v: FrameVerdict) -> list[SpokenCue]:
        last, self._last = self._last, v
        cues = [cue for event in v.events for cue in self._of_event(event, v)]
        cues += self._milestones(last, v)
        return self._due(cues)

    def _of_event(self, event, v: FrameVerdict) -> list[SpokenCue]:
        kind, d, t = event.kind, event.details, event.t_s
        ex = self.exercise_obj
        if kind == EventKind.ALERT_RAISED:
            stop = d.get("severity") == Severity.STOP.value
            priority = Priority.STOP if stop else Priority.CAUTION
            return [SpokenCue(f"alert:{d.get('rule')}", alert_words(str(d.get("message") or "Careful")), priority, t)]
        if kind == EventKind.EXERCISE_STOPPED:
            return [SpokenCue("stopped", spoken(str(d.get("advice") or "Stop the exercise.")), Priority.STOP, t)]
        if kind == EventKind.HOLD_STARTED:
            long_hold = v.hold_target_s >= 2 * MILESTONE_GAP_S   # a short one is over before its length is said
            text = f"Hold. {seconds(v.hold_target_s)}." if long_hold else "Hold."
            return [SpokenCue(f"hold:{_hold_key(v)}:started", text, Priority.MILESTONE, t)]
        if kind == EventKind.HOLD_COMPLETED:
            last_phase = ex is not None and v.phase_index == len(ex.phases) - 1   # the rep is over: come out of it
            release = f" {spoken(ex.cues.release)}" if last_phase else ""
            return [SpokenCue(f"hold:{_hold_key(v)}:done", f"Done.{release}", Priority.MILESTONE, t)]
        if kind == EventKind.REST_STARTED:
            self._rest_s = float(d.get("rest_s", v.rest_left_s))
            return [SpokenCue(f"rest:{t:.3f}", f"Rest for {seconds(float(d.get('rest_s', v.rest_left_s)))}.",
                              Priority.MILESTONE, t)]
        if kind == EventKind.SIDE_CHANGED and d.get("from") is not None and d.get("to"):
            text = switch_side_words(ex, d["to"]) if ex is not None else f"Switch sides: now your {d['to']} side."
            return [SpokenCue(f"side:{d['to']}", text, Priority.INSTRUCTION, t)]
        if kind == EventKind.PHASE_CHANGED and ex is not None:
            phase = next((p for p in ex.phases if p.name == d.get("to")), None)
            if phase is not None and phase.cue:
                return [SpokenCue(f"phase:{phase.name}", spoken(phase.cue), Priority.INSTRUCTION, t)]
        if kind == EventKind.EXERCISE_COMPLETED:
            name = spoken(ex.name).rstrip(".") if ex is not None else "The exercise"
            return [SpokenCue("completed", f"Well done: {name} is complete.", Priority.MILESTONE, t)]
        return []

    def tones(self, v: FrameVerdict) -> list[str]:
        """The tones (`coach.render.sound.CUES`) due with this verdict's events, when the tones stand
        in for the voice: a stop, a caution, a hold complete. Each has the per-cue cooldown of the
        spoken cue it stands for (the same key, `COOLDOWN_S`): an alert that flickers on and off
        beeps once per cooldown, as it is said once. Independent of `verdict` (call both or either)."""
        out = []
        for event in v.events:
            kind, d = event.kind, event.details
            if kind == EventKind.ALERT_RAISED:
                name, key = ("stop" if d.get("severity") == Severity.STOP.value else "caution"), f"alert:{d.get('rule')}"
            elif kind == EventKind.HOLD_COMPLETED:
                name, key = "hold_complete", f"hold:{_hold_key(v)}:done"
            elif kind == EventKind.EXERCISE_STOPPED:
                name, key = "stop", "stopped"
            else:
                continue
            said = self._toned.get(key)
            if said is not None and event.t_s - said < COOLDOWN_S:
                continue
            self._toned[key] = event.t_s
            out.append(name)
        return out

    def _milestones(self, last: FrameVerdict | None, v: FrameVerdict) -> list[SpokenCue]:
        """Crossings between the previous verdict and this one: entering the stretch, halfway, five
        seconds left, the rest countdown."""
        out = []
        settling = (HoldState.ENTERING, HoldState.HOLDING, HoldState.PAUSED)
        if v.state == HoldState.ENTERING and (last is None or last.state not in settling):
            out.append(SpokenCue("breathe", BREATHE, Priority.MILESTONE, v.t_s))
        if last is None:
            return out
        same_hold = last.phase_index == v.phase_index and last.side == v.side and last.hold_s <= v.hold_s
        if v.state == HoldState.HOLDING and same_hold:
            target = v.hold_target_s
            half = target / 2.0
            if half >= MILESTONE_GAP_S and last.hold_s < half <= v.hold_s:
                out.append(SpokenCue(f"hold:{_hold_key(v)}:half", "Halfway.", Priority.MILESTONE, v.t_s))
            five = target - LAST_SECONDS_S
            if five - half >= MILESTONE_GAP_S and last.hold_s < five <= v.hold_s:
                out.append(SpokenCue(f"hold:{_hold_key(v)}:five", "Five seconds left.", Priority.MILESTONE, v.t_s))
        if v.status == Status.RESTING and last.status == Status.RESTING:
            for n in (n for n in COUNTDOWN_S if self._rest_s - n >= MILESTONE_GAP_S):   # after "Rest for ..."
                if last.rest_left_s > n >= v.rest_left_s > n - 1:
                    out.append(SpokenCue(f"rest_count:{n}:{v.t_s:.3f}", f"{n}.", Priority.MILESTONE, v.t_s))
            if last.rest_left_s > 0 >= v.rest_left_s:   # the rest is over and the next rep waits for the release
                out.append(SpokenCue(f"rest_over:{v.t_s:.3f}", f"{spoken(self.exercise_obj.cues.release)} "
                                     "Then the next rep.", Priority.MILESTONE, v.t_s))
        return out

    def _due(self, cues: list[SpokenCue], cooldown_s: float | None = None) -> list[SpokenCue]:
        """The cues not said within their cooldown, highest priority first (stable otherwise)."""
        out = []
        for cue in sorted(cues, key=lambda c: -c.priority):
            wait_s = COOLDOWN_S if cooldown_s is None else cooldown_s
            said = self._said.get(cue.key)
            if said is not None and cue.t_s - said < wait_s:
                continue
            self._said[cue.key] = cue.t_s
            out.append(cue)
        return out


def _hold_key(v: FrameVerdict) -> str:
    """One hold: the phase, the side and the rep (reps done so far on the side)."""
    side = v.side or "both"
    return f"{v.phase}:{side}:{v.reps_done.get(side, 0)}"


__all__ = ["BREATHE", "CuePicker", "Priority", "SpokenCue", "alert_words", "spoken"]
