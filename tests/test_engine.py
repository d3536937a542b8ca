"""Scripted measure sequences -> the exact events the engine emits (holds, grace, hysteresis, pose
lost, sides, cat-cow phases, rest, routines).

Frame step 1/16 s (see tests/scripted.py). Timing rules used to derive each expected time, with
SETTINGS (settle 0.25 s, grace 0.5 s, still below 12 deg/s until above 20 deg/s, judged on the net
change over 0.25 s: the least-squares slope of the measured values less 2 standard errors, known once
3 measured samples span 0.125 s):
- stillness is first known at 0.125 s (the 3rd frame), and again 0.125 s after a gap in the pose;
- a step change reads as moving while it is in the window: "still" starts 0.1875 s after it;
- a hold starts settle_s after the first in-envelope-and-still frame (0.375 s from a standing start);
- hold time accrues one frame step per holding frame after the start, so a 1 s hold started at
  t completes at t + 1;
- a pause longer than grace_s releases the hold on the first frame more than 0.5 s after it began.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scripted import DT_S, SETTINGS, Segment, band, exercise, measures, run_script

from coach.engine.core import Coach, EngineSettings
from coach.engine.verdict import Alert, Event, EventKind, FrameVerdict, HoldState, MeasureVerdict, Status
from coach.measure.conventions import Reliability
from coach.measure.motion import NetSpeed

TWIST_SIDED = dict(sides="left_right", side_from="sign:trunk_rotation_deg", rest_s=0.5, phases=[
    {"name": "twist", "hold_s": 1.0, "envelope": {"trunk_rotation_deg": band(15, 45, min_reliability="low")}}])
# the head hangs in cat: its band reaches 80, so the neck's own limit does too (as cat_cow.toml's)
CAT_COW = dict(posture=["all_fours"], safety={"neck_flexion_max_deg": 80}, phases=[
    {"name": "cat", "hold_s": 1.0, "envelope": {"neck_flexion_deg": band(20, 80)}},
    {"name": "cow", "hold_s": 1.0, "envelope": {"neck_flexion_deg": band(-40, 10)}}])
INC = "trunk_inclination_deg"
ALL_FOURS, NECK = "all_fours", "neck_flexion_deg"

SCRIPTS = {
    # staying in the position after the rest is not the next rep: the rest ends once the person came
    # out of it (4.0 s; read out from the next frame), and the second rep is the second time in
    "hold, rest, still in position, out, in again: the next rep": (
        dict(reps_per_side=2, rest_s=0.5),
        [Segment(1.0, {INC: 0}), Segment(3.0, {INC: 40}), Segment(1.0, {INC: 0}), Segment(2.0, {INC: 40})],
        [("exercise_started", 0.0), ("hold_started", 1.4375), ("hold_completed", 2.4375), ("rep_completed", 2.4375),
         ("rest_started", 2.4375), ("rest_ended", 4.0625), ("hold_started", 5.4375), ("hold_completed", 6.4375),
         ("rep_completed", 6.4375), ("exercise_completed", 6.4375)]),
    "one long hold with rest_s = 0 is one rep": (
        dict(reps_per_side=3, rest_s=0.0),
        [Segment(6.0, {INC: 40})],
        [("exercise_started", 0.0), ("hold_started", 0.375), ("hold_completed", 1.375), ("rep_completed", 1.375)]),
    "rest_s = 0: out and in again is the next rep": (
        dict(reps_per_side=2, rest_s=0.0),
        [Segment(2.0, {INC: 40}), Segment(1.0, {INC: 0}), Segment(2.0, {INC: 40})],
        [("exercise_started", 0.0), ("hold_started", 0.375), ("hold_completed", 1.375), ("rep_completed", 1.375),
         ("hold_started", 3.4375), ("hold_completed", 4.4375), ("rep_completed", 4.4375),
         ("exercise_completed", 4.4375)]),
    "a brief jitter out pauses, then resumes (grace)": (
        {},
        [Segment(1.0, {INC: 40}), Segment(0.25, {INC: 70}), Segment(2.0, {INC: 40})],
        # 0.5625 s held before the jitter; back at 1.25 (resumed), the step back in the window reads
        # as moving at 1.3125, still again at 1.4375; 0.4375 s more -> 1.875
        [("exercise_started", 0.0), ("hold_started", 0.375), ("hold_paused", 1.0), ("hold_resumed", 1.25),
         ("hold_paused", 1.3125), ("hold_resumed", 1.4375), ("hold_completed", 1.875), ("rep_completed", 1.875),
         ("exercise_completed", 1.875)]),
    "drifting just past the band edge stays in (band hysteresis)": (
        dict(phases=[{"name": "hold", "hold_s": 3.0, "envelope": {INC: band(20, 60, hysteresis=5)}}]),
        [Segment(0.5, {INC: 50}), Segment(1.5, {INC: lambda t: 50 + 8 * t}), Segment(2.0, {INC: 62.5})],
        [("exercise_started", 0.0), ("hold_started", 0.375), ("hold_completed", 3.375), ("rep_completed", 3.375),
         ("exercise_completed", 3.375)]),
    "the same drift without band hysteresis releases": (
        dict(phases=[{"name": "hold", "hold_s": 3.0, "envelope": {INC: band(20, 60, hysteresis=0)}}]),
        [Segment(0.5, {INC: 50}), Segment(1.5, {INC: lambda t: 50 + 8 * t}), Segment(2.0, {INC: 62.5})],
        # the ramp is exactly 60 (still inside) at 0.5 + 1.25 and past it one frame later, at 1.8125
        [("exercise_started", 0.0), ("hold_started", 0.375), ("hold_paused", 1.8125), ("hold_released", 2.375)]),
    "moving through the envelope is not a hold (stillness)": (
        {},
        [Segment(2.0, {INC: lambda t: 25 + 15 * t}), Segment(1.5, {INC: 55})],
        [("exercise_started", 0.0), ("hold_started", 2.3125), ("hold_completed", 3.3125),
         ("rep_completed", 3.3125), ("exercise_completed", 3.3125)]),
    "pose lost briefly pauses the hold": (
        {},
        [Segment(0.5, {INC: 40}), Segment(0.25, None), Segment(1.5, {INC: 40})],
        [("exercise_started", 0.0), ("hold_started", 0.375), ("pose_lost", 0.5), ("hold_paused", 0.5),
         ("pose_regained", 0.75), ("hold_resumed", 0.75), ("hold_completed", 1.6875), ("rep_completed", 1.6875),
         ("exercise_completed", 1.6875)]),
    "pose lost for long releases the hold and raises person_lost": (
        {},
        [Segment(0.5, {INC: 40}), Segment(2.0, None), Segment(1.0, {INC: 40})],
        [("exercise_started", 0.0), ("hold_started", 0.375), ("pose_lost", 0.5), ("hold_paused", 0.5),
         ("hold_released", 1.0625), ("alert_raised", 1.5), ("pose_regained", 2.5), ("alert_cleared", 2.5),
         ("hold_started", 2.875)]),
    "sides: left detected from the pose, then right": (
        TWIST_SIDED,
        [Segment(1.5, {"trunk_rotation_deg": 30}), Segment(0.5, {"trunk_rotation_deg": 0}),
         Segment(1.5, {"trunk_rotation_deg": -30})],
        [("exercise_started", 0.0), ("side_changed", 0.375), ("hold_started", 0.375), ("hold_completed", 1.375),
         ("rep_completed", 1.375), ("side_changed", 1.375), ("rest_started", 1.375), ("rest_ended", 1.875),
         # the pose shows right 0.25 s after the turn: 5 of the last second's 8 side readings (coach.engine.context)
         ("context_changed", 2.25), ("hold_started", 2.4375), ("hold_completed", 3.4375), ("rep_completed", 3.4375),
         ("exercise_completed", 3.4375)]),
    "two sides: no hold while the working side is unknown": (
        dict(TWIST_SIDED, phases=[{"name": "sit", "hold_s": 1.0, "envelope": {INC: band(20, 60)}}]),
        [Segment(2.0, {INC: 40, "trunk_rotation_deg": 2})],  # within the side dead band
        [("exercise_started", 0.0)]),
    "cat then cow": (
        CAT_COW,
        [Segment(1.5, {NECK: 40}, posture=ALL_FOURS), Segment(1.5, {NECK: -10}, posture=ALL_FOURS)],
        [("exercise_started", 0.0), ("hold_started", 0.375), ("hold_completed", 1.375), ("phase_changed", 1.375),
         ("hold_started", 1.9375), ("hold_completed", 2.9375), ("rep_completed", 2.9375),
         ("exercise_completed", 2.9375)]),
    "cow first: the engine follows the person": (
        CAT_COW,
        [Segment(1.5, {NECK: -10}, posture=ALL_FOURS), Segment(1.5, {NECK: 40}, posture=ALL_FOURS)],
        [("exercise_started", 0.0), ("phase_changed", 0.375), ("hold_started", 0.375), ("hold_completed", 1.375),
         ("phase_changed", 1.375), ("hold_started", 1.9375), ("hold_completed", 2.9375), ("rep_completed", 2.9375),
         ("exercise_completed", 2.9375)]),
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_scripted_sequence_gives_exact_events(name):
    overrides, segments, expected = SCRIPTS[name]
    run = run_script(exercise(**overrides), segments)
    assert run.kinds_at() == expected


def test_event_details_name_phase_side_and_times():
    run = run_script(exercise(**TWIST_SIDED), SCRIPTS["sides: left detected from the pose, then right"][1])
    sides = [dict(e.details) for e in run.events if e.kind == EventKind.SIDE_CHANGED]
    assert sides == [{"from": None, "to": "left"}, {"from": "left", "to": "right"}]
    reps = [dict(e.details) for e in run.events if e.kind == EventKind.REP_COMPLETED]
    assert reps == [{"side": "left", "rep": 1}, {"side": "right", "rep": 1}]
    last = run.verdicts[-1]
    assert last.reps_done == {"left": 1, "right": 1} and last.sides_done == ("left", "right")
    assert last.status == Status.COMPLETED


def test_release_reports_when_the_hold_really_ended():
    """In for 1 s of a 2 s hold, then out: paused at 1.0 s, released once the grace is over - held until 1.0 (0.5625 s timed from 0.4375)."""
    run = run_script(exercise(phases=[{"name": "hold", "hold_s": 2.0, "envelope": {INC: band(20, 60)}}]),
                     [Segment(1.0, {INC: 40}), Segment(1.0, {INC: 0})])
    released = [e for e in run.events if e.kind == EventKind.HOLD_RELEASED]
    assert [(e.t_s, e.details["held_until_s"], e.details["hold_s"]) for e in released] == [(1.5625, 1.0, 0.562)]


def test_follow_and_next_phase_reasons():
    run = run_script(exercise(**CAT_COW), SCRIPTS["cow first: the engine follows the person"][1])
    changes = [dict(e.details) for e in run.events if e.kind == EventKind.PHASE_CHANGED]
    assert changes == [{"from": "cat", "to": "cow", "reason": "followed"},
                       {"from": "cow", "to": "cat", "reason": "next"}]
    holds = [e.details["phase"] for e in run.events if e.kind == EventKind.HOLD_STARTED]
    assert holds == ["cow", "cat"]


def test_hold_time_accrues_only_while_holding_and_progress_is_bounded():
    run = run_script(exercise(), SCRIPTS["a brief jitter out pauses, then resumes (grace)"][1])
    paused = [v for v in run.verdicts if v.state == HoldState.PAUSED]
    assert paused and len({v.hold_s for v in paused}) == 1  # frozen while paused
    assert paused[0].hold_s == pytest.approx(0.5625)  # started at 0.375: 9 frames held before the jitter
    assert all(0.0 <= v.progress <= 1.0 for v in run.verdicts)
    assert max(v.hold_s for v in run.verdicts) == pytest.approx(1.0)


def test_measure_verdict_gives_distance_and_hint_outside_the_band():
    run = run_script(exercise(), [Segment(0.25, {INC: 70})])
    m = run.verdicts[-1].measure(INC)
    assert (m.inside, m.distance, m.hint, m.in_envelope) == (False, 10.0, "less than 60", True)
    twist = run.verdicts[-1].measure("trunk_rotation_deg")
    assert twist.inside is None and math.isnan(twist.value) and not twist.valid


def test_the_verdict_says_whether_the_frame_is_in_the_envelope():
    run = run_script(exercise(), [Segment(0.25, {INC: 40}), Segment(0.25, {INC: 70}), Segment(0.25, None),
                                  Segment(1.0, {INC: 40}, view="front")])
    flags = [v.in_envelope for v in run.verdicts]
    assert flags[:4] == [True] * 4 and flags[4:8] == [False] * 4   # 70 is past max + hysteresis
    assert flags[8:12] == [None] * 4                               # nobody seen: can't judge
    # the wrong camera view fails the gate once it is the stable view: 0.6 s of the last second's
    # readings (the side ones from before the gap still count; coach.engine.context)
    assert flags[12:] == [True] * 7 + [False] * 9


def test_same_input_same_output():
    ex = exercise(**CAT_COW)
    segs = SCRIPTS["cow first: the engine follows the person"][1]
    assert run_script(ex, segs).kinds_at() == run_script(ex, segs).kinds_at()


def test_time_running_backwards_is_taken_as_the_last_time():
    coach = Coach(exercise(), smoothing="none", settings=SETTINGS)
    coach.update_measures(measures({INC: 40}), 1.0)
    verdict = coach.update_measures(measures({INC: 40}), 0.5)
    assert verdict.t_s == 1.0
    with pytest.raises(ValueError, match="t_s"):
        coach.update_measures(measures({INC: 40}), math.nan)


@pytest.mark.parametrize("bad, message", [
    (dict(settle_s=-1.0), "settle_s"), (dict(min_cutoff_hz=0.0), "min_cutoff_hz"),
    (dict(still_enter_deg_s=30.0, still_exit_deg_s=20.0), "still_exit_deg_s"), (dict(stop_count=0), "stop_count"),
    (dict(still_max_rate_hz=0.0), "still_max_rate_hz"),
])
def test_settings_are_checked_and_name_the_field(bad, message):
    with pytest.raises(ValueError, match=message):
        EngineSettings(**bad)


def test_unknown_smoothing_mode_is_rejected():
    with pytest.raises(ValueError, match="causal, none"):
        Coach(exercise(), smoothing="zero-phase")


# --- stillness is the net change; held-over values are not evidence ----------------------------------

JITTER_DEG = 0.75  # alternating +-0.75 deg each 1/16 s frame: 24 deg/s frame to frame, no net change
DRIFT_DEG_S = 24.0  # the same speed as a steady drift (above still_exit_deg_s = 20)


@pytest.mark.parametrize("values, expected", [
    ({INC: lambda t: 40 + JITTER_DEG * (-1) ** round(t * 16)},
     [("exercise_started", 0.0), ("hold_started", 0.375), ("hold_completed", 1.375), ("rep_completed", 1.375),
      ("exercise_completed", 1.375)]),
    ({INC: lambda t: 25 + DRIFT_DEG_S * t}, [("exercise_started", 0.0)]),
])
def test_jitter_without_net_change_is_still_but_a_steady_drift_of_that_speed_is_not(values, expected):
    assert run_script(exercise(), [Segment(1.5, values)]).kinds_at() == expected


def test_net_speed_reads_a_drift_at_its_speed_and_jitter_as_zero():
    net = NetSpeed(2, window_s=0.5, min_span_s=0.25, noise_k=2.0)
    for i in range(16):
        t = i / 16
        out = net.step(np.array([40 + JITTER_DEG * (-1) ** i, 25 + DRIFT_DEG_S * t]), t)
    assert out[0] == 0.0 and out[1] == pytest.approx(DRIFT_DEG_S)


def _net_speed_of(samples: list[tuple[float, float]], max_rate_hz: float) -> float:
    net = NetSpeed(1, window_s=0.4, min_span_s=0.1, noise_k=1.5, max_rate_hz=max_rate_hz)
    for t, v in samples:
        out = net.step(np.array([v]), t)
    return float(out[0])


def test_a_faster_camera_does_not_make_a_jittery_slope_surer():
    """A movement of 20 deg/s under +-4 deg jitter that changes 30 times a second, filmed at 30 fps and
    at 60 fps (each jitter value seen on two frames: MediaPipe's noise is not new on every frame,
    bench/noise_correlation.py). The 60 fps window has twice the samples and the same scatter: counted
    as independent, its error would shrink by sqrt(2) and the jitter would read as surer movement.
    Counting at most 30 samples a second, both cameras read about the same net speed (the 60 fps
    window spans one frame more); at 30 fps the cap changes nothing."""
    jitter = [4.0 * (-1) ** k for k in range(13)]
    at_30 = [(k / 30, 20.0 * k / 30 + jitter[k]) for k in range(13)]
    at_60 = [(k / 60, 20.0 * (k // 2) / 30 + jitter[k // 2]) for k in range(26)]
    capped_30, capped_60 = _net_speed_of(at_30, 30.0), _net_speed_of(at_60, 30.0)
    assert capped_30 == _net_speed_of(at_30, math.inf)            # at the cap: as before
    assert capped_60 == pytest.approx(capped_30, abs=2.5)         # 60 fps reads about as 30 fps does ...
    assert _net_speed_of(at_60, math.inf) > capped_30 + 6.0       # ... where uncapped it would read surer


def test_a_value_held_over_a_gap_does_not_advance_an_alert_dwell():
    """Twist 50 (past 45) measured on one frame in four, NaN between: the live filter holds each value
    over the gap (max_gap 0.25 s), but only a measured frame adds its 1/16 s to the 0.5 s dwell: the
    ninth measured frame (the first starts the count, eight more add 8/16 s) fires at 2.0 s, where
    counting held values would fire at 0.5 s as the measured-every-frame twist does."""
    ex = exercise(phases=[{"name": "hold", "hold_s": 30.0, "envelope": {INC: band(20, 60)}}])
    sparse = {INC: 40.0, "trunk_rotation_deg": lambda t: 50.0 if round(t * 16) % 4 == 0 else math.nan}
    coach = Coach(ex, smoothing="causal", settings=SETTINGS)
    assert run_script(ex, [Segment(3.0, sparse)], coach=coach).alerts() == [("raised", "twist", 2.0)]
    coach = Coach(ex, smoothing="causal", settings=SETTINGS)
    dense = run_script(ex, [Segment(3.0, {INC: 40.0, "trunk_rotation_deg": 50.0})], coach=coach).alerts()
    assert dense == [("raised", "twist", 0.5)]


# --- the records validate themselves ----------------------------------------------------------------

def _verdict(**kw) -> FrameVerdict:
    fields = dict(t_s=1.0, exercise_id="x", status="active", phase="hold", phase_index=0, side=None, state="out",
                  holding=False, hold_s=0.0, hold_target_s=1.0, progress=0.0, reps_done={"both": 0}, sides_done=(),
                  pose_seen=True)
    return FrameVerdict(**{**fields, **kw})


@pytest.mark.parametrize("make, message", [
    (lambda: _verdict(progress=1.5), "progress"),
    (lambda: _verdict(hold_s=math.nan), "hold_s"),
    (lambda: _verdict(rest_left_s=-1.0), "negative"),
    (lambda: MeasureVerdict("trunk_inclination_deg", math.nan, "none", inside=True, distance=0.0), "inside=True"),
    (lambda: MeasureVerdict("trunk_inclination_deg", math.inf, "high"), "finite number or NaN"),
    (lambda: Alert("twist", "caution", "rotate less", math.inf, 45.0, 0.0), "Alert.value"),
    (lambda: Event("hold_started", math.nan), "Event.t_s"),
])
def test_records_refuse_numbers_that_are_not_valid(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_nan_measure_is_explicitly_not_valid():
    m = MeasureVerdict("trunk_inclination_deg", math.nan, "high")
    assert not m.valid and m.inside is None and m.reliability == Reliability.HIGH
    assert _verdict(progress=1.0).progress == 1.0


def test_rest_s_zero_starts_the_next_rep_as_soon_as_the_person_comes_out_and_goes_in_again():
    """With no rest between reps each rep is a movement in and out: three times in, 2 s each with 1 s
    out between, is three reps and the exercise done (before a fix, the finished hold's tracker was
    kept: no second rep ever); one long hold is one rep, however long (it counted three)."""
    def run(inside_s, outside_s, total_s):
        coach = Coach(exercise(reps_per_side=3, rest_s=0.0), smoothing="none", settings=SETTINGS)
        period = inside_s + outside_s
        verdicts = [coach.update_measures(measures({INC: 40.0 if t % period < inside_s else 0.0}), t)
                    for t in np.arange(0, total_s, 1 / 30)]
        return coach, [e for v in verdicts for e in v.events if e.kind == EventKind.REP_COMPLETED]

    coach, reps = run(2.0, 1.0, 9.0)
    assert len(reps) == 3 and coach.status == Status.COMPLETED
    assert [int(r.t_s // 3.0) for r in reps] == [0, 1, 2], reps   # one rep per time in
    coach, reps = run(8.0, 1.0, 8.0)
    assert len(reps) == 1 and coach.status == Status.RESTING, reps   # waiting for the person to come out


@pytest.mark.parametrize("twist_deg, timed", [
    pytest.param(30.0, True, id="a twist within the limit: the hold is timed"),
    pytest.param(60.0, False, id="past the safe twist: wrong form, not a good hold"),
])
def test_a_hold_is_not_timed_while_the_coach_corrects_the_stretch_itself(twist_deg, timed):
    """The twist rule (limit 45 deg, dwell 0.5 s) raised during a hold: the hold stops timing (and
    is released after the grace window); the same hold with a twist inside the limit completes."""
    ex = exercise(phases=[{"name": "hold", "hold_s": 2.0, "envelope": {INC: band(20, 60)}}])
    run = run_script(ex, [Segment(1.0, {INC: 40}), Segment(2.0, {INC: 40, "trunk_rotation_deg": twist_deg})])
    raised = [t for kind, rule, t in run.alerts() if kind == "raised" and rule == "twist"]
    assert bool(raised) is not timed
    assert bool(run.kinds_at("hold_completed")) is timed
    if raised:
        after = [v for v in run.verdicts if v.t_s > raised[0] + DT_S]
        assert after and not any(v.holding for v in after)
