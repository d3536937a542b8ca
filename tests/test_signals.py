"""SIGTERM, SIGHUP and Ctrl-C (twice, too) keep a valid partial result: real processes, real signals.

Each row starts `coach` on a shared recording or on a short clip made here from a shared photo (the
real lite model reads its pixels), waits until output is being produced (a hidden temporary file
growing: no fixed sleep, so a slow machine only makes it wait longer), sends the signals, and checks
what is left: the exit code 128 + the signal, one line on stderr, every file parsing and marked
partial, and no hidden temporary behind. A double SIGINT is two signals 75 ms apart, so the second
lands while the first one's results are being written.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import pytest
from test_sources import write_test_video
from videos import video_header

from coach.io.sources import read_image
from coach.pose.recording import Recording

PERSON = "neck_side_bend__Side_Neck_Stretch__0.jpg"   # one person standing, facing the camera
RECORDING = "seated_spinal_twist__01.jsonl.gz"          # the longest shared recording: 1157 frames
CLIP_FRAMES = 400                                       # at ~20 frames/s on a loaded 2-core machine: ~20 s
GROWN_BYTES = 20_000                                    # past the writers' 8 KB buffers: frames are arriving
START_TIMEOUT_S = 240                                   # model load + first frames, on a slow shared machine
STOP_TIMEOUT_S = 120                                    # the flush (report, plots) after the signal
DOUBLE_GAP_S = 0.075                                    # the second Ctrl-C, while the first one's flush runs
LINE = {signal.SIGINT: "coach: interrupted", signal.SIGTERM: "coach: terminated (SIGTERM)",
        signal.SIGHUP: "coach: hung up (SIGHUP)"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory, photos_dir) -> Path:
    still = cv2.resize(read_image(photos_dir / PERSON), (640, 480))
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    write_test_video(path, (still for _ in range(CLIP_FRAMES)), 25.0)
    return path


@dataclass(frozen=True)
class Case:
    id: str
    command: str            # analyze-recording | analyze-auto | analyze-video | record-video | live-recording
    signals: tuple[int, ...]

    @property
    def code(self) -> int:
        return 128 + int(self.signals[0])


CASES = [
    Case("analyze recording, SIGTERM", "analyze-recording", (signal.SIGTERM,)),
    Case("analyze recording, SIGHUP", "analyze-recording", (signal.SIGHUP,)),
    Case("analyze recording, double SIGINT", "analyze-recording", (signal.SIGINT, signal.SIGINT)),
    Case("analyze recording, SIGTERM then SIGINT", "analyze-recording", (signal.SIGTERM, signal.SIGINT)),
    Case("analyze auto, SIGTERM", "analyze-auto", (signal.SIGTERM,)),
    Case("analyze video, SIGTERM", "analyze-video", (signal.SIGTERM,)),
    Case("analyze video, double SIGINT", "analyze-video", (signal.SIGINT, signal.SIGINT)),
    Case("record video, SIGTERM", "record-video", (signal.SIGTERM,)),
    Case("record video, SIGHUP", "record-video", (signal.SIGHUP,)),
    Case("record video, double SIGINT", "record-video", (signal.SIGINT, signal.SIGINT)),
    Case("live from a recording, SIGTERM then SIGINT", "live-recording", (signal.SIGTERM, signal.SIGINT)),
    Case("live from a recording, SIGHUP", "live-recording", (signal.SIGHUP,)),
    Case("compare a video, SIGTERM", "compare-video", (signal.SIGTERM,)),
]


def _command(case: Case, tmp_path: Path, landmarks_dir: Path, clip: Path, model: Path) -> tuple[list[str], str]:
    """The command line, and the glob (under tmp_path/out) of the temporary file that grows."""
    out = tmp_path / "out"
    if case.command == "record-video":
        out.mkdir()
        return ["record", str(clip), "-o", str(out / "o.jsonl"), "--model", str(model), "-q"], ".o.jsonl.*.tmp"
    if case.command == "live-recording":   # paced like a camera: it runs for as long as the recording
        out.mkdir()
        return ["live", "--exercise", "seated_spinal_twist", "--source", str(landmarks_dir / RECORDING), "--realtime",
                "--no-window", "--answers", "no", "--mute", "--record", "-o", str(out / "live.coach"), "--no-history"], \
            ".*.partial/.frames.csv.*.tmp"
    if case.command == "compare-video":   # the patient's replay writes frames.csv while compare.mp4 is drawn
        out.mkdir()
        return ["compare", str(clip), "--reference", str(landmarks_dir / RECORDING), "-o", str(out / "cmp.coach"),
                "--model", str(model), "-q", "--no-history"], ".*.partial/.frames.csv.*.tmp"
    source = {"analyze-video": clip}.get(case.command, landmarks_dir / RECORDING)
    exercise = "auto" if case.command == "analyze-auto" else "seated_spinal_twist"
    args = ["analyze", str(source), "-e", exercise, "--out", str(out), "--model", str(model), "-q", "--no-history"]
    return args, ".*.partial/.frames.csv.*.tmp"


def _wait_until_growing(child: subprocess.Popen, folder: Path, pattern: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        sizes = [p.stat().st_size for p in folder.glob(pattern) if p.exists()] if folder.exists() else []
        if any(size > GROWN_BYTES for size in sizes):
            return
        assert child.poll() is None, f"coach ended (exit {child.returncode}) before it could be signalled"
        assert time.monotonic() < deadline, "no output was produced in time"
        time.sleep(0.02)


def _run_and_signal(args: list[str], folder: Path, pattern: str, signals: tuple[int, ...]) -> tuple[int, str]:
    child = subprocess.Popen([sys.executable, "-m", "coach", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_growing(child, folder, pattern)
        for k, signum in enumerate(signals):
            if k:
                time.sleep(DOUBLE_GAP_S)
            child.send_signal(signum)
        _, stderr = child.communicate(timeout=STOP_TIMEOUT_S)
    finally:
        child.kill()
        child.wait()
    return child.returncode, stderr


def _hidden(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*")]


def _check_analysis(folder: Path, video: bool) -> None:
    session = json.loads((folder / "session.json").read_text())
    assert session["partial"] is True and session["frames"] > 0
    with open(folder / "frames.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == session["frames"]
    landmarks = Recording(folder / "landmarks.jsonl.gz")
    kept = len(list(landmarks.frames()))
    assert kept >= session["frames"]
    # Cut short, the landmarks say so; with --exercise auto a first pass may have finished all of them
    # before the signal came (then they are complete, and more than the coached frames).
    assert landmarks.info.partial is True or kept > session["frames"], "cut-short landmarks say they are partial"
    assert "Partial report" in (folder / "report.html").read_text()
    if video:
        assert video_header(folder / "annotated.mp4").frame_count == session["frames"]


@pytest.mark.model
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_signal_keeps_a_valid_partial_result(case, tmp_path, landmarks_dir, clip, lite_model_path):
    args, pattern = _command(case, tmp_path, landmarks_dir, clip, lite_model_path)
    out = tmp_path / "out"
    code, stderr = _run_and_signal(args, out, pattern, case.signals)
    assert code == case.code, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines() == [LINE[case.signals[0]]], stderr
    if case.command == "record-video":
        recording = Recording(out / "o.jsonl")
        frames = list(recording.frames())
        assert recording.info.partial is True
        assert 1 <= len(frames) < CLIP_FRAMES and [f.index for f in frames] == list(range(len(frames)))
    elif case.command == "live-recording":
        session = json.loads((out / "live.coach" / "session.json").read_text())
        assert session["partial"] is True and session["frames"] > 0
        assert (out / "live.coach" / "screening.json").is_file() and (out / "live.coach" / "report.html").is_file()
        assert Recording(out / "live.coach" / "landmarks.jsonl.gz").info.partial is True
    elif case.command == "compare-video":
        folder = out / "cmp.coach"
        session = json.loads((folder / "session.json").read_text())
        assert session["partial"] is True and session["frames"] > 0
        assert json.loads((folder / "comparison.json").read_text())["partial"] is True
    else:
        stem = "clip" if case.command == "analyze-video" else RECORDING.removesuffix(".jsonl.gz")
        assert [p.name for p in out.iterdir()] == [f"{stem}.coach"]
        _check_analysis(out / f"{stem}.coach", video=case.command == "analyze-video")
    assert _hidden(out) == [], "a hidden temporary was left behind"


def test_a_complete_recording_is_not_marked_partial(tmp_path, landmarks_dir):
    """The header's "partial" is false when nothing stopped the copy (and a re-copy replaces it)."""
    out = tmp_path / "copy.jsonl"
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "coach", "record", str(landmarks_dir / "cat_cow__01.jsonl.gz"),
                               "-o", str(out), "-q"], capture_output=True, text=True, timeout=STOP_TIMEOUT_S)
        assert done.returncode == 0 and done.stderr == "", done.stderr
    assert Recording(out).info.partial is False
    assert json.loads(out.read_text().splitlines()[0])["partial"] is False


@pytest.mark.model
def test_a_signal_on_a_rerun_keeps_the_whole_earlier_result(tmp_path, landmarks_dir, lite_model_path):
    """The same recording analysed again into the same folder and stopped: the whole result of the first
    run stays as it was; the partial one goes beside it (`<stem>.partial.coach`) and the summary says so."""
    stem = RECORDING.removesuffix(".jsonl.gz")
    args = ["analyze", str(landmarks_dir / RECORDING), "-e", "seated_spinal_twist", "--out", str(tmp_path / "out"),
            "--no-history"]
    done = subprocess.run([sys.executable, "-m", "coach", *args, "-q"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    whole = tmp_path / "out" / f"{stem}.coach"
    before = {p.name: p.read_bytes() for p in whole.iterdir()}
    child = subprocess.Popen([sys.executable, "-m", "coach", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        _wait_until_growing(child, tmp_path / "out", ".*.partial/.frames.csv.*.tmp")
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=STOP_TIMEOUT_S)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 128 + signal.SIGTERM and "Traceback" not in stderr, stderr
    assert {p.name: p.read_bytes() for p in whole.iterdir()} == before, "the whole result is untouched"
    beside = tmp_path / "out" / f"{stem}.partial.coach"
    assert stderr.splitlines()[-1] == f"{LINE[signal.SIGTERM]}; the partial result is in {beside} " \
                                      f"(a whole one was already in {whole})", stderr
    _check_analysis(beside, video=False)
    assert str(beside / "report.html") in (stdout + stderr).replace("\n", ""), (stdout, stderr)
    assert _hidden(tmp_path / "out") == []


@pytest.mark.model
def test_a_stopped_live_session_beside_a_whole_one_says_where_even_with_q(tmp_path, landmarks_dir):
    """`coach live -q -o DIR` stopped while DIR holds a whole earlier session: the partial one goes
    beside it, and the stop's one line says where (with -q nothing else would)."""
    out = tmp_path / "out" / "live.coach"
    args = ["live", "--exercise", "seated_spinal_twist", "--source", str(landmarks_dir / RECORDING), "--no-window",
            "--answers", "no", "--mute", "--no-history", "-q", "-o", str(out)]
    done = subprocess.run([sys.executable, "-m", "coach", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    code, stderr = _run_and_signal([*args, "--realtime"], tmp_path / "out", ".*.partial/.frames.csv.*.tmp",
                                   (signal.SIGTERM,))
    beside = tmp_path / "out" / "live.partial.coach"
    assert code == 128 + signal.SIGTERM and stderr.splitlines() == [
        f"{LINE[signal.SIGTERM]}; the partial session is in {beside} (a whole one was already in {out})"], stderr
    assert json.loads((out / "session.json").read_text())["partial"] is False
    assert json.loads((beside / "session.json").read_text())["partial"] is True
