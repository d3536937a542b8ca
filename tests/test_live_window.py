"""The real `coach live` window, under a virtual X server (Xvfb, no window manager) of 1280x800: it
opens, the overlay is drawn on it (a screenshot is not blank and shows the hold ring filling in
green), and Ctrl-C ends the session with the summary saved (exit 130, partial). The window fits the
screen whatever the source's size (1920x1080, 1280x720, 720x1280): every panel's box, as the overlay
lays it out for the window, is inside the screen and the screenshot shows the panel there; `--window`
chooses the size, and fullscreen covers the screen with no window manager to do it. Skipped when Xvfb or a GUI-enabled OpenCV is missing,
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

import numpy as np
import pytest
from test_live import write_video

REQUIRE_XVFB = os.environ.get("COACH_REQUIRE_XVFB") == "1"
IN_BAND_RGB = np.array([0, 190, 140])   # OverlayStyle.in_band_rgb: the ring while holding
TRACK_RGB = np.array([70, 76, 84])      # OverlayStyle.track_rgb: the ring's track
SCREEN_PX = (1280, 800)
SCREEN = f"{SCREEN_PX[0]}x{SCREEN_PX[1]}x24"


def _need(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if REQUIRE_XVFB else pytest.skip)(why)


@pytest.fixture
def xvfb():
    import cv2

    _need(shutil.which("Xvfb") is not None, "Xvfb is not installed (apt-get install xvfb)")
    gui = next((line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")), "")
    _need("NONE" not in gui.upper() and gui != "", f"this OpenCV has no GUI backend ({gui.strip()})")
    # -displayfd: Xvfb picks a free display itself and writes its number to the pipe, so two test
    # workers (pytest -n 2) never race for one number.
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,))
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()   # written once the server accepts connections (EOF if it died)
        _need(number.isdigit(), "Xvfb did not start")
        n = int(number)
        yield f":{n}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _grab(display: str) -> np.ndarray:
    from PIL import ImageGrab

    return np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB"))


def _near(img: np.ndarray, rgb: np.ndarray, tol: int = 12) -> int:
    return int((np.abs(img.astype(int) - rgb).max(axis=2) <= tol).sum())


def _ring(img: np.ndarray, size_px: tuple[int, int], at_px: tuple[int, int] = (0, 0),
          upper_half: bool = False) -> np.ndarray:
    """The pixels of the hold ring's annulus, where the overlay lays it out on a window of `size_px`
    whose top left corner is at `at_px` on the screen (only its upper half when asked)."""
    lay = _live_overlay().layout(*size_px)
    (cx, cy), r, t = lay.ring_center_px, lay.ring_radius_px, lay.ring_thickness_px
    yy, xx = np.mgrid[0:size_px[1], 0:size_px[0]]
    annulus = (np.abs(np.hypot(xx - cx, yy - cy) - r) <= t / 2 - 1) & ((yy < cy) | (not upper_half))
    x, y = at_px
    return img[y:y + size_px[1], x:x + size_px[0]][annulus]


def _live_overlay():
    """The overlay as `coach live` draws it (its text unit is the live one, readable from 3 m)."""
    from coach.engine.exercises import get_exercise
    from coach.render.overlay import Overlay, OverlayStyle
    from coach.render.overlay_widgets import LIVE_MIN_TEXT_OF_HEIGHT, LIVE_TEXT_UNIT

    return Overlay(get_exercise("knee_to_chest"),
                   OverlayStyle(text_unit=LIVE_TEXT_UNIT, min_text_of_height=LIVE_MIN_TEXT_OF_HEIGHT))


def _window_box(img: np.ndarray) -> tuple[int, int, int, int]:
    """The box of everything drawn on the screen (the X root of Xvfb is black; the window never is:
    its letterbox and panels are dark grey, not black)."""
    ys, xs = np.nonzero(img.max(axis=2) > 0)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@pytest.mark.model
def test_the_window_shows_the_overlay_with_the_hold_ring(xvfb, photos_dir, lite_model_path, tmp_path):
    video = write_video(tmp_path / "k2c.mp4", [(photos_dir / "knee_to_chest__Hug_Knees_To_Chest__0.jpg", 1.0),
                                               (photos_dir / "knee_to_chest__Hug_Knees_To_Chest__1.jpg", 12.0)])
    (tmp_path / "r.toml").write_text('name = "t"\n[[exercise]]\nid = "knee_to_chest"\nhold_s = 8\n')
    cmd = [sys.executable, "-m", "coach", "live", "--routine", str(tmp_path / "r.toml"), "--source", str(video),
           "--realtime", "--answers", "no", "--model", str(lite_model_path), "--mute", "--window", "640x480"]
    at = ((SCREEN_PX[0] - 640) // 2, (SCREEN_PX[1] - 480) // 2)   # the window is centred on the screen
    # the ring fills in green: a hold runs
    shot, proc, err, out = _live_on_screen(xvfb, cmd, tmp_path, lambda img: _near(_ring(img, (640, 480), at)[None],
                                                                                  IN_BAND_RGB) > 40, timeout_s=40)
    assert shot is not None, f"no green hold ring appeared on the screen; stderr:\n{err[-2000:]}"
    if os.environ.get("COACH_SCREENSHOT"):
        from PIL import Image

        Image.fromarray(shot).save(os.environ["COACH_SCREENSHOT"])
    window = shot[at[1]:at[1] + 480, at[0]:at[0] + 640]
    assert window.std() > 20, "the window is blank"
    ring = _ring(shot, (640, 480), at)[None]
    assert _near(ring, TRACK_RGB) + _near(ring, IN_BAND_RGB) > 0.8 * ring.shape[1], "the ring is not where it belongs"
    assert _window_box(shot) == (at[0], at[1], at[0] + 640, at[1] + 480), "drawn outside the 640x480 window"
    assert proc.returncode == 130, err[-2000:]
    data = json.loads((out / "session.json").read_text())
    assert data["partial"] is True and data["holds"], "Ctrl-C saved the summary of the hold in progress"


# Qt on a bare X server sometimes never paints a window it has mapped: the window is there at its
# size and place (xwininfo), the session runs and shows frames, and the screen stays black to the end.
# Measured here with two busy loops on the two cores: a bare `namedWindow` + `imshow` script stayed
# black in 4 of 14 runs and `coach live` in 2 of 10; never without the load (0 of 12); opencv-python
# issue 362 reports the same black window. It is not the layout these tests check, so a run whose
# screen stays wholly black for PAINT_GRACE_S (the window appears in 1-7 s in the runs under load) is
# run once more; anything drawn, right or wrong, is judged.
PAINT_GRACE_S = 20.0


def _live_on_screen(display: str, cmd: list[str], tmp_path, ready, timeout_s: float = 60.0, settle_s: float = 0.0,
                    attempts: int = 2):
    """Run `coach live` (`cmd`, given its own -o folder and state per attempt) and screenshot it until
    `ready(img)`: (the screenshot `settle_s` after that, or None; the process, its stderr, its -o
    folder). The process is interrupted (Ctrl-C) if still running."""
    for attempt in range(attempts):
        out = tmp_path / f"out{attempt}"
        env = {**os.environ, "DISPLAY": display, "COACH_STATE_DIR": str(tmp_path / f"state{attempt}"),
               "QT_QPA_PLATFORM": "xcb"}
        proc = subprocess.Popen([*cmd, "-o", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        start = time.monotonic()
        shot, painted = None, False
        try:
            while time.monotonic() < start + timeout_s and proc.poll() is None:
                time.sleep(0.3)
                img = _grab(display)
                painted = painted or img.max() > 0
                if painted and ready(img):
                    time.sleep(settle_s)
                    shot = _grab(display) if settle_s else img
                    break
                if not painted and time.monotonic() > start + PAINT_GRACE_S:
                    break   # never painted: Qt's race above, not the layout
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        if painted:
            break
    return shot, proc, err, out


def _wait_for_window(display: str, cmd: list[str], tmp_path, size_px: tuple[int, int]):
    """`_live_on_screen` until the window has its size, and has been drawn on for half a second."""
    shot, proc, err, _ = _live_on_screen(display, cmd, tmp_path, lambda img: _fills(_window_box(img), size_px),
                                         settle_s=0.5)
    return shot, proc, err


def _fills(box: tuple[int, int, int, int], size_px: tuple[int, int], share: float = 0.9) -> bool:
    """The drawn box lies inside the centred window of `size_px` and spans most of it each way (a frame
    whose edge rows are black - a dark photo, the picture before the first frame - draws a little less
    than the window: the X root is black too)."""
    x0, y0, x1, y1 = box
    wx0, wy0 = (SCREEN_PX[0] - size_px[0]) // 2, (SCREEN_PX[1] - size_px[1]) // 2
    inside = wx0 <= x0 and wy0 <= y0 and x1 <= wx0 + size_px[0] and y1 <= wy0 + size_px[1]
    return inside and x1 - x0 >= share * size_px[0] and y1 - y0 >= share * size_px[1]


@pytest.mark.model
@pytest.mark.parametrize("source_px, window", [((1920, 1080), None), ((1280, 720), None), ((720, 1280), None),
                                               ((720, 1280), (600, 760))],
                         ids=["1920x1080", "1280x720", "720x1280", "720x1280 in a portrait window"])
def test_the_window_fits_the_screen_with_every_panel_inside(xvfb, photos_dir, lite_model_path, tmp_path, source_px,
                                                           window):
    """A portrait window (--window 600x760, taller than wide): its text follows its height (the
    smallest at 1/30 of it) and the panels stack, each inside the window and drawn where laid out."""
    from coach.render.display import window_size
    from coach.render.overlay_widgets import SMALL_TEXT_U, fit_into

    video = write_video(tmp_path / "clip.mp4", [(photos_dir / "knee_to_chest__Hug_Knees_To_Chest__1.jpg", 4.0)],
                        size=source_px)
    cmd = [sys.executable, "-m", "coach", "live", "--exercise", "knee_to_chest", "--source", str(video), "--realtime",
           "--answers", "no", "--model", str(lite_model_path), "--mute",
           *(("--window", f"{window[0]}x{window[1]}") if window else ())]
    size = window_size(window, SCREEN_PX)   # default: fit the screen, with room for a window manager
    shot, proc, err = _wait_for_window(xvfb, cmd, tmp_path, size)
    assert shot is not None, f"no {size[0]}x{size[1]} window appeared (exit {proc.returncode}); stderr:\n{err[-2000:]}"
    if os.environ.get("COACH_SCREENSHOT"):
        from PIL import Image

        Image.fromarray(shot).save(os.environ["COACH_SCREENSHOT"].replace(".png", f"-{source_px[0]}x{source_px[1]}.png"))
    assert _fills(_window_box(shot), size), "the window is centred"
    x0, y0 = (SCREEN_PX[0] - size[0]) // 2, (SCREEN_PX[1] - size[1]) // 2
    # the overlay's own layout of that window: every panel inside the screen, and drawn where it says
    _, picture = fit_into(np.zeros((source_px[1], source_px[0], 3), np.uint8), size, (0, 0, 0))
    lay = _live_overlay().layout(*size, picture=picture)
    assert lay.u_px * SMALL_TEXT_U >= size[1] / 30 - 0.01, "the smallest text is 1/30 of the window's height"
    for name, (bx0, by0, bx1, by1) in lay.boxes().items():
        assert 0 <= x0 + bx0 < x0 + bx1 <= SCREEN_PX[0] and 0 <= y0 + by0 < y0 + by1 <= SCREEN_PX[1], name
    for name in ("hold_panel", "cue"):   # the panels hide the picture behind them: dark, whatever the frame
        bx0, by0, bx1, by1 = lay.boxes()[name]
        inside = shot[y0 + by0 + 4:y0 + by1 - 4, x0 + bx0 + 4:x0 + bx1 - 4]
        assert np.median(inside.max(axis=2)) <= 60, f"{name} is not drawn where the layout puts it"
    if not lay.stacked:   # stacked (portrait), the hold panel is under the framing prompt: the ring shows later
        ring = _ring(shot, size, (x0, y0), upper_half=True)[None]   # the framing prompt may cover its lower half
        assert _near(ring, TRACK_RGB) + _near(ring, IN_BAND_RGB) > 0.8 * ring.shape[1], "the ring is not where it belongs"
    else:
        assert window == (600, 760) and lay.status_panel[3] <= lay.hold_panel[1], "the panels stack"
    # the frame is fitted with its aspect kept: the rest of the window is the letterbox's dark grey
    px0, py0, px1, py1 = picture
    assert abs((px1 - px0) / (py1 - py0) - source_px[0] / source_px[1]) < 0.01
    # above the banner's strip nothing is drawn: the picture's edge for a wide source, the band beside it for a tall one
    probe = (size[0] // 2 if py0 > 0 else (px1 + size[0]) // 2, lay.banner[1] // 2)
    letterbox = shot[y0 + probe[1], x0 + probe[0]].astype(int)
    assert np.abs(letterbox - np.array([28, 31, 36])).max() <= 3, (probe, letterbox)


def test_fullscreen_covers_the_screen_without_a_window_manager(xvfb, tmp_path):
    """Xvfb has no window manager to honour the fullscreen request: the window sizes itself."""
    script = tmp_path / "probe.py"
    script.write_text(
        "import numpy as np\n"
        "from coach.render.display import CvWindow\n"
        "w = CvWindow(size_px=(800, 600))\n"
        "def frames():\n"
        "    for _ in range(15):\n"
        "        w.show(np.full((w.canvas_px[1], w.canvas_px[0], 3), 200, np.uint8)); w.key()\n"
        "frames(); print(*w._cv2.getWindowImageRect(w.name))\n"
        "w.set_fullscreen(True); frames(); print(*w._cv2.getWindowImageRect(w.name))\n"
        "w.set_fullscreen(False); frames(); print(*w._cv2.getWindowImageRect(w.name))\n")
    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    rects = [tuple(map(int, line.split())) for line in done.stdout.splitlines()]
    centred = ((SCREEN_PX[0] - 800) // 2, (SCREEN_PX[1] - 600) // 2, 800, 600)
    assert rects == [centred, (0, 0, *SCREEN_PX), centred], rects


def test_the_screen_size_is_read_from_the_display_without_a_screenshot(xvfb, monkeypatch):
    """The window's default size comes from the size the X display reports (Xlib), not from a full
    screenshot (a 1280x800 grab is 3 MB read over the X connection); no display: unknown."""
    from PIL import ImageGrab

    from coach.render import display

    def no_screenshot(*args, **kwargs):
        raise AssertionError("a screenshot was taken to read the screen's size")

    monkeypatch.setattr(ImageGrab, "grab", no_screenshot)
    monkeypatch.setenv("DISPLAY", xvfb)
    start_s = time.perf_counter()
    assert display.screen_size_px() == SCREEN_PX
    assert time.perf_counter() - start_s < 0.5
    monkeypatch.setenv("DISPLAY", ":4711")   # no server there
    assert display.screen_size_px() is None
