"""The neck side bend coached as a gentle neck stretch (exercises/neck_side_bend.toml).

- Real data: the shared neck recording (original, tracked, lite; and mirrored, sides swapped) times
  its front-view hold on the side the ear moves toward, raises a neck alert in the front-view truth
  neck interval, and no "Holding" frame asks to ease the tilt; the side-on interval, where the coach
  can't read a side tilt, is counted by the benchmark as unreadable, not as a miss.
- Scripted measures (tests/scripted.py): past the exercise's own limit the caution fires and the hold
  stops timing; a tilt that can't be read gives no notice and no clear; a hand at the head still
  raises the hand-on-head alert.
"""

from __future__ import annotations

import math
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from scripted import SETTINGS, Segment, run_script

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_accuracy as bench  # noqa: E402
from transforms import mirror, mirror_side  # noqa: E402

from coach.engine.core import EngineSettings  # noqa: E402
from coach.engine.exercises import Safety, get_exercise  # noqa: E402
from coach.engine.safety import NECK_RULE_IDS, Level, RuleInput, evaluate, rule_by_id  # noqa: E402
from coach.engine.verdict import HoldState  # noqa: E402

pytestmark = pytest.mark.xdist_group("neck_stretch")   # the recording's six runs are cached per worker

NAME, EXERCISE = "neck_side_bend__01", "neck_side_bend"
TILT = "neck_lateral_deg"
EX = get_exercise(EXERCISE)


# --- the shared recording ----------------------------------------------------------------------

@lru_cache(maxsize=None)
def _verdicts(landmarks_dir: Path, variant: str, mirrored: bool) -> tuple:
    frames = bench.load(landmarks_dir, variant, NAME)
    return tuple(bench.run_fixed(mirror(frames) if mirrored else frames, EXERCISE))


CASES = [pytest.param(v, m, id=f"{v}{'-mirrored' if m else ''}") for v in bench.VARIANTS for m in (False, True)]


def _front_spans(truth: dict, spans) -> list[tuple]:
    return [s for s in spans if bench.truth_view_at(truth, s[0]) == "front"]


@pytest.mark.parametrize("variant, mirrored", CASES)
def test_the_recording_times_its_front_view_hold_on_the_tilted_side(landmarks_dir, variant, mirrored):
    truth, verdicts = bench.truth_of(landmarks_dir, NAME), _verdicts(landmarks_dir, variant, mirrored)
    (hold,) = _front_spans(truth, bench.truth_holds(truth))
    dets = bench.detected_holds(list(verdicts), False, EngineSettings().grace_s)
    best = max((bench.tolerant_iou(d, hold) for d in dets), default=0.0)
    assert best >= bench.MIN_IOU, f"front-view hold {hold} not timed: detected {[d[:2] for d in dets]}"
    want = mirror_side("right") if mirrored else "right"   # the truth: ear toward the right shoulder
    assert {v.side for v in verdicts if v.holding} == {want}


@pytest.mark.parametrize("variant, mirrored", CASES)
def test_the_front_view_neck_interval_raises_a_neck_alert_and_holding_never_asks_to_ease(
        landmarks_dir, variant, mirrored):
    truth, verdicts = bench.truth_of(landmarks_dir, NAME), _verdicts(landmarks_dir, variant, mirrored)
    (a, b, *_), = _front_spans(truth, [n for n in truth["neck"] if n[3] == "alert"])
    inside = [v for v in verdicts if a <= v.t_s <= b]
    assert any(set(v.alert_ids) & set(NECK_RULE_IDS) for v in inside)
    holding = [v for v in verdicts if v.state == HoldState.HOLDING]
    assert holding and any("neck_stretch" in v.alert_ids for v in holding)   # the notice, while held
    for v in holding:
        asks = [a.message for a in v.alerts if a.measure == TILT or "ease" in a.message.lower()]
        assert not asks, f"holding at {v.t_s:.2f} s with {asks}"
        assert not [m.hint for m in v.measures if m.in_envelope and m.hint]


@pytest.mark.parametrize("variant, mirrored", CASES[:2])
def test_the_bench_counts_the_side_on_interval_as_unreadable(landmarks_dir, variant, mirrored):
    """The coach can't read a side tilt side-on (NaN or below high reliability on every frame of the
    second interval): the benchmark counts it apart, by the coach's own can't-judge."""
    truth, verdicts = bench.truth_of(landmarks_dir, NAME), list(_verdicts(landmarks_dir, variant, mirrored))
    s = bench.score(truth, verdicts, EX, 0.5, 1.0, variant=variant, mirrored=mirrored, name=NAME)
    assert (s.neck_hit, s.neck_n, s.neck_unreadable) == (1, 1, 1)
    assert "(+1 unreadable)" in bench.row_text(s)


def test_the_bench_counts_a_readable_interval_without_an_alert_as_a_miss(landmarks_dir):
    """The same rule does not excuse a view that reads the tilt: the front-view interval with every
    alert taken out is a miss, not unreadable."""
    from dataclasses import replace

    truth = bench.truth_of(landmarks_dir, NAME)
    verdicts = [replace(v, alerts=()) for v in _verdicts(landmarks_dir, "original", False)]
    s = bench.score(truth, verdicts, EX, 0.5, 1.0, variant="original", mirrored=False, name=NAME)
    assert (s.neck_hit, s.neck_n, s.neck_unreadable) == (0, 1, 1) and len(s.neck_missed) == 1


# --- scripted measures ---------------------------------------------------------------------------

def _front(duration_s: float, **values) -> Segment:
    return Segment(duration_s, values, view="front", posture="seated")


def _notice(value: float, safety: Safety = EX.safety, **inp) -> Level:
    rule = rule_by_id("neck_stretch")
    return evaluate((rule,), RuleInput(pose_seen=True, values={TILT: value}, **inp), safety)[rule.id].level


@pytest.mark.parametrize("tilt, expected", [
    pytest.param(-22.0, Level.VIOLATED, id="past neutral, inside the own limit: the notice"),
    pytest.param(12.0, Level.BETWEEN, id="back inside neutral, not by the hysteresis yet"),
    pytest.param(8.0, Level.CLEAR, id="back to the band's bottom"),
    pytest.param(-40.0, Level.BETWEEN, id="past the own limit: the caution speaks"),
    pytest.param(math.nan, Level.UNKNOWN, id="not read: can't judge"),
])
def test_the_neck_stretch_notice_reading(tilt, expected):
    assert _notice(tilt) == expected


def test_the_notice_does_not_judge_a_tilt_read_below_high_and_is_clear_where_the_tilt_caution_applies():
    assert _notice(-22.0, not_high=frozenset({TILT})) == Level.UNKNOWN
    assert _notice(-22.0, safety=Safety()) == Level.CLEAR   # other exercises: their own 15 deg caution fires


def test_past_the_own_limit_the_caution_fires_and_the_hold_stops_timing():
    run = run_script(EX, [_front(2.0, **{TILT: -22.0}), _front(1.5, **{TILT: -40.0}), _front(1.5, **{TILT: -22.0})])
    raised = {(k, r) for k, r, _ in run.alerts()}
    assert ("raised", "neck_stretch") in raised and ("raised", "neck_lateral") in raised
    assert ("cleared", "neck_lateral") in raised   # back inside the band: the caution clears
    cautioned = [v for v in run.verdicts if "neck_lateral" in v.alert_ids]
    assert cautioned and all(v.state != HoldState.HOLDING for v in cautioned)
    assert all(b.hold_s <= a.hold_s for a, b in zip(cautioned, cautioned[1:]))   # no hold time accrues
    before = [v for v in run.verdicts if v.t_s < 2.0]
    after = [v for v in run.verdicts if v.t_s >= 3.5]
    assert any(v.state == HoldState.HOLDING for v in before) and any(v.state == HoldState.HOLDING for v in after)
    assert not any("neck_lateral" in v.alert_ids for v in before)


def test_a_tilt_that_cannot_be_read_gives_no_notice_and_no_clear():
    unseen = run_script(EX, [_front(2.0, **{TILT: math.nan}, hand_head_left_sw=1.0)])
    assert not [a for a in unseen.alerts() if a[1] in ("neck_stretch", "neck_lateral")]
    stale_s = SETTINGS.alert_stale_s
    run = run_script(EX, [_front(2.0, **{TILT: -22.0}), _front(stale_s - 0.25, **{TILT: math.nan})])
    assert ("raised", "neck_stretch") in {(k, r) for k, r, _ in run.alerts()}
    assert not [a for a in run.alerts() if a[0] == "cleared" and a[1] == "neck_stretch"]
    assert "neck_stretch" in run.verdicts[-1].alert_ids   # unknown is no evidence: the notice stays


def test_a_hand_at_the_head_still_raises_the_hand_on_head_alert():
    run = run_script(EX, [_front(2.0, **{TILT: -22.0}, hand_head_right_sw=0.2)])
    assert "hand_on_head" in run.verdicts[-1].alert_ids
