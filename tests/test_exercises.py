"""The exercise library: shipped files load and follow the advice; broken files give named errors;
`coach exercises list | show | validate` print what they should (run in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach import exercises_dir
from coach.cli import main
from coach.engine.exercises import EXERCISES_ENV, get_exercise, load_exercise, load_exercise_file, load_library
from coach.errors import ExerciseError
from coach.measure.conventions import SPEC, Reliability

# Labels of the shared recordings and photos -> exercise ids (the engine and photo tests rely on these).
LABEL_IDS = {"cat_cow", "childs_pose", "bridge", "seated_spinal_twist", "prone_extension", "supine_twist",
             "neck_side_bend", "chair_rotation", "standing_rotation", "pelvic_tilt", "knee_to_chest",
             "knee_to_chest_single"}
ISSUE_IDS = LABEL_IDS | {"childs_pose_side_reach", "kneeling_back_extension", "standing_back_extension"}
TWISTS = ("seated_spinal_twist", "chair_rotation", "standing_rotation", "supine_twist")

# Hold seconds per phase, as the advice says (twists and knee-to-chest 30 s per side, bridge 30 s,
# prone press-up 30-60 s, kneeling back extension 5 s per position, cat-cow a few seconds per
# position, standing back extension 20-30 s; ACSM 10-30 s otherwise).
HOLDS = {"seated_spinal_twist": (30,), "chair_rotation": (30,), "standing_rotation": (30,), "supine_twist": (30,),
         "knee_to_chest": (30,), "knee_to_chest_single": (30,), "bridge": (30,), "kneeling_back_extension": (5, 5)}


@pytest.fixture(scope="module")
def library():
    return load_library()


def test_every_shipped_exercise_loads_and_is_named_after_its_file(library):
    files = sorted(exercises_dir().glob("*.toml"))
    assert len(files) == len(library) >= 15
    for path in files:
        assert load_exercise_file(path).id == path.stem


def test_the_library_has_every_exercise_of_the_issue_and_every_label(library):
    assert ISSUE_IDS <= set(library)


@pytest.mark.parametrize("exercise_id, holds", sorted(HOLDS.items()))
def test_holds_follow_the_advice(library, exercise_id, holds):
    assert tuple(p.hold_s for p in library[exercise_id].phases) == holds


def test_holds_in_ranges_of_the_advice(library):
    assert 30 <= library["prone_extension"].phases[0].hold_s <= 60
    assert 20 <= library["standing_back_extension"].phases[0].hold_s <= 30
    assert [p.name for p in library["cat_cow"].phases] == ["cat", "cow"]
    assert all(2 <= p.hold_s <= 5 for p in library["cat_cow"].phases)
    for ex in library.values():
        assert all(p.hold_s <= 60 for p in ex.phases), ex.id


def test_sided_exercises_are_the_one_sided_stretches(library):
    sided = {ex.id for ex in library.values() if ex.sides == "left_right"}
    assert sided == {*TWISTS, "knee_to_chest_single", "childs_pose_side_reach", "neck_side_bend"}


@pytest.mark.parametrize("exercise_id", TWISTS)
def test_twist_bands_are_judged_as_estimates_and_say_so(library, exercise_id):
    ex = library[exercise_id]
    band = ex.phases[0].envelope["trunk_rotation_deg"]
    assert band.min_reliability == "low"
    assert all(r == Reliability.LOW for r in SPEC["trunk_rotation_deg"].reliability.values() if r != Reliability.NONE)
    text = (exercises_dir() / f"{exercise_id}.toml").read_text()
    assert "THE TWIST NUMBER IS AN ESTIMATE" in text
    assert ex.safety.max_twist_flexed_deg <= ex.safety.max_twist_deg


def test_pelvic_tilt_is_a_guided_hold_without_a_pelvis_angle(library):
    ex = library["pelvic_tilt"]
    assert ex.guided
    assert not any("pelvic" in key for p in ex.phases for key in p.envelope)


def test_neck_side_bend_is_a_gentle_stretch_and_forbids_hands_on_the_head(library):
    ex = library["neck_side_bend"]
    assert "gentle" in ex.summary.lower() and "hand" in ex.summary.lower()
    assert ex.safety.hands_on_neck_forbidden and ex.safety.hand_head_min_sw >= 0.3


def test_the_neck_side_bend_band_sits_below_its_caution_even_with_its_hysteresis(library):
    """A held tilt - the band and the drift its hysteresis allows - never reaches the exercise's own
    tilt caution, so "Holding" and "Ease the side tilt" never show together; the band reaches past the
    neck's neutral tolerance (the neck-stretch notice covers that part), stays short of the normal
    ~45 deg end range, and starts past the side rule's deadband."""
    from coach.engine.envelope import SIDE_DEADBAND
    from coach.engine.exercises import NECK_NEUTRAL_LATERAL_DEG

    ex = library["neck_side_bend"]
    band = ex.phases[0].envelope["neck_lateral_deg"]
    assert band.max + band.hysteresis < ex.safety.neck_lateral_max_deg < 45.0
    assert band.min < NECK_NEUTRAL_LATERAL_DEG < band.max
    assert band.min - band.hysteresis >= SIDE_DEADBAND
    text = (exercises_dir() / "neck_side_bend.toml").read_text()
    assert "GENTLE" in text and "mild tension" in text


def test_every_file_cites_its_sources_and_every_key_is_documented(library):
    for ex in library.values():
        assert ex.sources, ex.id
        text = (exercises_dir() / f"{ex.id}.toml").read_text()
        assert "min_reliability \"high\" | \"medium\" | \"low\"" in text, ex.id
    assert any("ACSM" in s for s in library["bridge"].sources)
    assert any("45 deg per side" in s for s in library["seated_spinal_twist"].sources)


def test_every_breathe_cue_says_breathe_out_into_the_stretch(library):
    for ex in library.values():
        assert "breathe out" in ex.cues.breathe.lower(), (ex.id, ex.cues.breathe)


def test_a_neck_rotation_limit_above_the_default_cites_the_cervical_range(library):
    for ex in library.values():
        if ex.safety.neck_rotation_max_deg > 60:
            assert any("cervical rotation 60-80" in s for s in ex.sources), ex.id


def test_every_band_has_hints_and_hysteresis_within_reason(library):
    for ex in library.values():
        for phase in ex.phases:
            for key, band in phase.envelope.items():
                assert band.hint_low and band.hint_high, (ex.id, key)
                assert 0 < band.hysteresis <= (band.max - band.min) / 2, (ex.id, key)


# --- broken files ---------------------------------------------------------------------------------

GOOD = '''
id = "mini"
name = "Mini"
summary = "A minimal exercise."
posture = ["supine"]
view = ["side"]
instructions = ["Lie down."]
sources = ["a book"]

[cues]
enter = "e"
hold = "h"
too_far = "t"
breathe = "b"
release = "r"

[[phases]]
name = "hug"
hold_s = 30
[phases.envelope.hip_left_deg]
min = 10
max = 80
hint_low = "ease off"
hint_high = "hug closer"
'''


def _edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


BROKEN = [
    ("unknown key", _edit('name = "Mini"', 'name = "Mini"\ncolour = "red"'), "colour: Extra inputs are not permitted"),
    ("unknown band key", _edit("min = 10", "min = 10\nmni = 3"),
     "phases #1 (hug).envelope.hip_left_deg.mni: Extra inputs are not permitted"),
    ("min >= max", _edit("min = 10", "min = 80"),
     "phases #1 (hug).envelope.hip_left_deg: min (80.0) must be less than max (80.0)"),
    ("unknown measure", _edit("envelope.hip_left_deg", "envelope.spine_deg"),
     "phases #1 (hug).envelope: unknown measure 'spine_deg'; known: hip_left_deg"),
    ("unmeasurable measure", _edit("envelope.hip_left_deg", "envelope.pelvic_tilt_deg"),
     "phases #1 (hug).envelope: measure 'pelvic_tilt_deg' cannot be measured from body landmarks; use a guided hold"),
    ("negative hold", _edit("hold_s = 30", "hold_s = -5"), "phases #1 (hug).hold_s: Input should be greater than or equal to 1"),
    ("hold shorter than the timer can tell", _edit("hold_s = 30", "hold_s = 0.5"),
     "phases #1 (hug).hold_s: Input should be greater than or equal to 1"),
    ("hold as text", _edit("hold_s = 30", 'hold_s = "thirty"'), "phases #1 (hug).hold_s: Input should be a valid number"),
    ("posture not a list", _edit('posture = ["supine"]', 'posture = "supine"'), "posture: Input should be a valid array"),
    ("unknown posture", _edit('posture = ["supine"]', 'posture = ["lying"]'), "posture #1: Input should be 'standing'"),
    ("reps not an integer", _edit('name = "Mini"', 'name = "Mini"\nreps_per_side = 1.5'),
     "reps_per_side: Input should be a valid integer"),
    ("negative hysteresis", _edit("min = 10", "min = 10\nhysteresis = -1"),
     "phases #1 (hug).envelope.hip_left_deg.hysteresis: Input should be greater than or equal to 0"),
    ("bad reliability", _edit("min = 10", 'min = 10\nmin_reliability = "great"'),
     "phases #1 (hug).envelope.hip_left_deg.min_reliability: Input should be 'high', 'medium' or 'low'"),
    ("side key without sides", _edit("envelope.hip_left_deg", 'envelope."hip_{side}_deg"'),
     "phases #1 (hug).envelope.hip_{side}_deg: envelope key 'hip_{side}_deg' uses {side} but the exercise has sides = 'none'"),
    ("sides without side_from", _edit('view = ["side"]', 'view = ["side"]\nsides = "left_right"'),
     "side_from: sides = 'left_right' needs side_from"),
    ("bad side_from", _edit('view = ["side"]', 'view = ["side"]\nsides = "left_right"\nside_from = "sign:hip_left_deg"'),
     "side_from: Value error, side_from 'sign:hip_left_deg': expected 'sign:' or 'opposite:' + one of "
     "trunk_lateral_deg, trunk_rotation_deg"),
    ("never judgeable from the view", _edit('view = ["side"]', 'view = ["front"]'),
     "phases #1 (hug).envelope.hip_left_deg: 'hip_left_deg' is never medium or better from the exercise's views (front: low)"),
    ("empty envelope", GOOD.split("[phases.envelope")[0],
     "phases #1 (hug): phase 'hug' has an empty envelope; set guided = true for a guided hold"),
    ("missing cues", _edit('[cues]\nenter = "e"\nhold = "h"\ntoo_far = "t"\nbreathe = "b"\nrelease = "r"\n', ""),
     "cues: Field required"),
    ("stricter twist larger", _edit("[cues]", "[safety]\nmax_twist_flexed_deg = 50\n\n[cues]"),
     "safety: Value error, max_twist_flexed_deg must not exceed max_twist_deg"),
    ("band beyond its own safety limit", _edit("envelope.hip_left_deg", "envelope.neck_flexion_deg"),
     "phases #1 (hug).envelope.neck_flexion_deg.max: 80 lies beyond the exercise's own safety limit "
     "safety.neck_flexion_max_deg = 45: a pose in the band would raise a caution"),
    ("band beyond the limit on the other side of 0",
     _edit("envelope.hip_left_deg]\nmin = 10\nmax = 80", "envelope.neck_flexion_deg]\nmin = -60\nmax = -10"),
     "phases #1 (hug).envelope.neck_flexion_deg.min: -60 lies beyond the exercise's own safety limit "
     "safety.neck_extension_max_deg = 45 (on the other side of 0)"),
    ("hold as quoted number", _edit("hold_s = 30", 'hold_s = "30"'), "phases #1 (hug).hold_s: Input should be a valid number"),
    ("hold as true", _edit("hold_s = 30", "hold_s = true"), "phases #1 (hug).hold_s: Input should be a valid number"),
    ("reps 2.5", _edit('name = "Mini"', 'name = "Mini"\nreps_per_side = 2.5'), "reps_per_side: Input should be a valid integer"),
    ("reps as text", _edit('name = "Mini"', 'name = "Mini"\nreps_per_side = "2"'),
     "reps_per_side: Input should be a valid integer"),
    ("name as a number", _edit('name = "Mini"', "name = 5"), "name: Input should be a valid string"),
    ("a TOML date", _edit("hold_s = 30", "hold_s = 2026-12-03"),
     "phases #1 (hug).hold_s: is a TOML date or time; no key of an exercise file takes one"),
    ("a phase name used twice", GOOD + GOOD[GOOD.index("[[phases]]"):],
     "phases: the phase name 'hug' is used 2 times; each phase needs its own name"),
    ("posture unknown", _edit('posture = ["supine"]', 'posture = ["unknown"]'),
     "posture: item 1 is 'unknown', which the coach reads only when it cannot tell"),
    ("view unknown", _edit('view = ["side"]', 'view = ["side", "unknown"]'),
     "view: item 2 is 'unknown', which the coach reads only when it cannot tell"),
    ("a routine file", (Path(__file__).resolve().parent.parent / "exercises" / "routines" / "gentle_back.toml").read_text(),
     "a routine file (it lists [[exercise]]; give it to coach live --routine), not an exercise file"),
    ("bad TOML", "id = \n", "not valid TOML"),
]


def test_a_whole_number_written_as_a_float_is_that_integer(tmp_path):
    """`reps_per_side = 3.0` loaded before the loader was made strict; it still does (TOML writes 3.0 as a float)."""
    path = tmp_path / "mini.toml"
    path.write_text(GOOD.replace('name = "Mini"', 'name = "Mini"\nreps_per_side = 3.0'))
    assert load_exercise(path).reps_per_side == 3


def test_a_file_saved_with_a_byte_order_mark_loads(tmp_path):
    """Windows Notepad saves UTF-8 with a BOM: it read "not valid TOML (Invalid statement (at line 1, column 1))"."""
    path = tmp_path / "mini.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    assert load_exercise(path).id == "mini"


@pytest.mark.parametrize("text, expected", [(t, e) for _, t, e in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_broken_files_give_their_named_error(tmp_path, text, expected):
    path = tmp_path / "mini.toml"
    path.write_text(text)
    with pytest.raises(ExerciseError) as info:
        load_exercise(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected.replace("Value error, ", "") in message
    assert "\n" not in message


def test_the_minimal_file_loads_with_the_defaults(tmp_path):
    path = tmp_path / "mini.toml"
    path.write_text(GOOD)
    ex = load_exercise_file(path)
    band = ex.phases[0].envelope["hip_left_deg"]
    assert (band.hysteresis, band.min_reliability, ex.sides, ex.reps_per_side) == (5.0, "medium", "none", 1)
    assert ex.safety.max_twist_deg == 45.0


def test_id_must_match_the_file_name(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(GOOD)
    with pytest.raises(ExerciseError, match=r"other.toml: id: 'mini' must match the file name 'other'"):
        load_exercise_file(path)


def test_missing_file_and_unknown_id_are_named(tmp_path):
    with pytest.raises(ExerciseError, match="no such exercise file"):
        load_exercise(tmp_path / "nope.toml")
    with pytest.raises(ExerciseError, match="unknown exercise 'nope'; known: bridge, cat_cow"):
        get_exercise("nope")


# --- user folders -----------------------------------------------------------------------------------

def test_a_user_folder_adds_and_overrides_exercises(tmp_path, monkeypatch):
    (tmp_path / "mini.toml").write_text(GOOD)
    (tmp_path / "bridge.toml").write_text(GOOD.replace('id = "mini"', 'id = "bridge"').replace('"Mini"', '"My bridge"'))
    library = load_library([tmp_path])
    assert library["mini"].name == "Mini" and library["bridge"].name == "My bridge"
    monkeypatch.setenv(EXERCISES_ENV, str(tmp_path))
    assert load_library()["bridge"].name == "My bridge"


def test_a_broken_user_folder_is_validated_like_the_shipped_one(tmp_path):
    (tmp_path / "mini.toml").write_text(GOOD.replace("hold_s = 30", "hold_s = 0"))
    with pytest.raises(ExerciseError, match=r"mini.toml: phases #1 \(hug\)\.hold_s: Input should be greater than or equal to 1"):
        load_library([tmp_path])
    with pytest.raises(ExerciseError, match="exercise folder does not exist"):
        load_library([tmp_path / "missing"])


# --- CLI, in-process ----------------------------------------------------------------------------------

def test_cli_list_prints_one_line_per_exercise(capsys):
    assert main(["exercises", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "POSTURE", "VIEW", "HOLD"]
    assert len(lines) == 1 + len(load_library())
    bridge = next(line for line in lines if line.startswith("bridge "))
    assert bridge.split("  ")[0] == "bridge" and bridge.endswith("side,oblique        30 s x 3")
    twist = next(line for line in lines if line.startswith("supine_twist "))
    assert twist.endswith("30 s x 2 per side")


def test_cli_show_prints_the_envelope_table_view_and_reliability(capsys):
    assert main(["exercises", "show", "bridge"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("bridge: Bridge\n")
    assert "  posture: supine    view: side, oblique\n" in out
    assert "  phase lift: hold 30 s - Lift your hips to a straight line.\n" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("trunk_lift_deg"))
    assert row.split()[:6] == ["trunk_lift_deg", "15..55°", "±5", "medium", "side:high", "oblique:medium"]
    assert row.endswith("lift your hips higher / lower your hips a little: don't arch your back")
    assert "hands on the neck forbidden" in out
    assert "    - Mayo Clinic" in out


def test_cli_show_marks_twist_estimates_and_guided_holds(capsys):
    assert main(["exercises", "show", "standing_rotation"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("trunk_rotation_deg"))
    assert row.split()[1:6] == ["10..45°", "±5", "low", "front:low", "back:low"]
    assert main(["exercises", "show", "pelvic_tilt"]) == 0
    assert "guided hold (no angle claimed)" in capsys.readouterr().out


def test_cli_show_unknown_id_is_a_one_line_error(capsys):
    assert main(["exercises", "show", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coach: error: unknown exercise 'nope'; known: bridge,") and err.count("\n") == 1


def test_cli_validate_says_a_folder_without_exercise_files_beside_good_files(tmp_path, capsys):
    """`validate empty_dir mini.toml` checked the file and skipped the folder without a word."""
    good, empty = tmp_path / "mini.toml", tmp_path / "empty"
    good.write_text(GOOD)
    empty.mkdir()
    assert main(["exercises", "validate", str(empty), str(good)]) == 2
    assert capsys.readouterr().out.splitlines() == [f"FAIL {empty}: no .toml files found in this folder",
                                                   f"OK   {good} (mini)"]


def test_cli_show_reads_a_user_folder(tmp_path, capsys):
    (tmp_path / "mini.toml").write_text(GOOD)
    assert main(["exercises", "show", "mini", "--exercises", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("mini: Mini\n")


def test_cli_validate_prints_one_line_per_file_and_exits_2_on_any_bad(tmp_path, capsys):
    good, bad = tmp_path / "mini.toml", tmp_path / "bad.toml"
    good.write_text(GOOD)
    bad.write_text(_edit("min = 10", "min = 90"))
    assert main(["exercises", "validate", str(good)]) == 0
    assert capsys.readouterr().out == f"OK   {good} (mini)\n"
    assert main(["exercises", "validate", str(good), str(bad)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"OK   {good} (mini)",
        f"FAIL {bad}: phases #1 (hug).envelope.hip_left_deg: min (90.0) must be less than max (80.0)"]
    bad.write_text(GOOD)
    assert main(["exercises", "validate", str(bad)]) == 2
    assert capsys.readouterr().out == f"FAIL {bad}: id: 'mini' must match the file name 'bad'\n"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mini.toml").write_text(_edit("min = 10", "min = 90"))
    assert main(["exercises", "validate", str(tmp_path / "sub")]) == 2
    assert capsys.readouterr().out == (f"FAIL {tmp_path / 'sub' / 'mini.toml'}: phases #1 (hug).envelope.hip_left_deg: "
                                       "min (90.0) must be less than max (80.0)\n")


def test_cli_validate_accepts_every_shipped_file(capsys):
    assert main(["exercises", "validate", str(exercises_dir())]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(load_library()) and all(line.startswith("OK   ") for line in lines)
