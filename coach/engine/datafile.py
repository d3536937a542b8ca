"""Loading a validated TOML data file (exercises, routines, red flags) with one-line errors.

Every problem becomes the caller's named error, on one line, naming the file and the key:
`exercises/bridge.toml: phases #1 (lift).envelope.hip_left_deg.min: Input should be a valid number`.
An item of an array of tables is counted from 1, as a person counts the `[[phases]]` in the file,
and named by its `name` (or `id`) when it has one.

Values are taken as TOML typed them (pydantic's strict mode): `hold_s = "30"` or `hold_s = true` is
an error, not 30 or 1 s. A number field also takes an integer (`hold_s = 30`), and an integer field a
whole float (`reps_per_side = 3.0`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from coach.errors import CoachError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

M = TypeVar("M", bound=BaseModel)
# The data files are a few kB; a megabyte is hundreds of exercises' worth, and reading no more than
# that keeps a wrong file (a video renamed .toml, /dev/zero) from filling memory.
MAX_BYTES = 1 << 20


class StrictRecord(BaseModel):
    """The base of every data-file record: an unknown key is an error (a typo must not be ignored
    silently), records are frozen, and text is stripped of surrounding whitespace."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def format_validation_error(path: Path, err: ValidationError, data=None) -> str:
    """`path: key.path: message; other.key: message` — always one line; `data`: what was validated,
    to name the items of an array (`key_path`)."""
    parts = []
    for e in err.errors():
        msg = " ".join(e["msg"].removeprefix("Value error, ").split())
        key = key_path(e["loc"], data)
        parts.append(f"{key}: {msg}" if key else msg)
    return f"{path}: " + "; ".join(parts)


def _a(what: str) -> str:
    return f"{'an' if what[0] in 'aeiou' else 'a'} {what}"


def item_label(index: int, item=None) -> str:
    """An array item as a person finds it in the file: "#2 (cow)" - counted from 1, with its name or id."""
    name = next((item[k] for k in ("name", "id") if isinstance(item, dict) and isinstance(item.get(k), str)), None)
    return f"#{index + 1}" + (f" ({name})" if name else "")


def key_path(loc, data=None) -> str:
    """A validation error's location in the file's words: `phases #1 (lift).envelope.hip_left_deg.min`
    (pydantic's `phases.0.envelope...` counts from 0 and names no phase)."""
    out, here = "", data
    for part in loc:
        if isinstance(part, int):
            item = here[part] if isinstance(here, list) and 0 <= part < len(here) else None
            out += " " + item_label(part, item)
            here = item
        else:
            out += ("." if out else "") + str(part)
            here = here.get(part) if isinstance(here, dict) else None
    return out


def _whole_numbers(value):
    """`reps_per_side = 3.0` is the integer 3 (TOML writes it as a float): a whole float becomes an int,
    which every number field takes too; 2.5 stays a float, refused where an integer is needed."""
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _not_json(value, loc=()) -> tuple | None:
    """The key of the first value TOML typed as a date or time (JSON has none), or None."""
    if isinstance(value, dict):
        return next((bad for k, v in value.items() if (bad := _not_json(v, (*loc, k))) is not None), None)
    if isinstance(value, list):
        return next((bad for i, v in enumerate(value) if (bad := _not_json(v, (*loc, i))) is not None), None)
    return None if value is None or isinstance(value, (str, int, float, bool)) else loc


def read_toml(path: str | os.PathLike, error: type[CoachError], what: str) -> dict:
    """Parse a TOML file; `error` names the file when it is missing, unreadable or not TOML."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise error(f"{path}: larger than {MAX_BYTES} bytes, more than any {what} holds")
        return tomllib.loads(data.decode("utf-8-sig"))   # a BOM (Windows Notepad) is not TOML, and means nothing here
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, expected a {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({' '.join(str(exc).split())})") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables by recursion
        raise error(f"{path}: not valid TOML (values nested too deeply)") from None


def load_model(path: str | os.PathLike, model: type[M], error: type[CoachError], what: str,
               other: tuple[str, str] | None = None) -> M:
    """Parse and validate a TOML file as `model`; every failure is one `error` line. `other`: (a top-level
    key only another kind of file has, what that file is): such a file is named as what it is, not
    refused key by key ("phases: Field required; cues: Field required; ..." for a routine file)."""
    data = read_toml(path, error, what)
    if other is not None and isinstance(data.get(other[0]), list) and other[0] not in model.model_fields:
        raise error(f"{path}: {other[1]}, not {_a(what)}")
    dated = _not_json(data)
    if dated is not None:
        raise error(f"{path}: {key_path(dated, data)}: is a TOML date or time; no key of {_a(what)} takes one")
    try:
        # strict, from JSON: a number must be a number (no "30" or true read as 30 s), while arrays
        # still fill tuples and strings the enumerations, as TOML has no other way to write them
        return model.model_validate_json(json.dumps(_whole_numbers(data)), strict=True)
    except ValidationError as exc:
        raise error(format_validation_error(Path(path), exc, data)) from None
