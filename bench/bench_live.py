"""Benchmark: `coach live` display rate and capture-to-verdict latency, as a camera would drive it.

    python bench/bench_live.py [VIDEO] [--model lite|full|heavy|PATH] [--seconds S] [--exercise ID]

Runs the live loop exactly as `coach live --source VIDEO --realtime --no-window` does (the file is
paced by its timestamps like a camera; frames are drawn but not shown) and reports:
- display rate: frames drawn per second (goal >= 30 with the lite model at 640x480);
- capture-to-verdict latency: from the moment the capture thread hands a frame over to the moment
  its verdict exists (median and 90th percentile), against the median inference time alone
  (goal: latency <= one inference time + 10 ms);
- frames captured, analysed, and dropped as stale (dropped frames are never queued).
Without VIDEO, one is written to a temporary folder from ../shared/photos (640x480, 30 fps, each
photo held one second). The machine's load is printed too: other work on a 2-core machine shows up
directly in these numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from common import write_clip

FPS = 30.0
GOAL_FPS = 30.0
GOAL_LATENCY_MARGIN_MS = 10.0




def run(video: Path, model: str, exercise: str, out_dir: Path):
    """One live session, headless and paced; returns its LiveResult."""
    from coach.engine.exercises import get_exercise
    from coach.engine.routine import Routine
    from coach.pose.detector import PoseDetector
    from coach.pose.models import resolve_model
    from coach.render.display import NoWindow
    from coach.session.feed import open_feed
    from coach.session.live import LiveOptions, run_live

    feed = open_feed(str(video), detect=False)
    detector = PoseDetector(resolve_model(model, kind="camera"), "video", num_poses=2)
    try:
        return run_live(feed, Routine.single(get_exercise(exercise)), NoWindow(),
                        LiveOptions(out_dir, realtime=True), detector=detector)
    finally:
        feed.close()
        detector.close()


def report(result, video: Path, model: str) -> bool:
    """Print the numbers and whether the goals are met."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    latency_ms, p90_ms = result.latency_ms
    inference_ms = result.inference_ms
    fps_ok = result.display_fps >= GOAL_FPS
    latency_ok = latency_ms <= inference_ms + GOAL_LATENCY_MARGIN_MS
    print(f"video {video.name}, model {model}, {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f}")
    print(f"frames: {result.frames_captured} captured, {result.frames_analysed} analysed, "
          f"{result.frames_dropped} dropped as stale, {result.frames_shown} drawn in {result.wall_s:.1f} s")
    print(f"display rate      {result.display_fps:6.1f} frames/s   (goal >= {GOAL_FPS:.0f})  "
          f"{'ok' if fps_ok else 'MISSED'}")
    print(f"latency median    {latency_ms:6.1f} ms  (p90 {p90_ms:.1f} ms; goal <= inference + "
          f"{GOAL_LATENCY_MARGIN_MS:.0f} = {inference_ms + GOAL_LATENCY_MARGIN_MS:.1f} ms)  "
          f"{'ok' if latency_ok else 'MISSED'}")
    print(f"inference median  {inference_ms:6.1f} ms; a frame waited {result.wait_ms:.1f} ms (median) for the "
          f"detector; {latency_ms - inference_ms - result.wait_ms:.1f} ms went to handing over and the engine")
    return fps_ok and latency_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", nargs="?", help="a 640x480 video (default: one written from the shared photos)")
    parser.add_argument("--model", default="lite", help="lite | full | heavy | PATH (default lite)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the written video (default 20)")
    parser.add_argument("--exercise", default="knee_to_chest", help="the exercise coached (default knee_to_chest)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="coach-bench-live-") as tmp:
        frames = int(args.seconds * FPS)
        video = Path(args.video) if args.video else write_clip(Path(tmp) / "bench_live.mp4", frames, fps=FPS)
        result = run(video, args.model, args.exercise, Path(tmp) / "session")
        return 0 if report(result, video, args.model) else 1


if __name__ == "__main__":
    sys.exit(main())
