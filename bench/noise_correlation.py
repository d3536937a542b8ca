"""How sure a stillness slope is, measured: the scatter of the net-speed slope on still holds against
the standard error the slope's own window claims, at the recordings' frame rates and thinned ones.

    python bench/noise_correlation.py [--landmarks DIR]

The engine calls a measure still when its net speed - the least-squares slope of its measured values
over `EngineSettings.still_window_s`, less `still_noise_k` standard errors (`coach.measure.motion.NetSpeed`)
- is small. That standard error assumes each sample's noise is independent. Here, for every truth hold
of every shared recording and variant (less 0.5 s at each end: the truth's boundary uncertainty, so
what is left is still), every angle the recording's exercise bands, read at medium reliability or
better, is cut into back-to-back windows of that length; each window gives a slope and its naive
standard error. On a still hold the slope's true value is about 0, so the spread of the slopes over
the windows is the error the slope really has. Reported per frame rate (the recording's own, and the
recording thinned to every 2nd and 4th frame, kept at 12 fps or more):

- naive: spread of the slopes / root mean square of the naive standard errors (1 = the error is right;
  larger = the samples' noise is not independent, and the error claims too much);
- capped: the same with the error counting at most `EngineSettings.still_max_rate_hz` samples a
  second, as the engine does (the same at 30 and 60 fps = a faster camera reads the same);
- decorrelation rate: frame rate / naive ratio squared, the rate of independent noise samples that
  would explain the ratio (white noise: the frame rate itself).

Measured on the shared set (all three variants; recorded here so a drift shows): naive ratio median
1.60 at 12-15 fps, 2.19 at 24-30 fps, 3.02 at 60 fps; capped at 30 Hz, 60 fps reads 2.20 (as 24-30
fps); decorrelation rate median 5.7 Hz (10-90 %: 2.1-9.9 Hz). So the slope's error is too small at
every rate (its margin `still_noise_k` was set with it as it is, on mostly 24-30 fps recordings), and
the cap removes only its growth above 30 fps; below 30 fps the error still reads larger.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import bench_accuracy as bench  # noqa: E402

from coach.engine.core import EngineSettings  # noqa: E402
from coach.engine.envelope import resolve_key  # noqa: E402
from coach.engine.exercises import get_exercise  # noqa: E402
from coach.engine.readout import DEG  # noqa: E402
from coach.measure.conventions import MEASURE_NAMES  # noqa: E402
from coach.measure.measures import compute_measures  # noqa: E402
from coach.physio.teach_holds import MEDIUM_RANK, MeasureSeries  # noqa: E402

SHARED = Path(os.environ.get("COACH_SHARED", REPO.parent / "shared"))
RECORDINGS = ("bridge__01", "cat_cow__01", "childs_pose__01", "neck_side_bend__01", "prone_extension__01",
              "seated_spinal_twist__01", "supine_twist__01")
EDGE_S = 0.5          # the truth's boundary uncertainty, trimmed from each end of a hold
MIN_RATE_HZ = 12.0    # thinned streams slower than this are left out
MIN_SAMPLES = 4       # a window with fewer measured samples gives no slope here
MIN_WINDOWS = 8       # fewer windows than this for a measure at a rate: no number


def slope_and_error(t: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """The least-squares slope of v over t and its naive standard error (independent noise)."""
    tc, vc = t - t.mean(), v - v.mean()
    sxx = float((tc * tc).sum())
    slope = float((tc * vc).sum()) / sxx
    rss = float(((vc - slope * tc) ** 2).sum())
    return slope, math.sqrt(rss / max(len(t) - 2, 1) / sxx)


def banded_angles(exercise_id: str) -> list[int]:
    names = {resolve_key(key, side) for phase in get_exercise(exercise_id).phases for key in phase.envelope
             for side in ("left", "right")}
    return [MEASURE_NAMES.index(n) for n in sorted(n for n in names if n) if DEG[MEASURE_NAMES.index(n)]]


def measure(landmarks: Path, settings: EngineSettings) -> list[dict]:
    """One row per (variant, recording, measure, rate): naive and capped ratios, the decorrelation rate."""
    rows = []
    window_s, cap_hz = settings.still_window_s, settings.still_max_rate_hz
    for variant in bench.VARIANTS:
        for name in RECORDINGS:
            frames = bench.load(landmarks, variant, name)
            series = MeasureSeries.from_measures([f.t_s for f in frames],
                                                 [compute_measures(f.pose, f.others) for f in frames])
            truth = bench.truth_of(landmarks, name)
            holds = [(a + EDGE_S, b - EDGE_S) for a, b, _ in bench.truth_holds(truth) if b - a > 2 * EDGE_S + window_s]
            values, t_all = series.reliable(MEDIUM_RANK), series.t_s
            fps = 1.0 / float(np.median(np.diff(t_all)))
            for i in banded_angles(truth["stretch"]):
                for step in (1, 2, 4):
                    if fps / step < MIN_RATE_HZ:
                        continue
                    slopes, naive, capped = [], [], []
                    for a, b in holds:
                        start = a
                        while start + window_s <= b:
                            idx = np.flatnonzero((t_all >= start) & (t_all < start + window_s))[::step]
                            t, v = t_all[idx], values[idx, i]
                            ok = np.isfinite(v)
                            if ok.sum() >= MIN_SAMPLES:
                                slope, se = slope_and_error(t[ok], v[ok])
                                n = int(ok.sum())
                                counted = min(n, (t[ok].max() - t[ok].min()) * cap_hz + 1)
                                slopes.append(slope)
                                naive.append(se)
                                capped.append(se * math.sqrt(n / counted))
                            start += window_s
                    if len(slopes) < MIN_WINDOWS:
                        continue
                    spread = float(np.std(slopes))
                    ratio = spread / math.sqrt(float(np.mean(np.square(naive))))
                    rows.append({"variant": variant, "recording": name, "measure": MEASURE_NAMES[i],
                                 "rate_hz": fps / step, "windows": len(slopes), "spread_deg_s": spread,
                                 "naive": ratio, "capped": spread / math.sqrt(float(np.mean(np.square(capped)))),
                                 "decorrelation_hz": fps / step / ratio ** 2})
    return rows


def _bucket(rate_hz: float) -> str:
    return "12-15" if rate_hz < 20 else "24-30" if rate_hz < 45 else "60"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landmarks", type=Path, default=SHARED / "landmarks")
    args = parser.parse_args(argv)
    if not args.landmarks.is_dir():
        print(f"noise_correlation: {args.landmarks}: no such folder (set COACH_SHARED)", file=sys.stderr)
        return 2
    rows = measure(args.landmarks, EngineSettings())
    for r in rows:
        print(f"{r['variant']:8s} {r['recording']:24s} {r['measure']:22s} {r['rate_hz']:5.1f} fps "
              f"{r['windows']:3d} windows  slope spread {r['spread_deg_s']:5.1f} deg/s  naive x{r['naive']:4.2f}  "
              f"capped x{r['capped']:4.2f}")
    print()
    for bucket in ("12-15", "24-30", "60"):
        sel = [r for r in rows if _bucket(r["rate_hz"]) == bucket]
        if sel:
            print(f"{bucket:>5} fps  slope spread / its error: naive median x{np.median([r['naive'] for r in sel]):.2f}, "
                  f"capped at {EngineSettings().still_max_rate_hz:g} Hz x{np.median([r['capped'] for r in sel]):.2f}"
                  f"  ({len(sel)} measures)")
    rates = [r["decorrelation_hz"] for r in rows]
    lo, hi = np.percentile(rates, [10, 90])
    print(f"decorrelation rate: median {np.median(rates):.1f} Hz (10-90 %: {lo:.1f}-{hi:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
