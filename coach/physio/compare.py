"""How close a patient gets to a demonstration: dynamic time warping on the measures. Pure.

    comparison = compare_series(patient, reference, taught)     # two MeasureSeries + what was taught

1. Key series (`KeySeries`): the taught envelope's keys, read per frame for the side that frame shows
   (`coach.engine.envelope.detect_side`, carried over frames where it can't be told) and toward that side,
   so a patient working the right side is compared with a demonstration of the left.
   A reading below its band's `min_reliability` in the view that frame was filmed from is not read
   (NaN): the patient is judged only on what their own view reads reliably, as the engine judges them.
2. Both series are resampled to `rate_hz` on a common clock; gaps are interpolated (NaN never reaches
   the warping); a key the patient or the reference reads in under `MIN_READ_SHARE` of its frames is
   left out of the warping and reported as left out (`LeftOut`: whose view, which view).
3. Each key is z-normalised by the *reference's* mean and spread (the same scale for both, so a
   smaller range of motion stays smaller) and the multi-measure series are aligned by DTW
   (`dtaidistance.dtw_ndim` when installed, a numpy DTW otherwise).
4. Deviation per key, in the key's unit (degrees): the mean |patient - reference| over the aligned
   pairs, overall and at the reference's holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coach.engine.envelope import detect_side, resolve_key, toward_side
from coach.engine.exercises import Exercise
from coach.measure.conventions import RELIABILITY_RANK, SPEC, Reliability, View
from coach.physio.teach import MeasureSeries, Taught
from coach.physio.teach_holds import HeldSpan

RATE_HZ = 10.0          # warping rate: stretches change over seconds; 10 Hz keeps DTW small
MIN_SCALE = 5.0         # z-normalising divides by at least this (deg): a still reference is not noise-scaled
# A key read (at its band's reliability) in under a fifth of a series' frames is left out: teach's own
# rule for a measure too seldom read to judge (`coach.physio.teach_people.column`); interpolating a few
# readings over the rest would compare the patient with a guess.
MIN_READ_SHARE = 0.2


@dataclass(frozen=True, eq=False)
class KeySeries:
    """A series read as the envelope keys: `values` (T, K) on the clock `t_s`, NaN = not seen."""

    t_s: np.ndarray
    keys: tuple[str, ...]
    values: np.ndarray


@dataclass(frozen=True)
class MeasureDeviation:
    """One envelope key: how far the patient was from the demonstration (NaN = not measured)."""

    key: str
    unit: str
    overall: float           # mean |patient - reference| over all aligned pairs
    at_holds: float          # ... over the pairs where the reference is holding
    reference_at_holds: float
    patient_at_holds: float


@dataclass(frozen=True)
class LeftOut:
    """A key the comparison leaves out: `who` ("patient" / "demonstration") reads it at its band's
    reliability in under MIN_READ_SHARE of the frames, mostly filmed from `view`."""

    key: str
    who: str
    view: str
    min_reliability: str
    read_share: float
    reason: str = "view"     # "view": not read reliably from it; "side": a {side} key, and no side was told

    def __post_init__(self):
        if self.who not in ("patient", "demonstration") or not 0 <= self.read_share < MIN_READ_SHARE \
                or self.reason not in ("view", "side"):
            raise ValueError(f"LeftOut: expected who patient/demonstration, a share below {MIN_READ_SHARE} and "
                             f"a reason view/side, got {self.who!r} {self.read_share} {self.reason!r}")


@dataclass(frozen=True, eq=False)
class Comparison:
    deviations: tuple[MeasureDeviation, ...]
    path: np.ndarray             # (L, 2) aligned (patient index, reference index) on the resampled clocks
    patient_t_s: np.ndarray      # the resampled clocks
    reference_t_s: np.ndarray
    patient: np.ndarray          # (P, K) resampled, gap-filled features
    reference: np.ndarray        # (R, K)
    left_out: tuple[LeftOut, ...] = ()

    @property
    def overall(self) -> float:
        """Mean of the keys' overall deviations (deg); NaN when nothing could be compared."""
        return _mean([d.overall for d in self.deviations])

    @property
    def at_holds(self) -> float:
        return _mean([d.at_holds for d in self.deviations])

    def reference_time_for(self, patient_t_s: float) -> float:
        """The reference time aligned with a patient time (the path's first match at or after it)."""
        i = int(np.clip(np.searchsorted(self.patient_t_s, patient_t_s), 0, len(self.patient_t_s) - 1))
        j = self.path[np.searchsorted(self.path[:, 0], i), 1] if len(self.path) else 0
        return float(self.reference_t_s[min(int(j), len(self.reference_t_s) - 1)])


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def envelope_keys(exercise: Exercise) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for p in exercise.phases for k in p.envelope))


def frame_sides(series: MeasureSeries, exercise: Exercise) -> list[str | None]:
    """Each frame's side by the exercise's rule, carried forward (and back to the start) over frames
    where it can't be told; all None without sides."""
    if exercise.sides == "none":
        return [None] * len(series)
    sides = [detect_side(exercise, series.measures_at(i)) for i in range(len(series))]
    last = next((s for s in sides if s is not None), None)
    out = []
    for side in sides:
        last = side or last
        out.append(last)
    return out


def needed_rank(exercise: Exercise, key: str) -> int:
    """The reliability rank a key's band needs (the least strict of the phases that band it)."""
    return min(RELIABILITY_RANK[Reliability(p.envelope[key].min_reliability)] for p in exercise.phases if key in p.envelope)


def features(series: MeasureSeries, exercise: Exercise) -> KeySeries:
    """The envelope keys per frame, resolved and read toward each frame's side; NaN where the frame's
    reading is below the band's min_reliability (for the view it was filmed from)."""
    keys, sides = envelope_keys(exercise), frame_sides(series, exercise)
    index = {name: i for i, name in enumerate(SPEC)}
    need = [needed_rank(exercise, key) for key in keys]
    values = np.full((len(series), len(keys)), np.nan)
    for t, side in enumerate(sides):
        for k, key in enumerate(keys):
            name = resolve_key(key, side if exercise.sides != "none" else None)
            if name is not None and series.rank[t, index[name]] >= need[k]:
                values[t, k] = toward_side(name, series.values[t, index[name]], side)
    return KeySeries(series.t_s, keys, values)


def main_view(series: MeasureSeries) -> str:
    """The view most of a series' frames were filmed from ("unknown" when none could be told)."""
    told = [v.value for v in series.views if v != View.UNKNOWN]
    return max(dict.fromkeys(told), key=told.count) if told else View.UNKNOWN.value


def read_shares(f: KeySeries) -> np.ndarray:
    """(K,) the share of frames each key was read in (0 for an empty series)."""
    return np.isfinite(f.values).mean(axis=0) if len(f.t_s) else np.zeros(len(f.keys))


def resample(f: KeySeries, rate_hz: float = RATE_HZ) -> KeySeries:
    """On a regular clock from the first to the last frame; NaN gaps interpolated, ends held."""
    if len(f.t_s) == 0:
        return KeySeries(np.empty(0), f.keys, np.empty((0, len(f.keys))))
    grid = np.arange(f.t_s[0], f.t_s[-1] + 0.5 / rate_hz, 1.0 / rate_hz)
    cols = []
    for k in range(len(f.keys)):
        seen = np.isfinite(f.values[:, k])
        cols.append(np.interp(grid, f.t_s[seen], f.values[seen, k]) if seen.any() else np.full(len(grid), np.nan))
    return KeySeries(grid, f.keys, np.column_stack(cols) if cols else np.empty((len(grid), 0)))


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(L, 2) optimal warping path between (P, K) and (R, K) series (squared Euclidean local cost)."""
    a, b = np.ascontiguousarray(a, dtype=np.float64), np.ascontiguousarray(b, dtype=np.float64)
    try:
        from dtaidistance import dtw, dtw_ndim
    except ImportError:
        return numpy_dtw_path(a, b)
    if a.shape[1] == 1:   # dtw_ndim wants two or more dimensions
        return np.array(dtw.warping_path(a[:, 0].copy(), b[:, 0].copy(), use_c=True), dtype=np.int64).reshape(-1, 2)
    return np.array(dtw_ndim.warping_path(a, b, use_c=True), dtype=np.int64).reshape(-1, 2)


def numpy_dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same DTW in numpy (row by row; fine at 10 Hz for minutes of input)."""
    cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    acc = np.full((len(a) + 1, len(b) + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        row = cost[i - 1]
        diag_up = np.minimum(acc[i - 1, :-1], acc[i - 1, 1:]) + row
        for j in range(1, len(b) + 1):   # the left neighbour depends on this row: a scan
            acc[i, j] = min(diag_up[j - 1], acc[i, j - 1] + row[j - 1])
    return _backtrack(acc)


def _backtrack(acc: np.ndarray) -> np.ndarray:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    path = [(i - 1, j - 1)]
    while (i, j) != (1, 1):
        steps = [(i - 1, j - 1), (i - 1, j), (i, j - 1)]
        i, j = min((s for s in steps if s[0] >= 1 and s[1] >= 1), key=lambda s: acc[s])
        path.append((i - 1, j - 1))
    return np.array(path[::-1], dtype=np.int64)


def _normalised(patient: np.ndarray, reference: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = reference[:, usable].mean(axis=0)
    scale = np.maximum(reference[:, usable].std(axis=0), MIN_SCALE)
    return (patient[:, usable] - mean) / scale, (reference[:, usable] - mean) / scale


def _in_spans(t_s: np.ndarray, spans: tuple[HeldSpan, ...]) -> np.ndarray:
    inside = np.zeros(len(t_s), dtype=bool)
    for s in spans:
        inside |= (t_s >= s.start_s) & (t_s <= s.end_s)
    return inside


def _deviation(key: str, p: np.ndarray, r: np.ndarray, held: np.ndarray) -> MeasureDeviation:
    unit = SPEC[key.replace("{side}", "left").replace("{other}", "right")].unit
    diff = np.abs(p - r)
    if not np.isfinite(diff).any():
        return MeasureDeviation(key, unit, math.nan, math.nan, math.nan, math.nan)
    at = held & np.isfinite(diff)
    means = [float(x[at].mean()) if at.any() else math.nan for x in (diff, r, p)]
    return MeasureDeviation(key, unit, float(np.nanmean(diff)), *means)


def compare_series(patient: MeasureSeries, reference: MeasureSeries, taught: Taught,
                   rate_hz: float = RATE_HZ) -> Comparison:
    """Align the patient with the reference on the taught envelope's keys; deviations per key."""
    exercise = taught.exercise
    pf, rf = features(patient, exercise), features(reference, exercise)
    p_share, r_share = read_shares(pf), read_shares(rf)
    left_out, by_rank = [], {n: r for r, n in RELIABILITY_RANK.items()}
    no_side = {who: exercise.sides != "none" and not any(frame_sides(series, exercise))
               for who, series in (("patient", patient), ("demonstration", reference))}
    for k, key in enumerate(pf.keys):   # the patient's view first: what a physio can act on
        need = by_rank[needed_rank(exercise, key)].value
        for who, share, series in (("patient", p_share[k], patient), ("demonstration", r_share[k], reference)):
            if share < MIN_READ_SHARE:
                reason = "side" if no_side[who] and "{" in key else "view"
                left_out.append(LeftOut(key, who, main_view(series), need, float(share), reason))
                break
    p, r = resample(pf, rate_hz), resample(rf, rate_hz)
    usable = (p_share >= MIN_READ_SHARE) & (r_share >= MIN_READ_SHARE) \
        & np.isfinite(p.values).all(axis=0) & np.isfinite(r.values).all(axis=0)
    if not usable.any() or not len(p.t_s) or not len(r.t_s):
        path = np.empty((0, 2), dtype=np.int64)
    else:
        path = dtw_path(*_normalised(p.values, r.values, usable))
    pi, ri = (path[:, 0], path[:, 1]) if len(path) else (np.empty(0, int), np.empty(0, int))
    held = _in_spans(r.t_s[ri], taught.holds)
    deviations = tuple(_deviation(key, p.values[pi, k], r.values[ri, k], held) if usable[k]
                       else _deviation(key, np.full(len(pi), np.nan), r.values[ri, k], held)
                       for k, key in enumerate(p.keys))
    return Comparison(deviations, path, p.t_s, r.t_s, p.values, r.values, tuple(left_out))
