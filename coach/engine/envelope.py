"""Is a pose inside an exercise's envelope? Pure functions over `Exercise` + `Measures`.

`in_envelope(exercise, measures, phase, side)` judges every band of the phase envelope and the two
gates (posture, camera view). Each band gives `inside` True / False / None, where None means
"can't judge": the value is NaN (not seen), the side is unknown, or the measure's reliability from
this view is below the band's `min_reliability`. A None is never counted as a pass: the result
lists it in `unjudged` so the coach can say "low reliability" instead of passing silently.

Sides: envelope keys may say `{side}` / `{other}`; signed left-positive measures (twist, side bend,
neck rotation / tilt) are read "toward the working side", i.e. multiplied by -1 for the right side.
`detect_side` implements the exercise's `side_from` rule.

Safety limits are judged by `coach.engine.safety` (the rule table); `twist_limit` here says which twist
limit of the exercise applies to a pose (the stricter one while bent forward).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from coach.engine.exercises import Band, Exercise, reliability_at_least
from coach.measure.conventions import SPEC, Posture, Reliability, View, measure_label
from coach.measure.measures import Measures
from coach.usertext import side_words  # noqa: F401  (the words live with the other user-facing text)

SIDE_DEADBAND = 5.0  # deg: a difference smaller than this does not decide the side

NOT_SEEN, SIDE_UNKNOWN, LOW_RELIABILITY = "not seen", "side unknown", "low reliability"
ESTIMATE_ONLY = "only an estimate"   # EnvelopeResult.reason: every band passed, but none worth trusting
# A hold needs a band it can trust: a medium reading is one whose trend is right (the conventions'
# scale); a low one is an estimate, never a reason to pass someone (README, conventions).
TRUSTED = Reliability.MEDIUM


@dataclass(frozen=True)
class BandCheck:
    """One envelope band against one pose.

    key       the envelope key as written ("hip_{side}_deg")
    measure   the measure it resolved to ("hip_left_deg"); equals `key` when the side is unknown
    value     the value compared, in the measure's unit, already turned toward the working side
    inside    True / False (hysteresis applied when `was_inside`), None = can't judge (see `reason`)
    distance  signed distance to [min, max]: 0 inside, < 0 below min, > 0 above max; NaN if no value
    hint      the band's correction when the value is outside [min, max], else ""
    reason    why inside is None: "not seen", "side unknown" or "low reliability"; else ""
    """

    key: str
    measure: str
    value: float
    reliability: Reliability
    inside: bool | None
    distance: float
    hint: str = ""
    reason: str = ""


@dataclass(frozen=True)
class EnvelopeResult:
    """The whole verdict: `inside` is False if a gate or a judged band fails; None if nothing could
    be judged, the posture or view is unknown, or a sided exercise's side is unknown; True only when
    both gates and every judged band pass and at least one band was judged. `phase_index`: the
    phase judged, so a reader looks its bands up there (the engine's phase may move on meanwhile).
    `reason`: ESTIMATE_ONLY when every judged band passed but none of them (or not the exercise's
    `anchor`) was read at TRUSTED reliability or better: then `inside` is None, not True."""

    inside: bool | None
    posture_ok: bool | None
    view_ok: bool | None
    side: str | None
    checks: tuple[BandCheck, ...]
    phase_index: int
    reason: str = ""

    @property
    def hints(self) -> list[str]:
        return [c.hint for c in self.checks if c.inside is False and c.hint]

    @property
    def unjudged(self) -> tuple[BandCheck, ...]:
        return tuple(c for c in self.checks if c.inside is None)

    @property
    def estimated(self) -> tuple[BandCheck, ...]:
        """Bands judged on a low-reliability reading: the coach calls these numbers estimates."""
        return tuple(c for c in self.checks if c.inside is not None and c.reliability == Reliability.LOW)


def resolve_key(key: str, side: str | None) -> str | None:
    """'hip_{side}_deg' -> 'hip_left_deg' for side 'left'; None when the key needs an unknown side."""
    if "{side}" not in key and "{other}" not in key:
        return key
    if side not in ("left", "right"):
        return None
    other = "right" if side == "left" else "left"
    return key.replace("{side}", side).replace("{other}", other)


def toward_side(measure: str, value: float, side: str | None) -> float:
    """Signed left-positive measures read toward the working side: flipped for the right side."""
    return -value if SPEC[measure].lateral and side == "right" else value


def judge_band(band: Band, value: float, was_inside: bool = False) -> tuple[bool, float, str]:
    """(inside, signed distance to [min, max], hint). Once inside, the band widens by its hysteresis."""
    distance = value - band.min if value < band.min else value - band.max if value > band.max else 0.0
    margin = band.hysteresis if was_inside else 0.0
    inside = band.min - margin <= value <= band.max + margin
    hint = "" if distance == 0 else band.hint_low if distance < 0 else band.hint_high
    return inside, float(distance), hint


def check_band(key: str, band: Band, measures: Measures, side: str | None, was_inside: bool = False,
               sided: bool = False) -> BandCheck:
    """One band. In a sided exercise (`sided`) with no side known, {side} keys and signed lateral
    measures cannot be judged: which way is "toward the working side" is unknown."""
    name = resolve_key(key, side)
    if name is None or (sided and side is None and SPEC[name].lateral):
        return BandCheck(key, name or key, math.nan, Reliability.NONE, None, math.nan, reason=SIDE_UNKNOWN)
    value = toward_side(name, measures[name], side)
    reliability = measures.reliability_of(name)
    if not math.isfinite(value):
        return BandCheck(key, name, math.nan, Reliability.NONE, None, math.nan, reason=NOT_SEEN)
    inside, distance, hint = judge_band(band, value, was_inside)
    if not reliability_at_least(reliability, band.min_reliability):
        return BandCheck(key, name, value, reliability, None, distance, hint, reason=LOW_RELIABILITY)
    return BandCheck(key, name, value, reliability, inside, distance, hint)


# The same joint on the other side: hip_left_deg <-> hip_right_deg.
_TWIN = {name: other for name, spec in SPEC.items() if spec.paired
         for other, o in SPEC.items() if o.base == spec.base and o.paired and o.paired != spec.paired}


def unseen_measures(checks: Iterable[BandCheck]) -> tuple[str, ...]:
    """The one missing-measure rule (the framing step and the landmarks_missing alert): the measures
    of `checks` that can't be seen - unless the same joint on the other side is seen among them (from
    the side the far hip is hidden and the near one does the job, even read at low reliability)."""
    checks = tuple(checks)
    seen = {c.measure for c in checks if c.reason != NOT_SEEN}
    return tuple(dict.fromkeys(c.measure for c in checks
                               if c.reason == NOT_SEEN and _TWIN.get(c.measure) not in seen))


def _gate(value, allowed, unknown) -> bool | None:
    return None if value == unknown else value in allowed


def _phase(exercise: Exercise, phase: int | str):
    if isinstance(phase, int):
        return exercise.phases[phase]
    for p in exercise.phases:
        if p.name == phase:
            return p
    raise KeyError(f"exercise {exercise.id!r} has no phase {phase!r}; phases: "
                   f"{', '.join(p.name for p in exercise.phases)}")


def trusted(check: BandCheck) -> bool:
    """A band judged on a reading of TRUSTED reliability or better (not an estimate)."""
    return check.inside is not None and reliability_at_least(check.reliability, TRUSTED)


def carried(exercise: Exercise, checks: tuple[BandCheck, ...]) -> bool:
    """Whether the judged bands can carry a hold: the anchor (when the exercise names one) judged at
    TRUSTED or better, else at least one band so judged. A phase with no bands (a guided hold) is
    carried by its posture and view gates."""
    if not checks:
        return True
    if exercise.anchor is not None:
        return any(trusted(c) for c in checks if c.key == exercise.anchor)
    return any(trusted(c) for c in checks)


def stand_ins(envelope: dict[str, Band], checks: tuple[BandCheck, ...]) -> tuple[BandCheck, ...]:
    """`checks` without the stand-in bands (`Band.stands_in_for`) whose band stood in for was judged:
    a stand-in counts only while the measure it replaces can't be."""
    judged = {c.key for c in checks if c.inside is not None}
    return tuple(c for c in checks if envelope[c.key].stands_in_for not in judged)


def in_envelope(exercise: Exercise, measures: Measures, phase: int | str = 0, side: str | None = None,
                was_inside: bool = False) -> EnvelopeResult:
    """Judge one pose against a phase (index or name) for a side ('left' / 'right' / None).

    `was_inside`: the pose was inside on the previous frame, so bands keep their hysteresis margin.
    Every band may hold a pose back (False), but only a trusted band carries it in (`carried`):
    estimates alone give None with reason ESTIMATE_ONLY.
    """
    sided = exercise.sides == "left_right"
    side = side if sided else None
    judged = _phase(exercise, phase)
    checks = stand_ins(judged.envelope, tuple(check_band(k, b, measures, side, was_inside, sided)
                                              for k, b in judged.envelope.items()))
    posture_ok = _gate(measures.posture, exercise.posture, Posture.UNKNOWN)
    view_ok = _gate(measures.view, exercise.view, View.UNKNOWN)
    verdicts = [posture_ok, view_ok, *(c.inside for c in checks)]
    if False in verdicts:
        inside = False
    elif None in (posture_ok, view_ok) or (sided and side is None) or (checks and not any(c.inside for c in checks)):
        inside = None
    elif not carried(exercise, checks):
        return EnvelopeResult(None, posture_ok, view_ok, side, checks, exercise.phases.index(judged), ESTIMATE_ONLY)
    else:
        inside = True
    return EnvelopeResult(inside, posture_ok, view_ok, side, checks, exercise.phases.index(judged))


_VIEW_WORDS = {View.SIDE: "from the side", View.OBLIQUE: "half from the side", View.FRONT: "from the front",
               View.BACK: "from behind"}


def estimate_only_words(exercise: Exercise, env: EnvelopeResult) -> str:
    """What the person is told when only estimates passed (`ESTIMATE_ONLY`): which reading is only an
    estimate, and from where the camera could judge the stretch - the exercise's views from which its
    anchor (or, without one, any of its bands) reads at TRUSTED or better."""
    estimates = [measure_label(c.measure) for c in env.checks if c.inside is not None and not trusted(c)]
    bands = exercise.phases[env.phase_index].envelope
    keys = [exercise.anchor] if exercise.anchor in bands else list(bands)
    names = [k.replace("{side}", "left").replace("{other}", "right") for k in keys]
    views = [v for v in exercise.view if v in _VIEW_WORDS
             and any(reliability_at_least(SPEC[n].reliability[v], TRUSTED) for n in names)]
    what = ", ".join(dict.fromkeys(estimates)).lower() or "stretch"   # "the stretch", not "the the stretch"
    where = " or ".join(_VIEW_WORDS[v] for v in views)
    fix = f" - film {where} so I can judge it" if where else ""
    return f"Can't judge: only an estimate of the {what}{fix}"


def detect_side(exercise: Exercise, measures: Measures) -> str | None:
    """The working side from the exercise's `side_from` rule, or None when it cannot be told.

    sign:<measure>      positive (toward the person's left) = 'left', negative = 'right'
    opposite:<measure>  negative = 'left': the side stretched is the one bent away from
    lower:<base>        the side whose <base>_<side>_deg is smaller (e.g. the hugged knee's hip)
    higher:<base>       the side whose <base>_<side>_deg is larger
    A NaN, or a value / difference within SIDE_DEADBAND, gives None. Reliability is not checked:
    the engine decides how long a side must persist.
    """
    if exercise.sides == "none" or exercise.side_from is None:
        return None
    kind, _, arg = exercise.side_from.partition(":")
    if kind in ("sign", "opposite"):
        diff = measures[arg] if kind == "sign" else -measures[arg]
    else:
        diff = measures[f"{arg}_right_deg"] - measures[f"{arg}_left_deg"]  # > 0: left is lower
        diff = diff if kind == "lower" else -diff
    if not math.isfinite(diff) or abs(diff) < SIDE_DEADBAND:
        return None
    return "left" if diff > 0 else "right"


def twist_limit(exercise: Exercise, measures: Measures) -> float:
    """The stricter twist limit applies while an upright posture is bent forward past flexed_trunk_deg
    (lying down reads 90 deg of trunk inclination and is not flexion)."""
    s = exercise.safety
    upright = measures.posture in (Posture.STANDING, Posture.SEATED, Posture.KNEELING)
    flexed = upright and measures["trunk_inclination_deg"] >= s.flexed_trunk_deg
    return s.max_twist_flexed_deg if flexed else s.max_twist_deg
