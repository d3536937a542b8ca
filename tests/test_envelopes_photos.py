"""The exercise envelopes against real people: the shared photos through the real model.

Each photo goes through `coach.pose.detector` (full model, image mode) and `coach.measure.measures`, then through
`coach.engine.envelope.in_envelope` for every exercise (every phase; the side from the exercise's own
`side_from` rule). A photo is ACCEPTED by an exercise when some phase says inside = True.

- every `stretch` photo is inside its own exercise's envelope (EXCEPTIONS lists the ones that are
  not, each with its reason), and no `start` photo is;
- over all photos x all exercises at most 10% of the negatives are accepted; photos of stretches
  with no exercise of their own (NO_EXERCISE) are negatives for every exercise;
- every `neck_involved=yes` photo raises a neck rule of `coach.engine.safety` (neck angles or a hand at the
  head), and no `neck_involved=no` photo does;
- every band of a photo's own exercise that could not be judged from the photo's view, or was
  judged only on a low-reliability estimate, is written down in LOW_RELIABILITY_CASES.
Run with `-s` to see the confusion table.
"""

from __future__ import annotations

import pytest

from coach.engine.envelope import ESTIMATE_ONLY, SIDE_UNKNOWN, EnvelopeResult, detect_side, in_envelope
from coach.engine.envelope import LOW_RELIABILITY as LOW
from coach.engine.exercises import Exercise, Safety, load_library

pytestmark = pytest.mark.model

# Photo label (and, for knee_to_chest, the variant in the file name) -> the exercise id it shows.
VARIANTS = {"Hug_Knees_To_Chest": "knee_to_chest", "One_Knee_To_Chest": "knee_to_chest_single"}
NO_EXERCISE = {"neck_flexion", "neck_side_bend", "chair_side_bend"}  # negatives for every exercise
# (neck_side_bend has a warn-only exercise file for the recording; its photos still count as negatives)

EXCEPTIONS = {  # stretch photos NOT inside their own envelope, and why
    "bridge__Butt_Lift_Bridge__0.jpg":
        "a partial lift: the trunk is 2 deg past horizontal (92 deg) where the start photo lying flat reads "
        "89; the coach says 'lift your hips higher' - so would a physiotherapist",
    "seated_spinal_twist__Dancers_Stretch__0.jpg":
        "low reliability: filmed side-on, the twist estimate reads about -2 deg for a visibly turned trunk; "
        "sitting tall and the bent knee are judged inside, the twist is reported as a low-reliability estimate",
    "seated_spinal_twist__Dancers_Stretch__1.jpg":
        "only an estimate: the chest turned to the camera reads a front view, where sitting tall, the bent "
        "knee and the hip are low reliability; the twist estimate alone may not carry the pose in (issue 13: "
        "the anchor, the bent knee, must be read at medium or better), so the verdict is 'can't judge'",
    "chair_rotation__Spinal_Stretch__1.jpg":
        "low reliability: the twist estimate reads about -2 deg, so the side (from the twist's sign) cannot "
        "be told and the verdict is 'can't judge'; the photo also bends sideways with both hands pulling "
        "behind the head, which the neck rule flags (neck_involved=yes)",
}

# Bands of the photo's own exercise that read "low reliability", were judged on a low-reliability
# estimate ("estimate"), or could not be judged because the side comes from a low-reliability sign.
LOW_RELIABILITY_CASES = {
    "chair_rotation__Spinal_Stretch__0.jpg": {"trunk_rotation_deg": SIDE_UNKNOWN, "trunk_lateral_deg": SIDE_UNKNOWN},
    "chair_rotation__Spinal_Stretch__1.jpg": {"trunk_rotation_deg": SIDE_UNKNOWN, "trunk_lateral_deg": SIDE_UNKNOWN},
    "seated_spinal_twist__Dancers_Stretch__0.jpg": {"trunk_rotation_deg": "estimate"},
    "seated_spinal_twist__Dancers_Stretch__1.jpg": {  # the chest turned to the camera: the view reads front
        "trunk_inclination_deg": LOW, "knee_left_deg": LOW, "hip_left_deg": LOW, "trunk_rotation_deg": "estimate"},
    "standing_rotation__Middle_Back_Stretch__0.jpg": {"trunk_rotation_deg": SIDE_UNKNOWN,
                                                      "trunk_lateral_deg": SIDE_UNKNOWN},
    "standing_rotation__Middle_Back_Stretch__1.jpg": {"trunk_rotation_deg": "estimate"},  # back to the camera
    "supine_twist__Knee_Across_The_Body__0.jpg": {  # legs together: no side; far hip unseen
        "hip_{other}_deg": SIDE_UNKNOWN, "hip_{side}_deg": SIDE_UNKNOWN, "trunk_rotation_deg": SIDE_UNKNOWN},
    "supine_twist__Knee_Across_The_Body__1.jpg": {"trunk_rotation_deg": "estimate"},
}
MAX_FALSE_ACCEPT = 0.10


def own_exercise(row: dict) -> str | None:
    if row["stretch"] in NO_EXERCISE:
        return None
    for variant, exercise_id in VARIANTS.items():
        if variant in row["file"]:
            return exercise_id
    return row["stretch"]


@pytest.fixture(scope="module")
def library() -> dict[str, Exercise]:
    return load_library()


@pytest.fixture(scope="module")
def photo_measures(photo_poses, model_path):
    from coach.measure.measures import compute_measures

    return {name: compute_measures(poses.pose, poses.others) for name, poses in photo_poses("full").items()}


def verdicts(exercise: Exercise, measures) -> list[EnvelopeResult]:
    side = detect_side(exercise, measures)
    return [in_envelope(exercise, measures, i, side) for i in range(len(exercise.phases))]


def accepted(exercise: Exercise, measures) -> bool:
    return any(r.inside for r in verdicts(exercise, measures))


def own_result(exercise: Exercise, measures) -> EnvelopeResult:
    """The phase the photo is inside (cat for a cat photo), else the first phase."""
    results = verdicts(exercise, measures)
    return next((r for r in results if r.inside), results[0])


def test_every_photo_label_maps_to_an_exercise_or_is_a_known_negative(photo_labels, library):
    for row in photo_labels:
        assert own_exercise(row) in library or row["stretch"] in NO_EXERCISE, row["file"]
    assert {own_exercise(r) for r in photo_labels} >= {"knee_to_chest", "knee_to_chest_single", "prone_extension"}


def test_every_stretch_photo_is_inside_its_own_envelope(photo_labels, photo_measures, library):
    inside, outside = [], {}
    for row in photo_labels:
        exercise_id = own_exercise(row)
        if row["position"] != "stretch" or exercise_id is None:
            continue
        result = own_result(library[exercise_id], photo_measures[row["file"]])
        (inside.append(row["file"]) if result.inside else outside.setdefault(row["file"], result))
    assert set(outside) == set(EXCEPTIONS), {f: (r.inside, r.hints, r.unjudged) for f, r in outside.items()}
    assert len(inside) >= 12
    assert outside["bridge__Butt_Lift_Bridge__0.jpg"].hints == ["lift your hips higher"]
    assert outside["chair_rotation__Spinal_Stretch__1.jpg"].inside is None   # can't judge, not "wrong"


def test_no_start_photo_is_inside_its_own_envelope(photo_labels, photo_measures, library):
    starts = [r for r in photo_labels if r["position"] == "start" and own_exercise(r) is not None]
    assert len(starts) >= 6
    for row in starts:
        assert not accepted(library[own_exercise(row)], photo_measures[row["file"]]), row["file"]


def confusion(photo_labels, photo_measures, library) -> tuple[list[str], int, int]:
    """Rows of the table ('*' marks a positive cell), false accepts, negatives."""
    ids = sorted(library)
    lines, false_accepts, negatives = ["photo".ljust(44) + " ".join(i[:6].rjust(6) for i in ids)], 0, 0
    for row in photo_labels:
        cells = []
        for exercise_id in ids:
            positive = row["position"] == "stretch" and own_exercise(row) == exercise_id
            hit = accepted(library[exercise_id], photo_measures[row["file"]])
            negatives += not positive
            false_accepts += hit and not positive
            cells.append(("*" if positive else " ") + ("IN" if hit else "."))
        lines.append(f"{row['file'][:36]:36} {row['position'][:5]:7}" + " ".join(c.rjust(6) for c in cells))
    return lines, false_accepts, negatives


def test_confusion_table_has_at_most_ten_percent_false_accepts(photo_labels, photo_measures, library):
    lines, false_accepts, negatives = confusion(photo_labels, photo_measures, library)
    print("\n" + "\n".join(lines) + f"\nfalse accepts: {false_accepts} of {negatives} negatives")
    assert negatives >= len(photo_labels) * (len(library) - 1)
    assert false_accepts / negatives <= MAX_FALSE_ACCEPT


def test_stretches_without_an_exercise_are_accepted_by_no_back_stretch(photo_labels, photo_measures, library):
    for row in photo_labels:
        if row["stretch"] in NO_EXERCISE:
            hits = [i for i, ex in library.items() if i != "neck_side_bend" and accepted(ex, photo_measures[row["file"]])]
            assert hits == [], (row["file"], hits)


def neck_alerts(exercise_id: str | None, library, measures) -> list[str]:
    """The neck rules of `coach.engine.safety` this single pose violates, with the exercise's limits (the
    defaults for a stretch without an exercise of its own)."""
    from coach.engine.safety import NECK_RULE_IDS, RULES, Level, RuleInput, evaluate
    from coach.measure.conventions import MEASURE_NAMES, Reliability

    safety = library[exercise_id].safety if exercise_id else Safety()
    rel = dict(zip(MEASURE_NAMES, measures.reliability))   # what the engine passes the rules (readout.rule_input)
    inp = RuleInput(pose_seen=True, values=measures.as_dict(), view=measures.view,
                    estimates=frozenset(n for n, r in rel.items() if r == Reliability.LOW),
                    not_high=frozenset(n for n, r in rel.items() if r != Reliability.HIGH))
    readings = evaluate(RULES, inp, safety)
    return sorted(k for k, r in readings.items() if k in NECK_RULE_IDS and r.level == Level.VIOLATED)


def test_neck_involved_photos_raise_the_neck_alert_and_others_do_not(photo_labels, photo_measures, library):
    involved = {}
    for row in photo_labels:
        exercise_id = own_exercise(row) or (row["stretch"] if row["stretch"] in library else None)
        alerts = neck_alerts(exercise_id, library, photo_measures[row["file"]])
        if row["neck_involved"] == "yes":
            involved[row["file"]] = alerts
            assert alerts, row["file"]
        else:
            assert alerts == [], (row["file"], alerts)
    assert len(involved) == 5
    assert "hand_on_head" in involved["neck_side_bend__Side_Neck_Stretch__1.jpg"]   # the hand pulling the head


def test_every_low_reliability_case_is_written_down(photo_labels, photo_measures, library):
    from coach.measure.conventions import Reliability

    found = {}
    for row in photo_labels:
        exercise_id = own_exercise(row)
        if exercise_id is None:
            continue
        result = own_result(library[exercise_id], photo_measures[row["file"]])
        cases = {c.measure: c.reason or "estimate" for c in result.checks
                 if c.reason in (LOW, SIDE_UNKNOWN) or (c.inside is not None and c.reliability == Reliability.LOW)}
        if cases:
            found[row["file"]] = cases
    assert found == LOW_RELIABILITY_CASES


# --- the shared recordings' hold segments (landmarks already detected: no model needed) ----------

RECORDING_PHASES = {  # recording -> {truth state: the phase its frames must be inside}
    "cat_cow__01": {"cat": "cat", "cow": "cow"}, "childs_pose__01": {"hold": "hold"},
    "bridge__01": {"hold": "lift"}, "seated_spinal_twist__01": {"hold": "twist"},
    "prone_extension__01": {"hold": "lift"}, "supine_twist__01": {"hold": "twist"},
    "neck_side_bend__01": {"hold": "tilt"},   # its side-on hold is left out: no view the exercise lists
}
MIN_INSIDE = 0.9   # of the hold frames filmed from one of the exercise's views


def _state(truth: dict, t_s: float) -> str:
    return next((s for a, b, s in truth["segments"] if a <= t_s < b), "none")


@pytest.mark.parametrize("name", sorted(RECORDING_PHASES))
def test_recording_holds_are_inside_when_seen_from_the_exercise_view(landmarks_dir, library, name):
    import json

    from coach.measure.measures import compute_measures
    from coach.pose.recording import read_recording

    exercise, truth = library[name.split("__")[0]], json.loads((landmarks_dir / f"{name}.truth.json").read_text())
    inside, total = 0, 0
    for frame in read_recording(landmarks_dir / f"{name}.jsonl.gz"):
        phase = RECORDING_PHASES[name].get(_state(truth, frame.t_s))
        measures = compute_measures(frame.pose, frame.others)
        if phase is None or measures.view not in exercise.view:
            continue
        result = in_envelope(exercise, measures, phase, detect_side(exercise, measures))
        if result.reason == ESTIMATE_ONLY:
            continue   # a view the exercise lists, but where only estimates read (said, not judged)
        total += 1
        inside += bool(result.inside)
    assert total >= 25 and inside / total >= MIN_INSIDE, (inside, total)


@pytest.mark.parametrize("name", ["seated_spinal_twist__01", "supine_twist__01", "neck_side_bend__01"])
def test_the_side_rules_name_the_side_as_the_recordings_truth_does(landmarks_dir, library, name):
    """seated twist: the side turned toward; supine twist: the side the knee drops toward; neck side
    bend: the shoulder the ear moves toward (../shared/landmarks/FORMAT.md). The majority over each
    hold where a side can be told must match the truth."""
    import collections
    import json

    from coach.measure.measures import compute_measures
    from coach.pose.recording import read_recording

    exercise, truth = library[name.split("__")[0]], json.loads((landmarks_dir / f"{name}.truth.json").read_text())
    votes: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for frame in read_recording(landmarks_dir / f"{name}.jsonl.gz"):
        hold = next(((a, b, s) for a, b, s in truth["sides"] if a <= frame.t_s < b), None)
        side = detect_side(exercise, compute_measures(frame.pose, frame.others)) if hold else None
        if side is not None:   # None: can't tell (e.g. a head tilt filmed side-on)
            votes[hold][side] += 1
    assert votes and all(c.most_common(1)[0][0] == hold[2] for hold, c in votes.items()), dict(votes)
