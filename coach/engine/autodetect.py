"""Which exercise does a video show, segment by segment? (`coach analyze --exercise auto`)

1. `Features` collects each frame's measures (pure, `coach.measure.measures`) as the frames stream past,
   about `SAMPLE_HZ` of them per second - small records, never pixels.
2. Windows of `WINDOW_S` (every `HOP_S`) are scored for every exercise of the library:
       score = posture fit x (0.5 + 0.5 x view fit) x best phase's (envelope fit x specificity)
   posture / view fit: the share of frames passing the exercise's posture / camera-view gate;
   envelope fit: per frame, a weighted mean over the phase's bands of 1 inside the band and
   max(0, 1 - distance / SOFT_DEG) outside (`UNKNOWN_FIT` when it cannot be judged), judged by the
   engine's own `coach.engine.envelope.in_envelope` with the side the exercise's `side_from` rule sees.
   A band that the posture's resting pose already satisfies (`NEUTRAL`: "keep the trunk upright",
   "legs straight" while lying) is hardly evidence of the exercise: it weighs `CONSTRAINT_WEIGHT`;
   a band judged on a low-reliability estimate (the twist) weighs `ESTIMATE_WEIGHT`;
   specificity 1 - 0.5^(1 + evidence), so the exercise that explains more of the body wins.
3. The window labels are smoothed by a Viterbi pass with a cost per change of exercise, then any
   segment shorter than `MIN_SEGMENT_S` is merged into the neighbour that explains it better.
4. Each segment is checked against the noise of its own window scores (`SURE_SE`): when another
   exercise scores alike, the segment is "not sure" and names the candidates.
The result is a `Plan`: segments (exercise, start_s, end_s, score, candidates); `Plan.fixed(exercise)`
is the one-segment plan of `--exercise ID`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coach.engine.context import StableContext
from coach.engine.envelope import detect_side, in_envelope
from coach.engine.exercises import Exercise, Phase
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
# scores themselves. Per window w, d_w = log score(picked) - log score(other); the picked one is
# sure when mean(d) > SURE_SE x its standard error, the SD of d_w over the segment's windows over
# sqrt(windows / (WINDOW_S / HOP_S)) (windows overlap by half: half of them are independent). Two
# standard errors: a difference this size arises by chance about 1 time in 40 (one-sided, normal).
SURE_SE = 2.0
MIN_INDEPENDENT = 2.0  # fewer independent windows than this (a clip under ~3 s, a photo) give no spread:
                       # the pick stands as the best score, unmarked


# Resting values per posture: a band holding one of these for one of the exercise's postures only
# asks to keep still there. Signed measures rest at 0 in every posture.
_SIGNED = {"trunk_lateral_deg": 0.0, "trunk_rotation_deg": 0.0, "neck_flexion_deg": 0.0,
           "neck_rotation_deg": 0.0, "neck_lateral_deg": 0.0}
_LEGS_STRAIGHT = {f"{j}_{s}_deg": 175.0 for j in ("hip", "knee") for s in ("left", "right")}
NEUTRAL: dict[Posture, dict[str, float]] = {
    Posture.STANDING: {**_LEGS_STRAIGHT, "trunk_inclination_deg": 0.0, "trunk_floor_deg": 90.0},
    Posture.SEATED: {"trunk_inclination_deg": 0.0, "trunk_floor_deg": 90.0},
    Posture.KNEELING: {"trunk_inclination_deg": 0.0, "trunk_floor_deg": 90.0},
    Posture.ALL_FOURS: {f"hip_{s}_deg": 90.0 for s in ("left", "right")} | {"trunk_floor_deg": 0.0},
    Posture.PRONE: {**_LEGS_STRAIGHT, "trunk_floor_deg": 0.0},
    Posture.SUPINE: {**_LEGS_STRAIGHT, "trunk_floor_deg": 0.0},
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


def specificity(exercise: Exercise, phase: Phase) -> float:
    """1 - 0.5^(1 + evidence), evidence = the summed weight of the bands that are not constraints."""
    return 1.0 - 0.5 ** (1 + sum(w for w in _weights(exercise, phase) if w > CONSTRAINT_WEIGHT))


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
        """One line per "not sure" segment: where, and the exercises it could be, best first."""
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
        self._context.step(float(t_s), measures.view, measures.posture, seen=seen)
        if t_s >= self._next_s:
            self.t_s.append(float(t_s))
            self.measures.append(self._context.apply(measures) if seen else measures)
            self._next_s = t_s + 1.0 / SAMPLE_HZ


def frame_fit(exercise: Exercise, measures: Measures) -> tuple[float, float, float]:
    """(posture ok, view ok, best phase's band fit x specificity) for one frame; NaN when nobody is seen."""
    if not np.isfinite(measures.values).any():
        return math.nan, math.nan, math.nan
    best = 0.0
    side = detect_side(exercise, measures)
    for index, phase in enumerate(exercise.phases):
        if not phase.envelope:
            continue
        env = in_envelope(exercise, measures, index, side)
        fits = [1.0 if c.inside else max(0.0, 1.0 - abs(c.distance) / SOFT_DEG) if c.inside is False
                else UNKNOWN_FIT for c in env.checks]
        weights = _weights(exercise, phase)
        fit = sum(f * w for f, w in zip(fits, weights)) / sum(weights)
        best = max(best, fit * specificity(exercise, phase))
    if not any(p.envelope for p in exercise.phases):  # a guided hold: posture and view only
        best = 0.5
    return float(measures.posture in exercise.posture), float(measures.view in exercise.view), best


def window_scores(features: Features, exercises: list[Exercise]) -> tuple[np.ndarray, np.ndarray]:
    """(window start times, scores (windows x exercises)); NaN rows where nobody was seen."""
    t = np.asarray(features.t_s)
    fits = np.array([[frame_fit(ex, m) for ex in exercises] for m in features.measures]).reshape(len(t), -1, 3)
    starts = np.arange(t[0], max(t[-1] - WINDOW_S, t[0]) + 1e-9, HOP_S) if len(t) else np.zeros(0)
    scores = np.full((len(starts), len(exercises)), np.nan)
    for w, start in enumerate(starts):
        rows = fits[(t >= start) & (t < start + WINDOW_S)]
        seen = rows[np.isfinite(rows[:, 0, 0])]
        if len(seen):
            posture, view, band = seen.mean(axis=0).T
            scores[w] = posture * (0.5 + 0.5 * view) * band
    return starts, scores


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


def plan(features: Features, exercises: list[Exercise]) -> Plan:
    """Segment the input into exercises (see the module docstring)."""
    if not exercises:
        raise ValueError("plan: expected at least one exercise")
    starts, scores = window_scores(features, exercises)
    if not len(starts) or np.isnan(scores).all():
        return Plan((PlannedSegment(exercises[0], -math.inf, math.inf, 0.0),), auto=True)
    labels = merge_short(viterbi(scores), scores, max(1, round(MIN_SEGMENT_S / HOP_S)))
    runs = _runs(labels)
    segments = []
    for n, (label, a, b) in enumerate(runs):
        start_s = -math.inf if n == 0 else float(starts[a]) + (WINDOW_S - HOP_S) / 2
        end_s = math.inf if n == len(runs) - 1 else float(starts[b]) + (WINDOW_S - HOP_S) / 2
        score = float(np.nanmean(scores[a:b, label])) if np.isfinite(scores[a:b, label]).any() else 0.0
        alike = [exercises[k].id for k in alike_exercises(scores[a:b], label)]
        segments.append(PlannedSegment(exercises[label], start_s, end_s, score,
                                       (exercises[label].id, *alike) if alike else ()))
    return Plan(tuple(segments), auto=True)


def alike_exercises(scores: np.ndarray, label: int) -> list[int]:
    """The other exercises (indexes, best first) that the windows `scores` (windows x exercises) do
    not tell apart from `label`: mean log-score difference within SURE_SE standard errors."""
    rows = scores[np.isfinite(scores).all(axis=1)]
    independent = len(rows) / (WINDOW_S / HOP_S)
    if independent < MIN_INDEPENDENT:
        return []
    logp = np.log(np.clip(rows, FLOOR, None))
    d = logp[:, [label]] - logp                         # windows x exercises
    mean, sd = d.mean(axis=0), d.std(axis=0, ddof=1)
    alike = [k for k in range(scores.shape[1]) if k != label and mean[k] <= SURE_SE * sd[k] / np.sqrt(independent)]
    return sorted(alike, key=lambda k: mean[k])
