"""Which model `coach live` runs: the default (full) if this machine keeps real time with it, else lite.

    detector, choice, feed = choose_live_model(feed, args.model, make_detector)
    choice.model, choice.fell_back, choice.reason, choice.measured_ms   # -> screen and session.json

Live and offline use the same default model (`coach.pose.models.DEFAULT_VARIANT`), so a stretch
reads the same in `coach live` as in `coach analyze` and the history compares like with like.
Whether the machine keeps real time with it is measured, not assumed: before the session the
model runs on the feed's own first frame (a real picture: an empty one would skip the landmark
stage and time only the person detector), once to start MediaPipe's graph and then `WARMUP_CALLS`
timed times; the median (the machine may be busy with other work: a mean would follow a single
stall) is compared with `LIVE_BUDGET_MS`. Only a default that does not fit falls back, to lite;
a model the user named is kept whatever it measures, with a warning when it cannot keep up.
The first frame is handed on to the session afterwards, so nothing is lost from a file.
Each measuring detector is closed and the session gets a fresh one: the warm-up's repeated
frame leaves no trace in the tracking.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coach.errors import CoachError
from coach.io.sources import Frame
from coach.pose.models import DEFAULT_VARIANT, model_filename, resolve_model, variant_label
from coach.session.feed import Captured, Feed

# The median inference time per frame a model may take and still coach live. The motion rules judge
# bounces (ballistic stretching) of about 1-2 Hz; sampled N times a cycle, a swing's peak is read to
# within cos(pi / N) of its amplitude, so N = 10 (within 5 %) at 2 Hz needs 20 analysed frames a
# second: 50 ms a frame. The same 50 ms keeps capture-to-verdict latency (a frame waits at most one
# inference in the mailbox, then takes one) at about 0.1 s, the limit under which a response feels
# immediate (Card, Moran & Newell 1983; Nielsen, "Response times: the 3 important limits", 1993).
# MediaPipe per 640x480 frame on our 2-core machine: lite 11 ms, full 14 ms, heavy 45 ms when idle
# (29 / 34 ms for lite / full with the machine shared by other work): full fits with room to spare;
# a machine where it takes more than 50 ms is one where lite coaches better.
LIVE_BUDGET_MS = 50.0
BUDGET_ENV = "COACH_LIVE_BUDGET_MS"   # another budget (a slower camera rule, a test forcing a fallback)
FALLBACK_VARIANT = "lite"
# Timed calls after the graph's start-up call: their median stands even if 4 of the 9 are stalls of
# a busy machine; 9 x ~15-35 ms is a third of a second at start.
WARMUP_CALLS = 9


@dataclass(frozen=True)
class ModelChoice:
    """The model a live session runs and why. `model`: its file name; `requested`: what --model
    named ("" for the default); `measured_ms`: (model file name, median inference ms) for each
    model timed; `fell_back`: the default was too slow and lite runs instead; `reason`: why the
    model is the one it is, or "" when the default fits the budget (or nothing ran)."""

    model: str
    requested: str = ""
    budget_ms: float = LIVE_BUDGET_MS
    measured_ms: tuple[tuple[str, float], ...] = ()
    fell_back: bool = False
    reason: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.budget_ms) and self.budget_ms > 0):
            raise ValueError(f"budget_ms: expected a finite number > 0, got {self.budget_ms}")
        for name, ms in self.measured_ms:
            if not (isinstance(name, str) and name and math.isfinite(ms) and ms >= 0):
                raise ValueError(f"measured_ms: expected (model, ms >= 0) pairs, got {(name, ms)!r}")
        if self.fell_back and not self.reason:
            raise ValueError("reason: a fallback says why")

    @property
    def label(self) -> str:
        """The model in a word, as the screen and `coach history` show it: full, lite, heavy, a file name."""
        return variant_label(self.model)

    @property
    def over_budget(self) -> bool:
        """The model that runs measured slower than the budget (a named one, or lite after a fallback)."""
        ms = dict(self.measured_ms).get(self.model)
        return ms is not None and ms > self.budget_ms

    @property
    def tag(self) -> str:
        """The status line's part: "full model", "lite model (full too slow)"."""
        if self.fell_back:
            return f"{self.label} model ({variant_label(model_filename(DEFAULT_VARIANT))} too slow)"
        return f"{self.label} model" + (" (slow here)" if self.over_budget else "")

    @property
    def notice(self) -> str:
        """The terminal's warning when the model is not simply the default that fits ("" then)."""
        return self.reason

    @property
    def screen_notice(self) -> str:
        """The same in a few words, for the screen before coaching starts ("" when nothing to say)."""
        ms = dict(self.measured_ms)
        if self.fell_back:
            default = model_filename(DEFAULT_VARIANT)
            return (f"{self.label} model: {variant_label(default)} took {ms.get(default, math.nan):.0f} ms a frame "
                    f"here, over the {self.budget_ms:g} ms budget")
        if self.over_budget:
            return f"{self.label} model: {ms[self.model]:.0f} ms a frame here, over the {self.budget_ms:g} ms budget"
        return ""

    def as_dict(self) -> dict:
        """session.json's "model_choice"."""
        return {"model": self.model, "variant": self.label, "requested": self.requested or None,
                "default": DEFAULT_VARIANT, "budget_ms": self.budget_ms,
                "measured_ms": {name: round(ms, 1) for name, ms in self.measured_ms},
                "fell_back": self.fell_back, "reason": self.reason or None}


def budget_ms(environ=os.environ) -> float:
    """`LIVE_BUDGET_MS`, or $COACH_LIVE_BUDGET_MS (a CoachError when that is not a number > 0)."""
    text = environ.get(BUDGET_ENV, "").strip()
    if not text:
        return LIVE_BUDGET_MS
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise CoachError(f"{BUDGET_ENV}: expected a number of milliseconds > 0, got {text[:40]!r}")
    return value


def median_inference_ms(detector, captured: Captured, calls: int = WARMUP_CALLS) -> float:
    """The median time (ms) `detector.detect` takes on `captured`'s picture, after one untimed call
    (MediaPipe starts its graph on the first). Frame times advance at 30 per second, as VIDEO mode wants."""
    times = []
    for n in range(calls + 1):
        frame = Frame(captured.t_s + n / 30.0, captured.index, captured.rgb)
        start_s = time.perf_counter()
        detector.detect(frame)
        if n:
            times.append((time.perf_counter() - start_s) * 1000.0)
    return statistics.median(times)


def replaying_first(feed: Feed) -> tuple[Captured | None, Feed]:
    """The feed's first frame, and a feed that yields it again before the rest (a camera's frames
    can be read only once, and a file must lose none)."""
    items = feed.items()
    try:
        first = next(items, None)
    except BaseException:
        items.close()
        raise

    def again():
        try:
            if first is not None:
                yield first
            yield from items
        finally:
            items.close()

    def close() -> None:
        items.close()
        feed.close()

    return first, Feed(feed.info, again, close, policy=feed.policy, dropped=lambda: feed.dropped)


def choose_live_model(feed: Feed, spec: str | None, make: Callable[[Path], object], *, progress: bool = True,
                      budget: float | None = None) -> tuple[object | None, ModelChoice, Feed]:
    """The detector for a live session on `feed`, the choice made and the feed to run (it yields the
    measured first frame again). `spec`: --model (None: the default, which may fall back); `make`:
    a detector from a model path (closed with `close()`). A recording runs no model: (None, choice, feed)."""
    budget = budget_ms() if budget is None else budget
    if feed.info.kind == "recording":
        return None, ModelChoice(feed.info.model, budget_ms=budget), feed
    path = resolve_model(spec, kind="camera", progress=progress)
    first, feed = replaying_first(feed)
    try:
        return _choose(first, path, spec, make, budget, progress) + (feed,)
    except BaseException:
        feed.close()
        raise


def _timed(make: Callable[[Path], object], path: Path, first: Captured) -> float:
    detector = make(path)
    try:
        return median_inference_ms(detector, first)
    finally:
        detector.close()


def _choose(first: Captured | None, path: Path, spec: str | None, make, budget: float,
            progress: bool) -> tuple[object, ModelChoice]:
    if first is None or first.rgb is None:   # nothing to measure on: an empty input ends at once
        return make(path), ModelChoice(path.name, spec or "", budget)
    ms = _timed(make, path, first)
    measured = ((path.name, ms),)
    label = variant_label(path.name)
    if ms <= budget:
        return make(path), ModelChoice(path.name, spec or "", budget, measured)
    if spec is not None or label == FALLBACK_VARIANT:   # named by the user, or lite already: kept
        why = (f"the {label} model takes {ms:.0f} ms a frame here, over the {budget:g} ms live budget: "
               "frames are dropped and quick movements may be missed")
        return make(path), ModelChoice(path.name, spec or "", budget, measured, reason=why)
    lite = resolve_model(FALLBACK_VARIANT, kind="camera", progress=progress)
    lite_ms = _timed(make, lite, first)
    why = (f"the {label} model took {ms:.0f} ms a frame here, over the {budget:g} ms live budget: "
           f"coaching with the {FALLBACK_VARIANT} model ({lite_ms:.0f} ms), which reads some angles "
           "differently (pass --model to choose)")
    if lite_ms > budget:
        why += f"; {FALLBACK_VARIANT} is over the budget too: frames are dropped"
    return make(lite), ModelChoice(lite.name, "", budget, measured + ((lite.name, lite_ms),), True, why)


__all__ = ["BUDGET_ENV", "FALLBACK_VARIANT", "LIVE_BUDGET_MS", "ModelChoice", "WARMUP_CALLS", "budget_ms",
           "choose_live_model", "median_inference_ms", "replaying_first"]
