"""Synthetic poses for tests: a 33-landmark skeleton written in the person's own coordinates, posed
by small pure functions, then seen by a camera as a MediaPipe `Pose`.

Body coordinates (metres), used by every function here:
    x = the person's own LEFT, y = UP, z = FORWARD (out of the chest); right-handed (left x up =
    forward); origin between the hips. `standing()` is the neutral skeleton.

Posing functions take a skeleton (a dict Landmark -> (3,) array) and return a new one; they never
mutate their input. Angles in degrees, toward the person's left positive where a side is involved:
    with_hip_flexion(j, "left", 90)     thigh forward: hip angle 180 -> 90
    with_knee_flexion(j, "right", 90)   shin back: knee angle 180 -> 90
    with_elbow_flexion / with_shoulder_flexion (arm raised forward)
    with_trunk_flexion(j, 30)           everything above the hips bends forward about the hip axis
    with_side_bend(j, 20)               trunk leans toward the person's left
    with_twist(j, 30)                   chest turns toward the person's left (about the trunk axis)
    with_head(j, flexion=, rotation=, tilt=)   head about the neck base (tilt + = left ear down)
    with_hand_at(j, "left", point)      moves the whole hand so its wrist sits at `point`
Whole-body postures (from the neutral skeleton): standing, seated_on_floor, seated_on_chair,
kneeling, all_fours, supine, prone.

For a scripted sequence, ramp the angle per frame and pose each frame afresh, e.g.
    [make_pose(with_twist(seated_on_floor(), 40 * k / 30), "front") for k in range(31)]

`make_pose(skeleton, view=...)` places a camera: view "front" (the person faces the camera), "back",
"left" / "right" (that side of the person toward the camera; "side" = "left"), or a yaw in degrees
(the person turned that far toward their own left from facing the camera). The camera is a
weak-perspective (scaled orthographic) one, so an angle lying in the image plane projects exactly;
`pitch_deg` tilts it down as a camera on a tripod looking at a mat. The world landmarks are the
camera-aligned MediaPipe ones (x image-right, y down, z away from the camera, origin mid-hip).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from coach.pose.core import Pose
from coach.pose.landmarks import Landmark as L

Skeleton = dict[L, np.ndarray]
LEFT, UP, FORWARD = np.eye(3)

SIDES = {"left": 1.0, "right": -1.0}
_NEUTRAL: dict[L, tuple[float, float, float]] = {
    L.NOSE: (0.0, 0.66, 0.153),
    L.LEFT_EYE_INNER: (0.02, 0.69, 0.13), L.LEFT_EYE: (0.035, 0.69, 0.13), L.LEFT_EYE_OUTER: (0.05, 0.69, 0.12),
    L.RIGHT_EYE_INNER: (-0.02, 0.69, 0.13), L.RIGHT_EYE: (-0.035, 0.69, 0.13), L.RIGHT_EYE_OUTER: (-0.05, 0.69, 0.12),
    # the ear midpoint sits 18 deg forward of the trunk axis, seen from the neck base: neutral neck flexion
    L.LEFT_EAR: (0.075, 0.5 + 0.17 * np.cos(np.radians(18)), 0.17 * np.sin(np.radians(18))),
    L.RIGHT_EAR: (-0.075, 0.5 + 0.17 * np.cos(np.radians(18)), 0.17 * np.sin(np.radians(18))),
    L.MOUTH_LEFT: (0.025, 0.62, 0.14), L.MOUTH_RIGHT: (-0.025, 0.62, 0.14),
    L.LEFT_SHOULDER: (0.18, 0.5, 0.0), L.RIGHT_SHOULDER: (-0.18, 0.5, 0.0),
    L.LEFT_ELBOW: (0.18, 0.22, 0.0), L.RIGHT_ELBOW: (-0.18, 0.22, 0.0),
    L.LEFT_WRIST: (0.18, -0.04, 0.0), L.RIGHT_WRIST: (-0.18, -0.04, 0.0),
    L.LEFT_PINKY: (0.19, -0.12, -0.01), L.RIGHT_PINKY: (-0.19, -0.12, -0.01),
    L.LEFT_INDEX: (0.18, -0.13, 0.02), L.RIGHT_INDEX: (-0.18, -0.13, 0.02),
    L.LEFT_THUMB: (0.16, -0.10, 0.03), L.RIGHT_THUMB: (-0.16, -0.10, 0.03),
    L.LEFT_HIP: (0.10, 0.0, 0.0), L.RIGHT_HIP: (-0.10, 0.0, 0.0),
    L.LEFT_KNEE: (0.10, -0.45, 0.0), L.RIGHT_KNEE: (-0.10, -0.45, 0.0),
    L.LEFT_ANKLE: (0.10, -0.88, 0.0), L.RIGHT_ANKLE: (-0.10, -0.88, 0.0),
    L.LEFT_HEEL: (0.10, -0.93, -0.05), L.RIGHT_HEEL: (-0.10, -0.93, -0.05),
    L.LEFT_FOOT_INDEX: (0.10, -0.95, 0.12), L.RIGHT_FOOT_INDEX: (-0.10, -0.95, 0.12),
}
HEAD = (L.NOSE, L.LEFT_EYE_INNER, L.LEFT_EYE, L.LEFT_EYE_OUTER, L.RIGHT_EYE_INNER, L.RIGHT_EYE,
        L.RIGHT_EYE_OUTER, L.LEFT_EAR, L.RIGHT_EAR, L.MOUTH_LEFT, L.MOUTH_RIGHT)


def _side(name: str, side: str) -> L:
    return L[f"{side.upper()}_{name}"]


def hand(side: str) -> tuple[L, ...]:
    return tuple(_side(n, side) for n in ("WRIST", "PINKY", "INDEX", "THUMB"))


def arm(side: str) -> tuple[L, ...]:
    return (_side("ELBOW", side), *hand(side))


def leg(side: str) -> tuple[L, ...]:
    return tuple(_side(n, side) for n in ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX"))


UPPER_BODY = (*HEAD, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, *arm("left"), *arm("right"))


def standing() -> Skeleton:
    """The neutral skeleton: standing tall, arms hanging, head in its neutral carriage."""
    return {lm: np.array(xyz, dtype=float) for lm, xyz in _NEUTRAL.items()}


def rotation(axis: np.ndarray, deg: float) -> np.ndarray:
    """(3, 3) right-hand rotation by `deg` about `axis` (Rodrigues)."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    t = np.radians(deg)
    return np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * kx @ kx


def rotate(joints: Mapping[L, np.ndarray], which: Iterable[L], pivot: np.ndarray, axis: np.ndarray,
           deg: float) -> Skeleton:
    """A copy of `joints` with the landmarks `which` turned by `deg` about `axis` through `pivot`."""
    r, pivot = rotation(axis, deg), np.asarray(pivot, float)
    which = set(which)
    return {lm: (r @ (p - pivot) + pivot if lm in which else p.copy()) for lm, p in joints.items()}


def midpoint(joints: Mapping[L, np.ndarray], a: L, b: L) -> np.ndarray:
    return (joints[a] + joints[b]) / 2


def with_hip_flexion(joints: Mapping[L, np.ndarray], side: str, deg: float) -> Skeleton:
    """The thigh swings forward by `deg`: from standing, the hip angle reads 180 - deg."""
    return rotate(joints, leg(side), joints[_side("HIP", side)], LEFT, -deg)


def with_knee_flexion(joints: Mapping[L, np.ndarray], side: str, deg: float) -> Skeleton:
    """The shin swings back by `deg`: the knee angle reads 180 - deg."""
    return rotate(joints, leg(side)[1:], joints[_side("KNEE", side)], LEFT, deg)


def with_shoulder_flexion(joints: Mapping[L, np.ndarray], side: str, deg: float) -> Skeleton:
    """The arm swings forward and up by `deg`: from arms hanging, the shoulder angle reads deg."""
    return rotate(joints, arm(side), joints[_side("SHOULDER", side)], LEFT, -deg)


def with_elbow_flexion(joints: Mapping[L, np.ndarray], side: str, deg: float) -> Skeleton:
    """The forearm swings forward by `deg`: the elbow angle reads 180 - deg."""
    return rotate(joints, hand(side), joints[_side("ELBOW", side)], LEFT, -deg)


def with_trunk_flexion(joints: Mapping[L, np.ndarray], deg: float) -> Skeleton:
    """Everything above the hips bends forward by `deg` about the hip axis (negative: backward)."""
    return rotate(joints, UPPER_BODY, midpoint(joints, L.LEFT_HIP, L.RIGHT_HIP), LEFT, deg)


def with_side_bend(joints: Mapping[L, np.ndarray], deg: float) -> Skeleton:
    """The trunk leans toward the person's left by `deg` (negative: right), about the forward axis."""
    return rotate(joints, UPPER_BODY, midpoint(joints, L.LEFT_HIP, L.RIGHT_HIP), FORWARD, -deg)


def with_twist(joints: Mapping[L, np.ndarray], deg: float) -> Skeleton:
    """The chest turns toward the person's left by `deg` about the trunk axis, hips still."""
    axis = midpoint(joints, L.LEFT_SHOULDER, L.RIGHT_SHOULDER) - midpoint(joints, L.LEFT_HIP, L.RIGHT_HIP)
    return rotate(joints, UPPER_BODY, midpoint(joints, L.LEFT_HIP, L.RIGHT_HIP), axis, deg)


def with_head(joints: Mapping[L, np.ndarray], flexion: float = 0.0, rotation_deg: float = 0.0,
              tilt: float = 0.0) -> Skeleton:
    """The head turns about the neck base (mid-shoulder) in the trunk's own frame: `flexion` chin to
    chest (+) or looking up (-), `rotation_deg` toward the person's left, `tilt` left ear toward the
    left shoulder. Applied in that order: tilt, then rotation, then flexion."""
    base = midpoint(joints, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    left = joints[L.LEFT_SHOULDER] - joints[L.RIGHT_SHOULDER]
    up = base - midpoint(joints, L.LEFT_HIP, L.RIGHT_HIP)
    up = up - (up @ left) / (left @ left) * left
    forward = np.cross(left, up)
    out = rotate(joints, HEAD, base, forward, -tilt)
    out = rotate(out, HEAD, base, up, rotation_deg)
    return rotate(out, HEAD, base, left, flexion)


def with_hand_at(joints: Mapping[L, np.ndarray], side: str, point: np.ndarray) -> Skeleton:
    """The whole hand moved (not turned) so its wrist sits at `point` (body coordinates)."""
    shift = np.asarray(point, float) - joints[_side("WRIST", side)]
    moved = set(hand(side))
    return {lm: (p + shift if lm in moved else p.copy()) for lm, p in joints.items()}


def _whole(joints: Mapping[L, np.ndarray], axis: np.ndarray, deg: float) -> Skeleton:
    return rotate(joints, joints.keys(), midpoint(joints, L.LEFT_HIP, L.RIGHT_HIP), axis, deg)


def seated_on_floor() -> Skeleton:
    """Sitting tall on the floor, legs straight out in front."""
    return with_hip_flexion(with_hip_flexion(standing(), "left", 90), "right", 90)


def seated_on_chair() -> Skeleton:
    """Sitting tall on a chair: hips and knees at right angles, shins vertical."""
    j = seated_on_floor()
    return with_knee_flexion(with_knee_flexion(j, "left", 90), "right", 90)


def kneeling() -> Skeleton:
    """Kneeling upright: thighs vertical, shins flat on the floor behind."""
    return with_knee_flexion(with_knee_flexion(standing(), "left", 90), "right", 90)


def all_fours() -> Skeleton:
    """On hands and knees: trunk horizontal, thighs and arms vertical."""
    j = _whole(kneeling(), LEFT, 90)   # the kneeling body tips forward: trunk horizontal, thighs back
    j = rotate(j, leg("left") + leg("right"), j[L.LEFT_HIP], LEFT, -90)   # thighs down again
    for side in ("left", "right"):
        j = rotate(j, arm(side), j[_side("SHOULDER", side)], LEFT, -90)   # arms down to the floor
    return j   # the head tipped with the trunk: neck in its neutral carriage, face to the floor


def supine() -> Skeleton:
    """Lying on the back, face up (the standing body turned back by 90 deg about the hip axis)."""
    return _whole(standing(), LEFT, -90)


def prone() -> Skeleton:
    """Lying face down."""
    return _whole(standing(), LEFT, 90)


VIEWS = {"front": 0.0, "left": -90.0, "side": -90.0, "right": 90.0, "back": 180.0}


def to_world(joints: Mapping[L, np.ndarray], view: str | float = "front", pitch_deg: float = 0.0) -> np.ndarray:
    """(33, 3) camera-aligned world landmarks (x image-right, y down, z away from the camera), origin
    mid-hip, for the person turned `view` (see module docstring) before a camera pitched down by
    `pitch_deg`."""
    yaw = VIEWS[view] if isinstance(view, str) else float(view)
    body = np.array([joints[lm] for lm in L], dtype=float)
    body = body - (body[L.LEFT_HIP] + body[L.RIGHT_HIP]) / 2
    body = body @ rotation(UP, yaw).T                       # the person turns toward their left
    level = body * np.array([1.0, -1.0, -1.0])              # facing the camera: left = +x, up = -y, forward = -z
    p = np.radians(pitch_deg)
    cam = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return level @ cam.T


def make_pose(joints: Mapping[L, np.ndarray], view: str | float = "front", *, pitch_deg: float = 0.0,
              visibility: float | Mapping[L, float] = 1.0, presence: float | Mapping[L, float] = 1.0,
              image_size: tuple[int, int] = (1280, 720), pixels_per_metre: float = 250.0,
              centre_px: tuple[float, float] | None = None) -> Pose:
    """A MediaPipe-like `Pose` of the skeleton seen from `view` by a weak-perspective camera.

    `visibility` / `presence`: one value for all landmarks or a mapping (others default to 1.0).
    The mid-hip lands at `centre_px` (default: the image centre); image z is world z on the x scale."""
    world = to_world(joints, view, pitch_deg)
    w, h = image_size
    cx, cy = centre_px if centre_px is not None else (w / 2, h / 2)
    px = np.column_stack([cx + pixels_per_metre * world[:, 0], cy + pixels_per_metre * world[:, 1]])
    xy = px / np.array([w, h], dtype=float)
    z = world[:, 2] * pixels_per_metre / w
    return Pose(xy, z, _scores(visibility), _scores(presence), world, image_size)


def _scores(value: float | Mapping[L, float]) -> np.ndarray:
    if isinstance(value, Mapping):
        out = np.ones(len(L))
        for lm, v in value.items():
            out[int(lm)] = v
        return out
    return np.full(len(L), float(value))


def with_pixels(pose: Pose, pixel_xy: np.ndarray) -> Pose:
    """The same pose with other image coordinates (pixels), world landmarks unchanged."""
    xy = np.asarray(pixel_xy, float) / np.array(pose.image_size, dtype=float)
    return Pose(xy, pose.z, pose.visibility, pose.presence, pose.world, pose.image_size)


def with_world(pose: Pose, world: np.ndarray) -> Pose:
    """The same pose with other world landmarks, image unchanged."""
    return Pose(pose.xy, pose.z, pose.visibility, pose.presence, world, pose.image_size)
