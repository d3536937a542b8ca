"""The MediaPipe adapter and the pipeline, with the real model on the shared photos.

Videos are written at test time from the photos (never committed). The full model is used where
accuracy is the point (photos, VIDEO vs IMAGE); the lite model where only the plumbing is.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import zipfile

import cv2
import numpy as np
import pytest
from test_sources import write_test_video

from coach.errors import ModelError
from coach.io.sources import Frame, open_source, read_image
from coach.pose.detector import (
    DEFAULT_MAX_SIDE_PX,
    DEFAULT_NUM_POSES,
    WATCH_MAX_SIDE_PX,
    WATCH_RATE_HZ,
    PoseDetector,
)
from coach.pose.landmarks import Landmark as L
from coach.pose.recording import Recording
from coach.pose.tracking import torso_centre
from coach.session.feed import open_feed

pytestmark = pytest.mark.model

UPRIGHT = {"neck_side_bend", "pelvic_tilt", "standing_rotation", "chair_rotation", "chair_side_bend",
           "neck_flexion", "seated_spinal_twist"}
LYING_OR_ON_ALL_FOURS = {"bridge", "cat_cow", "childs_pose", "knee_to_chest", "prone_extension", "supine_twist"}
VIDEO_PHOTOS = ["neck_side_bend__Side_Neck_Stretch__0.jpg", "bridge__Butt_Lift_Bridge__0.jpg",
                "cat_cow__Cat_Stretch__0.jpg", "seated_spinal_twist__Dancers_Stretch__0.jpg",
                "pelvic_tilt__Standing_Pelvic_Tilt__1.jpg", "childs_pose__Childs_Pose__0.jpg"]
HOLD_FRAMES, VIDEO_FPS, VIDEO_SIZE_PX = 6, 25.0, (640, 480)
SHOULDERS, HIPS = [int(L.LEFT_SHOULDER), int(L.RIGHT_SHOULDER)], [int(L.LEFT_HIP), int(L.RIGHT_HIP)]


@pytest.fixture(scope="module")
def image_detector(model_path):
    with PoseDetector(model_path, "image") as detector:
        yield detector


@pytest.fixture(scope="module")
def photo_video(tmp_path_factory, photos_dir):
    """Six photos, each held for HOLD_FRAMES frames, as a 640x480 mp4 at 25 fps."""
    stills = [cv2.resize(read_image(photos_dir / name), VIDEO_SIZE_PX, interpolation=cv2.INTER_AREA)
              for name in VIDEO_PHOTOS]
    path = tmp_path_factory.mktemp("video") / "photos.mp4"
    write_test_video(path, (s for s in stills for _ in range(HOLD_FRAMES)), VIDEO_FPS)
    return path


@pytest.fixture(scope="module")
def video_frames(photo_video) -> list[Frame]:
    return list(open_source(photo_video).frames())


def _stretch_rows(photo_labels):
    return [r for r in photo_labels if r["position"] == "stretch"]


def test_every_stretch_photo_has_a_plausible_pose(image_detector, photos_dir, photo_labels):
    rows = _stretch_rows(photo_labels)
    assert len(rows) >= 15
    for row in rows:
        rgb = read_image(photos_dir / row["file"])
        found = image_detector.detect(Frame(0.0, 0, rgb))
        pose = found.pose
        assert not pose.is_empty, f"no pose in {row['file']}"
        assert pose.image_size == (rgb.shape[1], rgb.shape[0])
        torso = pose.xy[SHOULDERS + HIPS]
        assert ((torso > -0.02) & (torso < 1.02)).all(), f"{row['file']}: torso outside the frame"
        assert (pose.visibility[SHOULDERS + HIPS] > 0.5).all(), f"{row['file']}: torso not visible"
        assert np.abs(pose.world[HIPS].mean(axis=0)).max() < 0.05, f"{row['file']}: world origin not at the hips"
        shoulder_px, hip_px = pose.pixel_xy[SHOULDERS].mean(axis=0), pose.pixel_xy[HIPS].mean(axis=0)
        dx_px, dy_px = shoulder_px - hip_px
        if row["stretch"] in UPRIGHT:
            assert dy_px < -0.1 * rgb.shape[0], f"{row['file']}: shoulders not above the hips"
        elif row["stretch"] in LYING_OR_ON_ALL_FOURS:
            assert abs(dx_px) > abs(dy_px), f"{row['file']}: torso not lying"


def test_gray_and_sliced_inputs_are_converted_before_mediapipe(image_detector, photos_dir):
    rgb = read_image(photos_dir / "neck_side_bend__Side_Neck_Stretch__0.jpg")
    reference = image_detector.detect(Frame(0.0, 0, rgb)).pose
    gray = image_detector.detect(Frame(0.0, 0, cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))).pose
    padded = np.zeros((rgb.shape[0], rgb.shape[1] * 2, 3), np.uint8)
    padded[:, ::2] = rgb
    sliced = image_detector.detect(Frame(0.0, 0, padded[:, ::2])).pose  # a strided view, not contiguous
    assert not gray.is_empty
    assert np.nanmedian(np.abs(gray.xy - reference.xy)) < 0.02
    assert np.allclose(sliced.xy, reference.xy, atol=1e-6)


def test_nobody_found_is_an_empty_pose(image_detector):
    found = image_detector.detect(Frame(0.0, 3, np.full((480, 640, 3), 128, np.uint8)))
    assert found.pose.is_empty and found.others == () and found.index == 3
    assert found.pose.image_size == (640, 480)


def test_two_people_the_larger_is_the_person_exercising(image_detector, photos_dir):
    big = read_image(photos_dir / "neck_side_bend__Side_Neck_Stretch__0.jpg")
    small = read_image(photos_dir / "standing_rotation__Middle_Back_Stretch__0.jpg")
    small = cv2.resize(small, (small.shape[1] * 7 // 10, small.shape[0] * 7 // 10))
    canvas = np.full((big.shape[0], big.shape[1] + small.shape[1], 3), 255, np.uint8)
    canvas[:, : big.shape[1]] = big
    canvas[-small.shape[0]:, big.shape[1]:] = small
    found = image_detector.detect(Frame(0.0, 0, canvas))
    left_share = big.shape[1] / canvas.shape[1]
    assert len(found.others) == 1
    assert torso_centre(found.pose)[0] < left_share < torso_centre(found.others[0])[0]
    with PoseDetector(image_detector.model_path, "image", num_poses=1) as single:
        assert single.detect(Frame(0.0, 0, canvas)).others == ()


def _assert_same_landmarks(moving, still, name: str) -> None:
    assert not moving.is_empty and not still.is_empty, name
    seen = still.seen_mask() & moving.seen_mask()
    assert seen.sum() >= 15, name
    error = np.abs(moving.xy[seen] - still.xy[seen])
    assert np.median(error) < 0.015 and error.max() < 0.1, f"{name}: median {np.median(error):.4f}, max {error.max():.3f}"


def test_video_mode_matches_image_mode_on_the_still_frames(model_path, video_frames, image_detector):
    """num_poses=2: with one person in view MediaPipe re-detects every frame."""
    with PoseDetector(model_path, "video", num_poses=2) as detector:
        tracked = [detector.detect(frame) for frame in video_frames]
    assert [p.index for p in tracked] == list(range(len(VIDEO_PHOTOS) * HOLD_FRAMES))
    assert np.all(np.diff([p.t_s for p in tracked]) > 0)
    for block, name in enumerate(VIDEO_PHOTOS):
        last = (block + 1) * HOLD_FRAMES - 1
        _assert_same_landmarks(tracked[last].pose, image_detector.detect(video_frames[last]).pose, name)


def test_tracking_with_one_pose_stays_on_the_image_mode_landmarks(model_path, video_frames, image_detector):
    """num_poses=1: MediaPipe tracks from frame to frame instead of re-detecting (each still afresh:
    across a hard cut, tracking can stay on the previous person's place)."""
    for block, name in enumerate(VIDEO_PHOTOS):
        frames = video_frames[block * HOLD_FRAMES:(block + 1) * HOLD_FRAMES]
        with PoseDetector(model_path, "video", num_poses=1) as detector:
            tracked = [detector.detect(frame) for frame in frames]
        _assert_same_landmarks(tracked[-1].pose, image_detector.detect(frames[-1]).pose, name)


def test_detector_checks_its_arguments_before_loading(lite_model_path):
    with pytest.raises(ValueError, match="mode: expected one of image, video"):
        PoseDetector(lite_model_path, "webcam")
    with pytest.raises(ValueError, match="num_poses"):
        PoseDetector(lite_model_path, num_poses=0)


def test_a_detector_says_what_it_was_made_with(lite_model_path):
    with PoseDetector(lite_model_path, "image", num_poses=3, min_tracking_confidence=0.25) as detector:
        assert detector.settings == {"model": "pose_landmarker_lite.task", "num_poses": 3, "running_mode": "image",
                                     "min_pose_detection_confidence": 0.5, "min_pose_presence_confidence": 0.5,
                                     "min_tracking_confidence": 0.25, "max_side_px": DEFAULT_MAX_SIDE_PX}


@pytest.mark.parametrize("source, args, expected", [
    # A video: one tracked pose, and the partner watch looking for --num-poses people.
    pytest.param("video", ["--model", "lite", "--num-poses", "1"],
                 {"model": "pose_landmarker_lite.task", "num_poses": 1, "running_mode": "video",
                  "watch_num_poses": 1, "watch_rate_hz": WATCH_RATE_HZ, "watch_max_side_px": WATCH_MAX_SIDE_PX},
                 id="video, lite, watch for 1"),
    pytest.param("video", ["--model", "lite", "--num-poses", "0"],
                 {"model": "pose_landmarker_lite.task", "num_poses": 1, "running_mode": "video", "watch_num_poses": 0},
                 id="video, lite, no watch"),
    # A photo: everyone in it at once.
    pytest.param("photo", [], {"model": "pose_landmarker_full.task", "num_poses": DEFAULT_NUM_POSES,
                               "running_mode": "image"}, id="photo, defaults"),
])
def test_record_writes_the_detector_settings_in_the_header(tmp_path, photo_video, photos_dir, source, args, expected):
    """What the header says is what the detector ran with (read back through the checking reader)."""
    path = photo_video if source == "video" else photos_dir / VIDEO_PHOTOS[0]
    out = tmp_path / "out.jsonl.gz"
    done = subprocess.run([sys.executable, "-m", "coach", "record", str(path), "-o", str(out), "-q", *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    info = Recording(out).info
    assert {"model": info.model, **info.settings} == {**expected, "min_pose_detection_confidence": 0.5,
                                                      "min_pose_presence_confidence": 0.5, "min_tracking_confidence": 0.5,
                                                      "max_side_px": DEFAULT_MAX_SIDE_PX}


def test_a_closed_detector_says_so(lite_model_path):
    detector = PoseDetector(lite_model_path, "image")
    detector.close()
    detector.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        detector.detect(Frame(0.0, 0, np.zeros((8, 8, 3), np.uint8)))


def test_a_bundle_mediapipe_cannot_load_is_a_one_line_model_error(tmp_path):
    fake = tmp_path / "pose_landmarker_lite.task"
    with zipfile.ZipFile(fake, "w") as bundle:
        bundle.writestr("pose_detector.tflite", b"not a model" * 10)
    with pytest.raises(ModelError) as err:
        PoseDetector(fake, "image")
    assert str(fake) in str(err.value) and "\n" not in str(err.value)


# --- the pipeline: any input -> PoseFrames ------------------------------------------------------

def _reader_threads() -> int:
    return sum(t.name == "coach-read" and t.is_alive() for t in threading.enumerate())


def test_pipeline_on_a_video(photo_video, lite_model_path):
    with open_feed(photo_video, model=lite_model_path) as stream:
        info = stream.info
        frames = list(stream)
    assert (info.kind, info.fps, info.size_px, info.model) == ("video", 25.0, VIDEO_SIZE_PX, "pose_landmarker_lite.task")
    assert isinstance(info.fps, float) and info.frame_count == len(frames) == len(VIDEO_PHOTOS) * HOLD_FRAMES
    assert np.all(np.diff([f.t_s for f in frames]) > 0)
    assert sum(not f.pose.is_empty for f in frames) >= len(frames) - HOLD_FRAMES


def test_pipeline_stopped_early_releases_the_decoder(photo_video, lite_model_path):
    stream = open_feed(photo_video, model=lite_model_path)
    pairs = stream.frames_and_poses()
    frame, poses = next(pairs)
    assert frame.index == poses.index == 0 and frame.rgb.shape == (480, 640, 3)
    pairs.close()
    stream.close()
    assert _reader_threads() == 0


def test_pipeline_on_a_folder_uses_image_mode(tmp_path, photos_dir, lite_model_path):
    for name in VIDEO_PHOTOS[:3]:
        (tmp_path / name).write_bytes((photos_dir / name).read_bytes())
    with open_feed(tmp_path, model=lite_model_path, fps=2.0) as stream:
        frames = list(stream)
    assert stream.info.kind == "folder" and stream.mode == "image"
    assert [f.t_s for f in frames] == [0.0, 0.5, 1.0] and all(not f.pose.is_empty for f in frames)
