"""Benchmark: measures + engine cost per frame, beside the pose model's inference time.

    python bench/bench_engine.py [--repeat K] [--models lite,full] [--frames N]

For every shared recording (../shared/landmarks, or $COACH_SHARED/landmarks) it replays the frames
through `compute_measures` and the live engine (`Coach.update_measures`, causal smoothing) and
times each frame; the fastest of K passes is reported (mean, median and 95th percentile per frame).
Then it times the MediaPipe Pose Landmarker (VIDEO mode) on N frames made from the shared photos at
640x480, for each model bundle found in $COACH_MODEL_DIR (default ../shared/models) - the cost the
engine adds to. Goal: measures + engine <= 1.5 ms per frame. The machine's load is printed too:
other work on a small machine shows up directly in these numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("COACH_SHARED", REPO.parent / "shared"))
MODELS = Path(os.environ.get("COACH_MODEL_DIR", SHARED / "models"))
GOAL_MS = 1.5
SIZE_PX = (640, 480)


def time_recording(path: Path, repeat: int) -> dict[str, np.ndarray]:
    """Per-frame milliseconds of measures, engine and both, from the fastest of `repeat` passes."""
    from coach.engine.core import Coach
    from coach.engine.exercises import get_exercise
    from coach.measure.measures import compute_measures
    from coach.measure.motion import presence
    from coach.pose.recording import Recording

    frames = list(Recording(path).frames())
    exercise = get_exercise(path.name.split("__")[0])
    best: dict[str, np.ndarray] | None = None
    for _ in range(repeat):
        coach, m_ms, e_ms = Coach(exercise), [], []
        for f in frames:
            t0 = time.perf_counter()
            m = compute_measures(f.pose, f.others)
            seen, framing = presence(f.pose)
            t1 = time.perf_counter()
            coach.update_measures(m, f.t_s, seen=seen, framing=framing)
            t2 = time.perf_counter()
            m_ms.append((t1 - t0) * 1e3)
            e_ms.append((t2 - t1) * 1e3)
        run = {"measures": np.array(m_ms), "engine": np.array(e_ms)}
        run["total"] = run["measures"] + run["engine"]
        if best is None or run["total"].sum() < best["total"].sum():
            best = run
    return best


def photo_frames(n: int):
    """`n` RGB frames at 640x480 from the shared photos, each photo held for 25 frames."""
    import cv2

    from coach.io.sources import Frame, image_files, read_image

    photos = image_files(SHARED / "photos")
    if not photos:
        return []
    stills = [cv2.resize(read_image(p), SIZE_PX, interpolation=cv2.INTER_AREA) for p in photos]
    return [Frame(i / 25.0, i, np.ascontiguousarray(stills[(i // 25) % len(stills)])) for i in range(n)]


def time_model(model: Path, frames) -> float | None:
    """Median milliseconds per detect_for_video call (the first 5 frames are warm-up)."""
    from coach.pose.detector import PoseDetector

    times = []
    with PoseDetector(model, "video") as detector:
        for i, frame in enumerate(frames):
            t0 = time.perf_counter()
            detector.detect(frame)
            if i >= 5:
                times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times) if times else None


def summary(label: str, ms: np.ndarray) -> str:
    return f"{label} {ms.mean():6.3f} mean {np.median(ms):6.3f} median {np.percentile(ms, 95):6.3f} p95"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes per recording; the fastest counts (default 3)")
    parser.add_argument("--models", default="lite,full", help="model bundles to time (default lite,full)")
    parser.add_argument("--frames", type=int, default=60, help="frames per model timing (default 60)")
    args = parser.parse_args(argv)
    recordings = sorted((SHARED / "landmarks").glob("*.jsonl.gz"))
    if not recordings:
        print(f"no recordings in {SHARED / 'landmarks'}: set COACH_SHARED", file=sys.stderr)
        return 2
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"ms per frame, fastest of {args.repeat} passes")
    everything = {"measures": [], "engine": [], "total": []}
    for path in recordings:
        result = time_recording(path, args.repeat)
        for key in everything:
            everything[key].append(result[key])
        print(f"{path.name.split('.')[0]:26} {len(result['total']):5} frames | "
              f"{summary('measures', result['measures'])} | {summary('engine', result['engine'])} | "
              f"{summary('both', result['total'])}")
    total = np.concatenate(everything["total"])
    print(f"{'all recordings':26} {len(total):5} frames | "
          f"{summary('measures', np.concatenate(everything['measures']))} | "
          f"{summary('engine', np.concatenate(everything['engine']))} | {summary('both', total)}")
    verdict = "meets" if total.mean() <= GOAL_MS else "MISSES"
    print(f"measures + engine: {total.mean():.3f} ms per frame (mean) - {verdict} the goal of <= {GOAL_MS} ms")
    frames = photo_frames(args.frames)
    for name in args.models.split(","):
        model = MODELS / f"pose_landmarker_{name}.task"
        if not model.exists() or not frames:
            print(f"model {name}: not timed ({model} or the shared photos missing)")
            continue
        infer = time_model(model, frames)
        print(f"model {name} inference (640x480, VIDEO mode): {infer:.1f} ms per frame (median) - "
              f"measures + engine add {100 * total.mean() / infer:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
