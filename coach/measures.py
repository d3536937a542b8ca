"""Measures: the angles a physiotherapist talks about, from one pose. Pure functions only.

The names, units, zero and sign of every measure are in `coach.conventions` (the one table).
A value is NaN when the landmarks it needs are not seen well enough: "can't measure", never a guess.

IMPLEMENTATION PENDING — `compute_measures` is written by the measures work (issue 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.conventions import MEASURE_NAMES, SPEC, Posture, Reliability, View

_INDEX = {name: i for i, name in enumerate(MEASURE_NAMES)}


@dataclass(frozen=True, eq=False)
class Measures:
    """All measures of one pose, in `MEASURE_NAMES` order, with the view and posture they were read in."""

    values: np.ndarray                      # (n,) float64; NaN = can't measure
    reliability: tuple[Reliability, ...]    # (n,) per measure, already lowered for the view
    view: View = View.UNKNOWN
    posture: Posture = Posture.UNKNOWN

    def __post_init__(self) -> None:
        n = len(MEASURE_NAMES)
        values = np.array(self.values, dtype=np.float64)
        if values.shape != (n,):
            raise ValueError(f"Measures.values: expected shape ({n},), got {values.shape}")
        if len(self.reliability) != n:
            raise ValueError(f"Measures.reliability: expected {n} entries, got {len(self.reliability)}")
        rel = tuple(Reliability(r) for r in self.reliability)
        # NaN always reads as "none": a number nobody can judge has no reliability.
        rel = tuple(Reliability.NONE if not np.isfinite(v) else r for v, r in zip(values, rel))
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "reliability", rel)
        object.__setattr__(self, "view", View(self.view))
        object.__setattr__(self, "posture", Posture(self.posture))

    @classmethod
    def empty(cls) -> Measures:
        n = len(MEASURE_NAMES)
        return cls(np.full(n, np.nan), (Reliability.NONE,) * n)

    def __getitem__(self, name: str) -> float:
        return float(self.values[_INDEX[name]])

    def reliability_of(self, name: str) -> Reliability:
        return self.reliability[_INDEX[name]]

    def as_dict(self) -> dict[str, float]:
        return {name: float(v) for name, v in zip(MEASURE_NAMES, self.values)}


def spec(name: str):
    """The conventions row of a measure (KeyError names the measure)."""
    return SPEC[name]
