"""Movement quality and framing, for the safety rules.

- `near_end_range`: which measures are near the end of their range now: within `near_deg` of an
  edge of the phase band (either side of it) or of a safety limit. Pure.
- `ReversalTracker`: counts velocity reversals of each measure (turning points of a zigzag with a
  minimum swing `amplitude_deg`, so jitter below that noise floor never counts) whose turning point
  was near end range, within the last `window_s`. Bouncing = several of those in a short window.
- `presence`: whether anybody is there at all, how big they are in the frame and how much of them
  is predicted outside it. Pure.
"""

from __future__ import annotations

import math
from collections import Counter, deque

import numpy as np

from coach.landmarks import Landmark as L
from coach.pose import Pose

TORSO = (int(L.LEFT_SHOULDER), int(L.RIGHT_SHOULDER), int(L.LEFT_HIP), int(L.RIGHT_HIP))
FRAME_MARGIN = 0.02  # a landmark further than this outside [0, 1] is "outside the frame"


def presence(pose: Pose) -> tuple[bool, tuple[float, float]]:
    """(seen, (body_size, out_of_frame)) of one pose, from one pass over its landmarks.

    seen          somebody is there: at least two of the four torso landmarks are seen
    body_size     the larger side of the seen landmarks' box, as a fraction of the frame
    out_of_frame  the fraction of landmarks predicted outside the frame
    Both framing numbers are NaN when fewer than two landmarks are seen."""
    seen_mask = pose.seen_mask()
    seen = int(seen_mask[list(TORSO)].sum()) >= 2
    finite = np.isfinite(pose.xy).all(axis=1)
    if seen_mask.sum() < 2:
        return seen, (math.nan, math.nan)
    pts = pose.xy[seen_mask]
    body_size = float((pts.max(axis=0) - pts.min(axis=0)).max())
    xy = pose.xy[finite]
    outside = ((xy < -FRAME_MARGIN) | (xy > 1 + FRAME_MARGIN)).any(axis=1)
    return seen, (body_size, float(outside.mean()))


def near_end_range(values: np.ndarray, edge_distance: np.ndarray, limits: np.ndarray, near_deg: float) -> np.ndarray:
    """(n,) bool: within near_deg of an edge of the phase band (`edge_distance`, NaN = no band), or
    |value| >= limit - near_deg (`limits`, NaN = no limit). NaN values are never near anything."""
    near_band = edge_distance <= near_deg  # NaN compares False, quietly
    near_limit = np.abs(values) >= limits - near_deg
    return np.isfinite(values) & (near_band | near_limit)


class ReversalTracker:
    """Zigzag turning points per measure; `step` returns the largest count, over all measures, of
    reversals in the last `window_s` whose turning point (the extreme) was near end range."""

    def __init__(self, size: int, *, amplitude_deg: float, window_s: float):
        if not amplitude_deg > 0 or not window_s > 0:
            raise ValueError(f"ReversalTracker: expected amplitude_deg > 0 and window_s > 0, "
                             f"got {amplitude_deg}, {window_s}")
        self.amplitude_deg, self.window_s = amplitude_deg, window_s
        self._dir = np.zeros(size)               # +1 rising, -1 falling, 0 not yet known
        self._ext = np.full(size, np.nan)        # extreme since the last turn (or the anchor)
        self._ext_near = np.zeros(size, dtype=bool)  # that extreme was near end range
        self._recent: deque[tuple[float, int]] = deque()  # (time, measure index) of counted reversals

    def step(self, values: np.ndarray, near_end: np.ndarray, t_s: float) -> int:
        v = np.asarray(values, dtype=np.float64)
        lost = ~np.isfinite(v)
        self._dir[lost], self._ext[lost] = 0.0, np.nan
        start = ~lost & ~np.isfinite(self._ext)
        self._set_extreme(start, v, near_end)
        turned = self._turn(v, ~lost & ~start, near_end)
        self._recent.extend((t_s, int(i)) for i in np.flatnonzero(turned))
        return self._count(t_s)

    def _set_extreme(self, mask: np.ndarray, v: np.ndarray, near_end: np.ndarray) -> None:
        self._ext[mask], self._ext_near[mask] = v[mask], near_end[mask]

    def _turn(self, v: np.ndarray, live: np.ndarray, near_end: np.ndarray) -> np.ndarray:
        """Advance the zigzag; True where a reversal whose extreme was near end range completed now."""
        a, d, ext = self.amplitude_deg, self._dir, self._ext  # NaN compares False, quietly
        rising, falling, unknown = live & (d > 0), live & (d < 0), live & (d == 0)
        self._set_extreme((rising & (v > ext)) | (falling & (v < ext)), v, near_end)
        turned = (rising & (ext - v >= a)) | (falling & (v - ext >= a))
        first_up, first_down = unknown & (v - ext >= a), unknown & (ext - v >= a)
        counted = turned & self._ext_near
        d[turned] = -d[turned]
        d[first_up], d[first_down] = 1.0, -1.0
        self._set_extreme(turned | first_up | first_down, v, near_end)
        return counted

    def _count(self, t_s: float) -> int:
        while self._recent and t_s - self._recent[0][0] > self.window_s:
            self._recent.popleft()
        if not self._recent:
            return 0
        return max(Counter(i for _, i in self._recent).values())
