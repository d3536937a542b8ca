"""Teach an exercise from a demonstration: a measures series in, a validated exercise out. Pure.

    series = MeasureSeries.from_measures(t_s, measures)          # one `Measures` per frame of the demo
    taught = teach(series, "anna_bridge", name="Bridge (Anna)", source="anna.mp4")
    taught.exercise          # a validated `coach.engine.exercises.Exercise`
    taught.toml              # its exercise file, commented; `coach teach` writes and re-loads it

The steps, each its own pure function:
  held positions   `coach.physio.teach_holds.find_holds`: still (the engine's `StillTracker` on zero-phase
                   speeds) and steady runs of at least 1.5 s; the start position is rest
                   (`NoStableHold` when the demonstration never holds still)
  sides            `coach.physio.teach_envelope.choose_side_rule`: a `side_from` rule decisive in every hold
  envelope         `coach.physio.teach_envelope.derive_bands`: centre = median over the holds, half-width =
                   max(3 x 1.4826 MAD, noise floor by reliability: high 8, medium 12, low 20 deg)
  gates            the postures and camera views of the held frames (plus views every band can be
                   judged from), so a patient filmed from another good angle is still coached
  hold target      80% of the median demonstrated hold, rounded down to whole seconds
  safety           the `Safety` defaults, with a note wherever the demonstration goes past one
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace

from pydantic import ValidationError

from coach.engine.exercises import Exercise
from coach.measure.conventions import Posture, View
from coach.physio.teach_envelope import (
    DerivedBand,
    choose_side_rule,
    common_values,
    derive_bands,
    keyed_columns,
    safety_notes,
    views_for,
)
from coach.physio.teach_file import exercise_data, exercise_toml
from coach.physio.teach_holds import (
    MEDIUM_RANK,
    HeldSpan,
    MeasureSeries,
    NoStableHold,
    TeachError,
    TeachSettings,
    find_holds,
    quiet_angles,
    still_mask,
    still_spans,
)
from coach.usertext import control_character, printable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DerivedBand", "HeldSpan", "MeasureSeries", "NoStableHold", "TeachError", "TeachSettings", "Taught",
           "find_holds", "still_mask", "still_spans", "teach"]


@dataclass(frozen=True)
class Taught:
    """What `teach` learned: the exercise, its file text, and the evidence behind both."""

    exercise: Exercise
    toml: str
    holds: tuple[HeldSpan, ...]     # with the side each was shown on (None without sides)
    rests: tuple[HeldSpan, ...]
    bands: tuple[DerivedBand, ...]
    notes: tuple[str, ...]          # where the demonstration goes past a default safety limit


def _bands(series: MeasureSeries, holds: list[HeldSpan], rests: list[HeldSpan], sides: tuple[str | None, ...],
           settings: TeachSettings, source: str) -> list[DerivedBand]:
    """Bands from the angles read at medium reliability or better; low-reliability estimates only when
    none of those qualifies. Only angles quiet enough to judge stillness by are banded."""
    rest_sides = [sides[0]] * len(rests)
    for min_rank in (MEDIUM_RANK, 1):
        quiet = quiet_angles(series, settings, min_rank)
        bands = derive_bands(keyed_columns(series, holds, sides, quiet),
                             keyed_columns(series, rests, rest_sides, quiet), settings, min_rank)
        if bands:
            return bands
    raise TeachError(f"{source}: no angle of the held position is read steadily enough to teach it")


def _gates(series: MeasureSeries, holds: list[HeldSpan], bands: list[DerivedBand],
           settings: TeachSettings, source: str) -> tuple[list[Posture], list[View]]:
    frames = [i for h in holds for i in range(h.first, h.stop)]
    postures = common_values([series.postures[i] for i in frames], settings, Posture.UNKNOWN)
    views = common_values([series.views[i] for i in frames], settings, View.UNKNOWN)
    if not postures or not views:
        raise TeachError(f"{source}: the posture or camera view of the held position cannot be told "
                         "(the shoulders and hips must be in view)")
    return postures, views_for(bands, views)


def _validated(text: str, source: str) -> Exercise:
    try:
        return Exercise.model_validate(tomllib.loads(text))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise TeachError(f"{source}: the taught exercise is not valid ({where}: {first['msg']})") from None


def teach(series: MeasureSeries, exercise_id: str, *, name: str | None = None, source: str = "demonstration",
          settings: TeachSettings = TeachSettings()) -> Taught:
    """Learn an exercise from a demonstration's measures. `NoStableHold` / `TeachError` name `source`.
    A name with control characters is refused (the TOML written holds it in comments, which cannot
    hold them); control characters in `source` (a file name) are written as spaces."""
    if name is not None and (found := control_character(name)):
        raise TeachError(f"name {printable(name)!r}: holds the control character {found}; "
                         "an exercise's name is plain text on one line")
    holds, rests = find_holds(series, settings, source)
    side_rule, sides = choose_side_rule(series, holds, settings)
    holds = [replace(h, side=s) for h, s in zip(holds, sides)]
    bands = _bands(series, holds, rests, sides, settings, source)
    postures, views = _gates(series, holds, bands, settings, source)
    source = printable(source)
    data = exercise_data(exercise_id, name or exercise_id.replace("_", " ").capitalize(), source,
                         postures=postures, views=views, side_rule=side_rule, holds=holds, bands=bands)
    notes = safety_notes(series, holds)
    header = [f"{data['name']}: taught by `coach teach` from the demonstration {source}.",
              "Edit freely - every key is described in the shipped exercises/*.toml and coach/engine/exercises.py;",
              "`coach exercises validate` checks the file."]
    text = exercise_toml(data, bands, notes, header)
    return Taught(_validated(text, source), text, tuple(holds), tuple(rests), tuple(bands), tuple(notes))
