"""MediaPipe's native log lines never reach the terminal: with `-q`, a successful model command
prints nothing at all on stderr; `--verbose` keeps the lines in a log file; fd 2 is put back even
when the code inside the window raises, so Python errors still surface.

The commands run for real (subprocess, real lite model) on a short video written here from two
shared photos: a start and a held bridge, so `teach` finds a hold and `compare` has a reference.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from test_sources import write_test_video

from coach import samples_dir
from coach.io.sources import read_image
from coach.pose.native_log import ENV_DEBUG, ENV_NATIVE_LOG, NativeLogWindow

START, HELD = "bridge__Pelvic_Tilt_Into_Bridge__0.jpg", "bridge__Pelvic_Tilt_Into_Bridge__1.jpg"
FPS = 10.0
TIMEOUT_S = 180  # a few seconds of video on the lite model; generous for a loaded 2-core CI machine


def run_coach(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coach", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT_S, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def clip(photos_dir, tmp_path_factory) -> Path:
    """6 s at 10 fps: 2 s lying down, then 4 s held in the bridge (one hold for teach). Tracked with
    one pose, MediaPipe's landmarks take about a second to settle after the hard cut between the two
    photos (the hip angle climbs 156 -> 175 deg over 0.8 s), so the hold is 4 s for a still stretch
    of teach's 1.5 s to remain."""
    start, held = read_image(photos_dir / START), read_image(photos_dir / HELD)
    held = cv2.resize(held, (start.shape[1], start.shape[0]))
    path = tmp_path_factory.mktemp("quiet") / "clip.mp4"
    write_test_video(path, [start] * 20 + [held] * 40, FPS)
    return path


def _record(clip, tmp, model):
    return ["record", clip, "-o", tmp / "r.jsonl.gz", "--model", model], tmp / "r.jsonl.gz"


def _analyze_video(clip, tmp, model):
    return ["analyze", clip, "--exercise", "bridge", "--model", model, "--out", tmp / "out"], tmp / "out"


def _teach(clip, tmp, model):
    return ["teach", clip, "--id", "quiet_bridge", "--model", model, "-o", tmp / "quiet_bridge.toml"], tmp / "quiet_bridge.toml"


def _compare(clip, tmp, model):
    return ["compare", clip, "--reference", clip, "--model", model, "-o", tmp / "cmp", "--no-video"], tmp / "cmp"


COMMANDS = [
    pytest.param(_record, id="record-video"),
    pytest.param(_analyze_video, id="analyze-video"),
    pytest.param(_teach, id="teach-video"),
    pytest.param(_compare, id="compare-video"),
]


@pytest.mark.model
@pytest.mark.parametrize("command", COMMANDS)
def test_a_quiet_model_command_prints_nothing_on_stderr(command, clip, tmp_path, lite_model_path):
    args, made = command(clip, tmp_path, lite_model_path)
    done = run_coach(*args, "-q")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", f"stderr should be empty with -q:\n{done.stderr}"
    assert made.exists(), f"{args[0]} made no {made.name}"


@pytest.mark.model
def test_a_quiet_photo_analysis_prints_nothing_on_stderr(photos_dir, tmp_path, model_path):
    """The full model (the default for files), image mode: create, one inference, close."""
    done = run_coach("analyze", photos_dir / HELD, "--exercise", "bridge", "--model", model_path,
                     "--out", tmp_path / "out", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert list((tmp_path / "out").rglob("session.json"))


def test_a_quiet_live_session_prints_nothing(tmp_path):
    """`coach live -q` (a recording: no model): no summary, nothing on stderr; the results are written."""
    sample = samples_dir() / "seated_spinal_twist.jsonl.gz"
    done = run_coach("live", "--exercise", "seated_spinal_twist", "--source", sample, "--no-window", "--answers", "no",
                     "--mute", "--no-history", "-q", "-o", tmp_path / "live",
                     env={"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert (tmp_path / "live" / "session.json").exists()


@pytest.mark.model
def test_verbose_keeps_the_native_lines_in_the_log_file(photos_dir, tmp_path, lite_model_path):
    log = tmp_path / "logs" / "native.log"
    done = run_coach("analyze", photos_dir / HELD, "--exercise", "bridge", "--model", lite_model_path,
                     "--out", tmp_path / "out", "-q", "--verbose", env={ENV_NATIVE_LOG: str(log)})
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"coach: MediaPipe's native log: {log}"]
    text = log.read_text()
    for moment in ("create", "first inference", "close"):
        assert f"pose_landmarker_lite.task: {moment}" in text
    assert "INFO" in text or "W0000" in text or "WARNING" in text, "MediaPipe's own lines are kept"


@pytest.mark.model
@pytest.mark.parametrize("mode", ["image", "video"])
def test_no_native_line_reaches_fd_2_in_any_mode(mode, photos_dir, lite_model_path, capfd):
    """In-process, at the file-descriptor level (capfd sees what C++ writes to fd 2)."""
    from coach.io.sources import Frame
    from coach.pose.detector import PoseDetector

    rgb = read_image(photos_dir / HELD)
    found = 0
    with PoseDetector(lite_model_path, mode) as detector:
        frames = [Frame(t_s=i / FPS, index=i, rgb=rgb) for i in range(5)]
        for _frame, pose_frame in detector.detect_stream(frames):
            found += not pose_frame.pose.is_empty
    assert found >= 1, "the bridge photo has a person in it"
    assert capfd.readouterr().err == ""


WINDOW_CASES = [
    # (debug env, what fd 2 shows afterwards)
    pytest.param(None, "after\n", id="hidden"),
    pytest.param("1", "inside\nafter\n", id="COACH_DEBUG-lets-them-through"),
]


@pytest.mark.parametrize(("debug", "expected"), WINDOW_CASES)
def test_the_window_hides_fd_2_and_restores_it_even_when_the_code_raises(debug, expected, capfd, monkeypatch):
    monkeypatch.delenv(ENV_NATIVE_LOG, raising=False)
    if debug is None:
        monkeypatch.delenv(ENV_DEBUG, raising=False)
    else:
        monkeypatch.setenv(ENV_DEBUG, debug)
    with pytest.raises(ZeroDivisionError):
        with NativeLogWindow("test"):
            os.write(2, b"inside\n")
            1 / 0
    os.write(2, b"after\n")
    assert capfd.readouterr().err == expected


def test_the_window_appends_to_the_verbose_log_with_a_header(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv(ENV_DEBUG, raising=False)
    monkeypatch.setenv(ENV_NATIVE_LOG, str(tmp_path / "deep" / "native.log"))
    for n in range(2):
        with NativeLogWindow(f"moment {n}"):
            os.write(2, f"line {n}\n".encode())
    lines = (tmp_path / "deep" / "native.log").read_text().splitlines()
    assert [line.split()[-2:] for line in lines[::2]] == [["moment", "0"], ["moment", "1"]]
    assert lines[1::2] == ["line 0", "line 1"]
    assert capfd.readouterr().err == ""


ROUTED = """
import os, sys
from coach.pose.native_log import route_for_the_run
routed = route_for_the_run("test")
os.write(2, b"W0000 a native line written later, from C++\\n")
print("coach: python's own line", file=sys.stderr)
print(routed)
"""


@pytest.mark.parametrize("env, stderr, routed", [
    pytest.param({}, "coach: python's own line\n", "True", id="a run: the native line goes nowhere"),
    pytest.param({ENV_DEBUG: "1"}, "W0000 a native line written later, from C++\ncoach: python's own line\n",
                 "False", id="COACH_DEBUG: both reach the terminal"),
])
def test_a_program_run_keeps_later_native_lines_off_the_terminal(env, stderr, routed, tmp_path):
    """TFLite logs now and then on a later inference too (seen: "Input tensor memory is not aligned"),
    outside the windows: a command run as a program routes fd 2 away for the whole run, while Python's
    own stderr still reaches the terminal."""
    clean = {k: v for k, v in os.environ.items() if k not in (ENV_DEBUG, ENV_NATIVE_LOG)}
    done = subprocess.run([sys.executable, "-c", ROUTED], capture_output=True, text=True, timeout=60,
                          env={**clean, **env}, cwd=tmp_path)
    assert (done.stderr, done.stdout.strip()) == (stderr, routed)
