"""The speed benchmark (bench/bench_speed.py) runs and prints its two numbers for both clips.

It is run whole, in quick mode, as a person would; what it measures is not judged here (timing
tests fail on a loaded machine): the real-time factor, the analyze / bare-loop ratio, the CPU
seconds and the ceiling they set must be printed, positive and finite, for the 1080p60 and the
480p clip it makes from a shared photo. Its parts are checked directly: the clip is what it says (size, rate, length, a person MediaPipe finds
in it) and the bare loop runs the model on the frames coach analyses (the rate cap's).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import bench_speed  # noqa: E402

from coach.io.sources import open_source  # noqa: E402
from coach.pose.detector import PoseDetector  # noqa: E402

pytestmark = pytest.mark.model

NUMBER = r"([0-9]+(?:\.[0-9]+)?)"


@pytest.mark.parametrize("size_px, fps", [pytest.param((1920, 1080), 60.0, id="1080p60"),
                                          pytest.param((854, 480), 30.0, id="480p")])
def test_the_clip_has_the_size_rate_and_length_asked(tmp_path, shared_dir, lite_model_path, size_px, fps):
    source = open_source(bench_speed.write_clip(tmp_path / "clip.mp4", size_px, fps, 1.0))
    frames = list(source.frames())
    assert source.info.size_px == size_px and source.info.fps == pytest.approx(fps)
    assert len(frames) == round(fps)
    assert frames[-1].t_s == pytest.approx((len(frames) - 1) / fps, abs=1e-3)
    assert not (frames[0].rgb == frames[-1].rgb).all()   # the person moves
    with PoseDetector(lite_model_path, "image", num_poses=1) as detector:
        assert not detector.detect(frames[-1]).pose.is_empty   # and is a person to the model


def test_the_bare_loop_detects_the_frames_coach_analyses(tmp_path, shared_dir, model_path):
    clip = bench_speed.write_clip(tmp_path / "clip.mp4", (854, 480), 60.0, 1.0)
    assert bench_speed.bare_loop(str(clip), str(model_path)) == 30   # 60 fps, capped at 30 frames/s


def test_quick_run_prints_both_numbers_for_both_clips(tmp_path, shared_dir, model_path):
    env = dict(os.environ, COACH_SHARED=str(shared_dir), COACH_MODEL_DIR=str(model_path.parent),
               COACH_DB=str(tmp_path / "history.sqlite"))
    run = subprocess.run([sys.executable, str(BENCH / "bench_speed.py"), "--quick"], env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    for clip in ("1080p60", "480p"):
        block = out[out.index(clip):]
        factor = re.search(rf"real-time factor: {NUMBER}", block)
        ratio = re.search(rf"analyze / bare loop: {NUMBER}", block)
        cpu = re.search(rf"CPU: analyze {NUMBER} s, bare loop {NUMBER} s; on [0-9]+ cores the real-time factor "
                        rf"is at most {NUMBER}", block)
        assert factor and ratio and cpu, out
        numbers = [float(m.group(1)) for m in (factor, ratio)] + [float(v) for v in cpu.groups()]
        assert all(math.isfinite(v) and v > 0 for v in numbers)
