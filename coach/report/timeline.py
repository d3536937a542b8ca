"""What the report keeps of every frame: compact numpy columns, never images.

`Timeline` is an append-only table with one row per analysed frame: the time, the segment, phase
and side, the envelope and hold flags, and every measure's value (float32), reliability and band
verdict (int8). That is O(frames x measures) small numbers - a 10-minute video at 30 fps is about
2 MB - so the plots and the per-measure statistics can be computed at the end without keeping a
single frame. Rows are added from `FrameVerdict`s only: nothing here decides anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coach.engine.exercises import Exercise
from coach.engine.verdict import FrameVerdict
from coach.measure.conventions import MEASURE_NAMES, Posture, Reliability, View

SIDES = ("both", "left", "right")          # side codes 0, 1, 2; -1 = side not known yet
RELIABILITY_CODE = {Reliability.NONE: 0, Reliability.LOW: 1, Reliability.MEDIUM: 2, Reliability.HIGH: 3}
VIEWS, POSTURES = tuple(View), tuple(Posture)
NOT_IN_ENVELOPE, CANT_JUDGE, OUT, IN = -2, -1, 0, 1   # per-measure band codes
_N = len(MEASURE_NAMES)
_START_ROWS = 1024



def side_code(exercise: Exercise, side: str | None) -> int:
    if exercise.sides == "none":
        return 0
    return SIDES.index(side) if side in ("left", "right") else -1


def _band_code(inside: bool | None, in_envelope: bool) -> int:
    if not in_envelope:
        return NOT_IN_ENVELOPE
    return CANT_JUDGE if inside is None else int(inside)


@dataclass(frozen=True, eq=False)
class TimelineArrays:
    """A finished timeline: read-only columns of equal length `n`."""

    t_s: np.ndarray          # float64 seconds
    segment: np.ndarray      # int16 index into Report.segments
    phase: np.ndarray        # int8 phase index of the segment's exercise
    side: np.ndarray         # int8 side code (SIDES), -1 unknown
    envelope: np.ndarray     # int8 1 in / 0 out / -1 can't judge
    holding: np.ndarray      # int8 1 = holding (in the stretch and still)
    progress: np.ndarray     # float32 hold progress 0..1
    seen: np.ndarray         # int8 1 = a person was seen
    view: np.ndarray         # int8 index into VIEWS
    posture: np.ndarray      # int8 index into POSTURES
    alerts: np.ndarray       # int8 number of active alerts
    values: np.ndarray       # float32 (n, measures), NaN = can't measure
    reliability: np.ndarray  # int8 (n, measures), RELIABILITY_CODE
    bands: np.ndarray        # int8 (n, measures), NOT_IN_ENVELOPE / CANT_JUDGE / OUT / IN
    why: np.ndarray          # int16 index into `reasons` of the frame's first "can't judge" reason, -1 none
    reasons: tuple[str, ...] = ()   # the distinct `FrameVerdict.cant_judge` texts, in order of first use

    @property
    def n(self) -> int:
        return len(self.t_s)

    def column(self, measure: str) -> np.ndarray:
        return self.values[:, MEASURE_NAMES.index(measure)]


_COLUMNS = {"t_s": np.float64, "segment": np.int16, "phase": np.int8, "side": np.int8, "envelope": np.int8,
            "holding": np.int8, "progress": np.float32, "seen": np.int8, "view": np.int8, "posture": np.int8,
            "alerts": np.int8, "why": np.int16}
_MATRICES = {"values": np.float32, "reliability": np.int8, "bands": np.int8}


class Timeline:
    """Append-only columns, doubling their capacity as rows arrive (amortised O(1) per frame)."""

    def __init__(self) -> None:
        self.n = 0
        self._cols = {k: np.zeros(_START_ROWS, dtype=t) for k, t in _COLUMNS.items()}
        self._cols.update({k: np.zeros((_START_ROWS, _N), dtype=t) for k, t in _MATRICES.items()})
        self._reasons: dict[str, int] = {}

    def _grow(self) -> None:
        for key, col in self._cols.items():
            bigger = np.zeros((2 * len(col), *col.shape[1:]), dtype=col.dtype)
            bigger[: self.n] = col[: self.n]
            self._cols[key] = bigger

    def add(self, segment: int, exercise: Exercise, verdict: FrameVerdict, envelope: bool | None) -> None:
        if self.n == len(self._cols["t_s"]):
            self._grow()
        i, c = self.n, self._cols
        row = {"t_s": verdict.t_s, "segment": segment, "phase": verdict.phase_index,
               "side": side_code(exercise, verdict.side), "envelope": -1 if envelope is None else int(envelope),
               "holding": int(verdict.holding), "progress": verdict.progress, "seen": int(verdict.pose_seen),
               "view": VIEWS.index(verdict.view), "posture": POSTURES.index(verdict.posture),
               "alerts": min(len(verdict.alerts), 127),
               "why": self._reasons.setdefault(verdict.cant_judge[0], len(self._reasons)) if verdict.cant_judge else -1}
        for key, value in row.items():
            c[key][i] = value
        for j, m in enumerate(verdict.measures):
            c["values"][i, j] = m.value
            c["reliability"][i, j] = RELIABILITY_CODE[m.reliability]
            c["bands"][i, j] = _band_code(m.inside, m.in_envelope)
        self.n += 1

    def arrays(self) -> TimelineArrays:
        out = {}
        for key, col in self._cols.items():
            view = col[: self.n].copy()
            view.setflags(write=False)
            out[key] = view
        return TimelineArrays(**out, reasons=tuple(self._reasons))


def frame_weights(t_s: np.ndarray, max_gap_s: float = 0.5) -> np.ndarray:
    """Seconds each frame stands for (up to the next frame, capped at `max_gap_s`; the last frame
    gets the median step), so shares of time are right for variable frame rates too."""
    if len(t_s) == 0:
        return np.zeros(0)
    if len(t_s) == 1:
        return np.ones(1)
    steps = np.minimum(np.diff(t_s), max_gap_s)
    last = float(np.median(steps)) if len(steps) else 1.0
    return np.append(steps, last if math.isfinite(last) and last > 0 else 0.0)
