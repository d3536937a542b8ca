"""Which exercise does a video show, segment by segment? (`coach analyze --exercise auto`)

1. `Features` collects each frame's measures (pure, `coach.measure.measures`) as the frames stream past,
   about `SAMPLE_HZ` of them per second - small records, never pixels - read in the engine's stable
   context (`coach.engine.context`: view and posture with hysteresis).
2. Windows of `WINDOW_S` (every `HOP_S`) are scored for every exercise of the library:
       score = posture fit x (0.5 + 0.5 x view fit) x best phase's (envelope fit x specificity)
   posture / view fit: the share of frames passing the exercise's posture / camera-view gate;
   envelope fit: per frame, a weighted mean over the phase's JUDGED bands of `band_fit` (1 inside;
   a band asking to move away from rest scores 1 past its far edge - the movement taken further -
   and fades toward rest, reaching 0 at the resting value at the latest; other bands fade over
   SOFT_DEG), judged by the engine's own `coach.engine.envelope.in_envelope` with the side the
   exercise's `side_from` rule sees. A band that cannot be judged (not seen, low reliability, side
   unknown) counts neither way; with none judged the fit is `UNKNOWN_FIT`.
   A band that the posture's resting pose already satisfies (`NEUTRAL`: "keep the trunk upright",
   "legs straight" while lying) is hardly evidence of the exercise: it weighs `CONSTRAINT_WEIGHT`;
   a band judged on a low-reliability estimate (the twist) weighs `ESTIMATE_WEIGHT`;
   specificity 1 - 0.5^(1 + evidence), evidence = the weighted fits of the judged bands that are not
   constraints, so the exercise that explains more of what is seen wins.
   A window is HELD for an exercise when most of its frames are in a hold of it (`FrameFit.held`:
   every judged band reached, and the defining - non-constraint - bands carry the hold by the
   engine's rule: the anchor, or some band, read at medium reliability or better).
3. Only held windows vote (`voting`; all windows when too few are held): the window labels are
   smoothed by a Viterbi pass with a cost per change of exercise, then any segment shorter than
   `MIN_SEGMENT_S` is merged into the neighbour that explains it better; a boundary between two
   exercises is placed by all the windows between their holds (`place_boundaries`).
4. Each segment is checked against the noise of its window scores (`alike_exercises`, `SURE_SE`): the
   median log-score difference over the windows held for either exercise of the pair; when another
   exercise scores alike, the segment is "not sure" and names the candidates.
The result is a `Plan`: segments (exercise, start_s, end_s, score, candidates); `Plan.fixed(exercise)`
is the one-segment plan of `--exercise ID`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coach.engine.context import StableContext
from coach.engine.envelope import carried, detect_side, in_envelope
from coach.engine.exercises import Band, Exercise, Phase
from coach.measure.conventions import Posture
from coach.measure.measures import Measures

SAMPLE_HZ = 10.0       # frames per second kept for scoring
WINDOW_S = 2.0
HOP_S = 1.0
SOFT_DEG = 15.0        # a band missed by this much (or more) scores 0
UNKNOWN_FIT = 0.25     # a band that cannot be judged (not seen, low reliability, side unknown)
CONSTRAINT_WEIGHT = 0.25
ESTIMATE_WEIGHT = 0.5  # a band judged on a low-reliability estimate (the twist) is weaker evidence
SWITCH_COST = 4.0      # log-score cost of changing exercise between windows
MIN_SEGMENT_S = 10.0   # home exercise videos hold a stretch for tens of seconds
FLOOR = 1e-3           # the lowest score a window can give an exercise (log of 0 is not a cost)
# "Not sure": a segment's exercise must beat every other one by more than the noise of the window
# scores themselves, in a stable majority of its windows. Per window w, d_w = log score(picked) -
# log score(other); the picked one is sure when median(d) > SURE_SE x its standard error. The median,
# not the mean: one decisive window (a knee seen bent up for a moment) must not make a steady edge
# look noisy, nor one odd window outweigh the rest - the median is what most windows say. Its
# standard error: the robust SD of d_w (1.4826 x the median absolute deviation: the SD for normal
# noise) x 1.2533 (the median's efficiency for normal noise, sqrt(pi / 2)) over sqrt(windows /
# (WINDOW_S / HOP_S)) (windows overlap by half: half of them are independent). Two standard errors:
# a difference this size arises by chance about 1 time in 40 (one-sided, normal).
SURE_SE = 2.0
MAD_TO_SD = 1.4826
MEDIAN_SE = math.sqrt(math.pi / 2)
# Below the score of an exercise that cannot be judged at all (UNKNOWN_FIT x the specificity of no
# evidence, 0.5, x the half weight of a failed view gate, 0.5) a score is a plain "no": a lower one is
# no more "no" (0.01 against 0.001 is noise, not a factor 10), so the "not sure" test compares scores
# above this floor.
NO_SCORE = UNKNOWN_FIT * 0.5 * 0.5
TIE = 1e-9             # log scores this close are the same number (float round-off)
MIN_INDEPENDENT = 2.0  # fewer independent windows than this (a clip under ~3 s, a photo) give no spread:
                       # the pick stands as the best score, unmarked
HELD_SHARE = 0.5       # a window is held when some exercise is held in at least this share of its frames:
                       # the window is mostly inside a hold (a majority), not a pass through one


# Resting values per posture: a band holding one of these for one of the exercise's postures only
# asks to keep still there. Signed measures rest at 0 in every posture.
_SIGNED = {"trunk_lateral_deg": 0.0, "trunk_rotation_deg": 0.0, "neck_flexion_deg": 0.0,
           "neck_rotation_deg": 0.0, "neck_lateral_deg": 0.0}
_LEGS_STRAIGHT = {f"{j}_{s}_deg": 175.0 for j in ("hip", "knee") for s in ("left", "right")}
# Upright: the trunk points up (inclination 0, signed flexion 0, 90 deg to the floor); lying: the
# trunk lies flat (90 deg from vertical, 0 to the floor, hips on the shoulder-ankle line) with the
# arms by the sides (upper arms level: 90 from vertical; the conventions table).
_UPRIGHT = {"trunk_inclination_deg": 0.0, "trunk_flexion_deg": 0.0, "trunk_floor_deg": 90.0}
_LYING = {"trunk_inclination_deg": 90.0, "trunk_floor_deg": 0.0, "trunk_lift_deg": 0.0, "arm_support_deg": 90.0}
NEUTRAL: dict[Posture, dict[str, float]] = {
    Posture.STANDING: {**_LEGS_STRAIGHT, **_UPRIGHT},
    Posture.SEATED: dict(_UPRIGHT),
    Posture.KNEELING: dict(_UPRIGHT),
    Posture.ALL_FOURS: {f"hip_{s}_deg": 90.0 for s in ("left", "right")} | {"trunk_floor_deg": 0.0},
    Posture.PRONE: {**_LEGS_STRAIGHT, **_LYING},
    Posture.SUPINE: {**_LEGS_STRAIGHT, **_LYING},
}


def is_constraint(exercise: Exercise, key: str, phase: Phase) -> bool:
    """True when the band only asks for the resting pose of one of the exercise's postures."""
    band, name = phase.envelope[key], key.replace("{side}", "left").replace("{other}", "right")
    rests = [_SIGNED.get(name)] + [NEUTRAL.get(p, {}).get(name) for p in exercise.posture]
    return any(r is not None and band.min <= r <= band.max for r in rests)


def _weights(exercise: Exercise, phase: Phase) -> list[float]:
    """Each band's weight as evidence: a constraint or a low-reliability estimate weighs less."""
    return [CONSTRAINT_WEIGHT if is_constraint(exercise, k, phase) else
            ESTIMATE_WEIGHT if band.min_reliability == "low" else 1.0 for k, band in phase.envelope.items()]


@dataclass(frozen=True)
class PlannedSegment:
    """`candidates`: empty when the exercise is told apart; else "not sure" - the exercises whose
    scores are alike within their noise (`SURE_SE`), best first; `exercise` is the first, the guess
    the segment is coached as, and `coach analyze` asks the person to choose with --exercise."""

    exercise: Exercise
    start_s: float
    end_s: float
    score: float | None = None   # mean window score 0..1; None when the exercise was given
    candidates: tuple[str, ...] = ()

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s

    @property
    def not_sure(self) -> bool:
        return bool(self.candidates)


@dataclass(frozen=True)
class Plan:
    segments: tuple[PlannedSegment, ...]
    auto: bool = False

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError("Plan: expected at least one segment")

    @classmethod
    def fixed(cls, exercise: Exercise) -> Plan:
        return cls((PlannedSegment(exercise, -math.inf, math.inf),))

    def not_sure_notes(self) -> tuple[str, ...]:
        """One line per "not sure" segment: where, and the exercises it could be, best first - or, when
        every exercise scores a plain "no" (`NO_SCORE`), that none fits and which is closest."""
        def clock(t_s: float) -> str:
            return f"{int(t_s // 60)}:{t_s % 60:04.1f}"

        notes = []
        for seg in self.segments:
            if not seg.not_sure:
                continue
            where = ("the whole input" if len(self.segments) == 1 else
                     f"until {clock(seg.end_s)}" if seg.start_s == -math.inf else
                     f"from {clock(seg.start_s)}" if seg.end_s == math.inf else
                     f"{clock(seg.start_s)}-{clock(seg.end_s)}")
            if seg.score is not None and seg.score <= NO_SCORE:   # every exercise a plain "no": none to list
                notes.append(f"{where}: no exercise fits it well; the closest is {seg.exercise.id}")
            else:
                notes.append(f"{where}: {' or '.join(seg.candidates)}")
        return tuple(notes)

    def at(self, t_s: float) -> PlannedSegment:
        for seg in self.segments:
            if t_s < seg.end_s:
                return seg
        return self.segments[-1]


class Features:
    """The measures of about SAMPLE_HZ frames per second, for scoring, read in the stable context
    the engine uses (`coach.engine.context`: every frame votes, so a flickering view or posture
    gates the scores no more than it gates a hold)."""

    def __init__(self) -> None:
        self.t_s: list[float] = []
        self.measures: list[Measures] = []
        self._next_s = -math.inf
        self._context = StableContext()

    def add(self, t_s: float, measures: Measures) -> None:
        seen = bool(np.isfinite(measures.values).any())
        self._context.step_measures(float(t_s), measures, seen=seen)
        if t_s >= self._next_s:
            self.t_s.append(float(t_s))
            self.measures.append(self._context.apply(measures) if seen else measures)
            self._next_s = t_s + 1.0 / SAMPLE_HZ


def _rests(exercise: Exercise, key: str) -> list[float]:
    """The resting values (`NEUTRAL`, `_SIGNED`) the band's measure takes in the exercise's postures."""
    name = key.replace("{side}", "left").replace("{other}", "right")
    rests = [_SIGNED.get(name)] + [NEUTRAL.get(p, {}).get(name) for p in exercise.posture]
    return [r for r in rests if r is not None]


def band_fit(exercise: Exercise, key: str, band: Band, distance: float) -> float:
    """How well a judged reading, `distance` from the band (`BandCheck.distance`), shows the band's pose.

    Inside: 1. A band that asks to move away from rest (no resting value inside it; see `NEUTRAL`):
    past the band on the far side from rest is the same movement taken further ("too far" is a cue of
    that very exercise, e.g. a neck side bend tilted past its gentle band): 1. On the rest side a near
    miss fades over SOFT_DEG, but never past the resting value itself: a body at rest is no sign of a
    movement away from rest (an upright stance is not a back extension, a lying rest not a twist).
    A constraint band, or one whose posture gives no resting value, fades over SOFT_DEG both ways."""
    if distance == 0:
        return 1.0
    edge = band.min if distance < 0 else band.max
    rests = _rests(exercise, key)
    if rests and not any(band.min <= r <= band.max for r in rests):
        below, above = [r for r in rests if r < band.min], [r for r in rests if r > band.max]
        if (distance > 0 and below and not above) or (distance < 0 and above and not below):
            return 1.0                          # beyond the band, away from rest: the movement, further
        same_side = above if distance > 0 else below
        if same_side:
            width = min(SOFT_DEG, min(abs(r - edge) for r in same_side))
            return max(0.0, 1.0 - abs(distance) / width) if width > 0 else 0.0
    return max(0.0, 1.0 - abs(distance) / SOFT_DEG)


@dataclass(frozen=True)
class FrameFit:
    """One frame against one exercise. `band`: the best phase's band fit x specificity (judged bands
    only); `held`: the frame is in a hold of the exercise - both gates pass and, in some phase, every
    judged band is reached (`band_fit` 1) and the reached bands that are not constraints carry a hold
    by the engine's own rule (`envelope.carried`: the anchor, or some band, read at medium reliability
    or better). So the measure that defines the exercise must be read at medium or better: an
    estimate (the twist) shows no hold, nor does a constraint ("sit up straight") that any rest keeps."""

    posture: float
    view: float
    band: float
    held: bool


def frame_fit(exercise: Exercise, measures: Measures) -> FrameFit:
    """The frame's `FrameFit`; NaN fits (and not held) when nobody is seen.

    Only judged bands count, for and against: a band that cannot be judged from this view (not seen,
    low reliability, side unknown) says nothing about which exercise this is - every exercise is
    equally unable to show it - so it enters neither the fit nor the evidence of the specificity (which
    rewards explaining more of what is SEEN; module doc). With no band judged the fit is `UNKNOWN_FIT`."""
    if not np.isfinite(measures.values).any():
        return FrameFit(math.nan, math.nan, math.nan, False)
    posture_ok = measures.posture in exercise.posture
    view_ok = measures.view in exercise.view
    best, held = 0.0, False
    side = detect_side(exercise, measures)
    for index, phase in enumerate(exercise.phases):
        if not phase.envelope:
            continue
        env = in_envelope(exercise, measures, index, side)
        weights = dict(zip(phase.envelope, _weights(exercise, phase)))
        judged = [c for c in env.checks if c.inside is not None]
        fits = [band_fit(exercise, c.key, phase.envelope[c.key], c.distance) for c in judged]
        w = [weights[c.key] for c in judged]
        evidence = sum(f * x for f, x in zip(fits, w) if x > CONSTRAINT_WEIGHT)   # what the exercise explains
        fit = sum(f * x for f, x in zip(fits, w)) / sum(w) if judged else UNKNOWN_FIT
        best = max(best, fit * (1.0 - 0.5 ** (1 + evidence)))
        reached = [c for c, f in zip(judged, fits) if f >= 1.0]
        moved = tuple(c for c in reached if not is_constraint(exercise, c.key, phase))
        held = held or (posture_ok and view_ok and bool(moved) and len(reached) == len(judged)
                        and carried(exercise, moved))
    if not any(p.envelope for p in exercise.phases):  # a guided hold: posture and view only
        best = 0.5
    return FrameFit(float(posture_ok), float(view_ok), best, held)


def window_scores(features: Features, exercises: list[Exercise]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window start times, scores (windows x exercises), held (windows x exercises)); NaN score rows
    where nobody was seen. A window is held for an exercise held (`FrameFit.held`) in at least
    HELD_SHARE of its seen frames."""
    t = np.asarray(features.t_s)
    fits = [[frame_fit(ex, m) for ex in exercises] for m in features.measures]
    numbers = np.array([[(f.posture, f.view, f.band, float(f.held)) for f in row] for row in fits]).reshape(len(t), -1, 4)
    starts = np.arange(t[0], max(t[-1] - WINDOW_S, t[0]) + 1e-9, HOP_S) if len(t) else np.zeros(0)
    scores = np.full((len(starts), len(exercises)), np.nan)
    held = np.zeros((len(starts), len(exercises)), dtype=bool)
    for w, start in enumerate(starts):
        rows = numbers[(t >= start) & (t < start + WINDOW_S)]
        seen = rows[np.isfinite(rows[:, 0, 0])]
        if len(seen):
            posture, view, band, in_hold = seen.mean(axis=0).T
            scores[w] = posture * (0.5 + 0.5 * view) * band
            held[w] = in_hold >= HELD_SHARE
    return starts, scores, held


def voting(scores: np.ndarray, held: np.ndarray) -> np.ndarray:
    """The scores that decide: the windows held for some exercise (`held`: windows), the others NaN (no preference,
    as a window where nobody is seen) - unless fewer than MIN_INDEPENDENT independent windows are
    held, when every window votes (a clip with no hold of any exercise, a photo).

    Why only held windows: a stretch is told by the position it holds; between holds the body
    moves or rests in a pose many exercises share (lying with the knees bent rests a bridge, a knee
    to chest and a supine twist alike), and a video of a few short holds is mostly such time. Counted
    frame by frame, the rest decides; counted over the holds, the stretch does."""
    if held.sum() / (WINDOW_S / HOP_S) < MIN_INDEPENDENT:
        return scores
    out = scores.copy()
    out[~held] = np.nan
    return out


def viterbi(scores: np.ndarray, switch_cost: float = SWITCH_COST) -> np.ndarray:
    """The exercise index per window maximising sum(log score) - switch_cost x changes."""
    n, k = scores.shape
    logp = np.log(np.clip(np.nan_to_num(scores, nan=1.0), FLOOR, None))  # unseen windows: no preference
    total, back = logp[0].copy(), np.zeros((n, k), dtype=int)
    for i in range(1, n):
        stay, best = total, int(np.argmax(total))
        move = total[best] - switch_cost
        back[i] = np.where(stay >= move, np.arange(k), best)
        total = np.maximum(stay, move) + logp[i]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmax(total))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path


def _runs(labels: np.ndarray) -> list[list[int]]:
    """[label, first window, last window + 1] for each run of equal labels."""
    runs: list[list[int]] = []
    for i, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = i + 1
        else:
            runs.append([int(label), i, i + 1])
    return runs


def merge_short(labels: np.ndarray, scores: np.ndarray, min_windows: int) -> np.ndarray:
    """Relabel runs shorter than `min_windows` with the neighbour's exercise that scores them better."""
    labels = labels.copy()
    s = np.nan_to_num(scores, nan=0.0)
    while True:
        runs = _runs(labels)
        short = [r for r in runs if r[2] - r[1] < min_windows]
        if len(runs) < 2 or not short:
            return labels
        label, a, b = min(short, key=lambda r: r[2] - r[1])
        i = runs.index([label, a, b])
        neighbours = [runs[j][0] for j in (i - 1, i + 1) if 0 <= j < len(runs)]
        labels[a:b] = max(neighbours, key=lambda n: s[a:b, n].sum())


def place_boundaries(labels: np.ndarray, scores: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Which exercise a stretch of video shows is decided by its held windows (`voting`); where one
    exercise ends and the next begins, by every window between the last held window of the one and
    the first of the next: the boundary goes where the two exercises' own scores change places (the
    largest sum of log scores, the first exercise before it, the second after it)."""
    labels = labels.copy()
    logp = np.log(np.clip(np.nan_to_num(scores, nan=1.0), FLOOR, None))
    runs = _runs(labels)
    for (first, a0, a1), (second, b0, b1) in zip(runs, runs[1:]):
        held_a, held_b = np.flatnonzero(held[a0:a1]) + a0, np.flatnonzero(held[b0:b1]) + b0
        lo = int(held_a[-1]) + 1 if len(held_a) else a0
        hi = int(held_b[0]) if len(held_b) else b1
        if hi <= lo:
            continue
        gain = [logp[lo:b, first].sum() + logp[b:hi, second].sum() for b in range(lo, hi + 1)]
        cut = lo + int(np.argmax(gain))
        labels[lo:cut], labels[cut:hi] = first, second
    return labels


def plan(features: Features, exercises: list[Exercise]) -> Plan:
    """Segment the input into exercises (see the module docstring)."""
    if not exercises:
        raise ValueError("plan: expected at least one exercise")
    starts, all_scores, held_by = window_scores(features, exercises)
    held = held_by.any(axis=1)
    if not len(starts) or np.isnan(all_scores).all():
        return Plan((PlannedSegment(exercises[0], -math.inf, math.inf, 0.0),), auto=True)
    scores = voting(all_scores, held)
    labels = merge_short(viterbi(scores), scores, max(1, round(MIN_SEGMENT_S / HOP_S)))
    labels = place_boundaries(labels, all_scores, held)
    runs = _runs(labels)
    segments = []
    for n, (label, a, b) in enumerate(runs):
        start_s = -math.inf if n == 0 else float(starts[a]) + (WINDOW_S - HOP_S) / 2
        end_s = math.inf if n == len(runs) - 1 else float(starts[b]) + (WINDOW_S - HOP_S) / 2
        # a segment with too few held windows of its own is judged on all of its windows
        own = scores[a:b] if held[a:b].sum() / (WINDOW_S / HOP_S) >= MIN_INDEPENDENT else all_scores[a:b]
        score = float(np.nanmean(own[:, label])) if np.isfinite(own[:, label]).any() else 0.0
        alike = [exercises[k].id for k in alike_exercises(all_scores[a:b], label, held_by[a:b])]
        segments.append(PlannedSegment(exercises[label], start_s, end_s, score,
                                       (exercises[label].id, *alike) if alike else ()))
    return Plan(tuple(segments), auto=True)


def alike_exercises(scores: np.ndarray, label: int, held: np.ndarray | None = None) -> list[int]:
    """The other exercises (indexes, best first) that the windows `scores` (windows x exercises) do
    not tell apart from `label`: median log-score difference within SURE_SE standard errors.

    `held` (windows x exercises, `window_scores`): the pair `label` / k is compared over the windows
    held for either of them - a window held for neither (a rest, a pose a third exercise holds) says
    nothing about which of the two it is - unless those are fewer than MIN_INDEPENDENT independent
    windows, when all windows count. Scores are compared above NO_SCORE."""
    finite = np.isfinite(scores).all(axis=1)
    logp = np.log(np.clip(np.nan_to_num(scores, nan=1.0), NO_SCORE, None))
    alike, mids = [], {}
    for k in range(scores.shape[1]):
        if k == label:
            continue
        rows = finite
        if held is not None:
            pair = finite & (held[:, label] | held[:, k])
            rows = pair if pair.sum() / (WINDOW_S / HOP_S) >= MIN_INDEPENDENT else finite
        independent = rows.sum() / (WINDOW_S / HOP_S)
        d = logp[rows, label] - logp[rows, k]
        if independent < MIN_INDEPENDENT:
            # too short for a spread (a photo): only a tie in every window is "alike" - nothing seen
            # tells the two apart (e.g. both sided exercises whose side cannot be told)
            if rows.any() and np.all(np.abs(d) < TIE):
                alike.append(k)
                mids[k] = 0.0
            continue
        mid = float(np.median(d))
        se = MEDIAN_SE * MAD_TO_SD * float(np.median(np.abs(d - mid))) / np.sqrt(independent)
        if mid <= SURE_SE * se:
            alike.append(k)
            mids[k] = mid
    return sorted(alike, key=mids.__getitem__)
