"""Metamorphic tests: the same movement seen another way must be judged the same way.

Every shared recording, in every variant (original, tracked/, lite/), is transformed
(bench/transforms.py) and run through the engine as `coach analyze --exercise ID` runs it
(bench/bench_accuracy.py `run_fixed`); what it says is compared with what it says of the recording
as it is - not with the truth, so these hold whatever the engine's accuracy:
- mirror (image x -> 1 - x, sides swapped, world x negated): the same holds within 0.5 s, each on
  the other side, and the same alerts (each rule raised as often, within 0.5 s, on the measure of
  the other side where it names one);
- frame rate: resampled to 15, 30 and 60 fps (the nearest earlier frame at each new frame's time;
  a rate within 2 % of the recording's own is left out, it would be the recording again): the same
  holds within 0.5 s;
- dropped frames: 10 % removed at random (seed 0): the same holds within 1 s;
- camera roll of +-5 deg (image and world landmarks turned together about the camera axis): every
  body-relative measure (joint angles, signed hip flexion, side bend, twist, neck angles, hands at
  the head) unchanged within 1 deg on every frame, and the measures taken against gravity (trunk
  inclination, its signed lean, trunk to floor) shifted by at most the roll plus 1 deg - by the roll
  and nothing else (every second frame is checked, to keep the runtime down); and the same holds
  within 0.5 s, on the same sides.
"The same holds": the runs of `holding` frames (runs apart by no more than the grace window
joined, as the benchmark does), as many as in the reference, in the same order, each with the
same phase label, start and end within the tolerance.

Where today's engine fails a check, the case is in EXCEPTIONS with what was measured; such a case
must still fail (the test says when an exception is no longer needed and should go).
"""

from __future__ import annotations

import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_accuracy as bench  # noqa: E402
import transforms as tf  # noqa: E402
from conftest import SHARED  # noqa: E402

from coach.engine.core import EngineSettings  # noqa: E402
from coach.engine.exercises import get_exercise  # noqa: E402
from coach.engine.verdict import EventKind  # noqa: E402
from coach.measure.measures import compute_measures  # noqa: E402

RECORDINGS = ("bridge__01", "cat_cow__01", "childs_pose__01", "neck_side_bend__01", "prone_extension__01",
              "seated_spinal_twist__01", "supine_twist__01")
VARIANTS = bench.VARIANTS
FPS = (15.0, 30.0, 60.0)
SAME_RATE = 0.02        # a target rate within 2 % of the recording's own: the same recording, left out
HOLD_TOL_S = {"mirror": 0.5, "fps": 0.5, "drop": 1.0, "roll": 0.5}
DROP_FRACTION, DROP_SEED = 0.1, 0
ROLL_DEG, ANGLE_TOL_DEG = (5.0, -5.0), 1.0
JOINTS = tuple(f"{j}_{s}_deg" for j in ("hip", "knee", "elbow", "shoulder") for s in ("left", "right"))
# The signed hip: its size is the inner hip angle's (body-relative, in JOINTS); lying down its
# direction is read against gravity (the chest faces up), so only its size is checked here.
HIP_FLEXION = ("hip_flexion_left_deg", "hip_flexion_right_deg")
# Body-relative: read in the person's own frame, so a camera roll cannot change them. (Their NaN
# may change where the roll changes the view, which decides what a view can read at all.)
BODY_RELATIVE = ("trunk_lateral_deg", "trunk_rotation_deg", "neck_flexion_deg", "neck_rotation_deg",
                 "neck_lateral_deg", "hand_head_left_sw", "hand_head_right_sw")
# (the trunk's lift above the shoulder-ankle line takes only "up" from gravity: a roll mixes a sideways
# offset into it, by much less than the roll, but more than 1 deg where the body lies askew)
AGAINST_GRAVITY = ("trunk_inclination_deg", "trunk_flexion_deg", "trunk_floor_deg", "arm_support_deg",
                   "trunk_lift_deg")
GRACE_S = EngineSettings().grace_s

# (check, variant, recording, parameter) -> what was measured when the engine failed the check.
# Measured on the shared set; the bridge's hip angle jitters 20-40 deg between frames of a still
# hold (EngineSettings), so which frames a camera gives decides some of its holds. (Upsampling by
# interpolation instead of repeating frames fails the same cases.) Mirroring passes everywhere, holds
# and alerts. The stable view and posture (coach.engine.context) made lite's bridge keep its holds at
# 15, 30 and 60 fps, which it did not before.
EXCEPTIONS: dict[tuple[str, str, str, float | None], str] = {
    ("fps", "original", "bridge__01", 15.0):
        "rest read as short holds (truth rest 11.6-14.9, 19.8-22.5, 27.0-31.0) comes and goes with the "
        "sampling; measured: hold 8.6-10.1 reads 7.5-10.1, hold 13.4-18.6 reads 12.8-18.6, hold 23.2-26.0 "
        "reads 24.1-26.1 (the lift's start and the lying frames before it sit on the band's edge)",
    ("fps", "original", "bridge__01", 60.0):
        "the last lift's start sits on the band's edge, so which frames a camera gives decides it; "
        "measured: hold 23.2-26.0 reads 24.1-26.0",
    ("roll", "original", "bridge__01", 5.0):
        "the rest between the first two lifts is read lifted by the re-detected pose and sits on the band's "
        "edge, so a 5 deg roll joins two holds the recording as filmed splits; measured: 4 holds (8.6-10.1, "
        "13.4-18.6, 21.2-21.3, 23.3-26.0) against 5 (8.6-10.1, 13.4-14.1, 16.2-18.6, 21.2-21.3, 23.2-26.0)",
    ("drop", "original", "bridge__01", 0.1):
        "rest read as a short hold comes and goes with the sampling; measured: a hold at 0.8-1.2 (lying, "
        "before the first lift) is added, the others kept (8.3-10.1, 13.4-18.5, 23.2-26.0 against 8.6-10.1, "
        "13.4-18.6, 23.2-26.0)",
    ("drop", "lite", "bridge__01", 0.1):
        "lite reads the lifted hips on the 120 band's edge (median 117-125 deg), so which frames are kept "
        "decides where the last hold ends; measured: hold 24.0-25.8 reads 24.0-24.7",
    ("fps", "lite", "seated_spinal_twist__01", 15.0):
        "the turn into the first hold (truth move until 4.4 s) is slow, and the stillness test's margin (the "
        "net-speed slope less 1.5 standard errors, coach.measure.motion.NetSpeed) grows by sqrt(2) with half the "
        "samples of a 30 fps stream (the recording's 60 fps counts as 30: EngineSettings.still_max_rate_hz), so "
        "at 15 fps the end of the turn reads still sooner; measured: hold 4.4-7.9 reads 3.6-7.9",
    ("fps", "lite", "cat_cow__01", 15.0):
        "a one-frame cow hold on the last frame (6.1 s) is not found; measured: 1 holds (3.0-4.0) against 2 "
        "(2.9-4.0, 6.1-6.1)",
    ("fps", "lite", "cat_cow__01", 60.0):
        "a one-frame cow hold on the last frame (6.1 s) is not found; measured: 1 holds (3.0-4.0) against 2 "
        "(2.9-4.0, 6.1-6.1)",
}


def _source_fps(name: str) -> float:
    """The recording's frame rate from its truth file (NaN without ../shared: the tests skip then)."""
    try:
        return float(bench.truth_of(SHARED / "landmarks", name)["fps"])
    except OSError:
        return float("nan")


def cases() -> list:
    out = []
    for variant in VARIANTS:
        for name in RECORDINGS:
            out.append(("mirror", variant, name, None))
            out += [("fps", variant, name, fps) for fps in FPS if not abs(fps / _source_fps(name) - 1) <= SAME_RATE]
            out.append(("drop", variant, name, DROP_FRACTION))
            out += [("roll", variant, name, angle) for angle in ROLL_DEG]
    return out


def on_one_worker(variant: str, name: str):
    """Every test of one recording runs on one worker (pytest-xdist --dist loadgroup), so the reference
    run and the measures a worker caches are made once per recording, not once per worker."""
    return pytest.mark.xdist_group(f"recording-{variant}-{name}")


def by_recording(rows) -> list:
    """(variant, recording) rows as parameters, each on the one worker of its recording."""
    return [pytest.param(v, n, marks=on_one_worker(v, n), id=f"{n}-{v}") for v, n in rows]


def _id(case) -> str:
    check, variant, name, param = case
    return f"{check}-{variant}-{name}" + ("" if param is None else f"-{param:g}")


@lru_cache(maxsize=None)
def frames_of(variant: str, name: str) -> tuple:
    return tuple(bench.load(SHARED / "landmarks", variant, name))


@lru_cache(maxsize=None)
def reference_verdicts(variant: str, name: str) -> tuple:
    """The engine's verdicts on the recording as it is (one run per worker, shared with the safety checks)."""
    return tuple(bench.run_fixed(list(frames_of(variant, name)), name.split("__")[0]))


def run_of(frames, name: str, verdicts=None) -> tuple[list[list], list[tuple]]:
    """(holds, alerts raised: (t_s, rule, measure)) of the engine on `frames` (or of its `verdicts`)."""
    exercise_id = name.split("__")[0]
    if verdicts is None:
        verdicts = bench.run_fixed(list(frames), exercise_id)
    holds = bench.detected_holds(verdicts, len(get_exercise(exercise_id).phases) > 1, GRACE_S)
    alerts = [(e.t_s, e.details["rule"], next((a.measure for a in v.alerts if a.rule_id == e.details["rule"]), None))
              for v in verdicts for e in v.events if e.kind == EventKind.ALERT_RAISED]
    return holds, alerts


def holds_of(frames, name: str) -> list[list]:
    return run_of(frames, name)[0]


@lru_cache(maxsize=None)
def reference_run(variant: str, name: str) -> tuple[list[list], list[tuple]]:
    return run_of(None, name, reference_verdicts(variant, name))


def reference_holds(variant: str, name: str) -> list[list]:
    return reference_run(variant, name)[0]


def _other_side(measure: str | None) -> str | None:
    if measure is None:
        return None
    return measure.replace("left", "\0").replace("right", "left").replace("\0", "right")


def alert_differences(ref: list[tuple], got: list[tuple], tol_s: float) -> str:
    """What differs between two runs' raised alerts, the second mirrored ('' when the same)."""
    out = []
    for rule in sorted({r for _, r, _ in ref} | {r for _, r, _ in got}):
        a = [(t, m) for t, r, m in ref if r == rule]
        b = [(t, m) for t, r, m in got if r == rule]
        if len(a) != len(b):
            out.append(f"{rule} raised {len(b)} times ({_times(b)}) against {len(a)} ({_times(a)})")
            continue
        for (ta, ma), (tb, mb) in zip(a, b):
            if abs(ta - tb) > tol_s or _other_side(ma) != mb:
                out.append(f"{rule} at {ta:.1f} on {ma} reads {tb:.1f} on {mb}")
    return "; ".join(out)


def _times(alerts) -> str:
    return ", ".join(f"{t:.1f}" for t, _ in alerts) or "never"


def _spans(holds) -> str:
    return ", ".join(f"{a:.1f}-{b:.1f}" for a, b, *_ in holds) or "none"


def hold_differences(ref: list, got: list, tol_s: float, mirrored: bool) -> str:
    """What differs between two runs' holds ('' when they are the same within tol_s)."""
    if len(ref) != len(got):
        return f"{len(got)} holds ({_spans(got)}) against {len(ref)} ({_spans(ref)})"
    out = []
    for r, g in zip(ref, got):
        if r[2] != g[2] or abs(r[0] - g[0]) > tol_s or abs(r[1] - g[1]) > tol_s:
            out.append(f"{r[2]} {r[0]:.1f}-{r[1]:.1f} reads {g[2]} {g[0]:.1f}-{g[1]:.1f}")
            continue
        want = Counter(tf.mirror_side(s) if mirrored else s for s in r[3]).most_common(1)[0][0]
        side = Counter(g[3]).most_common(1)[0][0]
        if side != want:
            out.append(f"hold {r[0]:.1f}-{r[1]:.1f} on side {side}, expected {want}")
    return "; ".join(out)


def failure(case) -> str:
    check, variant, name, param = case
    frames = list(frames_of(variant, name))
    if check == "mirror":
        got, alerts = run_of(tf.mirror(frames), name)
        ref, ref_alerts = reference_run(variant, name)
        why = [hold_differences(ref, got, HOLD_TOL_S[check], True),
               alert_differences(ref_alerts, alerts, HOLD_TOL_S[check])]
        return "; ".join(w for w in why if w)
    if check == "fps":
        got = holds_of(tf.resample(frames, param), name)
    elif check == "roll":
        got = holds_of(tf.roll(frames, param), name)
    else:
        got = holds_of(tf.drop_frames(frames, param, DROP_SEED), name)
    return hold_differences(reference_holds(variant, name), got, HOLD_TOL_S[check], False)


@pytest.mark.parametrize("case", [pytest.param(c, marks=on_one_worker(c[1], c[2]), id=_id(c)) for c in cases()])
def test_the_same_movement_gives_the_same_holds(landmarks_dir, case):
    why = failure(case)
    if case in EXCEPTIONS:
        assert why, f"{_id(case)} passes now: remove it from EXCEPTIONS ({EXCEPTIONS[case]})"
    else:
        assert not why, f"{_id(case)}: {why}"


def test_every_exception_is_a_case():
    assert set(EXCEPTIONS) <= set(cases()) and all(EXCEPTIONS.values())


@lru_cache(maxsize=None)
def measured(variant: str, name: str, roll_deg: float = 0.0) -> tuple:
    """(frames, their measures): every second frame of the recording, rolled by `roll_deg` (measured once
    per worker; the roll checks share it)."""
    frames = list(frames_of(variant, name))[::2]
    if roll_deg:
        frames = tf.roll(frames, roll_deg)
    return tuple(frames), tuple(compute_measures(f.pose, f.others) for f in frames)


def joint_angles(measures, names: tuple[str, ...] = JOINTS) -> np.ndarray:
    index = [bench_measure_names().index(n) for n in names]
    return np.array([m.values[index] for m in measures])


def _turn(a: np.ndarray) -> np.ndarray:
    """Angle differences on the circle (a lean near 180 may read -179 after a roll)."""
    return np.abs((a + 180.0) % 360.0 - 180.0)


def _views_and_tilts(frames, measures) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the view read, and how far the person's left-right axis tilts from level (deg) -
    the lean's own validity limit (`LEAN_MAX_LEFT_TILT_DEG`)."""
    from coach.measure.measures import WORLD_UP, _pelvis_left, body_of

    tilts = []
    for f in frames:
        with np.errstate(invalid="ignore"):
            tilts.append(float(np.degrees(np.arcsin(min(1.0, abs(_pelvis_left(body_of(f.pose)) @ WORLD_UP))))))
    return np.array([m.view.value for m in measures]), np.array(tilts)


def _lift_line_slopes(frames) -> np.ndarray:
    """(frames, 2): the shoulder-ankle line's slope from level (deg), in the world and in the image -
    each judged against the trunk lift's own validity limit (`LIFT_LINE_MAX_SLOPE`)."""
    from coach.measure.geometry import unit
    from coach.measure.measures import IMAGE_UP, MID_SHOULDER, WORLD_UP, body_of
    from coach.pose.landmarks import Landmark as L

    out = []
    for f in frames:
        b = body_of(f.pose)
        with np.errstate(invalid="ignore"):
            s = [abs(unit(pts[[L.LEFT_ANKLE, L.RIGHT_ANKLE]].mean(axis=0) - pts[MID_SHOULDER]) @ up)
                 for pts, up in ((b.w, WORLD_UP), (b.p, IMAGE_UP))]
        out.append(np.degrees(np.arcsin(np.clip(s, 0, 1))))
    return np.array(out)


@lru_cache(maxsize=1)
def bench_measure_names() -> tuple[str, ...]:
    from coach.measure.conventions import MEASURE_NAMES

    return MEASURE_NAMES


@pytest.mark.parametrize("variant, name", by_recording([(v, n) for n in RECORDINGS for v in VARIANTS]))
def test_camera_roll_leaves_joint_angles_unchanged(landmarks_dir, variant, name):
    ref = joint_angles(measured(variant, name)[1])
    for angle in ROLL_DEG:
        got = joint_angles(measured(variant, name, angle)[1])
        assert (np.isnan(got) == np.isnan(ref)).all(), f"roll {angle:+g}: a joint angle appears or vanishes"
        both = np.isfinite(ref) & np.isfinite(got)
        worst = float(np.max(np.abs(got[both] - ref[both]), initial=0.0))
        assert worst <= ANGLE_TOL_DEG, f"roll {angle:+g}: a joint angle moves {worst:.2f} deg"
    # ... and so does each limb's own view (its plane from the image plane: face-on or not)
    ref_planes = np.array([m.limb_plane_deg for m in measured(variant, name)[1]])
    for angle in ROLL_DEG:
        got_planes = np.array([m.limb_plane_deg for m in measured(variant, name, angle)[1]])
        assert (np.isnan(got_planes) == np.isnan(ref_planes)).all(), f"roll {angle:+g}: a limb's plane appears or vanishes"
        both = np.isfinite(ref_planes)
        worst = float(np.max(np.abs(got_planes[both] - ref_planes[both]), initial=0.0))
        assert worst <= ANGLE_TOL_DEG, f"roll {angle:+g}: a limb's plane turns {worst:.2f} deg"


@pytest.mark.parametrize("variant, name", by_recording([(v, n) for n in RECORDINGS for v in VARIANTS]))
def test_a_mirror_swaps_each_limbs_own_view_with_its_twin(landmarks_dir, variant, name):
    """Each joint's plane from the image plane (face-on or not) is the same in the mirror image, read
    on the other side of the body: the limb's own view is no property of the image's handedness."""
    from coach.measure.conventions import MEASURE_NAMES

    twin = [MEASURE_NAMES.index(n.replace("left", "@").replace("right", "left").replace("@", "right"))
            for n in MEASURE_NAMES]
    frames, measures = measured(variant, name)
    ref = np.array([m.limb_plane_deg for m in measures])[:, twin]
    got = np.array([compute_measures(f.pose, f.others).limb_plane_deg for f in tf.mirror(frames)])
    assert (np.isnan(got) == np.isnan(ref)).all(), "mirrored: a limb's plane appears or vanishes"
    both = np.isfinite(ref)
    assert float(np.max(np.abs(got[both] - ref[both]), initial=0.0)) <= ANGLE_TOL_DEG


@pytest.mark.parametrize("variant, name", by_recording([(v, n) for n in RECORDINGS for v in VARIANTS]))
def test_camera_roll_leaves_body_relative_measures_unchanged_and_shifts_gravity_ones_by_the_roll(
        landmarks_dir, variant, name):
    from coach.measure.measures import LEAN_MAX_LEFT_TILT_DEG, LIFT_LINE_MAX_SLOPE

    frames, measures = measured(variant, name)
    ref, ref_g = joint_angles(measures, BODY_RELATIVE + HIP_FLEXION), joint_angles(measures, AGAINST_GRAVITY)
    ref[:, -2:] = np.abs(ref[:, -2:])
    views, tilts = _views_and_tilts(frames, measures)
    slopes = _lift_line_slopes(frames)
    for angle in ROLL_DEG:
        rolled, rolled_measures = measured(variant, name, angle)
        got, got_g = joint_angles(rolled_measures, BODY_RELATIVE + HIP_FLEXION), joint_angles(rolled_measures, AGAINST_GRAVITY)
        got[:, -2:] = np.abs(got[:, -2:])
        new_views, new_tilts = _views_and_tilts(rolled, rolled_measures)
        same_view = views == new_views
        appears = (np.isnan(got) != np.isnan(ref)) & same_view[:, None]
        assert not appears.any(), f"roll {angle:+g}: a body-relative measure appears or vanishes in the same view"
        both = np.isfinite(ref) & np.isfinite(got)
        worst = float(np.max(np.abs(got[both] - ref[both]), initial=0.0))
        assert worst <= ANGLE_TOL_DEG, f"roll {angle:+g}: a body-relative measure moves {worst:.2f}"
        # against gravity: at most the roll (and the lean may come or go only at its own tilt limit)
        near_limit = np.abs(np.fmin(tilts, new_tilts) - LEAN_MAX_LEFT_TILT_DEG) <= abs(angle) + ANGLE_TOL_DEG
        flips = np.isnan(got_g) != np.isnan(ref_g)
        # the trunk lift (last) may come or go, and jump, only near its own slope limit
        limit = np.degrees(np.arcsin(LIFT_LINE_MAX_SLOPE))
        both_slopes = np.concatenate([slopes, _lift_line_slopes(rolled)], axis=1)
        near_lift_limit = (np.abs(both_slopes - limit) <= abs(angle) + ANGLE_TOL_DEG).any(axis=1)
        flips[near_lift_limit, -1] = False
        ref_here = ref_g.copy()
        assert not (flips[:, :1] | flips[:, 2:]).any(), f"roll {angle:+g}: the trunk inclination appears or vanishes"
        assert not (flips[:, 1] & ~near_limit).any(), f"roll {angle:+g}: the lean vanishes away from its tilt limit"
        # The lift's size is not checked here: it takes only "up" from gravity, squared to a floor line
        # that may slope, and a roll mixes in the body's sideways offset by up to about the roll over the
        # cosines of the lift and of that slope - not a shift by the roll. Its verdicts are checked under
        # roll with the holds (test_the_same_movement_gives_the_same_holds).
        ref_here[:, -1] = np.nan
        both = np.isfinite(ref_here) & np.isfinite(got_g)
        worst = float(np.max(_turn(got_g[both] - ref_here[both]), initial=0.0))
        assert worst <= abs(angle) + ANGLE_TOL_DEG, f"roll {angle:+g}: a gravity measure moves {worst:.2f} deg"
