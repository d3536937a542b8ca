"""Bad input through the real command line: a one-line error naming the input and the problem,
exit code 2, no traceback, no hang (every run has a timeout). Odd-but-valid pixels (gray, RGBA,
16-bit) are converted and give a pose. Ctrl-C during `coach record` keeps a valid file.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_sources import write_test_video

from coach.io.sources import read_image
from coach.pose import models
from coach.pose.recording import Recording

PERSON = "neck_side_bend__Side_Neck_Stretch__0.jpg"  # one person standing, facing the camera
TIMEOUT_S = 60


def run_coach(*args, env: dict | None = None, timeout_s: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coach", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, **(env or {})})


def assert_one_line_error(done: subprocess.CompletedProcess, *names) -> str:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coach: error: "), done.stderr
    for name in names:
        assert str(name) in lines[0]
    return lines[0]


@pytest.fixture()
def isolated_env(tmp_path) -> dict:
    """No model dir and an empty cache, so only --model PATH can supply a model."""
    return {models.ENV_MODEL_DIR: str(tmp_path / "no-models"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


# --- sources --------------------------------------------------------------------------------------

def _text_mp4(tmp: Path) -> Path:
    (tmp / "notes.mp4").write_text("this is not a video\n" * 20)
    return tmp / "notes.mp4"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.mp4").write_bytes(b"")
    return tmp / "empty.mp4"


def _directory_named_like_a_video(tmp: Path) -> Path:
    (tmp / "clip.mp4").mkdir()
    return tmp / "clip.mp4"


def _small_video(tmp: Path, name: str, n_frames: int = 12, fourcc: str = "mp4v") -> Path:
    frames = (np.full((120, 160, 3), 8 * i % 256, np.uint8) for i in range(n_frames))
    write_test_video(tmp / name, frames, 25.0, fourcc)
    return tmp / name


def _mp4_without_index(tmp: Path) -> Path:
    data = _small_video(tmp, "whole.mp4").read_bytes()
    (tmp / "cut.mp4").write_bytes(data[: len(data) // 2])  # OpenCV writes the index at the end
    return tmp / "cut.mp4"


def _zero_frame_video(tmp: Path) -> Path:
    writer = cv2.VideoWriter(str(tmp / "zero.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
    writer.release()
    return tmp / "zero.mp4"


def _bad_recording(lines: list[str]):
    def make(tmp: Path) -> Path:
        (tmp / "bad.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
        return tmp / "bad.jsonl.gz"
    return make


def _header(**changes) -> str:
    from coach.pose.recording import RecordingInfo

    return json.dumps({**RecordingInfo(fps=30.0, width=640, height=480).header(), **changes})


def _frame(n_landmarks: int = 33, index: int = 0) -> str:
    return json.dumps({"frame": index, "t": index / 30, "poses": [{"image": [[0.5, 0.5, 0, 1, 1]] * n_landmarks,
                                                        "world": [[0, 0, 0]] * n_landmarks}]})


BAD_SOURCES = [  # (id, make(tmp) -> path, words the message must hold); no output file is left
    ("missing path", lambda tmp: tmp / "nowhere.mp4", "no such file"),
    ("directory where a file is expected", _directory_named_like_a_video, "is a directory"),
    ("empty file", _empty, "empty file"),
    ("text file named .mp4", _text_mp4, "not a video"),
    ("truncated mp4", _mp4_without_index, "truncated"),
    ("zero-frame video", _zero_frame_video, "no frames"),
    ("empty folder", lambda tmp: tmp, "holds no images"),
    ("recording with a bad JSON line", _bad_recording([_header(), "{oops", _frame()]), "line 2: not JSON"),
    ("recording with a wrong format tag", _bad_recording([_header(format="poses/9"), _frame()]), "format is 'poses/9'"),
    ("recording with 17 landmarks", _bad_recording([_header(), _frame(17)]), "expected 33 landmarks"),
]


@pytest.mark.parametrize("make, words", [c[1:] for c in BAD_SOURCES], ids=[c[0] for c in BAD_SOURCES])
def test_bad_source_is_a_one_line_error(tmp_path, isolated_env, make, words):
    source = make(tmp_path)
    out = tmp_path / "out" / "o.jsonl"
    out.parent.mkdir()
    line = assert_one_line_error(run_coach("record", source, "-o", out, "--quiet", env=isolated_env), source)
    assert words in line
    assert not out.exists()


def test_error_after_some_frames_keeps_them_and_says_so(tmp_path):
    source = _bad_recording([_header(), _frame(), _frame(index=1), "{oops"])(tmp_path)
    out = tmp_path / "o.jsonl"
    line = assert_one_line_error(run_coach("record", source, "-o", out, "--quiet"), source)
    assert "line 4: not JSON" in line and len(list(Recording(out).frames())) == 2
    assert line.endswith(f"kept the 2 frames before it in {out}, marked partial") and Recording(out).info.partial


def test_an_input_failing_at_once_leaves_an_existing_output_untouched(tmp_path):
    out = tmp_path / "o.jsonl"
    out.write_text(_header() + "\n")   # a recording: what `record` may replace (anything else it refuses)
    source = _bad_recording([_header(), "{oops"])(tmp_path)
    assert_one_line_error(run_coach("record", source, "-o", out, "--quiet"), source)
    assert out.read_text() == _header() + "\n"


def test_truncated_video_keeps_the_frames_it_had_and_says_so(tmp_path, lite_model_path):
    data = _small_video(tmp_path, "whole.avi", n_frames=30, fourcc="MJPG").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.jsonl"
    line = assert_one_line_error(run_coach("record", tmp_path / "cut.avi", "-o", out, "--model", lite_model_path,
                                           "--quiet"), tmp_path / "cut.avi")
    assert "truncated" in line
    assert 0 < len(list(Recording(out).frames())) < 30


def test_missing_camera_fails_fast(tmp_path):
    start = time.perf_counter()
    line = assert_one_line_error(run_coach("record", "57", "-o", tmp_path / "o.jsonl", "--quiet", timeout_s=20))
    assert "camera 57: no such camera" in line and time.perf_counter() - start < 10


@pytest.mark.parametrize("make_out, words", [(lambda tmp: tmp, "is a directory"),
                                             (lambda tmp: tmp / "o.json", "must end in .jsonl"),
                                             (lambda tmp: tmp / "nope" / "o.jsonl", "does not exist")],
                         ids=["directory", "wrong suffix", "missing folder"])
def test_bad_output_is_a_one_line_error(tmp_path, photos_dir, lite_model_path, make_out, words):
    out = make_out(tmp_path)
    line = assert_one_line_error(run_coach("record", photos_dir / PERSON, "-o", out, "--model", lite_model_path,
                                           "--quiet"), out)
    assert words in line


# --- models ---------------------------------------------------------------------------------------

def test_missing_model_file(tmp_path, photos_dir, isolated_env):
    model = tmp_path / "absent.task"
    done = run_coach("record", photos_dir / PERSON, "-o", tmp_path / "o.jsonl", "--model", model, "--quiet",
                     env=isolated_env)
    lines = done.stderr.strip().splitlines()   # refused with the options, before any work: argparse's one line
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("coach record: error: argument --model: ") and str(model) in lines[0]
    assert "no such model file" in lines[0]


def test_corrupt_model_file(tmp_path, photos_dir, isolated_env):
    model = tmp_path / "pose_landmarker_full.task"
    model.write_text("not a zip archive")
    line = assert_one_line_error(run_coach("record", photos_dir / PERSON, "-o", tmp_path / "o.jsonl", "--model",
                                           model, "--quiet", env=isolated_env), model)
    assert models.SHA256["full"] in line


def test_wrong_hash_model_in_the_model_dir(tmp_path, photos_dir, model_path, isolated_env):
    folder = tmp_path / "no-models"
    folder.mkdir()
    shutil.copy(model_path, folder / models.model_filename("lite"))  # the full bundle under the lite name
    line = assert_one_line_error(run_coach("record", photos_dir / PERSON, "-o", tmp_path / "o.jsonl", "--model",
                                           "lite", "--quiet", env=isolated_env), folder / "pose_landmarker_lite.task")
    assert models.SHA256["lite"] in line


# --- odd pixels that must work --------------------------------------------------------------------

def _gray_image(tmp: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(tmp / "gray.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    return tmp / "gray.png"


def _rgba_png(tmp: Path, rgb: np.ndarray) -> Path:
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, : rgb.shape[1] // 8] = 0  # a transparent strip
    cv2.imwrite(str(tmp / "rgba.png"), np.dstack([cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), alpha]))
    return tmp / "rgba.png"


def _png_16_bit(tmp: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(tmp / "deep.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    return tmp / "deep.png"


def _gray_video(tmp: Path, rgb: np.ndarray) -> Path:
    gray = cv2.cvtColor(cv2.resize(rgb, (640, 424)), cv2.COLOR_RGB2GRAY)
    write_test_video(tmp / "gray.avi", (gray for _ in range(8)), 25.0, "MJPG", is_color=False)
    return tmp / "gray.avi"


ODD_PIXELS = [("grayscale image", _gray_image, 1), ("RGBA png", _rgba_png, 1), ("16-bit png", _png_16_bit, 1),
              ("grayscale video", _gray_video, 8)]


@pytest.mark.parametrize("make, n_frames", [c[1:] for c in ODD_PIXELS], ids=[c[0] for c in ODD_PIXELS])
def test_odd_pixel_formats_are_converted_and_give_a_pose(tmp_path, photos_dir, lite_model_path, make, n_frames):
    source = make(tmp_path, read_image(photos_dir / PERSON))
    out = tmp_path / "o.jsonl.gz"
    done = run_coach("record", source, "-o", out, "--model", lite_model_path, "--quiet")
    assert done.returncode == 0, done.stderr
    frames = list(Recording(out).frames())
    assert len(frames) == n_frames and all(not f.pose.is_empty for f in frames)


# --- Ctrl-C -----------------------------------------------------------------------------------------

def test_ctrl_c_during_record_keeps_a_valid_file(tmp_path, photos_dir, lite_model_path):
    still = cv2.resize(read_image(photos_dir / PERSON), (640, 480))
    video = tmp_path / "long.mp4"
    write_test_video(video, (still for _ in range(600)), 25.0)
    out = tmp_path / "o.jsonl"
    child = subprocess.Popen([sys.executable, "-m", "coach", "record", str(video), "-o", str(out), "--model",
                              str(lite_model_path), "--quiet"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while not any(p.stat().st_size > 20_000 for p in tmp_path.glob(".o.jsonl.*.tmp")):
            assert child.poll() is None and time.monotonic() < deadline, "no frames written in time"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=TIMEOUT_S)
    finally:
        child.kill()
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines() == ["coach: interrupted"]
    frames = list(Recording(out).frames())
    assert 1 <= len(frames) < 600 and [f.index for f in frames] == list(range(len(frames)))
    assert not list(tmp_path.glob(".o.jsonl.*.tmp"))


def test_without_quiet_a_piped_stderr_gets_exactly_the_error_line(tmp_path):
    source = _bad_recording([_header(), _frame(), _frame(index=1), "{oops"])(tmp_path)
    done = run_coach("record", source, "-o", tmp_path / "o.jsonl")  # no --quiet: no progress bar when piped
    assert done.returncode == 2 and done.stderr.startswith("coach: error: ") and done.stderr.count("\n") == 1, \
        repr(done.stderr)


def test_a_negative_camera_index_is_a_one_line_error(tmp_path):
    """OpenCV reads -1 as "any camera", and its V4L backend crashed the process on it (exit 139)."""
    line = assert_one_line_error(run_coach("live", "-e", "bridge", "--camera", "-1", "--no-window", "--answers", "no",
                                           "--mute", "-o", tmp_path / "out", timeout_s=30))
    assert "camera -1" in line
