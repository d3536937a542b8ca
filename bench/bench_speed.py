"""Benchmark: is `coach analyze` faster than real time, and no slower than a bare MediaPipe loop?

    python bench/bench_speed.py [--quick] [--repeat K] [--seconds S] [--model lite|full|heavy|PATH]

Two clips are made at run time from one of ../shared/photos (a real person, so MediaPipe tracks
them): 1920x1080 at 60 fps and 854x480 at 30 fps, the photo moving slowly over a grey canvas
(a drift and a slight zoom, like a person shifting in front of a phone). For each clip, in one run:

- `coach analyze CLIP` with all its defaults (exercise auto, annotated video, report, the default
  model and number of poses): wall time, and the real-time factor = clip duration / wall time
  (goal >= 1.5 on the 1080p60 clip);
- the bare loop: decode the whole file with OpenCV (every frame, as `cap.read()` gives it), and run
  the same model with one pose in VIDEO mode on the frames coach analyses (the ones its rate cap
  keeps), nothing else; and the ratio analyze / bare (goal <= 1.0).

Each run is also charged its CPU seconds (user + system, every thread, as the kernel counts them
at exit): the CPU line prints them and the ceiling they set on `os.cpu_count()` cores - the
real-time factor cannot pass clip duration / (analyze CPU / cores), however well the work overlaps.
Unlike wall time, CPU seconds barely move when the machine is busy with other work.

Each run is a separate process timed from start to exit (both pay the interpreter and imports);
the two alternate, A B A B, so a slow spell of the shared machine hits both; the figures are
medians over the repeats, and the ratio is the median of the pair-by-pair ratios.
`--quick` (CI): shorter clips and one repeat - it checks that the benchmark runs and prints its
numbers, not that the goals are met (a timing test would fail on a loaded machine).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import SHARED, timed_run

PHOTO = "pelvic_tilt__Standing_Pelvic_Tilt__0.jpg"   # a standing person, whole body in view
CLIPS = (("1080p60", (1920, 1080), 60.0), ("480p", (854, 480), 30.0))
SECONDS, QUICK_SECONDS = 20.0, 2.0   # quick: enough frames for both numbers (CI checks they print, not their size)
BACKGROUND_BGR = (110, 110, 110)


def write_clip(path: Path, size_px: tuple[int, int], fps: float, seconds: float) -> Path:
    """`seconds` of video at `fps`: the photo, filling 90% of the height, drifting slowly left and
    right (a tenth of the width over 8 s) and breathing in size by 3% (over 5 s) on a grey canvas.
    Slow, smooth motion keeps MediaPipe tracking frame to frame, as it does on a real person."""
    import cv2
    import numpy as np

    photo = cv2.imread(str(SHARED / "photos" / PHOTO))
    if photo is None:
        raise SystemExit(f"no photo {SHARED / 'photos' / PHOTO}: set COACH_SHARED")
    width, height = size_px
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size_px)
    if not writer.isOpened():
        raise SystemExit(f"cannot write {path}")
    try:
        for i in range(int(round(seconds * fps))):
            t_s = i / fps
            scale = 0.9 * height / photo.shape[0] * (1.0 + 0.03 * math.sin(2 * math.pi * t_s / 5.0))
            w, h = int(photo.shape[1] * scale), int(photo.shape[0] * scale)
            w, h = min(w, width), min(h, height)
            person = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
            x = int((width - w) / 2 + 0.1 * width / 2 * math.sin(2 * math.pi * t_s / 8.0))
            x = max(0, min(width - w, x))
            y = (height - h) // 2
            canvas = np.full((height, width, 3), BACKGROUND_BGR, np.uint8)
            canvas[y:y + h, x:x + w] = person
            writer.write(canvas)
    finally:
        writer.release()
    return path


def bare_loop(video: str, model: str) -> int:
    """Decode every frame with OpenCV; run `model` with one pose in VIDEO mode on the frames coach
    analyses (its rate cap, by the frames' own timestamps); nothing else. Returns frames detected."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from coach.io.sources import RateCap
    from coach.session.feed import ANALYSIS_RATE_HZ

    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=model),
                                           running_mode=vision.RunningMode.VIDEO, num_poses=1)
    landmarker = vision.PoseLandmarker.create_from_options(options)
    cap = cv2.VideoCapture(video, cv2.CAP_FFMPEG)
    keep = RateCap(ANALYSIS_RATE_HZ)
    detected, start_ms = 0, None
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            start_ms = pos_ms if start_ms is None else start_ms
            if not keep((pos_ms - start_ms) / 1000.0):
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb),
                                        int(round(pos_ms - start_ms)))
            detected += 1
    finally:
        cap.release()
        landmarker.close()
    return detected


def analyze_cmd(video: Path, out: Path, model: str | None, num_poses: int | None) -> list[str]:
    """`coach analyze` with all its defaults (only the output folder named; --quiet: no progress bar),
    or with the model and number of poses asked for."""
    cmd = [sys.executable, "-m", "coach", "analyze", str(video), "--out", str(out), "--quiet"]
    return cmd + (["--model", model] if model else []) + (["--num-poses", str(num_poses)] if num_poses else [])


def measure(video: Path, seconds: float, model_path: Path, model: str | None, num_poses: int | None, repeat: int,
            tmp: Path) -> dict[str, float]:
    """Medians over `repeat` alternating runs: analyze and bare wall seconds, their ratio, and the
    CPU seconds of each."""
    bare = [sys.executable, __file__, "--bare", str(video), "--model", str(model_path)]
    analyze, bare_s, ratios, analyze_cpu, bare_cpu = [], [], [], [], []
    for i in range(repeat):
        a_s, _, a_cpu = timed_run(analyze_cmd(video, tmp / f"{video.stem}-{i}.coach", model, num_poses))
        b_s, _, b_cpu = timed_run(bare)
        analyze.append(a_s)
        bare_s.append(b_s)
        ratios.append(a_s / b_s)
        analyze_cpu.append(a_cpu)
        bare_cpu.append(b_cpu)
    a = statistics.median(analyze)
    return {"analyze_s": a, "bare_s": statistics.median(bare_s), "ratio": statistics.median(ratios),
            "realtime": seconds / a, "min_s": min(analyze), "max_s": max(analyze),
            "analyze_cpu_s": statistics.median(analyze_cpu), "bare_cpu_s": statistics.median(bare_cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:g} s clips, one repeat (CI)")
    parser.add_argument("--seconds", type=float, help=f"clip length (default {SECONDS:g} s)")
    parser.add_argument("--repeat", type=int, help="runs of each command; medians count (default 3)")
    parser.add_argument("--model", help="lite|full|heavy|PATH (default: coach analyze's own)")
    parser.add_argument("--num-poses", type=int, help="poses coach analyze looks for (default: its own)")
    parser.add_argument("--bare", metavar="VIDEO", help=argparse.SUPPRESS)   # the bare loop's child process
    args = parser.parse_args()
    if args.bare:
        print(bare_loop(args.bare, args.model))
        return
    from coach.pose.models import resolve_model

    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    repeat = args.repeat or (1 if args.quick else 3)
    model_path = resolve_model(args.model, kind="video", progress=False)
    with tempfile.TemporaryDirectory(prefix="coach-bench-speed-") as folder:
        tmp = Path(folder)
        os.environ["COACH_DB"] = str(tmp / "history.sqlite")   # the runs' sessions stay out of the user's history
        asked = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in (("model", args.model), ("num_poses", args.num_poses)) if v)
        print(f"coach analyze ({asked or 'all defaults'}) vs bare loop; model {model_path.name}; "
              f"{seconds:g} s clips; median of {repeat}")
        for name, size_px, fps in CLIPS:
            video = write_clip(tmp / f"{name}.mp4", size_px, fps, seconds)
            m = measure(video, seconds, model_path, args.model, args.num_poses, repeat, tmp)
            print(f"{name} ({size_px[0]}x{size_px[1]} at {fps:g} fps): analyze {m['analyze_s']:.2f} s "
                  f"(min {m['min_s']:.2f}, max {m['max_s']:.2f}), bare loop {m['bare_s']:.2f} s")
            print(f"  real-time factor: {m['realtime']:.2f}  (goal >= 1.5 on 1080p60)")
            print(f"  analyze / bare loop: {m['ratio']:.2f}  (goal <= 1.0)")
            cores = os.cpu_count() or 1
            print(f"  CPU: analyze {m['analyze_cpu_s']:.2f} s, bare loop {m['bare_cpu_s']:.2f} s; on {cores} cores "
                  f"the real-time factor is at most {seconds / (m['analyze_cpu_s'] / cores):.2f}")


if __name__ == "__main__":
    main()
