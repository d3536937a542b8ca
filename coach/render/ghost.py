"""The demonstrator's pose placed on the patient's body, for `Overlay.annotate(..., ghost=...)`. Pure.

    ghost = ghost_pose(reference_pose, patient_pose)     # a Pose in the patient's image coordinates

A similarity transform without rotation, in pixels (so the aspect ratio is right): the demonstrator's
mid-hip goes onto the patient's, scaled so the two torsos (mid-hip to mid-shoulder) are equally long,
and mirrored left-right when the two face opposite ways along the image (one lying head-left, the
other head-right). No rotation: a trunk that leans less than the demonstration's must show as such.
`offset_torsos` moves the ghost sideways by that many torso lengths, to draw it beside the person.
Without a seen torso in either pose the ghost is `Pose.empty()`: nothing is drawn.
"""

from __future__ import annotations

import math

import numpy as np

from coach.pose.core import Pose
from coach.pose.landmarks import Landmark as L

_SHOULDERS, _HIPS, _EARS = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER], [L.LEFT_HIP, L.RIGHT_HIP], [L.LEFT_EAR, L.RIGHT_EAR]
LYING_DX = 0.5     # trunk this much along the image's x (in torso lengths): the body points that way
FACING_DX = 0.05   # nose this far to one side of the ears (torso lengths): the face points that way


def torso_px(pose: Pose) -> tuple[np.ndarray, float] | None:
    """(mid-hip in pixels, torso length in pixels), or None when the shoulders and hips are not seen."""
    seen = pose.seen_mask()
    if pose.is_empty or not seen[_SHOULDERS + _HIPS].all() or min(pose.image_size) <= 0:
        return None
    p = pose.pixel_xy
    hip, shoulder = p[_HIPS].mean(axis=0), p[_SHOULDERS].mean(axis=0)
    length = float(np.linalg.norm(shoulder - hip))
    return (hip, length) if length > 1e-6 else None


def facing_x(pose: Pose) -> int:
    """+1 / -1: the way the body points along the image's x (the trunk when lying or bent over, else the
    nose against the ears); 0 when it can't be told (facing the camera, landmarks unseen)."""
    found = torso_px(pose)
    if found is None:
        return 0
    hip, length = found
    p, seen = pose.pixel_xy, pose.seen_mask()
    trunk_dx = (p[_SHOULDERS].mean(axis=0)[0] - hip[0]) / length
    if abs(trunk_dx) >= LYING_DX:
        return int(math.copysign(1, trunk_dx))
    if seen[L.NOSE] and seen[_EARS].all():
        nose_dx = (p[L.NOSE][0] - p[_EARS].mean(axis=0)[0]) / length
        if abs(nose_dx) >= FACING_DX:
            return int(math.copysign(1, nose_dx))
    return 0


def ghost_pose(reference: Pose, person: Pose, offset_torsos: float = 0.0) -> Pose:
    """The reference pose moved, scaled (and mirrored if needed) onto `person`'s body; see the module doc."""
    ref, own = torso_px(reference), torso_px(person)
    if ref is None or own is None:
        return Pose.empty(person.image_size)
    (ref_hip, ref_len), (own_hip, own_len) = ref, own
    scale = np.array([own_len / ref_len, own_len / ref_len])
    a, b = facing_x(reference), facing_x(person)
    if a and b and a != b:
        scale[0] = -scale[0]
    xy_px = (reference.pixel_xy - ref_hip) * scale + own_hip + np.array([offset_torsos * own_len, 0.0])
    xy = xy_px / np.array(person.image_size, dtype=np.float64)
    return Pose(xy, reference.z, reference.visibility, reference.presence, reference.world, person.image_size)
