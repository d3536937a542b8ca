"""Smoothing of measure vectors: a causal One Euro filter for live use and a zero-phase smoother for
offline analysis. Both are NaN-aware: a NaN input is "not seen", never a number.

Live (`OneEuroFilter`, Casiez et al., CHI 2012): a low-pass filter whose cutoff rises with speed,
so a still pose is smoothed hard (jitter gone) and a moving one follows with little lag. It also
returns a filtered speed (units per second: the slope of the smoothed value, low-passed) that the
engine uses for stillness and for the ballistic rule. Per measure:
- a NaN sample within `max_gap_s` of the last seen one holds the last smoothed value (flagged
  `filled`), with the speed NaN (unknown);
- a NaN gap longer than `max_gap_s` gives NaN; the next seen value restarts the filter there
  (no smoothing across a long gap, no jump dragged in from the past).
Tuning (the values live in `coach.engine.core.EngineSettings`): MediaPipe angle jitter on a still person
is a few degrees at 25-60 fps. `min_cutoff_hz` 1.0 brings that to about +-1 deg; `beta` 0.02 (per
deg/s) opens the cutoff to ~3 Hz at 100 deg/s so real movement lags by less than ~0.1 s;
`d_cutoff_hz` 1.0 smooths the speed estimate enough to compare it with a stillness threshold.

Offline (`smooth_series`): short gaps are interpolated linearly, then each seen run is filtered
with a Savitzky-Golay filter (symmetric window: zero phase, no lag); long gaps stay NaN.
`series_speed` gives the matching zero-phase derivative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_DT_S = 1e-4  # samples closer together than this count as the same instant (no speed from 0/0)


def _alpha(cutoff_hz: np.ndarray | float, dt_s: np.ndarray) -> np.ndarray:
    tau_s = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau_s / dt_s)


@dataclass(frozen=True, eq=False)
class Smoothed:
    """One filtered sample: `values` (NaN = unknown), `speed_per_s` (NaN = unknown), `filled` = held over a gap."""

    values: np.ndarray
    speed_per_s: np.ndarray
    filled: np.ndarray


class OneEuroFilter:
    """Causal One Euro filter over a vector of `size` measures; call with (values, t_s).

    The value follows Casiez et al.: the raw speed (from the previous raw sample) is low-passed at
    `d_cutoff_hz` and opens the value's cutoff. The speed *reported* is the slope of the smoothed
    value, low-passed again at `d_cutoff_hz`: steadier on a still pose, and still exact on a ramp.
    """

    def __init__(self, size: int, *, min_cutoff_hz: float, beta: float, d_cutoff_hz: float, max_gap_s: float):
        for name, value in (("min_cutoff_hz", min_cutoff_hz), ("d_cutoff_hz", d_cutoff_hz)):
            if not value > 0:
                raise ValueError(f"OneEuroFilter {name}: expected > 0, got {value}")
        if beta < 0 or max_gap_s < 0 or size < 1:
            raise ValueError(f"OneEuroFilter: expected size >= 1, beta >= 0, max_gap_s >= 0; "
                             f"got size={size}, beta={beta}, max_gap_s={max_gap_s}")
        self.min_cutoff_hz, self.beta, self.d_cutoff_hz, self.max_gap_s = min_cutoff_hz, beta, d_cutoff_hz, max_gap_s
        self._raw = np.full(size, np.nan)      # last raw sample per measure
        self._x = np.full(size, np.nan)        # smoothed value per measure
        self._dx = np.zeros(size)              # smoothed raw speed (drives the cutoff)
        self._v = np.zeros(size)               # smoothed slope of the smoothed value (reported)
        self._seen_t = np.full(size, -np.inf)  # time each measure was last seen
        self._t_s: float | None = None

    @classmethod
    def passthrough(cls, size: int, *, max_gap_s: float) -> OneEuroFilter:
        """No smoothing (for values smoothed already, e.g. offline): infinite cutoffs make every
        low-pass step the identity, so the speed is the plain finite difference; the NaN gap
        rules stay the same."""
        return cls(size, min_cutoff_hz=math.inf, beta=0.0, d_cutoff_hz=math.inf, max_gap_s=max_gap_s)

    def __call__(self, values: np.ndarray, t_s: float) -> Smoothed:
        x = np.asarray(values, dtype=np.float64)
        if x.shape != self._x.shape:
            raise ValueError(f"OneEuroFilter: expected {self._x.shape[0]} values, got shape {x.shape}")
        if not np.isfinite(t_s):
            raise ValueError(f"OneEuroFilter: expected a finite time, got {t_s}")
        t_s = float(t_s) if self._t_s is None else max(float(t_s), self._t_s)  # time never runs back
        self._t_s = t_s
        seen = np.isfinite(x)
        age_s = t_s - self._seen_t
        fresh = age_s > MIN_DT_S  # a sample closer than MIN_DT_S to the last one is a repeat: ignored
        live = seen & np.isfinite(self._x) & (age_s <= self.max_gap_s) & fresh
        restart = seen & ~live & fresh
        self._update_live(x, live, age_s)
        self._raw[restart], self._x[restart], self._dx[restart], self._v[restart] = x[restart], x[restart], 0.0, 0.0
        self._seen_t[live | restart] = t_s
        held = ~seen & (t_s - self._seen_t <= self.max_gap_s)
        self._x[~seen & ~held] = np.nan
        speed = np.where(live, self._v, np.nan)  # one sample after a restart gives no speed
        return Smoothed(self._x.copy(), speed, held & np.isfinite(self._x))

    def _update_live(self, x: np.ndarray, live: np.ndarray, age_s: np.ndarray) -> None:
        if not live.any():
            return
        dt_s = age_s[live]
        a_d = _alpha(self.d_cutoff_hz, dt_s)
        dx = (x[live] - self._raw[live]) / dt_s
        dx_hat = self._dx[live] + a_d * (dx - self._dx[live])
        cutoff_hz = self.min_cutoff_hz + self.beta * np.abs(dx_hat)
        prev = self._x[live]
        x_hat = prev + _alpha(cutoff_hz, dt_s) * (x[live] - prev)
        self._v[live] += a_d * ((x_hat - prev) / dt_s - self._v[live])
        self._x[live], self._dx[live], self._raw[live] = x_hat, dx_hat, x[live]


def fill_short_gaps(t_s: np.ndarray, column: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linear interpolation across NaN gaps no longer than `max_gap_s` (edges are never extrapolated)."""
    out = np.array(column, dtype=np.float64)
    seen = np.flatnonzero(np.isfinite(out))
    if len(seen) < 2:
        return out
    for a, b in zip(seen[:-1], seen[1:]):
        if b - a > 1 and t_s[b] - t_s[a] <= max_gap_s:
            out[a + 1:b] = np.interp(t_s[a + 1:b], [t_s[a], t_s[b]], [out[a], out[b]])
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index runs where mask is True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2]))


def _savgol_column(t_s: np.ndarray, column: np.ndarray, window_s: float, deriv: int) -> np.ndarray:
    from scipy.signal import savgol_filter  # offline only; importing scipy.signal costs ~1 s

    out = np.full(len(column), np.nan)
    for a, b in _runs(np.isfinite(column)):
        n = b - a
        dt_s = float(np.median(np.diff(t_s[a:b]))) if n > 1 else 0.0
        if n < 5 or dt_s <= 0:
            out[a:b] = column[a:b] if deriv == 0 else np.nan
            continue
        window = min(n if n % 2 else n - 1, max(5, int(round(window_s / dt_s)) | 1))
        out[a:b] = savgol_filter(column[a:b], window, polyorder=2, deriv=deriv, delta=dt_s)
    return out


def _check_series(t_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t_s = np.asarray(t_s, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != t_s.shape[0]:
        raise ValueError(f"smooth_series: expected values (T, n) with T = len(t_s) = {len(t_s)}, got {values.shape}")
    if len(t_s) > 1 and not (np.diff(t_s) > 0).all():
        raise ValueError("smooth_series: t_s must be strictly increasing")
    return t_s, values


def smooth_series(t_s: np.ndarray, values: np.ndarray, *, window_s: float, max_gap_s: float) -> np.ndarray:
    """Zero-phase smoothing of a (T, n) measures series; NaN where a measure was unseen for > max_gap_s."""
    t_s, values = _check_series(t_s, values)
    cols = [_savgol_column(t_s, fill_short_gaps(t_s, values[:, j], max_gap_s), window_s, 0)
            for j in range(values.shape[1])]
    return np.column_stack(cols) if cols else values.copy()


def series_speed(t_s: np.ndarray, values: np.ndarray, *, window_s: float, max_gap_s: float) -> np.ndarray:
    """Zero-phase derivative (units per second) of a (T, n) series, NaN where unknown."""
    t_s, values = _check_series(t_s, values)
    cols = [_savgol_column(t_s, fill_short_gaps(t_s, values[:, j], max_gap_s), window_s, 1)
            for j in range(values.shape[1])]
    return np.column_stack(cols) if cols else values.copy()
