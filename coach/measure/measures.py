"""Measures: the angles a physiotherapist talks about, from one pose. Pure functions only.

The names, units, zero and sign of every measure are in `coach.measure.conventions` (the one table); toward
the person's own LEFT is positive for every signed measure. A value is NaN when a landmark it needs
(`NEEDS`) is not seen (visibility or presence below 0.5): "can't measure", never a guess.

2D or 3D. Image pixels (`Pose.pixel_xy`, so the aspect ratio is right) are sharp and unbiased for
what lies in the image plane; MediaPipe's world landmarks are view-independent but noisy and biased
in depth (on the shared recordings a straight standing knee reads 161-168 deg in world coordinates
and 175-180 in pixels, and pixel angles jitter about half as much from the side). So each angle is
read both ways and blended by how well the image plane holds it:
    value = w * pixel_angle + (1 - w) * world_angle
- unsigned angles between two vectors (joint angles, trunk inclination, trunk side bend):
  w = product over the two vectors of cos^2(elevation out of the image plane, from the world).
  A projected angle is exact when both vectors lie in the image plane, whatever the joint's plane;
  a limb pointing at the camera falls back to the world. Known limit: a moderate bend straight
  toward the camera (a 30 deg hip flexion seen from the front) reads too straight - which is why
  sagittal angles are LOW reliability from the front.
- signed angles in a body plane need that plane facing the camera: neck flexion (sagittal) uses
  w = (shoulder line along the camera axis)^2; neck side bend uses the product rule on the shoulder
  and ear lines. Signs come from dot products in the person's own frame, so a back view needs no
  mirror rule.
- rotations about the trunk axis (trunk_rotation_deg, neck_rotation_deg) live in depth: world only.
  (A 2D twist from shoulder foreshortening was dropped: its neutral was never calibrated - it read
  43 deg standing square - and nothing judged it.)
- hands at the head: image distances, checked against the world (see `hands_at_head_sw`).
Vertical is image-up / world-up (both camera-aligned: the camera is assumed level).

Reliability = the conventions table's entry for the detected view (`coach.measure.posture`), raised to
MEDIUM for a joint angle whose limb is face-on to the camera (`limb_plane_deg`: the trunk's view need not
be the limb's), one step lower when the least visible landmark a measure needs is marginal (below
`MARGINAL_VISIBILITY`: a guess MediaPipe only half sees), and NONE when the value is NaN or the table
says the view cannot carry it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from coach.measure.conventions import MEASURE_NAMES, SPEC, Posture, Reliability, View
from coach.measure.geometry import (
    angle_between_deg,
    blend,
    body_frame,
    cross,
    in_image_plane,
    norm,
    point_segment_distance,
    signed_angle_2d_deg,
    signed_angle_about_deg,
    unit,
)
from coach.measure.posture import posture_and_view
from coach.pose.core import Pose
from coach.pose.landmarks import LEFT_HAND, RIGHT_HAND
from coach.pose.landmarks import Landmark as L

_INDEX = {name: i for i, name in enumerate(MEASURE_NAMES)}
MEASURE_INDEX: dict[str, int] = _INDEX  # name -> position in `Measures.values`

MARGINAL_VISIBILITY = 0.7   # needed landmarks seen, but the least visible below this: one step less reliable
NECK_NEUTRAL_DEG = 18.0     # the ear midpoint sits this far forward of the trunk axis in a neutral stance
                            # (median 15-26 deg over the upright rest segments of the shared recordings)
HAND_DEPTH_ERROR_SW = (0.4, 1.0)  # how far MediaPipe's world depth may misplace a hand at the head, in
                                 # front of it / behind it (occluded; shared photos: up to 1.2 sw)
TWIST_MIN_LINE_TRUNK = 0.25     # hip/shoulder line across the trunk axis (trunk lengths), tilt off square: twist
TWIST_MAX_LINE_TILT_DEG = 25.0  # unmeasurable past these (recordings >= 0.34, <= 21; bridge lifts 0.16, 29 median)
# The person's left-right axis is level in every posture these stretches use (standing, sitting,
# kneeling, all fours, lying face up or down); upright and all-fours recordings read it within 23 deg
# (95th percentiles 4-19). Past 30 deg - a pelvis rolled onto its side, as in a supine twist (about
# 60-80), or the depth of a lying body failing - "forward" is no longer defined: the lean is NaN.
# (At 30 deg a change of up - a camera roll - moves the world lean at most 1 / cos 30 = 1.15 times.)
LEAN_MAX_LEFT_TILT_DEG = 30.0
IMAGE_UP = np.array([0.0, -1.0])
WORLD_UP = np.array([0.0, -1.0, 0.0])


@dataclass(frozen=True, eq=False)
class Measures:
    """All measures of one pose, in `MEASURE_NAMES` order, with the view and posture they were read in."""

    values: np.ndarray                      # (n,) float64; NaN = can't measure
    reliability: tuple[Reliability, ...]    # (n,) per measure, already lowered for the view
    view: View = View.UNKNOWN
    posture: Posture = Posture.UNKNOWN
    # Someone else is in view whose hands can't be judged now (stale or unseen, `others_unjudged`):
    # `other_hand_head_sw` then covers only the others whose hands are seen, so it is no "clear".
    others_unjudged: bool = False
    # (n,) bool per measure: a joint angle whose limb was judged face-on to the camera (`face_on_joints`),
    # so at MEDIUM at least whatever the trunk's view (given None: none). Kept so a re-judgement for
    # another view (the stable context) keeps it; False wherever the value is NaN.
    face_on: np.ndarray | None = None
    # (n,) the evidence: each joint's plane from the image plane, deg (`limb_plane_deg`; NaN: no plane,
    # not a joint, or the image disagrees - not face-on; given None: all NaN). The stable context votes on it.
    limb_plane_deg: np.ndarray | None = None
    # (n,) bool: the least visible landmark the measure needs was marginal (`marginal_of`), so its
    # reliability is one step lower in any view; None = not known (a record built by hand: `rejudge`
    # then infers it from the reliability).
    marginal: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(MEASURE_NAMES)
        values = np.array(self.values, dtype=np.float64)
        if values.shape != (n,):
            raise ValueError(f"Measures.values: expected shape ({n},), got {values.shape}")
        if len(self.reliability) != n:
            raise ValueError(f"Measures.reliability: expected {n} entries, got {len(self.reliability)}")
        # NaN always reads as "none": a number nobody can judge has no reliability.
        rel = tuple((r if r.__class__ is Reliability else Reliability(r)) if f else Reliability.NONE
                    for r, f in zip(self.reliability, np.isfinite(values).tolist()))
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "reliability", rel)
        object.__setattr__(self, "view", View(self.view))
        object.__setattr__(self, "posture", Posture(self.posture))
        object.__setattr__(self, "others_unjudged", bool(self.others_unjudged))
        for name, dtype, default in (("face_on", bool, False), ("limb_plane_deg", np.float64, np.nan),
                                     ("marginal", bool, None)):
            given = getattr(self, name)
            if given is None and default is None:
                continue
            arr = np.full(n, default, dtype=dtype) if given is None else np.array(given, dtype=dtype)
            if arr.shape != (n,):
                raise ValueError(f"Measures.{name}: expected shape ({n},), got {arr.shape}")
            if name == "face_on":
                arr &= np.isfinite(values)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def empty(cls) -> Measures:
        n = len(MEASURE_NAMES)
        return cls(np.full(n, np.nan), (Reliability.NONE,) * n)

    def __getitem__(self, name: str) -> float:
        return float(self.values[_INDEX[name]])

    def reliability_of(self, name: str) -> Reliability:
        return self.reliability[_INDEX[name]]

    def as_dict(self) -> dict[str, float]:
        return {name: float(v) for name, v in zip(MEASURE_NAMES, self.values)}


def spec(name: str):
    """The conventions row of a measure (KeyError names the measure)."""
    return SPEC[name]


# --- which landmarks each measure needs -----------------------------------------------------------

SHOULDERS = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
HIPS = (L.LEFT_HIP, L.RIGHT_HIP)
SHOULDERS_HIPS = SHOULDERS + HIPS
EARS = (L.LEFT_EAR, L.RIGHT_EAR)
HEAD_POINTS = (L.NOSE, L.LEFT_EAR, L.RIGHT_EAR)
JOINTS: dict[str, tuple[L, L, L]] = {   # (a, b, c): the landmarks a joint angle needs, angle at b
    "hip_left_deg": (L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE),
    "hip_right_deg": (L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE),
    "knee_left_deg": (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE),
    "knee_right_deg": (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE),
    "elbow_left_deg": (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
    "elbow_right_deg": (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
    "shoulder_left_deg": (L.LEFT_HIP, L.LEFT_SHOULDER, L.LEFT_ELBOW),
    "shoulder_right_deg": (L.RIGHT_HIP, L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
}
NEEDS: dict[str, tuple[L, ...]] = {   # all must be seen; a hand measure also needs one seen hand point
    **{name: tuple(dict.fromkeys(SHOULDERS_HIPS + abc)) if name.startswith(("hip", "shoulder")) else abc
       for name, abc in JOINTS.items()},
    **{f"hip_flexion_{side}_deg": SHOULDERS_HIPS + (L[f"{side.upper()}_KNEE"],) for side in ("left", "right")},
    **{name: SHOULDERS_HIPS for name in ("trunk_inclination_deg", "trunk_flexion_deg", "trunk_floor_deg",
                                         "trunk_lateral_deg", "trunk_rotation_deg")},
    "trunk_lift_deg": SHOULDERS_HIPS,   # and a seen ankle (`trunk_lift_deg`): from the side the far one hides
    # Either arm will do (`arm_support_deg` takes the seen elbows): the shoulders give the scale.
    "arm_support_deg": SHOULDERS,
    # The neck frame is the shoulders and the head points, hips optional (`head_and_shoulders`).
    "neck_flexion_deg": SHOULDERS + EARS,
    "neck_rotation_deg": SHOULDERS + HEAD_POINTS,
    "neck_lateral_deg": SHOULDERS + EARS,
    **{name: SHOULDERS + HEAD_POINTS for name in ("hand_head_left_sw", "hand_head_right_sw",
                                                   "other_hand_head_sw")},
    "pelvic_tilt_deg": (),
}
_WIDEST = max(len(v) for v in NEEDS.values())


_NEED_IDX = np.array([[*NEEDS[n], *(NEEDS[n] or (L.NOSE,))[:1] * (_WIDEST - len(NEEDS[n]))] for n in MEASURE_NAMES])

_NEED_ANY = np.array([bool(NEEDS[n]) for n in MEASURE_NAMES])
_HANDS = np.array(LEFT_HAND + RIGHT_HAND)

# Extra rows after the 33 landmarks in `Body` (both spaces): midpoints, the origin, and a unit "up".
MID_SHOULDER, MID_HIP, MID_EAR, ORIGIN, UP = range(33, 38)
_MID_A = [L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_EAR]
_MID_B = [L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_EAR]
_EXTRA_P, _EXTRA_W = np.array([[0.0, 0.0], IMAGE_UP]), np.array([[0.0, 0.0, 0.0], WORLD_UP])

# Unsigned angles between two vectors u = ua - ub and v = va - vb, all read in one vectorised pass.
# The hip and shoulder angles use the trunk axis rather than the same-side shoulder or hip: the
# shoulders are wider than the hips, and that slant would read as a 9-15 deg hip bend in a frontal view.
ANGLE_PAIRS: dict[str, tuple[int, int, int, int]] = {
    **{name: (a, b, c, b) for name, (a, b, c) in JOINTS.items() if name.startswith(("knee", "elbow"))},
    "hip_left_deg": (MID_SHOULDER, MID_HIP, L.LEFT_KNEE, L.LEFT_HIP),
    "hip_right_deg": (MID_SHOULDER, MID_HIP, L.RIGHT_KNEE, L.RIGHT_HIP),
    "shoulder_left_deg": (MID_HIP, MID_SHOULDER, L.LEFT_ELBOW, L.LEFT_SHOULDER),
    "shoulder_right_deg": (MID_HIP, MID_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_SHOULDER),
    "trunk_inclination_deg": (MID_SHOULDER, MID_HIP, UP, ORIGIN),       # trunk from vertical
    "trunk_lateral_deg": (MID_SHOULDER, MID_HIP, L.LEFT_HIP, L.RIGHT_HIP),  # trunk to hip line (90 - it)
}
_PAIR_SLOTS = np.array([_INDEX[n] for n in ANGLE_PAIRS])
_UA, _UB, _VA, _VB = (np.array([pair[k] for pair in ANGLE_PAIRS.values()]) for k in range(4))


# --- shared per-pose arrays and small helpers --------------------------------------------------------

class Body(NamedTuple):
    """What the measures share, computed once per pose. `p` (38, 2) pixels (NaN without an image
    size) and `w` (38, 3) world: the 33 landmarks, then MID_SHOULDER, MID_HIP, MID_EAR, ORIGIN and
    UP (a unit vertical). `frame`: world (left, up, forward) rows of the shoulders (`body_frame`)."""

    p: np.ndarray
    w: np.ndarray
    frame: np.ndarray

    def line(self, space: str, a: int, b: int) -> np.ndarray:
        """The vector a - b in "p" or "w"."""
        pts = self.p if space == "p" else self.w
        return pts[a] - pts[b]


def body_of(pose: Pose) -> Body:
    """The shared per-pose arrays (see `Body`)."""
    p, w = pose.pixel_xy, pose.world
    if pose.image_size[0] <= 0 or pose.image_size[1] <= 0:
        p = np.full_like(p, np.nan)   # no image size: the world landmarks alone
    p = np.concatenate([p, (p[_MID_A] + p[_MID_B]) / 2, _EXTRA_P])
    w = np.concatenate([w, (w[_MID_A] + w[_MID_B]) / 2, _EXTRA_W])
    return Body(p, w, body_frame(w[L.LEFT_SHOULDER] - w[L.RIGHT_SHOULDER], w[MID_SHOULDER] - w[MID_HIP]))


def pixels_per_metre(b: Body) -> float:
    """Image scale at the trunk: the larger of the shoulder-line and trunk-axis pixel/metre ratios
    (one of the two lies near the image plane in any view; the foreshortened one reads short)."""
    a, c = [L.LEFT_SHOULDER, MID_SHOULDER], [L.RIGHT_SHOULDER, MID_HIP]
    ratios = norm(b.p[a] - b.p[c]) / norm(b.w[a] - b.w[c])
    return float(ratios.max()) if np.isfinite(ratios).all() else np.nan


# --- the measures ---------------------------------------------------------------------------------

def unsigned_angles(b: Body) -> np.ndarray:
    """The `ANGLE_PAIRS` angles (deg, 0..180), each blended: w = cos^2 of both vectors' elevation
    out of the image plane. From the side a joint's pixel angle wins (exact for a limb moving in the
    image plane); a limb or trunk pointing at the camera falls back to the world angle (a prone
    person filmed head-on: the image alone would read the trunk as upright)."""
    u_w, v_w = b.w[_UA] - b.w[_UB], b.w[_VA] - b.w[_VB]
    pixel = angle_between_deg(b.p[_UA] - b.p[_UB], b.p[_VA] - b.p[_VB])
    flat = in_image_plane(np.concatenate([u_w, v_w]))
    return blend(pixel, angle_between_deg(u_w, v_w), flat[:len(u_w)] * flat[len(u_w):])


# A joint angle is read squarely when the joint's own plane faces the camera, whatever the trunk's
# view: a seated twist turns the chest to the camera (view "front") while the legs, bent side-on, stay
# in the image plane. Face-on = the plane of the angle's two vectors within FACE_ON_MAX_DEG of the image
# plane by the world depth, the joint bent at least FACE_ON_MAX_DEG from straight and from folded (so
# that plane is defined: a straight leg seen from the front has none, and a bend toward the camera
# would not show in the image), and each vector's pixel length at least cos FACE_ON_MAX_DEG of its
# world length at the trunk's pixels per metre (the image agrees it is not foreshortened: a depth
# guess alone can't claim it). The bend window: the plane's normal is the cross product of the two
# bones, so a landmark error e tilts it by about e / (bone length x sin(bend)) - at 30 deg from straight
# (or folded) twice its error at a right angle, and unbounded toward straight; the bone ratio: a bone
# in a plane within the bound lies within it too, so its pixel length is at least cos of the bound.
# 30 deg is the posture module's side-on bound (SIDE_MAX_DEG): a sagittal
# angle is HIGH from a camera within 30 deg of the body's side plane, and a limb this square to the
# camera is seen at least as well. Such an angle counts MEDIUM at least (`judge`), not HIGH: its depth
# is the model's guess and the pixel/world length ratio is noisy. Measured (the lite and the full model
# on the same frames of the shared recordings, front view, every joint angle, by the lite reading's
# plane): 0-15 deg differ by median 5.8 (75th percentile 6.5), 15-30 by 5.8 (13.5), 30-45 by 27.9
# (44.8) - the bound is where the two models stop agreeing; oblique-view MEDIUM readings differ by 9.2 (31).
FACE_ON_MAX_DEG = 30.0
# ... and a limb the stable context holds face-on leaves it only past FACE_OFF_MIN_DEG: the plane of
# a still joint, read over each truth hold of the shared recordings (all three variants, 112 joints
# with a plane), has an SD of 1.2 deg median, 6.1 at the 90th percentile (lite alone: 3.1, 7.6); 15
# deg above the bound is two of those SDs, so a still limb's noise does not flip it
# (`coach.engine.context`). Per frame (`judge`) the bound alone decides.
FACE_OFF_MIN_DEG = 45.0
_FACE_ON_COS = math.cos(math.radians(FACE_ON_MAX_DEG))
_FACE_ON_SIN = math.sin(math.radians(FACE_ON_MAX_DEG))
_JOINT_NAMES = [n for n in ANGLE_PAIRS if n in JOINTS]
JOINT_SLOTS: tuple[int, ...] = tuple(_INDEX[n] for n in _JOINT_NAMES)   # the joint angles' places in `Measures.values`
_JA, _JB, _JC, _JD = (np.array([ANGLE_PAIRS[n][k] for n in _JOINT_NAMES]) for k in range(4))


def limb_plane_deg(b: Body) -> np.ndarray:
    """(n,) over `MEASURE_NAMES`: for each joint angle (`JOINTS`), the angle between its plane (of its
    two vectors, world) and the image plane, 0..90 deg; NaN for every other measure, without an image
    size, and where the plane is undefined or the image disagrees (see FACE_ON_MAX_DEG)."""
    out = np.full(len(MEASURE_NAMES), np.nan)
    u_w, v_w = b.w[_JA] - b.w[_JB], b.w[_JC] - b.w[_JD]
    with np.errstate(invalid="ignore", divide="ignore"):
        normal = cross(u_w, v_w)
        bent = norm(normal) >= _FACE_ON_SIN * norm(u_w) * norm(v_w)      # 30..150 deg: the plane is defined
        ppm = pixels_per_metre(b)
        shown = [norm(b.p[a] - b.p[c]) >= _FACE_ON_COS * norm(b.w[a] - b.w[c]) * ppm   # NaN -> False
                 for a, c in ((_JA, _JB), (_JC, _JD))]
        plane = np.degrees(np.arccos(np.clip(np.abs(normal[:, 2]) / norm(normal), 0.0, 1.0)))
    out[list(JOINT_SLOTS)] = np.where(bent & shown[0] & shown[1], plane, np.nan)
    return out


def face_on_joints(plane_deg: np.ndarray) -> np.ndarray:
    """(n,) bool: the joints whose `limb_plane_deg` is within FACE_ON_MAX_DEG (NaN: not face-on)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(plane_deg) <= FACE_ON_MAX_DEG


def trunk_rotation_deg(b: Body) -> float:
    """Shoulder line against hip line about the trunk axis (world, projected on the plane normal to
    the axis), -180..180, + when the chest turns toward the person's left (right-hand rule about the
    upward trunk axis: the left shoulder moves back). Depth-only, so world only; low reliability.

    NaN when a line tilts or shrinks toward the axis past the `TWIST_*` limits: they stand square to
    the trunk, so that is MediaPipe's depth failing (bridge lifts read +-170 deg)."""
    axis = b.line("w", MID_SHOULDER, MID_HIP)
    lines = np.array([b.line("w", L.LEFT_HIP, L.RIGHT_HIP), b.line("w", L.LEFT_SHOULDER, L.RIGHT_SHOULDER)])
    along = lines @ unit(axis)
    across = norm(lines - along[:, None] * unit(axis))
    if not ((np.degrees(np.arctan2(np.abs(along), across)) <= TWIST_MAX_LINE_TILT_DEG).all()
            and (across >= TWIST_MIN_LINE_TRUNK * norm(axis)).all()):
        return np.nan
    return float(signed_angle_about_deg(lines[0], lines[1], axis))


def _pelvis_left(b: Body) -> np.ndarray:
    """The person's left from the hip and shoulder lines together (world, unit): the pelvis faces
    where the legs work, the shoulders keep it defined when the hips are foreshortened."""
    return unit(unit(b.line("w", L.LEFT_HIP, L.RIGHT_HIP)) + unit(b.line("w", L.LEFT_SHOULDER, L.RIGHT_SHOULDER)))


# The shoulder-ankle line is the floor for a body lying down (the shared bridge reads it 5-29 deg off
# level, camera perspective included); sitting on the floor it slopes 24-41 deg, standing 78-90, where
# "above the line" has no direction. Past 60 deg (upright, whatever the camera's roll) it is NaN; in
# between the posture gate (lying) decides whether it is judged.
LIFT_LINE_MAX_SLOPE = math.sin(math.radians(60.0))


def _lift_deg(trunk: np.ndarray, line: np.ndarray, up: np.ndarray) -> float:
    """asin of the trunk's offset from the line, toward up (gravity's up made square to the line),
    over the trunk's length (deg)."""
    along = unit(line)
    if not abs(along @ up) <= LIFT_LINE_MAX_SLOPE:   # NaN too: no line
        return math.nan
    off, lifted = trunk - (trunk @ along) * along, unit(up - (up @ along) * along)
    return float(np.degrees(np.arcsin(np.clip((off @ lifted) / norm(trunk), -1.0, 1.0))))


def trunk_lift_deg(b: Body, seen: np.ndarray) -> float:
    """The trunk's angle above the shoulder -> mid-ankle line (see the conventions row): the hips'
    offset from that line, taken along up, over the trunk's length - in the image and in the world,
    blended like the joint angles. Only "up" comes from gravity, and only the offset's direction
    off the line: a camera rolled by a few degrees mixes in that much of a sideways offset (lying
    askew), not the whole roll as the trunk's angle to vertical takes it. The mid-ankle aims the line
    once either ankle is seen (NaN with neither): from the side the far one is hidden, and MediaPipe
    places it beside the near one; taking the seen one alone would swing the line by the ankles' width
    each time the far one flickers in and out of sight. Their visibility does not lower the
    reliability (NEEDS): they only aim a line ~1.3 m long, which an ankle misplaced by a few
    centimetres turns by about 2 deg."""
    ankles = [L.LEFT_ANKLE, L.RIGHT_ANKLE]
    if not seen[ankles].any() or not np.isfinite(b.w[ankles]).all():
        return math.nan
    world = _lift_deg(b.w[MID_HIP] - b.w[MID_SHOULDER], b.w[ankles].mean(axis=0) - b.w[MID_SHOULDER], WORLD_UP)
    pixel = _lift_deg(b.p[MID_HIP] - b.p[MID_SHOULDER], b.p[ankles].mean(axis=0) - b.p[MID_SHOULDER], IMAGE_UP)
    weight = in_image_plane(b.w[MID_HIP] - b.w[MID_SHOULDER]) * in_image_plane(b.w[ankles].mean(axis=0) - b.w[MID_SHOULDER])
    return float(blend(pixel, world, weight))


_ARMS = np.array([[L.LEFT_SHOULDER, L.LEFT_ELBOW], [L.RIGHT_SHOULDER, L.RIGHT_ELBOW]])


def arm_support_deg(b: Body, seen: np.ndarray) -> float:
    """The more upright seen upper arm's angle from vertical (elbow -> shoulder against up), 0 = the
    elbow straight below its shoulder. Blended like the joint angles: the pixel angle against the
    image's up while the arm lies in the image plane, the world angle as it points at the camera.
    The smaller of the two arms: the chest is propped as long as one arm is under it (from the side
    the far elbow is hidden or guessed). NaN when neither elbow (with its shoulder) is seen."""
    arms = _ARMS[seen[_ARMS].all(axis=1)]
    if not len(arms):
        return math.nan
    u_w = b.w[arms[:, 0]] - b.w[arms[:, 1]]
    pixel = angle_between_deg(b.p[arms[:, 0]] - b.p[arms[:, 1]], np.broadcast_to(IMAGE_UP, (len(arms), 2)))
    world = angle_between_deg(u_w, np.broadcast_to(WORLD_UP, (len(arms), 3)))
    angles = blend(pixel, world, in_image_plane(u_w))
    return float(np.nanmin(angles)) if np.isfinite(angles).any() else math.nan


def trunk_flexion_deg(b: Body) -> float:
    """Signed trunk lean from vertical in the sagittal plane, + forward, - backward (-180..180).

    The sagittal plane is the person's own: normal to their left-right axis (`_pelvis_left`).
    World: the trunk axis against world-up, both seen along that axis (right-hand rule about left:
    up turns toward forward = left x up). Pixel: the image trunk axis against image-up, + toward the
    image side the person faces - the side their left points away from, sign(left_z) (world x is
    image x). Blended (on the circle) by how far the left-right axis lies along the camera axis
    (left_z^2: 1 side-on, 0 facing the camera, where a lean is all depth). Every part of this is
    unchanged by a camera roll but up itself, so a roll shifts the lean by the roll and nothing else
    (up to 1 / cos of the axis's tilt for the world part).

    NaN when the left-right axis tilts more than `LEAN_MAX_LEFT_TILT_DEG` from level: then the
    sagittal plane lies too far from vertical for a lean in it to mean forward or backward."""
    left = _pelvis_left(b)
    if not abs(left @ WORLD_UP) <= np.sin(np.radians(LEAN_MAX_LEFT_TILT_DEG)):
        return np.nan
    axis_w, axis_p = b.line("w", MID_SHOULDER, MID_HIP), b.line("p", MID_SHOULDER, MID_HIP)
    world = float(signed_angle_about_deg(WORLD_UP, axis_w, left))
    ahead_p = np.array([np.sign(left[2]), 0.0])
    pixel = float(np.degrees(np.arctan2(axis_p @ ahead_p, axis_p @ IMAGE_UP)))
    return blend_deg(pixel, world, float(left[2] ** 2))


def blend_deg(pixel_deg: float, world_deg: float, weight: float) -> float:
    """`blend` for angles on a circle (-180..180): the world angle moved toward the pixel one along
    the shorter way round, so a lean near upside down (+179 and -179) does not average to 0."""
    if not np.isfinite(pixel_deg):
        return float(world_deg)
    gap = (pixel_deg - world_deg + 180.0) % 360.0 - 180.0
    return float((world_deg + weight * gap + 180.0) % 360.0 - 180.0)


# Lying, which way the body faces is known from gravity alone: on the back the chest faces up, face
# down it faces the floor. The hip's direction is then read in the image (which side of the trunk
# line the thigh lies on), free of MediaPipe's depth order of the two hips, which flips from frame to
# frame in an oblique bridge (the left-right axis's depth sign changes within one still hold).
# Only while the image trunk line lies within 45 deg of level (as a body lying down shows it): past
# that, "which side of the line is up" turns with every degree of camera roll.
LYING_FORWARD_IMAGE = {Posture.SUPINE: IMAGE_UP, Posture.PRONE: -IMAGE_UP}
LYING_MAX_TRUNK_TILT_DEG = 45.0


def hip_flexion_deg(b: Body, side: str, inner_deg: float, posture: Posture = Posture.UNKNOWN) -> float:
    """Signed hip angle of one side in the sagittal plane: the thigh (hip -> knee) against the trunk
    line pointing down (mid-shoulder -> mid-hip), + flexion (thigh forward), - extension, -180..180.

    Body-relative (the trunk's own frame: left from `_pelvis_left`, up along the trunk), so it reads
    the same lying, sitting or standing. World: atan2(thigh . forward, -(thigh . up)). Pixel: the
    signed image angle from the trunk-down line to the thigh, its sign set by which way the person's
    left points along the camera axis (as `neck_flexion_deg`), blended with weight left_z^2: the
    sagittal plane facing the camera. The size is the inner angle's (hip_{side}_deg, blended as every
    unsigned angle is, sharp in the image), 180 - inner: this reading gives it a direction, so that
    extension past the trunk line reads negative instead of folding back toward 180. (The sign may
    turn only where the size is small: near the line either sign is a small number.)"""
    hip, knee = (L.LEFT_HIP, L.LEFT_KNEE) if side == "left" else (L.RIGHT_HIP, L.RIGHT_KNEE)
    left, up, forward = body_frame(_pelvis_left(b), b.line("w", MID_SHOULDER, MID_HIP))
    thigh_w = b.line("w", knee, hip)
    world = np.degrees(np.arctan2(thigh_w @ forward, -(thigh_w @ up)))
    pixel = signed_angle_2d_deg(b.line("p", MID_HIP, MID_SHOULDER), b.line("p", knee, hip))
    direction = float(blend(pixel * -np.sign(left[2]), world, left[2] ** 2))
    if posture in LYING_FORWARD_IMAGE and np.isfinite(pixel):
        down_p, thigh_p = b.line("p", MID_HIP, MID_SHOULDER), b.line("p", knee, hip)
        ahead = LYING_FORWARD_IMAGE[posture]
        across = (down_p[0] * ahead[1] - down_p[1] * ahead[0]) / norm(down_p)   # sin of the line's angle to up
        if abs(across) >= np.cos(np.radians(LYING_MAX_TRUNK_TILT_DEG)):
            side_of = (down_p[0] * thigh_p[1] - down_p[1] * thigh_p[0]) * across
            direction = float(side_of) if side_of != 0 else direction
    if not (np.isfinite(direction) and np.isfinite(inner_deg)):
        return np.nan
    return (180.0 - float(inner_deg)) * (1.0 if direction >= 0 else -1.0)


def neck_flexion_deg(b: Body) -> float:
    """Neck (mid-shoulder -> mid-ear) against the trunk axis in the sagittal plane, minus the neutral
    forward set of the ear (`NECK_NEUTRAL_DEG`): + flexion (chin to chest), - extension.

    Blended with weight (shoulder line along the camera axis)^2: the pixel angle only when the
    sagittal plane faces the camera. Its sign comes from which way the person's left points (toward
    or away from the camera), not from the nose, which hangs behind the ears in a deep flexion."""
    left, up, forward = b.frame
    neck_w = b.line("w", MID_EAR, MID_SHOULDER)
    world = np.degrees(np.arctan2(neck_w @ forward, neck_w @ up))
    pixel = signed_angle_2d_deg(b.line("p", MID_SHOULDER, MID_HIP), b.line("p", MID_EAR, MID_SHOULDER))
    return float(blend(pixel * np.sign(left[2]), world, left[2] ** 2)) - NECK_NEUTRAL_DEG


def neck_rotation_deg(b: Body) -> float:
    """Head turned about the trunk axis against the shoulders, + toward the person's left: the mean
    of the ear line against the shoulder line and the nose direction against the chest's forward
    (both world, about the up axis). Depth-only, so world only."""
    left, _, forward = b.frame
    ears, nose = b.line("w", L.LEFT_EAR, L.RIGHT_EAR), b.line("w", L.NOSE, MID_EAR)
    by_ears = np.arctan2(-(ears @ forward), ears @ left)
    by_nose = np.arctan2(nose @ left, nose @ forward)
    return float(np.degrees(np.arctan2(np.sin(by_ears) + np.sin(by_nose), np.cos(by_ears) + np.cos(by_nose))))


def neck_lateral_deg(b: Body) -> float:
    """Ear line against the shoulder line in the frontal plane, + = left ear toward the left
    shoulder: atan2(-ears.up, ears.left) in the shoulders' (left, up) frame - dot products, so front
    and back views need no mirror sign. Blended with weight = both lines in the image plane."""
    left, up = b.frame[0], b.frame[1]
    ears_w = b.line("w", L.LEFT_EAR, L.RIGHT_EAR)
    world = np.arctan2(-(ears_w @ up), ears_w @ left)
    left_p = unit(b.line("p", L.LEFT_SHOULDER, L.RIGHT_SHOULDER))
    up_p = np.array([-left_p[1], left_p[0]])   # perpendicular, turned to the trunk's side
    up_p = up_p * np.sign(up_p @ b.line("p", MID_SHOULDER, MID_HIP))
    ears_p = b.line("p", L.LEFT_EAR, L.RIGHT_EAR)
    pixel = np.arctan2(-(ears_p @ up_p), ears_p @ left_p)
    weight = in_image_plane(b.w[[L.LEFT_SHOULDER, L.LEFT_EAR]] - b.w[[L.RIGHT_SHOULDER, L.RIGHT_EAR]]).prod()
    return float(np.degrees(blend(pixel, world, weight)))


_HEAD_A = [L.LEFT_EAR, L.NOSE, MID_EAR]
_HEAD_B = [L.RIGHT_EAR, MID_EAR, MID_SHOULDER]
HEAD_RADIUS = 0.5   # x the ear-to-ear distance: the head-and-neck region's thickness around its segments


def head_segments(b: Body, space: str = "p") -> tuple[np.ndarray, np.ndarray]:
    """The head-and-neck region as segments (a, b) in "p" or "w": ear to ear, nose to mid-ear, and
    mid-ear down to mid-shoulder (the neck)."""
    pts = b.p if space == "p" else b.w
    return pts[_HEAD_A], pts[_HEAD_B]


def hand_head_sw(hand_pts: np.ndarray, segments: tuple[np.ndarray, np.ndarray], shoulder_width: float,
                 radius: float = 0.0) -> np.ndarray:
    """Distance from each of `hand_pts` (k, d) to the surface of the head-and-neck region - the
    `segments` thickened by `radius` - in shoulder widths, 0 when touching. All lengths in the units
    of the points; take the minimum over a hand's points."""
    gap = point_segment_distance(hand_pts, *segments).min(axis=1) - radius
    return np.maximum(gap, 0.0) / shoulder_width


def _nearest(distances: np.ndarray, seen: np.ndarray) -> float:
    return float(distances[seen].min()) if seen.any() else np.nan


# Someone else's hands seen longer ago than this are stale: not evidence of where they are now. The
# partner watch looks 4 times a second (`coach.pose.detector.WATCH_RATE_HZ`): 0.6 s is two missed
# looks and the ~0.1 s a look takes; in that time a hand reaching for a head at a moderate 0.5 m/s
# covers 30 cm, more than the head's own width, so older hands could be anywhere near it.
OTHER_HANDS_STALE_S = 0.6


def _age_s(other: Pose) -> float:
    return float(getattr(other, "age_s", 0.0))   # a plain Pose (a frame's own poses) was seen now


def fresh_others(others: tuple[Pose, ...]) -> list[Pose]:
    """The others whose landmarks are recent enough to judge their hands (`OTHER_HANDS_STALE_S`)."""
    return [o for o in others if not o.is_empty and _age_s(o) <= OTHER_HANDS_STALE_S]


def others_unjudged(others: tuple[Pose, ...]) -> bool:
    """True when someone else is present whose hands can't be judged now: seen too long ago, or a
    hand of theirs with no landmark seen. Nobody else present: False (the rule judges as before)."""
    for other in others:
        if other.is_empty or _age_s(other) > OTHER_HANDS_STALE_S:
            return True
        seen = other.seen_mask()
        if not (seen[list(LEFT_HAND)].any() and seen[list(RIGHT_HAND)].any()):
            return True
    return False


def hands_at_head_sw(b: Body, pose: Pose, others: tuple[Pose, ...] = (),
                     seen: np.ndarray | None = None) -> tuple[float, float, float]:
    """(left hand, right hand, nearest hand of anyone else), in the person's shoulder widths: the
    nearest SEEN wrist/pinky/index/thumb landmark of each hand; NaN when none is seen.

    Image coordinates first: a projection never lengthens a distance, so the image distance is a
    lower bound, and it catches hands clasped behind the head, which MediaPipe's world model put a
    full shoulder width away in depth on the shared photos (world 0.61-1.21 sw, image 0.00-0.05).
    For the person's own hands the world distance less `HAND_DEPTH_ERROR_SW` is a second lower bound,
    and the larger one is kept: it spares a hand that only overlaps the head in the image, like the
    arm out toward a raised camera in bridge__01 (world: 0.45 m in front of the head; left-hand
    readings under 0.3 sw in the holds fall from 61% of frames to none). The allowance is larger
    behind the head, where the hand is hidden and the world depth was wrong on the photos.
    Other people's hands: image only (their world coordinates have their own origin), and only the
    fresh ones (`fresh_others`: stale hands are no evidence; `others_unjudged` says so). The pixel scale
    is `pixels_per_metre` times the world shoulder width; the segments are thickened by `HEAD_RADIUS`
    times the world ear-to-ear distance, so 0 means touching the surface."""
    scale = pixels_per_metre(b)
    sw_m = norm(b.line("w", L.LEFT_SHOULDER, L.RIGHT_SHOULDER))
    radius_m = HEAD_RADIUS * norm(b.line("w", L.LEFT_EAR, L.RIGHT_EAR))
    if not sw_m * scale > 0:
        return np.nan, np.nan, np.nan
    others = fresh_others(others)
    points, seen = b.p[_HANDS], (pose.seen_mask() if seen is None else seen)[_HANDS]
    if others:
        points = np.concatenate([points, *(o.pixel_xy[_HANDS] for o in others)])
        seen = np.concatenate([seen, *(o.seen_mask()[_HANDS] for o in others)])
    d = hand_head_sw(points, head_segments(b), sw_m * scale, radius_m * scale)
    behind = b.w[_HANDS, 2] >= b.w[MID_EAR, 2]   # farther from the camera than the ears: occluded
    depth_error = np.where(behind, HAND_DEPTH_ERROR_SW[1], HAND_DEPTH_ERROR_SW[0])
    own = np.maximum(d[:8], hand_head_sw(b.w[_HANDS], head_segments(b, "w"), sw_m, radius_m) - depth_error)
    return _nearest(own[:4], seen[:4]), _nearest(own[4:], seen[4:8]), _nearest(d[8:], seen[8:])


# --- all of them, with reliability ------------------------------------------------------------------

ONE_STEP_LOWER = {Reliability.HIGH: Reliability.MEDIUM, Reliability.MEDIUM: Reliability.LOW,
                  Reliability.LOW: Reliability.LOW, Reliability.NONE: Reliability.NONE}
_TABLE: dict[View, tuple[Reliability, ...]] = {v: tuple(SPEC[n].reliability[v] for n in MEASURE_NAMES) for v in View}
_LATERAL, _FLOOR, _INCLINATION = _INDEX["trunk_lateral_deg"], _INDEX["trunk_floor_deg"], _INDEX["trunk_inclination_deg"]
_ARM_SUPPORT, _LIFT = _INDEX["arm_support_deg"], _INDEX["trunk_lift_deg"]
_OTHER_HAND = _INDEX["other_hand_head_sw"]
_NECK_FRAME = [_INDEX[n] for n in ("neck_flexion_deg", "neck_rotation_deg", "neck_lateral_deg", "hand_head_left_sw",
                                   "hand_head_right_sw", "other_hand_head_sw")]
_HIP_L, _HIP_R = _INDEX["hip_left_deg"], _INDEX["hip_right_deg"]
_SIGNED = [_INDEX[n] for n in ("hip_flexion_left_deg", "hip_flexion_right_deg", "trunk_flexion_deg",
                               "trunk_rotation_deg", "neck_flexion_deg", "neck_rotation_deg",
                               "neck_lateral_deg", "hand_head_left_sw", "hand_head_right_sw", "other_hand_head_sw")]
_NEVER = {v: np.array([r == Reliability.NONE for r in rels]) for v, rels in _TABLE.items()}


def _raw_values(b: Body, pose: Pose, others: tuple[Pose, ...], seen: np.ndarray,
                posture: Posture = Posture.UNKNOWN) -> np.ndarray:
    """Every measure, before visibility and reliability are applied (NaN where undefined)."""
    values = np.full(len(MEASURE_NAMES), np.nan)
    values[_PAIR_SLOTS] = unsigned_angles(b)
    values[_LATERAL] = 90.0 - values[_LATERAL]
    values[_FLOOR] = abs(90.0 - values[_INCLINATION])
    values[_ARM_SUPPORT] = arm_support_deg(b, seen)
    values[_LIFT] = trunk_lift_deg(b, seen)
    values[_SIGNED] = (hip_flexion_deg(b, "left", values[_HIP_L], posture),
                       hip_flexion_deg(b, "right", values[_HIP_R], posture),
                       trunk_flexion_deg(b),
                       trunk_rotation_deg(b), neck_flexion_deg(b),
                       neck_rotation_deg(b), neck_lateral_deg(b), *hands_at_head_sw(b, pose, others, seen))
    return values


def reliability_for(view: View, marginal, face_on=None) -> tuple[Reliability, ...]:
    """Each measure's reliability read from `view`: the conventions table's entry, raised to MEDIUM
    for a joint whose limb is face-on (`face_on`, see FACE_ON_MAX_DEG) where the view can carry it at
    all, then one step lower where `marginal` (the least visible needed landmark below
    MARGINAL_VISIBILITY: a guess MediaPipe only half sees)."""
    table = _TABLE[view]
    if face_on is not None and face_on.any():
        table = tuple(Reliability.MEDIUM if f and r == Reliability.LOW else r
                      for r, f in zip(table, face_on.tolist()))
    return tuple(ONE_STEP_LOWER[r] if m else r for r, m in zip(table, list(marginal)))


def marginal_of(pose: Pose) -> np.ndarray:
    """(n,) bool: the least visible landmark a measure needs is below MARGINAL_VISIBILITY."""
    score = np.minimum(pose.visibility, pose.presence)[_NEED_IDX].min(axis=1)
    return (score < MARGINAL_VISIBILITY) & _NEED_ANY


def judge(values: np.ndarray, pose: Pose, view: View, seen: np.ndarray | None = None,
          face_on: np.ndarray | None = None,
          marginal: np.ndarray | None = None) -> tuple[np.ndarray, tuple[Reliability, ...]]:
    """Apply the visibility rule and the reliability table: NaN where a needed landmark is not seen
    or the view cannot support the measure; `reliability_for` the view otherwise (`marginal`:
    `marginal_of(pose)` when the caller has it)."""
    seen = (pose.seen_mask() if seen is None else seen) & np.isfinite(pose.world).all(axis=1)
    ok = (seen[_NEED_IDX].all(axis=1) | ~_NEED_ANY) & ~_NEVER[view]
    marginal = marginal_of(pose) if marginal is None else marginal
    return np.where(ok, values, np.nan), reliability_for(view, marginal.tolist(), face_on)


# A head-and-shoulders picture (a laptop webcam) shows no hips. The neck measures and the hand-at-head
# distances need only a trunk direction and a scale, so the hips are then stood in for: the trunk is
# taken as upright (gravity's up: a person at a laptop sits up), its length this many shoulder widths
# (adult trunk, acromion to hip joint, about 0.5 m over a biacromial breadth of about 0.39 m: 1.3),
# the hips as wide as the shoulders. Measures that need real hips (NEEDS) stay unmeasured.
TRUNK_PER_SHOULDER_WIDTH = 1.3
# ... only while the head is above the shoulders: the neck (mid-shoulder -> mid-ear) within this of
# gravity's up. Upright, it leans 18 deg forward at rest (NECK_NEUTRAL_DEG) and about 50 deg more in a
# deep flexion (cervical flexion 45-50 deg, AAOS); past that the head is beside the shoulders - lying or
# bent over - where an upright trunk can't be assumed, and the neck can't be judged without the hips.
UPRIGHT_NECK_MAX_DEG = 70.0


def head_and_shoulders(pose: Pose, seen: np.ndarray) -> tuple[Pose, np.ndarray, bool]:
    """(pose, seen, stand_in): `pose` as it is when its hips are seen or its shoulders are not; else
    a copy with stand-in hips below the shoulders (see TRUNK_PER_SHOULDER_WIDTH), marked seen in
    the returned mask only (the judged visibility is the pose's own), and stand_in True."""
    if seen[list(HIPS)].all() or not seen[list(SHOULDERS)].all():
        return pose, seen, False
    sh = list(SHOULDERS)
    w, px = pose.world.copy(), pose.pixel_xy.copy()
    neck_w = w[list(EARS)].mean(axis=0) - w[sh].mean(axis=0)
    if not angle_between_deg(neck_w, WORLD_UP) <= UPRIGHT_NECK_MAX_DEG:   # NaN: not upright either
        return pose, seen, False
    width_w = w[L.LEFT_SHOULDER] - w[L.RIGHT_SHOULDER]
    trunk_m = TRUNK_PER_SHOULDER_WIDTH * norm(width_w)
    w[list(HIPS)] = w[sh] - WORLD_UP * trunk_m
    if pose.image_size[0] > 0 and pose.image_size[1] > 0:
        # pixels per metre at the shoulders: the larger of the shoulder line's and the neck's ratio
        # (one of them lies near the image plane in any upright view)
        mid_ear_w, mid_ear_p = w[list(EARS)].mean(axis=0), px[list(EARS)].mean(axis=0)
        mid_sh_w, mid_sh_p = w[sh].mean(axis=0), px[sh].mean(axis=0)
        ratios = np.array([norm(px[L.LEFT_SHOULDER] - px[L.RIGHT_SHOULDER]) / norm(width_w),
                           norm(mid_ear_p - mid_sh_p) / norm(mid_ear_w - mid_sh_w)])
        scale = float(np.nanmax(ratios)) if np.isfinite(ratios).any() else np.nan
        px[list(HIPS)] = px[sh] - IMAGE_UP * trunk_m * scale
    size = np.array(pose.image_size, dtype=np.float64)
    xy = px / np.where(size > 0, size, 1.0) if (size > 0).all() else pose.xy.copy()
    if not (size > 0).all():
        xy[list(HIPS)] = np.nan
    stand_in = Pose(xy, pose.z, pose.visibility, pose.presence, w, pose.image_size)
    mask = seen.copy()
    mask[list(HIPS)] = np.isfinite(w[list(HIPS)]).all(axis=1)
    return stand_in, mask, True


def compute_measures(pose: Pose, others: tuple[Pose, ...] = ()) -> Measures:
    """Every measure of `pose`, with the view and posture it was read in.

    `others`: the other people in view (only their hands are used). Pure: the same pose gives the
    same Measures."""
    if pose.is_empty:
        return Measures.empty()
    seen = pose.seen_mask()
    with np.errstate(invalid="ignore", divide="ignore"):
        framed, framed_seen, stand_in = head_and_shoulders(pose, seen)
        b = body_of(framed)
        posture, view = posture_and_view(framed, b.frame, framed_seen)
        if stand_in:   # the view from the shoulders and the face; the posture can't be told
            posture = Posture.UNKNOWN
        values = _raw_values(b, framed, tuple(others), seen, posture)
        if not (stand_in or seen[list(HIPS)].all()):
            values[_NECK_FRAME] = np.nan   # no hips and no upright stand-in: no trunk to read the neck against
    plane_deg = limb_plane_deg(b)
    face_on, marginal = face_on_joints(plane_deg), marginal_of(pose)
    values, reliability = judge(values, pose, view, seen, face_on, marginal)
    # Someone else is there but their hands' distance to this head can't be measured (the head or the
    # shoulders unseen - as when a partner's hands cover the face): missing is no "clear" either.
    unjudged = others_unjudged(tuple(others)) or (bool(fresh_others(tuple(others)))
                                                   and not np.isfinite(values[_OTHER_HAND]))
    return Measures(values, reliability, view, posture, unjudged, face_on, plane_deg, marginal)
