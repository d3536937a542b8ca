"""The coaching engine: the one stateful piece of the pipeline.

    coach = Coach(exercise)                       # smoothing="causal" (live) or "none"
    for frame in stream:
        verdict = coach.update(frame.pose, frame.t_s, others=frame.others)

Every command drives it through the one session loop, `coach.session.loop.run_session`.

Each `update` takes the pose and its time (never a clock: the same input gives the same output) and
returns a `FrameVerdict`. Per frame: measures (pure, `coach.measure.measures`) -> smoothing (One Euro, NaN
gated) -> envelope of the current phase (pure, `coach.engine.envelope`) -> hold state machine
(`coach.engine.holds`) -> phase / side / rep / rest bookkeeping (`coach.engine.progress`) -> safety rules (pure
readings, `coach.engine.safety`, debounced by `coach.engine.alerts`). Events are emitted only on change.
Time never runs backwards: a frame older than the last one is taken at the last one's time.

`EngineSettings` holds every engine default (smoothing, hold timing, motion rules, stop rule); the
safety rules' own dwell / hysteresis / cooldown are the rule table `coach.engine.safety.RULES`, carried in
`EngineSettings.rules`. Per-exercise limits are the exercise file's `safety` block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

from coach.engine.alerts import AlertBoard, StopRule
from coach.engine.context import ContextSettings, StableContext
from coach.engine.envelope import EnvelopeResult, detect_side, in_envelope
from coach.engine.exercises import Exercise, reliability_at_least
from coach.engine.holds import EPS_S, Change, HoldTracker, StillTracker, overdone_measure, wrong_form
from coach.engine.progress import ExerciseProgress
from coach.engine.readout import (
    DEG,
    INDEX,
    HoldView,
    SmoothedFrame,
    build_verdict,
    edge_distances,
    rule_input,
    safety_limits,
)
from coach.engine.safety import RULES, STOP_ADVICE, Rule, evaluate
from coach.engine.sight import SightCheck
from coach.engine.verdict import Alert, Event, EventKind, FrameVerdict, HoldState, Severity, Status
from coach.measure import measures as measures_mod
from coach.measure.conventions import MEASURE_NAMES, Reliability
from coach.measure.measures import Measures
from coach.measure.motion import NetSpeed, NoiseLevel, ReversalTracker, near_end_range, presence
from coach.measure.smoothing import OneEuroFilter
from coach.pose.core import Pose

SMOOTHING_MODES = ("causal", "none")


@dataclass(frozen=True)
class EngineSettings:
    """Every engine default, in one place. Times in seconds, speeds in degrees per second.

    Calibrated on the shared recordings (tests/test_engine_recordings.py). Stillness is the net
    change of the measured (unsmoothed) angles over still_window_s - the least-squares slope less
    still_noise_k standard errors (`coach.measure.motion.NetSpeed`) - not the frame-to-frame speed:
    MediaPipe's hip angle on an oblique bridge jumps 20-40 deg between frames of a still hold, which
    reads 17-50 deg/s after smoothing but about 0 as a net change; movements between positions
    (20-200 deg/s, steady) keep their speed. 15 / 20 deg/s separates them with hysteresis. The
    0.4 s window and settle_s put a detected hold start 0.2-0.5 s after the truth's; grace_s joins
    the brief pauses of a hold read through view changes and camera dissolves.
    """

    # One Euro filter (live smoothing) - see coach.smoothing for the tuning notes
    min_cutoff_hz: float = 1.0
    beta: float = 0.02
    d_cutoff_hz: float = 1.0
    max_gap_s: float = 0.5            # a measure unseen this long is held at its last value, then NaN
    offline_window_s: float = 0.5     # zero-phase smoothing window for offline analysis
    # holds
    settle_s: float = 0.2             # in the envelope and still this long before the hold starts
    grace_s: float = 1.0              # a paused hold resumes within this; longer releases it
    still_enter_deg_s: float = 15.0   # a net change slower than this = still ...
    still_exit_deg_s: float = 20.0    # ... until faster than this
    still_window_s: float = 0.4       # the net change is the slope of the measured values over this
    still_min_span_s: float = 0.1     # ... when they span at least this (else unknown; short, so a
                                      # hold from the first frames starts as early as before),
    still_noise_k: float = 1.5        # ... less this many standard errors (jitter is not movement)
    still_max_rate_hz: float = 30.0   # ... counting at most this many samples a second: on the still holds
                                      # of the shared recordings (bench/noise_correlation.py) the slope's
                                      # scatter is 2.2x that error at 24-30 fps, 3.0x at 60 fps (medians) - the
                                      # noise decorrelates at about 6 Hz, so more frames make no surer
                                      # slope. The thresholds above were set on the shared recordings,
                                      # 5 of 7 at 24-30 fps; the cap keeps them there and makes a 60 fps
                                      # camera read as a 30 fps one (below 30 fps the margin still grows).
                                      # A video file is analysed at 30 frames/s anyway (the same
                                      # argument: coach.session.feed.ANALYSIS_RATE_HZ); this covers
                                      # recordings replayed and cameras at their own rate
    estimate_speed_discount: float = 2.5  # an unjudged, low-reliability angle's speed counts / this
    max_frame_gap_s: float = 0.5      # frames further apart than this do not add hold time
    # motion rules
    near_end_deg: float = 10.0        # within this of a band edge or safety limit = near end range
    # The motion rules (ballistic, bouncing) judge only measures read at medium reliability or better
    # and measured this frame (not held over a gap). A bounce swing must exceed both a floor and a
    # multiple of that measure's own noise (`coach.measure.motion.NoiseLevel`, estimated online over
    # noise_window_s): on the still holds of the shared recordings (bench/bounce_noise.py) most measures
    # read 0.01-2 deg in all three variants, but the bridge's hip, knee and neck 3-8 deg - MediaPipe's
    # oblique lying pose - where a fixed 5 deg counted jitter as bounces ("Don't bounce" on a correct
    # bridge at 5.9 and 17.1 s).
    bounce_amplitude_deg: float = 5.0  # swings smaller than this are never reversals (half a +-5 deg
                                       # bounce, the smallest anyone would call one) ...
    bounce_noise_k: float = 4.0       # ... nor smaller than this many noise SDs. Chosen by simulation
                                      # (bench/bounce_noise.py: white Gaussian noise through this
                                      # engine's One Euro filter, every sample near end range,
                                      # 5 deg floor, the bouncing rule's 4 reversals in 2 s): k = 4 gave
                                      # no onset in 5 h at SD 1, 3 and 7 deg at 15 and 30 fps; k = 3 gave
                                      # 2 at SD 7 / 15 fps, k = 2 868. A +-10 deg 2 Hz bounce at SD <= 2
                                      # deg still counts 4 reversals within 1.3-1.9 s.
    bounce_min_gap_s: float = 0.125   # turning points closer than this are not counted: a half period
                                      # at 4 Hz, above the 1-3 Hz a trunk or hip can bounce at; jitter
                                      # turned the bridge's neck angle on 3 frames in a row (40 ms)
    bounce_window_s: float = 2.0
    noise_window_s: float = 2.0       # the online noise estimate's window: a bounce window's worth
    # alerts
    alert_stale_s: float = 2.0        # an alert that can't be judged this long clears
    estimate_dwell_factor: float = 2.0  # a low-reliability reading must violate this many dwells
    stop_count: int = 3               # this many stop-level alerts ...
    stop_window_s: float = 60.0       # ... within this window end the exercise
    stop_advice: str = STOP_ADVICE
    rules: tuple[Rule, ...] = field(default=RULES)
    # view, posture and seen side pass a majority window first (coach.engine.context: the reasons)
    context: ContextSettings = field(default_factory=ContextSettings)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"EngineSettings.{f.name}: expected a finite number >= 0, got {value}")
        for name in ("min_cutoff_hz", "d_cutoff_hz", "max_frame_gap_s", "still_max_rate_hz", "bounce_amplitude_deg",
                     "bounce_window_s", "noise_window_s", "stop_window_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"EngineSettings.{name}: expected > 0, got {getattr(self, name)}")
        if self.still_exit_deg_s < self.still_enter_deg_s:
            raise ValueError("EngineSettings.still_exit_deg_s must be >= still_enter_deg_s")
        if self.stop_count < 1:
            raise ValueError(f"EngineSettings.stop_count: expected >= 1, got {self.stop_count}")


STILLNESS_FALLBACK = ("trunk_inclination_deg", "hip_left_deg", "hip_right_deg", "knee_left_deg", "knee_right_deg")
_EMPTY = Measures.empty()


def _max_abs(values: np.ndarray) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if len(finite) else math.nan


class Coach:
    """Coaches one exercise. `update(pose, t_s, others=())` -> `FrameVerdict`."""

    def __init__(self, exercise: Exercise, *, smoothing: str = "causal", settings: EngineSettings | None = None):
        if smoothing not in SMOOTHING_MODES:
            raise ValueError(f"smoothing: expected one of {', '.join(SMOOTHING_MODES)}, got {smoothing!r}")
        self.exercise, self.settings = exercise, settings or EngineSettings()
        s, n = self.settings, len(MEASURE_NAMES)
        self._filter = (OneEuroFilter(n, min_cutoff_hz=s.min_cutoff_hz, beta=s.beta, d_cutoff_hz=s.d_cutoff_hz,
                                      max_gap_s=s.max_gap_s) if smoothing == "causal"
                        else OneEuroFilter.passthrough(n, max_gap_s=s.max_gap_s))
        self._board = AlertBoard(s.rules, s.alert_stale_s, StopRule(s.stop_count, s.stop_window_s),
                                 s.estimate_dwell_factor)
        self._net = NetSpeed(n, window_s=s.still_window_s, min_span_s=s.still_min_span_s,
                             noise_k=s.still_noise_k, max_rate_hz=s.still_max_rate_hz)
        self._net_speed = np.full(n, np.nan)   # this frame's net speed per measure (deg/s)
        self._held = np.zeros(n, dtype=bool)   # this frame's values the smoother held over a gap
        self._reversals = ReversalTracker(n, amplitude_deg=s.bounce_amplitude_deg, window_s=s.bounce_window_s,
                                          min_gap_s=s.bounce_min_gap_s)
        self._noise = NoiseLevel(n, window_s=s.noise_window_s)
        self._noise_sd = np.full(n, np.nan)    # this frame's noise SD per measure (units of the measure)
        self._progress = ExerciseProgress(exercise)
        self._context = StableContext(s.context)
        self._tracker = self._new_tracker()
        self._still = [StillTracker(s.still_enter_deg_s, s.still_exit_deg_s, s.max_gap_s) for _ in exercise.phases]
        self._follow_since: dict[int, float] = {}
        self._released = True   # the person came out of the position since the last rep (`_rest`)
        self._last_t: float | None = None
        self._seen: bool | None = None
        self._reliability = [Reliability.NONE] * n
        self._face_on = np.zeros(n, dtype=bool)   # per measure, as last read (with `_reliability`)
        self._alerts: tuple[Alert, ...] = ()
        self._sight, self._sight_words = SightCheck(exercise), ()   # hidden / implausible landmarks, said aloud
        self.last_measures: Measures = _EMPTY   # the last `update`'s measures as measured (before smoothing)
        # False: safety only - every rule runs, no hold is timed (live's framing step: safety is always
        # on, before and regardless of framing; coaching starts when the framing passes)
        self.holds_on = True

    # --- public ---------------------------------------------------------------------------------

    @property
    def status(self) -> Status:
        return self._progress.status

    @property
    def done(self) -> bool:
        return self._progress.finished

    def update(self, pose: Pose, t_s: float, others: tuple[Pose, ...] = (),
               measures: Measures | None = None) -> FrameVerdict:
        """Judge one pose at time `t_s` (seconds); `others` are other people in view (their hands count).
        `measures`: this pose's measures when the caller already computed them (as `compute_measures`
        gives them), so that a frame is measured once."""
        m = measures if measures is not None else measures_mod.compute_measures(pose, tuple(others))
        p = self._progress
        m, self._sight_words = self._sight.step(pose, m, t_s, p.phase_index, p.side if p.sided else None)
        self.last_measures = m
        seen, framing = presence(pose)
        return self.update_measures(m, t_s, seen=seen, framing=framing)

    def update_measures(self, measures: Measures, t_s: float, *, seen: bool | None = None,
                        framing: tuple[float, float] = (math.nan, math.nan),
                        measured: np.ndarray | None = None) -> FrameVerdict:
        """The engine below the measures (offline analysis, tests). `seen` defaults to "any measure
        is finite"; `framing` is (body_size, out_of_frame) as `coach.measure.motion.presence` gives;
        `measured` (offline) the values as measured before smoothing (NaN where a gap was bridged):
        stillness and alert dwells judge those (default: `measures.values`)."""
        if not math.isfinite(t_s := float(t_s)):
            raise ValueError(f"Coach.update: t_s must be a finite time in seconds, got {t_s}")
        seen = bool(np.isfinite(measures.values).any()) if seen is None else bool(seen)
        events = self._context.step_measures(t_s if self._last_t is None else max(t_s, self._last_t), measures,
                                             seen=seen)
        measures = self._context.apply(measures)   # the stable view and posture gate, and set reliability
        frame = self._frame(measures, t_s, seen, framing, measures.values if measured is None else measured)
        events = self._presence(frame) + events
        if self._progress.sided and frame.seen:
            events += self._context.step_side(frame.t_s, detect_side(self.exercise, frame.measures))
        events += self._rest(frame.t_s)
        env = self._judge(frame, self._progress.phase_index, self._tracker.was_inside)
        events += self._holds(frame, env)
        if env.phase_index != self._progress.phase_index:   # a phase was completed or followed: the
            env = self._judge(frame, self._progress.phase_index, self._tracker.was_inside)   # verdict: the new one
        events += self._safety(frame, env)
        hold = HoldView(self._tracker.state, self._tracker.holding, self._tracker.hold_s, self._tracker.target_s,
                        self._tracker.progress)
        inside = self._inside(frame, env)
        sight, self._sight_words = self._sight_words, ()
        return build_verdict(self.exercise, self._progress, hold, frame, env, self._alerts, events, inside, sight)

    # --- smoothing and presence -----------------------------------------------------------------

    def _frame(self, measures: Measures, t_s: float, seen: bool | None, framing: tuple[float, float],
               measured: np.ndarray) -> SmoothedFrame:
        t_s = float(t_s)
        if not math.isfinite(t_s):
            raise ValueError(f"Coach.update: t_s must be a finite time in seconds, got {t_s}")
        t_s = t_s if self._last_t is None else max(t_s, self._last_t)
        dt_s, self._last_t = (0.0 if self._last_t is None else t_s - self._last_t), t_s
        smoothed = self._filter(measures.values, t_s)
        self._net_speed = self._net.step(measured, t_s)  # measured values only, unsmoothed
        self._noise_sd = self._noise.step(measured, t_s)
        self._held = smoothed.filled | (np.isfinite(smoothed.values) & ~np.isfinite(measured))
        seen = bool(np.isfinite(measures.values).any()) if seen is None else bool(seen)
        if not seen:
            return SmoothedFrame(t_s, dt_s, False, _EMPTY, np.full(len(MEASURE_NAMES), np.nan), (math.nan, math.nan))
        fresh = np.flatnonzero(np.isfinite(measures.values))
        for i in fresh:
            self._reliability[i] = measures.reliability[i]
        self._face_on[fresh] = measures.face_on[fresh]
        m = Measures(smoothed.values, self._reliability, measures.view, measures.posture, measures.others_unjudged,
                     self._face_on, measures.limb_plane_deg)
        return SmoothedFrame(t_s, dt_s, True, m, smoothed.speed_per_s, tuple(framing))

    def _presence(self, frame: SmoothedFrame) -> list[Event]:
        events = []
        if self._seen is None:
            events.append(Event(EventKind.EXERCISE_STARTED, frame.t_s, {"exercise": self.exercise.id}))
        if frame.seen != self._seen and (self._seen is not None or not frame.seen):
            kind = EventKind.POSE_REGAINED if frame.seen else EventKind.POSE_LOST
            events.append(Event(kind, frame.t_s, {}))
        self._seen = frame.seen
        return events

    def _rest(self, t_s: float) -> list[Event]:
        """The rest between reps ends when its time is up and the person has come out of the position
        (`_released`); the next rep's hold is a fresh one."""
        resting = self._progress.status == Status.RESTING
        events = self._progress.tick(t_s, self._released)
        if resting and self._progress.active:
            self._tracker = self._new_tracker()
            self._follow_since.clear()
        return events

    # --- envelope, stillness, holds -------------------------------------------------------------

    def _new_tracker(self) -> HoldTracker:
        s = self.settings
        return HoldTracker(self._progress.phase.hold_s, settle_s=s.settle_s, grace_s=s.grace_s,
                           max_frame_gap_s=s.max_frame_gap_s)

    def _judge(self, frame: SmoothedFrame, index: int, was_inside: bool) -> EnvelopeResult:
        p = self._progress
        if p.sided and not p.side_locked and frame.seen:
            p.propose_side(self._context.side)
        return in_envelope(self.exercise, frame.measures, index, p.side, was_inside)

    def _still_for(self, frame: SmoothedFrame, env: EnvelopeResult, index: int) -> bool | None:
        """Still = the phase's angles barely move: their net speed (`coach.measure.motion.NetSpeed`) is low.
        The angles the envelope judged count in full
        (those at medium reliability or better, else the low-reliability estimates it judged); its
        other angles - unjudged, jittery estimates - count at 1 / estimate_speed_discount, so only a
        real movement of them (not their jitter) breaks stillness."""
        angles = [c for c in env.checks if c.measure in INDEX and DEG[INDEX[c.measure]]]
        judged = [c for c in angles if c.inside is not None]
        picked = [c for c in judged if reliability_at_least(c.reliability, Reliability.MEDIUM)] or judged
        rest = [INDEX[c.measure] for c in angles if c not in picked]
        idx = [INDEX[c.measure] for c in picked] or ([] if rest else [INDEX[n] for n in STILLNESS_FALLBACK])
        net = self._net_speed
        speed = _max_abs(net[idx])
        if rest:
            speed = np.fmax(speed, _max_abs(net[rest]) / self.settings.estimate_speed_discount)
        return self._still[index].step(float(speed), frame.t_s)

    def _holds(self, frame: SmoothedFrame, env: EnvelopeResult) -> list[Event]:
        p = self._progress
        if p.finished or not self.holds_on:
            return []
        inside = self._inside(frame, env)
        if inside is False:   # out of the position held (can't judge is not out: `_rest`)
            self._released = True
        overdone = overdone_measure(self._alerts, {c.measure for c in env.checks})
        if inside and wrong_form((a.rule_id for a in self._alerts), overdone):   # last frame's alerts: no good hold
            inside = False
        still = self._still_for(frame, env, p.phase_index)
        changes = self._tracker.step(frame.t_s, frame.dt_s, inside, still)
        events = self._hold_events(changes, frame.t_s)
        if p.active and self._tracker.state not in (HoldState.HOLDING, HoldState.COMPLETED):
            events += self._follow(frame)
        return events

    def _inside(self, frame: SmoothedFrame, env: EnvelopeResult) -> bool | None:
        """The envelope's verdict, or None (can't judge) while nobody is seen or the working side of
        a two-sided exercise is not known yet."""
        if not frame.seen or (self._progress.sided and self._progress.side is None):
            return None
        return env.inside

    def _hold_events(self, changes: list[Change], t_s: float) -> list[Event]:
        p, events = self._progress, []
        for kind, details in changes:
            if kind == EventKind.HOLD_STARTED:
                events += p.lock_side(t_s)
            events.append(Event(kind, t_s, {"phase": p.phase.name, "side": p.side, **details}))
            if kind == EventKind.HOLD_RELEASED:
                p.hold_released()
            elif kind == EventKind.HOLD_COMPLETED:
                events += self._phase_done(t_s)
        return events

    def _phase_done(self, t_s: float) -> list[Event]:
        p = self._progress
        events = p.phase_completed(t_s)
        if any(e.kind == EventKind.REP_COMPLETED for e in events):
            self._released = False   # the next rep waits until the person comes out of this position
        if p.active:   # a next phase of this rep: a fresh hold
            self._tracker = self._new_tracker()
            self._follow_since.clear()
        return events

    def _follow(self, frame: SmoothedFrame) -> list[Event]:
        """The person settled into another phase of this rep: coach that one."""
        for index in self._progress.pending_phases():
            env = self._judge(frame, index, False)
            ok = self._inside(frame, env) is True and self._still_for(frame, env, index) is True
            if not ok:
                self._follow_since.pop(index, None)
                continue
            since = self._follow_since.setdefault(index, frame.t_s)
            if frame.t_s - since >= self.settings.settle_s - EPS_S:
                return self._switch_to(index, frame.t_s)
        return []

    def _switch_to(self, index: int, t_s: float) -> list[Event]:
        events = self._hold_events(self._tracker.release(t_s), t_s)
        events += self._progress.follow(index, t_s)
        self._tracker = self._new_tracker()
        self._follow_since.clear()
        return events + self._hold_events(self._tracker.start_now(t_s), t_s)

    # --- safety ---------------------------------------------------------------------------------

    def _trusted(self, frame: SmoothedFrame) -> np.ndarray:
        """(n,) the measures the motion rules may judge this frame: read at medium reliability or
        better and measured now (not held over a gap). A low-reliability estimate's swings and
        speeds are mostly its own noise (the twist zigzagging 5 deg on the tracked bridge)."""
        ok = np.array([reliability_at_least(r, Reliability.MEDIUM) for r in frame.measures.reliability])
        return ok & ~self._held & np.isfinite(frame.measures.values)

    def _bounce_swing(self, frame: SmoothedFrame) -> np.ndarray:
        """(n,) the smallest swing that counts as a reversal now: bounce_noise_k noise SDs, at least
        bounce_amplitude_deg; NaN (can't judge) while a measure's noise is unknown."""
        s = self.settings
        return np.maximum(s.bounce_noise_k * self._noise_sd, s.bounce_amplitude_deg)

    def _safety(self, frame: SmoothedFrame, env: EnvelopeResult) -> list[Event]:
        near = near_end_range(frame.measures.values, edge_distances(self.exercise, env),
                              safety_limits(self.exercise, frame.measures), self.settings.near_end_deg)
        trusted = DEG & self._trusted(frame)
        motion = near & trusted
        reversals = self._reversals.step(np.where(trusted, frame.measures.values, np.nan), motion, frame.t_s,
                                         self._bounce_swing(frame))
        inp = rule_input(self.exercise, frame, env, motion, reversals, speed=self._net_speed)
        if not trusted.any():
            inp = replace(inp, motion_judged=False)
        if self._held.any():
            inp = replace(inp, held=frozenset(MEASURE_NAMES[i] for i in np.flatnonzero(self._held)))
        readings = evaluate(self.settings.rules, inp, self.exercise.safety)
        step = self._board.step(readings, frame.t_s)
        self._alerts = step.alerts
        if not step.stop or self._progress.finished:
            return list(step.events)
        reasons = [a.rule_id for a in step.alerts if a.severity == Severity.STOP]
        events = list(step.events) + self._hold_events(self._tracker.release(frame.t_s), frame.t_s)
        return events + self._progress.stop(frame.t_s, self.settings.stop_advice, reasons)
