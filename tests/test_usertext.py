"""User text reaches the terminal without escape codes or line breaks (`coach.usertext`)."""

from __future__ import annotations

import pytest

from coach.usertext import control_character, degrees, printable

PRINTABLE = [  # (id, text as written, text as printed)
    ("plain text stays", "Bridge (Anna) – 30 s, 45°", "Bridge (Anna) – 30 s, 45°"),
    ("clear screen (CSI)", "a\x1b[2Jb", "ab"),
    ("colour (CSI with parameters)", "\x1b[1;31mred\x1b[0m", "red"),
    ("window title (OSC ending in BEL)", "x\x1b]0;owned\x07y", "xy"),
    ("clipboard write (OSC ending in ST)", "x\x1b]52;c;aGk=\x1b\\y", "xy"),
    ("8-bit CSI", "a\x9b2Jb", "ab"),
    ("two-character escape", "a\x1bcb", "ab"),
    ("newline and tab become spaces", "two\nlines\tand", "two lines and"),
    ("carriage return and backspace", "ok\r\x08no", "ok  no"),
    ("bidirectional override dropped", "abc\u202edef", "abcdef"),
    ("a lone ESC at the end", "end\x1b", "end "),
]


@pytest.mark.parametrize("text, shown", [c[1:] for c in PRINTABLE], ids=[c[0] for c in PRINTABLE])
def test_printable(text, shown):
    assert printable(text) == shown
    assert control_character(printable(text)) is None


@pytest.mark.parametrize("text, found", [("plain", None), ("tab\there", "U+0009"), ("esc\x1b[0m", "U+001B"),
                                         ("del\x7f", "U+007F"), ("c1\x85", "U+0085")],
                         ids=["plain", "tab", "escape", "delete", "C1 next line"])
def test_control_character_names_the_first(text, found):
    assert control_character(text) == found


@pytest.mark.parametrize("exercise_id, side, words, switch", [
    ("neck_side_bend", "right", "head tilted toward your right shoulder",
     "Switch sides: now head tilted toward your right shoulder."),
    ("standing_rotation", "left", "turned toward your left", "Switch sides: now turned toward your left."),
    ("knee_to_chest_single", "left", "left side", "Switch sides: now your left side."),
    ("knee_to_chest_single", None, "", "Switch sides."),
])
def test_sides_are_named_as_the_person_feels_them_for_overlay_voice_and_report(exercise_id, side, words, switch):
    from coach.engine.exercises import get_exercise
    from coach.usertext import side_words, switch_side_words

    ex = get_exercise(exercise_id)
    assert side_words(ex, side) == words
    assert switch_side_words(ex, side) == switch


@pytest.mark.parametrize("value, shown", [(42.4, "42°"), (-0.3, "0°"), (-0.0, "0°"), (-0.6, "-1°"), (179.6, "180°"),
                                          (float("nan"), "–"), (float("inf"), "–")])
def test_an_angle_that_rounds_to_zero_has_no_sign(value, shown):
    """The report's, the overlay's and compare's angles: a side bend of -0.3° reads "0°", not "-0°"."""
    from coach.physio.compare_report import _cell
    from coach.render.overlay import _number
    from coach.report.html import number

    assert degrees(value) == shown
    assert number(value) == _number(value, "deg") == _cell(value) == shown
