"""The metamorphic transforms (bench/transforms.py) on synthetic poses: each does what it says and
nothing else, so a metamorphic test that fails is about the engine, not the transform."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import transforms as tf  # noqa: E402

from coach.pose.core import Pose, PoseFrame  # noqa: E402
from coach.pose.landmarks import NUM_LANDMARKS, Landmark  # noqa: E402

SIZE = (1280, 720)   # not square: a transform that forgets the aspect ratio shows it


def random_pose(rng: np.random.Generator, size=SIZE) -> Pose:
    return Pose(rng.uniform(0.1, 0.9, (NUM_LANDMARKS, 2)), rng.normal(0, 0.1, NUM_LANDMARKS),
                rng.uniform(0, 1, NUM_LANDMARKS), rng.uniform(0, 1, NUM_LANDMARKS),
                rng.normal(0, 0.3, (NUM_LANDMARKS, 3)), size)


def recording(n: int = 60, fps: float = 30.0, seed: int = 1, others: bool = True) -> list[PoseFrame]:
    rng = np.random.default_rng(seed)
    return [PoseFrame(i / fps, i, random_pose(rng), (random_pose(rng),) if others else ()) for i in range(n)]


def same_pose(a: Pose, b: Pose, atol: float = 1e-9) -> bool:
    return all(np.allclose(getattr(a, k), getattr(b, k), atol=atol, equal_nan=True)
               for k in ("xy", "z", "visibility", "presence", "world")) and a.image_size == b.image_size


def same_frames(a: list[PoseFrame], b: list[PoseFrame]) -> bool:
    return len(a) == len(b) and all(
        x.t_s == y.t_s and x.index == y.index and same_pose(x.pose, y.pose) and len(x.others) == len(y.others)
        and all(same_pose(p, q) for p, q in zip(x.others, y.others)) for x, y in zip(a, b))


# --- identities ----------------------------------------------------------------------------------

IDENTITIES = [
    pytest.param(lambda fr: tf.mirror(tf.mirror(fr)), id="mirror twice"),
    pytest.param(lambda fr: tf.roll(tf.roll(fr, 7.0), -7.0), id="roll +7 then -7"),
    pytest.param(lambda fr: tf.roll(fr, 360.0), id="roll a full turn"),
    pytest.param(lambda fr: tf.roll(tf.roll(tf.roll(fr, 3.0), 4.0), -7.0), id="roll 3 + 4 - 7"),
    pytest.param(lambda fr: tf.resample(fr, 30.0), id="resample to its own rate"),
    pytest.param(lambda fr: tf.drop_frames(fr, 0.0, seed=3), id="drop nothing"),
    pytest.param(lambda fr: tf.jitter(fr, image_sd=0.0, world_sd_m=0.0, seed=3), id="jitter of size 0"),
]


@pytest.mark.parametrize("transform", IDENTITIES)
def test_transforms_that_should_give_back_the_input_do(transform):
    frames = recording()
    assert same_frames(transform(frames), frames)


@pytest.mark.parametrize("transform", [
    pytest.param(tf.mirror, id="mirror"),
    pytest.param(lambda fr: tf.roll(fr, 5.0), id="roll"),
    pytest.param(lambda fr: tf.jitter(fr, image_sd=0.01, world_sd_m=0.01, seed=1), id="jitter"),
    pytest.param(lambda fr: tf.resample(fr, 15.0), id="resample"),
])
def test_nobody_found_stays_nobody_found(transform):
    frames = [PoseFrame(i / 30.0, i, Pose.empty(SIZE)) for i in range(10)]
    assert all(f.pose.is_empty for f in transform(frames))


# --- mirror --------------------------------------------------------------------------------------

def test_mirror_pairs_every_left_landmark_with_its_right_twin():
    order = tf.MIRROR_ORDER
    for lm in Landmark:
        twin = Landmark(int(order[lm]))
        if "LEFT" in lm.name or "RIGHT" in lm.name:
            assert twin.name == lm.name.replace("LEFT", "#").replace("RIGHT", "LEFT").replace("#", "RIGHT")
        else:
            assert twin == lm
    assert sorted(order) == list(range(NUM_LANDMARKS))


@pytest.mark.parametrize("landmark,twin", [
    pytest.param(Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST, id="left wrist <- right wrist"),
    pytest.param(Landmark.RIGHT_KNEE, Landmark.LEFT_KNEE, id="right knee <- left knee"),
    pytest.param(Landmark.LEFT_EYE_OUTER, Landmark.RIGHT_EYE_OUTER, id="left eye outer <- right eye outer"),
    pytest.param(Landmark.NOSE, Landmark.NOSE, id="nose stays"),
])
def test_a_mirrored_landmark_is_its_twin_at_1_minus_x_with_world_x_negated(landmark, twin):
    p = random_pose(np.random.default_rng(5))
    m = tf.mirror_pose(p)
    assert m.xy[landmark, 0] == pytest.approx(1.0 - p.xy[twin, 0])
    assert m.xy[landmark, 1] == pytest.approx(p.xy[twin, 1])
    assert m.world[landmark] == pytest.approx(p.world[twin] * np.array([-1.0, 1.0, 1.0]))
    assert (m.z[landmark], m.visibility[landmark], m.presence[landmark]) == (p.z[twin], p.visibility[twin],
                                                                            p.presence[twin])


@pytest.mark.parametrize("side,mirrored", [("left", "right"), ("right", "left"), ("center", "center"),
                                           ("n/a", "n/a"), (None, None)])
def test_mirror_side(side, mirrored):
    assert tf.mirror_side(side) == mirrored


def test_mirror_applies_to_everyone_in_view():
    frames = recording(n=3)
    out = tf.mirror(frames)
    assert same_pose(out[0].others[0], tf.mirror_pose(frames[0].others[0]))


# --- roll ----------------------------------------------------------------------------------------

def test_roll_keeps_distances_in_pixels_and_in_the_world():
    p = random_pose(np.random.default_rng(2))
    r = tf.roll_pose(p, 23.0)
    d = lambda a: np.linalg.norm(a[:, None] - a[None], axis=-1)  # noqa: E731
    assert d(r.pixel_xy) == pytest.approx(d(p.pixel_xy))
    assert d(r.world) == pytest.approx(d(p.world))
    assert r.world[:, 2] == pytest.approx(p.world[:, 2]) and r.z == pytest.approx(p.z)


@pytest.mark.parametrize("angle,point,expected", [
    pytest.param(90.0, (0.5, 0.5), (0.5, 0.5), id="the centre stays"),
    pytest.param(90.0, (1.0, 0.5), (0.5, 0.5 + 640 / 720), id="right edge turns to below the centre"),
    pytest.param(-90.0, (0.5, 0.0), (0.5 - 360 / 1280, 0.5), id="top edge turns to the left"),
    pytest.param(180.0, (0.25, 0.25), (0.75, 0.75), id="half a turn"),
])
def test_roll_turns_about_the_image_centre_in_pixels(angle, point, expected):
    xy = np.full((NUM_LANDMARKS, 2), 0.5)
    xy[0] = point
    p = Pose(xy, np.zeros(NUM_LANDMARKS), np.ones(NUM_LANDMARKS), np.ones(NUM_LANDMARKS),
             np.zeros((NUM_LANDMARKS, 3)), SIZE)
    assert tf.roll_pose(p, angle).xy[0] == pytest.approx(expected)


def test_roll_turns_world_and_image_the_same_way():
    """A limb's direction turns by the same angle in the image (pixels) and in the world (x, y)."""
    p = random_pose(np.random.default_rng(4))
    r = tf.roll_pose(p, 30.0)
    a, b = Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW
    ang = lambda v: math.degrees(math.atan2(v[1], v[0]))  # noqa: E731
    turn_img = ang(r.pixel_xy[b] - r.pixel_xy[a]) - ang(p.pixel_xy[b] - p.pixel_xy[a])
    turn_world = ang(r.world[b, :2] - r.world[a, :2]) - ang(p.world[b, :2] - p.world[a, :2])
    assert (turn_img - 30.0 + 180) % 360 - 180 == pytest.approx(0.0, abs=1e-9)
    assert (turn_world - 30.0 + 180) % 360 - 180 == pytest.approx(0.0, abs=1e-9)


def test_roll_needs_the_image_size():
    with pytest.raises(ValueError, match="image_size"):
        tf.roll_pose(random_pose(np.random.default_rng(0), size=(0, 0)), 5.0)


# --- frame rate and lost frames ----------------------------------------------------------------------

@pytest.mark.parametrize("source_fps,fps", [(30.0, 15.0), (30.0, 60.0), (59.94, 30.0), (24.0, 30.0), (25.0, 15.0)])
def test_resample_gives_the_new_rates_true_times_and_the_nearest_earlier_pose(source_fps, fps):
    frames = recording(n=90, fps=source_fps, others=False)
    out = tf.resample(frames, fps)
    t0 = frames[0].t_s
    assert [f.t_s for f in out] == pytest.approx([t0 + k / fps for k in range(len(out))], abs=1e-6)
    assert [f.index for f in out] == list(range(len(out)))
    assert out[-1].t_s <= frames[-1].t_s + 1e-9 and frames[-1].t_s - out[-1].t_s < 1 / fps
    source_t = np.array([f.t_s for f in frames])
    for f in out:
        i = int(np.flatnonzero(source_t <= f.t_s + 1e-9)[-1])
        assert f.pose is frames[i].pose
        assert -1e-9 <= f.t_s - source_t[i] < 1.0 / source_fps + 1e-9


def test_resample_linear_interpolates_between_the_two_source_frames():
    frames = recording(n=4, fps=10.0, others=False)
    out = tf.resample(frames, 20.0, method="linear")
    mid = out[1]
    assert mid.t_s == pytest.approx(0.05)
    assert mid.pose.world == pytest.approx((frames[0].pose.world + frames[1].pose.world) / 2)
    assert mid.pose.visibility == pytest.approx(np.minimum(frames[0].pose.visibility, frames[1].pose.visibility))


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_resample_rejects_a_rate_that_is_not_positive(bad):
    with pytest.raises(ValueError, match="fps"):
        tf.resample(recording(n=3), bad)


@pytest.mark.parametrize("fraction,seed", [(0.1, 0), (0.1, 1), (0.5, 7), (0.25, 3)])
def test_drop_frames_removes_that_share_reproducibly_keeping_times_and_the_first_frame(fraction, seed):
    frames = recording(n=200, others=False)
    out = tf.drop_frames(frames, fraction, seed)
    assert len(out) == 200 - round(fraction * 200)
    assert out[0] is frames[0]
    assert all(f in frames for f in out) and [f.t_s for f in out] == sorted(f.t_s for f in out)
    assert [f.index for f in tf.drop_frames(frames, fraction, seed)] == [f.index for f in out]


def test_drop_frames_with_another_seed_drops_other_frames():
    frames = recording(n=200, others=False)
    assert [f.index for f in tf.drop_frames(frames, 0.1, 0)] != [f.index for f in tf.drop_frames(frames, 0.1, 1)]


# --- jitter --------------------------------------------------------------------------------------

def _still(n: int = 400) -> list[PoseFrame]:
    p = random_pose(np.random.default_rng(9))
    return [PoseFrame(i / 30.0, i, p) for i in range(n)]


def test_jitter_has_the_asked_spread_in_pixels_and_metres():
    frames = _still()
    scale = tf.recording_scale_px(frames)
    out = tf.jitter(frames, image_sd=0.01, world_sd_m=0.005, seed=2)
    px = np.stack([f.pose.pixel_xy for f in out]) - frames[0].pose.pixel_xy
    world = np.stack([f.pose.world for f in out]) - frames[0].pose.world
    assert px.std(axis=0).mean() == pytest.approx(0.01 * scale, rel=0.05)   # 400 x 33 x 2 samples
    assert world.std(axis=0).mean() == pytest.approx(0.005, rel=0.05)


def test_jitter_offset_is_the_same_in_every_frame_and_of_the_asked_size():
    frames = _still(5)
    scale = tf.recording_scale_px(frames)
    out = tf.jitter(frames, image_sd=0.0, world_sd_m=0.0, image_offset=0.02, world_offset_m=0.03, seed=4)
    d_px = [f.pose.pixel_xy - frames[0].pose.pixel_xy for f in out]
    d_w = [f.pose.world - frames[0].pose.world for f in out]
    assert all(np.allclose(d, d_px[0]) for d in d_px) and all(np.allclose(d, d_w[0]) for d in d_w)
    assert np.linalg.norm(d_px[0], axis=1) == pytest.approx(np.full(NUM_LANDMARKS, 0.02 * scale))
    assert np.linalg.norm(d_w[0], axis=1) == pytest.approx(np.full(NUM_LANDMARKS, 0.03))


def test_jitter_with_the_same_seed_is_the_same():
    frames = recording(n=5)
    a = tf.jitter(frames, image_sd=0.01, world_sd_m=0.01, image_offset=0.01, seed=8)
    b = tf.jitter(frames, image_sd=0.01, world_sd_m=0.01, image_offset=0.01, seed=8)
    assert same_frames(a, b)
