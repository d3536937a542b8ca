"""The stable context (coach.engine.context): view, posture and the seen side pass a majority window
with hysteresis before they gate anything; a flicker never changes them, a real change is followed
within switch_share x window_s; missing is never a change."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scripted import DT_S, SETTINGS, Segment, band, exercise, measures, run_script
from synthetic import make_pose, seated_on_floor, with_trunk_flexion

from coach.engine.context import ContextSettings, StableContext, StableValue, rejudge
from coach.engine.core import Coach
from coach.engine.verdict import EventKind
from coach.measure.conventions import Posture, Reliability, View
from coach.measure.measures import compute_measures

INC = "trunk_inclination_deg"
CTX = ContextSettings()
LATENCY_S = CTX.switch_share * CTX.window_s   # a clean change is followed after this (+ one frame)
S, F, O, U = View.SIDE, View.FRONT, View.OBLIQUE, View.UNKNOWN


def _stable(readings: list[View], dt_s: float = DT_S) -> list[View]:
    value = StableValue(U, CTX)
    return [value.step(r, i * dt_s)[0] for i, r in enumerate(readings)]


@pytest.mark.parametrize("readings, expected", [
    pytest.param([S] * 4, [S] * 4, id="the first known reading is taken at once"),
    pytest.param([U, U, S, S], [U, U, S, S], id="unknown casts no vote"),
    pytest.param([S, F] * 16, [S] * 32, id="a 50/50 flicker never switches"),
    pytest.param([S] * 16 + [F, S, S] * 10, [S] * 46, id="a 1-in-3 flicker stays"),
    pytest.param([S] * 16 + [F, F, S] * 10, [S] * 29 + [F] * 17, id="a 2-in-3 majority is a change"),
    pytest.param([S] * 16 + [F] * 16, [S] * 16 + [S] * 9 + [F] * 7, id="a real change: 10 of 16 readings"),
    pytest.param([S] * 16 + [U] * 16 + [S] * 4, [S] * 36, id="a gap of unknown changes nothing"),
])
def test_a_stable_value_is_a_majority_with_hysteresis(readings, expected):
    assert _stable(readings) == expected


def test_a_change_is_reported_from_the_last_known_value_never_from_or_to_unknown():
    value, changes = StableValue(U, CTX), []
    script = [S] * 16 + [U] * 16 + [F] * 16 + [U] * (16 * 6) + [O] * 2
    for i, r in enumerate(script):
        stable, old = value.step(r, i * DT_S)
        if old is not None:
            changes.append((i, old, stable))
    # side -> front once the front readings after the gap span 0.6 s (10 frames: the side ones are
    # older than the window); after 6 s with no known reading (forget_s) the value is unknown
    # silently, and the next known reading counts at once
    assert changes == [(42, S, F), (144, F, O)]
    assert value.value == O


@pytest.mark.parametrize("field, bad", [("window_s", 0.0), ("switch_share", 0.5), ("switch_share", 1.2),
                                        ("forget_s", 0.5), ("window_s", math.nan)])
def test_context_settings_are_checked(field, bad):
    with pytest.raises(ValueError, match=field):
        ContextSettings(**{field: bad})


def _alternating(n_frames: int, values: dict, views: tuple[str, str], posture: str = "seated") -> list[Segment]:
    return [Segment(DT_S, values, view=views[i % 2], posture=posture) for i in range(n_frames)]


def test_a_view_flickering_every_other_frame_does_not_gate_and_the_hold_is_timed_through():
    ex = exercise(phases=[{"name": "hold", "hold_s": 2.0, "envelope": {INC: band(20, 60)}}])
    run = run_script(ex, [Segment(0.5, {INC: 40})] + _alternating(64, {INC: 40}, ("front", "side")))
    assert {v.view for v in run.verdicts} == {View.SIDE}
    assert not run.kinds_at("context_changed")
    # the hold starts after settle_s and runs through: 2 s later it is complete
    assert run.kinds_at("hold_started", "hold_paused", "hold_completed") == [("hold_started", 0.375),
                                                                              ("hold_completed", 2.375)]


def test_a_real_change_of_posture_is_followed_within_the_stated_latency():
    ex = exercise(posture=["seated", "supine"])
    run = run_script(ex, [Segment(2.0, {INC: 40}), Segment(2.0, {INC: 40}, posture="supine")])
    changes = [(e.t_s, dict(e.details)) for e in run.events if e.kind == EventKind.CONTEXT_CHANGED]
    assert len(changes) == 1
    t_s, details = changes[0]
    assert details == {"context": "posture", "from": "seated", "to": "supine"}
    assert 2.0 < t_s <= 2.0 + LATENCY_S + DT_S
    assert all(v.posture == Posture.SEATED for v in run.verdicts if v.t_s < t_s)
    assert all(v.posture == Posture.SUPINE for v in run.verdicts if v.t_s >= t_s)


def test_nobody_seen_is_no_vote_and_no_change():
    run = run_script(exercise(), [Segment(1.0, {INC: 40}), Segment(3.0, None), Segment(1.0, {INC: 40})])
    assert not run.kinds_at("context_changed")
    assert all(v.view == View.SIDE for v in run.verdicts if v.pose_seen)   # kept through the gap


def test_reliability_follows_the_stable_view_not_the_frame():
    """A band needing medium reliability stays judged while the per-frame view flickers to front,
    where the table rates trunk inclination low."""
    ex = exercise(phases=[{"name": "hold", "hold_s": 1.0, "envelope": {INC: band(20, 60)}}])
    run = run_script(ex, [Segment(0.5, {INC: 40})] + _alternating(32, {INC: 40}, ("front", "side")))
    assert all(v.measure(INC).reliability == Reliability.HIGH for v in run.verdicts)
    assert all(v.measure(INC).inside is True for v in run.verdicts)


@pytest.mark.parametrize("frame_view, stable_view, frame_rel, expected", [
    pytest.param(F, S, Reliability.LOW, Reliability.HIGH, id="front read, side stable: the side's rating"),
    pytest.param(S, F, Reliability.HIGH, Reliability.LOW, id="side read, front stable: the front's rating"),
    pytest.param(S, O, Reliability.MEDIUM, Reliability.LOW, id="marginal landmark: one step lower kept"),
])
def test_rejudge_reads_the_table_for_the_stable_view(frame_view, stable_view, frame_rel, expected):
    m = measures({INC: 40.0}, view=frame_view.value)
    rel = list(m.reliability)
    rel[m_index(INC)] = frame_rel
    from coach.measure.measures import Measures

    m = Measures(m.values, tuple(rel), frame_view, m.posture)
    values, reliability = rejudge(m, stable_view)
    assert values[m_index(INC)] == 40.0 and reliability[m_index(INC)] == expected


def m_index(name: str) -> int:
    from coach.measure.conventions import MEASURE_NAMES

    return MEASURE_NAMES.index(name)


def test_a_synthetic_pose_turning_between_side_and_oblique_every_frame_keeps_the_side_view():
    """The real pipeline: poses -> compute_measures -> Coach. Per frame the view alternates (side /
    oblique); the exercise is judged from the side only, and its hold is timed through."""
    flexed = with_trunk_flexion(seated_on_floor(), 40)
    poses = [make_pose(flexed, "side"), make_pose(flexed, -30.0)]
    assert [compute_measures(p).view for p in poses] == [View.SIDE, View.OBLIQUE]
    ex = exercise(phases=[{"name": "hold", "hold_s": 2.0, "envelope": {INC: band(20, 60)}}])
    coach = Coach(ex, smoothing="none", settings=SETTINGS)
    verdicts = [coach.update(poses[i % 2], i * DT_S) for i in range(16 * 3)]
    assert {v.view for v in verdicts} == {View.SIDE}
    events = [(e.kind.value, e.t_s) for v in verdicts for e in v.events
              if e.kind in (EventKind.HOLD_STARTED, EventKind.HOLD_PAUSED, EventKind.HOLD_COMPLETED)]
    assert events[0][0] == "hold_started" and events[-1][0] == "hold_completed"
    assert "hold_paused" not in [k for k, _ in events]


def test_the_context_of_a_coach_is_one_tracker_for_view_posture_and_side():
    ctx = StableContext()
    assert ctx.step(0.0, S, Posture.SEATED) == [] and ctx.step_side(0.0, "left") == []
    assert (ctx.view, ctx.posture, ctx.side) == (S, Posture.SEATED, "left")
    assert ctx.step(0.1, F, Posture.SUPINE, seen=False) == []
    assert (ctx.view, ctx.posture) == (S, Posture.SEATED)
    assert np.isnan(rejudge(measures({INC: 40.0}), View.UNKNOWN)[0][m_index("pelvic_tilt_deg")])


# --- --exercise auto: "not sure" (coach.engine.autodetect) -------------------------------------------

def _windows(picked: list[float], other: list[float]) -> np.ndarray:
    return np.column_stack([picked, other])


@pytest.mark.parametrize("scores, alike", [
    pytest.param(_windows([0.8] * 10, [0.2] * 10), [], id="always far apart: sure"),
    pytest.param(_windows([0.8, 0.3] * 5, [0.3, 0.8] * 5), [1], id="each wins half the windows: not sure"),
    pytest.param(_windows([0.6, 0.5, 0.7, 0.4] * 3, [0.5, 0.6, 0.4, 0.6] * 3), [1],
                 id="a small edge within the windows' spread: not sure"),
    pytest.param(_windows([0.8, 0.3, 0.8], [0.3, 0.8, 0.3]), [], id="fewer than 2 independent windows: no claim"),
    pytest.param(_windows([0.8, 0.7] * 5, [0.3, 0.35] * 5), [], id="a steady edge beyond its noise: sure"),
])
def test_another_exercise_scoring_alike_within_the_noise_makes_a_segment_not_sure(scores, alike):
    from coach.engine.autodetect import alike_exercises

    assert alike_exercises(scores, 0) == alike


def test_the_features_for_auto_read_the_stable_context():
    from coach.engine.autodetect import Features

    features = Features()
    for i in range(32):
        features.add(i * DT_S, measures({INC: 40.0}, view=("side", "front")[i % 2]))
    assert {m.view for m in features.measures} == {View.SIDE}
    assert all(m.reliability_of(INC) == Reliability.HIGH for m in features.measures)
