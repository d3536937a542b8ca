"""Shrinking frames before MediaPipe (`PoseDetector(max_side_px=...)`) does not change what is judged.

The yardstick is the model's own noise: the same photo moved by 2 pixels (a change no one could see,
less than a camera's shake) gives other landmarks and angles, because the model's crops fall on
other pixels. In IMAGE mode the model is deterministic, so this is its run-to-run noise for inputs
that differ only as much as two frames of a still person do. Each photo is read at full size, moved
by 2 px, and shrunk by 2 (to TESTED_SIDE_PX, fewer pixels on the body than DEFAULT_MAX_SIDE_PX ever
leaves: a 1080p frame shrunk to 960 px keeps a person filling the height 540 px tall, a half photo
283 px), with the full model. The shrunk reading must disagree with the full-size one no more than
the moved one does - per landmark (median over photos of each photo's median distance, in body
scales) and per judged angle (the 90th percentile over (photo, angle) pairs) - and lose nobody.

Measured on the 30 shared photos: moved by 2 px, landmarks 0.0149 body scales and angles 0.91 deg
(median; 90th percentile 4.4 deg); shrunk by 2, 0.0132 and 0.85 deg (3.4 deg); by 1.33, 0.0102 and
0.58 deg (2.9 deg). Below 2 the shrink is within the model's noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from coach.io.sources import Frame, image_files, read_image
from coach.measure.conventions import MEASURE_NAMES
from coach.measure.measures import compute_measures
from coach.pose.detector import DEFAULT_MAX_SIDE_PX, MIN_SIDE_PX, PoseDetector, mediapipe_pixels
from coach.pose.landmarks import Landmark as L

PHOTO_SIDE_PX = 850          # the shared photos are 850 x 567
TESTED_SIDE_PX = PHOTO_SIDE_PX // 2
SHIFT_PX = 2
SEEN = 0.5                   # visibility and presence for a landmark to be compared
ANGLES = [i for i, name in enumerate(MEASURE_NAMES) if name.endswith("_deg")]


@pytest.mark.parametrize("shape, max_side_px, expected", [
    pytest.param((1080, 1920, 3), 960, (540, 960), id="1080p-halved"),
    pytest.param((1920, 1080, 3), 960, (960, 540), id="portrait-halved"),
    pytest.param((567, 850, 3), 425, (284, 425), id="photo-aspect-kept"),
    pytest.param((480, 854, 3), 960, (480, 854), id="smaller-unchanged"),
    pytest.param((480, 854, 3), None, (480, 854), id="off"),
])
def test_mediapipe_pixels_shrinks_to_the_longer_side(shape, max_side_px, expected):
    rgb = np.zeros(shape, np.uint8)
    rgb[:, :, 0] = 200
    out = mediapipe_pixels(rgb, max_side_px)
    assert out.shape[:2] == expected
    assert out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"] and out.shape[2] == 3
    assert int(out[..., 0].min()) == 200 and int(out[..., 1].max()) == 0   # still RGB, same colour


def test_a_sliced_view_is_made_contiguous_after_shrinking():
    rgb = np.zeros((1080, 1920 * 2, 3), np.uint8)[:, ::2]   # a strided view, which MediaPipe misreads
    out = mediapipe_pixels(rgb, 960)
    assert out.shape == (540, 960, 3) and out.flags["C_CONTIGUOUS"]


@pytest.mark.model
@pytest.mark.parametrize("max_side_px", [pytest.param(0, id="zero"), pytest.param(MIN_SIDE_PX - 1, id="below-model-input")])
def test_a_shrink_below_the_model_input_is_refused(lite_model_path, max_side_px):
    with pytest.raises(ValueError, match="max_side_px"):
        PoseDetector(lite_model_path, "image", max_side_px=max_side_px)


def test_the_tested_size_is_no_larger_than_the_default():
    """The photos are checked with fewer pixels than the default ever leaves a frame."""
    assert DEFAULT_MAX_SIDE_PX is None or TESTED_SIDE_PX <= DEFAULT_MAX_SIDE_PX


def _moved(rgb: np.ndarray, px: int) -> np.ndarray:
    """The photo moved `px` right and down (edge pixels repeated), same size."""
    padded = np.pad(rgb, ((px, 0), (px, 0), (0, 0)), mode="edge")
    return np.ascontiguousarray(padded[: rgb.shape[0], : rgb.shape[1]])


def _body_scale_px(xy_px: np.ndarray) -> float:
    """The longer of the shoulder width and the torso, in pixels (as bench/transforms.py)."""
    shoulders = np.linalg.norm(xy_px[L.LEFT_SHOULDER] - xy_px[L.RIGHT_SHOULDER])
    torso = np.linalg.norm((xy_px[L.LEFT_SHOULDER] + xy_px[L.RIGHT_SHOULDER]) / 2
                           - (xy_px[L.LEFT_HIP] + xy_px[L.RIGHT_HIP]) / 2)
    return float(max(shoulders, torso))


@pytest.fixture(scope="module")
def readings(model_path, photos_dir):
    """Per photo: the full-size, moved and shrunk poses (full model, IMAGE mode)."""
    out = {}
    with PoseDetector(model_path, "image", num_poses=1, max_side_px=None) as full, \
            PoseDetector(model_path, "image", num_poses=1, max_side_px=TESTED_SIDE_PX) as shrunk:
        for path in image_files(photos_dir):
            rgb = read_image(path)
            assert max(rgb.shape[:2]) == PHOTO_SIDE_PX, f"{path.name}: the photos changed size"
            out[path.name] = {"full": full.detect(Frame(0.0, 0, rgb)).pose,
                              "moved": full.detect(Frame(0.0, 0, _moved(rgb, SHIFT_PX))).pose,
                              "shrunk": shrunk.detect(Frame(0.0, 0, rgb)).pose}
    return out


def _disagreement(readings: dict, variant: str) -> tuple[float, float, list[str]]:
    """(median over photos of the median landmark distance in body scales, 90th percentile of the
    judged angles' differences in degrees, photos whose person was lost) against full size."""
    landmark, angle, lost = [], [], []
    for name, r in readings.items():
        base, other = r["full"], r[variant]
        if base.is_empty:
            continue
        if other.is_empty:
            lost.append(name)
            continue
        size = np.array(base.image_size, float)
        base_px, other_px = base.xy * size, other.xy * size - (SHIFT_PX if variant == "moved" else 0)
        seen = (base.visibility >= SEEN) & (base.presence >= SEEN)
        landmark.append(float(np.median(np.linalg.norm(other_px - base_px, axis=1)[seen])) / _body_scale_px(base_px))
        a, b = compute_measures(base).values[ANGLES], compute_measures(other).values[ANGLES]
        both = np.isfinite(a) & np.isfinite(b)
        angle.extend(np.abs(a[both] - b[both]).tolist())
    return float(np.median(landmark)), float(np.percentile(angle, 90)), lost


@pytest.mark.model
def test_shrunk_frames_keep_the_original_size(readings):
    for name, r in readings.items():
        assert r["shrunk"].image_size == r["full"].image_size, name   # pixel sizes are the original frame's


@pytest.mark.model
def test_shrinking_by_two_is_within_the_models_own_noise(readings):
    assert sum(not r["full"].is_empty for r in readings.values()) >= 25   # the yardstick has photos to stand on
    noise_landmark, noise_angle, _ = _disagreement(readings, "moved")
    landmark, angle, lost = _disagreement(readings, "shrunk")
    assert lost == []
    assert landmark <= noise_landmark, f"landmarks move {landmark:.4f} body scales, the model's noise is {noise_landmark:.4f}"
    assert angle <= noise_angle, f"angles differ {angle:.2f} deg (90th pct), the model's noise is {noise_angle:.2f}"
