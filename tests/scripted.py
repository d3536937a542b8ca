"""Scripted measure sequences for the engine tests: build `Measures` and `Exercise` records directly
and run a `Coach` over segments of constant (or ramped) measures at a fixed frame step.

Times use a frame step of 1/16 s so that every frame time is exact in binary floating point and
expected event times can be written as plain decimals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from coach.engine.core import Coach, EngineSettings
from coach.engine.exercises import Exercise
from coach.engine.verdict import Event, FrameVerdict
from coach.measure.conventions import MEASURE_NAMES, Reliability
from coach.measure.measures import Measures

DT_S = 1 / 16

# Engine settings the scripted tests are written against (stated here, not taken from defaults, so
# a change of a default does not silently change what the tests mean).
SETTINGS = EngineSettings(settle_s=0.25, grace_s=0.5, still_enter_deg_s=12.0, still_exit_deg_s=20.0,
                          still_window_s=0.25, still_min_span_s=0.125, still_noise_k=2.0, max_gap_s=0.25, max_frame_gap_s=0.5, near_end_deg=10.0, bounce_amplitude_deg=5.0,
                          bounce_window_s=2.0, alert_stale_s=2.0, stop_count=3, stop_window_s=60.0)

CUES = {"enter": "get in", "hold": "hold", "too_far": "too far", "breathe": "breathe", "release": "release"}


def band(lo: float, hi: float, **extra) -> dict:
    return {"min": lo, "max": hi, "hint_low": f"more than {lo}", "hint_high": f"less than {hi}", **extra}


def exercise(phases: list[dict] | None = None, **overrides) -> Exercise:
    """A valid exercise: one 'hold' phase of 1 s on trunk inclination 20..60 unless told otherwise."""
    data = {"id": "scripted", "name": "Scripted", "summary": "for tests", "posture": ["seated"], "view": ["side"],
            "sides": "none", "reps_per_side": 1, "rest_s": 0.0, "instructions": ["do it"], "cues": CUES,
            "phases": phases or [{"name": "hold", "hold_s": 1.0,
                                  "envelope": {"trunk_inclination_deg": band(20, 60)}}],
            "sources": ["test"]}
    data.update(overrides)
    return Exercise.model_validate(data)


def measures(values: dict[str, float], view: str = "side", posture: str = "seated") -> Measures:
    vals = np.full(len(MEASURE_NAMES), np.nan)
    for name, value in values.items():
        vals[MEASURE_NAMES.index(name)] = value
    return Measures(vals, (Reliability.HIGH,) * len(vals), view=view, posture=posture)


Value = float | Callable[[float], float]


@dataclass
class Segment:
    """`duration_s` of frames with these measures (None = nobody seen). A value may be a function of
    the time since the segment began, for ramps and oscillations."""

    duration_s: float
    values: dict[str, Value] | None
    view: str = "side"
    posture: str = "seated"
    framing: tuple[float, float] = (math.nan, math.nan)


@dataclass
class Run:
    verdicts: list[FrameVerdict] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return [e for v in self.verdicts for e in v.events]

    def kinds_at(self, *kinds: str) -> list[tuple[str, float]]:
        """(kind, t_s) of the events of these kinds (all kinds when none given)."""
        return [(e.kind.value, e.t_s) for e in self.events if not kinds or e.kind.value in kinds]

    def alerts(self) -> list[tuple[str, str, float]]:
        """(raised|cleared, rule id, t_s) for every alert event."""
        return [(e.kind.value.removeprefix("alert_"), e.details["rule"], e.t_s) for e in self.events
                if e.kind.value.startswith("alert_")]


def run_script(ex: Exercise, segments: list[Segment], *, settings: EngineSettings = SETTINGS,
               coach: Coach | None = None, t0_s: float = 0.0) -> Run:
    coach = coach or Coach(ex, smoothing="none", settings=settings)
    run, t_s = Run(), t0_s
    for seg in segments:
        start_s = t_s
        for _ in range(round(seg.duration_s / DT_S)):
            if seg.values is None:
                m, seen = Measures.empty(), False
            else:
                vals = {k: (v(t_s - start_s) if callable(v) else v) for k, v in seg.values.items()}
                m, seen = measures(vals, seg.view, seg.posture), True
            run.verdicts.append(coach.update_measures(m, t_s, seen=seen, framing=seg.framing))
            t_s += DT_S
    return run
