"""The held positions of a demonstration (the first half of `coach.physio.teach`). Pure.

    series = MeasureSeries.from_measures(t_s, measures)        # one `Measures` per frame
    holds, rests = find_holds(series)                           # `NoStableHold` when there is none

1. Still frames: the zero-phase speed (`coach.measure.smoothing.series_speed`) of every angle read at medium
   reliability or better - leaving out angles too jittery in this demonstration to tell still from
   moving - through the engine's own `StillTracker` and thresholds (`EngineSettings`).
2. Held positions: still runs of at least `min_hold_s`; neighbours of the same position closer
   than the engine's `grace_s` are one hold. No such run: `NoStableHold`.
3. Rest: a demonstration starts from its start position, so when the still runs show more than one
   position, the runs in the first run's position are rest, the others holds (`rest="none"`: all
   holds).
Sides and bands: `coach.physio.teach_envelope`; the exercise file: `coach.physio.teach_file`; all of it: `coach.physio.teach`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from coach.engine.core import EngineSettings
from coach.engine.holds import StillTracker
from coach.errors import CoachError
from coach.measure.conventions import MEASURE_NAMES, RELIABILITY_RANK, SPEC, Posture, Reliability, View
from coach.measure.measures import Measures
from coach.measure.smoothing import series_speed, smooth_series

MEDIUM_RANK = RELIABILITY_RANK[Reliability.MEDIUM]
# Measures never taught: trunk_floor_deg repeats trunk_inclination_deg (and trunk_lift_deg restates it
# for a body lying down, its floor line aimed by jittery ankles), and trunk_flexion_deg and
# hip_flexion_*_deg repeat it and hip_*_deg with a sign (one band per angle); pelvic tilt is never
# measured; hands at the head are the safety rules' business.
NOT_TAUGHT = frozenset({"trunk_floor_deg", "trunk_lift_deg", "trunk_flexion_deg", "hip_flexion_left_deg", "hip_flexion_right_deg",
                        "pelvic_tilt_deg", "hand_head_left_sw",
                        "hand_head_right_sw", "other_hand_head_sw"})
ANGLES = np.array([SPEC[n].unit == "deg" and n not in NOT_TAUGHT for n in MEASURE_NAMES])


class TeachError(CoachError):
    """A demonstration an exercise cannot be taught from; the message names the demonstration."""


class NoStableHold(TeachError):
    """The demonstration never holds one position still long enough to learn it from."""


class NobodySeen(TeachError):
    """No frame of the demonstration shows a person (blank frames, a recording with no poses)."""


@dataclass(frozen=True)
class TeachSettings:
    """Every teach default. Degrees, seconds. The noise floors are the least a reading of that
    reliability may be off by - the least noise margin of a band (HIGH 8, MEDIUM 12, LOW 20 deg)."""

    min_hold_s: float = 1.5        # a still run this long is a held position
    speed_window_s: float = 1.0    # zero-phase derivative window: one second evens out landmark jitter
    jitter_max_deg: float = 3.0    # an angle whose frame-to-frame jitter exceeds this can't tell still
    floor_deg: tuple[tuple[Reliability, float], ...] = (   # the noise floor by reliability
        (Reliability.HIGH, 8.0), (Reliability.MEDIUM, 12.0), (Reliability.LOW, 20.0))
    side_min_deg: float = 15.0     # a side signal this strong in every hold makes the exercise sided
    side_agree: float = 0.7        # ... on this share of the hold's frames
    min_share: float = 0.1         # views and postures seen in this share of held frames are allowed
    rest: str = "auto"             # "auto": the first still position is rest when others differ; "none"
    engine: EngineSettings = field(default_factory=EngineSettings)

    def __post_init__(self) -> None:
        if self.rest not in ("auto", "none"):
            raise ValueError(f"TeachSettings.rest: expected 'auto' or 'none', got {self.rest!r}")
        for name in ("min_hold_s", "speed_window_s", "jitter_max_deg"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TeachSettings.{name}: expected > 0, got {getattr(self, name)}")

    def floor(self, rank: int) -> float:
        """The noise floor for a reliability rank (0..3); NONE and LOW share LOW's floor."""
        floors = dict(self.floor_deg)
        return floors[{3: Reliability.HIGH, 2: Reliability.MEDIUM}.get(int(rank), Reliability.LOW)]


@dataclass(frozen=True, eq=False)
class MeasureSeries:
    """Measures over time: `values` (T, n) in `MEASURE_NAMES` order (NaN = not measured), `rank` (T, n)
    reliability rank (0 none, 1 low, 2 medium, 3 high), each frame's view and posture, and the joints
    read face-on: `face_on` (T, n) bool and its evidence `limb_plane_deg` (T, n) (`Measures`; None:
    none / not read)."""

    t_s: np.ndarray
    values: np.ndarray
    rank: np.ndarray
    views: tuple[View, ...]
    postures: tuple[Posture, ...]
    face_on: np.ndarray | None = None
    limb_plane_deg: np.ndarray | None = None

    def __post_init__(self) -> None:
        t_s, n = np.asarray(self.t_s, dtype=np.float64), len(MEASURE_NAMES)
        values, rank = np.asarray(self.values, dtype=np.float64), np.asarray(self.rank, dtype=np.int8)
        if values.shape != (len(t_s), n) or rank.shape != values.shape:
            raise ValueError(f"MeasureSeries: expected values and rank of shape ({len(t_s)}, {n}), "
                             f"got {values.shape} and {rank.shape}")
        if len(self.views) != len(t_s) or len(self.postures) != len(t_s):
            raise ValueError(f"MeasureSeries: expected {len(t_s)} views and postures, "
                             f"got {len(self.views)} and {len(self.postures)}")
        if len(t_s) > 1 and not (np.diff(t_s) > 0).all():
            raise ValueError("MeasureSeries.t_s: times must be strictly increasing")
        face_on = np.zeros(values.shape, dtype=bool) if self.face_on is None else np.asarray(self.face_on, dtype=bool)
        plane = (np.full(values.shape, np.nan) if self.limb_plane_deg is None
                 else np.asarray(self.limb_plane_deg, dtype=np.float64))
        if face_on.shape != values.shape or plane.shape != values.shape:
            raise ValueError(f"MeasureSeries: expected face_on and limb_plane_deg of shape {values.shape}, "
                             f"got {face_on.shape} and {plane.shape}")
        for name, arr in (("t_s", t_s), ("values", values), ("rank", rank), ("face_on", face_on),
                          ("limb_plane_deg", plane)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def from_measures(cls, t_s: Sequence[float], measures: Sequence[Measures]) -> MeasureSeries:
        values = np.array([m.values for m in measures]).reshape(len(measures), len(MEASURE_NAMES))
        rank = np.array([[RELIABILITY_RANK[r] for r in m.reliability] for m in measures], dtype=np.int8)
        face_on = np.array([m.face_on for m in measures], dtype=bool).reshape(values.shape)
        plane = np.array([m.limb_plane_deg for m in measures], dtype=np.float64).reshape(values.shape)
        return cls(np.asarray(t_s, dtype=np.float64), values, rank.reshape(values.shape),
                   tuple(m.view for m in measures), tuple(m.posture for m in measures), face_on, plane)

    def __len__(self) -> int:
        return len(self.t_s)

    def measures_at(self, i: int) -> Measures:
        rel = [r for r, k in sorted(RELIABILITY_RANK.items(), key=lambda kv: kv[1])]
        return Measures(self.values[i], tuple(rel[k] for k in self.rank[i]), self.views[i], self.postures[i],
                        face_on=self.face_on[i], limb_plane_deg=self.limb_plane_deg[i])

    def reliable(self, min_rank: int = MEDIUM_RANK) -> np.ndarray:
        """(T, n) values, NaN where read below `min_rank`."""
        return np.where(self.rank >= min_rank, self.values, np.nan)


@dataclass(frozen=True)
class HeldSpan:
    """A still stretch of the demonstration: frames [first, stop), times start_s..end_s."""

    first: int
    stop: int
    start_s: float
    end_s: float
    side: str | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# --- 1. still frames -------------------------------------------------------------------------------

def quiet_angles(series: MeasureSeries, settings: TeachSettings, min_rank: int = MEDIUM_RANK) -> np.ndarray:
    """(n,) the angles steady enough in this demonstration to judge stillness by: median frame-to-frame
    jitter (raw minus a half-second zero-phase smooth, read at `min_rank` or better) at most
    `jitter_max_deg`. The engine judges stillness on the envelope's angles, so only these are banded."""
    values = series.reliable(min_rank)
    if len(series) < 5:
        return np.zeros(len(MEASURE_NAMES), dtype=bool)
    smooth = smooth_series(series.t_s, values, window_s=settings.engine.offline_window_s,
                           max_gap_s=settings.engine.max_gap_s)
    residual = np.abs(values - smooth)
    seen = np.isfinite(residual).any(axis=0)
    jitter = np.full(len(MEASURE_NAMES), np.inf)
    jitter[seen] = np.nanmedian(residual[:, seen], axis=0)
    return ANGLES & (jitter <= settings.jitter_max_deg)


def still_mask(series: MeasureSeries, settings: TeachSettings = TeachSettings()) -> np.ndarray:
    """(T,) True where the demonstrator is still: the fastest quiet angle below the engine's stillness
    thresholds (with their hysteresis), as the engine's `StillTracker` decides it."""
    if len(series) < 5:
        return np.zeros(len(series), dtype=bool)
    s = settings.engine
    speed = np.abs(series_speed(series.t_s, series.reliable(), window_s=settings.speed_window_s,
                                max_gap_s=s.max_gap_s))[:, quiet_angles(series, settings)]
    fastest = np.full(len(series), np.nan)
    seen = np.isfinite(speed).any(axis=1)
    if seen.any():   # no quiet angle, or none read: nothing is known to be still
        fastest[seen] = np.nanmax(speed[seen], axis=1)
    tracker = StillTracker(s.still_enter_deg_s, s.still_exit_deg_s, s.max_gap_s)
    return np.array([tracker.step(v, t) is True for v, t in zip(fastest.tolist(), series.t_s.tolist())])


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """[first, stop) index runs where `mask` is True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


# --- 2. and 3. held positions, rest ----------------------------------------------------------------

def centre(series: MeasureSeries, spans: Sequence[HeldSpan]) -> np.ndarray:
    """(n,) median of each measure over the spans, read at medium reliability or better (NaN if never)."""
    rows = np.concatenate([series.reliable()[s.first:s.stop] for s in spans]) if spans else np.empty((0, 0))
    out = np.full(len(MEASURE_NAMES), np.nan)
    if rows.size:
        seen = np.isfinite(rows).sum(axis=0) >= 3
        out[seen] = np.nanmedian(rows[:, seen], axis=0)
    return out


def same_position(a: np.ndarray, b: np.ndarray, settings: TeachSettings) -> bool | None:
    """Two positions are the same when the taught angles both read differ by under the noise floor of
    a medium-reliability reading, in the median (one angle read differently from two views does not
    make a new position). None when no angle was read in both: can't tell."""
    common = ANGLES & np.isfinite(a) & np.isfinite(b)
    if not common.any():
        return None
    return float(np.median(np.abs(a[common] - b[common]))) <= settings.floor(MEDIUM_RANK)


def steady_mask(series: MeasureSeries, settings: TeachSettings = TeachSettings()) -> np.ndarray:
    """(T,) still frames that also stay in their run's position: every quiet angle (smoothed) within
    the medium noise floor of the run's median. A slow drift under the stillness threshold (a head
    tilting over two seconds) is still, but not one position."""
    mask, quiet = still_mask(series, settings), quiet_angles(series, settings)
    if not quiet.any():
        return mask
    smooth = smooth_series(series.t_s, series.reliable(), window_s=settings.engine.offline_window_s,
                           max_gap_s=settings.engine.max_gap_s)[:, quiet]
    out = mask.copy()
    for a, b in runs_of(mask):
        middle = centre(series, [HeldSpan(a, b, float(series.t_s[a]), float(series.t_s[b - 1]))])[quiet]
        far = np.abs(smooth[a:b] - middle) > settings.floor(MEDIUM_RANK)
        out[a:b] &= ~far.any(axis=1)
    return out


def still_spans(series: MeasureSeries, settings: TeachSettings = TeachSettings()) -> list[HeldSpan]:
    """The steady runs at least `min_hold_s` long, neighbours of one position within grace_s merged."""
    t = series.t_s
    spans: list[HeldSpan] = []
    for a, b in runs_of(steady_mask(series, settings)):
        span = HeldSpan(a, b, float(t[a]), float(t[b - 1]))
        prev = spans[-1] if spans else None
        if prev and span.start_s - prev.end_s <= settings.engine.grace_s and \
                same_position(centre(series, [prev]), centre(series, [span]), settings) is True:
            spans[-1] = HeldSpan(prev.first, b, prev.start_s, span.end_s)
        else:
            spans.append(span)
    return [s for s in spans if s.duration_s >= settings.min_hold_s - 1e-9]


def split_rest(series: MeasureSeries, spans: list[HeldSpan],
               settings: TeachSettings) -> tuple[list[HeldSpan], list[HeldSpan]]:
    """(holds, rests): the spans in the first span's position are rest when some other span is not."""
    if settings.rest == "none" or len(spans) < 2:
        return spans, []
    first = centre(series, spans[:1])
    rests = [s for s in spans if same_position(first, centre(series, [s]), settings) is not False]
    holds = [s for s in spans if s not in rests]
    return (holds, rests) if holds else (spans, [])


def find_holds(series: MeasureSeries, settings: TeachSettings = TeachSettings(),
               source: str = "demonstration") -> tuple[list[HeldSpan], list[HeldSpan]]:
    """(holds, rests) of a demonstration; `NobodySeen` / `NoStableHold` (naming `source`) when
    nobody is in it / when there is no hold."""
    if not np.isfinite(series.values).any():
        raise NobodySeen(f"{source}: nobody is seen in the demonstration (no pose in any of its "
                         f"{len(series)} frames); film the whole body, well lit")
    spans = still_spans(series, settings)
    if not spans:
        mask = steady_mask(series, settings)
        longest = max((series.t_s[b - 1] - series.t_s[a] for a, b in runs_of(mask)), default=0.0)
        raise NoStableHold(f"{source}: no stable hold: the demonstration must hold one position still for "
                           f"at least {settings.min_hold_s:g} s (the longest still stretch is {longest:.1f} s)")
    return split_rest(series, spans, settings)
