"""Benchmark `coach analyze`: speed against a bare MediaPipe loop, and memory against input length.

    python bench/bench_analyze.py [VIDEO] [--model lite|full|heavy|PATH] [--frames N] [--repeat K]
                                  [--exercise ID] [--skip-speed] [--skip-memory]

1. Speed: `coach analyze VIDEO --no-video --quiet` against the least a program can do - decode with
   OpenCV, convert to RGB, `detect_for_video` - on the same video with the same model. Each run is a
   separate process timed from start to exit, so both pay the same interpreter and import costs;
   the runs alternate and the fastest of K counts. Goal: ratio <= 1.05.
2. Memory: `coach analyze` (with annotated.mp4) on a clip and on the same clip concatenated 10
   times; peak resident memory of each process (resource usage from os.wait4, ru_maxrss). Goal: about
   equal (streaming: no frame is kept).
Without VIDEO, a clip is written to a temporary folder from ../shared/photos (640x480, 25 fps, each
photo held one second, so VIDEO mode tracks as in a real video).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from common import bare_loop, timed_run, write_clip


def analyze_cmd(video: Path, model: Path, exercise: str, out: Path, video_out: bool) -> list[str]:
    cmd = [sys.executable, "-m", "coach", "analyze", str(video), "--exercise", exercise, "--model", str(model),
           "--out", str(out), "--quiet"]
    return cmd if video_out else cmd + ["--no-video"]


def speed(video: Path, model: Path, exercise: str, repeat: int, tmp: Path) -> dict[str, tuple[float, float]]:
    """name -> (fastest wall seconds, CPU seconds of that run)."""
    bare = [sys.executable, __file__, "--bare", str(video), "--model", str(model)]
    coach = analyze_cmd(video, model, exercise, tmp / "speed", video_out=False)
    runs: dict[str, list[tuple[float, float]]] = {"bare": [], "coach": []}
    for _ in range(repeat):   # alternate, so a slow spell of the machine hits both
        for name, cmd in (("bare", bare), ("coach", coach)):
            wall_s, _, cpu_s = timed_run(cmd)
            runs[name].append((wall_s, cpu_s))
    return {name: min(times) for name, times in runs.items()}


def memory(model: Path, exercise: str, n_frames: int, tmp: Path) -> dict[str, float]:
    clips = {"clip": write_clip(tmp / "clip.mp4", n_frames), "clip x10": write_clip(tmp / "clip10.mp4", n_frames, 10)}
    return {name: timed_run(analyze_cmd(path, model, exercise, tmp / name.replace(" ", ""), video_out=True))[1]
            for name, path in clips.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", help="the video for the speed test (default: one made from the photos)")
    parser.add_argument("--model", default="full", help="lite|full|heavy|PATH (default full)")
    parser.add_argument("--memory-model", default="lite", help="model for the memory test (default lite)")
    parser.add_argument("--exercise", default="bridge", help="exercise analysed (default bridge)")
    parser.add_argument("--frames", type=int, default=250, help="length of the made-up speed video (default 250)")
    parser.add_argument("--clip-frames", type=int, default=100, help="length of the memory clip (default 100)")
    parser.add_argument("--repeat", type=int, default=2, help="speed runs of each; the fastest counts (default 2)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--bare", metavar="VIDEO", help=argparse.SUPPRESS)   # the bare loop's child process
    args = parser.parse_args()
    if args.bare:
        print(bare_loop(args.bare, args.model, 2))
        return
    from coach.pose.models import resolve_model

    with tempfile.TemporaryDirectory(prefix="coach-bench-analyze-") as folder:
        tmp = Path(folder)
        os.environ["COACH_DB"] = str(tmp / "history.sqlite")   # the runs' sessions stay out of the user's history
        if not args.skip_speed:
            model = resolve_model(args.model)
            video = Path(args.video) if args.video else write_clip(tmp / "bench.mp4", args.frames)
            t = speed(video, model, args.exercise, args.repeat, tmp)
            print(f"speed: {video.name}, {args.frames if not args.video else '?'} frames, model {model.name}, "
                  f"fastest of {args.repeat}")
            for name, label in (("bare", "bare decode + detect_for_video"), ("coach", "coach analyze --no-video")):
                print(f"  {label:31s} {t[name][0]:7.2f} s  (CPU {t[name][1]:7.2f} s, all threads)")
            print(f"  ratio analyze / bare:           {t['coach'][0] / t['bare'][0]:.3f}  (goal <= 1.05; wall time)")
        if not args.skip_memory:
            model = resolve_model(args.memory_model)
            m = memory(model, args.exercise, args.clip_frames, tmp)
            print(f"memory: coach analyze with annotated.mp4, model {model.name}, peak resident")
            print(f"  clip ({args.clip_frames} frames):        {m['clip']:7.0f} MB")
            print(f"  clip x10 ({10 * args.clip_frames} frames):   {m['clip x10']:7.0f} MB")
            print(f"  ratio x10 / x1:              {m['clip x10'] / m['clip']:.3f}  (goal: about 1)")


if __name__ == "__main__":
    main()
