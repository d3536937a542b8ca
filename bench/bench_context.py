"""How often the view, posture and seen side change: per frame, and as the engine acts on them.

    python bench/bench_context.py [--quick] [--landmarks DIR]

For every shared recording (and its tracked/ and lite/ variants; `--quick`: originals only), run
through the engine as `coach analyze --exercise ID` runs it, this counts the changes of
- the per-frame readings (`coach.measure.posture` view and posture, `coach.engine.envelope.detect_side`
  on the frame's measures): "known" counts a change between two known values, "all" also every
  change to or from unknown (how issue 13 counted bridge__01's 197 view changes);
- the stable context (`coach.engine.context`): the engine's `context_changed` events.
The numbers in the docstring of `coach/engine/context.py` come from this script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_accuracy import SHARED, VARIANTS, load, names  # noqa: E402

CONTEXTS = ("view", "posture", "side")


def changes(values: list) -> tuple[int, int]:
    """(changes between known values, changes counting unknown as a value)."""
    known = [v for v in values if v not in (None, "unknown")]
    return (sum(a != b for a, b in zip(known, known[1:])), sum(a != b for a, b in zip(values, values[1:])))


def count(landmarks_dir: Path, variant: str, name: str) -> dict[str, tuple[int, int, int]]:
    """context -> (per-frame changes between known values, per-frame changes with unknown, stable changes)."""
    from coach.engine.envelope import detect_side
    from coach.engine.exercises import get_exercise
    from coach.engine.verdict import EventKind
    from coach.measure.measures import compute_measures
    from coach.session.analyze import new_coach

    exercise = get_exercise(name.split("__")[0])
    coach = new_coach(exercise, "recording")
    per_frame: dict[str, list] = {c: [] for c in CONTEXTS}
    stable = dict.fromkeys(CONTEXTS, 0)
    for f in load(landmarks_dir, variant, name):
        m = compute_measures(f.pose, f.others)
        per_frame["view"].append(m.view.value)
        per_frame["posture"].append(m.posture.value)
        per_frame["side"].append(detect_side(exercise, m))
        for e in coach.update(f.pose, f.t_s, others=f.others, measures=m).events:
            if e.kind == EventKind.CONTEXT_CHANGED:
                stable[e.details["context"]] += 1
    return {c: (*changes(per_frame[c]), stable[c]) for c in CONTEXTS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="original recordings only")
    ap.add_argument("--landmarks", type=Path, default=SHARED / "landmarks")
    args = ap.parse_args(argv)
    if not args.landmarks.is_dir():
        raise SystemExit(f"no recordings at {args.landmarks}: set COACH_SHARED or --landmarks")
    print(f"{'variant':8} {'recording':24} " + "  ".join(f"{c + ' known/all -> stable':>26}" for c in CONTEXTS))
    for variant in ("original",) if args.quick else VARIANTS:
        for name in names(args.landmarks):
            row = count(args.landmarks, variant, name)
            print(f"{variant:8} {name:24} " + "  ".join(f"{a:>12}/{b:<5} -> {s:<5}" for a, b, s in row.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
