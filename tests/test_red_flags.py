"""The red-flag screening file: the shipped questions load, and broken files give named errors."""

from __future__ import annotations

import pytest

from coach.engine.red_flags import RED_FLAGS_PATH, RedFlagError, flags_for, load_red_flags
from coach.errors import CoachError

REQUIRED = {"numbness_tingling", "leg_pain", "bladder_bowel", "fever_weight_loss", "osteoporosis",
            "recent_trauma", "neck_dizziness"}

GOOD = '''
[[flag]]
id = "a"
question = "Is it a?"
advice = "Please see a professional."
'''


def test_shipped_file_has_every_required_question():
    flags = load_red_flags()
    assert REQUIRED <= {f.id for f in flags}
    assert len({f.id for f in flags}) == len(flags)


def test_every_advice_sends_to_a_professional_and_questions_are_questions():
    for flag in load_red_flags():
        assert "professional" in flag.advice.lower(), flag.id
        assert flag.question.endswith("?"), flag.id


def test_urgent_flags_are_the_emergencies():
    urgent = {f.id for f in load_red_flags() if f.urgency == "urgent"}
    assert {"bladder_bowel", "neck_dizziness"} <= urgent
    assert "leg_pain" not in urgent


def test_flags_for_area_filters_neck_only_and_back_only_questions():
    neck = {f.id for f in flags_for("neck")}
    back = {f.id for f in flags_for("back")}
    assert "neck_dizziness" in neck and "neck_dizziness" not in back
    assert "bladder_bowel" in back and "bladder_bowel" not in neck
    assert "osteoporosis" in neck and "osteoporosis" in back


def test_flags_for_rejects_an_unknown_area():
    with pytest.raises(ValueError, match="area: expected 'back', 'neck' or 'twist', got 'knee'"):
        flags_for("knee")


def test_a_question_is_asked_for_every_stretch_its_advice_names():
    """The neck-dizziness advice says "do not do neck or twisting stretches": it is asked before every
    neck stretch and every twisting one (judged on the trunk's rotation: the supine, seated, chair and
    standing twists), by that rule and not by a list of ids; it was not asked for the twists."""
    from coach.engine.exercises import load_library
    from coach.session.screening import TWIST_MEASURE, questions_for

    flag = next(f for f in load_red_flags() if f.id == "neck_dizziness")
    assert "twisting stretches" in flag.advice
    twists = {i for i, ex in load_library().items() if any(TWIST_MEASURE in p.envelope for p in ex.phases)}
    assert {"supine_twist", "seated_spinal_twist", "chair_rotation", "standing_rotation"} <= twists
    asked = {i for i, ex in load_library().items() if flag in questions_for([ex])}
    assert twists | {"neck_side_bend"} <= asked and "bridge" not in asked, asked


def test_default_path_is_inside_the_package():
    assert RED_FLAGS_PATH.name == "red_flags.toml" and RED_FLAGS_PATH.parent.name == "engine"


def test_a_minimal_file_loads_with_the_defaults(tmp_path):
    path = tmp_path / "flags.toml"
    path.write_text(GOOD)
    (flag,) = load_red_flags(path)
    assert (flag.id, flag.area, flag.urgency) == ("a", "any", "soon")


BROKEN = [
    ("unknown key", GOOD.replace('id = "a"', 'id = "a"\ncolour = "red"'), "flag #1 (a).colour: Extra inputs are not permitted"),
    ("missing question", GOOD.replace('question = "Is it a?"\n', ""), "flag #1 (a).question: Field required"),
    ("wrong type", GOOD.replace('"Is it a?"', "3"), "flag #1 (a).question: Input should be a valid string"),
    ("bad urgency", GOOD.replace('id = "a"', 'id = "a"\nurgency = "later"'), "flag #1 (a).urgency: Input should be 'urgent' or 'soon'"),
    ("no professional", GOOD.replace("Please see a professional.", "Rest."), "flag #1 (a): advice must send the user to a professional"),
    ("duplicate id", GOOD + GOOD, "duplicate id(s): a"),
    ("advice names a stretch not asked for", GOOD.replace('id = "a"', 'id = "a"\narea = "neck"').replace(
        "Please see", "Do not do twisting stretches. Please see"), 'flag #1 (a): advice names twist stretches'),
    ("no flags", 'title = "x"\n', "flag: Field required"),
    ("bad TOML", "[[flag]\n", "not valid TOML"),
]


@pytest.mark.parametrize("text, expected", [(t, e) for _, t, e in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_broken_files_name_the_file_and_the_key(tmp_path, text, expected):
    path = tmp_path / "flags.toml"
    path.write_text(text)
    with pytest.raises(RedFlagError) as info:
        load_red_flags(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_missing_file_is_a_coach_error(tmp_path):
    with pytest.raises(CoachError, match="no such red-flag file"):
        load_red_flags(tmp_path / "nope.toml")
