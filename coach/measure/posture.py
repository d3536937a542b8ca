"""Posture (standing, seated, kneeling, all fours, prone, supine) and camera view (front, back, side,
oblique) from one pose's landmark geometry. Pure functions; `Posture.UNKNOWN` / `View.UNKNOWN` when
the shoulders and hips are not seen.

Both read MediaPipe's WORLD landmarks: metres, origin between the hips, camera-aligned axes (x to the
image's right, y down, z away from the camera). They are view-independent, which a posture needs: a
2D image cannot tell a thigh pointing at the camera from a short one. "Vertical" is world -y, i.e.
the camera is assumed roughly level; the view also copes with a camera tilted down at a person
lying on the floor (see `classify_view`).

Body axes (`body_axes`): left = the person's own left (shoulder line from right to left), up = the
trunk axis (mid-hip -> mid-shoulder), forward = left x up, out of the chest.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from coach.measure.conventions import Posture, View
from coach.measure.geometry import angle_between_deg, body_frame, norm, tilt_from_deg, unit
from coach.pose.core import MIN_VISIBILITY, Pose
from coach.pose.landmarks import Landmark as L

WORLD_UP = np.array([0.0, -1.0, 0.0])     # world y points down
WORLD_DOWN = -WORLD_UP
CAMERA_AXIS = np.array([0.0, 0.0, 1.0])   # from the camera into the scene
_TRUNK = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP]
_KNEES = [L.LEFT_KNEE, L.RIGHT_KNEE]
_PAIRS_A = [L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_EAR]
_PAIRS_B = [L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_EAR]
_FACE = [L.NOSE, L.LEFT_EYE, L.RIGHT_EYE]

# Thresholds, in degrees unless stated; calibrated on the shared recordings (see tests/test_posture.py).
LYING_TRUNK_DEG = 60.0        # trunk further than this from vertical: lying, on all fours, or folded
PRONE_LIFTED_TRUNK_DEG = 30.0  # chest lifted on the arms (prone extension) still counts as lying ...
PRONE_LIFTED_HIP_DEG = 125.0   # ... when the thighs are flat and the hip is open beyond this
THIGH_VERTICAL_DEG = 35.0     # thigh within this of straight down: standing, kneeling, all fours
THIGH_FLAT_DEG = 60.0         # thigh further than this from straight down: lying flat or seated
SHIN_FLAT_DEG = 55.0          # shin further than this from straight down: on the floor (kneeling)
KNEE_STRAIGHT_DEG = 130.0
FOLDED_DEG = 75.0             # hip and knee both below this: folded over the knees (child's pose)
FACE_UP_SCORE = 0.0           # chest_up + 2 * nose_up above this: supine
SIDE_MAX_DEG = 30.0           # camera within this of the shoulder line (floor plane): side-on
FRONT_MIN_DEG = 70.0          # camera within 90 - this of the chest (or head) axis: front / back
FRONT_MIN_LYING_DEG = 80.0    # lying, end-on (camera at the head or feet) needs more: the lying angle is
                              # read about the chest normal, which tips with a lifted pelvis or chest. The
                              # end-on prone_extension__01 reads 82-85; bridge__01's lifts, filmed
                              # oblique, read 61-83 (median 71: 53 % above 70, 14 % above 80)


class BodyFeatures(NamedTuple):
    """What the posture is decided from (world landmarks; NaN when not seen)."""

    trunk_deg: float    # trunk axis from vertical: 0 upright, 90 horizontal
    thigh_deg: float    # mid-hip -> mid-knee from straight down: 0 vertical, 90 horizontal
    shin_deg: float     # mid-knee -> mid-ankle from straight down
    hip_deg: float      # shoulder-hip-knee at the midpoints, 180 = straight
    knee_deg: float     # hip-knee-ankle at the midpoints, 180 = straight
    chest_up: float     # upward component of the chest direction: +1 face up, -1 face down
    nose_up: float      # nose above the ear midpoint, in trunk lengths


def trunk_seen(pose: Pose) -> bool:
    """Both shoulders and both hips seen (the least any posture, view or trunk measure needs)."""
    return bool(pose.seen_mask()[_TRUNK].all())


def body_axes(pose: Pose) -> np.ndarray:
    """(3, 3) world rows (left, up, forward) of the upper trunk: left from the shoulder line, up the
    trunk axis made orthogonal to it, forward = left x up (out of the chest). NaN if degenerate."""
    w = pose.world
    return body_frame(w[L.LEFT_SHOULDER] - w[L.RIGHT_SHOULDER],
                      (w[L.LEFT_SHOULDER] + w[L.RIGHT_SHOULDER] - w[L.LEFT_HIP] - w[L.RIGHT_HIP]) / 2)


def body_features(pose: Pose, axes: np.ndarray | None = None) -> BodyFeatures:
    """The posture features (`axes`: `body_axes(pose)` if already at hand). A knee counts when
    its visibility OR its presence reaches 0.5: the posture is a coarse class and MediaPipe's guess
    for legs hidden behind the body is good enough for it (a prone person filmed head-on: visibility
    0.02, presence 1.0); legs out of the frame (both low) make the leg features NaN."""
    w = pose.world
    shoulder, hip, knee, ankle, ear = (w[_PAIRS_A] + w[_PAIRS_B]) / 2
    if not (np.maximum(pose.visibility[_KNEES], pose.presence[_KNEES]) >= MIN_VISIBILITY).any():
        knee = ankle = np.full(3, np.nan)
    trunk, thigh, shin = shoulder - hip, knee - hip, ankle - knee
    angles = angle_between_deg(np.array([trunk, thigh, shin, trunk, hip - knee]),
                               np.array([WORLD_UP, WORLD_DOWN, WORLD_DOWN, thigh, shin])).tolist()
    axes = body_axes(pose) if axes is None else axes
    trunk_len = norm(trunk)
    return BodyFeatures(*angles, chest_up=float(axes[2] @ WORLD_UP),
                        nose_up=float((w[L.NOSE] - ear) @ WORLD_UP / trunk_len) if trunk_len > 0 else np.nan)


def _is_lying(f: BodyFeatures) -> bool:
    """Trunk near horizontal, or chest lifted on the arms with flat thighs and an open hip."""
    lifted = (f.trunk_deg > PRONE_LIFTED_TRUNK_DEG and f.thigh_deg > THIGH_FLAT_DEG
              and f.hip_deg > PRONE_LIFTED_HIP_DEG)
    return bool(f.trunk_deg > LYING_TRUNK_DEG or lifted)


def _lying_posture(f: BodyFeatures) -> Posture:
    face = f.chest_up + 2.0 * np.nan_to_num(f.nose_up)
    legs_vertical = f.thigh_deg < THIGH_VERTICAL_DEG
    if legs_vertical and f.shin_deg < THIGH_VERTICAL_DEG and f.knee_deg > KNEE_STRAIGHT_DEG:
        return Posture.STANDING   # bent forward from the hips
    if face > FACE_UP_SCORE:
        return Posture.SUPINE
    if f.knee_deg < FOLDED_DEG and f.hip_deg < FOLDED_DEG:
        return Posture.KNEELING   # folded over the knees, as in child's pose
    if legs_vertical and f.shin_deg > SHIN_FLAT_DEG:
        return Posture.ALL_FOURS
    if f.shin_deg < THIGH_VERTICAL_DEG:
        return Posture.SEATED     # feet under the knees, trunk folded forward: bent over in a chair
    return Posture.PRONE


def _upright_posture(f: BodyFeatures) -> Posture:
    if not np.isfinite(f.thigh_deg):
        return Posture.UNKNOWN
    if f.thigh_deg >= THIGH_VERTICAL_DEG:
        return Posture.SEATED     # on the floor or a chair: the thighs are not under the hips
    if f.shin_deg > SHIN_FLAT_DEG and f.knee_deg < KNEE_STRAIGHT_DEG:
        return Posture.KNEELING
    return Posture.STANDING


def _posture_from(f: BodyFeatures) -> Posture:
    if not np.isfinite(f.trunk_deg):
        return Posture.UNKNOWN
    return _lying_posture(f) if _is_lying(f) else _upright_posture(f)


def classify_posture(pose: Pose) -> Posture:
    """Standing / seated / kneeling / all fours / prone / supine, from the world trunk and leg
    directions (thresholds above), face up or down from the chest direction and the nose.

    Lying family (trunk beyond LYING_TRUNK_DEG, or chest lifted over flat thighs and an open hip):
    straight vertical legs -> standing (bent forward); face up -> supine; hip and knee folded ->
    kneeling (child's pose); thighs vertical, shins flat -> all fours; feet under the knees ->
    seated (bent over); else prone. Upright: thighs away from vertical -> seated; shins flat under
    bent knees -> kneeling; else standing (unknown without the legs)."""
    if pose.is_empty or not trunk_seen(pose):
        return Posture.UNKNOWN
    return _posture_from(body_features(pose))


def _lies_on_trunk(posture: Posture, axes: np.ndarray) -> bool:
    """True when the trunk lies along the floor (prone, supine, all fours, folded child's pose)."""
    if posture in (Posture.PRONE, Posture.SUPINE, Posture.ALL_FOURS):
        return True
    if posture == Posture.UNKNOWN:
        return bool(abs(axes[2][1]) > abs(axes[1][1]))  # the chest is more vertical than the trunk
    return bool(tilt_from_deg(axes[1], WORLD_UP) > LYING_TRUNK_DEG)


def view_angle_deg(axes: np.ndarray, posture: Posture) -> tuple[float, float, bool]:
    """(angle between the camera axis and the shoulder line, in the floor plane: 0 = side-on ..
    90 = front or back; facing: < 0 when the chest points toward the camera; lying), from
    `body_axes` and the posture.

    The floor normal is the trunk axis when upright and the chest direction when lying, so a camera
    tilted down at a person on a mat still reads "side" when it stands beside them. The shoulder
    line is used, not the pelvis: MediaPipe's hip line is short and noisy and on the shared
    recordings turns with the shoulders in a twist anyway (agreement with the truth views fell from
    0.86 to 0.82 with the hip line). A seated twist toward the camera therefore reads oblique/front."""
    left, up, forward = axes
    lying = _lies_on_trunk(posture, axes)
    floor_normal = forward if lying else up
    cam = unit(CAMERA_AXIS - (CAMERA_AXIS @ floor_normal) * floor_normal)
    angle = np.degrees(np.arccos(min(abs(float(cam @ left)), 1.0)))
    return float(angle), float(forward @ cam), lying


def _view_from(seen: np.ndarray, axes: np.ndarray, posture: Posture) -> View:
    angle, facing, lying = view_angle_deg(axes, posture)
    if not np.isfinite(angle):
        return View.UNKNOWN
    if angle < SIDE_MAX_DEG:
        return View.SIDE
    if angle <= (FRONT_MIN_LYING_DEG if lying else FRONT_MIN_DEG):
        return View.OBLIQUE
    if not seen[_FACE].any():
        return View.BACK
    face_clear = bool(seen[_FACE].all())   # a "back" reading with the whole face seen is a left/right swap
    return View.BACK if facing > 0 and not lying and not face_clear else View.FRONT


def classify_view(pose: Pose, posture: Posture | None = None) -> View:
    """FRONT (facing the camera), BACK, SIDE (side-on) or OBLIQUE from `view_angle_deg`: side below
    SIDE_MAX_DEG, front/back above FRONT_MIN_DEG (`posture` saves classifying it again). MediaPipe
    often swaps left and right when it cannot see the face, which flips the chest direction, so the
    face decides when it is clear: nose and eyes all unseen is BACK, all seen is FRONT. Lying or on
    all fours, end-on (head or feet toward the camera) reads FRONT unless the face is unseen."""
    if pose.is_empty or not trunk_seen(pose):
        return View.UNKNOWN
    return _view_from(pose.seen_mask(), body_axes(pose), classify_posture(pose) if posture is None else posture)


def posture_and_view(pose: Pose, axes: np.ndarray | None = None,
                     seen: np.ndarray | None = None) -> tuple[Posture, View]:
    """Both classifications, sharing the work (what `compute_measures` calls per frame); `axes`
    and `seen` are `body_axes(pose)` and `pose.seen_mask()` when the caller has them already."""
    seen = pose.seen_mask() if seen is None else seen
    if pose.is_empty or not seen[_TRUNK].all():
        return Posture.UNKNOWN, View.UNKNOWN
    axes = body_axes(pose) if axes is None else axes
    posture = _posture_from(body_features(pose, axes))
    return posture, _view_from(seen, axes, posture)
