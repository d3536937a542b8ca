"""VideoSink writes a readable MP4 atomically."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from videos import video_header

from coach.errors import OutputError
from coach.io.video import VideoSink


def frames(n: int, w: int, h: int) -> list[np.ndarray]:
    """Frame i: pure red RGB with a grey square whose brightness counts the frames."""
    out = []
    for i in range(n):
        rgb = np.zeros((h, w, 3), np.uint8)
        rgb[..., 0] = 255
        rgb[:16, :16] = 10 * i
        out.append(rgb)
    return out


def read_back(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    got = []
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return got
            got.append(bgr)
    finally:
        cap.release()


def leftovers(folder: Path, keep: Path | None = None) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p != keep)


THREADED = [pytest.param(False, id="inline"), pytest.param(True, id="encoding-thread")]


@pytest.mark.parametrize("threaded", THREADED)
@pytest.mark.parametrize("w, h, fps", [(160, 120, 30.0), (320, 180, 29.97), (161, 121, 24.0)])
def test_writes_a_readable_mp4_with_every_frame(tmp_path, w, h, fps, threaded):
    target = tmp_path / "annotated.mp4"
    with VideoSink(target, fps=fps, size_px=(w, h), threaded=threaded) as sink:
        for rgb in frames(12, w, h):
            sink.write(rgb)
    assert sink.frames_written == 12
    got = read_back(target)
    assert len(got) == 12
    ew, eh = w + w % 2, h + h % 2  # the encoder needs even sizes: odd ones are padded, never cropped
    assert got[0].shape == (eh, ew, 3) and sink.written_size_px == (ew, eh)
    b, g, r = got[5][eh // 2, ew // 2].astype(int)
    assert r > 200 and g < 50 and b < 50  # RGB in, so red stays red (BGR conversion inside)
    assert [round(f[4:12, 4:12].mean() / 10) for f in got[:6]] == [0, 1, 2, 3, 4, 5]  # in order
    info = video_header(target)
    assert info.fps == pytest.approx(fps, abs=0.01) and isinstance(info.fps, float)
    assert info.size_px == (ew, eh) and info.frame_count == 12
    assert leftovers(tmp_path, target) == []


@pytest.mark.parametrize("threaded", THREADED)
def test_an_error_inside_leaves_no_target_and_no_temp(tmp_path, threaded):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoSink(target, 25.0, (64, 48), threaded=threaded) as sink:
            sink.write(frames(1, 64, 48)[0])
            raise RuntimeError("boom")
    assert not target.exists()
    assert leftovers(tmp_path) == []


def test_an_error_keeps_an_older_target_untouched(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous run")
    with pytest.raises(ValueError):
        with VideoSink(target, 25.0, (64, 48)) as sink:
            sink.write(np.zeros((48, 64, 3), np.uint8))
            sink.write(np.zeros((10, 10, 3), np.uint8))  # wrong size: refused, not silently dropped
    assert target.read_bytes() == b"previous run"
    assert leftovers(tmp_path, target) == []


@pytest.mark.parametrize("threaded", THREADED)
def test_ctrl_c_keeps_what_was_written(tmp_path, threaded):
    target = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        with VideoSink(target, 25.0, (64, 48), threaded=threaded) as sink:
            for rgb in frames(5, 64, 48):
                sink.write(rgb)
            raise KeyboardInterrupt
    assert len(read_back(target)) == 5
    assert leftovers(tmp_path, target) == []


def test_missing_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        with VideoSink(tmp_path / "nope" / "out.mp4", 25.0, (64, 48)):
            pass


def test_a_file_where_the_folder_should_be_is_an_output_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError):
        with VideoSink(tmp_path / "file" / "out.mp4", 25.0, (64, 48)):
            pass


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_is_an_output_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            with VideoSink(folder / "out.mp4", 25.0, (64, 48)):
                pass
    finally:
        folder.chmod(0o755)


def test_unwritable_system_folder_is_an_output_error():
    folder = Path("/proc")  # not a place for files, even for root
    if not folder.is_dir():
        pytest.skip("no /proc on this system")
    with pytest.raises(OutputError, match="out.mp4"):
        with VideoSink(folder / "out.mp4", 25.0, (64, 48)):
            pass


def test_an_unknown_container_is_an_output_error(tmp_path):
    with pytest.raises(OutputError, match="cannot open an MP4 writer"):
        with VideoSink(tmp_path / "out.notavideo", 25.0, (64, 48)):
            pass
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fps, size, message", [
    (0.0, (64, 48), "fps"), (float("nan"), (64, 48), "fps"), (-5, (64, 48), "fps"),
    (25.0, (0, 48), "size_px"), (25.0, (64.5, 48), "size_px"), (25.0, (64,), "size_px"),
])
def test_bad_arguments_are_named(tmp_path, fps, size, message):
    with pytest.raises(ValueError, match=message):
        VideoSink(tmp_path / "out.mp4", fps, size)


@pytest.mark.parametrize("bad", [np.zeros((48, 64, 3), np.float32), np.zeros((48, 64), np.uint8),
                                 np.zeros((64, 48, 3), np.uint8)])
def test_frames_must_be_rgb_uint8_of_the_given_size(tmp_path, bad):
    with pytest.raises(ValueError, match=r"\(48, 64, 3\)"):
        with VideoSink(tmp_path / "out.mp4", 25.0, (64, 48)) as sink:
            sink.write(bad)
    assert leftovers(tmp_path) == []


def test_a_finished_video_gets_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with VideoSink(tmp_path / "annotated.mp4", 25.0, (64, 48)) as sink:
            sink.write(np.zeros((48, 64, 3), np.uint8))
    finally:
        os.umask(old)
    assert (tmp_path / "annotated.mp4").stat().st_mode & 0o777 == 0o644
