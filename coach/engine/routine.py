"""Routine files: which exercises `coach live --routine FILE` coaches, in order, with optional overrides.

    name = "Gentle morning back"
    [[exercise]]
    id = "cat_cow"
    reps_per_side = 3          # optional: replaces the exercise file's value
    [[exercise]]
    id = "childs_pose"
    hold_s = 20                # optional: every phase of this exercise held this long

Keys of each [[exercise]]: `id` (an exercise of the library or of --exercises DIR), and optionally
`hold_s` (seconds >= 1, applied to every phase), `reps_per_side` (>= 1) and `rest_s` (seconds >= 0).
Unknown keys are rejected; every error names the file and the key, like the exercise files. The
overridden exercise is validated again as a whole, so an override cannot make an invalid exercise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError

from coach.engine.datafile import format_validation_error, item_label, load_model
from coach.engine.exercises import (
    MAX_HOLD_S,
    MAX_REPS_PER_SIDE,
    MAX_REST_S,
    MIN_HOLD_S,
    CheckedRecord,
    Exercise,
    load_library,
)
from coach.errors import ExerciseError


class RoutineError(ExerciseError):
    """A routine file is invalid or names an unknown exercise; the message names the file and the key."""


class RoutineItem(CheckedRecord):
    """One exercise of a routine, with the exercise file's own bounds on what it overrides (so an error
    names this file's key, not the exercise's `phases #1.hold_s`)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    hold_s: float | None = Field(default=None, ge=MIN_HOLD_S, le=MAX_HOLD_S, description="seconds every phase is held")
    reps_per_side: int | None = Field(default=None, ge=1, le=MAX_REPS_PER_SIDE)
    rest_s: float | None = Field(default=None, ge=0, le=MAX_REST_S)


class RoutineFile(CheckedRecord):
    name: str = Field(min_length=1)
    exercise: list[RoutineItem] = Field(min_length=1)


@dataclass(frozen=True)
class Routine:
    """A named sequence of exercises, overrides already applied."""

    name: str
    exercises: tuple[Exercise, ...]

    @classmethod
    def single(cls, exercise: Exercise) -> Routine:
        """The routine of `coach live --exercise ID`: one exercise as its file says, with no name of its
        own (the summaries name the routine only when a routine file did)."""
        return cls("", (exercise,))


OUTCOMES = ("completed", "stopped", "skipped", "unfinished")


@dataclass(frozen=True)
class RoutineEntry:
    """What became of one exercise of a routine, for the summary: every exercise is recorded, those
    skipped or never framed included, with why. `outcome`: completed | stopped | skipped (never
    framed, moved past with a key, or not reached) | unfinished (the session ended during it)."""

    exercise: str          # the exercise id
    name: str
    outcome: str
    reason: str = ""       # why it was stopped, skipped or unfinished; "" when completed

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"RoutineEntry.outcome: expected one of {', '.join(OUTCOMES)}, got {self.outcome!r}")
        if self.outcome != "completed" and not self.reason:
            raise ValueError(f"RoutineEntry.reason: a {self.outcome} exercise needs the reason")

    def line(self) -> str:
        """One line of the summary: "Bridge: skipped - never framed (Come closer to the camera)"."""
        return f"{self.name}: {self.outcome}" + (f" - {self.reason}" if self.reason else "")


def worth_listing(entries: tuple[RoutineEntry, ...]) -> bool:
    """Whether the summaries (terminal, window, report.html) list the routine: when it had more than one
    exercise or one was skipped. A single exercise done, stopped or unfinished is said by its segment."""
    return len(entries) > 1 or any(e.outcome == "skipped" for e in entries)


def apply_overrides(exercise: Exercise, item: RoutineItem) -> Exercise:
    """The exercise with the item's hold / reps / rest, validated again as a whole."""
    data = exercise.model_dump()
    if item.hold_s is not None:
        data["phases"] = [{**phase, "hold_s": item.hold_s} for phase in data["phases"]]
    for key in ("reps_per_side", "rest_s"):
        if getattr(item, key) is not None:
            data[key] = getattr(item, key)
    return Exercise.model_validate(data)




def _read(path: Path) -> RoutineFile:
    return load_model(path, RoutineFile, RoutineError, "routine file",
                      other=("phases", "an exercise file (it has [[phases]]; give it to --exercise)"))


def load_routine(path: str | os.PathLike, extra_dirs: list[str | os.PathLike] | None = None) -> Routine:
    """Load a routine file; its exercises come from the library (plus `extra_dirs`)."""
    path = Path(path)
    spec = _read(path)
    library = load_library(extra_dirs)
    exercises = []
    for i, item in enumerate(spec.exercise):
        where = f"exercise {item_label(i, {'id': item.id})}"
        if item.id not in library:
            raise RoutineError(f"{path}: {where}.id: unknown exercise {item.id!r}; "
                               f"known: {', '.join(sorted(library))}")
        try:
            exercises.append(apply_overrides(library[item.id], item))
        except ValidationError as exc:
            raise RoutineError(format_validation_error(path, exc).replace(f"{path}: ", f"{path}: {where}: ", 1)) from None
    return Routine(spec.name, tuple(exercises))
