"""Every shared recording against its hand-made truth, through the live engine (causal smoothing),
in each of the three ways the same videos were recorded (../shared/landmarks/INDEX.md):
`original` (full model, 2 poses looked for: MediaPipe re-detects every frame), `tracked` (full
model, 1 pose tracked from frame to frame) and `lite` (lite model, 1 tracked pose). The truth
files apply to all three. Test ids read `RECORDING-VARIANT`, e.g. `bridge__01-tracked`.

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
A check that cannot pass for a reason outside the engine (or not yet: the neck intervals wait for
the engine issue after the one that added the variants) is listed in EXCEPTIONS for its recording
AND variant, with the measured reason. An excepted truth hold segment is left out before
neighbours are joined (and its time is left out of both totals). Each exception is also a strict
xfail row of `test_the_excepted_check_passes_without_its_exception`: while the check still fails
without it the row is XFAIL (with the reason); when a change makes the check pass it turns
XPASS(strict), a failure - remove the exception then.

CI time: one engine pass per (recording, variant), 21 in all, shared by every test here through
the module-scoped `runs` fixture. Measured on the 2-core development machine (shared with other
work): this module took 12.7 s with the originals only and 26 s with the three variants.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_accuracy as bench  # noqa: E402  (the benchmark's hold finder: one rule for both)

from coach.engine.core import Coach, EngineSettings
from coach.engine.exercises import get_exercise
from coach.engine.safety import NECK_RULE_IDS, TWIST_RULE_IDS
from coach.engine.verdict import EventKind, FrameVerdict
from coach.pose.recording import Recording
from coach.session.loop import ListSink, run_session

# one worker runs this module (pytest -n 2 --dist loadgroup): its module fixtures are computed once
pytestmark = pytest.mark.xdist_group("engine_recordings")

RECORDINGS = ("bridge__01", "cat_cow__01", "childs_pose__01", "neck_side_bend__01", "prone_extension__01",
              "seated_spinal_twist__01", "supine_twist__01")
# variant -> its folder under ../shared/landmarks
VARIANTS = {"original": ".", "tracked": "tracked", "lite": "lite"}
CASES = [pytest.param(name, variant, id=f"{name}-{variant}") for name in RECORDINGS for variant in VARIANTS]
HOLD_STATES = ("hold", "cat", "cow")
TOLERANCE_S, TOTAL_TOLERANCE = 1.0, 0.15
SETTINGS = EngineSettings()

# (recording, variant, check, start_s) -> why the engine cannot pass it. check and start_s:
#   "hold"  the start of a truth hold segment as written in the truth file (before joining)
#   "neck"  the start of a truth neck interval;  "clean" the start of a (joined) truth hold
#   "side"  the start of a truth `sides` entry;  "total" 0.0: the recording's total hold time
# Angles in degrees; "still" = a net change (EngineSettings.still_*) below 15 deg/s.
_SIDE_ON_NECK_HOLD = ("filmed side-on; a side bend of the neck is in the frontal plane and neck_side_bend is "
                      "judged from front/back/oblique only")
_SIDE_ON_NECK_TILT = ("filmed side-on (the view reads side in all 408 frames of 8.9-15.7 s): the side tilt is not "
                      "measured from the side (neck_lateral_deg NaN throughout) and no hand is on the head")

EXCEPTIONS: dict[tuple[str, str, str, float], str] = {
    # --- original: full model, 2 poses, re-detected every frame ---
    ("bridge__01", "original", "hold", 6.8):
        "starts 1.5 s late (8.3): the measured hips keep rising to ~150 deg until 7.7 and dip to 113-117 at "
        "7.2-7.4, so their net change over the 0.4 s window is 20-70 deg/s beyond its noise until ~8.3 (the "
        "stable view is side or oblique throughout, where 11 of the hold's 79 frames read front one by one)",
    ("bridge__01", "original", "hold", 23.1):
        "starts 1.0 s late and runs 2.4 s long (24.1-27.7): the hips read 99-118 (outside the 120 band) at "
        "23.2-23.5, and while lowering (25.3-27.0) and lying they read lift-like 130-170 in bursts that the "
        "grace window joins",
    ("bridge__01", "original", "hold", 15.6):
        "starts 2.5 s early (13.05): the rest read as a lift at 13.05-13.85 (lying, the hips read 116-167 deg "
        "and the trunk 108-124, inside both bands) and a one-frame "
        "hold at 14.76 are each within the 1 s grace window of the next, so they join the lift held from "
        "15.72: one hold 13.05-18.52",
    ("prone_extension__01", "original", "clean", 0.0):
        "neck_extension raised at 10.53 s: the camera cuts from oblique to front at 10.05 and the stable view "
        "follows 0.55 s later (10.6, the context's 0.6 s of a 1 s window: coach.engine.context); meanwhile the "
        "front view's neck reading, -47 deg against the 45 limit from 10.23 on, is judged at the oblique "
        "view's medium reliability, long enough for the rule's 0.3 s dwell",
    ("seated_spinal_twist__01", "original", "hold", 4.4):
        "starts 1.7 s late (6.12): the view is front (the chest turned to the camera), where the bent-up knee, "
        "the anchor, is judged only while its leg reads face-on (coach.measure.measures.limb_plane_deg); its "
        "plane reads 34-40 deg from the image plane (medians per 0.4 s) until 5.2 s, past the 30 deg bound, "
        "and 27-28 from 5.2 s, where the stable context's 0.6 s majority takes it at 5.8 s",
    ("seated_spinal_twist__01", "original", "total", 0.0):
        "the first hold, timed late (above), runs 0.57 s past its truth end (7.87 against 7.3), which the "
        "total counts against the second hold alone (3.15 s)",
    ("neck_side_bend__01", "original", "hold", 9.5): _SIDE_ON_NECK_HOLD,
    ("neck_side_bend__01", "original", "neck", 8.9): _SIDE_ON_NECK_TILT,
    # --- tracked: full model, 1 pose tracked (steadier landmarks) ---
    ("cat_cow__01", "tracked", "hold", 5.2):
        "cow not detected: the head keeps extending through the whole 1 s cow (neck flexion -25 -> -42 deg "
        "over 5.2-6.17), a net change of median 19 deg/s (still in 17% of frames, never for the 0.2 s "
        "settle), so the phase never changes to cow; the original's jittery re-detections widen the slope's "
        "error and read median 14.5 deg/s (still in 55%)",
    ("neck_side_bend__01", "tracked", "hold", 9.5): _SIDE_ON_NECK_HOLD,
    ("neck_side_bend__01", "tracked", "neck", 8.9): _SIDE_ON_NECK_TILT,
    ("prone_extension__01", "tracked", "clean", 0.0):
        "neck_extension raised at 3.6 s: on the oblique part of the hold (2.9-10.05 s) the tracked landmarks "
        "put the head further back, neck extension median 44.6 deg and beyond the 45 limit in over 10% of "
        "frames (up to 47), where the original reads median 31.2 (up to 37.5) on the same video",
    ("seated_spinal_twist__01", "tracked", "total", 0.0):
        "the second hold's early start (below: 1.5 s) counts against the first hold alone (2.9 s)",
    ("seated_spinal_twist__01", "tracked", "hold", 13.5):
        "starts 1.5 s early (12.0): turning into the second hold (truth move 9.7-13.5) the trunk-rotation "
        "estimate is already in its band (8-29 deg, min 10 with 5 hysteresis) and the turn reads still for "
        "moments (12.00-12.06, 12.23-12.25, 13.05-13.11 s), which the 1 s grace window joins to the hold "
        "from 13.45",
    # --- lite: lite model, 1 tracked pose (noisier angles) ---
    ("bridge__01", "lite", "hold", 15.6):
        "not detected: the lite model reads the lifted hips at 87-126 deg (median 116 left / 119 right), "
        "below the 120 band in 34 of the hold's 57 frames, where the full model reads 140-163 (original "
        "median 140 / 156, tracked 163 / 150); in the envelope 20 frames, never still for the settle",
    ("cat_cow__01", "lite", "hold", 5.2):
        "cow not detected: the head keeps extending through the whole 1 s cow (neck flexion -21 -> -38 deg "
        "over 5.2-6.17), a net change of median 20 deg/s (still in 24% of frames, never for the 0.2 s "
        "settle), so the phase never changes to cow (see the tracked row)",
    ("neck_side_bend__01", "lite", "hold", 9.5): _SIDE_ON_NECK_HOLD,
    ("neck_side_bend__01", "lite", "neck", 8.9): _SIDE_ON_NECK_TILT,
    ("prone_extension__01", "lite", "clean", 0.0):
        "neck_extension raised at 6.6 s: on the oblique part of the hold (2.9-10.05 s) the lite landmarks put "
        "the head further back, neck extension median 43.4 deg and beyond the 45 limit in over 10% of frames "
        "(up to 52), where the original reads median 31.2 (up to 37.5) on the same video",
    ("seated_spinal_twist__01", "lite", "total", 0.0):
        "the first hold, timed from 4.37 s, runs 0.61 s past its truth end (7.91 against 7.3, within the 1 s "
        "a hold's end may differ), 21 % of that 2.9 s hold; the second is excepted (below)",
    ("seated_spinal_twist__01", "lite", "hold", 13.5):
        "not timed: the lite landmarks read this hold as a front view in all of its frames (186 of 186; the "
        "full model reads it oblique), and its bent leg not face-on (lite's flatter depth), so only the twist "
        "estimate is judged: \"can't judge: only an estimate\"",
}


class Runs:
    """The engine's verdicts per (recording, variant), each computed once and kept for the module."""

    def __init__(self, landmarks_dir: Path):
        self.landmarks_dir = landmarks_dir
        self._verdicts: dict[tuple[str, str], tuple[FrameVerdict, ...]] = {}

    def folder(self, variant: str) -> Path:
        return (self.landmarks_dir / VARIANTS[variant]).resolve()

    def truth(self, name: str, variant: str) -> dict:
        return json.loads((self.folder(variant) / f"{name}.truth.json").read_text())

    def verdicts(self, name: str, variant: str) -> tuple[FrameVerdict, ...]:
        key = (name, variant)
        if key not in self._verdicts:
            sink = ListSink()
            frames = Recording(self.folder(variant) / f"{name}.jsonl.gz").frames()
            run_session(((None, f) for f in frames), get_exercise(exercise_of(name)), [sink],
                        coach_for=lambda exercise: Coach(exercise, settings=SETTINGS))
            self._verdicts[key] = tuple(sink.verdicts)
        return self._verdicts[key]


@pytest.fixture(scope="module")
def runs(landmarks_dir) -> Runs:
    return Runs(landmarks_dir)


def exercise_of(name: str) -> str:
    return name.split("__")[0]


def detected_holds(verdicts, multi_phase: bool, merge_s: float) -> list[tuple[float, float, str]]:
    """(start_s, end_s, label) of the holds, found as the accuracy benchmark finds them (one rule)."""
    return [(a, b, label) for a, b, label, _ in bench.detected_holds(verdicts, multi_phase, merge_s)]


def overlap(a: tuple, b: tuple) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def best_match(truth_seg: tuple, detected: list[tuple]) -> tuple | None:
    same = [d for d in detected if d[2] == truth_seg[2] and overlap(d, truth_seg) > 0]
    return max(same, key=lambda d: overlap(d, truth_seg)) if same else None


def excepted(name: str, variant: str, check: str, exceptions: dict) -> set[float]:
    return {start for (n, v, c, start) in exceptions if (n, v, c) == (name, variant, check)}


def hold_report(runs: Runs, name: str, variant: str, exceptions: dict = EXCEPTIONS) -> dict:
    """Each kept truth hold with its detected match and (start, end) errors, and both totals."""
    truth, verdicts = runs.truth(name, variant), runs.verdicts(name, variant)
    multi = len(get_exercise(exercise_of(name)).phases) > 1
    detected = detected_holds(verdicts, multi, SETTINGS.grace_s)
    skip = excepted(name, variant, "hold", exceptions)
    left_out = [(a, b) for a, b, state in truth["segments"] if a in skip and state in HOLD_STATES]
    rows = []
    for seg in bench.truth_holds(truth, skip):
        match = best_match(seg, detected)
        rows.append({"truth": seg, "detected": match,
                     "errors_s": None if match is None else (match[0] - seg[0], match[1] - seg[1])})
    detected_total = sum(d[1] - d[0] - sum(overlap(d, x) for x in left_out) for d in detected)
    truth_total = sum(r["truth"][1] - r["truth"][0] for r in rows)
    return {"rows": rows, "detected_total_s": detected_total, "truth_total_s": truth_total}


def hold_failures(runs: Runs, name: str, variant: str, exceptions: dict = EXCEPTIONS) -> list[str]:
    report, failures = hold_report(runs, name, variant, exceptions), []
    for row in report["rows"]:
        errors = row["errors_s"]
        if errors is None or max(abs(errors[0]), abs(errors[1])) > TOLERANCE_S:
            failures.append(f"truth hold {row['truth']}: detected {row['detected']}, errors {errors}")
    truth_total, detected_total = report["truth_total_s"], report["detected_total_s"]
    if truth_total > 0 and abs(detected_total - truth_total) > TOTAL_TOLERANCE * truth_total \
            and (name, variant, "total", 0.0) not in exceptions:
        failures.append(f"total hold {detected_total:.2f} s against {truth_total:.2f} s")
    return failures


def side_failures(runs: Runs, name: str, variant: str, exceptions: dict = EXCEPTIONS) -> list[tuple]:
    """(start, end, truth side, sides seen while holding) for each truth side the engine misses; a
    side whose hold is excepted is not judged (no detected hold to read it from)."""
    truth, verdicts = runs.truth(name, variant), runs.verdicts(name, variant)
    if truth["sides"] == "n/a":
        return [] if all(v.side is None for v in verdicts) else [("n/a", {v.side for v in verdicts})]
    skip = excepted(name, variant, "hold", exceptions) | excepted(name, variant, "side", exceptions)
    out = []
    for a, b, side in truth["sides"]:
        seen = {v.side for v in verdicts if a <= v.t_s <= b and v.holding}
        if a not in skip and seen != {side}:
            out.append((a, b, side, seen))
    return out


def alert_events(verdicts) -> list[tuple[str, float]]:
    return [(e.details["rule"], e.t_s) for v in verdicts for e in v.events if e.kind == EventKind.ALERT_RAISED]


def neck_latencies(runs: Runs, name: str, variant: str) -> list[tuple[tuple, float | None]]:
    """(truth interval, seconds from its start to a neck alert - 0 when one is active already)."""
    truth, verdicts = runs.truth(name, variant), runs.verdicts(name, variant)
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


def late_neck_alerts(runs: Runs, name: str, variant: str, exceptions: dict = EXCEPTIONS) -> list[tuple]:
    return [(i, t) for i, t in neck_latencies(runs, name, variant)
            if i[0] not in excepted(name, variant, "neck", exceptions) and (t is None or t > TOLERANCE_S)]


def clean_hold_alerts(runs: Runs, name: str, variant: str, exceptions: dict = EXCEPTIONS) -> list[tuple]:
    """(truth hold start, rule, time) for every twist or neck alert raised inside a clean hold."""
    truth, verdicts = runs.truth(name, variant), runs.verdicts(name, variant)
    dirty = [(a, b) for a, b, _, expect in truth["neck"] if expect == "alert"]
    dirty += [tuple(w[:2]) for w in truth.get("wrong_form", [])]
    skip = excepted(name, variant, "clean", exceptions)
    out = []
    for rule, t in alert_events(verdicts):
        if rule not in NECK_RULE_IDS + TWIST_RULE_IDS or any(a <= t <= b for a, b in dirty):
            continue
        out += [(seg[0], rule, t) for seg in bench.truth_holds(truth) if seg[0] <= t <= seg[1] and seg[0] not in skip]
    return out


CHECKS = {"hold": hold_failures, "total": hold_failures, "side": side_failures, "neck": late_neck_alerts,
          "clean": clean_hold_alerts}


def exception_param(key: tuple, reason: str):
    """A strict xfail row: XFAIL while the check fails without the exception, a failure once it passes."""
    return pytest.param(key, id="-".join(str(k) for k in key),
                        marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))


# --- the tests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", VARIANTS)
def test_the_list_covers_every_shared_recording(runs, variant):
    found = sorted(p.name.removesuffix(".truth.json") for p in runs.folder(variant).glob("*.truth.json"))
    assert tuple(found) == RECORDINGS


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_truth_files_are_the_same_in_every_variant(runs, variant):
    """The variants are the same videos: one truth applies to all, so one exception list reads them all."""
    assert [runs.truth(name, variant) for name in RECORDINGS] == [runs.truth(name, "original") for name in RECORDINGS]


@pytest.mark.parametrize("key", [pytest.param(k, id="-".join(map(str, k))) for k in EXCEPTIONS])
def test_every_exception_names_a_real_part_of_a_truth_file(runs, key):
    name, variant, check, start_s = key
    truth = runs.truth(name, variant)
    starts = {"hold": [a for a, _, s in truth["segments"] if s in HOLD_STATES], "total": [0.0],
              "side": [a for a, *_ in truth["sides"]] if truth["sides"] != "n/a" else [],
              "neck": [a for a, *_ in truth["neck"]], "clean": [s[0] for s in bench.truth_holds(truth)]}[check]
    assert start_s in starts and EXCEPTIONS[key].strip()


@pytest.mark.parametrize("key", [exception_param(k, r) for k, r in EXCEPTIONS.items()])
def test_the_excepted_check_passes_without_its_exception(runs, key):
    """Strict xfail: this row failing (XFAIL) is the exception still being needed."""
    name, variant, check, _ = key
    without = {k: v for k, v in EXCEPTIONS.items() if k != key}
    assert CHECKS[check](runs, name, variant, without) == [], f"{key} passes now: remove it from EXCEPTIONS"


@pytest.mark.parametrize("name,variant", CASES)
def test_detected_holds_match_the_truth(runs, name, variant):
    assert hold_failures(runs, name, variant) == []


@pytest.mark.parametrize("name,variant", CASES)
def test_working_side_matches_the_truth(runs, name, variant):
    assert side_failures(runs, name, variant) == []


@pytest.mark.parametrize("name,variant", CASES)
def test_neck_intervals_raise_a_neck_alert_within_1_s(runs, name, variant):
    assert late_neck_alerts(runs, name, variant) == [], "(truth interval, latency s)"


@pytest.mark.parametrize("name,variant", CASES)
def test_no_twist_or_neck_alert_on_clean_holds(runs, name, variant):
    bad = clean_hold_alerts(runs, name, variant)
    assert bad == [], f"{name} {variant}: alerts raised in clean holds (hold start, rule, time): {bad}"


@pytest.mark.parametrize("name", ["childs_pose__01", "supine_twist__01"])
def test_the_session_loop_with_default_settings_finds_the_same_long_holds(runs, name):
    sink = ListSink()
    run_session(((None, f) for f in Recording(runs.folder("original") / f"{name}.jsonl.gz").frames()),
                get_exercise(exercise_of(name)), [sink])
    verdicts = sink.verdicts
    detected = detected_holds(verdicts, False, SETTINGS.grace_s)
    for seg in bench.truth_holds(runs.truth(name, "original")):
        match = best_match(seg, detected)
        assert match is not None and abs(match[0] - seg[0]) <= TOLERANCE_S and abs(match[1] - seg[1]) <= TOLERANCE_S
