"""What is installed agrees with what pyproject.toml declares.

- Exactly one OpenCV distribution: the four on PyPI all write the same `cv2/` package, so two of
  them installed together leave a `cv2` made of two versions' files. MediaPipe requires
  opencv-contrib-python, so that is the one coach declares.
- mediapipe inside the declared (tested) range, and every dependency at or above its tested lower bound.
"""

from __future__ import annotations

import sys
from importlib import metadata

import pytest
from conftest import REPO
from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

OPENCV_DISTRIBUTIONS = ("opencv-python", "opencv-contrib-python", "opencv-python-headless",
                        "opencv-contrib-python-headless")
FIX_TWO_OPENCVS = ("pip uninstall -y opencv-python && "
                   "pip install --force-reinstall --no-deps opencv-contrib-python")


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    found += [Requirement(text) for text in project["optional-dependencies"]["dev"]]
    return [r for r in found if r.marker is None or r.marker.evaluate()]


def _installed(name: str) -> Version | None:
    try:
        return Version(metadata.version(name))
    except metadata.PackageNotFoundError:
        return None


DECLARED = _declared()


def test_exactly_one_opencv_distribution_is_installed():
    installed = {name: _installed(name) for name in OPENCV_DISTRIBUTIONS}
    present = sorted(name for name, version in installed.items() if version is not None)
    assert present == ["opencv-contrib-python"], (
        f"expected only opencv-contrib-python, found {present or 'none'}; in an older environment: {FIX_TWO_OPENCVS}")


def test_only_the_opencv_mediapipe_requires_is_declared():
    names = [r.name for r in DECLARED if r.name in OPENCV_DISTRIBUTIONS]
    assert names == ["opencv-contrib-python"]
    mediapipe_needs = {Requirement(text).name for text in metadata.requires("mediapipe") or ()}
    assert set(names) <= mediapipe_needs | {"opencv-contrib-python"}


def test_mediapipe_is_pinned_to_a_tested_range():
    (mediapipe,) = [r for r in DECLARED if r.name == "mediapipe"]
    operators = sorted(spec.operator for spec in mediapipe.specifier)
    assert operators == ["<", ">="], f"mediapipe needs a lower and an upper bound, got {mediapipe.specifier}"


@pytest.mark.parametrize("requirement", DECLARED, ids=[r.name for r in DECLARED])
def test_each_dependency_has_a_lower_bound_and_the_installed_version_meets_it(requirement):
    assert any(spec.operator == ">=" for spec in requirement.specifier), f"{requirement.name}: no tested lower bound"
    version = _installed(requirement.name)
    assert version is not None, f"{requirement.name} is declared but not installed"
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{requirement.name} {version} is outside the declared {requirement.specifier}")
