"""Benchmark: how much of the accuracy survives a camera nobody here filmed with.

    python bench/bench_stress.py [--variants original,tracked,lite] [--json FILE]

The footage the coach is judged on is not in ../shared. This runs `bench_accuracy`'s scoring (the
same engine run as `coach analyze`, the same truth matching) on every shared recording after each
transform of `bench/transforms.py` - the metamorphic tests' changes, taken further - and prints the
totals per condition, so a change that helps the seven recordings as filmed but not as another camera
would film them shows here:

  as filmed      the recording itself (the reference row)
  15 fps         resampled to 15 frames per second (a slow webcam; frames held, not interpolated)
  drop 20 %      a fifth of the frames lost at random (seed 1): a busy machine
  roll +-10 deg  the camera rolled about its axis (twice the metamorphic tests' 5 deg): a phone
                 propped at an angle
  noise          the lite model's measured per-frame jitter and lite-full offset (`bench_accuracy.noisy`)
  all at once    noise, roll +5 deg, 15 fps and 10 % of frames lost together

Truth times are kept by every transform, so the truth files score every condition. No model is needed.
Columns: F1 (holds, IoU >= 0.5), hold time error, stop alerts inside clean holds, neck intervals with
an alert / expected.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_accuracy as acc  # noqa: E402
from transforms import drop_frames, resample, roll  # noqa: E402

SLOW_FPS = 15.0
DROP, DROP_SEED = 0.2, 1
ROLL_DEG = 10.0


def _all_at_once(frames: list) -> list:
    return drop_frames(resample(roll(acc.noisy(frames), 5.0), SLOW_FPS), 0.1, DROP_SEED)


CONDITIONS = {
    "as filmed": lambda f: f,
    "15 fps": lambda f: resample(f, SLOW_FPS),
    "drop 20 %": lambda f: drop_frames(f, DROP, DROP_SEED),
    "roll +10 deg": lambda f: roll(f, ROLL_DEG),
    "roll -10 deg": lambda f: roll(f, -ROLL_DEG),
    "noise": acc.noisy,
    "all at once": _all_at_once,
}


def score_one(landmarks_dir: Path, variant: str, name: str, transform) -> acc.Score:
    from coach.engine.core import EngineSettings
    from coach.engine.exercises import get_exercise

    truth = acc.truth_of(landmarks_dir, name)
    exercise = get_exercise(truth["stretch"])
    settings = EngineSettings()
    verdicts = acc.run_fixed(transform(acc.load(landmarks_dir, variant, name)), exercise.id)
    return acc.score(truth, verdicts, exercise, settings.max_frame_gap_s, settings.grace_s,
                     variant=variant, mirrored=False, name=name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", default=",".join(acc.VARIANTS))
    ap.add_argument("--landmarks", type=Path, default=acc.SHARED / "landmarks")
    ap.add_argument("--json", type=Path, help="also write the totals to this file")
    args = ap.parse_args(argv)
    if not args.landmarks.is_dir():
        raise SystemExit(f"no recordings at {args.landmarks}: set COACH_SHARED or --landmarks")
    variants = [v for v in args.variants.split(",") if v]
    start = time.perf_counter()
    result: dict[str, dict] = {}
    print(f"{'condition':14} {'variant':8} {'F1':>5} {'lowest':>6} {'hold':>6} {'stop':>4} {'neck':>5}")
    for label, transform in CONDITIONS.items():
        everyone = []
        for variant in variants:
            if variant != "original" and not (args.landmarks / variant).is_dir():
                continue
            scores = [score_one(args.landmarks, variant, n, transform) for n in acc.names(args.landmarks)]
            everyone += scores
            tot = acc.totals(scores)
            result.setdefault(label, {})[variant] = tot
            print(f"{label:14} {variant:8} {tot['f1']:5.2f} {tot['min_f1']:6.2f} {acc._pct(tot['hold_err'])} "
                  f"{tot['stop_alerts']:4d} {tot['neck_n']:>5}")
        tot = acc.totals(everyone)
        result[label]["all"] = tot
        print(f"{label:14} {'all':8} {tot['f1']:5.2f} {tot['min_f1']:6.2f} {acc._pct(tot['hold_err'])} "
              f"{tot['stop_alerts']:4d} {tot['neck_n']:>5}\n")
    base = result["as filmed"]["all"]["f1"]
    worst = min(result, key=lambda k: result[k]["all"]["f1"])
    print(f"F1 as filmed {base:.2f}; the worst condition, {worst}: {result[worst]['all']['f1']:.2f} "
          f"({result[worst]['all']['f1'] / base:.2f} of it)" if base else "no holds scored")
    return acc.finish(result, args.json, start)


if __name__ == "__main__":
    raise SystemExit(main())
