"""The taught exercise as data and as an exercise file a physiotherapist can read and edit. Pure.

`exercise_data` builds the dict the `coach.engine.exercises.Exercise` schema validates; `exercise_toml` writes
it as TOML in the layout of the shipped exercise files, with a comment beside every band saying how
it was taught (centre, spread, frames, the rest position) and, in [safety], every default limit
spelled out and a note wherever the demonstration itself goes past one.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence

from coach.engine.exercises import Exercise, Safety
from coach.measure.conventions import Posture, View
from coach.physio.teach_holds import HeldSpan
from coach.physio.teach_people import PeopleBand

PHASE = "hold"
_WORDS = {"trunk_inclination_deg": "trunk lean", "trunk_lateral_deg": "side bend", "trunk_rotation_deg": "twist",
          "neck_flexion_deg": "neck bend", "neck_rotation_deg": "head turn", "neck_lateral_deg": "head tilt"}
CUES = {
    "enter": "Get into the position shown in the demonstration.",
    "hold": "Hold still, as demonstrated, and keep breathing.",
    "too_far": "Ease off a little: go no further than the demonstration.",
    "breathe": "Breathe out as you move into the stretch.",
    "release": "Come out of the stretch slowly.",
}


def label(key: str) -> str:
    """A band key in plain words: 'hip_{side}_deg' -> 'working-side hip angle'."""
    base = key.split("_")[0]
    if "{side}" in key or "{other}" in key:
        return f"{'working' if '{side}' in key else 'other'}-side {base} angle"
    if key.endswith(("_left_deg", "_right_deg")):
        return f"{key.split('_')[1]} {base} angle"
    return _WORDS.get(key, key.removesuffix("_deg").replace("_", " "))


BAND_COMMENTS = {"hysteresis": "half the margin, at most 5 deg: drift a held pose may make before it counts as out",
                 "min_reliability": "the reliability it was read at in the demonstration's holds",
                 "stands_in_for": "as in the matched stretch: judged only while that band can't be"}


def band_data(band: PeopleBand, taught: frozenset[str] = frozenset()) -> dict:
    """The band as written; a stand-in of the matched stretch stays one while the band it stands in
    for is taught too (`taught`: the file's keys) - else it is a plain band."""
    hysteresis = round(min(5.0, band.half_width / 2), 1)
    stand_in = {"stands_in_for": band.stands_in_for} if band.stands_in_for in taught else {}
    return {"min": band.low, "max": band.high, "hysteresis": hysteresis,
            "min_reliability": band.min_reliability.value,
            **band_hints(band), **stand_in}


def band_hints(band: PeopleBand) -> dict[str, str]:
    """The words shown below and above the band, by size: a band of negative values (a twist or a tilt
    read away from the working side) is "too large" below its min - past it, further from 0. A band
    across 0 has no "larger" side, so both hints give the target only."""
    name, aim = label(band.key), f"aim for about {round(band.centre) + 0:d} deg"
    if band.low < 0 < band.high:
        return {"hint_low": f"{name}: {aim}", "hint_high": f"{name}: {aim}"}
    small, large = f"{name} too small: {aim}", f"{name} too large: {aim}"
    return {"hint_low": large, "hint_high": small} if band.high <= 0 else {"hint_low": small, "hint_high": large}


# The engine starts timing a hold only once the person has settled (and pauses on jitter), so it
# times a little less than the still span found in the demonstration; a target of the full span
# would make the demonstrator fail their own holds.
HOLD_TARGET_FRACTION = 0.8
# The least rest between reps: coming out of the stretch and settling back (a person lowers, turns
# or gets up in about 2 s, coach/engine/context.py) plus one calm breath (3-5 s at 12-20 breaths a
# minute): 5 s. A rest of 0 would start the next rep's hold while the person is still in the last.
REST_FLOOR_S = 5.0
MAX_TOLERANCE = 3.0      # --tolerance: three times the taught margins already takes in most postures


def hold_target_s(holds: Sequence[HeldSpan]) -> float:
    """80% of the median demonstrated hold, to the nearest whole second (at least 1), and never more
    than the median hold itself (rounding 0.8 x 1.9 s up to 2 s would ask for more than was shown:
    then the whole seconds below the median): the demonstrator's own typical hold completes when
    the engine times it. A hold is at least `TeachSettings.min_hold_s` (1.5 s), so this is >= 1 s."""
    median_s = statistics.median(h.duration_s for h in holds)
    target = max(1, round(HOLD_TARGET_FRACTION * median_s))
    return float(target if target <= median_s else max(1, math.floor(median_s)))


def reps_and_rest(holds: Sequence[HeldSpan]) -> tuple[int, float]:
    """(reps per side = the most holds shown on one side, rest = half the median gap between holds,
    rounded down - the shortest pause a patient may take - and at least REST_FLOOR_S)."""
    per_side: dict[str | None, int] = {}
    for h in holds:
        per_side[h.side] = per_side.get(h.side, 0) + 1
    gaps = [b.start_s - a.end_s for a, b in zip(holds[:-1], holds[1:])]
    rest_s = math.floor(0.5 * statistics.median(gaps)) if gaps else Exercise.model_fields["rest_s"].default
    return max(per_side.values()), float(max(REST_FLOOR_S, rest_s))


def exercise_data(exercise_id: str, name: str, source: str, *, postures: Sequence[Posture], views: Sequence[View],
                  side_rule: str | None, holds: Sequence[HeldSpan], bands: Sequence[PeopleBand],
                  hold_s: float | None = None, anchor: str | None = None, stretch: str | None = None) -> dict:
    """The exercise as the schema's dict (safety: the `Safety` defaults). `hold_s` None: from the holds."""
    hold_s = hold_target_s(holds) if hold_s is None else float(hold_s)
    reps, rest_s = reps_and_rest(holds)
    each = " on each side" if side_rule else ""
    when = ", ".join(f"{h.start_s:.1f}-{h.end_s:.1f} s" + (f" ({h.side})" if h.side else "") for h in holds)
    data = {
        "id": exercise_id, "name": name,
        # the prose names no hold time or count: a physio edits hold_s and reps_per_side, and the words
        # must not go on saying the old numbers (the coach says the file's own as it counts)
        "summary": f"The position demonstrated in {source}, held still{each}.",
        "posture": [p.value for p in postures], "view": [v.value for v in views],
        "sides": "left_right" if side_rule else "none",
        "reps_per_side": reps, "rest_s": rest_s,
        "instructions": [f"Watch the demonstration ({source}), then move slowly into the position it holds.",
                         f"Hold it still, breathing steadily, while the coach counts the hold{each}; rest "
                         "between the repetitions.",
                         "Stretch to mild tension only: stop if it hurts, tingles or makes you dizzy."],
        "sources": [f"Taught by `coach teach` from the demonstration {source}: {len(holds)} hold(s) at {when}",
                    "Bands: centre = median over the held frames; margin = measurement noise (2 x the demonstrator's "
                    "spread, at least the floor of the reading's reliability: high 8, medium 12, low 20 deg) and "
                    "between-person variation (" + (f"the shipped {stretch} band" if stretch else
                                                    "normal ranges of motion") + ") - see coach/physio/teach_people.py"],
        "cues": dict(CUES),
        "phases": [{"name": PHASE, "hold_s": hold_s, "cue": CUES["hold"],
                    "envelope": {b.key: band_data(b, frozenset(x.key for x in bands)) for b in bands}}],
        "safety": Safety().model_dump(),
    }
    if side_rule:
        data["side_from"] = side_rule
    if anchor:
        data["anchor"] = anchor
    return data


# --- TOML ------------------------------------------------------------------------------------------

def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)   # a JSON string is a valid TOML basic string
    if isinstance(value, list) and any(isinstance(v, str) and len(v) > 40 for v in value):
        return "[\n" + "".join(f"  {_value(v)},\n" for v in value) + "]"
    return "[" + ", ".join(_value(v) for v in value) + "]"


def _table_key(key: str) -> str:
    return key if key.replace("_", "").isalnum() else json.dumps(key)


def _band_comment(band: PeopleBand) -> str:
    """Where every number of the band comes from, on one line."""
    rest = f"; at rest {band.rest_centre:.0f}" if math.isfinite(band.rest_centre) else ""
    estimate = "ESTIMATE (twist: low from every view, judged because it is the point of the stretch); " \
        if band.estimate else ""
    noise = (f"noise {band.noise_deg:.0f} (2 x the demonstrator's spread {band.noise_sd:.1f}, at least the "
             f"{band.min_reliability.value} floor)")
    if band.shipped is not None:
        margin = (f"= the people the {band.between_from.split(';')[0]} accepts (calibrated on other people's "
                  f"photos), widened to take in the median +- {noise}")
    else:
        margin = f"= median +- (between-person {band.between_deg:.0f}, {band.between_from}) and {noise} in quadrature"
    scaled = f", x{band.tolerance:g} (--tolerance)" if band.tolerance != 1 else ""
    mirrored = "; " + band.between_from.split("; ")[-1] if "mirrored" in band.between_from else ""
    return (f"  # {estimate}{band.low:g} to {band.high:g}: {band.holds} hold(s), {band.frames} frames at "
            f"{band.min_reliability.value} or better, median {band.centre:.0f}{rest}; {margin}{scaled}{mirrored}"
            + (f"; {band.limited}" if band.limited else ""))


def value_comments(holds: Sequence[HeldSpan], data: dict, hold_given: bool) -> dict[str, str]:
    """Where the timing numbers come from, one comment each (keys of the top level and the phase)."""
    durations = ", ".join(f"{h.duration_s:.1f}" for h in holds)
    gaps = [b.start_s - a.end_s for a, b in zip(holds[:-1], holds[1:])]
    hold = "--hold-s" if hold_given else \
        f"{HOLD_TARGET_FRACTION:.0%} of the median demonstrated hold ({durations} s), to the nearest second, " \
        "at most the median"
    rest = (f"half the median gap between holds ({statistics.median(gaps):.1f} s), at least {REST_FLOOR_S:g} s"
            if gaps else "one hold shown: the default rest")
    return {"hold_s": hold, "rest_s": rest,
            "reps_per_side": f"the most holds shown on one side ({len(holds)} hold(s) in all)"}


def _commented(key: str, value, comments: dict[str, str]) -> str:
    text = f"{key} = {_value(value)}"
    return f"{text}   # {comments[key]}" if key in comments and "\n" not in text else text


def exercise_toml(data: dict, bands: Sequence[PeopleBand], notes: Sequence[str], header: Sequence[str],
                  comments: dict[str, str] | None = None) -> str:
    """The exercise file text; `notes` go as comments above [safety], `header` at the top, `comments`
    (key -> where its value comes from) beside the keys of the top level and of the phase."""
    comments = comments or {}
    lines = [f"# {h}".rstrip() for h in header] + [""]
    scalars = [k for k, v in data.items() if not isinstance(v, dict) and k != "phases"]
    lines += [_commented(k, data[k], comments) for k in scalars]
    lines += ["", "[cues]"] + [f"{k} = {_value(v)}" for k, v in data["cues"].items()]
    by_key = {b.key: b for b in bands}
    for phase in data["phases"]:
        lines += ["", "[[phases]]"] + [_commented(k, v, comments) for k, v in phase.items() if k != "envelope"]
        for key, band in phase["envelope"].items():
            lines.append(f"[phases.envelope.{_table_key(key)}]" + (_band_comment(by_key[key]) if key in by_key else ""))
            lines += [_commented(k, v, BAND_COMMENTS) for k, v in band.items()]
    lines += ["", "# Safety: the limits of the matched shipped stretch, or else the defaults of coach/engine/exercises.py",
              "# (Safety), spelled out to edit."]
    lines += [f"# NOTE {n}" for n in notes]
    lines += ["[safety]"] + [f"{k} = {_value(v)}" for k, v in data["safety"].items()]
    return "\n".join(lines) + "\n"
