"""Where `coach live` shows its frames, and the screens it draws around the overlay.

`Display` is what the live loop needs from a window: `show(rgb)`, `key()` (the key pressed since
the last call, by name: "q", "space", "esc", "+"...), `wait_key(timeout_s)`, `set_fullscreen(on)`,
`closed`, `interactive` (someone can answer in it), `canvas_px` (the size to draw frames at: the
window's, or None for the frame's own) and `close()`.

A window that fits: `CvWindow` sizes itself to `--window WxH`, or by default to the screen less room
for a window manager's title bar and panels (`WM_ROOM`), never larger than the screen, and the live
session draws each frame on a canvas of exactly that size (the frame fitted into it, aspect kept), so
every panel is inside the window and the text follows the window's size. Fullscreen (key f) asks the
window manager, and also sizes the window to the screen at (0, 0) itself - under a bare X server
(Xvfb, a kiosk) there is no window manager to do it. `CvWindow` is the real one
(OpenCV HighGUI: the only cv2 GUI calls of the project); `NoWindow` (--no-window) shows nothing and
reads no keys, for headless runs and benchmarks.

The screens (framing prompt, pause, the status line with FPS and latency, the live angle plot,
screening questions, the end summary) are drawn with the overlay's primitives (`coach.render.overlay_widgets`):
cv2 draws only there and in `coach.render.overlay`. Sizes follow the overlay's text unit, so +/- scale them too.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coach.errors import CoachError
from coach.io.sources import solid
from coach.render.overlay import OverlayStyle
from coach.render.overlay_widgets import SMALL_TEXT_U, draw_lines, pill, put_text, shade, text_width, wrap

KEY_NAMES = {27: "esc", 32: "space", 13: "enter", 10: "enter", 9: "tab", 8: "backspace"}
BLANK_RGB = OverlayStyle().letterbox_rgb   # the screens' dark canvas, also around a frame fitted into the window
WINDOW_NAME = "coach live"
PROMPT_HEIGHT_U = 7.8   # the prompt panel's height in layout units: a title and two lines of message
# The default window is this share of the screen each way: the rest (80 px of an 800 px screen) is
# room for a window manager's title bar (about 30 px) and a desktop panel (about 30-50 px).
WM_ROOM = 0.9
MIN_WINDOW_PX = (320, 240)   # smaller than this, the overlay's panels cannot all fit side by side


class DisplayError(CoachError):
    """No window can be opened here (no display, or OpenCV built without a GUI)."""


def check_display(environ=os.environ, platform: str = sys.platform) -> None:
    """On Linux and the BSDs a window needs $DISPLAY (X11, with its socket present) or $WAYLAND_DISPLAY."""
    if platform.startswith(("win", "darwin")) or environ.get("WAYLAND_DISPLAY"):
        return
    display = environ.get("DISPLAY", "")
    if not display:
        raise DisplayError("no display to open a window on ($DISPLAY is not set); use --no-window")
    host, _, number = display.rpartition(":")
    if host in ("", "unix") and not Path(f"/tmp/.X11-unix/X{number.split('.')[0]}").exists():
        raise DisplayError(f"the display {display} is not running (no X server socket); use --no-window")


def key_name(code: int) -> str | None:
    """An OpenCV key code as a name: printable keys as themselves, a few others by name; -1 = None."""
    if code < 0:
        return None
    code &= 0xFF
    if code in KEY_NAMES:
        return KEY_NAMES[code]
    return chr(code).lower() if 33 <= code < 127 else None


def parse_window(text: str) -> tuple[int, int]:
    """--window WxH: "1280x720" -> (1280, 720); ValueError with a one-line reason otherwise."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.strip().isdigit() or not h.strip().isdigit():
        raise ValueError(f"expected WIDTHxHEIGHT in pixels such as 1280x720, got {text!r}")
    size = (int(w), int(h))
    if size[0] < MIN_WINDOW_PX[0] or size[1] < MIN_WINDOW_PX[1]:
        raise ValueError(f"{text!r} is smaller than {MIN_WINDOW_PX[0]}x{MIN_WINDOW_PX[1]}, where the overlay's "
                         "panels cannot all fit")
    return size


def screen_size_px() -> tuple[int, int] | None:
    """The screen's size in pixels as the display reports it, or None when it cannot be read (no
    display, Wayland): X11 through $DISPLAY (Xlib's DisplayWidth / DisplayHeight, by ctypes: no
    screenshot), Windows' system metrics; elsewhere (macOS) Pillow's screen grab, the one way left."""
    try:
        if sys.platform == "win32":
            import ctypes

            metrics = ctypes.windll.user32.GetSystemMetrics
            size = (metrics(0), metrics(1))   # SM_CXSCREEN, SM_CYSCREEN
        elif sys.platform == "darwin":
            from PIL import ImageGrab

            size = ImageGrab.grab().size
        else:
            size = _x11_screen_px(os.environ.get("DISPLAY"))
    except Exception:  # noqa: BLE001 - any failure means "unknown": the window then takes the frame's size
        return None
    return (int(size[0]), int(size[1])) if size and size[0] > 0 and size[1] > 0 else None


def _x11_screen_px(display: str | None) -> tuple[int, int] | None:
    """The default screen's size of the X display (None: no display, or no libX11)."""
    import ctypes
    import ctypes.util

    if not display:
        return None
    try:
        xlib = ctypes.CDLL("libX11.so.6")
    except OSError:
        found = ctypes.util.find_library("X11")
        if found is None:
            return None
        xlib = ctypes.CDLL(found)
    xlib.XOpenDisplay.restype, xlib.XOpenDisplay.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    xlib.XDefaultScreen.argtypes = [ctypes.c_void_p]
    xlib.XDisplayWidth.argtypes = xlib.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = xlib.XOpenDisplay(display.encode())
    if not connection:
        return None
    try:
        screen = xlib.XDefaultScreen(connection)
        return xlib.XDisplayWidth(connection, screen), xlib.XDisplayHeight(connection, screen)
    finally:
        xlib.XCloseDisplay(connection)


def window_size(requested: tuple[int, int] | None, screen: tuple[int, int] | None) -> tuple[int, int] | None:
    """The window's size: the requested one, else WM_ROOM of the screen; never larger than the screen.
    None: neither is known (the window then takes each frame's size, as it comes)."""
    if requested is None and screen is None:
        return None
    if requested is None:
        return round(screen[0] * WM_ROOM), round(screen[1] * WM_ROOM)
    if screen is None:
        return requested
    return min(requested[0], screen[0]), min(requested[1], screen[1])


class NoWindow:
    """--no-window: frames are drawn (so timing is honest) but not shown; no keys are ever pressed."""

    closed = False
    interactive = False   # nobody can answer a question or read a screen
    canvas_px = None      # frames are drawn at their own size

    def __init__(self) -> None:
        self.shown = 0
        self.last: np.ndarray | None = None

    def show(self, rgb: np.ndarray) -> None:
        self.shown += 1
        self.last = rgb

    def key(self) -> str | None:
        return None

    def wait_key(self, timeout_s: float) -> str | None:
        return None

    def set_fullscreen(self, on: bool) -> None:
        """Nothing to enlarge."""

    def close(self) -> None:
        """Nothing to release."""


class CvWindow:
    """An OpenCV window (HighGUI: Qt or GTK, whichever the wheel was built with), sized to fit: see
    the module's docstring. `size_px`: --window WxH (None: fit the screen)."""

    interactive = True

    def __init__(self, name: str = WINDOW_NAME, size_px: tuple[int, int] | None = None):
        import cv2

        check_display()  # Qt aborts the whole process when it finds no display: check first
        self._cv2, self.name, self.shown = cv2, name, 0
        try:
            cv2.namedWindow(name, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise DisplayError(f"cannot open a window ({' '.join(str(exc).split())[:160]}); "
                               "use --no-window, or run where a display is available") from None
        self.screen_px = screen_size_px()
        self.window_px = window_size(size_px, self.screen_px)
        self.fullscreen = False
        self._placed: tuple[int, int] | None = None   # the size the window was last given
        self._closed = False

    @property
    def canvas_px(self) -> tuple[int, int] | None:
        """The size frames are drawn at: the screen in fullscreen, else the window's (None: unknown)."""
        if self.fullscreen and self.screen_px is not None:
            return self.screen_px
        return self.window_px

    def show(self, rgb: np.ndarray) -> None:
        cv2 = self._cv2
        size = self.canvas_px or (int(rgb.shape[1]), int(rgb.shape[0]))
        if self._placed != size:
            self._place(size)
        cv2.imshow(self.name, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.shown += 1

    def _place(self, size: tuple[int, int]) -> None:
        """Size the window, and put it at the screen's centre (at (0, 0) in fullscreen)."""
        cv2 = self._cv2
        cv2.resizeWindow(self.name, *size)
        if self.screen_px is not None:
            x, y = (0, 0) if self.fullscreen else ((self.screen_px[0] - size[0]) // 2, (self.screen_px[1] - size[1]) // 2)
            cv2.moveWindow(self.name, x, y)
        self._placed = size

    def key(self) -> str | None:
        """The key pressed since the last call (this also lets the window draw itself)."""
        return self.wait_key(0.001)

    def wait_key(self, timeout_s: float) -> str | None:
        code = self._cv2.waitKey(max(1, int(round(timeout_s * 1000))))
        return key_name(code)

    @property
    def closed(self) -> bool:
        """The user closed the window (its close button)."""
        if not self._closed:
            try:
                self._closed = self._cv2.getWindowProperty(self.name, self._cv2.WND_PROP_VISIBLE) < 1
            except self._cv2.error:
                self._closed = True
        return self._closed

    def set_fullscreen(self, on: bool) -> None:
        """Ask the window manager; the next frame also sizes the window to the screen at (0, 0) (or
        back), which is all there is without a window manager."""
        cv2 = self._cv2
        cv2.setWindowProperty(self.name, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN if on else cv2.WINDOW_NORMAL)
        self.fullscreen = bool(on)

    def close(self) -> None:
        try:
            self._cv2.destroyWindow(self.name)
            self._cv2.waitKey(1)
        except self._cv2.error:
            pass  # already gone (closed by the user)


# --- screens ----------------------------------------------------------------------------------------

def blank(size_px: tuple[int, int]) -> np.ndarray:
    """A dark canvas (width, height): the picture of a landmark recording, and the screens' background."""
    w, h = size_px
    return solid(h, w, BLANK_RGB)


def draw_status(img: np.ndarray, text: str, u_px: int, style: OverlayStyle, above_px: int) -> int:
    """A small line at the bottom right, just above `above_px` (the cue strip's top); wrapped onto a
    second line when the window is too narrow for it (it never leaves the window). Returns its top."""
    size = u_px * SMALL_TEXT_U
    lines = wrap(text, img.shape[1] - 3 * u_px, size, 2)
    line_h = round(1.5 * size)
    widest = max(text_width(line, size) for line in lines)
    x = img.shape[1] - u_px - widest
    top = above_px - line_h * len(lines) - u_px // 2
    shade(img, (x - u_px // 2, top, img.shape[1] - u_px // 2, above_px - 2), style.panel_rgb, style.panel_alpha,
          radius_px=u_px // 3)
    for i, line in enumerate(lines):
        put_text(img, line, (img.shape[1] - u_px - text_width(line, size),
                             above_px - u_px // 2 - 2 - line_h * (len(lines) - 1 - i)), size, style.dim_text_rgb)
    return top


def draw_prompt(img: np.ndarray, title: str, message: str, u_px: int, style: OverlayStyle, bottom_px: int,
                progress: float = 0.0) -> None:
    """A large panel across the picture ending at `bottom_px` (above the cue strip): a title, then the
    message (framing, pause) readable from afar, and a progress bar when `progress` > 0."""
    w = img.shape[1]
    box = (2 * u_px, bottom_px - round(PROMPT_HEIGHT_U * u_px), w - 2 * u_px, bottom_px)
    shade(img, box, style.panel_rgb, min(1.0, style.panel_alpha + 0.2), radius_px=u_px)
    title = wrap(title, box[2] - box[0] - 2 * u_px, u_px * 1.0, 1, bold=True)[0]   # a narrow window: cut with "..."
    put_text(img, title, (box[0] + u_px, box[1] + round(2.0 * u_px)), u_px * 1.0, style.approaching_rgb, bold=True)
    draw_lines(img, (box[0] + u_px, box[1] + round(2.6 * u_px), box[2] - u_px, box[3] - round(1.2 * u_px)),
               message, (u_px * 1.8, u_px * 1.3), style.text_rgb, bold=True)
    if progress > 0:
        bar = (box[0] + u_px, box[3] - round(0.9 * u_px), box[2] - u_px, box[3] - round(0.5 * u_px))
        shade(img, bar, style.track_rgb, 1.0)
        shade(img, (bar[0], bar[1], bar[0] + round((bar[2] - bar[0]) * min(1.0, progress)), bar[3]),
              style.in_band_rgb, 1.0)


def draw_plot(img: np.ndarray, box: tuple[int, int, int, int], values: Sequence[float], band: tuple[float, float],
              label: str, u_px: int, style: OverlayStyle) -> None:
    """The live angle plot (presentation mode): the last values as columns, the target band shaded."""
    x0, y0, x1, y1 = box
    shade(img, box, style.panel_rgb, style.panel_alpha, radius_px=u_px // 3)
    put_text(img, label, (x0 + u_px // 2, y0 + round(1.1 * u_px)), u_px * SMALL_TEXT_U, style.text_rgb)
    top, bottom = y0 + round(1.6 * u_px), y1 - u_px // 2
    finite = [v for v in values if math.isfinite(v)] + list(band)
    lo, hi = min(finite) - 5.0, max(finite) + 5.0
    y_of = lambda v: round(bottom - (v - lo) / (hi - lo) * (bottom - top))  # noqa: E731
    shade(img, (x0 + u_px // 2, y_of(band[1]), x1 - u_px // 2, y_of(band[0]) + 1), style.in_band_rgb, 0.3)
    n = max(1, len(values))
    step = (x1 - x0 - u_px) / n
    for i, v in enumerate(values):
        if math.isfinite(v):
            cx = round(x0 + u_px // 2 + i * step)
            colour = style.in_band_rgb if band[0] <= v <= band[1] else style.out_rgb
            shade(img, (cx, y_of(v) - 2, cx + max(2, round(step)), y_of(v) + 2), colour, 1.0)


def text_screen(size_px: tuple[int, int], title: str, lines: Sequence[str], footer: str, u_px: int,
                style: OverlayStyle) -> np.ndarray:
    """A full screen of text on the dark canvas: screening questions, advice, the end summary."""
    img = blank(size_px)
    w, h = size_px
    y = round(2.5 * u_px)
    for part in wrap(title, w - 2 * u_px, u_px * 1.4, 2, bold=True):
        put_text(img, part, (u_px, y), u_px * 1.4, style.text_rgb, bold=True)
        y += round(2.2 * u_px)
    y += u_px // 2
    for line in lines:
        for part in wrap(line, w - 2 * u_px, u_px, 4):
            if y > h - 3 * u_px:
                break
            put_text(img, part, (u_px, y), u_px, style.text_rgb)
            y += round(1.6 * u_px)
    if footer:
        pill(img, footer, (u_px, h - round(2.6 * u_px)), u_px * 0.9, style.approaching_rgb, style.dark_text_rgb)
    return img
