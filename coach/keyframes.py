"""Key frames for the report, picked as the frames stream past: a few small JPEGs, never the video.

`KeyframePicker.offer(...)` sees every frame with its verdict and a `render()` that draws the
overlay only when asked. It keeps:
- for each exercise phase, the frames with the lowest and the highest value of the phase's first
  envelope measure (one of the two is the peak of the stretch; the report picks it at the end,
  when the direction of the stretch is known) - re-drawn only when the value moved by `STEP`.
  Kept per tier: while holding (a still, judged pose), while in the envelope, and any frame; the
  report uses the best tier that has one, so a single-frame glitch is not shown as the peak;
- the frame at which each alert rule was first raised, up to `MAX_ALERT_FRAMES` rules.
So memory stays at a few dozen thumbnails of `THUMB_WIDTH_PX`, whatever the length of the input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from coach.envelope import resolve_key, toward_side
from coach.exercises import Exercise
from coach.verdict import EventKind, FrameVerdict, HoldState

THUMB_WIDTH_PX = 480
JPEG_QUALITY = 80
MAX_ALERT_FRAMES = 8
STEP = 2.0   # a candidate is re-drawn only when the value moved this far (deg, or 0.02 x this for sw)
TIERS = ("holding", "in position", "any")
_IN_POSITION = (HoldState.ENTERING, HoldState.HOLDING, HoldState.PAUSED, HoldState.COMPLETED)


@dataclass(frozen=True)
class Keyframe:
    """A thumbnail: `jpeg` bytes of the annotated frame at `t_s`, and what it shows."""

    t_s: float
    kind: str            # "peak" | "alert" | "frame"
    caption: str
    jpeg: bytes
    exercise: str = ""
    phase: str = ""
    measure: str = ""     # the measure of a peak; the rule of an alert
    value: float = math.nan


def thumbnail_jpeg(rgb: np.ndarray, width_px: int = THUMB_WIDTH_PX) -> bytes:
    """RGB uint8 -> a JPEG at most `width_px` wide."""
    import cv2

    h, w = rgb.shape[:2]
    if w > width_px:
        rgb = cv2.resize(rgb, (width_px, max(1, round(h * width_px / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("thumbnail: JPEG encoding failed")
    return buf.tobytes()


class KeyframePicker:
    def __init__(self) -> None:
        self._extremes: dict[tuple[str, str, str, str], Keyframe] = {}   # (exercise, phase, tier, "low"|"high")
        self.alert_frames: list[Keyframe] = []
        self.alerts_skipped = 0
        self.last: Keyframe | None = None     # an image input's one frame

    def offer(self, exercise: Exercise, verdict: FrameVerdict, render: Callable[[], np.ndarray]) -> None:
        for event in verdict.events:
            if event.kind == EventKind.ALERT_RAISED:
                self._alert(exercise, verdict, event.details, render)
        self._extreme(exercise, verdict, render)

    def keep_frame(self, exercise: Exercise, verdict: FrameVerdict, render: Callable[[], np.ndarray]) -> None:
        """Keep this frame whatever it shows (a single image)."""
        self.last = Keyframe(verdict.t_s, "frame", f"The photo, judged as {exercise.name}", thumbnail_jpeg(render()),
                             exercise.id)

    def _alert(self, exercise: Exercise, verdict: FrameVerdict, details, render) -> None:
        rule = str(details.get("rule", ""))
        if any(f.measure == rule for f in self.alert_frames):
            return
        if len(self.alert_frames) >= MAX_ALERT_FRAMES:
            self.alerts_skipped += 1
            return
        caption = f"{details.get('severity', '')}: {details.get('message', details.get('rule', ''))}"
        self.alert_frames.append(Keyframe(verdict.t_s, "alert", caption, thumbnail_jpeg(render()), exercise.id,
                                          verdict.phase, rule))

    def _extreme(self, exercise: Exercise, verdict: FrameVerdict, render) -> None:
        envelope = exercise.phases[verdict.phase_index].envelope
        if not envelope or not verdict.pose_seen:
            return
        key = next(iter(envelope))
        side = verdict.side if exercise.sides == "left_right" else None
        measure = resolve_key(key, side)
        if measure is None:
            return
        value = toward_side(measure, verdict.measure(measure).value, side)
        if not math.isfinite(value):
            return
        step = STEP if measure.endswith("_deg") else 0.02 * STEP
        tiers = [t for t, ok in zip(TIERS, (verdict.holding, verdict.state in _IN_POSITION, True)) if ok]
        for tier in tiers:
            for end, better in (("low", lambda a, b: a < b - step), ("high", lambda a, b: a > b + step)):
                slot = (exercise.id, verdict.phase, tier, end)
                held = self._extremes.get(slot)
                if held is None or better(value, held.value):
                    self._extremes[slot] = Keyframe(verdict.t_s, "peak", tier, thumbnail_jpeg(render()), exercise.id,
                                                    verdict.phase, measure, value)

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
