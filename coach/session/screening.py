"""Red-flag screening before `coach live` coaches anything.

The questions are the red-flag file's (`coach.engine.red_flags`), those that matter for the exercises
about to be coached (neck stretches add the neck questions, twisting stretches those whose advice names them). They are asked in the window (keys y / n)
or in the terminal (`input()`); answers are remembered for the day in `screening.json` in the user
state folder (`platformdirs.user_state_dir("coach")`, or `$COACH_STATE_DIR`), so a second session
the same day does not ask again (`--rescreen` asks again).

The safety rule: any "yes" shows that question's advice, which always sends the person to a
professional, and coaching does not start (`ScreeningBlocked`, exit code 3) unless `--clinician`
says a clinician supervises the session. A question that cannot be answered - no terminal input
(CI has no stdin), the window closed - is not taken as "no": coaching does not start
(`ScreeningNotAnswered`). Scripted and test runs state the answers with `--answers no`: the operator
declares that no red flag applies; it is recorded (source "scripted") like any other answer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from coach.engine.exercises import Exercise
from coach.engine.red_flags import RedFlag, load_red_flags
from coach.errors import CoachError
from coach.io.atomic import ensure_dir, write_text

ENV_STATE_DIR = "COACH_STATE_DIR"
STATE_FILE = "screening.json"
STATE_FORMAT = "coach-screening/1"
SCRIPTED_ANSWERS = ("no",)

Asker = Callable[[RedFlag, int, int], "bool | None"]  # (flag, number from 1, count) -> yes / no / None


class ScreeningNotAnswered(CoachError):
    """The questions could not be answered (no input, window closed): coaching does not start."""


class ScreeningBlocked(CoachError):
    """A red flag was answered "yes" and no clinician supervises the session."""

    exit_code = 3


@dataclass(frozen=True)
class ScreeningResult:
    """Today's answers: flag id -> True for "yes". `source`: terminal | window | scripted | remembered."""

    date: str
    answers: Mapping[str, bool]
    source: str
    flags: tuple[RedFlag, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", MappingProxyType(dict(self.answers)))

    @property
    def yes(self) -> tuple[RedFlag, ...]:
        """The red flags answered "yes", in file order."""
        return tuple(f for f in self.flags if self.answers.get(f.id))

    def as_dict(self, clinician: bool = False) -> dict:
        return {"format": STATE_FORMAT, "date": self.date, "source": self.source, "clinician": clinician,
                "answers": {f.id: ("yes" if self.answers[f.id] else "no") for f in self.flags}}


TWIST_MEASURE = "trunk_rotation_deg"   # a stretch whose target band is on it is a twisting stretch


def area_of(exercise: Exercise) -> str:
    """"neck" for a stretch judged on neck measures (or named so), else "back"."""
    keys = [k for p in exercise.phases for k in p.envelope]
    return "neck" if exercise.id.startswith("neck") or any(k.startswith("neck_") for k in keys) else "back"


def areas_of(exercise: Exercise) -> set[str]:
    """The kinds of stretch an exercise is, for the red-flag questions: its area (`area_of`), and
    "twist" when it is judged on the trunk's rotation (a twisting stretch: the supine, seated, chair
    and standing twists)."""
    keys = {k for p in exercise.phases for k in p.envelope}
    return {area_of(exercise)} | ({"twist"} if TWIST_MEASURE in keys else set())


def questions_for(exercises: Iterable[Exercise], flags: tuple[RedFlag, ...] | None = None) -> tuple[RedFlag, ...]:
    """The questions for these exercises, in the red-flag file's order, each once."""
    flags = load_red_flags() if flags is None else flags
    areas = {a for ex in exercises for a in areas_of(ex)}
    return tuple(f for f in flags if any(f.applies_to(a) for a in areas))


def state_path() -> Path:
    """Where today's answers are kept ($COACH_STATE_DIR, else the platform's user state folder)."""
    folder = os.environ.get(ENV_STATE_DIR)
    if not folder:
        import platformdirs

        folder = platformdirs.user_state_dir("coach")
    return Path(folder) / STATE_FILE


def remembered(today: str) -> dict[str, bool]:
    """Answers given on `today` (ISO date); an unreadable or older file counts as no answers."""
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
        if data.get("format") != STATE_FORMAT or data.get("date") != today:
            return {}
        return {str(k): v == "yes" for k, v in dict(data["answers"]).items() if v in ("yes", "no")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def remember(result: ScreeningResult, clinician: bool = False) -> None:
    """Keep today's answers (merged with earlier ones of the same day)."""
    path = state_path()
    merged = {**remembered(result.date), **result.answers}
    data = {"format": STATE_FORMAT, "date": result.date, "source": result.source, "clinician": clinician,
            "answers": {k: ("yes" if v else "no") for k, v in merged.items()}}
    ensure_dir(path.parent)
    write_text(path, json.dumps(data, indent=1) + "\n")


def terminal_asker(read: Callable[[str], str] = input, write: Callable[[str], None] = print) -> Asker:
    """Ask in the terminal; end of input or no stdin at all is no answer, never "no"."""

    def ask(flag: RedFlag, number: int, count: int) -> bool | None:
        while True:
            try:
                reply = read(f"[{number}/{count}] {flag.question} (y/n): ").strip().lower()
            except (EOFError, OSError, RuntimeError):  # EOF, unreadable, or sys.stdin is None ("lost sys.stdin")
                write("")   # the prompt's line ends: what is said next starts on its own line
                return None
            if reply in ("y", "yes", "n", "no"):
                return reply.startswith("y")
            write("Please answer y or n.")

    return ask


def screen(exercises: Iterable[Exercise], ask: Asker | None, *, scripted: str | None = None,
           today: str | None = None, rescreen: bool = False, source: str = "terminal") -> ScreeningResult:
    """Today's answers for these exercises: remembered ones, then `ask` for the rest (or `scripted`)."""
    flags = questions_for(exercises)
    today = today or dt.date.today().isoformat()
    known = {} if rescreen else remembered(today)
    if scripted is not None:
        if scripted not in SCRIPTED_ANSWERS:
            raise ValueError(f"scripted: expected one of {', '.join(SCRIPTED_ANSWERS)}, got {scripted!r}")
        # "no" to every question not answered yet: a "yes" given today stands (--rescreen asks again)
        return ScreeningResult(today, {f.id: known.get(f.id, False) for f in flags}, "scripted", flags)
    missing = [f for f in flags if f.id not in known]
    if not missing:
        return ScreeningResult(today, {f.id: known[f.id] for f in flags}, "remembered", flags)
    if ask is None:
        raise ScreeningNotAnswered("the red-flag questions were not answered (no terminal input); run in a "
                                   "terminal, or pass --answers no to state that none of them applies")
    answers = dict(known)
    for number, flag in enumerate(missing, start=1):
        reply = ask(flag, number, len(missing))
        # only a "yes" to one of THESE exercises' questions decides (a remembered "yes" to a back-only
        # question says nothing about the neck question a neck stretch needs answered)
        if reply is None and not any(answers.get(f.id) for f in flags):
            raise ScreeningNotAnswered("the red-flag questions were not answered: coaching does not start "
                                       "without them (pass --answers no to state that none of them applies)")
        if reply is None:  # a "yes" was given before the input ended: that answer decides
            break
        answers[flag.id] = bool(reply)
    asked = tuple(f for f in flags if f.id in answers)
    return ScreeningResult(today, {f.id: answers[f.id] for f in asked}, source, asked)


def enforce(result: ScreeningResult, *, clinician: bool, tell: Callable[[str], None]) -> None:
    """Show the advice of every "yes"; refuse to start unless a clinician supervises."""
    for flag in result.yes:
        tell(f"Red flag: {flag.question}\n  -> {flag.advice}")
    if not result.yes:
        return
    if clinician:
        tell("Supervised session (--clinician): continuing despite the red flag(s) above.")
        return
    asked = " / ".join(f"\"{f.question}\"" for f in result.yes)   # in the words asked, never the flag's id
    raise ScreeningBlocked(f"not starting: a red flag - you answered yes to {asked}; please see a professional first "
                           "(a supervising clinician can pass --clinician)")
