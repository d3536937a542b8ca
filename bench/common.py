"""What the benchmarks share: where ../shared is, a test clip made from the shared photos, a timed child
process, and the bare MediaPipe loop (decode + detect_for_video, nothing else) that coach is measured against."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("COACH_SHARED", REPO.parent / "shared"))
SIZE_PX = (640, 480)


def write_clip(path: Path, n_frames: int, fps: float = 25.0, repeats: int = 1) -> Path:
    """A video of the shared photos at SIZE_PX, each photo held one second (so VIDEO mode tracks as in
    a real video), `n_frames` long, played `repeats` times."""
    import cv2

    from coach.io.sources import image_files, read_image

    photos = image_files(SHARED / "photos")
    if not photos:
        raise SystemExit(f"no photos in {SHARED / 'photos'}: give a VIDEO or set COACH_SHARED")
    stills = [cv2.cvtColor(cv2.resize(read_image(p), SIZE_PX, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
              for p in photos]
    per_photo = max(1, round(fps))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE_PX)
    try:
        for _ in range(repeats):
            for i in range(n_frames):
                writer.write(stills[(i // per_photo) % len(stills)])
    finally:
        writer.release()
    return path


def bare_loop(video: str, model: str, num_poses: int) -> int:
    """Decode + detect_for_video, nothing else. Returns the number of frames."""
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=model),
                                           running_mode=vision.RunningMode.VIDEO, num_poses=num_poses)
    landmarker = vision.PoseLandmarker.create_from_options(options)
    cap = cv2.VideoCapture(video)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb),
                                        int(round(frames * 1000.0 / fps)))
            frames += 1
    finally:
        cap.release()
        landmarker.close()
    return frames


def timed_run(cmd: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak resident MB, CPU seconds of all its threads) of one child process, as
    os.wait4 reports it; stops on a failure."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed_s = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err.read().decode(errors='replace')}")
    return elapsed_s, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime   # ru_maxrss: KiB on Linux
