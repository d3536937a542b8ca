"""The one table of measures: name, unit, zero and sign, the camera view each needs, and how far
to trust it from each view. Every other module (measures, exercise files, engine, overlay, report)
refers to measures by these names; tests/test_conventions.py checks each row's sign and zero.

Sign rule for every signed measure: toward the person's own LEFT is positive.
Reliability: HIGH (trust the number), MEDIUM (trust the trend), LOW (a rough estimate, never a
reason to pass someone), NONE (cannot be measured from these landmarks / this view: reported as NaN).
The view is the trunk's (its shoulder line); a joint angle (`_joint` rows) whose own plane faces the
camera is read at MEDIUM at least whatever that view (`coach.measure.measures.face_on_joints`: a
seated twist turns the chest to the camera while the bent leg stays side-on).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Reliability(str, Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


# Reliability as a number to compare and sort by: high > medium > low > none.
RELIABILITY_RANK = {Reliability.NONE: 0, Reliability.LOW: 1, Reliability.MEDIUM: 2, Reliability.HIGH: 3}


class View(str, Enum):
    FRONT = "front"      # facing the camera
    BACK = "back"        # back to the camera
    SIDE = "side"        # side-on (sagittal plane faces the camera)
    OBLIQUE = "oblique"  # in between
    UNKNOWN = "unknown"


class Posture(str, Enum):
    STANDING = "standing"
    SEATED = "seated"
    KNEELING = "kneeling"
    ALL_FOURS = "all_fours"
    PRONE = "prone"
    SUPINE = "supine"
    UNKNOWN = "unknown"


H, M, LO, N = Reliability.HIGH, Reliability.MEDIUM, Reliability.LOW, Reliability.NONE


def _by_view(side, oblique, front, back=None) -> dict[View, Reliability]:
    return {View.SIDE: side, View.OBLIQUE: oblique, View.FRONT: front, View.BACK: back or front,
            View.UNKNOWN: LO if side != N else N}


SAGITTAL = _by_view(side=H, oblique=M, front=LO)   # angles in the body's side plane
FRONTAL = _by_view(side=LO, oblique=M, front=H)    # angles in the body's front plane
TWIST = _by_view(side=LO, oblique=LO, front=LO)    # rotation about the trunk axis: low from any one camera
NEVER = _by_view(side=N, oblique=N, front=N)


@dataclass(frozen=True)
class MeasureSpec:
    name: str
    unit: str            # "deg" or "sw" (shoulder widths)
    zero: str            # what reads 0
    sign: str            # what is positive / what larger means
    view: View           # the camera view the measure needs to be trusted (UNKNOWN = any)
    reliability: dict[View, Reliability]
    lateral: bool = False  # signed left-positive: flipped for the right side in a sided exercise
    paired: str | None = None  # "left"/"right" for per-side joint angles; base name in `base`
    base: str | None = None
    toward: str = ""  # lateral: the side a positive-for-that-side value names, in words ("{side}" = left/right)


def _joint(base: str, zero: str, sign: str) -> list[MeasureSpec]:
    return [MeasureSpec(f"{base}_{side}_deg", "deg", zero, sign, View.SIDE, SAGITTAL, paired=side, base=base)
            for side in ("left", "right")]


MEASURES: tuple[MeasureSpec, ...] = (
    *_joint("hip", "0 = thigh folded onto the trunk; 180 = thigh in line with the trunk",
            "inner angle between the trunk axis (hip -> shoulder midpoints) and the thigh (hip -> knee), "
            "smaller = more hip flexion"),
    *_joint("hip_flexion", "0 = thigh in line with the trunk (standing straight)",
            "signed hip angle in the sagittal plane, -180..180: + = flexion (thigh forward of the trunk line), "
            "- = extension (thigh behind it: hips pushed past the line, as an over-arched bridge); "
            "the trunk line is mid-shoulder -> mid-hip, forward is the pelvis's"),
    *_joint("knee", "180 = straight leg", "inner angle hip-knee-ankle, smaller = more knee bend"),
    *_joint("elbow", "180 = straight arm", "inner angle shoulder-elbow-wrist, smaller = more bend"),
    *_joint("shoulder", "0 = arm along the trunk; 180 = arm overhead in line with the trunk",
            "inner angle between the trunk axis pointing down (shoulder -> hip midpoints) and the upper arm "
            "(shoulder -> elbow), larger = arm raised further"),
    MeasureSpec("trunk_lift_deg", "deg", "0 = hips on the line from the shoulders to the ankles",
                "angle of the trunk (mid-shoulder -> mid-hip) above the line from the shoulders to the ankles - "
                "the floor a body lying on its back or front rests on - + = hips above that line (a bridge), - = "
                "below it; NaN when that line is within 30 deg of vertical (upright). Only its direction, up, is "
                "read against gravity, so a tilted camera barely moves it (the trunk's angle to vertical moves by "
                "the whole roll)", View.SIDE, SAGITTAL),
    # The chest propped on the arms (a sphinx or press-up): the upper arm against gravity, so it reads from
    # the front as well as the side. An elbow under its shoulder holds the shoulders up by the upper arm's
    # length whatever the trunk's angle, which a head-on camera cannot read (the trunk points at it).
    MeasureSpec("arm_support_deg", "deg", "0 = upper arm vertical, elbow straight below its shoulder",
                "angle of the upper arm (elbow -> shoulder) from vertical, 0..180, of the more upright seen arm; "
                "90 = upper arm horizontal (lying with the arms by the sides or overhead), > 90 = elbow above the "
                "shoulder. Against gravity (the camera is assumed level). Medium from every view: a vertical upper "
                "arm lies in the image plane from the front, side and half side",
                View.UNKNOWN, _by_view(side=M, oblique=M, front=M)),
    MeasureSpec("trunk_inclination_deg", "deg", "0 = trunk upright (mid-hip -> mid-shoulder points up)",
                "angle to vertical, 0..180; 90 = trunk horizontal, 180 = upside down", View.SIDE, SAGITTAL),
    MeasureSpec("trunk_flexion_deg", "deg", "0 = trunk upright (mid-hip -> mid-shoulder points up)",
                "signed lean of the trunk from vertical in the sagittal plane, -180..180: + = forward (toward "
                "where the pelvis faces, flexion), - = backward (extension); +90 = face down or on all fours, "
                "-90 = lying on the back. Against gravity (the camera is assumed level)",
                View.SIDE, SAGITTAL),
    MeasureSpec("trunk_floor_deg", "deg", "0 = trunk parallel to the floor",
                "angle between the trunk line and the floor, 0..90; 90 = vertical", View.SIDE, SAGITTAL),
    MeasureSpec("trunk_lateral_deg", "deg", "0 = no side bend",
                "trunk side bend in the frontal plane, + = toward the person's left", View.FRONT, FRONTAL,
                lateral=True, toward="bent toward your {side}"),
    MeasureSpec("trunk_rotation_deg", "deg", "0 = shoulder line parallel to hip line",
                "shoulders rotated about the trunk axis, + = chest turned toward the person's left "
                "(world landmarks)", View.UNKNOWN, TWIST, lateral=True, toward="turned toward your {side}"),
    MeasureSpec("neck_flexion_deg", "deg",
                "0 = neutral head carriage: the ear midpoint 18 deg forward of the trunk axis (mid-hip -> "
                "mid-shoulder), as MediaPipe places it in a relaxed upright stance (coach.measures.NECK_NEUTRAL_DEG)",
                "+ = flexion (chin toward chest), - = extension (looking up)", View.SIDE, SAGITTAL),
    MeasureSpec("neck_rotation_deg", "deg", "0 = nose straight ahead of the trunk",
                "head turned about the neck, + = toward the person's left", View.FRONT,
                _by_view(side=LO, oblique=LO, front=M), lateral=True, toward="head turned toward your {side}"),
    MeasureSpec("neck_lateral_deg", "deg", "0 = ear line parallel to the shoulder line",
                "head tilted in the frontal plane, + = left ear toward the left shoulder (from the side the tilt "
                "is all depth: the shared neck_side_bend recording reads the same in hold and rest, so none)",
                View.FRONT, _by_view(side=N, oblique=M, front=H), lateral=True,
                toward="head tilted toward your {side} shoulder"),
    MeasureSpec("hand_head_left_sw", "sw", "0 = left hand touching the head/neck region",
                "distance of the nearest seen left-hand landmark (wrist, pinky, index, thumb) to the surface of "
                "the head and neck (ear-ear, nose, mid-ear to mid-shoulder, thickened by half the ear distance), "
                "in shoulder widths; image distance checked against world depth (coach.measures.hands_at_head_sw)",
                View.UNKNOWN, _by_view(side=M, oblique=M, front=M)),
    MeasureSpec("hand_head_right_sw", "sw", "0 = right hand touching the head/neck region",
                "as hand_head_left_sw for the right hand", View.UNKNOWN, _by_view(side=M, oblique=M, front=M)),
    MeasureSpec("other_hand_head_sw", "sw", "0 = another person's hand touching the head/neck region",
                "nearest hand landmark of any other detected person, in the exercising person's shoulder widths",
                View.UNKNOWN, _by_view(side=M, oblique=M, front=M)),
    MeasureSpec("pelvic_tilt_deg", "deg", "not observable",
                "pelvic tilt cannot be measured from 33 body landmarks (no spine or pelvis points): "
                "always NaN, reliability none", View.UNKNOWN, NEVER),
)

SPEC: dict[str, MeasureSpec] = {m.name: m for m in MEASURES}
MEASURE_NAMES: tuple[str, ...] = tuple(m.name for m in MEASURES)
PAIRED_BASES: tuple[str, ...] = ("hip", "knee", "elbow", "shoulder")

# The values each measure can take, so exercise files can be checked against them (and a safety
# limit beyond them, which could never fire, refused). As the table states: inner joint angles and
# the trunk's and the upper arm's angles to vertical lie in 0..180, the trunk to the floor in 0..90 and its lift above the shoulder-ankle line in -90..90; every other angle is signed and cannot pass a half turn,
# -180..180. A distance in shoulder widths is >= 0, and a frame that still shows a body well enough
# to find it is far less than 100 of that body's shoulder widths across.
MAX_DISTANCE_SW = 100.0
_RANGES = {"trunk_floor_deg": (0.0, 90.0), "arm_support_deg": (0.0, 180.0), "trunk_lift_deg": (-90.0, 90.0)}


def value_range(name: str) -> tuple[float, float]:
    """(lowest, highest) value the measure `name` can read (see the comment above)."""
    spec = SPEC[name]
    if name in _RANGES:
        return _RANGES[name]
    if spec.unit == "sw":
        return 0.0, MAX_DISTANCE_SW
    if spec.base in PAIRED_BASES or name == "trunk_inclination_deg":   # inner angles
        return 0.0, 180.0
    return -180.0, 180.0

# The words the overlay, the report and the CLI use for a measure (one table, so they agree).
_LABELS = {"trunk_inclination_deg": "Trunk lean", "trunk_flexion_deg": "Forward lean", "trunk_floor_deg": "Trunk to floor", "arm_support_deg": "Arm support", "trunk_lift_deg": "Hip lift", "trunk_lateral_deg": "Side bend",
           "trunk_rotation_deg": "Twist", "neck_flexion_deg": "Neck bend",
           "neck_rotation_deg": "Head turn", "neck_lateral_deg": "Head tilt", "hand_head_left_sw": "Left hand to head",
           "hand_head_right_sw": "Right hand to head", "other_hand_head_sw": "Other's hand to head",
           "pelvic_tilt_deg": "Pelvic tilt"}


def measure_label(name: str) -> str:
    """A measure in plain words: "hip_left_deg" -> "Left hip", "hip_{side}_deg" -> "Hip (working side)"."""
    spec = SPEC.get(name)
    if spec is not None and spec.paired:
        return f"{spec.paired.title()} {spec.base.replace('_', ' ')}"
    if "{side}" in name or "{other}" in name:
        base = name.split("_")[0]
        return f"{base.title()} ({'working' if '{side}' in name else 'other'} side)"
    return _LABELS.get(name, name.rsplit("_", 1)[0].replace("_", " ").capitalize())
