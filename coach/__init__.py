"""coach - a pose-form coach for back stretches.

The packages are the pipeline's stages, each importing only those before it:

    io (frames and files) -> pose (who is where; the only mediapipe import) -> measure (pure angles)
      -> engine (judgement: the one stateful piece, time passed in) -> render / report (read verdicts)
      -> session (the loop: feed -> engine -> sinks) -> physio (teach, compare) -> history -> cli

Importing this package has no side effects and does not import mediapipe or cv2. Beside the
version it says where the shipped data is: the repository's exercises/ and samples/ folders, which
an install puts inside the package as coach._exercises and coach._samples (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

_REPO = Path(__file__).resolve().parent.parent


def _data_dir(package: str, repo_folder: str) -> Path:
    """An install puts the folder inside the package (coach/_exercises); a source checkout or an
    editable install has it at the top of the repository. (`importlib.resources.files` is no help:
    these data folders are namespace packages, for which it returns a path-like that is no folder.)"""
    installed = Path(__file__).resolve().parent / package.split(".")[-1]
    return installed if installed.is_dir() else _REPO / repo_folder


def exercises_dir() -> Path:
    """The shipped exercise library (exercises/*.toml and routines/)."""
    return _data_dir("coach._exercises", "exercises")


def samples_dir() -> Path:
    """The bundled sample recordings (samples/)."""
    return _data_dir("coach._samples", "samples")


def lazy_exports(package: str, names: dict[str, str]):
    """`__all__`, `__getattr__` and `__dir__` for a stage package that lists its public names
    (name -> module in the package): `from coach.pose import Pose` works, and imports only
    `coach.pose.core`, when first asked for."""
    import importlib

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{names[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(names)

    return list(names), __getattr__, __dir__
