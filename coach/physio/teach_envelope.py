"""Sides, views and safety notes for `coach.physio.teach` (the bands: `coach.physio.teach_people`). Pure.

Sides: each candidate `side_from` rule (`SIDE_RULES`) gives a signal per frame, positive = left, as
`coach.engine.envelope.detect_side` reads it (sign / opposite / lower / higher). A rule decides a hold
when |median| is at least `side_min_deg` with the same sign on `side_agree` of the frames that read
it; of the rules deciding every hold, the strongest against its noise floor wins (`choose_side_rule`).
Whether the exercise has sides at all is decided first, from the held position's symmetry
(`coach.physio.teach_people.asymmetric`); the matched shipped stretch's own rule is preferred.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from coach.engine.exercises import Safety, reliability_at_least
from coach.measure.conventions import MEASURE_NAMES, SPEC, View
from coach.physio.teach_holds import HeldSpan, MeasureSeries, TeachSettings

if TYPE_CHECKING:
    from coach.physio.teach_people import PeopleBand

SIDE_RULES = ("sign:trunk_rotation_deg", "sign:trunk_lateral_deg", "sign:neck_rotation_deg",
              "sign:neck_lateral_deg", "lower:hip", "lower:knee", "lower:elbow", "lower:shoulder")
_INDEX = {n: i for i, n in enumerate(MEASURE_NAMES)}


# --- sides -------------------------------------------------------------------------------------------

def side_signal(series: MeasureSeries, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """((T,) signal, positive = left, (T,) reliability rank) of a `sign:<m>` / `lower:<base>` rule."""
    kind, _, arg = rule.partition(":")
    if kind in ("sign", "opposite"):   # as coach.engine.envelope.detect_side reads them
        i = _INDEX[arg]
        return (1.0 if kind == "sign" else -1.0) * series.values[:, i], series.rank[:, i]
    left, right = _INDEX[f"{arg}_left_deg"], _INDEX[f"{arg}_right_deg"]
    lower = series.values[:, right] - series.values[:, left]   # > 0: the left is lower
    return (lower if kind == "lower" else -lower), np.minimum(series.rank[:, left], series.rank[:, right])


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


# --- views, postures, safety -------------------------------------------------------------------------

def common_values(items: Sequence, settings: TeachSettings, unknown) -> list:
    """The values making up at least `min_share` of `items` (unknown left out), most frequent first."""
    known = [x for x in items if x != unknown]
    counts = {x: known.count(x) for x in dict.fromkeys(known)}
    return sorted((x for x, c in counts.items() if c >= settings.min_share * len(items)), key=lambda x: -counts[x])


def views_for(bands: Sequence[PeopleBand], demo_views: list[View]) -> list[View]:
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
