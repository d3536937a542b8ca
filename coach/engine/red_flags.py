"""Red-flag screening questions (`coach/red_flags.toml`): validated data, like the exercise files.

Each flag is a yes/no question; "yes" means: do not start the stretches, show the advice, which
always sends the user to a professional. Unknown keys are rejected and every error names the file
and the key (`red_flags.toml: flag #4 (fever_weight_loss).question: Field required`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from coach.engine.datafile import StrictRecord, load_model
from coach.errors import CoachError

RED_FLAGS_PATH = Path(__file__).with_name("red_flags.toml")


class RedFlagError(CoachError):
    """The red-flag file is invalid; the message names the file and the key."""


AREAS = ("back", "neck", "twist")   # a back stretch, a neck stretch, a twisting stretch (see `stretch_areas`)
Area = Literal["back", "neck", "twist"]
# The stretches an advice can name, by the words that name them: a flag whose advice says "do not do
# neck or twisting stretches" must be asked before every neck and every twisting stretch.
_NAMED_IN_ADVICE = (("neck", re.compile(r"\bneck (?:or [a-z]+ )?stretch", re.I)),
                    ("twist", re.compile(r"\btwist(?:ing|s)?\b", re.I)))


class RedFlag(StrictRecord):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    area: Literal["back", "neck", "twist", "any"] | list[Area] = "any"
    urgency: Literal["urgent", "soon"] = "soon"
    question: str = Field(min_length=1)
    advice: str = Field(min_length=1)

    @model_validator(mode="after")
    def _sends_to_a_professional(self) -> RedFlag:
        if "professional" not in self.advice.lower() and "medical help" not in self.advice.lower():
            raise ValueError("advice must send the user to a professional (say 'professional' or 'medical help')")
        return self

    @model_validator(mode="after")
    def _asked_where_its_advice_applies(self) -> RedFlag:
        """A flag whose advice names a kind of stretch is asked before every stretch of that kind."""
        for area, words in _NAMED_IN_ADVICE:
            if words.search(self.advice) and not self.applies_to(area):
                raise ValueError(f"advice names {area} stretches ({words.search(self.advice).group(0)!r}): "
                                 f"area must be \"any\" or include \"{area}\"")
        return self

    @property
    def areas(self) -> tuple[str, ...]:
        return AREAS if self.area == "any" else (self.area,) if isinstance(self.area, str) else tuple(self.area)

    def applies_to(self, area: str) -> bool:
        """Whether the question matters for stretches of `area` ("back", "neck" or "twist")."""
        return area in self.areas


class RedFlags(StrictRecord):
    flag: list[RedFlag] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> RedFlags:
        ids = [f.id for f in self.flag]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate id(s): {', '.join(duplicates)}")
        return self




def load_red_flags(path: str | os.PathLike | None = None) -> tuple[RedFlag, ...]:
    """The screening questions in file order (the shipped file when `path` is None)."""
    path = Path(path) if path is not None else RED_FLAGS_PATH
    return tuple(load_model(path, RedFlags, RedFlagError, "red-flag file").flag)


def flags_for(area: str, flags: tuple[RedFlag, ...] | None = None) -> tuple[RedFlag, ...]:
    """The questions that matter before stretches of `area` ("back", "neck" or "twist")."""
    if area not in AREAS:
        raise ValueError(f"area: expected 'back', 'neck' or 'twist', got {area!r}")
    return tuple(f for f in (flags if flags is not None else load_red_flags()) if f.applies_to(area))
