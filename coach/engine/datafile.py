"""Loading a validated TOML data file (exercises, routines, red flags) with one-line errors.

Every problem becomes the caller's named error, on one line, naming the file and the key:
`exercises/bridge.toml: phases.0.envelope.hip_left_deg.min: Input should be a valid number`.
"""

from __future__ import annotations

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


def format_validation_error(path: Path, err: ValidationError) -> str:
    """`path: key.path: message; other.key: message` — always one line."""
    parts = []
    for e in err.errors():
        msg = " ".join(e["msg"].removeprefix("Value error, ").split())
        key = ".".join(str(x) for x in e["loc"])
        parts.append(f"{key}: {msg}" if key else msg)
    return f"{path}: " + "; ".join(parts)


def read_toml(path: str | os.PathLike, error: type[CoachError], what: str) -> dict:
    """Parse a TOML file; `error` names the file when it is missing, unreadable or not TOML."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise error(f"{path}: larger than {MAX_BYTES} bytes, more than any {what} holds")
        return tomllib.loads(data.decode("utf-8"))
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


def load_model(path: str | os.PathLike, model: type[M], error: type[CoachError], what: str) -> M:
    """Parse and validate a TOML file as `model`; every failure is one `error` line."""
    data = read_toml(path, error, what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(Path(path), exc)) from None
