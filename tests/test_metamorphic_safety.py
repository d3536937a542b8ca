"""Metamorphic safety checks: noise must not raise a stop, and a real fault put into a real recording
must raise its alert (a rule that never fires does not pass).

- Noise: every shared recording in every variant, with the lite model's measured noise added
  (bench/bench_accuracy.py `noisy`: per frame the spread of lite's landmarks on still holds, plus a
  constant per-landmark offset the size of the lite - full difference, bench/noise_levels.py
  `MEASURED`): no stop-level alert, and the hold time within 15 % of the run without the noise.
- Positives stay positive, each injected into a real recording and checked within the rule's dwell
  (plus what the rule needs to see first, said per case):
  a bounce (the legs swung +-10 deg at 2 Hz about the hips, at the end of the hip's range) in
  child's pose; a twist pushed 40 deg past the seated twist's reading; another person's wrist held at
  the head of the person in the neck side bend.
Where today's engine fails a check, the case is in EXCEPTIONS with what was measured; such a case
must still fail (the test says when an exception is no longer needed).
"""

from __future__ import annotations

import math
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_accuracy as bench  # noqa: E402
from test_metamorphic import RECORDINGS, VARIANTS, by_recording, frames_of, on_one_worker, reference_verdicts  # noqa: E402

from coach.engine.core import EngineSettings  # noqa: E402
from coach.engine.safety import BOUNCE_REVERSALS, rule_by_id  # noqa: E402
from coach.engine.verdict import EventKind  # noqa: E402
from coach.pose.core import Pose, PoseFrame  # noqa: E402
from coach.pose.landmarks import Landmark as L  # noqa: E402

SETTINGS = EngineSettings()
HOLD_TOLERANCE = 0.15   # the goal: hold time within 15 % with the noise

# (variant, recording) -> what was measured when the engine failed the noise check.
# Measured on the shared set: no case raises a stop with the noise; these move the hold time - holds
# that come and go with jitter (view / posture flicker and short holds: the stable-context and
# hold-band work of issue 13, not the safety rules).
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("tracked", "cat_cow__01"): "cat and cow holds of about 1 s; measured: hold 1.9 s against 1.1 s without the noise",
    ("lite", "cat_cow__01"): "cat and cow holds of about 1 s; measured: hold 1.3 s against 1.1 s without the noise",
    ("lite", "bridge__01"): "bouncing (stop) at 27.4 s, in the rest after the last lift: lite reads the lowered body "
                            "(hips 81-99 deg) with its trunk 43-50 deg above the shoulder-ankle line, near the "
                            "band's 55 deg edge, and the noise turns its slow 4-5 deg wander into 4 reversals; "
                            "measured: 1 stop alert (0 without the noise; 0 with the trunk's angle to vertical, "
                            "which a camera roll moves instead)",
}


def _exercise_id(name: str) -> str:
    return name.split("__")[0]


def plain_run(variant: str, name: str) -> tuple:
    return reference_verdicts(variant, name)


def noise_failure(variant: str, name: str) -> str:
    plain = list(plain_run(variant, name))
    rough = bench.run_fixed(bench.noisy(list(frames_of(variant, name))), _exercise_id(name))
    out = []
    stops = bench.stops_raised(rough)
    if stops:
        out.append(f"{stops} stop alert(s) ({bench.stops_raised(plain)} without the noise)")
    a, b = (bench.hold_time_s(v, SETTINGS.max_frame_gap_s) for v in (plain, rough))
    if a > 0 and abs(b - a) > HOLD_TOLERANCE * a:
        out.append(f"hold {b:.1f} s against {a:.1f} s without the noise")
    return "; ".join(out)


@pytest.mark.parametrize("variant, name", by_recording([(v, n) for n in RECORDINGS for v in VARIANTS]))
def test_measured_noise_raises_no_stop_and_keeps_the_hold_time(landmarks_dir, variant, name):
    why = noise_failure(variant, name)
    if (variant, name) in EXCEPTIONS:
        assert why, f"{variant}/{name} passes now: remove it from EXCEPTIONS ({EXCEPTIONS[(variant, name)]})"
    else:
        assert not why, f"{variant}/{name}: {why}"


# --- positives stay positive ---------------------------------------------------------------------

def _with(p: Pose, image_px: np.ndarray, world: np.ndarray) -> Pose:
    return Pose(image_px / np.array(p.image_size, dtype=np.float64), p.z, p.visibility, p.presence, world,
                p.image_size)


def _rotate_2d(pts: np.ndarray, centre: np.ndarray, angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (pts - centre) @ r.T + centre


def _rotate_3d(pts: np.ndarray, centre: np.ndarray, axis: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rodrigues' rotation of `pts` about the line through `centre` along `axis`."""
    k = axis / np.linalg.norm(axis)
    a = math.radians(angle_deg)
    v = pts - centre
    return v * math.cos(a) + np.cross(k, v) * math.sin(a) + np.outer(v @ k, k) * (1 - math.cos(a)) + centre


LEGS = [L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_HEEL,
        L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX]
UPPER = [int(i) for i in range(L.NOSE, L.LEFT_HIP)]   # head, shoulders, arms, hands: above the hips


def swing_legs(p: Pose, angle_deg: float) -> Pose:
    """The legs turned by `angle_deg` about the hips (image: about mid-hip; world: about the hip line)."""
    px, w = p.pixel_xy.copy(), p.world.copy()
    hips = [L.LEFT_HIP, L.RIGHT_HIP]
    px[LEGS] = _rotate_2d(px[LEGS], px[hips].mean(axis=0), angle_deg)
    w[LEGS] = _rotate_3d(w[LEGS], w[hips].mean(axis=0), w[L.LEFT_HIP] - w[L.RIGHT_HIP], angle_deg)
    return _with(p, px, w)


def twist_chest(p: Pose, angle_deg: float) -> Pose:
    """Everything above the hips turned by `angle_deg` about the trunk axis (world only: a twist is
    depth, and the image of a turn is its foreshortening, which the twist estimate does not read)."""
    w = p.world.copy()
    mid_hip = w[[L.LEFT_HIP, L.RIGHT_HIP]].mean(axis=0)
    axis = w[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]].mean(axis=0) - mid_hip
    w[UPPER] = _rotate_3d(w[UPPER], mid_hip, axis, angle_deg)
    return _with(p, p.pixel_xy, w)


def hand_at_head(p: Pose) -> Pose:
    """Someone else, seen whole: a copy of the person moved so that its left wrist is on their nose."""
    px = p.pixel_xy + (p.pixel_xy[L.NOSE] - p.pixel_xy[L.LEFT_WRIST])
    seen = np.ones(len(p.visibility))
    return Pose(px / np.array(p.image_size, dtype=np.float64), p.z, seen, seen, p.world, p.image_size)


def _bounce(t_s: float, t0_s: float) -> float:
    """+-10 deg at 2 Hz about a hip angle 14 deg more folded: child's pose holds the hip at about 24 deg,
    the band's edge is 5 deg, so the bounce swings between the edge and 15 deg inside it."""
    return 14.0 + 10.0 * math.sin(2 * math.pi * 2.0 * (t_s - t0_s))


# name -> (recording, exercise, rule, start of the fault (s), its length (s), the transform, how long
# the rule may take once the fault begins (s), why that long)
POSITIVES = {
    "bounce at end range": (
        "childs_pose__01", "childs_pose", "bouncing", 8.0, 4.0,
        lambda f, t0: PoseFrame(f.t_s, f.index, swing_legs(f.pose, _bounce(f.t_s, t0)), f.others),
        # BOUNCE_REVERSALS turning points of a 2 Hz swing come every 0.25 s (the first after a quarter
        # period), then the rule's dwell; one more period for the smoother's lag and the noise estimate
        (BOUNCE_REVERSALS + 1) * 0.25 + rule_by_id("bouncing").dwell_s + 0.5),
    "twist past the limit": (
        "seated_spinal_twist__01", "seated_spinal_twist", "twist", 4.9, 2.0,
        lambda f, t0: PoseFrame(f.t_s, f.index, twist_chest(f.pose, 40.0), f.others),
        # a low-reliability estimate: the dwell times estimate_dwell_factor, plus the smoother's lag
        rule_by_id("twist").dwell_s * SETTINGS.estimate_dwell_factor + 0.5),
    "someone else's wrist at the head": (
        "neck_side_bend__01", "neck_side_bend", "partner_hands_on_head", 5.0, 2.0,
        lambda f, t0: PoseFrame(f.t_s, f.index, f.pose, (*f.others, hand_at_head(f.pose))),
        rule_by_id("partner_hands_on_head").dwell_s + 0.2),   # the dwell and a frame or two
}


def first_raise(verdicts, rule_id: str, after_s: float) -> float:
    for v in verdicts:
        for e in v.events:
            if e.kind == EventKind.ALERT_RAISED and e.details["rule"] == rule_id and e.t_s >= after_s - 1e-9:
                return e.t_s
    return math.nan


@pytest.mark.parametrize("case, variant", [pytest.param(c, v, marks=on_one_worker(v, POSITIVES[c][0]), id=f"{c}-{v}")
                                  for c in POSITIVES for v in VARIANTS])
def test_an_injected_fault_raises_its_alert_within_the_rules_time(landmarks_dir, case, variant):
    name, exercise_id, rule_id, t0, length, inject, within_s = POSITIVES[case]
    assert exercise_id == _exercise_id(name)   # so the recording's own reference run is the run without the fault
    before = first_raise(reference_verdicts(variant, name), rule_id, t0)
    assert not before <= t0 + length, f"{rule_id} is raised at {before:.2f} s without the fault"
    # the engine is causal: what comes after the allowed time cannot change whether it was raised in it
    frames = [f for f in frames_of(variant, name) if f.t_s <= t0 + within_s]
    changed = [inject(f, t0) if not f.pose.is_empty and t0 <= f.t_s < t0 + length else f for f in frames]
    got = first_raise(bench.run_fixed(changed, exercise_id), rule_id, t0)
    assert got <= t0 + within_s, f"{rule_id}: raised at {got:.2f} s, fault from {t0} s (allowed {within_s:.2f} s)"


# --- the neck policy: every exercise keeps the neck near neutral ------------------------------------

NECK_MEASURE = {"lateral_tilt": "neck_lateral_deg", "flexion": "neck_flexion_deg", "extension": "neck_flexion_deg",
                "rotation": "neck_rotation_deg"}
MEASURABLE_SHARE = 0.5   # the view measures the neck angle (medium or better) in at least half the interval


@lru_cache(maxsize=None)
def run_as(variant: str, name: str, exercise_id: str) -> tuple:
    return tuple(bench.run_fixed(list(frames_of(variant, name)), exercise_id))


def neck_alert_in(verdicts, start_s: float, end_s: float) -> bool:
    return any(a.rule_id.startswith("neck_") for v in verdicts if start_s <= v.t_s <= end_s for a in v.alerts)


def measurable(verdicts, measure: str, start_s: float, end_s: float) -> bool:
    inside = [v for v in verdicts if start_s <= v.t_s <= end_s]
    good = [v for v in inside for m in v.measures if m.name == measure and math.isfinite(m.value)
            and m.reliability.value in ("medium", "high")]
    return bool(inside) and len(good) >= MEASURABLE_SHARE * len(inside)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("exercise_id", ["chair_rotation", "seated_spinal_twist"])
def test_a_neck_tilted_past_neutral_raises_a_caution_in_a_twist(landmarks_dir, exercise_id, variant):
    """The neck side bend analysed as a twist: each of its neck intervals that the view can measure
    raises a neck caution (the neutral tolerance holds in every exercise, not only the neck's own)."""
    verdicts = run_as(variant, "neck_side_bend__01", exercise_id)
    truth = bench.truth_of(landmarks_dir, "neck_side_bend__01")
    judged = 0
    for start_s, end_s, kind, *_ in truth["neck"]:
        if not measurable(verdicts, NECK_MEASURE[kind], start_s, end_s):
            continue
        judged += 1
        assert neck_alert_in(verdicts, start_s, end_s), f"no neck caution in {kind} {start_s}-{end_s} s"
    assert judged, "no neck interval is measurable: the check would pass on nothing"


# --- the neck without the hips: a head-and-shoulders picture ---------------------------------------

LOWER_BODY = list(range(L.LEFT_HIP, len(L)))   # hips and legs
# full pose -> head and shoulders: how far each neck-frame measure may move when the trunk axis is
# stood in for by gravity's up. These people sit up, the trunk within about 5 deg of vertical; an angle
# read against the axis moves by about that lean (5 deg). A hand distance is in shoulder widths and the
# head's own segments do not move: only the image scale, now from the shoulders and the neck (0.25 sw).
HEAD_TOL = {"neck_rotation_deg": 5.0, "neck_lateral_deg": 5.0, "hand_head_left_sw": 0.25,
            "hand_head_right_sw": 0.25}
SIDE_FLEXION_TOL_DEG = 5.0   # neck flexion, judged from the side only (it is low reliability from the front)
HEAD_FRAMES = [("neck_side_bend__01", t) for t in (0.5, 4.0, 12.0)] + [("seated_spinal_twist__01", t) for t in (6.0, 15.0)]


def without_hips(p: Pose, how: str) -> Pose:
    vis = p.visibility.copy()
    vis[LOWER_BODY] = 0.0
    xy, world = p.xy.copy(), p.world.copy()
    if how == "nan":
        xy[LOWER_BODY], world[LOWER_BODY] = np.nan, np.nan
    return Pose(xy, p.z, vis, p.presence, world, p.image_size)


def frame_at(variant: str, name: str, t_s: float):
    return min(frames_of(variant, name), key=lambda f: abs(f.t_s - t_s))


@pytest.mark.parametrize("how", ["unseen", "nan"])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name, t_s", HEAD_FRAMES, ids=[f"{n.split('__')[0]}-{t:g}" for n, t in HEAD_FRAMES])
def test_the_neck_is_read_from_head_and_shoulders_alone(landmarks_dir, name, t_s, variant, how):
    from coach.measure.measures import compute_measures

    pose = frame_at(variant, name, t_s).pose
    full, head = compute_measures(pose), compute_measures(without_hips(pose, how))
    assert head.view == full.view != "unknown"
    assert all(math.isnan(head[n]) for n in ("hip_left_deg", "trunk_inclination_deg", "knee_left_deg"))
    tol = dict(HEAD_TOL, **({"neck_flexion_deg": SIDE_FLEXION_TOL_DEG} if full.view == "side" else {}))
    judged = 0
    for measure, limit in tol.items():
        if not math.isfinite(full[measure]) or full.reliability_of(measure).value not in ("medium", "high"):
            continue
        judged += 1
        assert head[measure] == pytest.approx(full[measure], abs=limit), measure
        assert head.reliability_of(measure) == full.reliability_of(measure), measure
    assert judged, "nothing to compare in this frame"


@pytest.mark.parametrize("how", ["unseen", "nan"])
def test_a_lying_person_without_hips_has_no_neck_reading(landmarks_dir, how):
    """Lying, the head is beside the shoulders: an upright trunk can't be assumed, so no neck angle
    and no hand distance (can't judge) rather than one read against the wrong axis."""
    from coach.measure.measures import compute_measures

    head = compute_measures(without_hips(frame_at("lite", "bridge__01", 5.0).pose, how))
    assert all(math.isnan(head[n]) for n in ("neck_flexion_deg", "neck_rotation_deg", "neck_lateral_deg",
                                             "hand_head_left_sw", "hand_head_right_sw"))
