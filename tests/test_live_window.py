"""The real `coach live` window, under a virtual X server (Xvfb): it opens, the overlay is drawn on it
(a screenshot is not blank and shows the hold ring filling in green), and Ctrl-C ends the session
with the summary saved (exit 130, partial). Skipped when Xvfb or a GUI-enabled OpenCV is missing,
unless COACH_REQUIRE_XVFB=1 (set by .ci/run after installing Xvfb), when that is a failure.

Set COACH_SCREENSHOT=path.png to keep the screenshot.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_live import write_video

REQUIRE_XVFB = os.environ.get("COACH_REQUIRE_XVFB") == "1"
IN_BAND_RGB = np.array([0, 190, 140])   # OverlayStyle.in_band_rgb: the ring while holding
TRACK_RGB = np.array([70, 76, 84])      # OverlayStyle.track_rgb: the ring's track
SCREEN = "1280x1024x24"


def _need(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if REQUIRE_XVFB else pytest.skip)(why)


def _free_display() -> int:
    return next(n for n in range(90, 200) if not Path(f"/tmp/.X{n}-lock").exists()
                and not Path(f"/tmp/.X11-unix/X{n}").exists())


@pytest.fixture
def xvfb():
    import cv2

    _need(shutil.which("Xvfb") is not None, "Xvfb is not installed (apt-get install xvfb)")
    gui = next((line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")), "")
    _need("NONE" not in gui.upper() and gui != "", f"this OpenCV has no GUI backend ({gui.strip()})")
    n = _free_display()
    server = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        _need(Path(f"/tmp/.X11-unix/X{n}").exists(), "Xvfb did not start")
        yield f":{n}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _grab(display: str) -> np.ndarray:
    from PIL import ImageGrab

    return np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB"))


def _near(img: np.ndarray, rgb: np.ndarray, tol: int = 12) -> int:
    return int((np.abs(img.astype(int) - rgb).max(axis=2) <= tol).sum())


def _ring(img: np.ndarray, size_px: tuple[int, int]) -> np.ndarray:
    """The pixels of the hold ring's annulus, where the overlay lays it out on a frame of `size_px`."""
    from coach.engine.exercises import get_exercise
    from coach.render.overlay import Overlay

    lay = Overlay(get_exercise("knee_to_chest")).layout(*size_px)
    (cx, cy), r, t = lay.ring_center_px, lay.ring_radius_px, lay.ring_thickness_px
    yy, xx = np.mgrid[0:size_px[1], 0:size_px[0]]
    annulus = np.abs(np.hypot(xx - cx, yy - cy) - r) <= t / 2 - 1
    return img[:size_px[1], :size_px[0]][annulus]


@pytest.mark.model
def test_the_window_shows_the_overlay_with_the_hold_ring(xvfb, photos_dir, lite_model_path, tmp_path):
    video = write_video(tmp_path / "k2c.mp4", [(photos_dir / "knee_to_chest__Hug_Knees_To_Chest__0.jpg", 1.0),
                                               (photos_dir / "knee_to_chest__Hug_Knees_To_Chest__1.jpg", 12.0)])
    (tmp_path / "r.toml").write_text('name = "t"\n[[exercise]]\nid = "knee_to_chest"\nhold_s = 8\n')
    env = {**os.environ, "DISPLAY": xvfb, "COACH_STATE_DIR": str(tmp_path / "state"), "QT_QPA_PLATFORM": "xcb"}
    cmd = [sys.executable, "-m", "coach", "live", "--routine", str(tmp_path / "r.toml"), "--source", str(video),
           "--realtime", "--answers", "no", "--model", str(lite_model_path), "-o", str(tmp_path / "out"), "--mute"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shot, deadline = None, time.monotonic() + 40
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            img = _grab(xvfb)
            if _near(_ring(img, (640, 480))[None], IN_BAND_RGB) > 40:  # the ring fills in green: a hold runs
                shot = img
                break
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert shot is not None, f"no green hold ring appeared on the screen; stderr:\n{err[-2000:]}"
    if os.environ.get("COACH_SCREENSHOT"):
        from PIL import Image

        Image.fromarray(shot).save(os.environ["COACH_SCREENSHOT"])
    window = shot[:480, :640]
    assert window.std() > 20, "the window is blank"
    ring = _ring(shot, (640, 480))[None]
    assert _near(ring, TRACK_RGB) + _near(ring, IN_BAND_RGB) > 0.8 * ring.shape[1], "the ring is not where it belongs"
    assert shot[600:, 700:].max() == 0, "something was drawn outside the 640x480 window"
    assert proc.returncode == 130, err[-2000:]
    data = json.loads((tmp_path / "out" / "session.json").read_text())
    assert data["partial"] is True and data["holds"], "Ctrl-C saved the summary of the hold in progress"
