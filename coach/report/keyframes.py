"""Key frames for the report, picked as the frames stream past: a few small frames, never the video.

`KeyframePicker.offer(exercise, verdict, pose_frame, rgb)` sees every frame. It keeps, as small
copies (at most `THUMB_WIDTH_PX` wide) with their poses and verdicts:
- for each exercise phase, the frames with the lowest and the highest value of the phase's primary
  measure (`primary_key`: what the stretch is; one of the two is the peak of the stretch; the report picks it at the end,
  when the direction of the stretch is known) - replaced only when the value moved by `STEP`.
  Kept per tier: while holding (a still, judged pose), while in position, and any frame; the
  report uses the best tier that has one, so a single-frame glitch is not shown as the peak;
- the frame at which each alert rule was first raised, up to `MAX_ALERT_FRAMES` rules.
The overlay is drawn (and the JPEG encoded) only for the frames the report shows, at the end
(`jpeg`). A landmark recording has no pixels: its skeleton is drawn on a blank canvas.
Memory stays at a few dozen small frames, whatever the length of the input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from coach.engine.envelope import resolve_key, toward_side
from coach.engine.exercises import Exercise
from coach.engine.verdict import EventKind, FrameVerdict, HoldState
from coach.io.sources import solid
from coach.pose.core import PoseFrame

THUMB_WIDTH_PX = 480
JPEG_QUALITY = 80
MAX_ALERT_FRAMES = 8
STEP = 2.0   # a candidate is replaced only when the value moved this far (deg, or 0.02 x this for sw)
TIERS = ("holding", "in position", "any")
BLANK_RGB = (28, 31, 36)
_IN_POSITION = (HoldState.ENTERING, HoldState.HOLDING, HoldState.PAUSED, HoldState.COMPLETED)


@dataclass(frozen=True, eq=False)
class Keyframe:
    """A kept frame: `rgb` a small copy of the pixels (None for a recording) with its poses and verdict."""

    kind: str            # "peak" | "alert" | "frame"
    exercise: Exercise
    pose_frame: PoseFrame
    verdict: FrameVerdict
    rgb: np.ndarray | None
    measure: str = ""     # the measure of a peak; the rule of an alert
    value: float = math.nan
    tier: str = ""        # a peak's: from the frames "holding", "in position" or "any" (`TIERS`)

    @property
    def t_s(self) -> float:
        return self.verdict.t_s

    @property
    def phase(self) -> str:
        return self.verdict.phase


def shrink(rgb: np.ndarray, width_px: int = THUMB_WIDTH_PX) -> np.ndarray:
    """A copy at most `width_px` wide."""
    import cv2

    h, w = rgb.shape[:2]
    if w <= width_px:
        return rgb.copy()
    return cv2.resize(rgb, (width_px, max(1, round(h * width_px / w))), interpolation=cv2.INTER_AREA)


def encode_jpeg(rgb: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("key frame: JPEG encoding failed")
    return buf.tobytes()


def primary_key(exercise: Exercise, envelope: dict) -> str | None:
    """The band that measures the stretch itself, for the key frame "furthest into the stretch":
    a band judged on a low-reliability estimate (the exercise files keep "low" for the measure that
    is the only sign of the stretch, such as a twist), else the exercise's anchor, else the first
    band. None without bands."""
    low = [k for k, band in envelope.items() if band.min_reliability == "low"]
    if low:
        return low[0]
    if exercise.anchor in envelope:
        return exercise.anchor
    return next(iter(envelope), None)


def blank_canvas(pose_frame: PoseFrame) -> np.ndarray:
    """A dark canvas of THUMB_WIDTH_PX with the recorded frame's aspect ratio (4:3 if unknown)."""
    w, h = pose_frame.pose.image_size
    height = round(THUMB_WIDTH_PX * h / w) if w > 0 and h > 0 else THUMB_WIDTH_PX * 3 // 4
    return solid(height, THUMB_WIDTH_PX, BLANK_RGB)


class KeyframePicker:
    def __init__(self, overlay_for: Callable[[Exercise], object]):
        self._overlay_for = overlay_for
        self._extremes: dict[tuple[str, str, str, str], Keyframe] = {}   # (exercise, phase, tier, low|high)
        self.alert_frames: list[Keyframe] = []
        self.alerts_skipped = 0
        self.last: Keyframe | None = None     # an image input's one frame

    def jpeg(self, frame: Keyframe) -> bytes:
        """The frame with the overlay drawn, as a JPEG."""
        canvas = frame.rgb if frame.rgb is not None else blank_canvas(frame.pose_frame)
        return encode_jpeg(self._overlay_for(frame.exercise).annotate(canvas, frame.pose_frame, frame.verdict))

    def offer(self, exercise: Exercise, verdict: FrameVerdict, pose_frame: PoseFrame, rgb: np.ndarray | None) -> None:
        for event in verdict.events:
            if event.kind == EventKind.ALERT_RAISED:
                self._alert(exercise, verdict, pose_frame, rgb, str(event.details.get("rule", "")))
        self._extreme(exercise, verdict, pose_frame, rgb)

    def keep_frame(self, exercise: Exercise, verdict: FrameVerdict, pose_frame: PoseFrame,
                   rgb: np.ndarray | None) -> None:
        """Keep this frame whatever it shows (a single image)."""
        self.last = Keyframe("frame", exercise, pose_frame, verdict, None if rgb is None else shrink(rgb))

    def _alert(self, exercise: Exercise, verdict: FrameVerdict, pose_frame: PoseFrame, rgb, rule: str) -> None:
        if any(f.measure == rule for f in self.alert_frames):
            return
        if len(self.alert_frames) >= MAX_ALERT_FRAMES:
            self.alerts_skipped += 1
            return
        self.alert_frames.append(Keyframe("alert", exercise, pose_frame, verdict,
                                          None if rgb is None else shrink(rgb), rule))

    def _extreme(self, exercise: Exercise, verdict: FrameVerdict, pose_frame: PoseFrame, rgb) -> None:
        envelope = exercise.phases[verdict.phase_index].envelope
        side = verdict.side if exercise.sides == "left_right" else None
        key = primary_key(exercise, envelope)
        measure = resolve_key(key, side) if key is not None and verdict.pose_seen else None
        value = toward_side(measure, verdict.measure(measure).value, side) if measure else math.nan
        if not math.isfinite(value):
            return
        step = STEP if measure.endswith("_deg") else 0.02 * STEP
        small = None
        tiers = [t for t, ok in zip(TIERS, (verdict.holding, verdict.state in _IN_POSITION, True)) if ok]
        for tier in tiers:
            for end, better in (("low", lambda a, b: a < b - step), ("high", lambda a, b: a > b + step)):
                slot = (exercise.id, verdict.phase, tier, end)
                held = self._extremes.get(slot)
                if held is None or better(value, held.value):
                    small = small if small is not None or rgb is None else shrink(rgb)
                    self._extremes[slot] = Keyframe("peak", exercise, pose_frame, verdict, small, measure, value, tier)

    def peaks(self, peak_of: Callable[[str, str, str], float | None]) -> list[Keyframe]:
        """One peak frame per exercise phase, in time order: from the best tier that has one, of its
        low / high candidates the one nearer the peak value `peak_of(exercise, phase, measure)` the
        report found (None: no peak known, skip)."""
        out = []
        for ex, phase in dict.fromkeys((e, p) for e, p, _, _ in self._extremes):
            tier = next(t for t in TIERS if (ex, phase, t, "low") in self._extremes)
            rivals = [self._extremes[(ex, phase, tier, end)] for end in ("low", "high")]
            peak = peak_of(ex, phase, rivals[0].measure)
            if peak is not None and math.isfinite(peak):
                out.append(min(rivals, key=lambda f: abs(f.value - peak)))
        return sorted(out, key=lambda f: f.t_s)
