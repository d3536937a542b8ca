"""Which detected pose is the person exercising, chosen stably from frame to frame.

MediaPipe returns up to `num_poses` people in no guaranteed order. The first time someone is seen,
the largest body in the frame (torso box) is taken as the person exercising; after that, the pose
whose torso centre is nearest the previous one is kept, so a partner stepping in does not steal
the coaching. Everyone else is returned as `others` (their hands still count for the neck alert).
"""

from __future__ import annotations

import numpy as np

from coach.pose.core import Pose
from coach.pose.landmarks import TORSO


def torso_centre(pose: Pose) -> np.ndarray:
    """Mean normalised xy of shoulders and hips (NaN when none is finite)."""
    pts = pose.xy[TORSO]
    pts = pts[np.isfinite(pts).all(axis=1)]
    return pts.mean(axis=0) if len(pts) else np.full(2, np.nan)


def body_size(pose: Pose) -> float:
    """Area of the bounding box of all finite landmarks, in normalised units (0 for an empty pose)."""
    pts = pose.xy[np.isfinite(pose.xy).all(axis=1)]
    if len(pts) < 2:
        return 0.0
    span = pts.max(axis=0) - pts.min(axis=0)
    return float(span[0] * span[1])


class PrimaryTracker:
    """Remembers where the person exercising was; `choose(poses)` -> (primary or None, others)."""

    def __init__(self, max_jump: float = 0.25):
        self.max_jump = max_jump  # normalised image distance beyond which the track is re-chosen
        self._last: np.ndarray | None = None

    def choose(self, poses: list[Pose]) -> tuple[Pose | None, tuple[Pose, ...]]:
        poses = [p for p in poses if not p.is_empty]
        if not poses:
            return None, ()
        centres = [torso_centre(p) for p in poses]
        best = None
        if self._last is not None:
            dist = [float(np.linalg.norm(c - self._last)) if np.isfinite(c).all() else np.inf for c in centres]
            i = int(np.argmin(dist))
            if dist[i] <= self.max_jump:
                best = i
        if best is None:
            best = int(np.argmax([body_size(p) for p in poses]))
        if np.isfinite(centres[best]).all():
            self._last = centres[best]
        return poses[best], tuple(p for i, p in enumerate(poses) if i != best)
