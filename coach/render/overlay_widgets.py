"""Drawing primitives of `coach.render.overlay`: text, translucent panels, skeletons, a gauge, a ring, a banner.

Each function draws in place into an RGB uint8 image the caller owns (the overlay's own copy), takes
colours as RGB tuples and sizes in pixels. `u_px` is the overlay's text unit: the height of a
capital letter of body text. OpenCV 5 draws any Unicode text; with OpenCV 4's ASCII-only Hershey
fonts, dashes and quotes are turned into ASCII and "°" is drawn as a small ring. cv2 drawing lives
only here and in `coach.render.overlay`.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, fields

import cv2
import numpy as np

from coach.io.sources import solid
from coach.pose.landmarks import SKELETON
from coach.pose.landmarks import Landmark as L

RGB = tuple[int, int, int]


def _rgb_ok(value) -> bool:
    return isinstance(value, tuple) and len(value) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in value)


@dataclass(frozen=True)
class OverlayStyle:
    """Every colour (RGB) and size of the overlay. Palette: Okabe-Ito / Tol, safe for colour-blind
    viewers, and no state is told by colour alone (each also has a word or a shape)."""

    # Okabe-Ito bluish green (0, 158, 115) lightened so that as text on a panel over a white frame it
    # reads at 5.7:1 (WCAG AA asks 4.5:1); the original reads 4.0:1 there
    in_band_rgb: RGB = (0, 190, 140)       # bluish green: in the envelope, holding
    approaching_rgb: RGB = (240, 170, 0)   # amber: settling, paused; caution banner
    out_rgb: RGB = (86, 180, 233)          # sky blue: out of the envelope
    unknown_rgb: RGB = (180, 180, 180)     # grey: can't judge, not seen, resting
    alert_rgb: RGB = (204, 51, 17)         # red: a body alert; stop banner
    text_rgb: RGB = (255, 255, 255)
    dim_text_rgb: RGB = (185, 190, 196)
    dark_text_rgb: RGB = (20, 20, 20)      # on amber and other light backgrounds
    panel_rgb: RGB = (14, 17, 22)
    track_rgb: RGB = (70, 76, 84)          # gauge and ring tracks
    letterbox_rgb: RGB = (28, 31, 36)      # around a frame fitted into a window of another shape (the screens' dark)
    ghost_rgb: RGB = (255, 255, 255)
    others_rgb: RGB = (150, 150, 150)      # other people in view
    # Panels must hide a white frame enough for every text colour on them to read at 4.5:1 (WCAG AA):
    # at 0.88 a white frame shows through as (43, 45, 50), where the darkest text colour, the green,
    # reads 5.7:1 (at the former 0.62: (106, 107, 111), 1.6:1). tests/test_overlay.py measures it.
    panel_alpha: float = 0.88
    ghost_alpha: float = 0.45
    text_unit: float = 0.03                # body text capital height, as a fraction of the shorter side (live: LIVE_TEXT_UNIT)
    text_scale: float = 1.0                # live mode's +/- keys
    # the smallest text's capital height as a fraction of the window's height, at least (live:
    # LIVE_MIN_TEXT_OF_HEIGHT): in a portrait window the shorter side alone would make it smaller
    min_text_of_height: float = 0.0
    presentation: bool = False             # larger values and the envelope numbers on each gauge
    draw_others: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_rgb") and not _rgb_ok(value):
                raise ValueError(f"OverlayStyle.{f.name}: expected an (r, g, b) tuple of ints 0-255, got {value!r}")
        for name in ("panel_alpha", "ghost_alpha"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"OverlayStyle.{name}: expected 0..1, got {getattr(self, name)}")
        if not 0.005 <= self.text_unit <= 0.2:
            raise ValueError(f"OverlayStyle.text_unit: expected 0.005..0.2, got {self.text_unit}")
        if not 0.0 <= self.min_text_of_height <= 0.1:
            raise ValueError(f"OverlayStyle.min_text_of_height: expected 0..0.1, got {self.min_text_of_height}")
        if not 0.25 <= self.text_scale <= 4.0:
            raise ValueError(f"OverlayStyle.text_scale: expected 0.25..4, got {self.text_scale}")
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1 / y1 exclusive
# The smallest text, in text units (notes, the ring's "of 30 s", the subtitle, the status line).
SMALL_TEXT_U = 0.8
# `coach live` is read from the mat, about 3 m away: every capital at least 1/30 of the window's
# height (issue 15). With the text unit at 1/24 of the window's shorter side, SMALL_TEXT_U is 1/30 of a
# landscape window's height. The annotated video of `coach analyze` is watched up close and keeps
# OverlayStyle.text_unit (0.03), which leaves more of the picture free.
LIVE_TEXT_UNIT = 1 / 24
# ... and in a portrait window (taller than wide) the same 1/30 of its height: the unit then follows the
# height, and the panels stack (`Overlay.layout`) since they no longer fit side by side.
LIVE_MIN_TEXT_OF_HEIGHT = 1 / 30
FONT = cv2.FONT_HERSHEY_DUPLEX
_AA = cv2.LINE_AA
_ASCII = str.maketrans({"—": "-", "–": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "...", "×": "x",
                        "·": "-", "≈": "~", "→": "->", "≥": ">=", "≤": "<="})
JOINTS = (L.NOSE, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST,
          L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE)
_BONES = np.array(SKELETON, dtype=np.intp)
_JOINTS = np.array(JOINTS, dtype=np.intp)
OUTLINE_RGB: RGB = (20, 20, 20)
# OpenCV 5 draws Unicode text with its own font; 4.x has only the ASCII Hershey fonts.
NATIVE_UNICODE = int(cv2.__version__.split(".", 1)[0]) >= 5


# --- what was drawn, where (for the window's fit and the readability checks) ------------------------

@dataclass(frozen=True)
class Drawn:
    """One element as drawn: a "text" (its colour, and the box its letters can cover) or a "panel" (a
    filled box, its colour and opacity), in the pixels of the image drawn on, x1 / y1 exclusive."""

    kind: str
    box: Box
    rgb: RGB
    text: str = ""
    alpha: float = 1.0
    height_px: float = 0.0   # a text's capital height


_RECORD: ContextVar[list[Drawn] | None] = ContextVar("coach_overlay_drawn", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[Drawn]]:
    """Within the block every text and panel drawn (in this thread or task) is listed, in order:

        with recording() as drawn:
            img = overlay.annotate(frame, pose_frame, verdict)
    """
    drawn: list[Drawn] = []
    token = _RECORD.set(drawn)
    try:
        yield drawn
    finally:
        _RECORD.reset(token)


def _note(kind: str, box: Box, rgb: RGB, text: str = "", alpha: float = 1.0, height_px: float = 0.0) -> None:
    drawn = _RECORD.get()
    if drawn is not None:
        drawn.append(Drawn(kind, tuple(int(v) for v in box), tuple(int(c) for c in rgb), text, float(alpha),
                           float(height_px)))


# --- text -----------------------------------------------------------------------------------------

@functools.cache
def _cap_px_at_scale_1() -> float:
    (_, height), _ = cv2.getTextSize("H", FONT, 1.0, 1)
    return float(height)


def _font(height_px: float, bold: bool) -> tuple[float, int]:
    """(font scale, stroke thickness) for capitals `height_px` tall."""
    thickness = max(2, round(height_px / 7)) if bold else max(1, round(height_px / 13))
    return height_px / _cap_px_at_scale_1(), thickness


def printable(text: str) -> str:
    """What the font can draw: anything with OpenCV 5; else ASCII, plus "°" (drawn by `put_text` as a ring)."""
    if NATIVE_UNICODE:
        return text if text.isprintable() else "".join(c for c in text if c.isprintable())
    text = text.translate(_ASCII)
    return "".join(c if c == "°" or 32 <= ord(c) < 127 else "?" for c in text)


def _degree_w(height_px: float) -> int:
    return max(4, round(height_px * 0.5))


@functools.lru_cache(maxsize=4096)
def _width(part: str, scale: float, thickness: int) -> int:
    return cv2.getTextSize(part, FONT, scale, thickness)[0][0]


@functools.lru_cache(maxsize=4096)
def text_width(text: str, height_px: float, bold: bool = False) -> int:
    scale, thickness = _font(height_px, bold)
    parts = [printable(text)] if NATIVE_UNICODE else printable(text).split("°")
    width = sum(_width(p, scale, thickness) for p in parts if p)
    return width + (len(parts) - 1) * _degree_w(height_px)


def put_text(img: np.ndarray, text: str, xy_px: tuple[int, int], height_px: float, rgb: RGB,
             bold: bool = False) -> int:
    """One line of text, `xy_px` = (left, baseline). Returns the x just after it."""
    scale, thickness = _font(height_px, bold)
    x, baseline = int(xy_px[0]), int(xy_px[1])
    x_start = x
    parts = [printable(text)] if NATIVE_UNICODE else printable(text).split("°")
    for i, part in enumerate(parts):
        if part:
            cv2.putText(img, part, (x, baseline), FONT, scale, rgb, thickness, _AA)
            x += _width(part, scale, thickness)
        if i < len(parts) - 1:
            r = max(2, round(height_px * 0.15))
            cv2.circle(img, (x + r + 1, baseline - round(height_px) + r), r, rgb, max(1, thickness - 1), _AA)
            x += _degree_w(height_px)
    if text.strip():   # capitals reach height_px above the baseline, descenders ~0.35 of it below
        _note("text", (x_start - thickness, baseline - math.ceil(height_px) - thickness, x + thickness,
                       baseline + math.ceil(0.35 * height_px) + thickness), rgb, text, height_px=height_px)
    return x


def wrap(text: str, max_w_px: int, height_px: float, max_lines: int, bold: bool = False) -> list[str]:
    """Greedy word wrap into at most `max_lines`; the last line ends in "..." when text is cut."""
    lines: list[str] = []
    for word in printable(text).split():
        if lines and text_width(f"{lines[-1]} {word}", height_px, bold) <= max_w_px:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) <= max_lines:
        return lines
    last = " ".join(lines[max_lines - 1:])
    while last and text_width(last + "...", height_px, bold) > max_w_px:
        last = last[:-1]
    return lines[:max_lines - 1] + [last.rstrip() + "..."]


# --- panels ---------------------------------------------------------------------------------------

def _clip(img: np.ndarray, box: Box) -> Box:
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def _blend(roi: np.ndarray, rgb: RGB, alpha: float) -> None:
    """roi = roi * (1 - alpha) + rgb * alpha, in place."""
    if roi.size == 0:
        return
    if alpha >= 1.0:
        roi[:] = rgb
        return
    keep = 1.0 - alpha  # one pass: each channel scaled, plus its share of the colour
    matrix = np.array([[keep, 0, 0, rgb[0] * alpha], [0, keep, 0, rgb[1] * alpha], [0, 0, keep, rgb[2] * alpha]])
    cv2.transform(roi, matrix, dst=roi)


@functools.cache
def _corner_coverage(r: int) -> np.ndarray:
    """(r, r, 1) anti-aliased coverage of the top-left corner of a rounded rectangle of radius r."""
    yy, xx = np.mgrid[0:r, 0:r] + 0.5
    return np.clip(r - np.hypot(xx - r, yy - r) + 0.5, 0.0, 1.0)[..., None].astype(np.float32)


def shade(img: np.ndarray, box: Box, rgb: RGB, alpha: float, radius_px: int = 0) -> None:
    """Blend a (rounded) rectangle of colour `rgb` over the image with opacity `alpha`."""
    x0, y0, x1, y1 = _clip(img, box)
    if x1 <= x0 or y1 <= y0:
        return
    _note("panel", tuple(box), rgb, alpha=alpha)
    roi = img[y0:y1, x0:x1]
    h, w = roi.shape[:2]
    r = max(0, min(radius_px, w // 2, h // 2))
    _blend(roi[r:h - r], rgb, alpha)
    if r == 0:
        return
    _blend(roi[:r, r:w - r], rgb, alpha)
    _blend(roi[h - r:, r:w - r], rgb, alpha)
    a = _corner_coverage(r) * alpha
    colour = np.array(rgb, np.float32)
    for ys, xs, flip_y, flip_x in ((slice(0, r), slice(0, r), 1, 1), (slice(0, r), slice(w - r, w), 1, -1),
                                   (slice(h - r, h), slice(0, r), -1, 1), (slice(h - r, h), slice(w - r, w), -1, -1)):
        cov = a[::flip_y, ::flip_x]
        corner = roi[ys, xs]
        corner[:] = (corner * (1.0 - cov) + colour * cov + 0.5).astype(np.uint8)


def pill(img: np.ndarray, text: str, xy_px: tuple[int, int], height_px: float, bg: RGB, fg: RGB) -> int:
    """Text on a solid rounded label; `xy_px` = (left, top). Returns the label's width."""
    pad = round(height_px * 0.6)
    w = text_width(text, height_px, bold=True) + 2 * pad
    h = round(height_px * 2.0)
    x, y = xy_px
    shade(img, (x, y, x + w, y + h), bg, 1.0, radius_px=h // 2)
    put_text(img, text, (x + pad, y + round((h + height_px) / 2)), height_px, fg, bold=True)
    return w


def fit_into(img: np.ndarray, size_px: tuple[int, int], fill_rgb: RGB) -> tuple[np.ndarray, Box]:
    """`img` scaled (aspect kept) and centred on a new canvas of `size_px` (width, height) filled with
    `fill_rgb`; returns the canvas and the box the picture took."""
    w, h = (max(1, int(v)) for v in size_px)
    ih, iw = img.shape[:2]
    scale = min(w / iw, h / ih)
    pw, ph = max(1, round(iw * scale)), max(1, round(ih * scale))
    x0, y0 = (w - pw) // 2, (h - ph) // 2
    canvas = solid(h, w, fill_rgb)   # copied, not filled: a live frame's canvas every frame
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[y0:y0 + ph, x0:x0 + pw] = img if (pw, ph) == (iw, ih) else cv2.resize(img, (pw, ph), interpolation=interpolation)
    return canvas, (x0, y0, x0 + pw, y0 + ph)


# --- skeleton ---------------------------------------------------------------------------------------

def draw_skeleton(img: np.ndarray, xy_px: np.ndarray, seen: np.ndarray, rgb: RGB, thickness_px: int) -> None:
    """Bones between seen landmarks, outlined dark so they read on any background, and joint dots."""
    pts = np.round(np.nan_to_num(xy_px, nan=-1e4)).astype(np.int64).clip(-10**6, 10**6)
    bones = [(tuple(pts[a]), tuple(pts[b])) for a, b in _BONES if seen[a] and seen[b]]
    joints = [tuple(pts[j]) for j in _JOINTS if seen[j]]
    outline = thickness_px + max(2, thickness_px // 2)
    for p, q in bones:
        cv2.line(img, p, q, OUTLINE_RGB, outline, _AA)
    for p, q in bones:
        cv2.line(img, p, q, rgb, thickness_px, _AA)
    r = max(2, round(thickness_px * 1.1))
    for p in joints:
        cv2.circle(img, p, r + max(1, thickness_px // 3), OUTLINE_RGB, -1, _AA)
        cv2.circle(img, p, r, rgb, -1, _AA)


def blend_skeleton(img: np.ndarray, xy_px: np.ndarray, seen: np.ndarray, rgb: RGB, thickness_px: int,
                   alpha: float) -> None:
    """A semi-transparent skeleton (a ghost): drawn on a copy of its bounding box, then blended."""
    pts = xy_px[seen & np.isfinite(xy_px).all(axis=1)]
    if len(pts) < 2:
        return
    pad = 3 * thickness_px
    x0, y0, x1, y1 = _clip(img, (int(pts[:, 0].min()) - pad, int(pts[:, 1].min()) - pad,
                                 int(pts[:, 0].max()) + pad + 1, int(pts[:, 1].max()) + pad + 1))
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    layer = roi.copy()
    draw_skeleton(layer, xy_px - np.array([x0, y0]), seen, rgb, thickness_px)
    roi[:] = cv2.addWeighted(layer, alpha, roi, 1.0 - alpha, 0.0)


# --- gauge, ring, banner ------------------------------------------------------------------------------

@dataclass(frozen=True)
class GaugeView:
    """One envelope measure as drawn: a scale lo..hi, the target band shaded, the value as a marker.

    `value` NaN draws no marker; `band_text` (presentation mode) labels the band's ends.
    """

    label: str
    value_text: str
    note: str
    lo: float
    hi: float
    band: tuple[float, float]
    value: float
    rgb: RGB
    band_text: tuple[str, str] = ("", "")


def _x_of(g: GaugeView, v: float, x0: int, x1: int) -> int:
    f = (min(max(v, g.lo), g.hi) - g.lo) / (g.hi - g.lo)
    return round(x0 + f * (x1 - x0))


def _value_px(g: GaugeView, u_px: int, big: bool) -> int:
    """A number is drawn large (larger still in presentation mode); "can't measure" stays small."""
    return round(u_px * (1.6 if big else 1.05)) if math.isfinite(g.value) else round(u_px * 0.95)


def _note_inline(g: GaugeView, u_px: int, width_px: int, big: bool) -> bool:
    """The note fits on the label's line, between the label and the value."""
    used = text_width(g.label, u_px * 0.85) + text_width(g.value_text, _value_px(g, u_px, big), True)
    return bool(g.note) and used + text_width(g.note, u_px * SMALL_TEXT_U) + u_px <= width_px


def gauge_height(g: GaugeView, u_px: int, width_px: int, big: bool) -> int:
    rows = (1.6 if big else 1.05) + 1.45 + (1.15 if any(g.band_text) else 0.0)
    rows += 1.1 if g.note and not _note_inline(g, u_px, width_px, big) else 0.0
    return round(rows * u_px)


def draw_gauge(img: np.ndarray, top_left: tuple[int, int], width_px: int, g: GaugeView, style: OverlayStyle,
               u_px: int) -> None:
    """Label, note and value on one line (the note on its own line when it does not fit), the bar below,
    then the band's numbers when given. `style.presentation` draws the value larger."""
    x0, y0 = top_left
    x1, u, big = x0 + width_px, u_px, style.presentation
    base = y0 + round(u * (1.6 if big else 1.05))
    x = put_text(img, g.label, (x0, base), u * 0.85, style.text_rgb)
    value_px = _value_px(g, u, big)
    colour = g.rgb if math.isfinite(g.value) else style.dim_text_rgb
    put_text(img, g.value_text, (x1 - text_width(g.value_text, value_px, True), base), value_px, colour, bold=True)
    bar_y0, bar_y1 = base + round(u * 0.55), base + round(u * 1.35)
    shade(img, (x0, bar_y0, x1, bar_y1), style.track_rgb, 0.85, radius_px=(bar_y1 - bar_y0) // 2)
    b0, b1 = _x_of(g, g.band[0], x0, x1), _x_of(g, g.band[1], x0, x1)
    shade(img, (b0, bar_y0, b1, bar_y1), style.in_band_rgb, 0.5)
    if math.isfinite(g.value):
        # the marker overhangs the bar by u/6: clear of the descenders of the note above it
        _marker(img, _x_of(g, g.value, x0, x1), (bar_y0 - u // 6, bar_y1 + u // 6), max(2, u // 5), g.rgb)
    y = bar_y1 + round(u * 0.25)
    if any(g.band_text):
        y += round(u * 0.9)
        for text, bx in zip(g.band_text, (b0, b1)):
            tw = text_width(text, u * SMALL_TEXT_U)
            put_text(img, text, (min(max(x0, bx - tw // 2), x1 - tw), y), u * SMALL_TEXT_U, style.dim_text_rgb)
    if g.note:
        inline = _note_inline(g, u, width_px, big)
        at = (x + round(0.5 * u), base) if inline else (x0, y + round(u * 1.0))
        put_text(img, g.note, at, u * SMALL_TEXT_U, style.approaching_rgb)


def _marker(img: np.ndarray, x: int, ys: tuple[int, int], half_px: int, rgb: RGB) -> None:
    cv2.rectangle(img, (x - half_px - 2, ys[0] - 2), (x + half_px + 2, ys[1] + 2), (255, 255, 255), -1)
    cv2.rectangle(img, (x - half_px, ys[0]), (x + half_px, ys[1]), rgb, -1)


def draw_ring(img: np.ndarray, center_px: tuple[int, int], radius_px: int, thickness_px: int,
              fraction: float, rgb: RGB, track_rgb: RGB) -> None:
    """A progress ring: a full dark track, then an arc clockwise from 12 o'clock over `fraction`."""
    cv2.circle(img, center_px, radius_px, track_rgb, thickness_px, _AA)
    fraction = min(max(fraction, 0.0), 1.0)
    if fraction > 0:
        cv2.ellipse(img, center_px, (radius_px, radius_px), -90.0, 0.0, 360.0 * fraction, rgb, thickness_px, _AA)


def fit_lines(text: str, room_px: int, sizes_px: tuple[float, float]) -> tuple[list[str], float]:
    """One line at the larger size when it fits, else up to two lines at the smaller one."""
    big, small = sizes_px
    lines = wrap(text, room_px, big, max_lines=1000)
    return (lines, big) if len(lines) <= 1 else (wrap(text, room_px, small, max_lines=2), small)


def draw_lines(img: np.ndarray, box: Box, text: str, sizes_px: tuple[float, float], rgb: RGB,
               bold: bool = False) -> None:
    """`text` left-aligned and centred vertically in `box`: one line, or two smaller ones (see `fit_lines`)."""
    x0, y0, x1, y1 = box
    lines, text_px = fit_lines(text, x1 - x0, sizes_px)
    line_h = text_px * 1.6
    top = (y0 + y1) / 2 - line_h * len(lines) / 2
    for i, line in enumerate(lines):
        put_text(img, line, (x0, round(top + line_h * i + (line_h + text_px) / 2)), text_px, rgb, bold)


def draw_banner(img: np.ndarray, box: Box, badge: str, text: str, colours: tuple[RGB, RGB], u_px: int) -> None:
    """A solid alert strip: a badge word ("STOP", "CAUTION"), a rule, then the reason in one or two lines."""
    bg, fg = colours
    x0, y0, x1, y1 = box
    shade(img, box, bg, 1.0, radius_px=u_px // 2)
    pad = round(u_px * 0.8)
    x = put_text(img, badge, (x0 + pad, (y0 + y1 + round(u_px * 1.1)) // 2), u_px * 1.1, fg, bold=True) + pad
    cv2.line(img, (x, y0 + pad // 2), (x, y1 - pad // 2), fg, max(1, round(u_px / 10)), _AA)
    draw_lines(img, (x + pad, y0, x1 - pad, y1), text, (u_px * 1.05, u_px * 0.8), fg, bold=True)
