"""Shared fixtures: where ../shared is, and the real model (fail, not skip, under COACH_REQUIRE_MODEL=1)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("COACH_SHARED", REPO.parent / "shared"))
REQUIRE_MODEL = os.environ.get("COACH_REQUIRE_MODEL") == "1"


def _need(path: Path, what: str) -> Path:
    if path.exists():
        return path
    msg = f"{what} not found at {path} (set COACH_SHARED / COACH_MODEL_DIR)"
    if REQUIRE_MODEL:
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _need(SHARED, "shared material")


@pytest.fixture(scope="session")
def photos_dir(shared_dir) -> Path:
    return _need(shared_dir / "photos", "shared photos")


@pytest.fixture(scope="session")
def landmarks_dir(shared_dir) -> Path:
    return _need(shared_dir / "landmarks", "shared landmark recordings")


@pytest.fixture(scope="session")
def photo_labels(photos_dir) -> list[dict]:
    with open(photos_dir / "LABELS.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def model_dir() -> Path:
    return Path(os.environ.get("COACH_MODEL_DIR", SHARED / "models"))


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The full model bundle, as the shared recordings were made with it."""
    return _need(model_dir() / "pose_landmarker_full.task", "model bundle")


@pytest.fixture(scope="session")
def lite_model_path() -> Path:
    return _need(model_dir() / "pose_landmarker_lite.task", "model bundle")


@pytest.fixture(scope="session")
def photo_poses(photos_dir, photo_labels):
    """`photo_poses("full" | "lite")` -> {photo file: PoseFrame}: each shared photo through that model
    in IMAGE mode, detected once per test session (the photo tests share it)."""
    from coach.io.sources import Frame, read_image
    from coach.pose.detector import PoseDetector

    cache: dict[str, dict] = {}

    def poses(variant: str) -> dict:
        if variant not in cache:
            bundle = _need(model_dir() / f"pose_landmarker_{variant}.task", "model bundle")
            with PoseDetector(bundle, "image") as detector:
                cache[variant] = {row["file"]: detector.detect(Frame(float(i), i, read_image(photos_dir / row["file"])))
                                  for i, row in enumerate(photo_labels)}
        return cache[variant]
    return poses


@pytest.fixture(autouse=True)
def _private_user_state(tmp_path_factory, monkeypatch):
    """Tests never touch the user's real history database, screening answers or model cache."""
    state = tmp_path_factory.mktemp("user-state")
    monkeypatch.setenv("COACH_DB", str(state / "history.sqlite"))
    monkeypatch.setenv("COACH_STATE_DIR", str(state / "state"))
