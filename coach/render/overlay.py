"""The overlay: a `FrameVerdict` drawn over a video frame, for `coach analyze` and `coach live`.

    overlay = Overlay(exercise)                                   # configure once
    shown = overlay.annotate(frame.rgb, pose_frame, verdict)      # a new RGB uint8 array, per frame

Layout (every size scales with the frame: the text unit is `text_unit` of the frame's shorter side,
times `text_scale`):
  top strip     alert banner: a "STOP" (red) or "CAUTION" (amber) badge and the alert's message
  top left      exercise, phase and side; one gauge per measure of the current phase's envelope
                (target band shaded, value marker, value in degrees, "low reliability" / "can't measure")
  top right     hold ring (seconds held of the target), the hold state in words, reps and sides done
  bottom strip  the current cue; a "Breathe out" label while settling into the stretch; why the stretch
                can't be judged (`FrameVerdict.cant_judge`: only an estimate, a body part hidden) instead
  on the body   the skeleton, coloured by the hold state; an optional semi-transparent "ghost" pose

The overlay never decides: colours and words come from what the engine put in the verdict
(`state`, `status`, each measure's `inside`, `hint` and `reliability`, the alerts). Mirroring (live
mirror mode) flips the picture and the skeleton; text is drawn afterwards and is never mirrored, and
"left" / "right" always name the person's own side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from coach.engine.envelope import resolve_key, toward_side
from coach.engine.exercises import Band, Exercise
from coach.engine.verdict import Alert, FrameVerdict, HoldState, MeasureVerdict, Severity, Status
from coach.measure.conventions import SPEC, Reliability, measure_label
from coach.pose.core import Pose, PoseFrame
from coach.render.overlay_widgets import (
    RGB,
    SMALL_TEXT_U,
    Box,
    GaugeView,
    OverlayStyle,
    blend_skeleton,
    draw_banner,
    draw_gauge,
    draw_lines,
    draw_ring,
    draw_skeleton,
    fit_into,
    fit_lines,
    gauge_height,
    pill,
    put_text,
    shade,
    text_width,
    wrap,
)
from coach.usertext import degrees, side_words

# Alerts about the camera, not the body: shown in the banner, but they do not turn the skeleton red.
CAMERA_RULE_IDS = frozenset({"landmarks_missing", "wrong_view", "too_far", "too_close", "person_lost"})

_STATE_WORDS = {HoldState.OUT: "Get into position", HoldState.ENTERING: "Hold still...", HoldState.HOLDING: "Holding",
                HoldState.PAUSED: "Paused", HoldState.RELEASED: "Start again", HoldState.COMPLETED: "Hold done"}
_STATUS_WORDS = {Status.RESTING: "Rest", Status.STOPPED: "Stopped", Status.COMPLETED: "All done"}






# Beside the "Breathe out" label, the cue needs room for its longest words ("comfortable", "shoulders":
# about 8 units at its smaller size); a narrower strip says "Breathe out." in the cue's own text.
CUE_MIN_U = 8.0
STATUS_HEAD_U = 3.6   # the status panel's head (a one-line title and the subtitle), in text units


@dataclass(frozen=True)
class OverlayLayout:
    """Where each element goes on one frame size. Boxes are (x0, y0, x1, y1) pixels, x1 / y1 exclusive.
    `status_panel` is the most room the top-left panel may take; it is drawn as tall as its gauges."""

    width_px: int
    height_px: int
    u_px: int                       # text unit: the height of a capital letter of body text
    banner: Box
    status_panel: Box
    hold_panel: Box
    ring_center_px: tuple[int, int]
    ring_radius_px: int
    ring_thickness_px: int
    cue: Box
    bone_px: int                    # skeleton line thickness
    picture: Box = (0, 0, 0, 0)     # where the video frame sits (the whole image unless fitted into a window)
    stacked: bool = False           # a portrait window: the hold panel under the status panel, down to the cue

    def boxes(self) -> dict[str, Box]:
        """Every panel's box by name: what must stay inside the window."""
        return {"banner": self.banner, "status_panel": self.status_panel, "hold_panel": self.hold_panel,
                "cue": self.cue}


def _number(value: float, unit: str) -> str:
    return degrees(value) if unit == "deg" else f"{value:.2f} {unit}"


def _body_alerts(verdict: FrameVerdict) -> list[Alert]:
    return [a for a in verdict.alerts if a.severity == Severity.STOP or a.rule_id not in CAMERA_RULE_IDS]


def _check_image(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        got = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ValueError(f"Overlay.annotate: rgb must be an (H, W, 3) uint8 array, got {got}")


class Overlay:
    """Draws verdicts over frames for one exercise. `annotate` returns a new image and keeps no state;
    to change the style (live +/- keys) make a new `Overlay` - it is cheap."""

    def __init__(self, exercise: Exercise, style: OverlayStyle = OverlayStyle()):
        self.exercise = exercise
        self.style = style

    def annotate(self, rgb: np.ndarray, frame: PoseFrame, verdict: FrameVerdict | None, *,
                 mirror: bool = False, ghost: Pose | None = None,
                 canvas_px: tuple[int, int] | None = None) -> np.ndarray:
        """`rgb` (H, W, 3) uint8, never modified; the poses are drawn by their normalised coordinates.
        `canvas_px` (width, height): draw on a canvas of that size (a window's), the frame scaled into
        it with its aspect kept; the panels and the text are laid out on the canvas, so they stay
        inside it and their size follows it. None: the frame's own size."""
        _check_image(rgb)
        if verdict is not None and verdict.exercise_id != self.exercise.id:
            raise ValueError(f"Overlay.annotate: this overlay draws {self.exercise.id!r}, the verdict is for "
                             f"{verdict.exercise_id!r} (make one Overlay per exercise)")
        picture = cv2.flip(rgb, 1) if mirror else rgb
        if canvas_px is None or tuple(canvas_px) == (rgb.shape[1], rgb.shape[0]):
            out, box = (picture if mirror else rgb.copy()), (0, 0, rgb.shape[1], rgb.shape[0])
        else:
            out, box = fit_into(picture, canvas_px, self.style.letterbox_rgb)
        lay = self.layout(out.shape[1], out.shape[0], picture=box)
        self._skeletons(out, frame, verdict, ghost, mirror, lay)
        self._status_panel(out, verdict, lay)
        self._hold_panel(out, verdict, lay)
        self._cue(out, verdict, lay)
        if verdict is not None and verdict.alerts:
            self._banner(out, verdict.alerts, lay)
        return out

    def layout(self, width_px: int, height_px: int, picture: Box | None = None) -> OverlayLayout:
        """The element boxes for an image size (live mode can use it to place its own status line);
        `picture`: where the video frame sits in it (default: all of it)."""
        s, w, h = self.style, int(width_px), int(height_px)
        # the height's floor is rounded up: it is a minimum (1280 / 24 = 53.3 px must be 54, not 53)
        floor_u = math.ceil(h * s.min_text_of_height / SMALL_TEXT_U * s.text_scale - 1e-9)
        u = max(6, round(min(h, w) * s.text_unit * s.text_scale), floor_u)
        while True:   # the text yields only where the panels would not fit at all (a large +/- scale)
            lay = self._laid_out(w, h, u, picture)
            if lay is not None or u <= 6:
                return lay or self._laid_out(w, h, u, picture, force=True)
            u -= 1

    def _laid_out(self, w: int, h: int, u: int, picture: Box | None, force: bool = False) -> OverlayLayout | None:
        """The boxes at text unit `u`: the status panel and the hold panel side by side under the
        banner when the width holds both; else (a portrait window) stacked - the status panel across
        the top, the hold panel at the right above the cue, its ring a little smaller. None when they
        do not fit even so (unless `force`)."""
        s, m = self.style, u
        banner = (m, m // 2, w - m, m // 2 + round(2.9 * u))
        top = banner[3] + m // 2
        cue = (m, h - m // 2 - round(3.4 * u), w - m, h - m // 2)
        status_w, hold_w, lines = round(u * (20 if s.presentation else 16.5)), round(9.5 * u), \
            1 if self.exercise.sides == "none" else 2
        side_by_side = 3 * m + status_w + hold_w <= w
        # stacked, the ring's radius is 2.4 units (not 3): with the smallest text at 1/30 of the height
        # (24 units), banner, status title, hold panel and cue then fit one above the other
        r = round((3.0 if side_by_side else 2.4) * u)
        hold_h = 2 * r + round((3.6 + 1.5 * lines) * u)
        if side_by_side:
            hold = (w - m - hold_w, top, w - m, top + hold_h)
            status = (m, top, m + status_w, cue[1] - m // 2)
        else:
            hold = (w - m - hold_w, cue[1] - m // 2 - hold_h, w - m, cue[1] - m // 2)
            status = (m, top, w - m, hold[1] - m // 2)
            if not force and (hold_w + 2 * m > w or status[3] - status[1] < round(STATUS_HEAD_U * u)):
                return None
        if not force and hold[3] > cue[1]:
            return None
        return OverlayLayout(w, h, u, banner, status, hold, (hold[0] + hold_w // 2, hold[1] + u + r), r,
                             max(3, round(0.55 * u)), cue, max(2, round(0.3 * u)), picture or (0, 0, w, h),
                             not side_by_side)

    # --- colours and words, read from the verdict ------------------------------------------------

    def skeleton_rgb(self, verdict: FrameVerdict | None) -> RGB:
        """Red under an alert about the body, else the hold state's colour."""
        if verdict is not None and verdict.pose_seen and _body_alerts(verdict):
            return self.style.alert_rgb
        return self.state_rgb(verdict)

    def state_rgb(self, verdict: FrameVerdict | None) -> RGB:
        """The hold state's colour: green holding, amber settling or paused, blue out, grey otherwise."""
        s = self.style
        if verdict is None or not verdict.pose_seen:
            return s.unknown_rgb
        if verdict.status != Status.ACTIVE:
            return s.in_band_rgb if verdict.status == Status.COMPLETED else s.unknown_rgb
        colours = {HoldState.HOLDING: s.in_band_rgb, HoldState.COMPLETED: s.in_band_rgb,
                   HoldState.ENTERING: s.approaching_rgb, HoldState.PAUSED: s.approaching_rgb}
        return colours.get(verdict.state, s.out_rgb)

    def _inside_rgb(self, inside: bool | None) -> RGB:
        s = self.style
        return s.unknown_rgb if inside is None else s.in_band_rgb if inside else s.out_rgb

    def cue(self, verdict: FrameVerdict | None) -> tuple[str, bool]:
        """(the cue to show, whether to add "Breathe out"), picked from the verdict's state and hints."""
        ex = self.exercise
        phase = ex.phases[verdict.phase_index if verdict is not None else 0]
        if verdict is None:
            return phase.cue or ex.cues.enter, False
        if verdict.status != Status.ACTIVE:
            # the rest is over but the person is still in the position: a rep starts from outside it
            rest = (f"Rest - next rep in {math.ceil(verdict.rest_left_s)} s. {ex.cues.release}"
                    if verdict.rest_left_s > 0 else f"{ex.cues.release} - then the next rep.")
            return {Status.STOPPED: verdict.advice or "Stopped.", Status.COMPLETED: "Well done - all reps complete.",
                    Status.RESTING: rest}[verdict.status], False
        if not verdict.pose_seen:
            return "Step into view of the camera.", False
        if any(a.severity == Severity.STOP for a in verdict.alerts):
            return ex.cues.release, False  # the banner says why; the cue says how to come out of it
        if verdict.cant_judge and verdict.state not in (HoldState.HOLDING, HoldState.COMPLETED):
            return verdict.cant_judge[0], False   # the engine's words: why it can't judge, and the fix
        envelope = {resolve_key(k, verdict.side) for k in phase.envelope}
        if any(a.measure in envelope for a in verdict.alerts if a.measure):
            return ex.cues.too_far, False
        if verdict.state in (HoldState.ENTERING, HoldState.HOLDING, HoldState.COMPLETED):
            text = {HoldState.ENTERING: ex.cues.breathe, HoldState.HOLDING: ex.cues.hold}
            return text.get(verdict.state, ex.cues.release), verdict.state == HoldState.ENTERING
        hints = [m.hint for m in verdict.measures if m.in_envelope and m.inside is False and m.hint]
        if hints:
            return hints[0][0].upper() + hints[0][1:] + ".", False
        return (ex.cues.hold if verdict.state == HoldState.PAUSED else ex.cues.enter), False

    def gauges(self, verdict: FrameVerdict | None) -> list[GaugeView]:
        phase = self.exercise.phases[verdict.phase_index if verdict is not None else 0]
        side = verdict.side if verdict is not None else None
        by_name = {m.name: m for m in verdict.measures} if verdict is not None else {}
        out = []
        for key, band in phase.envelope.items():
            name = resolve_key(key, side if self.exercise.sides != "none" else None)
            out.append(self._gauge(key, name, band, by_name.get(name), side))
        return out

    def _gauge(self, key: str, name: str | None, band: Band, m: MeasureVerdict | None, side: str | None) -> GaugeView:
        unit = SPEC[(name or key).replace("{side}", "left").replace("{other}", "right")].unit
        value = toward_side(name, m.value, side) if name and m is not None and m.valid else math.nan
        if math.isfinite(value):
            text = _number(value, unit)
        else:
            text = "can't measure" if name else "which side?"
        low = m is not None and m.valid and m.reliability == Reliability.LOW
        span = band.max - band.min
        pad = max(0.5 * span, 15.0 if unit == "deg" else 0.2)
        numbers = (_number(band.min, unit), _number(band.max, unit)) if self.style.presentation else ("", "")
        return GaugeView(measure_label(name or key), text, "low reliability" if low else "", band.min - pad,
                         band.max + pad, (band.min, band.max), value,
                         self._inside_rgb(m.inside if m is not None else None), numbers)

    # --- drawing ---------------------------------------------------------------------------------

    def _skeletons(self, img: np.ndarray, frame: PoseFrame, verdict: FrameVerdict | None, ghost: Pose | None,
                   mirror: bool, lay: OverlayLayout) -> None:
        s, bone = self.style, lay.bone_px
        if ghost is not None and not ghost.is_empty:
            blend_skeleton(img, _to_px(ghost, lay, mirror), ghost.seen_mask(), s.ghost_rgb, bone, s.ghost_alpha)
        for other in frame.others if s.draw_others else ():
            if not other.is_empty:
                draw_skeleton(img, _to_px(other, lay, mirror), other.seen_mask(), s.others_rgb, max(1, bone // 2))
        if not frame.pose.is_empty:
            draw_skeleton(img, _to_px(frame.pose, lay, mirror), frame.pose.seen_mask(), self.skeleton_rgb(verdict),
                          bone)

    def _status_panel(self, img: np.ndarray, verdict: FrameVerdict | None, lay: OverlayLayout) -> None:
        """Top left: exercise (one or two lines), phase and side, then as many gauges as fit above the cue."""
        s, u = self.style, lay.u_px
        x0, y0, x1, y_max = lay.status_panel
        x, width = x0 + u, x1 - x0 - 2 * u
        title, title_px = fit_lines(self.exercise.name, width, (u * 1.15, u * 0.9))
        subtitle = wrap(self._subtitle(verdict), width, u * SMALL_TEXT_U, max_lines=2)   # the side in words may be long
        head = round(u * (STATUS_HEAD_U + 1.45 * (len(title) - 1) + 1.05 * (len(subtitle) - 1)))
        gauges = self.gauges(verdict)
        heights = [gauge_height(g, u, width, s.presentation) + round(0.7 * u) for g in gauges]
        room, more = y_max - y0 - head, round(1.5 * u)
        shown = len(gauges) if sum(heights) <= room else next(
            (i for i in range(len(gauges) - 1, -1, -1) if sum(heights[:i]) + more <= room), 0)
        said_more = shown < len(gauges) and head + more <= y_max - y0   # a stacked panel may hold the title only
        y1 = y0 + head + sum(heights[:shown]) + (more if said_more else 0)
        shade(img, (x0, y0, x1, y1), s.panel_rgb, s.panel_alpha, radius_px=u // 2)
        if said_more:
            put_text(img, f"+{len(gauges) - shown} more", (x, y1 - round(0.8 * u)), u * SMALL_TEXT_U, s.dim_text_rgb)
        for i, line in enumerate(title):
            put_text(img, line, (x, y0 + round((1.7 + 1.45 * i) * u)), title_px, s.text_rgb, bold=True)
        for i, line in enumerate(subtitle):
            put_text(img, line, (x, y0 + head - round((0.6 + 1.05 * (len(subtitle) - 1 - i)) * u)), u * SMALL_TEXT_U,
                     s.dim_text_rgb)
        y = y0 + head
        for g, gh in zip(gauges[:shown], heights):
            draw_gauge(img, (x, y), width, g, s, u)
            y += gh

    def _subtitle(self, verdict: FrameVerdict | None) -> str:
        ex = self.exercise
        index = verdict.phase_index if verdict is not None else 0
        parts = [ex.phases[index].name.replace("_", " ").capitalize()]
        if len(ex.phases) > 1:
            parts[0] += f" ({index + 1} of {len(ex.phases)})"
        if verdict is not None and verdict.side:
            parts.append(side_words(ex, verdict.side))
        return " - ".join(parts)

    def _hold_panel(self, img: np.ndarray, verdict: FrameVerdict | None, lay: OverlayLayout) -> None:
        """Top right: the hold ring with seconds held / target inside, the state in words, reps, sides."""
        s, u = self.style, lay.u_px
        shade(img, lay.hold_panel, s.panel_rgb, s.panel_alpha, radius_px=u // 2)
        (cx, cy), r = lay.ring_center_px, lay.ring_radius_px
        fraction, big, small, rgb = self._ring_values(verdict)
        draw_ring(img, (cx, cy), r, lay.ring_thickness_px, fraction, rgb, s.track_rgb)
        _centred(img, big, cx, cy + round(0.35 * u), u * 1.5, s.text_rgb, bold=True)
        _centred(img, small, cx, cy + round(1.55 * u), u * SMALL_TEXT_U, s.dim_text_rgb)
        y = cy + r + round(1.9 * u)
        _centred(img, self._state_word(verdict), cx, y, u * 0.95, rgb if verdict is not None else s.dim_text_rgb,
                 bold=True)
        for text, colour in self._reps_lines(verdict):
            y += round(1.5 * u)
            _centred(img, text, cx, y, u * 0.8, colour)

    def _ring_values(self, verdict: FrameVerdict | None) -> tuple[float, str, str, RGB]:
        """(fraction, big text, small text, colour) of the ring."""
        s = self.style
        if verdict is None:
            return 0.0, "--", f"of {self.exercise.phases[0].hold_s:.0f} s", s.unknown_rgb
        if verdict.status == Status.RESTING:
            rest_s = max(self.exercise.rest_s, 1e-9)
            return verdict.rest_left_s / rest_s, f"{math.ceil(verdict.rest_left_s)}", "s rest", s.unknown_rgb
        rgb = self.state_rgb(verdict)
        return verdict.progress, f"{math.floor(verdict.hold_s)}", f"of {verdict.hold_target_s:.0f} s", rgb

    def _state_word(self, verdict: FrameVerdict | None) -> str:
        if verdict is None:
            return "Waiting"
        if verdict.status != Status.ACTIVE:
            return _STATUS_WORDS[verdict.status]
        return _STATE_WORDS[verdict.state] if verdict.pose_seen else "Not seen"

    def _reps_lines(self, verdict: FrameVerdict | None) -> list[tuple[str, RGB]]:
        s, ex = self.style, self.exercise
        n = ex.reps_per_side
        reps = verdict.reps_done if verdict is not None else {}
        if ex.sides == "none":
            return [(f"Reps {reps.get('both', 0)} of {n}", s.text_rgb)]
        lines = []
        for side in ("left", "right"):
            done = verdict is not None and side in verdict.sides_done
            current = verdict is not None and side == verdict.side
            colour = s.in_band_rgb if done else s.text_rgb if current else s.dim_text_rgb
            lines.append((f"{side.title()}: {reps.get(side, 0)} of {n}" + (" done" if done else ""), colour))
        return lines

    def _cue(self, img: np.ndarray, verdict: FrameVerdict | None, lay: OverlayLayout) -> None:
        """Bottom strip: the cue in large text, after a "Breathe out" label while settling in."""
        s = self.style
        shade(img, lay.cue, s.panel_rgb, min(1.0, s.panel_alpha + 0.1), radius_px=lay.u_px // 2)
        text, breathe = self.cue(verdict)
        x0, y0, x1, y1 = lay.cue
        u = lay.u_px
        label_w = text_width("Breathe out", u * 1.05, bold=True) + 2 * round(u * 1.05 * 0.6)
        if breathe and x1 - x0 - label_w - 3 * u < CUE_MIN_U * u:   # a narrow window: said in the cue instead
            text = f"Breathe out. {text}"
        elif breathe:
            x0 += pill(img, "Breathe out", (x0 + u, (y0 + y1) // 2 - round(1.05 * u)), u * 1.05, s.out_rgb,
                       s.dark_text_rgb) + u
        draw_lines(img, (x0 + u, y0, x1 - u, y1), text, (u * 1.25, u * 0.95), s.text_rgb)

    def _banner(self, img: np.ndarray, alerts: tuple[Alert, ...], lay: OverlayLayout) -> None:
        """Top strip: the most severe alert (STOP before CAUTION, then the oldest), "+N more" for the rest."""
        s = self.style
        top = min(alerts, key=lambda a: (a.severity != Severity.STOP, a.since_s))
        stop = top.severity == Severity.STOP
        colours = (s.alert_rgb, s.text_rgb) if stop else (s.approaching_rgb, s.dark_text_rgb)
        text = top.message + (f"  (+{len(alerts) - 1} more)" if len(alerts) > 1 else "")
        draw_banner(img, lay.banner, "STOP" if stop else "CAUTION", text, colours, lay.u_px)


def _to_px(pose: Pose, lay: OverlayLayout, mirror: bool) -> np.ndarray:
    """Normalised landmarks -> pixels of the image drawn on (of the picture's box in it); mirrored
    like the picture when asked."""
    x0, y0, x1, y1 = lay.picture
    xy = pose.xy * np.array([x1 - x0, y1 - y0], dtype=np.float64)
    if mirror:
        xy[:, 0] = (x1 - x0) - 1 - xy[:, 0]
    return xy + np.array([x0, y0], dtype=np.float64)


def _centred(img: np.ndarray, text: str, cx: int, baseline: int, height_px: float, rgb: RGB,
             bold: bool = False) -> None:
    put_text(img, text, (cx - text_width(text, height_px, bold) // 2, baseline), height_px, rgb, bold)
