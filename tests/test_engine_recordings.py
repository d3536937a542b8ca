"""Every shared recording against its hand-made truth, through the live engine (causal smoothing).

How the comparison works (see ../shared/landmarks/FORMAT.md for the truth format):
- Truth holds are the `hold` segments (for cat-cow the `cat` / `cow` segments, one per phase).
  Neighbouring truth holds of the same kind that touch (a hold split by a camera cut) are one hold.
- Detected holds are the runs of frames where the engine says `holding` (in the envelope and still),
  labelled with the phase for multi-phase exercises; runs separated by no more than the grace
  window are one hold (a pause the engine resumed from).
- Each truth hold must be matched by the detected hold of the same label that overlaps it most,
  with start and end within 1 s; the total detected hold time must be within 15 % of the truth's.
- Where the truth names the side of a hold, the engine's working side while it detects that hold
  is the same (the person's own left / right).
- Every truth neck interval with `expect = alert` must raise a neck alert within 1 s of its start
  (or have one active already).
- No twist or neck alert may be raised inside a clean hold: a truth hold minus the neck intervals
  that expect an alert and the wrong-form intervals.
A check that cannot pass for a reason outside the engine is listed in EXCEPTIONS with the reason.
An excepted truth hold segment is left out before neighbours are joined (and its time is left out
of both totals). A test checks that every exception names a real part of a truth file AND is still
needed: when a change elsewhere makes an excepted check pass, remove the exception.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from coach.engine.core import Coach, EngineSettings
from coach.engine.exercises import get_exercise
from coach.engine.safety import NECK_RULE_IDS, TWIST_RULE_IDS
from coach.engine.verdict import EventKind, FrameVerdict
from coach.pose.recording import Recording
from coach.session.loop import ListSink, run_session

RECORDINGS = ("bridge__01", "cat_cow__01", "childs_pose__01", "neck_side_bend__01", "prone_extension__01",
              "seated_spinal_twist__01", "supine_twist__01")
HOLD_STATES = ("hold", "cat", "cow")
TOLERANCE_S, TOTAL_TOLERANCE = 1.0, 0.15
SETTINGS = EngineSettings()

# (recording, check, start_s) -> why the engine cannot pass it. check and start_s:
#   "hold"  the start of a truth hold segment as written in the truth file (before joining)
#   "neck"  the start of a truth neck interval;  "clean" the start of a (joined) truth hold
#   "total" 0.0: the recording's total hold time
EXCEPTIONS: dict[tuple[str, str, float], str] = {
    ("bridge__01", "hold", 6.8): "starts 1.9 s late (8.7): the measured hips keep rising to ~150 deg until 7.7 "
                                 "and dip to 113-117 at 7.2-7.4, so their net change over the 0.4 s window is "
                                 "20-70 deg/s beyond its noise until ~8.5; the view also reads front (can't "
                                 "judge) in 11 of the hold's 79 frames",
    ("bridge__01", "hold", 23.1): "starts 1.0 s late and runs 2.4 s long (24.1-27.7): the hips read 99-118 "
                                  "(outside the 120 band) at 23.2-23.5, and while lowering (25.3-27.0) and "
                                  "lying they read lift-like 130-170 in bursts that the grace window joins",
    ("bridge__01", "total", 0.0): "rest frames read as lifts: lying at 12.8-13.9 and 20.4-21.3 s the hips read "
                                  "116-167 deg and the trunk 108-124 deg, inside both bands, so 1.8 s of rest is "
                                  "detected as holding (the lift's own trunk reads 115-118: inclination alone "
                                  "does not separate them on this oblique view)",
    ("prone_extension__01", "hold", 10.05): "filmed from the front; prone_extension is judged side-on or "
                                            "oblique only (the coach says 'turn side-on to the camera')",
    ("neck_side_bend__01", "hold", 9.5): "filmed side-on; a side bend of the neck is in the frontal plane and "
                                         "neck_side_bend is judged from front/back/oblique only",
    ("neck_side_bend__01", "neck", 8.9): "filmed side-on: the tilt is not measurable (reads ~2 deg, low "
                                         "reliability) and no hand is on the head",
}


def truth_of(landmarks_dir: Path, name: str) -> dict:
    return json.loads((landmarks_dir / f"{name}.truth.json").read_text())


@lru_cache(maxsize=None)
def _run(path: str, exercise_id: str) -> tuple[FrameVerdict, ...]:
    sink = ListSink()
    run_session(((None, f) for f in Recording(path).frames()), get_exercise(exercise_id), [sink],
                coach_for=lambda exercise: Coach(exercise, settings=SETTINGS))
    return tuple(sink.verdicts)


def run(landmarks_dir: Path, name: str) -> tuple[FrameVerdict, ...]:
    return _run(str(landmarks_dir / f"{name}.jsonl.gz"), name.split("__")[0])


def truth_holds(truth: dict, skip: set[float] = frozenset()) -> list[tuple[float, float, str]]:
    """The truth's holds, touching neighbours of the same kind joined; segments starting at `skip` left out."""
    out: list[list] = []
    for a, b, state in truth["segments"]:
        if state not in HOLD_STATES or a in skip:
            continue
        if out and out[-1][2] == state and abs(out[-1][1] - a) < 1e-6:
            out[-1][1] = b
        else:
            out.append([a, b, state])
    return [tuple(s) for s in out]


def detected_holds(verdicts, multi_phase: bool, merge_s: float) -> list[tuple[float, float, str]]:
    out: list[list] = []
    for v in verdicts:
        if not v.holding:
            continue
        label = v.phase if multi_phase else "hold"
        if out and out[-1][2] == label and v.t_s - out[-1][1] <= merge_s + 1e-6:
            out[-1][1] = v.t_s
        else:
            out.append([v.t_s, v.t_s, label])
    return [tuple(s) for s in out]


def overlap(a: tuple, b: tuple) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def best_match(truth_seg: tuple, detected: list[tuple]) -> tuple | None:
    same = [d for d in detected if d[2] == truth_seg[2] and overlap(d, truth_seg) > 0]
    return max(same, key=lambda d: overlap(d, truth_seg)) if same else None


def excepted(name: str, check: str, exceptions: dict) -> set[float]:
    return {start for (n, c, start) in exceptions if n == name and c == check}


def hold_report(landmarks_dir: Path, name: str, exceptions: dict = EXCEPTIONS) -> dict:
    """Each kept truth hold with its detected match and (start, end) errors, and both totals."""
    truth, verdicts = truth_of(landmarks_dir, name), run(landmarks_dir, name)
    multi = len(get_exercise(name.split("__")[0]).phases) > 1
    detected = detected_holds(verdicts, multi, SETTINGS.grace_s)
    skip = excepted(name, "hold", exceptions)
    left_out = [(a, b) for a, b, state in truth["segments"] if a in skip and state in HOLD_STATES]
    rows = []
    for seg in truth_holds(truth, skip):
        match = best_match(seg, detected)
        rows.append({"truth": seg, "detected": match,
                     "errors_s": None if match is None else (match[0] - seg[0], match[1] - seg[1])})
    detected_total = sum(d[1] - d[0] - sum(overlap(d, x) for x in left_out) for d in detected)
    truth_total = sum(r["truth"][1] - r["truth"][0] for r in rows)
    return {"rows": rows, "detected_total_s": detected_total, "truth_total_s": truth_total}


def hold_failures(landmarks_dir: Path, name: str, exceptions: dict = EXCEPTIONS) -> list[str]:
    report, failures = hold_report(landmarks_dir, name, exceptions), []
    for row in report["rows"]:
        errors = row["errors_s"]
        if errors is None or max(abs(errors[0]), abs(errors[1])) > TOLERANCE_S:
            failures.append(f"truth hold {row['truth']}: detected {row['detected']}, errors {errors}")
    truth_total, detected_total = report["truth_total_s"], report["detected_total_s"]
    if truth_total > 0 and abs(detected_total - truth_total) > TOTAL_TOLERANCE * truth_total \
            and (name, "total", 0.0) not in exceptions:
        failures.append(f"total hold {detected_total:.2f} s against {truth_total:.2f} s")
    return failures


def alert_events(verdicts) -> list[tuple[str, float]]:
    return [(e.details["rule"], e.t_s) for v in verdicts for e in v.events if e.kind == EventKind.ALERT_RAISED]


def neck_latencies(landmarks_dir: Path, name: str) -> list[tuple[tuple, float | None]]:
    """(truth interval, seconds from its start to a neck alert - 0 when one is active already)."""
    truth, verdicts = truth_of(landmarks_dir, name), run(landmarks_dir, name)
    raised = [(r, t) for r, t in alert_events(verdicts) if r in NECK_RULE_IDS]
    out = []
    for a, b, kind, expect in truth["neck"]:
        if expect != "alert":
            continue
        before = [v for v in verdicts if v.t_s <= a]
        active = bool(before and set(before[-1].alert_ids) & set(NECK_RULE_IDS))
        hits = [t - a for r, t in raised if a <= t <= b]
        out.append(((a, b, kind), 0.0 if active else (min(hits) if hits else None)))
    return out


def clean_hold_alerts(landmarks_dir: Path, name: str) -> list[tuple[float, str, float]]:
    """(truth hold start, rule, time) for every twist or neck alert raised inside a clean hold."""
    truth, verdicts = truth_of(landmarks_dir, name), run(landmarks_dir, name)
    dirty = [(a, b) for a, b, _, expect in truth["neck"] if expect == "alert"]
    dirty += [tuple(w[:2]) for w in truth.get("wrong_form", [])]
    out = []
    for rule, t in alert_events(verdicts):
        if rule not in NECK_RULE_IDS + TWIST_RULE_IDS or any(a <= t <= b for a, b in dirty):
            continue
        out += [(seg[0], rule, t) for seg in truth_holds(truth) if seg[0] <= t <= seg[1]]
    return out


# --- the tests -------------------------------------------------------------------------------------

def test_the_list_covers_every_shared_recording(landmarks_dir):
    assert tuple(sorted(p.name.removesuffix(".truth.json") for p in landmarks_dir.glob("*.truth.json"))) == RECORDINGS


def test_every_exception_names_a_real_part_of_a_truth_file_and_is_still_needed(landmarks_dir):
    for key, reason in EXCEPTIONS.items():
        name, check, start_s = key
        truth = truth_of(landmarks_dir, name)
        starts = {"hold": [a for a, _, s in truth["segments"] if s in HOLD_STATES], "total": [0.0],
                  "neck": [a for a, *_ in truth["neck"]], "clean": [s[0] for s in truth_holds(truth)]}[check]
        assert start_s in starts and reason, key
        without = {k: v for k, v in EXCEPTIONS.items() if k != key}
        if check in ("hold", "total"):
            still_fails = bool(hold_failures(landmarks_dir, name, without))
        elif check == "neck":
            still_fails = any(i[0] == start_s and (t is None or t > TOLERANCE_S)
                              for i, t in neck_latencies(landmarks_dir, name))
        else:
            still_fails = any(s == start_s for s, _, _ in clean_hold_alerts(landmarks_dir, name))
        assert still_fails, f"{key} passes now: remove it from EXCEPTIONS"


@pytest.mark.parametrize("name", RECORDINGS)
def test_detected_holds_match_the_truth(landmarks_dir, name):
    assert hold_failures(landmarks_dir, name) == []


@pytest.mark.parametrize("name", RECORDINGS)
def test_working_side_matches_the_truth(landmarks_dir, name):
    truth, verdicts = truth_of(landmarks_dir, name), run(landmarks_dir, name)
    if truth["sides"] == "n/a":
        assert all(v.side is None for v in verdicts)
        return
    for a, b, side in truth["sides"]:
        if (name, "hold", a) in EXCEPTIONS:
            continue
        seen = {v.side for v in verdicts if a <= v.t_s <= b and v.holding}
        assert seen == {side}, (name, a, b, side, seen)


@pytest.mark.parametrize("name", RECORDINGS)
def test_neck_intervals_raise_a_neck_alert_within_1_s(landmarks_dir, name):
    for (a, b, kind), latency in neck_latencies(landmarks_dir, name):
        if (name, "neck", a) in EXCEPTIONS:
            continue
        assert latency is not None and latency <= TOLERANCE_S, (name, a, b, kind, latency)


@pytest.mark.parametrize("name", RECORDINGS)
def test_no_twist_or_neck_alert_on_clean_holds(landmarks_dir, name):
    bad = [x for x in clean_hold_alerts(landmarks_dir, name) if (name, "clean", x[0]) not in EXCEPTIONS]
    assert bad == [], f"{name}: alerts raised in clean holds (hold start, rule, time): {bad}"


@pytest.mark.parametrize("name", ["childs_pose__01", "supine_twist__01"])
def test_the_session_loop_with_default_settings_finds_the_same_long_holds(landmarks_dir, name):
    sink = ListSink()
    run_session(((None, f) for f in Recording(landmarks_dir / f"{name}.jsonl.gz").frames()),
                get_exercise(name.split("__")[0]), [sink])
    verdicts = sink.verdicts
    detected = detected_holds(verdicts, False, SETTINGS.grace_s)
    for seg in truth_holds(truth_of(landmarks_dir, name)):
        match = best_match(seg, detected)
        assert match is not None and abs(match[0] - seg[0]) <= TOLERANCE_S and abs(match[1] - seg[1]) <= TOLERANCE_S
