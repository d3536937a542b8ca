"""Benchmark: `coach record` against a bare MediaPipe loop on the same video with the same model.

    python bench/bench_record.py [VIDEO] [--model lite|full|heavy|PATH] [--frames N] [--repeat K]

The bare loop is the least a program can do: decode with OpenCV, convert to RGB, `detect_for_video`.
`coach record` does that plus tracking, records and writing the file (decoding in a thread, so it
can beat 1.0). Each run is a separate process, timed from start to exit, so both pay the same
interpreter and import costs; peak memory is each process's maximum resident set (os.wait4).
Without VIDEO, one is written to a temporary folder from ../shared/photos (640x480, 25 fps).
Prints the ratio coach / bare (goal <= 1.05) from the fastest of K runs of each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import bare_loop, timed_run, write_clip


def compare(video: Path, model: Path, num_poses: int, repeat: int, out: Path) -> dict:
    bare_cmd = [sys.executable, __file__, "--bare", str(video), "--model", str(model), "--num-poses", str(num_poses)]
    coach_cmd = [sys.executable, "-m", "coach", "record", str(video), "-o", str(out), "--model", str(model),
                 "--num-poses", str(num_poses), "--quiet"]
    runs = {"bare": [], "coach": []}
    for _ in range(repeat):  # alternate, so a slow spell of the machine hits both
        runs["bare"].append(timed_run(bare_cmd)[:2])
        runs["coach"].append(timed_run(coach_cmd)[:2])
    return {name: (min(t for t, _ in r), max(m for _, m in r)) for name, r in runs.items()}


def frame_count(video: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", help="the video (default: one made from ../shared/photos)")
    parser.add_argument("--model", default="full", help="lite|full|heavy|PATH (default full)")
    parser.add_argument("--num-poses", type=int, default=2)
    parser.add_argument("--frames", type=int, default=750, help="length of the made-up video (default 750)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the fastest counts (default 2)")
    parser.add_argument("--bare", metavar="VIDEO", help=argparse.SUPPRESS)  # the child process of the bare loop
    args = parser.parse_args()
    if args.bare:
        print(bare_loop(args.bare, args.model, args.num_poses))
        return
    from coach.pose.models import resolve_model

    model = resolve_model(args.model)
    with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
        video = Path(args.video) if args.video else write_clip(Path(tmp) / "bench.mp4", args.frames)
        n_frames = frame_count(video)
        result = compare(video, model, args.num_poses, args.repeat, Path(tmp) / "out.jsonl")
    (bare_s, bare_mb), (coach_s, coach_mb) = result["bare"], result["coach"]
    print(f"video {video.name}: {n_frames} frames; model {model.name}; num_poses {args.num_poses}; "
          f"fastest of {args.repeat} runs each")
    print(f"  bare mediapipe loop: {bare_s:6.2f} s  {1000 * bare_s / n_frames:5.1f} ms/frame  peak {bare_mb:6.0f} MB")
    print(f"  coach record:        {coach_s:6.2f} s  {1000 * coach_s / n_frames:5.1f} ms/frame  peak {coach_mb:6.0f} MB")
    print(f"  ratio coach / bare:  {coach_s / bare_s:.3f}  (goal <= 1.05)")


if __name__ == "__main__":
    main()
