"""Fuzzing the engine: 10,000 random and corrupted pose streams must never raise, and no NaN or inf
may leak into a verdict number that claims to be valid.

Streams are short (1-3 frames) and built from compact recipes that hypothesis draws (cheap to
generate and to shrink): a real pose from a shared recording, or a random one, then corrupted -
NaN or infinite landmarks, landmarks missing (visibility 0), jumps, an empty pose, other people's
hands at the head - with time steps that may be zero, tiny, or long gaps. Every stream runs on a
fresh coach for one of the shipped exercises.

The example count comes from the hypothesis profile "engine-fuzz" (10,000), or COACH_FUZZ_EXAMPLES.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scripted import SETTINGS as SCRIPT_SETTINGS
from scripted import band, exercise, measures

from coach.engine.core import Coach
from coach.engine.exercises import load_library
from coach.engine.verdict import FrameVerdict
from coach.pose.core import Pose
from coach.pose.landmarks import NUM_LANDMARKS
from coach.pose.recording import Recording

settings.register_profile("engine-fuzz", max_examples=int(os.environ.get("COACH_FUZZ_EXAMPLES", "10000")),
                          deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings.get_profile("engine-fuzz")
SIZE = (640, 480)
CORRUPTIONS = ("none", "nan_some", "inf_some", "hidden_some", "jump", "empty", "huge", "all_nan_world", "zeros")


@lru_cache(maxsize=1)
def base_poses() -> tuple[Pose, ...]:
    """A few real poses from the shared recordings (or random ones when those are not there)."""
    folder = os.environ.get("COACH_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    poses: list[Pose] = []
    for name in ("childs_pose__01", "seated_spinal_twist__01", "neck_side_bend__01"):
        path = os.path.join(folder, "landmarks", f"{name}.jsonl.gz")
        if os.path.exists(path):
            poses += [f.pose for i, f in enumerate(Recording(path).frames()) if i % 97 == 0 and not f.pose.is_empty]
    return tuple(poses) or tuple(random_pose(np.random.default_rng(i)) for i in range(8))


@lru_cache(maxsize=1)
def exercises() -> tuple:
    return tuple(load_library().values())


def random_pose(rng: np.random.Generator) -> Pose:
    image = np.column_stack([rng.uniform(-0.2, 1.2, (NUM_LANDMARKS, 2)), rng.normal(0, 0.3, NUM_LANDMARKS),
                             rng.uniform(0, 1, (NUM_LANDMARKS, 2))])
    return Pose.from_arrays(image, rng.normal(0, 0.5, (NUM_LANDMARKS, 3)), SIZE)


def corrupt(pose: Pose, how: str, rng: np.random.Generator) -> Pose:
    if how == "none":
        return pose
    image, world = pose.as_image_array(), pose.world.copy()
    some = rng.random(NUM_LANDMARKS) < 0.4
    if how == "empty":
        return Pose.empty(pose.image_size)
    if how in ("nan_some", "inf_some"):
        bad = np.nan if how == "nan_some" else np.inf * rng.choice([-1, 1])
        image[some, :3], world[some] = bad, bad
    elif how == "hidden_some":
        image[some, 3:] = 0.0
    elif how == "jump":
        image[:, :2] += rng.uniform(-0.5, 0.5, 2)
        world += rng.normal(0, 0.5, 3)
    elif how == "huge":
        image[some, :3], world[some] = 1e9, -1e9
    elif how == "all_nan_world":
        world[:] = np.nan
    elif how == "zeros":
        image[:, :3], world[:] = 0.0, 0.0
    return Pose.from_arrays(image, world, pose.image_size)


frame_recipe = st.tuples(
    st.integers(0, 10_000),                                   # which base pose / random seed
    st.booleans(),                                            # a random pose instead of a real one
    st.sampled_from(CORRUPTIONS),
    st.sampled_from((1 / 30, 1 / 30, 0.0, 1e-6, 0.4, 3.0, 120.0)),  # time step before this frame
    st.integers(0, 1),                                        # another person in view
)
stream_recipe = st.tuples(st.integers(0, 1_000), st.lists(frame_recipe, min_size=1, max_size=3))


def build_frame(recipe, t_s: float) -> tuple[Pose, float, tuple[Pose, ...]]:
    seed, random_one, how, dt_s, n_others = recipe
    rng = np.random.default_rng(seed)
    poses = base_poses()
    pose = random_pose(rng) if random_one else poses[seed % len(poses)]
    pose = corrupt(pose, how, rng)
    others = tuple(corrupt(poses[(seed + k + 1) % len(poses)], "jump", rng) for k in range(n_others))
    return pose, t_s + dt_s, others


def check_verdict(v: FrameVerdict) -> None:
    for name in ("t_s", "hold_s", "hold_target_s", "progress", "rest_left_s"):
        assert math.isfinite(getattr(v, name)), name
    assert 0.0 <= v.progress <= 1.0
    for m in v.measures:
        assert not math.isinf(m.value) and not math.isinf(m.distance) and not math.isinf(m.speed_per_s), m
        if m.valid:
            assert math.isfinite(m.value)
        if m.inside is not None:
            assert m.valid and math.isfinite(m.distance), m
    for a in v.alerts:
        assert not math.isinf(a.value) and not math.isinf(a.limit) and a.message
    for e in v.events:
        assert math.isfinite(e.t_s)
        for key, value in e.details.items():
            assert not (isinstance(value, float) and math.isinf(value)), (e.kind, key)


@FUZZ
@given(stream_recipe)
def test_random_and_corrupted_streams_never_break_the_engine(recipe):
    which, frames = recipe
    library = exercises()
    coach = Coach(library[which % len(library)])
    t_s = 0.0
    for frame in frames:
        pose, t_s, others = build_frame(frame, t_s)
        check_verdict(coach.update(pose, t_s, others=others))


# --- long random streams below the measures, through exercises with 1 s holds -----------------------
# These reach what short pose streams cannot: completed holds, rests, side changes, phase follows,
# the stop rule - with NaN, repeated and jumping times mixed in.

SHORT_EXERCISES = (
    {}, dict(reps_per_side=2, rest_s=0.5),
    dict(sides="left_right", side_from="sign:trunk_rotation_deg", rest_s=0.3,
         phases=[{"name": "twist", "hold_s": 1.0,
                  "envelope": {"trunk_rotation_deg": band(15, 45, min_reliability="low"),
                               "trunk_inclination_deg": band(20, 60)}}]),
    dict(posture=["seated", "all_fours"], safety={"neck_flexion_max_deg": 80}, phases=[   # the band's reach
        {"name": "cat", "hold_s": 1.0, "envelope": {"neck_flexion_deg": band(20, 80)}},
        {"name": "cow", "hold_s": 1.0, "envelope": {"neck_flexion_deg": band(-40, 10)}}]),
)
VALUES = st.sampled_from((-40.0, -30.0, -10.0, 0.0, 2.0, 30.0, 40.0, 50.0, 70.0, 400.0, float("nan")))
measure_frame = st.tuples(st.integers(1, 40), VALUES, VALUES, VALUES, st.sampled_from((0.1, 0.5, 2.0, float("nan"))),
                          st.sampled_from((1 / 16, 1 / 16, 0.0, 0.7, 5.0)), st.booleans())


@settings(max_examples=120, deadline=None, database=None)
@given(st.integers(0, len(SHORT_EXERCISES) - 1), st.lists(measure_frame, min_size=1, max_size=8))
def test_long_random_measure_streams_through_short_exercises(which, segments):
    coach, t_s = Coach(exercise(**SHORT_EXERCISES[which]), settings=SCRIPT_SETTINGS), 0.0
    for n, inc, twist, neck, partner, dt_s, seen in segments:
        values = {"trunk_inclination_deg": inc, "trunk_rotation_deg": twist, "neck_flexion_deg": neck,
                  "other_hand_head_sw": partner}
        for _ in range(n):
            t_s += dt_s
            check_verdict(coach.update_measures(measures(values), t_s, seen=seen))
