"""The exercise a patient is coached with when a physiotherapist names one: `--exercise ID|FILE.toml`.

    coached = coached_exercise("walkthrough/exercises/anna_bridge.toml")   # or an id: "anna_bridge"
    coached.exercise, coached.text, coached.source

`coach compare` and `coach live --reference` teach the exercise from the demonstration unless one is
named; a named one is what coaches the patient - its bands, hold, rest and sides - and the
demonstration only guides (the ghost, the reference's numbers at its holds). A name ending in .toml
(or holding a path separator) is a file, loaded and validated as it stands: the file the physio
taught and edited, its id free (a copy may be renamed); anything else is an id of the library
(the shipped folder, $COACH_EXERCISES, --exercises). Every failure is one `ExerciseError` line
naming the file (or the id) and the key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coach.engine.exercises import Exercise, exercise_dirs, exercise_named, get_exercise, is_file_name
from coach.errors import ExerciseError


@dataclass(frozen=True)
class CoachedExercise:
    """A named exercise: validated, with its file's text as written (copied into a result folder)."""

    exercise: Exercise
    text: str
    source: str          # the file it was read from

    def __post_init__(self):
        if not self.text.strip():
            raise ValueError(f"CoachedExercise {self.source}: empty file text")


def coached_exercise(spec: str, dirs: Sequence[str | os.PathLike] = ()) -> CoachedExercise:
    """The exercise `--exercise ID|FILE.toml` names (see the module docstring)."""
    if is_file_name(spec):
        exercise = exercise_named(spec)   # names the file and the key of any mistake
        return CoachedExercise(exercise, _read(Path(spec)), spec)
    exercise = get_exercise(spec, list(dirs))
    path = next((p for d in reversed(exercise_dirs(list(dirs))) if (p := Path(d) / f"{spec}.toml").is_file()), None)
    if path is None:   # pragma: no cover - the library read it from one of these folders
        raise ExerciseError(f"{spec}: exercise file not found in the exercise folders")
    return CoachedExercise(exercise, _read(path), str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:   # it was just read: a race with an editor
        raise ExerciseError(f"{path}: cannot read the exercise file ({exc})") from None


__all__ = ["CoachedExercise", "coached_exercise", "is_file_name"]
