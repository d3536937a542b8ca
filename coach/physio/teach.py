"""Teach an exercise from a demonstration: a measures series in, a validated exercise out. Pure.

    series = MeasureSeries.from_measures(t_s, measures)          # one `Measures` per frame of the demo
    taught = teach(series, "anna_bridge", name="Bridge (Anna)", source="anna.mp4")
    taught.exercise          # a validated `coach.engine.exercises.Exercise`
    taught.toml              # its exercise file, commented; `coach teach` writes and re-loads it

The steps, each its own pure function:
  held positions   `coach.physio.teach_holds.find_holds`: still (the engine's `StillTracker` on zero-phase
                   speeds) and steady runs of at least 1.5 s; the start position is rest - unless a shipped
                   exercise recognises it and not the other (`NoStableHold` when nothing is held still)
  context          `coach.physio.teach_people.stable_context`: the engine's `StableContext` over the frames
  the stretch      `coach.physio.teach_people.match_stretch`: the shipped exercise the held frames fit best
  sides            `coach.physio.teach_people.asymmetric` (left and right differ beyond the noise), the
                   stretch's `side_from` or `coach.physio.teach_envelope.choose_side_rule`; `sides=` overrides
  measures         the ones whose holds differ from the frames around them beyond the noise, among those
                   the stretch judges; read at medium or better (the twist as an estimate, where judged)
  bands            `coach.physio.teach_people.people_band`: for people - the stretch's band (calibrated on
                   other people) widened to the demonstrated median +- noise; else median +- normal
                   between-person range and noise in quadrature; `tolerance=` scales them
  gates            the stable postures and views of the held frames (plus the stretch's views and every
                   view every band can be judged from)
  hold target      80% of the median demonstrated hold, to the nearest second and at most the median
                   hold (`hold_s=` overrides);
                   rest = half the median gap, at least 5 s
  safety           the stretch's limits (else the `Safety` defaults), with a note wherever the
                   demonstration goes past one
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from pydantic import ValidationError

from coach.engine.exercises import MAX_HOLD_S, MIN_HOLD_S, Exercise, Safety, load_exercise_file
from coach.measure.conventions import SPEC, Posture, View
from coach.physio.teach_envelope import choose_side_rule, common_values, safety_notes, span_side, views_for
from coach.physio.teach_file import MAX_TOLERANCE, exercise_data, exercise_toml, value_comments
from coach.physio.teach_holds import (
    MEDIUM_RANK,
    HeldSpan,
    MeasureSeries,
    NoStableHold,
    TeachError,
    TeachSettings,
    find_holds,
    still_mask,
    still_spans,
)
from coach.physio.teach_people import (
    TWIST,
    Context,
    PeopleBand,
    asymmetric,
    candidate_keys,
    column,
    differs,
    held_frames,
    match_stretch,
    people_band,
    stable_context,
)
from coach.usertext import control_character, printable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["PeopleBand", "HeldSpan", "MeasureSeries", "NoStableHold", "TeachError", "TeachSettings", "Taught",
           "find_holds", "still_mask", "still_spans", "teach"]


@dataclass(frozen=True)
class Taught:
    """What `teach` learned: the exercise, its file text, and the evidence behind both."""

    exercise: Exercise
    toml: str
    holds: tuple[HeldSpan, ...]     # with the side each was shown on (None without sides)
    rests: tuple[HeldSpan, ...]
    bands: tuple[PeopleBand, ...]
    notes: tuple[str, ...]          # where the demonstration goes past a default safety limit
    stretch: str | None = None      # the shipped exercise the demonstration matched (its bands' people)
    why: tuple[str, ...] = ()       # how the measures, sides, posture and view were chosen


def _gates(ctx: Context, holds: list[HeldSpan], bands: list[PeopleBand], stretch: Exercise | None,
           settings: TeachSettings, source: str) -> tuple[list[Posture], list[View]]:
    """The stable postures and views during the holds (the engine's own `StableContext`), each held in
    at least `min_share` of the held frames; the matched stretch's views (other people are filmed
    from them); plus every view each band can be judged from."""
    frames = held_frames(holds)
    postures = common_values([ctx.postures[i] for i in frames], settings, Posture.UNKNOWN)
    views = common_values([ctx.views[i] for i in frames], settings, View.UNKNOWN)
    if not postures or not views:
        raise TeachError(f"{source}: the posture or camera view of the held position cannot be told "
                         "(the shoulders and hips must be in view)")
    if stretch is not None:   # other people are filmed from the stretch's other views too
        views = list(dict.fromkeys([*views, *stretch.view]))
    return postures, views_for(bands, views)


def _validated(text: str, source: str) -> Exercise:
    try:
        return Exercise.model_validate(tomllib.loads(text))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise TeachError(f"{source}: the taught exercise is not valid ({where}: {first['msg']})") from None


def _rest_frames(series: MeasureSeries, holds: list[HeldSpan], settings: TeachSettings) -> list[int]:
    """The rest around the holds: every frame outside the holds with a pose in it - the still rest
    spans, the moves, the rests too short or jittery to be found still - when there are at least
    `min_hold_s` of them (a reference as long as a hold; a blink between two holds of one position
    is not a rest)."""
    inside = np.zeros(len(series), dtype=bool)
    for h in holds:
        inside[h.first:h.stop] = True
    seen = np.isfinite(series.values).any(axis=1)
    out = np.flatnonzero(~inside & seen)
    dt = float(np.median(np.diff(series.t_s))) if len(series) > 1 else 0.0
    return out.tolist() if len(out) * dt >= settings.min_hold_s else []


def _sides(series: MeasureSeries, ctx: Context, holds: list[HeldSpan], stretch: Exercise | None,
           settings: TeachSettings, sides: str, source: str) -> tuple[str | None, tuple[str | None, ...], str]:
    """(side_from rule or None, each hold's side, why). auto: sided when the held position is
    asymmetric (`asymmetric`); the rule is the matched stretch's when it decides every hold, else
    the strongest rule deciding every hold (`choose_side_rule`)."""
    none = (None,) * len(holds)
    if sides == "none":
        return None, none, "sides = none (--sides)"
    stretch_votes: list[str | None] = []
    stretch_decides = False
    if stretch is not None and stretch.side_from and stretch.sides == "left_right":
        stretch_votes = [span_side(series, h, stretch.side_from, settings)[0] for h in holds]
        decided = set(stretch_votes) - {None}
        # The rule decides when it tells every hold's side, or tells one side and no hold another
        # (a hold seen from a view the rule can't read is in the same position). Such a hold's side
        # stays unknown (None) - never the other hold's: it may be the mirror - so its readings
        # are not used for the {side} bands (`teach_people.column`), and the file says so.
        stretch_decides = all(stretch_votes) or len(decided) == 1
    if sides == "auto":
        # A sided shipped stretch whose own side rule tells every hold's side (past its side_min_deg,
        # with its sign agreement) is asymmetric by that stretch's own definition - a twist is one
        # however uncertain its size: an estimate's floor (20 deg) would otherwise hide a 30 deg twist.
        uneven, why = (True, f"{stretch.id} is a sided stretch and its {stretch.side_from} tells " + \
            ("every hold's side" if all(stretch_votes) else "the side of every hold it can read")) \
            if stretch_decides else asymmetric(ctx, holds, candidate_keys(stretch, True), settings)
        if not uneven:
            return None, none, f"no sides: {why}"
    else:
        why = "left_right (--sides)"
    if stretch_decides:
        unknown = [str(i + 1) for i, v in enumerate(stretch_votes) if v is None]
        untold = (f"; hold {', '.join(unknown)}: side unknown ({stretch.side_from} not told there), not used "
                  "for the working-side bands") if unknown else ""
        return stretch.side_from, tuple(stretch_votes), \
            f"{why}; side from {stretch.side_from} as in {stretch.id}{untold}"
    rule, each = choose_side_rule(series, holds, settings)
    if rule is None:
        if sides == "left_right":
            raise TeachError(f"{source}: --sides left_right, but no left/right measure tells the side "
                             "in every hold")
        return None, none, f"no sides: asymmetric ({why}) but no rule tells the side in every hold"
    return rule, each, f"{why}; side from {rule}"


def _select(ctx: Context, holds: list[HeldSpan], rest_frames: list[int], stretch: Exercise | None,
            sided: bool, settings: TeachSettings, tolerance: float,
            steady_only: bool = False) -> tuple[list[PeopleBand], list[str]]:
    """The bands of the measures that define the position (`coach.physio.teach_people`). `steady_only`
    (the last resort, when nothing else defines it): every measure held within its noise floor."""
    bands, why, unread = [], [], []
    for key in candidate_keys(stretch, sided):
        twist = key == TWIST and stretch is not None   # the twist: judged as an estimate where the stretch does
        col = column(key, ctx, holds, rest_frames, sided, 1 if twist else MEDIUM_RANK)
        if col is None:
            why.append(f"{key}: not read at {'low' if twist else 'medium'} reliability or better in the holds")
            unread.append(key)
            continue
        moved, rest_centre, margin = differs(col, settings)
        if moved is False:
            why.append(f"{key}: the same in the holds as at rest ({np.nanmedian(col.held):.0f} vs "
                       f"{rest_centre:.0f}, noise {margin:.0f}): not what defines the position")
            continue
        if moved is None and stretch is None and not steady_only:
            why.append(f"{key}: no rest to compare with and no shipped stretch judges it")
            continue
        if steady_only and margin > settings.floor(col.rank):
            why.append(f"{key}: not steady in the holds (noise {margin:.0f})")
            continue
        bands.append(people_band(col, stretch, settings, tolerance, rest_centre, sided=sided))
    bands += _mirrored(bands, unread, why)
    return bands, why


def _mirrored(bands: list[PeopleBand], unread: list[str], why: list[str]) -> list[PeopleBand]:
    """In a symmetric position, a joint the camera saw on one side only (the far side hidden from a
    side view: its key in `unread`) gets the same band on the other side: another person may be
    filmed from that side."""
    have, out = {b.key for b in bands}, []
    for b in bands:
        spec = SPEC.get(b.key)
        if spec is None or not spec.paired:
            continue
        twin = f"{spec.base}_{'right' if spec.paired == 'left' else 'left'}_deg"
        if twin in unread and twin not in have:
            out.append(replace(b, key=twin, between_from=f"{b.between_from}; mirrored from {b.key}"))
            why.append(f"{twin}: not seen in the demonstration; the mirror of {b.key} (a symmetric position)")
    return out


def teach(series: MeasureSeries, exercise_id: str, *, name: str | None = None, source: str = "demonstration",
          settings: TeachSettings = TeachSettings(), sides: str = "auto", hold_s: float | None = None,
          tolerance: float = 1.0, library: Mapping[str, Exercise] | None = None) -> Taught:
    """Learn an exercise from a demonstration's measures. `NoStableHold` / `TeachError` name `source`.
    `sides`: "auto" (from the held position's symmetry), "none" or "left_right"; `hold_s`: the hold
    target (default from the demonstrated holds); `tolerance`: scales every band's margins (1 = as
    taught, 1.5 = half as wide again for a more mobile patient); `library`: the shipped exercises
    the demonstration is matched against (default `load_library()` of the shipped folder).
    A name with control characters is refused (the TOML written holds it in comments, which cannot
    hold them); control characters in `source` (a file name) are written as spaces."""
    if name is not None and (found := control_character(name)):
        raise TeachError(f"name {printable(name)!r}: holds the control character {found}; "
                         "an exercise's name is plain text on one line")
    if sides not in ("auto", "none", "left_right"):
        raise TeachError(f"sides {sides!r}: expected auto, none or left_right")
    if not (math.isfinite(tolerance) and 0 < tolerance <= MAX_TOLERANCE):
        raise TeachError(f"tolerance {tolerance!r}: expected a number above 0 and at most {MAX_TOLERANCE:g}")
    if hold_s is not None and not (math.isfinite(hold_s) and MIN_HOLD_S <= hold_s <= MAX_HOLD_S):
        raise TeachError(f"hold {hold_s!r} s: expected {MIN_HOLD_S:g} to {MAX_HOLD_S:g} seconds")
    holds, rests = find_holds(series, settings, source)
    ctx = stable_context(series)
    library = shipped_library() if library is None else library
    stretch, share = match_stretch(series, ctx, holds, library)
    if rests and settings.rest == "auto":   # which still position is the stretch: the one a shipped
        other, other_share = match_stretch(series, ctx, rests, library)   # stretch recognises
        if other is not None and (stretch is None or other_share > share):
            holds, rests, stretch, share = rests, holds, other, other_share
    side_rule, hold_sides, side_why = _sides(series, ctx, holds, stretch, settings, sides, source)
    holds = [replace(h, side=s) for h, s in zip(holds, hold_sides)]
    bands, why = _select(ctx, holds, _rest_frames(series, holds, settings), stretch, side_rule is not None,
                         settings, tolerance)
    if not bands and stretch is not None:   # nothing differs clearly from the moves around a short hold
        bands, more = _select(ctx, holds, [], stretch, side_rule is not None, settings, tolerance)
        why += [f"nothing differs clearly from rest: the measures {stretch.id} judges", *more]
    if not bands:   # nothing differs from rest and no shipped stretch matched: what the holds keep steady
        bands, more = _select(ctx, holds, [], None, side_rule is not None, settings, tolerance, steady_only=True)
        why += ["nothing differs clearly from rest: the measures the holds keep within their noise", *more]
    if not bands:
        raise TeachError(f"{source}: no angle of the held position is read steadily enough to teach it")
    postures, views = _gates(ctx, holds, bands, stretch, settings, source)
    source = printable(source)
    anchor = stretch.anchor if stretch is not None and stretch.anchor in {b.key for b in bands} else None
    data = exercise_data(exercise_id, name or exercise_id.replace("_", " ").capitalize(), source,
                         postures=postures, views=views, side_rule=side_rule, holds=holds, bands=bands,
                         hold_s=hold_s, anchor=anchor, stretch=stretch.id if stretch else None)
    if stretch is not None:   # the stretch's own limits: a supine twist's twist belongs to it
        data["safety"] = stretch.safety.model_dump()
    notes = safety_notes(series, holds, stretch.safety if stretch is not None else Safety())
    matched = (f"the demonstration matches the shipped {stretch.id!r} ({share:.0%} of its held frames "
               "inside it): its measures and its people" if stretch else
               f"no shipped exercise accepts most of the held frames (best {share:.0%}): bands from normal ranges")
    why = [matched, side_why, *why]
    header = [f"{data['name']}: taught by `coach teach` from the demonstration {source}.",
              "Edit freely - every key is described in the shipped exercises/*.toml and coach/engine/exercises.py;",
              "`coach exercises validate` checks the file.", "", *why]
    comments = {**value_comments(holds, data, hold_s is not None),
                "posture": "the stable posture (coach/engine/context.py) in the held frames",
                "view": "the stable views in the held frames" + (f", {stretch.id}'s views" if stretch else "")
                        + " and every view each band is judged from",
                "sides": side_why.split(";")[0], "side_from": "; ".join(side_why.split("; ")[1:]),
                "anchor": f"as in {stretch.id}: the measure that defines it" if stretch else ""}
    text = exercise_toml(data, bands, notes, header, {k: v for k, v in comments.items() if v})
    return Taught(_validated(text, source), text, tuple(holds), tuple(rests), tuple(bands), tuple(notes),
                  stretch.id if stretch else None, tuple(why))


@lru_cache(maxsize=1)
def shipped_library() -> dict[str, Exercise]:
    """The shipped exercises only (a user's own taught files are not the evidence for new ones);
    read once per process (do not change the dict)."""
    from coach import exercises_dir

    library = {}
    for path in sorted(exercises_dir().glob("*.toml")):
        ex = load_exercise_file(path)
        library[ex.id] = ex
    return library
