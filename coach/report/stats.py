"""The numbers of a session report, as pure functions of the collected timeline.

- `segment_summary`: reps and holds per side against the target, time in the envelope and holding.
- `measure_stats`: per exercise phase, envelope band and side - peak, median, range, time in band.
- `notes_for`: what could not be measured, or only roughly, and why (not seen, wrong view, low
  reliability, guided hold, twist from one camera, and what the engine said it could not judge).

Signed left-positive measures are read toward the working side, as the envelope reads them
(`coach.engine.envelope.toward_side`), so every value is comparable with its band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from coach.engine.envelope import resolve_key, toward_side
from coach.engine.exercises import Exercise
from coach.measure.conventions import MEASURE_NAMES, SPEC, Reliability, View, measure_label
from coach.report.timeline import IN, OUT, RELIABILITY_CODE, SIDES, VIEWS, TimelineArrays, frame_weights

if TYPE_CHECKING:
    from coach.engine.verdict import FrameVerdict

NOTE_MIN_SHARE = 0.05   # a problem affecting less of the time than this is not worth a note



@dataclass(frozen=True)
class Hold:
    """One hold: from the moment the engine started the hold clock to completion or release.
    `duration_s` is the held time (pauses within the grace window excluded)."""

    exercise: str
    phase: str
    side: str | None
    start_s: float
    end_s: float
    duration_s: float
    target_s: float
    completed: bool


@dataclass(frozen=True)
class AlertSpan:
    """One safety alert from raised to cleared; `value` is the worst reading while it was active."""

    exercise: str
    rule: str
    severity: str
    start_s: float
    end_s: float
    value: float
    limit: float
    message: str
    active_at_end: bool = False


@dataclass(frozen=True)
class MeasureStats:
    """One envelope band of one phase, for one side, against the values seen while coaching that phase.
    `peak`: how far the stretch went - the 95th percentile in the direction of the stretch
    (see report_stats.peak); `lowest` / `highest`: the raw extremes, glitches included."""

    segment: int          # index into Report.segments
    exercise: str
    phase: str
    key: str              # the envelope key, e.g. "hip_{side}_deg"
    measure: str          # the measure read for this side, e.g. "hip_left_deg"
    side: str             # "left" / "right", or "both" without sides
    unit: str
    band_min: float
    band_max: float
    peak: float
    median: float
    lowest: float
    highest: float
    in_band_pct: float    # of the frames where the band could be judged
    judged_pct: float     # of the frames coached in this phase and side
    frames: int


@dataclass(frozen=True)
class SegmentSummary:
    """One stretch of the input analysed as one exercise."""

    exercise: str
    name: str
    start_s: float
    end_s: float
    frames: int
    status: str                       # active | resting | completed | stopped (the engine's, at the end)
    reps: dict[str, int]              # per side ("both" without sides)
    reps_target: int                  # per side
    holds_completed: dict[str, int]   # per side
    holds_target: int                 # per side (reps x phases)
    time_in_envelope_pct: float
    time_holding_pct: float
    longest_hold_s: float             # the longest hold, completed or not (0 without holds)
    score: float | None = None        # auto-detection confidence 0..1 (None: exercise given)
    advice: str = ""
    # The sides the person did (`sides_done`): only these get rows in the report ("both" without sides)
    sides_done: tuple[str, ...] = ()
    # `coach live`: the routine's exercise this segment coached (0-based). A routine gone back to, or an
    # exercise restarted, coaches one routine exercise in several segments: its target counts once.
    routine_index: int | None = None
    # `coach live`: why this segment's framing step never passed ("Face the camera"); "" when it did (or
    # there was none): the safety rules judged its frames, the exercise was never coached
    unframed: str = ""


@dataclass(frozen=True)
class Note:
    """Something that could not be measured (or only roughly), and why."""

    text: str
    measure: str | None = None
    exercise: str | None = None

def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole > 0 else math.nan


def sides_of(exercise: Exercise) -> tuple[str, ...]:
    return ("left", "right") if exercise.sides == "left_right" else ("both",)


# A side counts as done without a hold only after this long in position on it: as long as the pause
# the engine forgives within a hold (EngineSettings.grace_s) - a shorter stay is passing through. The
# seated twist's turn back to the middle reads as the other side, in position, for under 0.1 s.
SIDE_DONE_MIN_S = 1.0


def sides_done(index: int, exercise: Exercise, tl: TimelineArrays, holds: list[Hold]) -> tuple[str, ...]:
    """The sides the person did in segment `index`: a hold was started on it, or they were in position
    on it (every band inside) for SIDE_DONE_MIN_S. Without sides, ("both",) when anyone was seen.
    A side the engine only glimpsed was not done: the report has no rows for it (a physio would read
    "cannot do that side")."""
    rows = tl.segment == index
    if exercise.sides == "none":
        return ("both",) if (rows & (tl.seen == 1)).any() else ()
    started = {h.side for h in holds if h.exercise == exercise.id}
    w = frame_weights(tl.t_s)
    return tuple(side for side in ("left", "right") if side in started or
                 float(w[rows & (tl.side == SIDES.index(side)) & (tl.envelope == IN)].sum()) >= SIDE_DONE_MIN_S)


def reported_sides(index: int, exercise: Exercise, tl: TimelineArrays, done: tuple[str, ...]) -> tuple[str, ...]:
    """The sides the report has rows for: those done; when none was, the sides the person was in
    position on at all (the attempt still shows how far it went), else the sides they were seen on."""
    if done:
        return done
    rows = (tl.segment == index) & (tl.seen == 1)
    sides = sides_of(exercise)
    tried = tuple(s for s in sides if (rows & (tl.side == SIDES.index(s)) & (tl.envelope == IN)).any())
    return tried or tuple(s for s in sides if (rows & (tl.side == SIDES.index(s))).any())


def segment_summary(index: int, exercise: Exercise, start_s: float, score: float | None,
                    last: FrameVerdict | None, tl: TimelineArrays, holds: list[Hold],
                    routine_index: int | None = None, unframed: str = "") -> SegmentSummary:

    rows = tl.segment == index
    w = frame_weights(tl.t_s)[rows]
    total = float(w.sum())
    end_s = float(tl.t_s[rows][-1]) if rows.any() else start_s
    mine = [h for h in holds if h.exercise == exercise.id and start_s <= h.start_s <= end_s]
    done = {side: sum(1 for h in mine if h.completed and (h.side or "both") == side) for side in sides_of(exercise)}
    reps = dict(last.reps_done) if last is not None else {side: 0 for side in sides_of(exercise)}
    return SegmentSummary(
        exercise.id, exercise.name, float(start_s), end_s, int(rows.sum()),
        last.status.value if last is not None else "active", reps, exercise.reps_per_side, done,
        exercise.reps_per_side * len(exercise.phases),
        _pct(float(w[tl.envelope[rows] == 1].sum()), total), _pct(float(w[tl.holding[rows] == 1].sum()), total),
        max((h.duration_s for h in mine), default=0.0), score, last.advice if last is not None else "",
        sides_done(index, exercise, tl, mine), routine_index, unframed)


def was_done(seg: SegmentSummary) -> bool:
    """Whether the person did the segment's exercise at all: a hold was started, or they were in position
    for SIDE_DONE_MIN_S (the same rule as a side done, with or without sides)."""
    in_position_s = seg.time_in_envelope_pct / 100.0 * max(0.0, seg.end_s - seg.start_s) \
        if math.isfinite(seg.time_in_envelope_pct) else 0.0
    return seg.longest_hold_s > 0 or in_position_s >= SIDE_DONE_MIN_S


STATUS_TEXT = {"active": "not finished", "resting": "not finished (resting between reps)"}


def status_text(seg: SegmentSummary) -> str:
    """A segment's status as a person reads it once the session is over: the engine's "active" (still
    coaching when the segment ended) is "not finished", or "never framed (why)" when the framing step
    never passed; completed and stopped read as they are."""
    if seg.unframed and seg.status in STATUS_TEXT:
        return f"never framed ({seg.unframed})"
    return STATUS_TEXT.get(seg.status, seg.status)


def longest_hold(segments, holds) -> str:
    """How far the holds got: the hold that came closest to its target, "20.0 of 30 s" ("-" with none).
    A clip shorter than its hold target completes nothing, and this still shows how far it went."""
    mine = [h for h in holds if any(s.exercise == h.exercise and s.start_s <= h.start_s <= s.end_s for s in segments)]
    if not mine:
        return "none"
    best = max(mine, key=lambda h: (h.duration_s / h.target_s if h.target_s > 0 else 0.0, h.duration_s))
    return f"{best.duration_s:.1f} of {target_text(best.target_s)} s"


def target_text(seconds: float) -> str:
    """A hold target in seconds as a person reads it: "30", "1.9" (a taught 1.9 s target read "2", so
    a completed hold showed as "1.9 of 2 s", short of it)."""
    return f"{seconds:.1f}".removesuffix(".0")


def holds_tally(segments) -> tuple[int, int]:
    """(completed holds, their target) over the sides done only: a side not done is said so elsewhere,
    not counted as 0 of its target; a segment with no side done counts one side's target. The
    segments of one routine exercise (`same_exercise`) count its target once, their holds added up."""
    done = target = 0
    for group in same_exercise(segments):
        per_side = group_holds(group)
        done += sum(per_side.values())
        target += group[0].holds_target * max(1, len(per_side))
    return done, target


def group_holds(group) -> dict[str, int]:
    """Holds completed per side done, over the segments of one routine exercise (`same_exercise`), each
    side at most its target: a side held on every visit must not make up for a side never done
    ("4 of 4" for left 4 of 2, right 0 of 2)."""
    sides = tuple(dict.fromkeys(side for seg in group for side in seg.sides_done))
    return {side: min(sum(seg.holds_completed.get(side, 0) for seg in group), group[0].holds_target)
            for side in sides}


def same_exercise(segments) -> list[list]:
    """The segments grouped by the routine exercise they coached (in the order first coached): a
    `coach live` routine gone back to, or an exercise restarted, is one exercise with one target.
    Without a routine (`coach analyze`, each auto-detected part coached afresh) every segment is its own."""
    groups: dict[object, list] = {}
    for i, seg in enumerate(segments):
        key = ("routine", seg.routine_index) if seg.routine_index is not None else ("segment", i)
        groups.setdefault(key, []).append(seg)
    return list(groups.values())


def holds_done(segments) -> str:
    """Completed holds of the target, in words: "0 of 3" (`holds_tally`: the report's card, the same numbers)."""
    done, target = holds_tally(segments)
    return f"{done} of {target}"


def neutral_value(measure: str) -> float:
    """Where a measure reads in the anatomical rest position (the `zero` column of
    `coach.measure.conventions`): joints straight (hip, knee, elbow 180), arms down (shoulder 0), trunk
    upright (inclination 0), no bend, turn or tilt (signed angles 0). The measures read against the
    floor rest on it: the trunk to the floor is 0 lying flat (a press-up lifts it away from 0), the
    hip lift 0. NaN for distances, which have no rest value."""
    spec = SPEC[measure]
    if spec.unit != "deg":
        return math.nan
    if spec.base in ("hip", "knee", "elbow"):
        return 180.0
    return 0.0


def stretch_direction(values: np.ndarray, band_min: float, band_max: float, neutral: float = math.nan) -> float:
    """+1 when the stretch goes up through the band, -1 when down.

    1. From where the values rest outside the band toward the band (the person came from there).
    2. Without values outside: away from the measure's rest position `neutral` - the band edge
       further from it is further into the stretch (a seated twist's trunk lean, band 0-35 deg from
       upright: up, whatever the values lean to).
    3. Neither known: toward the band edge the values lean to."""
    below, above = values[values < band_min], values[values > band_max]
    if len(below) or len(above):
        return 1.0 if len(below) >= len(above) else -1.0
    if math.isfinite(neutral):
        return 1.0 if abs(band_max - neutral) >= abs(band_min - neutral) else -1.0
    middle = (band_min + band_max) / 2
    return 1.0 if float(np.median(values)) >= middle else -1.0


PEAK_PERCENTILE = 95.0   # the peak ignores the last 5% of the range: single-frame glitches are not a peak


def peak(values: np.ndarray, band_min: float, band_max: float, neutral: float = math.nan) -> float:
    """How far the stretch went: the PEAK_PERCENTILE-th percentile of the values in the direction of
    the stretch (`stretch_direction`; so a landmark glitch of a few frames does not count); NaN
    without values."""
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan
    up = stretch_direction(values, band_min, band_max, neutral) > 0
    return float(np.percentile(values, PEAK_PERCENTILE if up else 100.0 - PEAK_PERCENTILE))


def _band_stats(values: np.ndarray, bands: np.ndarray, band_min: float, band_max: float, neutral: float) -> dict:
    finite = values[np.isfinite(values)]
    judged = (bands == IN) | (bands == OUT)
    nan = math.nan
    return {"peak": peak(finite, band_min, band_max, neutral),
            "median": float(np.median(finite)) if len(finite) else nan,
            "lowest": float(finite.min()) if len(finite) else nan,
            "highest": float(finite.max()) if len(finite) else nan,
            "in_band_pct": _pct(float((bands == IN).sum()), float(judged.sum())),
            "judged_pct": _pct(float(judged.sum()), float(len(bands)))}


def measure_stats(index: int, exercise: Exercise, tl: TimelineArrays,
                  sides: tuple[str, ...] | None = None) -> list[MeasureStats]:
    """One row per phase x envelope band x side, over the frames coached in that phase and side;
    `sides`: the sides to report (default every side of the exercise; the report passes those done)."""

    out = []
    for p, phase in enumerate(exercise.phases):
        for key, band in phase.envelope.items():
            for side in sides_of(exercise) if sides is None else sides:
                measure = resolve_key(key, None if side == "both" else side)
                j = MEASURE_NAMES.index(measure)
                rows = (tl.segment == index) & (tl.phase == p) & (tl.side == SIDES.index(side)) & (tl.seen == 1)
                values = np.array([toward_side(measure, float(v), side) for v in tl.values[rows, j]])
                stats = _band_stats(values, tl.bands[rows, j], band.min, band.max, neutral_value(measure))
                out.append(MeasureStats(index, exercise.id, phase.name, key, measure, side, SPEC[measure].unit,
                                        band.min, band.max, frames=int(rows.sum()), **stats))
    return out


def _share(fraction: float, n_frames: int) -> str:
    """"40% of the time", or "in this photo" for a single frame."""
    return "in this photo" if n_frames == 1 else f"{fraction:.0%} of the time"


_RELIABILITY_OF = {code: level for level, code in RELIABILITY_CODE.items()}


def _measure_notes(segment_rows: np.ndarray, exercise: Exercise, tl: TimelineArrays) -> list[Note]:
    """Per envelope measure: how often it was not seen, or seen too unreliably to judge, over the
    frames of `segment_rows` (the exercise's segments) where a person was seen."""

    notes: list[Note] = []
    rows = segment_rows & (tl.seen == 1)
    if not rows.any():
        return notes
    keys = {resolve_key(k, s if s != "both" else None): band.min_reliability
            for phase in exercise.phases for k, band in phase.envelope.items() for s in sides_of(exercise)}
    views = tl.view[rows]
    for measure, need in sorted(keys.items()):
        j = MEASURE_NAMES.index(measure)
        values, rel = tl.values[rows, j], tl.reliability[rows, j]
        unseen = float(np.mean(~np.isfinite(values)))
        weak = float(np.mean(np.isfinite(values) & (rel < RELIABILITY_CODE[Reliability(need)])))
        if unseen >= NOTE_MIN_SHARE:
            missing_views = views[~np.isfinite(values)]
            off = ~np.isin(missing_views, [VIEWS.index(v) for v in exercise.view]) & \
                (missing_views != VIEWS.index(View.UNKNOWN))   # a view not known hid nothing we can name
            if off.mean() > 0.5:   # mostly seen from an angle the exercise is not judged from: the view hid them
                view = VIEWS[int(np.bincount(missing_views[off]).argmax())]
                mostly = "" if tl.n == 1 else "mostly "
                why = (f"{mostly}in {'an' if view.value[0] in 'aeiou' else 'a'} {view.value} view, which hides the "
                       f"landmarks it needs ({exercise.name} is judged from {' / '.join(v.value for v in exercise.view)})")
            else:
                why = "the landmarks it needs were hidden or out of the frame"
            notes.append(Note(f"{measure_label(measure)}: not measurable {_share(unseen, tl.n)} - {why}",
                              measure, exercise.id))
        if weak >= NOTE_MIN_SHARE:
            under = np.isfinite(values) & (rel < RELIABILITY_CODE[Reliability(need)])
            bad = views[under]
            view = VIEWS[int(np.bincount(bad).argmax())] if len(bad) else VIEWS[-1]
            article = "an" if view.value[0] in "aeiou" else "a"
            # the reliability the refused frames were read with (below `need` by construction), not the
            # view's nominal one: a medium view read at low (a hidden joint) said "medium (needs medium)"
            had = _RELIABILITY_OF[int(np.bincount(rel[under].astype(int)).argmax())]
            notes.append(Note(f"{measure_label(measure)}: too unreliable to judge {_share(weak, tl.n)} - mostly in "
                              f"{article} {view.value} view, where this angle was read with {had.value} "
                              f"reliability (needs {Reliability(need).value})", measure, exercise.id))
        if SPEC[measure].reliability and all(r in (Reliability.LOW, Reliability.NONE)
                                             for r in SPEC[measure].reliability.values()):
            notes.append(Note(f"{measure_label(measure)}: an estimate from one camera (low reliability at best) - "
                              "read it as a trend, not an exact angle", measure, exercise.id))
    return notes


def _cant_judge_notes(segment_rows: np.ndarray, exercise: Exercise, tl: TimelineArrays) -> list[Note]:
    """What the engine said it could not judge (only an estimate, a body part hidden), and how often:
    a share of the exercise's own frames where a person was seen, as the measure notes are (it was a
    share of the whole session's, so a routine's later exercise read too rarely to be said)."""
    rows = segment_rows & (tl.seen == 1)
    if not rows.any() or not tl.reasons:
        return []
    n = int(rows.sum())
    counts = np.bincount(tl.why[rows][tl.why[rows] >= 0], minlength=len(tl.reasons))
    return [Note(f"{text} ({_share(count / n, tl.n)})", None, exercise.id)
            for text, count in zip(tl.reasons, counts.tolist()) if count / n >= NOTE_MIN_SHARE]


def _view_note(segment_rows: np.ndarray, exercise: Exercise, tl: TimelineArrays) -> list[Note]:

    rows = segment_rows & (tl.seen == 1)
    wanted = [VIEWS.index(v) for v in exercise.view]
    wrong = float(np.mean(~np.isin(tl.view[rows], wanted))) if rows.any() else 0.0
    if wrong < NOTE_MIN_SHARE:
        return []
    return [Note(f"camera view: not a {' / '.join(v.value for v in exercise.view)} view {_share(wrong, tl.n)}; "
                 f"{exercise.name} cannot be judged from other views", None, exercise.id)]


def notes_for(exercises: list[Exercise], tl: TimelineArrays) -> list[Note]:
    """What could not be measured, per exercise over all its segments (a routine gone back to, or
    `--exercise auto` finding it twice, says each thing once); with several exercises each note is
    named by its exercise ("Child's pose – Right hip: not measurable ...")."""
    notes: list[Note] = []
    if tl.n:
        unseen = float(np.mean(tl.seen == 0))
        if unseen >= NOTE_MIN_SHARE:
            notes.append(Note("nobody was detected in the photo" if tl.n == 1 else
                              f"nobody was detected in {unseen:.0%} of the frames"))
    segments: dict[str, list[int]] = {}
    for i, ex in enumerate(exercises):
        segments.setdefault(ex.id, []).append(i)
    by_id = {ex.id: ex for ex in exercises}
    for exercise_id, indices in segments.items():
        ex = by_id[exercise_id]
        mine = [Note(f"{ex.name} is a guided hold: timed while posture and view fit; the angles "
                     "shown are not claimed as the movement itself", None, ex.id)] if ex.guided else []
        rows = np.isin(tl.segment, indices)
        mine += _view_note(rows, ex, tl) + _cant_judge_notes(rows, ex, tl) + _measure_notes(rows, ex, tl)
        if len(segments) > 1:
            mine = [Note(f"{ex.name} – {n.text[:1].upper()}{n.text[1:]}", n.measure, n.exercise)
                    if not n.text.startswith(ex.name) else n for n in mine]
        notes += mine
    if any(ex.guided for ex in exercises):
        notes.append(Note("pelvic tilt cannot be measured from body landmarks (no points on the spine or "
                          "pelvis)", "pelvic_tilt_deg"))
    return notes
