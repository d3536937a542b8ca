"""Text a user wrote (names, instructions, file names), checked before it is stored and cleaned
before it reaches a terminal.

An exercise file, a recording's label or a file name can hold anything: a newline that breaks a
one-line message or the TOML written from it, or a terminal escape code (`ESC[2J` clears the
screen, `ESC]0;...` retitles the window, `ESC]52;...` writes the clipboard). Exercise files are
refused when their text holds control characters (`control_character`); everything printed goes
through `printable`, which drops escape sequences, turns other control characters into spaces and
drops the bidirectional overrides that can make text read differently from what it is.

It is also where the words the coach says to a person about their sides are made, so the overlay,
the spoken cues and the report name a side the same way (`side_words`,
`switch_side_words`): the person's own left / right (../shared/landmarks/FORMAT.md), and for a
`sign:` side rule the way the person feels it ("head tilted toward your right shoulder").
"""

from __future__ import annotations

import math
import re
import unicodedata

# ECMA-48 escape sequences: CSI (ESC [ ... final), OSC / DCS / APC / PM / SOS strings (up to BEL or
# ESC \), and the two-character escapes; the 8-bit CSI (U+009B) the same way.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                      r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
                      r"|\x1b[ -/]*[0-~]")
# Bidirectional embeddings, overrides and isolates: invisible, and they reorder what follows.
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None)


def is_control(char: str) -> bool:
    """C0 and C1 control characters and DEL (Unicode category Cc), tab and newline included."""
    return unicodedata.category(char) == "Cc"


def control_character(text: str) -> str | None:
    """The first control character of `text` as `U+000A`, or None when there is none."""
    found = next((c for c in text if is_control(c)), None)
    return None if found is None else f"U+{ord(found):04X}"


def printable(text: str) -> str:
    """`text` safe to print on a terminal, on one line: escape sequences dropped, other control
    characters shown as a space, bidirectional overrides dropped."""
    text = _ESCAPES.sub("", str(text)).translate(_BIDI)
    return "".join(" " if is_control(c) else c for c in text)


def degrees(value: float) -> str:
    """An angle as a person reads it, to the whole degree: "42°"; a value that rounds to zero is "0°",
    never "-0°" (a median of -0.3° is no direction); "–" when unknown."""
    return f"{round(value) + 0:d}°" if math.isfinite(value) else "–"


# --- rules, in words ---------------------------------------------------------------------------------

# Every safety rule's title, as the summaries (terminal, window), the report and its plots name it: a
# person never reads a rule's id ("ballistic"). The ids are the engine's (`coach.engine.safety.RULES`,
# and the live session's "pain_reported"); a test keeps every one of them here.
RULE_WORDS = {"twist": "Twisting too far", "neck_flexion": "Neck bent too far forward",
              "neck_extension": "Head tipped too far back", "neck_rotation": "Head turned too far",
              "neck_lateral": "Head tilted too far", "neck_stretch": "Neck stretch: keep it gentle",
              "hand_on_head": "Hand on the head or neck",
              "partner_hands_on_head": "Someone else's hands on the head",
              "ballistic": "Moving too fast at the end of the stretch", "bouncing": "Bouncing at the end of the stretch",
              "landmarks_missing": "Body parts out of view", "wrong_view": "Camera angle not suitable",
              "too_far": "Too far from the camera", "too_close": "Too close to the camera",
              "person_lost": "Person out of view", "pain_reported": "Pain reported"}


def rule_words(rule_id: str) -> str:
    """A rule's title ("Moving too fast at the end of the stretch"); a rule of an unknown id (a newer file's) in
    words made from the id, never the id itself."""
    return RULE_WORDS.get(rule_id) or rule_id.replace("_", " ").strip().capitalize() or "A safety rule"


# --- sides, in the words said to the person ---------------------------------------------------------

def side_words(exercise, side: str | None) -> str:
    """The working side in the words shown and said to the person. A `sign:` rule names the side the
    measure moves toward, so its words say so ("head tilted toward your right shoulder"); other rules
    name a side of the body ("right side"). "" when the side is unknown."""
    from coach.measure.conventions import SPEC

    if side not in ("left", "right"):
        return ""
    kind, _, arg = (exercise.side_from or "").partition(":")
    toward = SPEC[arg].toward if kind == "sign" and arg in SPEC else ""
    return toward.replace("{side}", side) if toward else f"{side} side"


def switch_side_words(exercise, side: str) -> str:
    """What to say when the coach moves to the other side: "Switch sides: now head tilted toward your
    left shoulder." for a `sign:` rule, else "Switch sides: now your left side."."""
    words = side_words(exercise, side)
    if not words:
        return "Switch sides."
    return f"Switch sides: now {words}." if words != f"{side} side" else f"Switch sides: now your {words}."
