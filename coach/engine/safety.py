"""Safety rules: the rule table and pure rule evaluation.

Each rule reads one number from a `RuleInput` (built by the engine from the smoothed measures,
the pose framing and the motion trackers) and compares it with a limit. The limit comes from the
exercise's `Safety` block (`limit` names the field) or is a fixed number in the table (framing).
A reading is one of:
  VIOLATED  past the limit
  BETWEEN   back inside the limit, but not by the rule's hysteresis yet (an active alert stays)
  CLEAR     inside the limit by at least the hysteresis
  UNKNOWN   can't judge (NaN, person not seen): neither counts for nor against the rule
Timing (dwell before firing, hysteresis to clear, cooldown before it may fire again) is applied
by `coach.engine.alerts.RuleTimer`; a reading of a low-reliability estimate (the twist, from any one
camera) must persist `EngineSettings.estimate_dwell_factor` times longer before it fires; the
neck angle rules do not judge estimates at all (`Rule.trust_estimates`).
The table below is the one place the rules' defaults live; `coach.engine.core.EngineSettings.rules`
carries it into the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

from coach.engine.exercises import NECK_NEUTRAL_LATERAL_DEG, Safety
from coach.engine.verdict import Severity
from coach.measure.conventions import View, measure_label


class Level(str, Enum):
    VIOLATED = "violated"
    BETWEEN = "between"
    CLEAR = "clear"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RuleInput:
    """Everything the rules read for one frame (smoothed values; NaN = can't judge)."""

    pose_seen: bool
    values: dict[str, float] = field(default_factory=dict)   # smoothed measures by name
    near_end_speed_deg_s: float = math.nan   # fastest |speed| of a measure near its end range
    near_end_reversals: int = 0              # velocity reversals near end range within the window
    missing: tuple[str, ...] = ()            # measures the phase needs that can't be measured
    view: View = View.UNKNOWN
    wanted_views: tuple[View, ...] = ()
    body_size: float = math.nan              # larger side of the seen landmarks' box, frame fraction
    out_of_frame: float = math.nan           # fraction of landmarks predicted outside the frame
    twist_limit_deg: float = math.nan        # this frame's twist limit (stricter while flexed)
    estimates: frozenset[str] = frozenset()  # measures read at low reliability this frame
    not_high: frozenset[str] = frozenset()   # measures read below high reliability this frame
    held: frozenset[str] = frozenset()       # measures the smoother held over a gap (not measured now)
    others_unjudged: bool = False            # someone else in view whose hands can't be judged now
    motion_judged: bool = True               # some angle is read well enough (medium+) for the motion rules


class Reading(NamedTuple):
    """One rule's reading for one frame (a named tuple: built 15 times a frame)."""

    level: Level
    value: float = math.nan
    limit: float = math.nan
    detail: str = ""        # fills {detail} in the message
    estimate: bool = False  # the value is a low-reliability estimate: the alert needs a longer dwell
    held: bool = False      # the value was held over a gap, not measured: it does not advance a dwell


UNKNOWN = Reading(Level.UNKNOWN)


def level_above(value: float, limit: float, hysteresis: float) -> Level:
    """VIOLATED when value > limit; CLEAR when value <= limit - hysteresis; NaN is UNKNOWN."""
    if not (math.isfinite(value) and math.isfinite(limit)):
        return Level.UNKNOWN
    if value > limit:
        return Level.VIOLATED
    return Level.CLEAR if value <= limit - hysteresis else Level.BETWEEN


def level_below(value: float, limit: float, hysteresis: float) -> Level:
    """VIOLATED when value < limit; CLEAR when value >= limit + hysteresis; NaN is UNKNOWN."""
    return level_above(-value, -limit, hysteresis)


@dataclass(frozen=True)
class Rule:
    """One row of the rule table. `limit` is a `Safety` field name or a fixed number."""

    id: str
    severity: Severity
    message: str          # template: {value}, {limit} (rounded) and {detail}
    limit: str | float
    dwell_s: float
    hysteresis: float     # in the rule's value units
    cooldown_s: float
    read: Callable[[Rule, RuleInput, Safety], Reading]
    measure: str | None = None
    trust_estimates: bool = True  # False: a low-reliability reading of `measure` is UNKNOWN, never an alert
    needs_high: bool = False      # True: only a high-reliability reading of `measure` is judged

    def limit_value(self, safety: Safety) -> float:
        return float(getattr(safety, self.limit)) if isinstance(self.limit, str) else float(self.limit)

    def render(self, reading: Reading) -> str:
        value = f"{reading.value:.0f}" if math.isfinite(reading.value) else "?"
        limit = f"{reading.limit:.0f}" if math.isfinite(reading.limit) else "?"
        return self.message.format(value=value, limit=limit, detail=reading.detail).strip()


# --- readers: pure functions (rule, input, safety) -> Reading ------------------------------------

def _need_pose(read):
    def wrapped(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
        return read(rule, inp, safety) if inp.pose_seen else UNKNOWN
    return wrapped


@_need_pose
def read_twist(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    """|trunk rotation| against the exercise's twist limit; the engine passes the stricter
    max_twist_flexed_deg while the trunk is flexed (`coach.engine.envelope.twist_limit`)."""
    twist = abs(inp.values.get("trunk_rotation_deg", math.nan))
    limit = inp.twist_limit_deg if math.isfinite(inp.twist_limit_deg) else safety.max_twist_deg
    flexed = limit < safety.max_twist_deg
    return Reading(level_above(twist, limit, rule.hysteresis), twist, limit, "while bent forward" if flexed else "")


def _abs_measure(name: str, sign: float = 1.0, absolute: bool = True):
    @_need_pose
    def read(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
        raw = sign * inp.values.get(name, math.nan)
        value = abs(raw) if absolute else raw
        limit = rule.limit_value(safety)
        return Reading(level_above(value, limit, rule.hysteresis), value, limit)
    return read


@_need_pose
def read_hand_on_head(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    if not safety.hands_on_neck_forbidden:
        return Reading(Level.CLEAR)
    near = [v for v in (inp.values.get("hand_head_left_sw", math.nan), inp.values.get("hand_head_right_sw", math.nan))
            if math.isfinite(v)]
    value = min(near) if near else math.nan
    return Reading(level_below(value, safety.hand_head_min_sw, rule.hysteresis), value, safety.hand_head_min_sw)


NECK_LATERAL = "neck_lateral_deg"


@_need_pose
def read_neck_stretch(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    """The side tilt past the neck's neutral tolerance (the rule's limit) but inside the exercise's own
    caution limit: only an exercise whose own limit lies beyond the neutral tolerance (its movement is
    the tilt: the neck side bend) gets this notice; elsewhere the tilt caution itself fires at the
    tolerance and this reads CLEAR. Read as the tilt caution reads it: only at high reliability
    (facing the camera); a tilt the view can't read is UNKNOWN - no notice and no "clear". Past the
    exercise's own limit it reads BETWEEN: the caution ("ease your head back up") speaks there, and
    a notice already raised stays (it is still true)."""
    tilt = abs(inp.values.get(NECK_LATERAL, math.nan))
    if not math.isfinite(tilt) or NECK_LATERAL in inp.not_high:
        return UNKNOWN
    neutral, own = rule.limit_value(safety), safety.neck_lateral_max_deg
    held = NECK_LATERAL in inp.held
    if own <= neutral:
        return Reading(Level.CLEAR, tilt, neutral, held=held)
    if tilt > own:
        return Reading(Level.BETWEEN, tilt, neutral, held=held)
    return Reading(level_above(tilt, neutral, rule.hysteresis), tilt, neutral, held=held)


@_need_pose
def read_partner_hands(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    """Someone else's hands at the head. The seen hands are judged; when someone else is present
    whose hands are stale or unseen (`others_unjudged`), anything short of a violation is UNKNOWN:
    a hand nobody sees is no "clear". Nobody else present: CLEAR."""
    value, limit = inp.values.get("other_hand_head_sw", math.nan), safety.hand_head_min_sw
    level = level_below(value, limit, rule.hysteresis) if math.isfinite(value) else Level.CLEAR
    if inp.others_unjudged and level != Level.VIOLATED:
        return Reading(Level.UNKNOWN, value, limit, "someone else's hands are not seen")
    return Reading(level, value, limit)


@_need_pose
def read_ballistic(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    """The fastest angle near its end range; UNKNOWN when no angle is read well enough to judge
    (missing is no "clear"), CLEAR when the judged ones are all away from their end range."""
    if not inp.motion_judged:
        return UNKNOWN
    speed = inp.near_end_speed_deg_s
    if not math.isfinite(speed):
        return Reading(Level.CLEAR)  # nothing near its end range
    return Reading(level_above(speed, safety.max_speed_deg_s, rule.hysteresis), speed, safety.max_speed_deg_s)


@_need_pose
def read_bouncing(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    if not inp.motion_judged:
        return UNKNOWN   # no angle read well enough: no count of its reversals means anything
    limit = rule.limit_value(safety)
    return Reading(level_above(inp.near_end_reversals, limit - 0.5, rule.hysteresis), inp.near_end_reversals, limit)


@_need_pose
def read_missing(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    """The measures the stretch needs that are unseen, in words ("Head tilt"). Seen from a view the
    exercise is not judged from, can't judge: parts hidden from that angle are the view's doing, and
    `wrong_view` says how to turn ("move so it is in view" sent a person fully in view looking for it)."""
    if inp.missing and inp.view != View.UNKNOWN and inp.wanted_views and inp.view not in inp.wanted_views:
        return Reading(Level.UNKNOWN)
    names = ", ".join(measure_label(m) for m in inp.missing)
    return Reading(Level.VIOLATED if inp.missing else Level.CLEAR, len(inp.missing), 0, names)


# What to do to be seen from a view: the one table, said by the framing step before an exercise
# ("Turn side-on to the camera") and by the wrong_view alert during it ("Please turn side-on ...").
VIEW_ADVICE = {View.SIDE: "Turn side-on to the camera", View.FRONT: "Face the camera",
               View.BACK: "Turn your back to the camera", View.OBLIQUE: "Turn half-way toward the camera"}


def view_advice(view: View) -> str:
    """How to turn so the camera sees `view` (an exercise's first view is the one asked for)."""
    return VIEW_ADVICE.get(view, "Turn to the camera")


@_need_pose
def read_view(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    if inp.view == View.UNKNOWN or not inp.wanted_views:
        return Reading(Level.UNKNOWN)
    wrong = inp.view not in inp.wanted_views
    advice = view_advice(inp.wanted_views[0])
    return Reading(Level.VIOLATED if wrong else Level.CLEAR, float(wrong), 0.5, advice[0].lower() + advice[1:])


@_need_pose
def read_too_far(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    limit = rule.limit_value(safety)
    return Reading(level_below(inp.body_size, limit, rule.hysteresis), inp.body_size, limit)


@_need_pose
def read_too_close(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    limit = rule.limit_value(safety)
    return Reading(level_above(inp.out_of_frame, limit, rule.hysteresis), inp.out_of_frame, limit)


def read_lost(rule: Rule, inp: RuleInput, safety: Safety) -> Reading:
    return Reading(Level.CLEAR if inp.pose_seen else Level.VIOLATED, float(not inp.pose_seen), 0.5)


C, S = Severity.CAUTION, Severity.STOP

# The framing limits: the one set, read by the alerts below during an exercise and by the framing
# step of `coach live` before it (`coach.engine.framing`, which reads these same rules).
# The body spans less than this share of the frame: come closer. At 640x480 a quarter is under 160 px
# for the whole body, a forearm about 25 px, where a landmark's few pixels of jitter are degrees of angle.
MIN_BODY_SIZE = 0.25
# More than this share of the 33 landmarks predicted outside the frame: step back. 0.2 is 6.6 of them:
# both feet (ankle, heel and toe, 3 landmarks each: 6/33 = 0.18) may be cut off by the frame's edge -
# floor stretches filmed side-on often reach it, no back stretch is judged on the feet, and a joint a
# stretch does need is checked by the missing-measure rule - but one more (a knee, a hand: 7/33 =
# 0.21) means the body is no longer in view.
MAX_OUT_OF_FRAME = 0.2
# Two out-and-back pairs at end range (four turning points): one pair confirms the other. A 2 Hz bounce
# near end range gives two to four counted reversals a second, so it is caught within 1-2 s.
BOUNCE_REVERSALS = 4
# ... and the count must stay there this long in measured time: a few frames at any camera rate
# (3 at 12 fps), so a single frame's count never raises a stop.
BOUNCE_DWELL_S = 0.25
FRAMING_RULE_IDS: tuple[str, ...] = ("person_lost", "landmarks_missing", "too_close", "too_far", "wrong_view")

RULES: tuple[Rule, ...] = (
    Rule("twist", C, "Rotate less: your twist ({value}°) is past the safe {limit}° {detail}", "max_twist_deg",
         dwell_s=0.5, hysteresis=5.0, cooldown_s=5.0, read=read_twist, measure="trunk_rotation_deg"),
    Rule("neck_flexion", C, "Ease your chin up: neck bent {value}°, past {limit}°", "neck_flexion_max_deg",
         dwell_s=0.3, hysteresis=5.0, cooldown_s=5.0, read=_abs_measure("neck_flexion_deg", absolute=False),
         measure="neck_flexion_deg", trust_estimates=False),
    Rule("neck_extension", C, "Don't tip your head back: neck extended {value}°, past {limit}°",
         "neck_extension_max_deg", dwell_s=0.3, hysteresis=5.0, cooldown_s=5.0,
         read=_abs_measure("neck_flexion_deg", sign=-1.0, absolute=False), measure="neck_flexion_deg",
         trust_estimates=False),
    Rule("neck_rotation", C, "Turn your head less: {value}°, past {limit}°", "neck_rotation_max_deg",
         dwell_s=0.3, hysteresis=5.0, cooldown_s=5.0, read=_abs_measure("neck_rotation_deg"),
         measure="neck_rotation_deg", trust_estimates=False),
    # The side tilt's tolerance is tight (15 deg, `Safety.neck_lateral_max_deg`), so it is judged only
    # where the tilt is read at high reliability - facing the camera: from half-side the ear line's tilt
    # mixes with the head's turn in depth (medium), and correct bridges filmed obliquely read 16-32 deg.
    Rule("neck_lateral", C, "Ease the side tilt of your head: {value}°, past {limit}°", "neck_lateral_max_deg",
         dwell_s=0.3, hysteresis=5.0, cooldown_s=5.0, read=_abs_measure("neck_lateral_deg"),
         measure="neck_lateral_deg", trust_estimates=False, needs_high=True),
    # The neck-stretch notice: in an exercise whose own tilt limit lies beyond the neutral tolerance
    # (the neck side bend), a tilt past the tolerance is the stretch itself - no "ease the tilt" while
    # it is held (it does not stop the hold: coach.engine.holds), only the reminder that keeps it
    # gentle. Caution is the lowest severity there is: the overlay, voice and report show every
    # non-stop alert alike, and the words - not a colour - carry that it is a reminder. No `measure`:
    # an alert on a measure of the envelope makes the overlay's cue "too far" and stops the hold, and
    # this is neither; the reader itself applies the tilt rule's high-reliability rule. Its dwell,
    # hysteresis and cooldown are the tilt caution's: it clears back at the band's bottom (10 deg).
    Rule("neck_stretch", C, "Neck stretch: keep it gentle - no pulling with your hand", NECK_NEUTRAL_LATERAL_DEG,
         dwell_s=0.3, hysteresis=5.0, cooldown_s=5.0, read=read_neck_stretch),
    Rule("hand_on_head", C, "Take your hand off your head: don't pull on your neck", "hand_head_min_sw",
         dwell_s=0.5, hysteresis=0.1, cooldown_s=5.0, read=read_hand_on_head),
    Rule("partner_hands_on_head", S, "Don't let anyone pull or crack your neck: stop now", "hand_head_min_sw",
         dwell_s=0.3, hysteresis=0.1, cooldown_s=5.0, read=read_partner_hands, measure="other_hand_head_sw"),
    # Ballistic: the speed is the net speed of the measured values (least-squares slope less 1.5 of
    # its standard errors, `coach.measure.motion.NetSpeed`), so jitter - which widens the error - does
    # not read as speed (the smoother's speed read up to 487 deg/s on the still original bridge).
    Rule("ballistic", C, "Slow down: ease into the stretch smoothly ({value}°/s)", "max_speed_deg_s",
         dwell_s=0.1, hysteresis=20.0, cooldown_s=3.0, read=read_ballistic),
    # Bouncing (stop level): BOUNCE_REVERSALS counted reversals near end range within the bounce window,
    # for BOUNCE_DWELL_S: two out-and-back pairs, the second confirming the first, so one noisy
    # excursion (out and back: two reversals) never stops anyone.
    Rule("bouncing", S, "Don't bounce at the end of the stretch: ease in and hold still", BOUNCE_REVERSALS,
         dwell_s=BOUNCE_DWELL_S, hysteresis=2.0, cooldown_s=5.0, read=read_bouncing),
    Rule("landmarks_missing", C, "I can't see what this stretch needs ({detail}): move so it is in view", 0,
         dwell_s=1.0, hysteresis=0.0, cooldown_s=3.0, read=read_missing),
    Rule("wrong_view", C, "Please {detail}", 0.5, dwell_s=1.5, hysteresis=0.0, cooldown_s=5.0, read=read_view),
    Rule("too_far", C, "Come closer to the camera", MIN_BODY_SIZE, dwell_s=1.5, hysteresis=0.03, cooldown_s=5.0,
         read=read_too_far),
    Rule("too_close", C, "Step back so your whole body is in view", MAX_OUT_OF_FRAME, dwell_s=1.5,
         hysteresis=0.05, cooldown_s=5.0, read=read_too_close),
    Rule("person_lost", C, "I can't see you: step back into view", 0.5, dwell_s=1.0, hysteresis=0.0,
         cooldown_s=0.0, read=read_lost),
)

NECK_RULE_IDS: tuple[str, ...] = ("neck_flexion", "neck_extension", "neck_rotation", "neck_lateral",
                                  "neck_stretch", "hand_on_head", "partner_hands_on_head")
TWIST_RULE_IDS: tuple[str, ...] = ("twist",)
STOP_ADVICE = "If it doesn't release, let it go — stop and see a professional if pain persists."


def rule_by_id(rule_id: str, rules: tuple[Rule, ...] = RULES) -> Rule:
    for rule in rules:
        if rule.id == rule_id:
            return rule
    raise KeyError(f"unknown rule {rule_id!r}; known: {', '.join(r.id for r in rules)}")


def evaluate(rules: tuple[Rule, ...], inp: RuleInput, safety: Safety) -> dict[str, Reading]:
    """Every rule's reading for one frame (pure). A reading of a measure that is only estimated
    this frame (low reliability) is marked `estimate` (a longer dwell), or is UNKNOWN for a rule
    that does not trust estimates (the neck angles: a neck alert needs a neck angle the view can
    measure, e.g. not the flexion from the front); a reading of a value the smoother only held over
    a gap is marked `held` (it keeps a dwell where it is); an infinite value or limit is not a measurement
    and reads as NaN."""
    out = {}
    for rule in rules:
        reading = rule.read(rule, inp, safety)
        if math.isinf(reading.value) or math.isinf(reading.limit):
            reading = reading._replace(value=_finite(reading.value), limit=_finite(reading.limit))
        if rule.measure in inp.estimates and reading.level != Level.UNKNOWN:
            reading = reading._replace(estimate=True) if rule.trust_estimates else UNKNOWN
        if rule.needs_high and rule.measure in inp.not_high:
            reading = UNKNOWN
        if rule.measure in inp.held and reading.level != Level.UNKNOWN:
            reading = reading._replace(held=True)
        out[rule.id] = reading
    return out


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan
