"""`coach exercises list | show ID | validate PATH...`: the exercise library from the command line.

User folders (`--exercises DIR`, repeatable, or $COACH_EXERCISES) are loaded and validated exactly
like the shipped files; an exercise there replaces a shipped one with the same id.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from coach.cli.options import add_exercises

HELP = "list, show and validate exercise files"
EXAMPLE = "coach exercises show bridge"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    folders = argparse.ArgumentParser(add_help=False)
    add_exercises(folders)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help_text: str, example: str, **kwargs) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, epilog=f"Example:\n  {example}",
                              formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    action("list", "one line per exercise: id, name, posture, view, hold", "coach exercises list --exercises my_exercises/",
           parents=[folders])
    show = action("show", "an exercise's steps, envelope table, view and limits", "coach exercises show seated_spinal_twist",
                  parents=[folders])
    show.add_argument("id", metavar="ID|FILE.toml", help="exercise id, e.g. bridge, or an exercise file")
    check = action("validate", "check exercise files; one line per file; exit 2 if any is bad",
                   "coach exercises validate my_exercises/*.toml")
    check.add_argument("paths", nargs="+", metavar="PATH", help="a .toml file or a folder of them")


def run(args: argparse.Namespace) -> int:
    if args.action == "validate":
        return _validate(args.paths)
    from coach.engine.exercises import exercise_named, load_library

    if args.action == "list":
        _print_list(load_library(args.exercises))
    else:
        _print_show(exercise_named(args.id, args.exercises))   # an id, or a file as --exercise takes it
    return 0


def _out(text: str) -> None:
    """Print one line of user text (names, steps, hints come from files): escape codes stripped."""
    from coach.usertext import printable

    print(printable(text))


def _hold_text(ex) -> str:
    holds = " + ".join(f"{p.hold_s:g}" for p in ex.phases)
    per = " per side" if ex.sides == "left_right" else ""
    return f"{holds} s x {ex.reps_per_side}{per}"


def _print_list(library) -> None:
    rows = [(ex.id, ex.name, ",".join(p.value for p in ex.posture), ",".join(v.value for v in ex.view),
             _hold_text(ex)) for ex in sorted(library.values(), key=lambda e: e.id)]
    rows.insert(0, ("ID", "NAME", "POSTURE", "VIEW", "HOLD"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        _out("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])


def measure_words(key: str) -> str:
    """An envelope key as shown: a plain measure name as in the file; a template key in words, never
    raw ("knee_{side}_deg" -> "knee, working side"; "shoulder_{other}_deg" -> "shoulder, other side")."""
    if "{side}" not in key and "{other}" not in key:
        return key
    base = key.split("_{")[0].replace("_", " ")
    return f"{base}, {'working' if '{side}' in key else 'other'} side"


def _band_row(key: str, band, views) -> list[str]:
    from coach.measure.conventions import SPEC

    spec = SPEC[key.replace("{side}", "left").replace("{other}", "right")]
    rel = " ".join(f"{v.value}:{spec.reliability[v].value}" for v in views)
    unit = "°" if spec.unit == "deg" else f" {spec.unit}"
    return [measure_words(key), f"{band.min:g}..{band.max:g}{unit}", f"±{band.hysteresis:g}", band.min_reliability, rel,
            f"{band.hint_low} / {band.hint_high}"]


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        _out("    " + "  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])


def _print_show(ex) -> None:
    _out(f"{ex.id}: {ex.name}")
    _out(f"  {ex.summary}")
    _out(f"  posture: {', '.join(p.value for p in ex.posture)}    view: {', '.join(v.value for v in ex.view)}")
    sides = f"left and right (side from {ex.side_from})" if ex.sides == "left_right" else "none"
    _out(f"  sides: {sides}    hold: {_hold_text(ex)}    rest: {ex.rest_s:g} s"
          + ("    guided hold (no angle claimed)" if ex.guided else ""))
    if ex.anchor:
        from coach.measure.conventions import measure_label

        _out(f"  anchor: {measure_label(ex.anchor)} (a hold is timed only while it reads at medium reliability or better)")
    _out("  steps:")
    for i, step in enumerate(ex.instructions, 1):
        _out(f"    {i}. {step}")
    for phase in ex.phases:
        _out(f"  phase {phase.name}: hold {phase.hold_s:g} s" + (f" - {phase.cue}" if phase.cue else ""))
        if phase.envelope:
            header = ["MEASURE", "TARGET", "HYST", "JUDGED AT", "RELIABILITY BY VIEW", "HINTS (low / high)"]
            _print_table([header, *(_band_row(k, b, ex.view) for k, b in phase.envelope.items())])
        else:
            _out("    (no envelope: timed while posture and view fit)")
    s = ex.safety
    _out(f"  safety: twist <= {s.max_twist_deg:g}° ({s.max_twist_flexed_deg:g}° while bent forward past "
          f"{s.flexed_trunk_deg:g}°); neck flexion <= {s.neck_flexion_max_deg:g}°, extension <= "
          f"{s.neck_extension_max_deg:g}°, rotation <= {s.neck_rotation_max_deg:g}°, side tilt <= "
          f"{s.neck_lateral_max_deg:g}°; hands on the neck "
          f"{'forbidden' if s.hands_on_neck_forbidden else 'allowed'}; speed <= {s.max_speed_deg_s:g}°/s")
    _out("  sources:")
    for source in ex.sources:
        _out(f"    - {source}")


def _expand(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    return out


def _validate(paths: list[str]) -> int:
    from coach.engine.exercises import load_exercise_file
    from coach.errors import ExerciseError

    files, bad = _expand(paths), 0
    if not files:
        _out(f"FAIL {' '.join(paths)}: no .toml files found")
        return 2
    empty = [p for p in map(Path, paths) if p.is_dir() and not any(p.glob("*.toml"))]
    for folder in empty:   # said, not skipped, beside the files that were found
        bad += 1
        _out(f"FAIL {folder}: no .toml files found in this folder")
    for path in files:
        try:
            ex = load_exercise_file(path)
        except ExerciseError as exc:
            bad += 1
            _out(f"FAIL {exc}")
        else:
            _out(f"OK   {path} ({ex.id})")
    return 2 if bad else 0
