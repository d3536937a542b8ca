"""Exercise files (`exercises/*.toml`): the stretches as validated data.

Every field is named; unknown keys are rejected; `min < max` is checked; every measure an envelope
names must exist in `coach.measure.conventions` and be measurable. Errors name the file and the key.
Numbers must be finite (no `inf`, `nan`) and possible: a band lies within what its measure can read
(`coach.measure.conventions.value_range`), times and counts within the bounds below, and a safety limit
where its rule can still fire (a limit beyond any possible reading would switch the rule off).
Text holds no control characters (newlines, terminal escape codes: see `coach.usertext`).
The defaults below (pydantic field defaults) are the only defaults in the project.

Envelope keys may use `{side}` / `{other}` in exercises with sides: `hip_{side}_deg` is the working
side's hip. Signed left-positive measures (twist, side bend, neck rotation/tilt) in a sided exercise
are read "toward the working side": the engine flips their sign for the right side.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from coach import exercises_dir
from coach.engine.datafile import StrictRecord, item_label, load_model
from coach.errors import ExerciseError
from coach.measure.conventions import (
    MAX_DISTANCE_SW,
    MEASURE_NAMES,
    PAIRED_BASES,
    RELIABILITY_RANK,
    SPEC,
    Posture,
    Reliability,
    View,
    value_range,
)
from coach.usertext import control_character

EXERCISES_ENV = "COACH_EXERCISES"  # extra exercise folders, separated by os.pathsep
# Bounds of times and counts (each beyond any real plan, so only a slip of the keyboard meets them):
# static stretches are held 10-60 s (ACSM), a guided hold a few minutes - ten minutes is no longer a
# stretch; a rest between reps is shorter still; no plan repeats one stretch 50 times per side.
MAX_HOLD_S = 600.0
# The shortest hold: a detected hold starts 0.2-0.5 s after the person settles (the stillness window
# and settle_s, `coach.engine.core.CoachSettings`), so a target under a second would be timed mostly
# by that delay - shorter than the timer can tell apart from noise, and no stretch (ACSM: 10-60 s).
MIN_HOLD_S = 1.0
MAX_REST_S = 600.0
MAX_REPS_PER_SIDE = 50
# Angle limits of the safety rules: every angle they read is within a half turn, so a limit of 180
# or more can never be passed - it would silently switch the rule off.
MAX_ANGLE_LIMIT_DEG = 180.0
# The speed rule's limit: a full turn per second is far past any movement in a stretch (a quick one
# is 30-60 deg/s); a limit beyond it lets every movement through - the rule switched off in effect.
MAX_SPEED_LIMIT_DEG_S = 360.0


class CheckedRecord(StrictRecord):
    """Exercise records (and routine files) also refuse non-finite numbers and text with control characters."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value):
        """Text is shown on terminals and written back into TOML: one line, no escape codes."""
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            found = control_character(item) if isinstance(item, str) else None
            if found:
                where = f"item {i + 1} " if isinstance(value, list) else ""
                raise ValueError(f"{where}holds the control character {found}; text must be plain, on one line, "
                                 "without escape codes")
        return value


class Band(CheckedRecord):
    """Target range of one measure. Enter when inside [min, max]; leave when outside by more than
    `hysteresis` (so a reading wobbling on the edge does not flicker).

    `min_reliability`: the lowest reliability (from `coach.measure.conventions`, already lowered for the
    camera view) at which the band is judged; below it the band reads "can't judge". "low" is for a
    measure that is an estimate from any one camera (the twist) and is the only sign of the stretch.
    """

    min: float
    max: float
    hysteresis: float = Field(default=5.0, ge=0, le=MAX_ANGLE_LIMIT_DEG)  # > a half turn: never left
    min_reliability: Literal["high", "medium", "low"] = "medium"
    hint_low: str = Field(min_length=1, description="correction when below min, e.g. 'lift your hips higher'")
    hint_high: str = Field(min_length=1, description="correction when above max, e.g. 'rotate less'")
    # A stand-in: another key of the same envelope this band replaces while that one can't be judged
    # (unseen, or read below its min_reliability from this view); while it can, this band is not judged.
    stands_in_for: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if not self.min < self.max:
            raise ValueError(f"min ({self.min}) must be less than max ({self.max})")
        return self


class Phase(CheckedRecord):
    name: str = Field(min_length=1)
    hold_s: float = Field(ge=MIN_HOLD_S, le=MAX_HOLD_S, description="seconds to hold this phase, per rep")
    cue: str = ""
    envelope: dict[str, Band] = Field(default_factory=dict)

    @field_validator("envelope")
    @classmethod
    def _known_measures(cls, v: dict[str, Band]) -> dict[str, Band]:
        for key, band in v.items():
            _check_measure_key(key)
            target = band.stands_in_for
            if target is not None and (target == key or target not in v or v[target].stands_in_for is not None):
                raise ValueError(f"{key}: stands_in_for must name another band of this envelope that is not a "
                                 f"stand-in itself; got {target!r}")
        return v


class Cues(CheckedRecord):
    enter: str = Field(min_length=1)
    hold: str = Field(min_length=1)
    too_far: str = Field(min_length=1)
    breathe: str = Field(min_length=1)
    release: str = Field(min_length=1)


# The neck's neutral tolerance for side tilt, in every exercise: no back stretch tilts the head, and
# "never load the neck". A third of the normal cervical lateral flexion (about 45 deg per side,
# AAOS normal values in Norkin & White, Measurement of Joint Motion, 5th ed. 2016) - a tilt anyone
# can see, well past the 0-4 deg the shared recordings read with the head upright. The default of
# `Safety.neck_lateral_max_deg`, and the limit of the neck-stretch notice (coach.engine.safety) in an
# exercise that allows more.
NECK_NEUTRAL_LATERAL_DEG = 15.0


class Safety(CheckedRecord):
    """Limits for the safety rules. Degrees; speeds in degrees per second."""

    # Every angle limit is below MAX_ANGLE_LIMIT_DEG, where it can still be passed.
    max_twist_deg: float = Field(default=45.0, gt=0, lt=MAX_ANGLE_LIMIT_DEG)  # thoracolumbar rotation ~45 deg/side
    max_twist_flexed_deg: float = Field(default=30.0, gt=0, lt=MAX_ANGLE_LIMIT_DEG)  # stricter while trunk flexed
    flexed_trunk_deg: float = Field(default=45.0, gt=0, lt=MAX_ANGLE_LIMIT_DEG)  # trunk inclination = "flexed"
    neck_flexion_max_deg: float = Field(default=45.0, gt=0, lt=MAX_ANGLE_LIMIT_DEG)
    neck_extension_max_deg: float = Field(default=45.0, gt=0, lt=MAX_ANGLE_LIMIT_DEG)
    neck_rotation_max_deg: float = Field(default=60.0, gt=0, lt=MAX_ANGLE_LIMIT_DEG)  # cervical rotation 60-80 deg
    # The side tilt's caution: by default the neck's neutral tolerance (NECK_NEUTRAL_LATERAL_DEG); an
    # exercise whose movement is the tilt itself (the neck side bend) sets its own, larger limit.
    neck_lateral_max_deg: float = Field(default=NECK_NEUTRAL_LATERAL_DEG, gt=0, lt=MAX_ANGLE_LIMIT_DEG)
    hands_on_neck_forbidden: bool = True
    # hand nearer than this = at head/neck; at or past MAX_DISTANCE_SW every hand would be "at the head"
    hand_head_min_sw: float = Field(default=0.3, gt=0, lt=MAX_DISTANCE_SW)
    max_speed_deg_s: float = Field(default=90.0, gt=0, le=MAX_SPEED_LIMIT_DEG_S)

    @model_validator(mode="after")
    def _stricter_when_flexed(self) -> Safety:
        if self.max_twist_flexed_deg > self.max_twist_deg:
            raise ValueError("max_twist_flexed_deg must not exceed max_twist_deg")
        return self




def reliability_at_least(have: Reliability | str, need: Reliability | str) -> bool:
    """True when reliability `have` is `need` or better (high > medium > low > none)."""
    return RELIABILITY_RANK[Reliability(have)] >= RELIABILITY_RANK[Reliability(need)]


def _check_measure_key(key: str) -> None:
    name = key.replace("{side}", "left").replace("{other}", "right")
    if name not in SPEC:
        raise ValueError(f"unknown measure {key!r}; known: {', '.join(MEASURE_NAMES)}")
    if all(r == Reliability.NONE for r in SPEC[name].reliability.values()):
        raise ValueError(f"measure {key!r} cannot be measured from body landmarks; use a guided hold")


def _check_band_fits(where: str, key: str, band: Band, sided: bool, views: list[View]) -> None:
    """A band must be judgeable from at least one of the exercise's camera views."""
    if ("{side}" in key or "{other}" in key) and not sided:
        raise ValueError(f"{where}: envelope key {key!r} uses {{side}} but the exercise has sides = 'none'")
    name = key.replace("{side}", "left").replace("{other}", "right")
    low, high = value_range(name)
    for bound in ("min", "max"):
        value = getattr(band, bound)
        if not low <= value <= high:
            raise ValueError(f"{where}.{bound}: {value:g} is outside what {key!r} can read ({low:g} to {high:g})")
    if band.hysteresis > high - low:
        raise ValueError(f"{where}.hysteresis: {band.hysteresis:g} is wider than all {key!r} can read "
                         f"({low:g} to {high:g})")
    reliability = SPEC[name].reliability
    if not any(reliability_at_least(reliability[v], band.min_reliability) for v in views):
        best = ", ".join(f"{v.value}: {reliability[v].value}" for v in views)
        raise ValueError(f"{where}: {key!r} is never {band.min_reliability} or better from the exercise's "
                         f"views ({best}); add a view or lower min_reliability")


# The measures an exercise's own safety limits judge, by the sign of the reading: (limit above 0,
# limit below 0), each a Safety field (a value past it raises a caution: coach.engine.safety.RULES).
# Lateral measures are read toward the working side, and their rules judge |value|; the twist rule's
# stricter flexed limit applies only while bent forward, which no band describes.
SAFETY_LIMITS: dict[str, tuple[str, str]] = {
    "trunk_rotation_deg": ("max_twist_deg", "max_twist_deg"),
    "neck_rotation_deg": ("neck_rotation_max_deg", "neck_rotation_max_deg"),
    "neck_lateral_deg": ("neck_lateral_max_deg", "neck_lateral_max_deg"),
    "neck_flexion_deg": ("neck_flexion_max_deg", "neck_extension_max_deg"),
}


def _check_band_within_safety(where: str, key: str, band: Band, safety: Safety) -> None:
    """A target band must lie within the exercise's own safety limits: a pose inside the band would
    otherwise be coached as "Holding" and warned about at the same time."""
    if key not in SAFETY_LIMITS:
        return
    above, below = SAFETY_LIMITS[key]
    if band.max > getattr(safety, above):
        raise ValueError(f"{where}.max: {band.max:g} lies beyond the exercise's own safety limit "
                         f"safety.{above} = {getattr(safety, above):g}: a pose in the band would raise a caution")
    if band.min < -getattr(safety, below):
        raise ValueError(f"{where}.min: {band.min:g} lies beyond the exercise's own safety limit "
                         f"safety.{below} = {getattr(safety, below):g} (on the other side of 0): a pose in the "
                         "band would raise a caution")


def _check_anchor(anchor: str, phases: list[Phase], views: list[View]) -> None:
    """The anchor is a band of every phase, readable at medium or better from one of the exercise's
    views: an anchor that can never be trusted would let no hold be timed at all."""
    try:
        _check_measure_key(anchor)
    except ValueError as err:
        raise ValueError(f"anchor: {err}") from None
    for i, phase in enumerate(phases):
        if anchor not in phase.envelope:
            keys = ", ".join(phase.envelope) or "none"
            raise ValueError(f"anchor: {anchor!r} is not a band of phase {item_label(i, {'name': phase.name})}; "
                             f"its bands: {keys}")
    reliability = SPEC[anchor.replace("{side}", "left").replace("{other}", "right")].reliability
    if not any(reliability_at_least(reliability[v], Reliability.MEDIUM) for v in views):
        best = ", ".join(f"{v.value}: {reliability[v].value}" for v in views)
        raise ValueError(f"anchor: {anchor!r} is never read at medium reliability or better from the exercise's "
                         f"views ({best}); an anchor must be a measure the camera can trust")


def _check_side_from(rule: str) -> None:
    """sign:<m> (m > 0 = left), opposite:<m> (m < 0 = left: the stretched side is the one bent away
    from), lower:<base> / higher:<base> (the side whose <base>_<side>_deg is smaller / larger)."""
    kind, _, arg = rule.partition(":")
    if kind in ("sign", "opposite") and arg in SPEC and SPEC[arg].lateral:
        return
    if kind in ("lower", "higher") and arg in PAIRED_BASES:
        return
    signed = ", ".join(n for n, s in SPEC.items() if s.lateral)
    raise ValueError(f"side_from {rule!r}: expected 'sign:' or 'opposite:' + one of {signed}, or 'lower:' or "
                     f"'higher:' + one of {', '.join(PAIRED_BASES)}")


class Exercise(CheckedRecord):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    posture: list[Posture] = Field(min_length=1)
    view: list[View] = Field(min_length=1, description="camera views the exercise can be judged from")
    sides: Literal["none", "left_right"] = "none"
    side_from: str | None = None
    reps_per_side: int = Field(default=1, ge=1, le=MAX_REPS_PER_SIDE)
    rest_s: float = Field(default=10.0, ge=0, le=MAX_REST_S)
    guided: bool = False  # a guided hold: timed while posture and view fit, no angle claimed
    # The measure that defines the stretch (an envelope key of every phase): a hold is timed only
    # while it is judged at medium reliability or better (`coach.engine.envelope.in_envelope`).
    anchor: str | None = None
    instructions: list[str] = Field(min_length=1)
    cues: Cues
    phases: list[Phase] = Field(min_length=1)
    safety: Safety = Safety()
    sources: list[str] = Field(min_length=1)

    @field_validator("posture", "view")
    @classmethod
    def _known_context(cls, v: list):
        """'unknown' is what the coach reads when it cannot tell the posture or view, never one an
        exercise is done in: a file listing it validated and then never timed a hold."""
        for i, item in enumerate(v):
            if item.value == "unknown":
                raise ValueError(f"item {i + 1} is 'unknown', which the coach reads only when it cannot tell; "
                                 "name the ones the exercise is done in")
        return v

    @field_validator("side_from")
    @classmethod
    def _side_rule(cls, v: str | None) -> str | None:
        if v is not None:
            _check_side_from(v)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Exercise:
        sided = self.sides == "left_right"
        if sided and self.side_from is None:
            raise ValueError("side_from: sides = 'left_right' needs side_from")
        if not sided and self.side_from is not None:
            raise ValueError("side_from: only for sides = 'left_right'")
        for i, phase in enumerate(self.phases):
            where = f"phases {item_label(i, {'name': phase.name})}"
            for key, band in phase.envelope.items():
                _check_band_fits(f"{where}.envelope.{key}", key, band, sided, self.view)
                _check_band_within_safety(f"{where}.envelope.{key}", key, band, self.safety)
            if not phase.envelope and not self.guided:
                raise ValueError(f"{where}: phase {phase.name!r} has an empty envelope; "
                                 "set guided = true for a guided hold")
        names = [p.name for p in self.phases]
        twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
        if twice is not None:
            raise ValueError(f"phases: the phase name {twice!r} is used {names.count(twice)} times; "
                             "each phase needs its own name")
        if self.anchor is not None:
            _check_anchor(self.anchor, self.phases, self.view)
        return self


def load_exercise(path: str | os.PathLike) -> Exercise:
    """Load and validate one exercise file; `ExerciseError` names the file and the key."""
    return load_model(path, Exercise, ExerciseError, "exercise file",
                      other=("exercise", "a routine file (it lists [[exercise]]; give it to coach live --routine)"))


def load_exercise_file(path: str | os.PathLike) -> Exercise:
    """`load_exercise` plus the library rule that the id equals the file name (`chair_rotation.toml`
    holds id = "chair_rotation"): what `load_library` and `coach exercises validate` check."""
    path = Path(path)
    ex = load_exercise(path)
    if ex.id != path.stem:
        raise ExerciseError(f"{path}: id: {ex.id!r} must match the file name {path.stem!r}")
    return ex


def exercise_dirs(extra: list[str | os.PathLike] | None = None) -> list[Path]:
    """Shipped folder first, then $COACH_EXERCISES folders, then `extra` (later ones override)."""
    env = [p for p in os.environ.get(EXERCISES_ENV, "").split(os.pathsep) if p]
    return [exercises_dir(), *(Path(p) for p in env), *(Path(p) for p in (extra or []))]


def load_library(extra: list[str | os.PathLike] | None = None) -> dict[str, Exercise]:
    """Every exercise by id; a user folder's exercise replaces a shipped one with the same id."""
    library: dict[str, Exercise] = {}
    for folder in exercise_dirs(extra):
        if not folder.is_dir():
            raise ExerciseError(f"{folder}: exercise folder does not exist")
        for path in sorted(folder.glob("*.toml")):
            ex = load_exercise_file(path)
            library[ex.id] = ex
    return library


def get_exercise(exercise_id: str, extra: list[str | os.PathLike] | None = None) -> Exercise:
    library = load_library(extra)
    if exercise_id not in library:
        raise ExerciseError(f"unknown exercise {exercise_id!r}; known: {', '.join(sorted(library))}")
    return library[exercise_id]


def is_file_name(spec: str) -> bool:
    """An --exercise value naming a file rather than an id (ids are lower_snake_case: no dot, no slash)."""
    return spec.lower().endswith(".toml") or "/" in spec or os.sep in spec


def exercise_named(spec: str, extra: list[str | os.PathLike] | None = None) -> Exercise:
    """The exercise `--exercise ID|FILE.toml` names: a file (`is_file_name`), loaded and validated as
    it stands (its id free: a copy may be renamed), or an id of the library (`get_exercise`)."""
    if not is_file_name(spec):
        return get_exercise(spec, extra)
    path = Path(spec)
    if path.is_dir():
        raise ExerciseError(f"{spec}: is a folder, not an exercise file (a folder of exercises: --exercises DIR)")
    if not path.is_file():
        raise ExerciseError(f"{spec}: exercise file does not exist")
    return load_exercise(path)   # names the file and the key of any mistake

