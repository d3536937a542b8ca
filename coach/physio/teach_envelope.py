"""Sides and envelope bands from a demonstration's held positions (the second half of `coach.physio.teach`). Pure.

Sides: each candidate `side_from` rule (`SIDE_RULES`) gives a signal per frame, positive = left, as
`coach.engine.envelope.detect_side` reads it. The exercise is sided when one rule is decisive in every hold
(|median| at least `side_min_deg`, the same sign on `side_agree` of the frames that read it); of
those, the strongest against its noise floor wins. `sign:` / `lower:` name the side the body turns,
bends or folds toward; a physiotherapist who names sides the other way edits it to `opposite:` /
`higher:`.

Bands, per envelope key (measures resolved to `{side}` / `{other}` and read toward the working side in
a sided exercise): centre = median over the held frames read at medium reliability or better;
half-width = max(spread_k x 1.4826 x MAD, the noise floor of that reliability). A measure is banded
when it differs clearly from the rest position (by a noise floor) or is stable in the holds (robust
spread within half a floor). Low-reliability estimates are banded only when nothing better is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coach.engine.exercises import SAFETY_LIMITS, Safety, reliability_at_least
from coach.measure.conventions import MEASURE_NAMES, SPEC, Reliability, View, value_range
from coach.physio.teach_holds import MEDIUM_RANK, NOT_TAUGHT, HeldSpan, MeasureSeries, TeachSettings

SIDE_RULES = ("sign:trunk_rotation_deg", "sign:trunk_lateral_deg", "sign:neck_rotation_deg",
              "sign:neck_lateral_deg", "lower:hip", "lower:knee", "lower:elbow", "lower:shoulder")
MAD_TO_SD = 1.4826   # a normal distribution's standard deviation from its median absolute deviation
_INDEX = {n: i for i, n in enumerate(MEASURE_NAMES)}
_REL = {1: Reliability.LOW, 2: Reliability.MEDIUM, 3: Reliability.HIGH}


# --- sides -------------------------------------------------------------------------------------------

def side_signal(series: MeasureSeries, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """((T,) signal, positive = left, (T,) reliability rank) of a `sign:<m>` / `lower:<base>` rule."""
    kind, _, arg = rule.partition(":")
    if kind == "sign":
        i = _INDEX[arg]
        return series.values[:, i], series.rank[:, i]
    left, right = _INDEX[f"{arg}_left_deg"], _INDEX[f"{arg}_right_deg"]
    return (series.values[:, right] - series.values[:, left],
            np.minimum(series.rank[:, left], series.rank[:, right]))


def span_side(series: MeasureSeries, span: HeldSpan, rule: str,
              settings: TeachSettings) -> tuple[str | None, float]:
    """(the side the rule gives this hold, or None when it is not decisive; |median| / noise floor)."""
    signal, rank = side_signal(series, rule)
    seen = np.isfinite(signal[span.first:span.stop])
    values = signal[span.first:span.stop][seen]
    if seen.sum() < max(3, 0.5 * (span.stop - span.first)):
        return None, 0.0
    middle = float(np.median(values))
    agree = float(np.mean(np.sign(values) == np.sign(middle)))
    if abs(middle) < settings.side_min_deg or agree < settings.side_agree:
        return None, 0.0
    floor = settings.floor(int(np.median(rank[span.first:span.stop][seen])))
    return ("left" if middle > 0 else "right"), abs(middle) / floor


def choose_side_rule(series: MeasureSeries, holds: Sequence[HeldSpan],
                     settings: TeachSettings = TeachSettings()) -> tuple[str | None, tuple[str | None, ...]]:
    """(the side_from rule, each hold's side); (None, all None) when no rule decides every hold."""
    best: tuple[float, str | None, tuple[str | None, ...]] = (0.0, None, (None,) * len(holds))
    for rule in SIDE_RULES:
        votes = [span_side(series, span, rule, settings) for span in holds]
        if holds and all(side is not None for side, _ in votes):
            strength = min(score for _, score in votes)
            if strength > best[0]:
                best = (strength, rule, tuple(side for side, _ in votes))
    return best[1], best[2]


def key_of(name: str, side: str | None) -> str:
    """The envelope key a measure is banded under for a hold on `side` (None: not sided)."""
    spec = SPEC[name]
    if side is None or not spec.paired:
        return name
    return f"{spec.base}_{{side}}_deg" if spec.paired == side else f"{spec.base}_{{other}}_deg"


def keyed_columns(series: MeasureSeries, spans: Sequence[HeldSpan], sides: Sequence[str | None],
                  measures: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Envelope key -> (values, reliability ranks) over the spans' frames, read toward each span's side,
    for the measures flagged in `measures` (n,)."""
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for span, side in zip(spans, sides):
        for name in MEASURE_NAMES:
            if name in NOT_TAUGHT or not measures[_INDEX[name]]:
                continue
            i, flip = _INDEX[name], -1.0 if side == "right" and SPEC[name].lateral else 1.0
            parts.setdefault(key_of(name, side), []).append(
                (flip * series.values[span.first:span.stop, i], series.rank[span.first:span.stop, i]))
    return {k: (np.concatenate([v for v, _ in p]), np.concatenate([r for _, r in p])) for k, p in parts.items()}


# --- bands -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DerivedBand:
    """One envelope band as taught: the numbers behind it, for the file's comments and the report."""

    key: str
    centre: float
    spread: float            # 1.4826 x MAD over the held frames
    half_width: float
    min_reliability: Reliability
    frames: int              # held frames it was read in
    rest_centre: float = math.nan

    @property
    def low(self) -> float:
        lo = math.floor(self.centre - self.half_width)
        # within what the measure can read, and within the default safety limits, as files must be
        return max(lo, value_range(self.measure)[0], -_safety_limit(self.key, below=True))

    @property
    def high(self) -> float:
        hi = math.ceil(self.centre + self.half_width)
        return min(hi, value_range(self.measure)[1], _safety_limit(self.key, below=False))

    @property
    def measure(self) -> str:
        return self.key.replace("{side}", "left").replace("{other}", "right")


def _safety_limit(key: str, below: bool) -> float:
    """The default safety limit a band of `key` must stay within (validation rejects a band beyond its
    exercise's own limit: `coach.engine.exercises.SAFETY_LIMITS`); inf for a measure no limit judges."""
    if key not in SAFETY_LIMITS:
        return math.inf
    return float(getattr(Safety(), SAFETY_LIMITS[key][1 if below else 0]))


def _band(key: str, values: np.ndarray, ranks: np.ndarray, min_rank: int, rest: np.ndarray | None,
          settings: TeachSettings, held_frames: int) -> DerivedBand | None:
    good = np.isfinite(values) & (ranks >= min_rank)
    if good.sum() < max(3, settings.min_frames_frac * held_frames):
        return None
    v = values[good]
    middle = float(np.median(v))
    spread = MAD_TO_SD * float(np.median(np.abs(v - middle)))
    floor = settings.floor(int(np.median(ranks[good])))
    rest_centre = math.nan
    if rest is not None:
        r_values, r_ranks = rest
        seen = np.isfinite(r_values) & (r_ranks >= min_rank)
        rest_centre = float(np.median(r_values[seen])) if seen.sum() >= 3 else math.nan
    differs = math.isfinite(rest_centre) and abs(middle - rest_centre) >= floor
    if not (differs or spread <= floor / 2):
        return None
    return DerivedBand(key, middle, spread, max(settings.spread_k * spread, floor), _REL[min(min_rank, 2)],
                       int(good.sum()), rest_centre)


def derive_bands(holds: dict[str, tuple[np.ndarray, np.ndarray]], rests: dict[str, tuple[np.ndarray, np.ndarray]],
                 settings: TeachSettings = TeachSettings(), min_rank: int = MEDIUM_RANK) -> list[DerivedBand]:
    """The envelope bands of the keys read at `min_rank` or better that differ from rest or are stable."""
    held = max((len(v) for v, _ in holds.values()), default=0)
    bands = [_band(k, v, r, min_rank, rests.get(k), settings, held) for k, (v, r) in holds.items()]
    # a band squeezed to nothing by a safety limit is left out (safety_notes says the demonstration went past it)
    return [b for b in bands if b is not None and b.low < b.high]


# --- views, postures, safety -------------------------------------------------------------------------

def common_values(items: Sequence, settings: TeachSettings, unknown) -> list:
    """The values making up at least `min_share` of `items` (unknown left out), most frequent first."""
    known = [x for x in items if x != unknown]
    counts = {x: known.count(x) for x in dict.fromkeys(known)}
    return sorted((x for x, c in counts.items() if c >= settings.min_share * len(items)), key=lambda x: -counts[x])


def views_for(bands: Sequence[DerivedBand], demo_views: list[View]) -> list[View]:
    """The demonstration's views, plus every view from which each band can be judged."""
    views = list(demo_views)
    for view in (View.SIDE, View.OBLIQUE, View.FRONT, View.BACK):
        judged = [reliability_at_least(SPEC[b.measure].reliability[view], b.min_reliability) for b in bands]
        if view not in views and bands and all(judged):
            views.append(view)
    for b in bands:   # every band judgeable from at least one listed view (the schema's rule)
        if not any(reliability_at_least(SPEC[b.measure].reliability[v], b.min_reliability) for v in views):
            views += [v for v in View if v != View.UNKNOWN and v not in views
                      and reliability_at_least(SPEC[b.measure].reliability[v], b.min_reliability)][:1]
    return views


def safety_notes(series: MeasureSeries, holds: Sequence[HeldSpan], safety: Safety = Safety()) -> list[str]:
    """Where the demonstration itself goes past a default safety limit: the physiotherapist decides."""
    rows = np.concatenate([series.values[s.first:s.stop] for s in holds]) if holds else series.values[:0]

    def median(name: str, sign: float = 1.0, absolute: bool = False) -> float:
        values = rows[:, _INDEX[name]]
        values = values[np.isfinite(values)]
        if not len(values):
            return math.nan
        return float(np.median(np.abs(values) if absolute else sign * values))

    checks = (("max_twist_deg", median("trunk_rotation_deg", absolute=True), "twist"),
              ("neck_flexion_max_deg", median("neck_flexion_deg"), "neck flexion"),
              ("neck_extension_max_deg", median("neck_flexion_deg", -1.0), "neck extension"),
              ("neck_rotation_max_deg", median("neck_rotation_deg", absolute=True), "head turn"),
              ("neck_lateral_max_deg", median("neck_lateral_deg", absolute=True), "head tilt"))
    notes = [f"{field} = {getattr(safety, field):g}: the demonstration holds {what} at {value:.0f} deg, past this "
             f"limit - raise it if that is intended" for field, value, what in checks
             if math.isfinite(value) and value > getattr(safety, field)]
    hands = np.nanmin([median("hand_head_left_sw"), median("hand_head_right_sw"), np.inf])
    if safety.hands_on_neck_forbidden and hands < safety.hand_head_min_sw:
        notes.append("hands_on_neck_forbidden = true: a hand is at the head in the demonstration's holds - set it "
                     "to false if the hands belong there")
    return notes
