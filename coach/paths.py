"""Where the shipped data lives: the repository's exercises/ and samples/ folders, which an install
puts inside the package as coach._exercises and coach._samples (see pyproject.toml)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _data_dir(package: str, repo_folder: str) -> Path:
    try:
        found = Path(str(resources.files(package)))
        if found.is_dir():
            return found
    except (ModuleNotFoundError, TypeError):
        pass
    return _REPO / repo_folder  # a source checkout or an editable install


def exercises_dir() -> Path:
    return _data_dir("coach._exercises", "exercises")


def samples_dir() -> Path:
    return _data_dir("coach._samples", "samples")
