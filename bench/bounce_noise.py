"""Where the bouncing rule's numbers come from (`coach.engine.core.EngineSettings`), re-run to re-measure:

    python bench/bounce_noise.py [--landmarks DIR] [--hours H] [--no-recordings]

1. Measure noise on still holds: for every shared recording and variant (original, tracked/, lite/),
   the noise SD of each angle measure read at medium reliability or better, as the engine estimates
   it online (`coach.measure.motion.NoiseLevel`: the RMS of second differences / sqrt(6)), over
   the truth's still holds (bench/noise_levels.py `still_spans`). Printed per recording: the median
   over its measures and the largest, with that measure's name.
2. The false-alarm rate of the bounce count on pure noise: white Gaussian noise of SD 1, 3 and 7 deg
   through the engine's own One Euro filter, every sample near end range (the worst case), the
   swing max(k x the online noise, `bounce_amplitude_deg`), turning points `bounce_min_gap_s` apart:
   how often the count reaches `BOUNCE_REVERSALS` in `bounce_window_s`, for k = 2, 3, 4, at 15 and
   30 fps, over H hours of one measure (100 measures in parallel).
3. Detection: a +-10 deg bounce at 2 Hz with noise of SD 0.3, 1 and 2 deg: when the count first
   reaches `BOUNCE_REVERSALS` (s after the bounce began).
Measured (written beside `bounce_noise_k`, --hours 5): k = 4 gives no onset at every SD and rate;
k = 3 gives 2 at SD 7 / 15 fps, k = 2 hundreds; a bounce is counted within 1.3-1.9 s.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_accuracy as bench  # noqa: E402
import noise_levels  # noqa: E402

from coach.engine.core import EngineSettings  # noqa: E402
from coach.engine.exercises import reliability_at_least  # noqa: E402
from coach.engine.safety import BOUNCE_REVERSALS  # noqa: E402
from coach.measure.conventions import MEASURE_NAMES, Reliability  # noqa: E402
from coach.measure.measures import compute_measures  # noqa: E402
from coach.measure.motion import NoiseLevel, ReversalTracker  # noqa: E402
from coach.measure.smoothing import OneEuroFilter  # noqa: E402

SHARED = Path(os.environ.get("COACH_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))
DEG = [i for i, n in enumerate(MEASURE_NAMES) if n.endswith("_deg")]


def recording_noise(landmarks_dir: Path) -> None:
    for variant in bench.VARIANTS:
        for name in noise_levels.names(landmarks_dir):
            frames = bench.load(landmarks_dir, variant, name)
            spans = noise_levels.still_spans(bench.truth_of(landmarks_dir, name))
            sds: dict[str, list[float]] = {}
            for a, b in spans:
                noise = NoiseLevel(len(MEASURE_NAMES), window_s=EngineSettings().noise_window_s)
                for f in (f for f in frames if a <= f.t_s <= b):
                    m = compute_measures(f.pose, f.others)
                    ok = np.array([reliability_at_least(r, Reliability.MEDIUM) for r in m.reliability])
                    sd = noise.step(np.where(ok, m.values, np.nan), f.t_s)
                for i in DEG:
                    if math.isfinite(sd[i]):
                        sds.setdefault(MEASURE_NAMES[i], []).append(float(sd[i]))
            if not sds:
                print(f"{variant:8s} {name:26s} no still hold long enough")
                continue
            per = {k: float(np.median(v)) for k, v in sds.items()}
            worst = max(per, key=per.get)
            print(f"{variant:8s} {name:26s} median {np.median(list(per.values())):.2f} deg, "
                  f"largest {per[worst]:.2f} ({worst})")


def bounce_count(k: float, fps: float, seconds: float, sd: float, bounce_deg: float = 0.0,
                 columns: int = 100, seed: int = 0) -> tuple[int, float]:
    """(alarm onsets over all columns, first alarm time) for noise of `sd` (+ a 2 Hz bounce)."""
    s = EngineSettings()
    rng = np.random.default_rng(seed)
    smooth = OneEuroFilter(columns, min_cutoff_hz=s.min_cutoff_hz, beta=s.beta, d_cutoff_hz=s.d_cutoff_hz,
                           max_gap_s=s.max_gap_s)
    tracker = ReversalTracker(columns, amplitude_deg=s.bounce_amplitude_deg, window_s=s.bounce_window_s,
                              min_gap_s=s.bounce_min_gap_s)
    noise = NoiseLevel(columns, window_s=s.noise_window_s)
    near, above, onsets, first = np.ones(columns, dtype=bool), np.zeros(columns, dtype=bool), 0, math.nan
    for i in range(int(seconds * fps)):
        t = i / fps
        v = sd * rng.standard_normal(columns) + bounce_deg * math.sin(2 * math.pi * 2.0 * t)
        swing = np.maximum(k * noise.step(v, t), s.bounce_amplitude_deg)
        tracker.step(smooth(v, t).values, near, t, swing)
        counts = Counter(j for _, j in tracker._recent)
        now = np.array([counts.get(j, 0) >= BOUNCE_REVERSALS for j in range(columns)])
        onsets += int((now & ~above).sum())
        if now.any() and not math.isfinite(first):
            first = t
        above = now
    return onsets, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--landmarks", type=Path, default=SHARED / "landmarks")
    ap.add_argument("--hours", type=float, default=1.0, help="hours of noise per case (10 for the written numbers)")
    ap.add_argument("--no-recordings", action="store_true", help="skip the recordings' measured noise")
    args = ap.parse_args()
    if not args.no_recordings:
        recording_noise(args.landmarks)
    seconds = args.hours * 3600 / 100   # 100 columns in parallel
    for sd in (1.0, 3.0, 7.0):
        for k in (2.0, 3.0, 4.0):
            for fps in (15.0, 30.0):
                onsets, _ = bounce_count(k, fps, seconds, sd)
                print(f"noise SD {sd:g} deg, k {k:g}, {fps:g} fps: {onsets} onsets in {args.hours:g} h")
    for sd in (0.3, 1.0, 2.0):
        for fps in (15.0, 30.0):
            _, first = bounce_count(EngineSettings().bounce_noise_k, fps, 10.0, sd, bounce_deg=10.0, columns=20)
            print(f"+-10 deg 2 Hz bounce, noise SD {sd:g} deg, {fps:g} fps: counted after {first:.2f} s")


if __name__ == "__main__":
    main()
