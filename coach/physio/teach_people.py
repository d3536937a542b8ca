"""What defines the demonstrated position, and bands for people rather than for the demonstrator. Pure.

The demonstrated position is read in the STABLE context (`coach.engine.context.StableContext`: the view
and posture the engine itself acts on), never per frame: per frame the posture of a bridge flickers
between supine and prone.

The stretch: the shipped exercise (`coach.engine.exercises.load_library`) that accepts most of the
held frames of the demonstration (`match_stretch`), when it accepts at least `MATCH_SHARE` of them.
It supplies what one camera and one demonstrator cannot: the measures that stretch is judged on
and how widely different people do it (its bands were calibrated on photos of other people).

Defining measures (`defining_keys`):
  - with rest around the holds (still rest spans, else the frames between holds): the measures whose
    median in the holds differs from the rest's by more than the measured noise (`differs`);
  - one long hold and no rest: nothing to compare with, so the measures the matched stretch judges;
  - only measures read at medium reliability or better from a view of the demonstration; the twist
    is the one exception: rotation about the trunk axis is "low" from every view (conventions), so
    where the matched stretch judges it (a twist) it is kept as an ESTIMATE, min_reliability "low";
  - with a matched stretch, only measures it judges: a still elbow is not what defines a stretch.

Bands for people (`people_band`): centre = the demonstrated median; the margin either side is the
measurement noise (the demonstrator's own frame-to-frame noise, at least the noise floor of the
reading's reliability) combined with the between-person variation (half the matched stretch's band,
or `BETWEEN_PERSON_DEG` from normal ranges when no stretch matched) in quadrature: independent
spreads add as variances. The band reaches at least as far as the matched stretch's own band
widened by the noise (the people it was calibrated to accept are not refused because the
demonstrator sits at one end of it). `tolerance` scales both margins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from coach.engine.context import StableContext
from coach.engine.envelope import detect_side, in_envelope, trusted
from coach.engine.exercises import SAFETY_LIMITS, Exercise, Safety, reliability_at_least
from coach.measure.conventions import MEASURE_NAMES, RELIABILITY_RANK, SPEC, Posture, Reliability, View, value_range
from coach.measure.measures import Measures
from coach.physio.teach_holds import NOT_TAUGHT, HeldSpan, MeasureSeries, TeachError, TeachSettings

_INDEX = {n: i for i, n in enumerate(MEASURE_NAMES)}
MAD_TO_SD = 1.4826   # a normal distribution's standard deviation from its median absolute deviation

# A shipped exercise is "the stretch demonstrated" when it accepts at least this share of the held
# frames: a majority, so that a stretch the demonstration merely passes through never wins.
MATCH_SHARE = 0.5
# Between-person variation where no shipped stretch says it: about 2 standard deviations of the
# normal range of motion of healthy adults at the hip, knee and trunk (SDs of 5-10 deg in the AAOS
# normal-values tables, Norkin & White 2016): the spread a band must take in for most people.
BETWEEN_PERSON_DEG = 15.0
# Noise as a margin: 2 standard deviations of the demonstrator's frame-to-frame spread take in 95 %
# of the frames of a still hold (normal noise).
NOISE_SDS = 2.0
# "Differs from rest": the hold's median is more than this many noise margins from the rest's. The
# margin is what ONE frame may be off by (2 SD); a median over a second or more of frames is several
# times more precise, so one margin is already a clear difference.
DIFFERS_MARGINS = 1.0
# ... in at least this share of the frames around the holds. The frames between still holds are
# only partly rest: the moves in and out and the jittery ends of a hold (still spans are found
# inside the holds, INDEX.md truth holds are longer) take the rest; a quarter of them away from the
# held value is a position left and come back to, where noise alone (within one margin, 2 SD, for
# 95 % of frames) leaves 5 %.
REST_SHARE = 0.25
TWIST = "trunk_rotation_deg"
# An estimate (low reliability: the twist) is weaker evidence that the demonstration is a stretch
# than a trusted reading: it counts half (the conventions' scale: low = "a rough estimate").
ESTIMATE_WEIGHT = 0.5


@dataclass(frozen=True)
class Context:
    """The stable view and posture per frame (`StableContext` stepped over the demonstration) and
    each frame's measures rejudged for its stable view (reliability as the engine reads it)."""

    views: tuple[View, ...]
    postures: tuple[Posture, ...]
    rank: np.ndarray      # (T, n) reliability rank in the stable view
    values: np.ndarray    # (T, n) values, NaN where the stable view cannot carry the measure
    face_on: np.ndarray   # (T, n) the joints the stable context reads face-on (what `rank` used)




def stable_context(series: MeasureSeries) -> Context:
    ctx = StableContext()
    views, postures = [], []
    values, rank, face_on = series.values.copy(), series.rank.copy(), series.face_on.copy()
    for i in range(len(series)):
        seen = bool(np.isfinite(series.values[i]).any())
        frame = series.measures_at(i)
        ctx.step_measures(float(series.t_s[i]), frame, seen)
        views.append(ctx.view)
        postures.append(ctx.posture)
        if ctx.view != View.UNKNOWN:
            stable = ctx.apply(frame)
            values[i], rank[i], face_on[i] = stable.values, [RELIABILITY_RANK[r] for r in stable.reliability], stable.face_on
    return Context(tuple(views), tuple(postures), rank, values, face_on)


def stable_measures(series: MeasureSeries, ctx: Context, i: int) -> Measures:
    rel = {v: k for k, v in RELIABILITY_RANK.items()}
    return Measures(ctx.values[i], tuple(rel[int(r)] for r in ctx.rank[i]), ctx.views[i], ctx.postures[i],
                    face_on=ctx.face_on[i], limb_plane_deg=series.limb_plane_deg[i])


def held_frames(holds: Sequence[HeldSpan]) -> list[int]:
    return [i for h in holds for i in range(h.first, h.stop)]


def match_stretch(series: MeasureSeries, ctx: Context, holds: Sequence[HeldSpan],
                  library: Mapping[str, Exercise]) -> tuple[Exercise | None, float]:
    """(the shipped exercise the held frames fit best, the share of its judged held frames inside it).

    A candidate accepts at least MATCH_SHARE of the held frames it can judge (frames it cannot judge,
    or seen from a view it is not judged from, count neither way), and judges at least a fifth of
    them. Of those, the one with the most evidence wins: bands passed, summed over the accepted
    frames, a trusted (medium or better) band 1, an estimate ESTIMATE_WEIGHT - an exercise that
    judges the position on more measures describes it more closely."""
    frames = held_frames(holds)
    best: tuple[Exercise | None, float, float] = (None, 0.0, 0.0)
    for exercise in library.values():
        if exercise.guided or len(exercise.phases) != 1:
            continue   # a multi-phase flow (cat-cow) is not one held position
        inside = judged = 0
        evidence = 0.0
        for i in frames:
            m = stable_measures(series, ctx, i)
            env = in_envelope(exercise, m, 0, detect_side(exercise, m))
            if env.inside is None or env.view_ok is False:
                continue   # can't judge, or a view it is not judged from: no evidence either way
            judged += 1
            if env.inside:
                inside += 1
                evidence += sum(1.0 if trusted(c) else ESTIMATE_WEIGHT for c in env.checks if c.inside)
        if judged < 0.2 * max(1, len(frames)) or inside < MATCH_SHARE * judged:
            best = best if best[0] is not None else (None, max(best[1], inside / max(1, judged)), 0)
            continue
        if evidence > best[2]:
            best = (exercise, inside / judged, evidence)
    return (best[0], best[1]) if best[0] is not None else (None, best[1])


def noise_sd(values: np.ndarray, spans_of: np.ndarray) -> float:
    """The demonstrator's frame-to-frame spread: 1.4826 MAD of each frame from its own hold's median
    (the holds' differences are repetitions, not noise)."""
    dev = []
    for k in np.unique(spans_of):
        v = values[spans_of == k]
        v = v[np.isfinite(v)]
        if len(v):
            dev.append(v - np.median(v))
    if not dev:
        return math.nan
    d = np.concatenate(dev)
    return MAD_TO_SD * float(np.median(np.abs(d)))


@dataclass(frozen=True)
class Column:
    """One envelope key read over the held frames (toward each hold's side) and over the rest."""

    key: str
    held: np.ndarray       # values in held frames (NaN: not read at the band's reliability)
    hold_of: np.ndarray    # which hold each held value came from
    rest: np.ndarray       # values in the rest frames
    rank: int              # median reliability rank of the held readings used
    min_reliability: Reliability


def key_of(name: str, side: str | None) -> str:
    spec = SPEC[name]
    if side is None or not spec.paired:
        return name
    return f"{spec.base}_{{side}}_deg" if spec.paired == side else f"{spec.base}_{{other}}_deg"


def measure_of(key: str, side: str) -> str:
    other = "right" if side == "left" else "left"
    return key.replace("{side}", side).replace("{other}", other)


def column(key: str, ctx: Context, holds: Sequence[HeldSpan], rest_frames: Sequence[int],
           sided: bool, min_rank: int) -> Column | None:
    held, hold_of, ranks = [], [], []
    for k, h in enumerate(holds):
        side = h.side if sided else None
        name = measure_of(key, side) if side else key
        if "{" in name or (sided and side is None and SPEC[name].lateral):
            continue   # a hold whose side is unknown: its working side, or the sign toward it, can't be read
        i = _INDEX[name]
        v = ctx.values[h.first:h.stop, i].copy()
        r = ctx.rank[h.first:h.stop, i]
        v[r < min_rank] = np.nan
        if SPEC[name].lateral and side == "right":
            v = -v
        held.append(v)
        hold_of.append(np.full(len(v), k))
        ranks.append(r[np.isfinite(v)])
    if not held:
        return None
    values = np.concatenate(held)
    seen = np.isfinite(values)
    if seen.sum() < max(3, 0.2 * len(values)):   # read in under a fifth of the held frames: not judgeable
        return None
    rest_side = next((h.side for h in holds if h.side), None) if sided else None
    rest_name = measure_of(key, rest_side) if rest_side else key
    rest = np.array([], dtype=float)
    if "{" not in rest_name and rest_frames:
        i = _INDEX[rest_name]
        idx = np.asarray(rest_frames)
        rest = np.where(ctx.rank[idx, i] >= min_rank, ctx.values[idx, i], np.nan)
        if SPEC[rest_name].lateral and rest_side == "right":
            rest = -rest
    rank = int(np.median(np.concatenate(ranks)))
    rel = Reliability.LOW if min_rank <= 1 else Reliability.MEDIUM
    return Column(key, values, np.concatenate(hold_of), rest, rank, rel)


def differs(col: Column, settings: TeachSettings) -> tuple[bool | None, float, float]:
    """(at least REST_SHARE of the rest frames lie more than DIFFERS_MARGINS noise margins from the
    hold's median - or None when there is no rest reading; the rest median; the noise margin used).
    The distance, not the rest's median value: the frames between holds are rest, the moves in and
    out, and the parts of a hold too jittery to count as still, on both sides of the hold's value
    for a measure that does not take part."""
    margin = noise_margin(col, settings)
    rest = col.rest[np.isfinite(col.rest)]
    if len(rest) < 3:
        return None, math.nan, margin
    held = float(np.nanmedian(col.held))
    far = float(np.quantile(np.abs(rest - held), 1.0 - REST_SHARE))
    return far > DIFFERS_MARGINS * margin, float(np.median(rest)), margin


def noise_margin(col: Column, settings: TeachSettings) -> float:
    """NOISE_SDS x the measured frame-to-frame spread, at least the noise floor of the reliability it
    was read at (what the reading itself may be off by, whatever this demonstration showed)."""
    sd = noise_sd(col.held, col.hold_of)
    measured = NOISE_SDS * sd if math.isfinite(sd) else 0.0
    return max(measured, settings.floor(col.rank))


def library_band(stretch: Exercise | None, key: str):
    """The matched stretch's band for `key`. A plain left/right key of a sided stretch taught without
    sides (`candidate_keys` turns knee_{side}_deg into knee_left_deg and knee_right_deg) gets that
    joint's template band - the same people do it - and, where the stretch bands the joint on both
    sides ({side} and {other}), both: an unsided left knee is either; never the normal-range fallback."""
    if stretch is None:
        return None
    envelope = stretch.phases[0].envelope
    if key in envelope:
        return envelope[key]
    spec = SPEC.get(key)
    if spec is None or not spec.paired:
        return None
    bands = [envelope[t] for t in (f"{spec.base}_{{side}}_deg", f"{spec.base}_{{other}}_deg") if t in envelope]
    if len(bands) <= 1:
        return bands[0] if bands else None
    return bands[0].model_copy(update={"min": min(b.min for b in bands), "max": max(b.max for b in bands)})


@dataclass(frozen=True)
class PeopleBand:
    """One taught band and every number behind it (for the file's comments and the summary)."""

    key: str
    centre: float
    low: float
    high: float
    holds: int
    frames: int
    noise_sd: float          # the demonstrator's measured frame-to-frame spread
    noise_deg: float         # the noise margin used (>= the reliability's floor)
    between_deg: float       # between-person margin
    between_from: str        # where the between-person margin came from
    min_reliability: Reliability
    rest_centre: float = math.nan
    estimate: bool = False
    shipped: tuple[float, float] | None = None   # the matched stretch's band this one contains
    tolerance: float = 1.0
    limited: str = ""        # how the safety limits cut the band ("" when they did not)
    stands_in_for: str | None = None   # the matched stretch's band stands in for this key (`Band.stands_in_for`)

    @property
    def measure(self) -> str:
        return self.key.replace("{side}", "left").replace("{other}", "right")

    @property
    def half_width(self) -> float:
        return max(self.centre - self.low, self.high - self.centre)


def people_band(col: Column, stretch: Exercise | None, settings: TeachSettings, tolerance: float,
                rest_centre: float = math.nan, sided: bool = True) -> PeopleBand:
    """`sided`: the taught file's own sides. A sided stretch bands a signed measure (a head tilt) toward
    the working side; taught without sides the values keep their own sign, so that band is turned to
    the demonstrated direction (-30..-10 for a tilt to the right) rather than read as both."""
    centre = float(np.nanmedian(col.held))
    noise = noise_margin(col, settings)
    sd = noise_sd(col.held, col.hold_of)
    shipped = library_band(stretch, col.key)
    name = col.key.replace("{side}", "left").replace("{other}", "right")
    if (shipped is not None and not sided and stretch.sides == "left_right" and SPEC[name].lateral
            and centre < 0):
        shipped = shipped.model_copy(update={"min": -shipped.max, "max": -shipped.min})
    if shipped is not None:
        between = (shipped.max - shipped.min) / 2
        source = f"shipped {stretch.id} band {shipped.min:g}-{shipped.max:g}"
    else:
        between = BETWEEN_PERSON_DEG
        source = "normal ranges of motion (about 2 SD between healthy adults)"
    if shipped is not None:   # the people the shipped band accepts, and the demonstration with its noise
        low, high = min(shipped.min, centre - noise), max(shipped.max, centre + noise)
    else:                     # independent spreads add as variances
        margin = math.hypot(noise, between)
        low, high = centre - margin, centre + margin
    low, high = centre - tolerance * (centre - low), centre + tolerance * (high - centre)
    name = col.key.replace("{side}", "left").replace("{other}", "right")
    lo, hi = value_range(name)
    limited = ""
    if name in SAFETY_LIMITS:   # within the taught file's own safety limits (the matched stretch's, else the
        safety = stretch.safety if stretch is not None else Safety()   # defaults), as validation demands
        above, below = SAFETY_LIMITS[name]
        safe_lo, safe_hi = -getattr(safety, below), getattr(safety, above)
        if math.floor(low) < safe_lo or math.ceil(high) > safe_hi:
            limited = f"kept within the safety limits {safe_lo:g} to {safe_hi:g}"
        lo, hi = max(lo, safe_lo), min(hi, safe_hi)
    low, high = max(lo, math.floor(low)), min(hi, math.ceil(high))
    if low >= high:   # the whole demonstrated band lies past the safety limit: nothing safe to teach
        raise TeachError(f"{name}: the demonstration holds it at {centre:.0f} deg, past the safety limits "
                         f"{lo:g} to {hi:g} ({limited or 'what the measure reads'}); a taught band must lie within them")
    seen = np.isfinite(col.held)
    return PeopleBand(col.key, centre, float(low), float(high), len(np.unique(col.hold_of[seen])), int(seen.sum()),
                      sd, noise, between, source, col.min_reliability, rest_centre,
                      estimate=col.min_reliability == Reliability.LOW,
                      shipped=(shipped.min, shipped.max) if shipped is not None else None, tolerance=tolerance,
                      limited=limited, stands_in_for=shipped.stands_in_for if shipped is not None else None)


def candidate_keys(stretch: Exercise | None, sided: bool) -> list[str]:
    """The envelope keys a band may be taught for: the matched stretch's (with {side} keys only when
    sided; a sided stretch's keys turned to plain left/right ones otherwise), else every taught angle."""
    if stretch is not None:
        keys = []
        for key in stretch.phases[0].envelope:
            if "{" in key and not sided:
                keys += [key.replace("{side}", s).replace("{other}", s) for s in ("left", "right")]
            else:
                keys.append(key)
        return list(dict.fromkeys(keys))
    keys = []
    for name in MEASURE_NAMES:
        if name in NOT_TAUGHT or SPEC[name].unit != "deg" or name == "pelvic_tilt_deg":
            continue
        keys.append(key_of(name, "left") if sided else name)
    return list(dict.fromkeys(keys))


def judgeable_in(key: str, views: Sequence[View], need: Reliability) -> bool:
    name = key.replace("{side}", "left").replace("{other}", "right")
    return any(reliability_at_least(SPEC[name].reliability[v], need) for v in views)


def asymmetric(ctx: Context, holds: Sequence[HeldSpan], keys: Sequence[str],
               settings: TeachSettings) -> tuple[bool, str]:
    """Whether the held position differs between left and right beyond the noise, and why: a paired
    joint whose left and right medians differ by more than the between-side noise (the difference of
    two readings, each off by up to the reliability's floor: sqrt(2) x floor, twice for a margin), or
    a signed left-positive measure whose median is more than two floors from 0."""
    frames = held_frames(holds)
    if not frames:
        return False, "no held frame"
    idx = np.asarray(frames)
    bases = {SPEC[k.replace("{side}", "left").replace("{other}", "right")].base for k in keys}
    for base in sorted(b for b in bases if b):
        left, right = _INDEX[f"{base}_left_deg"], _INDEX[f"{base}_right_deg"]
        ok = (ctx.rank[idx, left] >= 2) & (ctx.rank[idx, right] >= 2) \
            & np.isfinite(ctx.values[idx, left]) & np.isfinite(ctx.values[idx, right])
        if ok.sum() < 3:
            continue
        diff = float(np.median(ctx.values[idx, right][ok] - ctx.values[idx, left][ok]))
        rank = int(np.median(np.minimum(ctx.rank[idx, left], ctx.rank[idx, right])[ok]))
        limit = 2 * math.sqrt(2) * settings.floor(rank)
        if abs(diff) > limit:
            return True, f"{base} left and right differ by {abs(diff):.0f} deg (noise {limit:.0f})"
    for key in keys:
        name = key.replace("{side}", "left").replace("{other}", "right")
        if not SPEC[name].lateral:
            continue
        i = _INDEX[name]
        need = 1 if name == TWIST else 2
        ok = (ctx.rank[idx, i] >= need) & np.isfinite(ctx.values[idx, i])
        if ok.sum() < 3:
            continue
        middle = float(np.median(ctx.values[idx, i][ok]))
        limit = 2 * settings.floor(int(np.median(ctx.rank[idx, i][ok])))
        if abs(middle) > limit:
            return True, f"{name} {middle:.0f} deg from 0 (noise {limit:.0f})"
    return False, "left and right agree within the noise"
