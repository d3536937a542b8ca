"""Movement quality and framing, for the safety rules.

- `near_end_range`: which measures are near the end of their range now: within `near_deg` of an
  edge of the phase band (either side of it) or of a safety limit. Pure.
- `ReversalTracker`: counts velocity reversals of each measure (turning points of a zigzag with a
  minimum swing: `amplitude_deg`, or per frame a per-measure swing scaled to that measure's noise,
  so jitter below that noise floor never counts) of swings into or out of end range, within the
  last `window_s`; turning points closer together than `min_gap_s` (faster than a body bounces) do
  not count. Bouncing = several of those in a short window.
- `NoiseLevel`: each measure's measurement noise, estimated online from its own recent samples
  (the spread of their second differences, which a smooth movement hardly shows).
- `NetSpeed`: the net rate of change of each measure over a short window (the least-squares slope
  of its measured samples), for stillness: frame-to-frame jitter around a fixed value averages out,
  a steady drift reads at its own speed. Causal, a small ring buffer.
- `presence`: whether anybody is there at all, how big they are in the frame and how much of them
  is predicted outside it. Pure.
"""

from __future__ import annotations

import math
from collections import Counter, deque

import numpy as np

from coach.pose.core import Pose
from coach.pose.landmarks import TORSO

FRAME_MARGIN = 0.02  # a landmark further than this outside [0, 1] is "outside the frame"


def presence(pose: Pose) -> tuple[bool, tuple[float, float]]:
    """(seen, (body_size, out_of_frame)) of one pose, from one pass over its landmarks.

    seen          somebody is there: at least two of the four torso landmarks are seen
    body_size     the larger side of the seen landmarks' box, as a fraction of the frame
    out_of_frame  the fraction of landmarks predicted outside the frame
    Both framing numbers are NaN when fewer than two landmarks are seen."""
    seen_mask = pose.seen_mask()
    seen = int(seen_mask[TORSO].sum()) >= 2
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
    reversals in the last `window_s` of a swing into or out of end range: its turning point (the
    extreme) or the one before was near end range (a +-10 deg bounce at a band's edge turns near it
    only at one end of each swing, and both ends are the bounce).

    `step(values, near_end, t_s, amplitude)`: `amplitude` (n,) is this frame's minimum swing per
    measure (default `amplitude_deg`; NaN = that measure's swings can't be judged now, its zigzag
    restarts). A turning point sooner than `min_gap_s` after the same measure's previous one still
    turns the zigzag but is not counted: a body does not bounce that fast, a jumpy reading does."""

    def __init__(self, size: int, *, amplitude_deg: float, window_s: float, min_gap_s: float = 0.0):
        if not amplitude_deg > 0 or not window_s > 0 or not min_gap_s >= 0:
            raise ValueError(f"ReversalTracker: expected amplitude_deg > 0, window_s > 0 and min_gap_s >= 0, "
                             f"got {amplitude_deg}, {window_s}, {min_gap_s}")
        self.amplitude_deg, self.window_s, self.min_gap_s = amplitude_deg, window_s, min_gap_s
        self._dir = np.zeros(size)               # +1 rising, -1 falling, 0 not yet known
        self._ext = np.full(size, np.nan)        # extreme since the last turn (or the anchor)
        self._ext_near = np.zeros(size, dtype=bool)  # that extreme was near end range
        self._turn_near = np.zeros(size, dtype=bool)  # the last turning point was near end range
        self._last_turn = np.full(size, -np.inf)     # when each measure last turned
        self._recent: deque[tuple[float, int]] = deque()  # (time, measure index) of counted reversals

    def step(self, values: np.ndarray, near_end: np.ndarray, t_s: float,
             amplitude: np.ndarray | None = None) -> int:
        v = np.asarray(values, dtype=np.float64)
        a = np.full(len(v), self.amplitude_deg) if amplitude is None else np.asarray(amplitude, dtype=np.float64)
        lost = ~(np.isfinite(v) & np.isfinite(a))
        self._dir[lost], self._ext[lost], self._turn_near[lost] = 0.0, np.nan, False
        start = ~lost & ~np.isfinite(self._ext)
        self._set_extreme(start, v, near_end)
        turned = self._turn(v, a, ~lost & ~start, near_end, t_s)
        self._recent.extend((t_s, int(i)) for i in np.flatnonzero(turned))
        return self._count(t_s)

    def _set_extreme(self, mask: np.ndarray, v: np.ndarray, near_end: np.ndarray) -> None:
        self._ext[mask], self._ext_near[mask] = v[mask], near_end[mask]

    def _turn(self, v: np.ndarray, a: np.ndarray, live: np.ndarray, near_end: np.ndarray, t_s: float) -> np.ndarray:
        """Advance the zigzag; True where a reversal whose extreme was near end range completed now."""
        d, ext = self._dir, self._ext  # NaN compares False, quietly
        rising, falling, unknown = live & (d > 0), live & (d < 0), live & (d == 0)
        self._set_extreme((rising & (v > ext)) | (falling & (v < ext)), v, near_end)
        turned = (rising & (ext - v >= a)) | (falling & (v - ext >= a))
        first_up, first_down = unknown & (v - ext >= a), unknown & (ext - v >= a)
        spaced = t_s - self._last_turn >= self.min_gap_s - 1e-9
        # a swing into or out of end range: either of its turning points was near it
        counted = turned & (self._ext_near | self._turn_near) & spaced
        self._last_turn[turned] = t_s
        self._turn_near[turned] = self._ext_near[turned]
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


# White noise of SD s has second differences x[i+1] - 2 x[i] + x[i-1] of SD s * sqrt(6); a smooth
# movement hardly shows in them (a 2 Hz swing of +-10 deg sampled at 30 fps: second differences of
# at most 10 * (2 pi 2 / 30)^2 = 1.8 deg), so they measure the noise without the movement.
SECOND_DIFFERENCE_SD = math.sqrt(6.0)
MIN_NOISE_SAMPLES = 8  # fewer second differences than this in the window: the noise is unknown (NaN)


class NoiseLevel:
    """Per measure, the SD of its measurement noise over the last `window_s`: the root mean square of
    the second differences of consecutive measured samples, / sqrt(6). Not a robust SD on purpose:
    MediaPipe's jitter is heavy-tailed (the lite bridge's head tilt jumps 40 deg between frames now and
    then), and those jumps are what a zigzag would count as reversals, so a measure that jumps gets a
    swing threshold to match. NaN until MIN_NOISE_SAMPLES second differences are in the window.
    `step(values, t_s)` takes NaN where a measure was not measured."""

    def __init__(self, size: int, *, window_s: float):
        if not window_s > 0:
            raise ValueError(f"NoiseLevel: expected window_s > 0, got {window_s}")
        self.window_s = window_s
        self._t = np.full(RING_ROWS, np.nan)
        self._d2 = np.full((RING_ROWS, size), np.nan)   # second difference ending at each row's frame
        self._prev = np.full((2, size), np.nan)         # the two previous frames' values
        self._next = 0

    def step(self, values: np.ndarray, t_s: float) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        row = self._next % RING_ROWS
        self._t[row], self._d2[row] = t_s, v - 2 * self._prev[1] + self._prev[0]
        self._prev = np.stack([self._prev[1], v])
        self._next += 1
        d2 = self._d2[self._t >= t_s - self.window_s - 1e-9]   # NaN (empty rows) compares False, quietly
        seen = np.isfinite(d2)
        n = seen.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ms = np.where(seen, d2 * d2, 0.0).sum(axis=0) / n
        return np.where(n >= MIN_NOISE_SAMPLES, np.sqrt(ms) / SECOND_DIFFERENCE_SD, np.nan)


RING_ROWS = 64       # ring buffer rows: a 0.8 s window at 60 fps fits (a faster stream judges fewer)
MIN_SAMPLES = 3      # a slope and its standard error (one degree of freedom) need this many samples


class NetSpeed:
    """Per measure, how fast it is surely changing: the least-squares slope (units per second) of
    its measured samples within the last `window_s`, less `noise_k` standard errors of that slope
    (never below 0). Jitter around a fixed value averages out of the slope and widens its error,
    so it reads ~0; a steady drift has no error and reads at its own speed. NaN (unknown) where
    fewer than MIN_SAMPLES were measured or they span less than `min_span_s`.
    `step(values, t_s)` takes NaN where a measure was not measured this frame (a value the smoother
    only held over a gap is not evidence of anything)."""

    def __init__(self, size: int, *, window_s: float, min_span_s: float, noise_k: float,
                 max_rate_hz: float = math.inf):
        if not 0 < min_span_s <= window_s or noise_k < 0 or not max_rate_hz > 0:
            raise ValueError(f"NetSpeed: expected 0 < min_span_s <= window_s, noise_k >= 0 and max_rate_hz > 0, "
                             f"got {min_span_s}, {window_s}, {noise_k}, {max_rate_hz}")
        self.window_s, self.min_span_s, self.noise_k, self.max_rate_hz = window_s, min_span_s, noise_k, max_rate_hz
        self._t = np.full(RING_ROWS, np.nan)
        self._v = np.full((RING_ROWS, size), np.nan)
        self._next = 0

    def step(self, values: np.ndarray, t_s: float) -> np.ndarray:
        row = self._next % RING_ROWS
        self._t[row], self._v[row] = t_s, values
        self._next += 1
        rows = self._t >= t_s - self.window_s - 1e-9  # NaN (empty rows) compares False, quietly
        t = (self._t[rows] - t_s)[:, None]
        v = self._v[rows]
        seen = np.isfinite(v)
        n = seen.sum(axis=0)
        span = np.where(seen, t, -np.inf).max(axis=0) - np.where(seen, t, np.inf).min(axis=0)
        ok = (n >= MIN_SAMPLES) & (span >= self.min_span_s - 1e-9)
        # the samples a max_rate_hz stream would give over the same span (span is -inf where none was seen)
        counted = n if math.isinf(self.max_rate_hz) else np.minimum(n, np.maximum(span, 0.0) * self.max_rate_hz + 1)
        return np.where(ok, _sure_slope(seen, n, t, v, self.noise_k, counted), np.nan)


def _sure_slope(seen: np.ndarray, n: np.ndarray, t: np.ndarray, v: np.ndarray, k: float,
                counted: np.ndarray) -> np.ndarray:
    """max(0, |slope| - k * standard error) per column of (rows, columns) samples; `seen` marks the
    samples, `n` counts them per column, `counted` how many of them the error may count on (it grows
    by sqrt(n / counted): the same scatter over more samples is no surer when their noise is not
    independent); `t` is (rows, 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        nn = np.maximum(n, 1)
        mt = np.where(seen, t, 0.0).sum(axis=0) / nn
        mv = np.where(seen, v, 0.0).sum(axis=0) / nn
        tc, vc = np.where(seen, t - mt, 0.0), np.where(seen, v - mv, 0.0)
        sxx, sxy, syy = (tc * tc).sum(axis=0), (tc * vc).sum(axis=0), (vc * vc).sum(axis=0)
        slope = sxy / sxx
        se = np.sqrt(np.maximum(syy - slope * sxy, 0.0) / np.maximum(n - 2, 1) / sxx * n / counted)
        return np.maximum(np.abs(slope) - k * se, 0.0)
