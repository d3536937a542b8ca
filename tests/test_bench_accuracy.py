"""The accuracy benchmark's scoring (bench/bench_accuracy.py): its matching rule and spans, and that
it runs the engine exactly as `coach analyze --exercise ID` does."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import bench_accuracy as bench  # noqa: E402

from coach.session.analyze import AnalyzeOptions, analyze  # noqa: E402


@pytest.mark.parametrize("det,truth,iou", [
    pytest.param((1.0, 4.0), (1.0, 4.0), 1.0, id="the same"),
    pytest.param((0.5, 4.5), (1.0, 4.0), 1.0, id="wider only by the truth's 0.5 s"),
    pytest.param((1.5, 3.5), (1.0, 4.0), 2.0 / 3.0, id="inside, 2 of 3 s"),
    pytest.param((2.9, 4.0), (1.0, 4.0), 1.1 / 3.0, id="a late start (8.7 in bridge's 6.8-10.1)"),
    pytest.param((5.0, 6.0), (1.0, 4.0), 0.0, id="apart"),
    pytest.param((4.2, 6.0), (1.0, 4.0), 0.3 / 5.0, id="touching the truth's tolerance only"),
])
def test_tolerant_iou(det, truth, iou):
    assert bench.tolerant_iou(det, truth) == pytest.approx(iou)


def test_matching_is_one_to_one_best_first_and_by_label():
    truths = [(0.0, 4.0, "hold"), (10.0, 12.0, "cat")]
    dets = [(0.2, 1.9, "hold"), (0.3, 3.9, "hold"), (10.0, 12.0, "cow")]
    assert bench.match(truths, dets) == [(0, 1, pytest.approx(0.9))]


@pytest.mark.parametrize("matched,truth,detected,f1", [(0, 0, 0, 1.0), (1, 3, 6, 2 / 9), (2, 2, 2, 1.0), (0, 1, 0, 0.0)])
def test_f1(matched, truth, detected, f1):
    assert bench.f1(matched, truth, detected) == pytest.approx(f1)


def test_clean_spans_cut_out_neck_alert_and_wrong_form_intervals_only():
    truth = {"segments": [[0, 2, "rest"], [2, 10, "hold"], [10, 12, "move"], [12, 20, "hold"]],
             "neck": [[3, 4, "flexion", "alert"], [14, 15, "rotation", "optional"]],
             "wrong_form": [[18, 25, "arched"]]}
    assert bench.clean_spans(truth) == [(2, 3), (4, 10), (12, 18)]


def test_touching_truth_holds_are_one_hold():
    truth = {"segments": [[0, 2.9, "hold"], [2.9, 10, "hold"], [10, 11, "move"], [11, 12, "cat"]]}
    assert bench.truth_holds(truth) == [(0, 10, "hold"), (11, 12, "cat")]


def test_the_bench_runs_the_engine_as_coach_analyze_does(landmarks_dir, tmp_path):
    source = landmarks_dir / "cat_cow__01.jsonl.gz"
    analyze(source, tmp_path / "out", AnalyzeOptions(exercise="cat_cow", video=False))
    with open(tmp_path / "out" / "frames.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    verdicts = bench.run_fixed(bench.load(landmarks_dir, "original", "cat_cow__01"), "cat_cow")
    assert len(rows) == len(verdicts)
    assert [r["holding"] for r in rows] == [str(int(v.holding)) for v in verdicts]
    assert [r["alerts"] for r in rows] == [";".join(v.alert_ids) for v in verdicts]
    assert any(v.holding for v in verdicts)


def _verdict(t_s: float, holding: bool):
    from types import SimpleNamespace

    return SimpleNamespace(t_s=t_s, holding=holding, phase="hold", side=None, alert_ids=(), events=(), cant_judge=())


@pytest.mark.parametrize("holding_until_s, wrong_form_hold_s", [
    pytest.param(5.0, 0.0, id="a hold that stops before the wrong form: nothing counted"),
    pytest.param(9.0, 3.0, id="a hold timed on through the wrong form: its time there counted"),
])
def test_hold_time_inside_a_wrong_form_interval_is_counted(holding_until_s, wrong_form_hold_s):
    from coach.engine.exercises import get_exercise

    truth = {"segments": [[0, 10, "hold"]], "sides": "n/a", "neck": [], "wrong_form": [[6, 9, "arched"]],
             "view": [[0, 10, "side"]]}
    verdicts = [_verdict(i / 10, i / 10 < holding_until_s) for i in range(101)]
    s = bench.score(truth, verdicts, get_exercise("bridge"), 0.5, 1.0, variant="original", mirrored=False, name="x")
    assert s.wrong_form_s == pytest.approx(3.0)
    assert s.wrong_form_hold_s == pytest.approx(wrong_form_hold_s, abs=0.11)
    assert bench.totals([s])["wrong_form_hold_s"] == pytest.approx(s.wrong_form_hold_s)


def test_a_missed_hold_the_coach_could_not_judge_is_counted_apart(landmarks_dir):
    """The lite seated twist's second hold is read as a front view with the bent leg not face-on: the
    coach says "can't judge: only an estimate" throughout, and the benchmark counts that miss apart.
    The tracked cat-cow's cow is missed because the head keeps moving: a miss, not a can't-judge. The
    neck side bend's second hold, filmed side-on, is missed with the coach asking for another view."""
    twist = bench.bench_one(landmarks_dir, "lite", "seated_spinal_twist__01", False, None)
    assert twist.truth_n - twist.matched_n == 1 and twist.holds_cant_judge == 1
    assert "1 missed hold(s): can't judge" in bench.row_text(twist)
    cat_cow = bench.bench_one(landmarks_dir, "tracked", "cat_cow__01", False, None)
    assert cat_cow.truth_n - cat_cow.matched_n == 1 and cat_cow.holds_cant_judge == 0
    neck = bench.bench_one(landmarks_dir, "tracked", "neck_side_bend__01", False, None)
    assert neck.truth_n - neck.matched_n == 1 and neck.holds_cant_judge == 1
    tot = bench.totals([twist, cat_cow, neck])
    assert (tot["holds_missed"], tot["holds_cant_judge"]) == (3, 2)
    assert "missed 3 holds (2 saying can't judge)" in bench.totals_text("x", tot)


def test_auto_not_sure_is_counted_apart_from_right_and_wrong(landmarks_dir):
    """The lite model's bridge, whose lying posture it misreads for seconds (as prone, then upright),
    scores alike as a prone press-up there: "not sure", not a guess."""
    from coach.engine.exercises import load_library

    frames = bench.load(landmarks_dir, "lite", "bridge__01")
    named, _ = bench.auto_name(frames, list(load_library([]).values()))
    assert named == bench.NOT_SURE
    s = bench.Score("original", False, "x", auto=bench.NOT_SURE)
    assert bench.totals([s])["auto"] == {"right": 0, "wrong": 0, bench.NOT_SURE: 1}
