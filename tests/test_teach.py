"""`coach teach`: an exercise learned from one shared recording accepts that recording's own holds (the
engine, coaching the taught exercise, holds where the truth says "hold") and rejects the other shared
recordings and the photos of the other stretches; a demonstration with no stable hold is refused."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np
import pytest
from demo_data import RECORDINGS, load, truth_holds

from coach.cli import main
from coach.engine.core import Coach, EngineSettings
from coach.engine.envelope import detect_side, in_envelope
from coach.engine.exercises import load_exercise_file
from coach.physio.teach import MeasureSeries, NoStableHold, TeachSettings, find_holds, teach

TRUTH_DIR = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(TRUTH_DIR))
import bench_accuracy as bench  # noqa: E402

# one worker runs this module (pytest -n 2 --dist loadgroup): its module fixtures are computed once
pytestmark = pytest.mark.xdist_group("teach")

VARIANTS = ("original", "tracked")
MIN_F1 = 0.9
# Recordings where the taught file cannot reach F1 0.9 on its own recording, with the measured numbers.
# The shipped exercise the demonstration matches scores the same on them (its bands are the floor of
# the taught ones): the limit is the recording's view, not teach.
TRUTH_LIMITS = {
    ("original", "bridge__01"): "F1 0.40 (measured): 7 detections for 3 truth holds - the re-detected pose (two "
                                "poses looked for) places the hips high at rest, so rest reads as short lifts "
                                "(13.4-14.1, 21.2-21.4, 27.2-28.2, 30.0-30.7 s), and the first hold is timed from "
                                "8.6 s (truth 6.8) (the shipped bridge: F1 0.50)",
    ("original", "neck_side_bend__01"): "F1 0.67 (measured): the first hold is found (2.0-7.5 s); the second "
                                        "(9.5-15.05 s) is filmed from the side after the cut at 8 s, where the head "
                                        "tilt cannot be read (can't judge; the shipped neck_side_bend: the same, 0.67)",
    ("tracked", "neck_side_bend__01"): "F1 0.67 (measured): the first hold is found (2.0-7.6 s); the second is "
                                       "filmed from the side, where the head tilt cannot be read",
    ("original", "seated_spinal_twist__01"): "F1 0.50 (measured): the first hold (4.4-7.3 s) is filmed with the "
                                             "chest toward the camera (view front), where the bent-up knee is "
                                             "judged only while its leg reads face-on; it is timed from 6.1 s (the "
                                             "shipped seated_spinal_twist: the same, F1 0.50)",
    ("tracked", "seated_spinal_twist__01"): "F1 0.80 (measured): both holds are found, and a 0.2 s hold at "
                                            "11.8 s, turning into the second, counts as a third detection",
}


def _load(landmarks_dir: Path, variant: str, name: str):
    return load(landmarks_dir if variant == "original" else landmarks_dir / variant, name)


def verdicts(exercise, frames, series: MeasureSeries) -> list:
    """The engine over a recording as `coach analyze` runs it (causal smoothing, one segment)."""
    coach = Coach(exercise, smoothing="causal")
    return [coach.update(f.pose, f.t_s, others=f.others, measures=series.measures_at(i))
            for i, f in enumerate(frames)]


@pytest.fixture(scope="module")
def taught_all(landmarks_dir):
    """(variant, name) -> Taught (None: teach refuses it: no stable hold)."""
    out = {}
    for variant in VARIANTS:
        for name in RECORDINGS:
            _, series = _load(landmarks_dir, variant, name)
            try:
                out[variant, name] = teach(series, "taught", source=name)
            except NoStableHold:
                out[variant, name] = None
    return out


def _case(variant, name, limits):
    marks = [pytest.mark.xfail(strict=True, reason=limits[variant, name])] if (variant, name) in limits else []
    return pytest.param(variant, name, marks=marks, id=f"{variant}-{name}")


@pytest.mark.parametrize("variant,name", [_case(v, n, TRUTH_LIMITS) for v in VARIANTS for n in RECORDINGS])
def test_the_taught_file_finds_the_truth_holds_of_its_own_recording(taught_all, landmarks_dir, variant, name):
    result = taught_all[variant, name]
    if name == "cat_cow__01":   # cat and cow are each held about 1 s: nothing to teach, refused
        assert result is None
        return
    frames, series = _load(landmarks_dir, variant, name)
    truth = bench.truth_of(landmarks_dir, name)
    truths = [(a, b, "hold") for a, b, _ in bench.truth_holds(truth)]
    dets = bench.detected_holds(verdicts(result.exercise, frames, series), False, EngineSettings().grace_s)
    score = bench.f1(len(bench.match(truths, dets)), len(truths), len(dets))
    assert score >= MIN_F1, (variant, name, score, [(d[0], d[1]) for d in dets])


def test_the_taught_files_accept_no_held_position_of_the_other_recordings(taught_all, landmarks_dir):
    """Each file taught from an original recording, over every other original recording read in its
    stable context (the view and posture the engine acts on): no run of accepted frames as long as
    the shortest hold teach learns from (`TeachSettings.min_hold_s`). The envelope is judged on every
    frame without the engine (the engine over 36 pairs costs a minute of CI)."""
    from coach.physio.teach_holds import runs_of
    from coach.physio.teach_people import stable_context, stable_measures

    longest = {}
    for other in RECORDINGS:
        _, series = _load(landmarks_dir, "original", other)
        ctx = stable_context(series)
        measures = [stable_measures(series, ctx, i) for i in range(len(series))]
        dt_s = float(np.median(np.diff(series.t_s)))
        for name in RECORDINGS:
            result = taught_all["original", name]
            if result is None or name == other:
                continue
            accepted = np.array([_accepts(result.exercise, m) for m in measures])
            longest[name, other] = max(((b - a) * dt_s for a, b in runs_of(accepted)), default=0.0)
    assert len(longest) == 36   # 6 taught (cat-cow is refused) x 6 others
    too_long = {k: round(v, 1) for k, v in longest.items() if v >= TeachSettings().min_hold_s}
    assert not too_long, too_long


@pytest.fixture(scope="module")
def photo_measures(photo_poses, photo_labels):
    from coach.measure.measures import compute_measures

    poses = photo_poses("full")
    return {row["file"]: compute_measures(poses[row["file"]].pose, poses[row["file"]].others) for row in photo_labels}


def _accepts(exercise, measures) -> bool:
    return in_envelope(exercise, measures, 0, detect_side(exercise, measures)).inside is True


@pytest.mark.model
def test_the_taught_files_reject_the_other_stretches_photos(taught_all, photo_labels, photo_measures):
    for (variant, name), result in taught_all.items():
        if result is None:
            continue
        stretch = name.split("__")[0]
        others = [row["file"] for row in photo_labels if row["stretch"] != stretch]
        assert len(others) >= 24
        accepted = [p for p in others if _accepts(result.exercise, photo_measures[p])]
        assert not accepted, (variant, name, accepted)


@pytest.mark.model
def test_the_taught_files_accept_other_people_doing_the_same_stretch(taught_all, photo_labels, photo_measures):
    """Transfer: every photo of the same stretch that its shipped exercise accepts, the taught file
    accepts too (the photos are other people than the demonstrators)."""
    from coach.engine.exercises import get_exercise

    checked = 0
    for (variant, name), result in taught_all.items():
        if result is None:
            continue
        stretch = name.split("__")[0]
        shipped = get_exercise(stretch)
        same = [row["file"] for row in photo_labels if row["stretch"] == stretch]
        wanted = [p for p in same if _accepts(shipped, photo_measures[p])]
        refused = [p for p in wanted if not _accepts(result.exercise, photo_measures[p])]
        checked += len(wanted)
        assert not refused, (variant, name, refused)
    assert checked >= 4


# Leave-one-out with the normal-range rule (no shipped stretch: median of the others +- the noise floor
# and BETWEEN_PERSON_DEG in quadrature), the readings it refuses, measured (full model, IMAGE mode):
# they are where people differ by more than 2 SD of the normal ranges, or a twist estimate reads the
# other way. Each must stay refused: a change that makes one pass shows here, and is then dropped.
NORMAL_RANGE_MISSES = {
    ("bridge", "hip_left_deg", "bridge__Butt_Lift_Bridge__0.jpg"): "146 deg; the other two photos 175-176 "
                                                                  "(band 158-180): a lower lift, 30 deg apart",
    ("bridge", "hip_right_deg", "bridge__Butt_Lift_Bridge__0.jpg"): "149 deg; the others 172-176 (band 154-180)",
    ("seated_spinal_twist", "trunk_rotation_deg", "seated_spinal_twist__Dancers_Stretch__0.jpg"):
        "-2 deg toward its bent knee's side (an estimate: low from every view); the other photo 40",
    ("seated_spinal_twist", "trunk_rotation_deg", "seated_spinal_twist__Dancers_Stretch__1.jpg"):
        "40 deg; the other photo -2 (band -28 to 23)",
}


def _left_out(photo_labels, photo_measures):
    """Every (label, key, photo, its reading, the band built from the other photos' readings, with the
    matched stretch and with normal ranges): for each label with >= 2 `stretch` photos and a
    one-phase shipped exercise, each key teach may judge (`candidate_keys`), read as teach reads a
    hold - toward the photo's side, where its view reads it at medium or better (the twist: low)."""
    from coach.engine.exercises import get_exercise, load_library
    from coach.measure.conventions import MEASURE_NAMES, RELIABILITY_RANK, SPEC, Reliability
    from coach.physio.teach_people import TWIST, Column, candidate_keys, measure_of, people_band

    library, index, out = load_library(), {n: i for i, n in enumerate(MEASURE_NAMES)}, []
    labels = {}
    for row in photo_labels:
        if row["position"] == "stretch":
            labels.setdefault(row["stretch"], []).append(row["file"])
    for label, files in sorted(labels.items()):
        if len(files) < 2 or label not in library or len(library[label].phases) != 1:
            continue   # no shipped exercise says which measures define it (or a multi-phase flow)
        stretch = get_exercise(label)
        sided = stretch.sides == "left_right"
        for key in candidate_keys(stretch, sided):
            read = {}
            for f in files:
                m = photo_measures[f]
                side = detect_side(stretch, m) if sided else None
                if "{" in key and side is None:
                    continue   # its side can't be told: a {side} key can't be read
                name = measure_of(key, side) if side else key
                need = 1 if name == TWIST else 2
                rank, value = RELIABILITY_RANK[m.reliability_of(name)], float(m.values[index[name]])
                if SPEC[name].lateral and side == "right":
                    value = -value
                if rank >= need and np.isfinite(value):
                    read[f] = (value, rank, Reliability.LOW if need == 1 else Reliability.MEDIUM)
            for f, (value, _, rel) in read.items():
                others = [r for o, r in read.items() if o != f]
                if not others:
                    continue
                col = Column(key, np.array([r[0] for r in others]), np.arange(len(others)), np.array([]),
                             int(np.median([r[1] for r in others])), rel)
                out.append((label, key, f, value, people_band(col, stretch, TeachSettings(), 1.0),
                            people_band(col, None, TeachSettings(), 1.0)))
    return out


@pytest.mark.model
def test_a_band_built_without_a_photo_accepts_that_photo(photo_labels, photo_measures):
    """Leave-one-out on the shared photos (other people than the demonstrators), with teach's own
    band rule (`people_band`). As teach writes it for a matched stretch (the shipped band widened
    to the others' median +- noise), the band accepts every left-out reading its shipped band accepts
    (measured: 15 of 17; both misses the shipped band refuses too - a bridge photo's trunk lean 92 deg,
    below its 100, and a seated twist photo's twist -2 deg, below its 10).
    The shipped bands were calibrated on these photos, so that half is not independent of them; the
    normal-range rule is (measured: 13 of 17), and refuses only NORMAL_RANGE_MISSES."""
    from coach.engine.exercises import get_exercise

    rows = _left_out(photo_labels, photo_measures)
    assert len(rows) >= 12 and len({r[0] for r in rows}) >= 4, [r[:3] for r in rows]
    for label, key, photo, value, taught, normal in rows:
        shipped = get_exercise(label).phases[0].envelope[key]
        assert taught.low <= shipped.min and taught.high >= shipped.max, (label, key)
        if shipped.min <= value <= shipped.max:
            assert taught.low <= value <= taught.high, (label, key, photo, value, taught.low, taught.high)
    misses = {(label, key, photo) for label, key, photo, value, _, normal in rows
              if not normal.low <= value <= normal.high}
    assert misses == set(NORMAL_RANGE_MISSES), misses ^ set(NORMAL_RANGE_MISSES)


def test_bridge_gets_the_hip_angle_no_sides_and_one_posture(taught_all):
    ex = taught_all["original", "bridge__01"].exercise
    keys = set(ex.phases[0].envelope)
    assert "hip_left_deg" in keys and "trunk_lift_deg" in keys
    assert ex.sides == "none" and [p.value for p in ex.posture] == ["supine"]
    assert ex.phases[0].hold_s >= 2 and ex.rest_s >= 5   # holds of 2-5 s; never rest 0 between reps


def test_the_seated_twist_gets_the_twist_as_an_estimate_and_no_arm_or_head_targets(taught_all):
    result = taught_all["original", "seated_spinal_twist__01"]
    envelope = result.exercise.phases[0].envelope
    assert envelope["trunk_rotation_deg"].min_reliability == "low"
    assert not [k for k in envelope if k.startswith(("elbow", "shoulder", "neck"))], list(envelope)
    assert len(envelope) <= 4
    assert "# ESTIMATE" in result.toml and "the people the shipped seated_spinal_twist band 10-45 accepts" in result.toml


def test_tolerance_scales_every_band_about_the_demonstrated_centre(landmarks_dir):
    _, series = load(landmarks_dir, "childs_pose__01")
    plain = teach(series, "kids").bands
    wide = teach(series, "kids", tolerance=1.5).bands
    for a, b in zip(plain, wide):
        assert a.key == b.key
        assert b.high - b.centre >= 1.5 * (a.high - a.centre) - 1 or b.high == 180
        assert b.centre - b.low >= 1.5 * (a.centre - a.low) - 1 or b.low == 0
    assert teach(series, "kids", hold_s=30).exercise.phases[0].hold_s == 30
    assert teach(series, "kids", sides="none").exercise.sides == "none"


def test_teach_finds_each_hold_and_its_side(landmarks_dir):
    _, series = load(landmarks_dir, "seated_spinal_twist__01")
    result = teach(series, "twist", source="seated")
    truth = truth_holds(landmarks_dir, "seated_spinal_twist__01")
    assert len(result.holds) == len(truth) == 2
    for hold, (start_s, end_s) in zip(result.holds, truth):
        assert abs(hold.start_s - start_s) < 1.5 and abs(hold.end_s - end_s) < 1.0
    ex = result.exercise
    assert ex.sides == "left_right" and ex.side_from == "lower:knee"
    for hold in result.holds:   # the side teach names is the one the engine's detect_side reads
        sides = [detect_side(ex, series.measures_at(i)) for i in range(hold.first, hold.stop)]
        assert set(sides) - {None} == {hold.side} and sides.count(None) < 0.2 * len(sides)
    truth_median_s = statistics.median(end_s - start_s for start_s, end_s in truth)   # about 3 s
    assert "knee_{side}_deg" in ex.phases[0].envelope
    assert ex.phases[0].hold_s == max(1, round(0.8 * truth_median_s))   # 80 % of the hold, to the second


def test_the_start_position_is_rest_and_the_bands_leave_it_out(landmarks_dir):
    _, series = load(landmarks_dir, "bridge__01")
    holds, rests = find_holds(series)
    assert len(rests) == 1 and rests[0].end_s < 6.8   # lying flat before the first lift
    for start_s, end_s in truth_holds(landmarks_dir, "bridge__01"):   # every lift is found as a hold
        assert any(h.start_s < end_s and h.end_s > start_s for h in holds), (start_s, end_s)
    band = teach(series, "bridge_demo").exercise.phases[0].envelope["trunk_lift_deg"]
    assert band.min <= 37 <= band.max   # the hips lifted, as demonstrated (the holds' median lift)
    assert band.min > 5                  # lying flat (hips on the shoulder-ankle line, 0) is outside
    _, every = find_holds(series, TeachSettings(rest="none"))
    assert every == []


def test_a_demonstration_without_a_stable_hold_is_refused(landmarks_dir):
    _, series = load(landmarks_dir, "cat_cow__01")   # cat and cow are held about one second each
    with pytest.raises(NoStableHold, match=r"cat_cow: no stable hold: .* at least 1\.5 s .* is 1\.\d s"):
        teach(series, "cat_cow_demo", source="cat_cow")
    t = np.arange(0, 10, 1 / 30)
    moving = series.values[:1].repeat(len(t), axis=0).copy()
    moving[:, :8] = 90 + 60 * np.sin(2 * np.pi * t / 4)[:, None]   # the joint angles never stop
    sweep = MeasureSeries(t, moving, series.rank[:1].repeat(len(t), axis=0), series.views[:1] * len(t),
                          series.postures[:1] * len(t))
    with pytest.raises(NoStableHold):
        teach(sweep, "sweep")


def test_coach_teach_refuses_a_file_not_named_after_its_id(landmarks_dir, tmp_path, capsys):
    """An exercise file named otherwise would break every command given its folder (`--exercises DIR`)."""
    demo = str(landmarks_dir / "childs_pose__01.jsonl.gz")
    assert main(["teach", demo, "--id", "anna", "-o", str(tmp_path / "other_name.toml"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "other_name.toml" in err[0] and "anna.toml" in err[0] and "--id other_name" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_coach_teach_writes_a_validated_editable_file(landmarks_dir, tmp_path, capsys):
    out = tmp_path / "kids_demo.toml"
    demo = str(landmarks_dir / "childs_pose__01.jsonl.gz")
    assert main(["teach", demo, "--id", "kids_demo", "-o", str(out), "-q"]) == 0
    exercise = load_exercise_file(out)
    assert exercise.posture[0].value == "kneeling" and exercise.phases[0].hold_s in (15.0, 16.0)  # 80% of the ~20 s hold
    text = out.read_text()
    assert "median 24" in text and "the people the shipped childs_pose band 5-70 accepts" in text and "[safety]" in text and 'hint_low = "' in text
    assert main(["teach", demo, "--id", "kids_demo", "-o", str(out), "-q"]) == 2   # no overwrite without --force
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["teach", demo, "--id", "kids_demo", "-o", str(out), "-q", "--force", "--sides", "none",
                 "--hold-s", "30", "--tolerance", "1.5"]) == 0
    forced = load_exercise_file(out)
    assert forced.sides == "none" and forced.phases[0].hold_s == 30 and "x1.5 (--tolerance)" in out.read_text()
    assert main(["teach", demo, "--id", "kids_demo", "-o", str(out), "-q", "--force", "--sides", "left_right"]) == 2
    err = capsys.readouterr().err   # a symmetric position: no left/right measure tells a side
    assert err.count("\n") == 1 and "--sides left_right" in err
    with pytest.raises(SystemExit) as stopped:   # an option's bad value: argparse's exit, one line
        main(["teach", demo, "--id", "kids_demo", "-o", str(out), "-q", "--force", "--tolerance", "0"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--tolerance" in err and "'0'" in err
    with pytest.raises(SystemExit) as stopped:   # a hold shorter than the timer can tell (MIN_HOLD_S)
        main(["teach", demo, "--id", "kids_demo", "-o", str(out), "-q", "--force", "--hold-s", "0.5"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--hold-s: expected 1 to 600 seconds, got 0.5" in err
    assert main(["teach", demo, "--id", "kids_demo", "-o", str(out), "-q"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    cat_cow = str(landmarks_dir / "cat_cow__01.jsonl.gz")
    assert main(["teach", cat_cow, "--id", "cc", "-o", str(tmp_path / "cc.toml"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no stable hold" in err and not (tmp_path / "cc.toml").exists()


def test_a_patient_in_another_view_is_judged_only_on_what_that_view_reads(taught_all, landmarks_dir):
    """The file taught from the seated twist (its holds filmed front and oblique) on the same recording:
    in every frame seen from the front, a band is judged only where its measure reads at the band's
    reliability - the trunk's sagittal lean (low from the front) is left out: each verdict lists it as in
    the envelope, not judged (inside None), read at low reliability - while a bent leg whose own
    plane faces the camera reads at medium and is judged (`face_on_joints`)."""
    from coach.engine.exercises import reliability_at_least
    from coach.measure.conventions import SPEC, Reliability, View

    exercise = taught_all["original", "seated_spinal_twist__01"].exercise
    frames, series = _load(landmarks_dir, "original", "seated_spinal_twist__01")
    envelope = exercise.phases[0].envelope
    left_out = judged = face_on = 0
    for v in verdicts(exercise, frames, series):
        if v.view != View.FRONT or v.side is None:
            continue
        for m in v.measures:
            if not m.in_envelope or not np.isfinite(m.value):
                continue
            key = next(k for k in envelope if k.replace("{side}", v.side).replace(
                "{other}", "right" if v.side == "left" else "left") == m.name)
            if reliability_at_least(m.reliability, envelope[key].min_reliability):
                judged += m.inside is not None
                face_on += SPEC[m.name].reliability[View.FRONT] == Reliability.LOW
            else:
                assert m.inside is None and m.reliability == Reliability.LOW, (v.t_s, m)
                left_out += 1
    assert left_out > 100 and judged > 100 and face_on > 100, (left_out, judged, face_on)   # front frames of all kinds


def test_the_other_side_is_the_mirror_of_the_side_shown(taught_all, landmarks_dir):
    """Taught from the seated twist done to the left only, the file coaches the right side too: on the
    mirrored recording (the same person, sides exchanged) the engine holds on the right, as it holds
    on the left on the recording itself."""
    from transforms import mirror

    from coach.measure.measures import compute_measures

    exercise = taught_all["original", "seated_spinal_twist__01"].exercise
    frames, series = _load(landmarks_dir, "original", "seated_spinal_twist__01")
    own = {v.side for v in verdicts(exercise, frames, series) if v.holding}
    second = [f for f in frames if 11.0 <= f.t_s < 18.0]   # the second hold (13.5-16.6 s), to keep it cheap
    flipped = mirror(second)
    measures = [compute_measures(f.pose, f.others) for f in flipped]
    coach = Coach(exercise, smoothing="causal")
    held = [coach.update(f.pose, f.t_s, others=f.others, measures=m) for f, m in zip(flipped, measures)]
    mirrored = [v for v in held if v.holding]
    assert own == {"left"}
    assert {v.side for v in mirrored} == {"right"} and len(mirrored) > 120, len(mirrored)   # over 2 s at 60 fps


def test_the_hold_target_never_exceeds_the_demonstrated_median_hold():
    """80 % of the median hold to the nearest second, but never above the median itself: a 1.9 s
    median gives 1 s (0.8 x 1.9 = 1.52 rounds to 2 s, more than was shown)."""
    from coach.physio.teach_file import hold_target_s
    from coach.physio.teach_holds import HeldSpan

    def target(*durations):
        return hold_target_s([HeldSpan(0, 10, 0.0, d) for d in durations])

    assert target(1.9) == 1 and target(1.5) == 1 and target(2.4) == 2 and target(2.35, 1.5, 4.7) == 2
    assert target(5.0) == 4 and target(20.4) == 16
    for d in np.arange(1.5, 12.0, 0.05):
        assert 1 <= target(d) <= d, d


def _without_the_side_rule_in(series, hold):
    """The series with the straight leg's knee unread in one hold: the seated twist's side rule
    (lower:knee, which knee is more bent) cannot tell that hold's side."""
    from coach.measure.conventions import MEASURE_NAMES

    values, rank = series.values.copy(), series.rank.copy()
    for name in ("knee_right_deg",):
        i = MEASURE_NAMES.index(name)
        values[hold.first:hold.stop, i], rank[hold.first:hold.stop, i] = np.nan, 0
    return MeasureSeries(series.t_s, values, rank, series.views, series.postures)


def test_a_hold_whose_side_cannot_be_told_keeps_its_side_unknown(taught_all, landmarks_dir):
    """The seated twist with its side rule unreadable in the first hold: that hold's side stays
    unknown (never the second hold's), the file says so, and the working-side bands are taught from
    the hold whose side is known."""
    _, series = load(landmarks_dir, "seated_spinal_twist__01")
    plain = taught_all["original", "seated_spinal_twist__01"]
    assert [h.side for h in plain.holds] == ["left", "left"]
    result = teach(_without_the_side_rule_in(series, plain.holds[0]), "twist")
    assert result.stretch == "seated_spinal_twist"
    assert [h.side for h in result.holds] == [None, "left"]
    assert result.exercise.sides == "left_right"
    assert "hold 1: side unknown (lower:knee not told there)" in result.toml
    side_from = next(line for line in result.toml.splitlines() if line.startswith("side_from"))
    assert "side from lower:knee as in seated_spinal_twist" in side_from and "hold 1: side unknown" in side_from
    hip = next(b for b in result.bands if b.key == "hip_{side}_deg")
    assert hip.holds == 1, hip   # the hold of unknown side is not read as either side


def test_a_sided_stretch_taught_without_sides_keeps_its_shipped_bands(landmarks_dir):
    """The seated twist taught with --sides none: its knee and hip, banded as {side} keys by the
    shipped stretch, become plain left and right keys that keep the shipped band (the people it
    accepts), not the 15 deg normal-range fallback."""
    from coach.engine.exercises import get_exercise

    _, series = load(landmarks_dir, "seated_spinal_twist__01")
    shipped = get_exercise("seated_spinal_twist").phases[0].envelope
    result = teach(series, "twist", sides="none")
    plain = {b.key: b for b in result.bands if b.key.split("_")[0] in ("knee", "hip")}
    assert plain and not any("{" in k for k in plain), list(plain)
    for key, band in plain.items():
        template = shipped[f"{key.split('_')[0]}_{{side}}_deg"]
        assert band.shipped == (template.min, template.max), (key, band.shipped)
        assert band.low <= template.min and band.high >= template.max
        assert band.between_from.startswith("shipped seated_spinal_twist band"), band.between_from


def test_exercises_show_never_prints_a_template_key(taught_all, tmp_path, capsys):
    """`coach exercises show` of every shipped exercise and of a taught sided file: a {side} / {other}
    key is shown in words ("knee, working side"), never raw."""
    from coach.engine.exercises import load_library

    (tmp_path / "taught_twist.toml").write_text(
        taught_all["original", "seated_spinal_twist__01"].toml.replace('id = "taught"', 'id = "taught_twist"'))
    for exercise_id in [*load_library(), "taught_twist"]:
        assert main(["exercises", "show", exercise_id, "--exercises", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert "{" not in out and "}" not in out, (exercise_id, [line for line in out.splitlines() if "{" in line])
    assert "knee, working side" in out
    # the file itself, as every other command takes it (it said "unknown exercise 'ex/taught_twist.toml'")
    assert main(["exercises", "show", str(tmp_path / "taught_twist.toml")]) == 0
    assert capsys.readouterr().out == out


def test_a_taught_band_says_too_large_on_its_side_away_from_zero(taught_all):
    """A hint names the size of the angle: past the end of the band further from 0 is "too large", short of
    the end nearer 0 "too small" - also for a band of negative values (the supine twist's hips turned
    toward the working side, -80 to -10: a twist of -90 is too large, not "too small"). A band across 0
    has no larger side: its hints give the target only."""
    negative = 0
    for taught in (t for t in taught_all.values() if t is not None):
        for phase in taught.exercise.phases:
            for key, band in phase.envelope.items():
                far_low = abs(band.min) > abs(band.max)   # the end below min is the one further from 0
                if band.min < 0 < band.max:
                    assert "too" not in band.hint_low + band.hint_high and "aim for about" in band.hint_low, key
                    continue
                negative += band.max <= 0
                assert ("too large" in band.hint_low) == far_low and ("too small" in band.hint_high) == far_low, \
                    (key, band.min, band.max, band.hint_low, band.hint_high)
    assert negative, "a taught band of negative values is checked (the supine twist's)"


def test_a_stopped_teach_says_on_its_one_line_that_nothing_was_written(landmarks_dir, tmp_path, capsys, monkeypatch):
    """Ctrl-C while the demonstration is taught: exit 130, one line that says no file was written - and
    an existing file stays as it was."""
    import os
    import signal

    from coach.physio import teach as teach_module

    real = teach_module.teach

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(teach_module, "teach", interrupted)
    demo, out = str(landmarks_dir / "childs_pose__01.jsonl.gz"), tmp_path / "kids.toml"
    assert main(["teach", demo, "--id", "kids", "-o", str(out), "-q"]) == 130
    assert capsys.readouterr().err.splitlines() == [f"coach: interrupted; nothing was written to {out}"]
    assert not out.exists()
    monkeypatch.setattr(teach_module, "teach", real)
    assert main(["teach", demo, "--id", "kids", "-o", str(out), "-q"]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    monkeypatch.setattr(teach_module, "teach", interrupted)
    assert main(["teach", demo, "--id", "kids", "-o", str(out), "-q", "--force"]) == 130
    assert capsys.readouterr().err.splitlines() == [f"coach: interrupted; nothing was written ({out} is as it was)"]
    assert out.read_bytes() == before


def test_a_taught_files_words_name_no_number_a_physio_may_edit(taught_all):
    """The summary and steps a patient reads said "hold the position for 2 s, 3 time(s)": after the
    README's edit of hold_s they went on saying 2 s. They name no hold time, count or rest now; the coach
    says the file's own numbers as it counts."""
    import re

    for key, taught in taught_all.items():
        if taught is None:
            continue
        words = " ".join([taught.exercise.summary, *taught.exercise.instructions])
        assert not re.search(r"\d+(\.\d+)? s\b|\d+ time", words), (key, words)
