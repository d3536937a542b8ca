"""Benchmark: how well `coach analyze` judges the shared recordings, against their hand-made truth.

    python bench/bench_accuracy.py [--quick] [--no-auto] [--noise] [--landmarks DIR] [--json FILE]

Every recording (../shared/landmarks, or $COACH_SHARED/landmarks) in every variant (original,
tracked/, lite/), as filmed and mirrored (`transforms.mirror`: the truth's sides swap), goes through
the engine exactly as `coach analyze REC --exercise ID` runs it (`coach.session.analyze.new_coach`:
the live engine with causal smoothing, one segment for the whole input) - without writing the
result folder, so the whole table takes a minute or two. `--exercise auto` is scored by the planner
`coach analyze` uses (`coach.engine.autodetect.plan` over each frame's measures). `--quick`: the
original recordings only, not mirrored. No model is needed.

What is scored (truth format: ../shared/landmarks/FORMAT.md; boundaries are +-0.5 s):
- Holds. Truth holds are the `hold` segments (cat-cow: `cat` / `cow`, labelled by phase); touching
  neighbours of one kind (a hold split by a camera cut) are one hold. Detected holds are the runs
  of frames where the engine says `holding` (labelled by phase for a multi-phase exercise), runs
  apart by no more than the engine's grace window joined (a pause it resumed from).
  Matching rule: a detected hold matches a truth hold of the same label when their IoU is >= 0.5,
  with the intersection taken against the truth widened by its 0.5 s boundary uncertainty (so a
  detection differing from the truth only within that uncertainty scores 1); matched one to one,
  best IoU first. Precision = matched / detected, recall = matched / truth, F1 their harmonic mean
  (totals: summed over recordings before dividing).
- Hold time error: (detected - truth) / truth hold time, where detected time is the sum of the
  frame steps (each at most the engine's max_frame_gap_s) of the frames said `holding`.
- False hold time: detected hold time outside every truth hold widened by 0.5 s.
- Side: for matched holds whose truth names a side, the side the engine reads in most of them.
- Neck recall: truth neck intervals with `expect = alert`; one counts when a neck alert is active
  in any frame inside it. Missed ones are listed with the truth's camera view there. "Where the view
  allows it": an interval without a neck alert in which the coach itself could not judge the
  movement the truth names (`kind`: lateral_tilt, flexion, rotation) on any frame - that movement's
  measure NaN, or read below the reliability its neck rules judge (`Rule.needs_high`: high;
  `trust_estimates=False`: medium) - is counted apart as unreadable, not as a miss (printed
  `1/1 (+1 unreadable)`; recall is over the readable ones). The coach's own can't-judge decides,
  never the truth's view label: a view that does read the movement and raises nothing is a miss.
- Wrong-form hold: detected hold time inside the truth's `wrong_form` intervals (a hold there must
  not be timed as a good one; goal 0 s), against the wrong-form time inside truth holds.
- Clean hold: truth hold time less the neck intervals that expect an alert and the wrong-form
  intervals. False alerts: twist or neck alerts raised inside a clean hold, per 5 minutes of clean
  hold in the totals; stop alerts: stop-level alerts raised inside a clean hold.
- Auto: the exercise the plan gives the most of the recording's time is the truth's (right), is
  another (wrong), or the plan says it is not sure (a segment without an exercise, or one marked
  `not_sure`) - counted apart.
- Noise (`--noise`, a metamorphic check, not against the truth): each recording again with
  `transforms.jitter` at the measured levels (bench/noise_levels.py `MEASURED`): per frame, the lite
  model's spread on still holds (white noise of that SD is rougher than lite's slow wander, so the
  check errs toward too much noise), plus a constant per-landmark offset the size of the lite - full
  difference; seed 0. Reported: stop alerts raised (goal 0) and the hold time against the
  recording's own (goal within 15 %).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from noise_levels import MEASURED  # noqa: E402
from transforms import jitter, mirror, mirror_side  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("COACH_SHARED", REPO.parent / "shared"))
VARIANTS = ("original", "tracked", "lite")
HOLD_STATES = ("hold", "cat", "cow")
TRUTH_EDGE_S = 0.5        # the truth's boundaries are +-0.5 s (INDEX.md)
MIN_IOU = 0.5             # a detection covering at least half of the pair's union is the same hold
FIVE_MIN_S = 300.0
NOT_SURE = "not sure"
GOALS = {"f1": "F1 >= 0.90 on every variant", "hold_err": "hold time within +-15 %",
         "neck": "neck recall 100 % where the view allows it", "stop": "0 stop alerts on clean holds",
         "auto": "auto right on every recording and variant",
         "wrong_form": "0 s of hold timed inside a wrong-form interval",
         "noise": "with noise: 0 stop alerts, hold time within 15 %"}


# --- truth ---------------------------------------------------------------------------------------

def truth_of(landmarks_dir: Path, name: str) -> dict:
    return json.loads((landmarks_dir / f"{name}.truth.json").read_text())


def truth_holds(truth: dict, skip: frozenset[float] = frozenset()) -> list[tuple[float, float, str]]:
    """The truth's holds, touching neighbours of the same kind joined (a hold split by a cut);
    segments starting at a time in `skip` left out."""
    out: list[list] = []
    for a, b, state in truth["segments"]:
        if state not in HOLD_STATES or a in skip:
            continue
        if out and out[-1][2] == state and abs(out[-1][1] - a) < 1e-6:
            out[-1][1] = b
        else:
            out.append([a, b, state])
    return [tuple(s) for s in out]


def truth_side(truth: dict, seg: tuple, mirrored: bool) -> str | None:
    if truth["sides"] == "n/a":
        return None
    sides = [s for a, b, s in truth["sides"] if a < seg[1] and b > seg[0]]
    side = Counter(sides).most_common(1)[0][0] if sides else None
    return mirror_side(side) if mirrored else side


def truth_view_at(truth: dict, t_s: float) -> str:
    return next((v for a, b, v in truth["view"] if a <= t_s < b), "?").strip(",")


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [tuple(s) for s in out]


def _inside(t_s: float, spans) -> bool:
    return any(a <= t_s <= b for a, b in spans)


def clean_spans(truth: dict) -> list[tuple[float, float]]:
    """Truth hold time less the neck intervals that expect an alert and the wrong-form intervals."""
    dirty = [(a, b) for a, b, _, expect in truth["neck"] if expect == "alert"]
    dirty += [(w[0], w[1]) for w in truth.get("wrong_form", [])]
    spans = [(a, b) for a, b, _ in truth_holds(truth)]
    for da, db in _merge(dirty):
        cut = []
        for a, b in spans:
            if db <= a or da >= b:
                cut.append((a, b))
                continue
            if a < da:
                cut.append((a, da))
            if db < b:
                cut.append((db, b))
        spans = cut
    return spans


# --- running the engine as `coach analyze` does -------------------------------------------------

def load(landmarks_dir: Path, variant: str, name: str) -> list:
    from coach.pose.recording import Recording

    folder = landmarks_dir if variant == "original" else landmarks_dir / variant
    return list(Recording(folder / f"{name}.jsonl.gz", on_warning=lambda message: None).frames())


def run_fixed(frames: list, exercise_id: str) -> list:
    """The verdicts of `coach analyze --exercise ID` on a recording (one segment, live engine)."""
    from coach.engine.exercises import get_exercise
    from coach.session.analyze import new_coach

    coach = new_coach(get_exercise(exercise_id), "recording")
    return [coach.update(f.pose, f.t_s, others=f.others) for f in frames]


def auto_name(frames: list, exercises: list) -> tuple[str, int]:
    """(the exercise `--exercise auto` gives most of the time, or NOT_SURE; number of segments)."""
    from coach.engine.autodetect import Features, plan
    from coach.measure.measures import compute_measures

    features = Features()
    for f in frames:
        features.add(f.t_s, compute_measures(f.pose, f.others))
    plan_ = plan(features, exercises)
    t0, t1 = frames[0].t_s, frames[-1].t_s
    share: Counter = Counter()
    for seg in plan_.segments:
        unsure = getattr(seg, "exercise", None) is None or bool(getattr(seg, "not_sure", False))
        key = NOT_SURE if unsure else seg.exercise.id
        share[key] += max(0.0, min(seg.end_s, t1) - max(seg.start_s, t0))
    return share.most_common(1)[0][0], len(plan_.segments)


# --- scoring -------------------------------------------------------------------------------------

def detected_holds(verdicts: list, multi_phase: bool, merge_s: float) -> list[list]:
    """[start_s, end_s, label, [sides]] runs of `holding` frames, runs apart <= merge_s joined."""
    out: list[list] = []
    for v in verdicts:
        if not v.holding:
            continue
        label = v.phase if multi_phase else "hold"
        if out and out[-1][2] == label and v.t_s - out[-1][1] <= merge_s + 1e-6:
            out[-1][1] = v.t_s
            out[-1][3].append(v.side)
        else:
            out.append([v.t_s, v.t_s, label, [v.side]])
    return out


def tolerant_iou(det: tuple, truth: tuple, edge_s: float = TRUTH_EDGE_S) -> float:
    inter = max(0.0, min(det[1], truth[1] + edge_s) - max(det[0], truth[0] - edge_s))
    union = max(det[1], truth[1]) - min(det[0], truth[0])
    return min(1.0, inter / union) if union > 0 else 0.0


def match(truths: list, dets: list) -> list[tuple[int, int, float]]:
    """One-to-one (truth index, detected index, IoU) pairs with IoU >= MIN_IOU, best first."""
    pairs = sorted(((tolerant_iou(d, t), i, j) for i, t in enumerate(truths) for j, d in enumerate(dets)
                    if d[2] == t[2]), reverse=True)
    used_t, used_d, out = set(), set(), []
    for iou, i, j in pairs:
        if iou >= MIN_IOU and i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
            out.append((i, j, iou))
    return out


@dataclass
class Score:
    variant: str
    mirrored: bool
    name: str
    truth_n: int = 0
    detected_n: int = 0
    matched_n: int = 0
    truth_hold_s: float = 0.0
    detected_hold_s: float = 0.0
    false_hold_s: float = 0.0
    sides_ok: int = 0
    sides_n: int = 0
    neck_hit: int = 0
    neck_n: int = 0
    neck_missed: list = field(default_factory=list)
    neck_unreadable: int = 0           # intervals the coach could not judge at all (not in neck_n)
    holds_cant_judge: int = 0          # missed truth holds the coach said it can't judge through (see score)
    clean_s: float = 0.0
    false_alerts: int = 0
    stop_alerts: int = 0
    auto: str = ""
    auto_segments: int = 0
    wrong_form_s: float = 0.0          # truth wrong-form time inside truth holds
    wrong_form_hold_s: float = 0.0     # detected hold time inside the truth's wrong-form intervals
    noisy_hold_s: float = math.nan
    noisy_stops: int = -1
    plain_stops: int = -1

    @property
    def f1(self) -> float:
        return f1(self.matched_n, self.truth_n, self.detected_n)

    @property
    def hold_err(self) -> float:
        return (self.detected_hold_s - self.truth_hold_s) / self.truth_hold_s if self.truth_hold_s else math.nan


def f1(matched: int, truth: int, detected: int) -> float:
    if truth == 0 and detected == 0:
        return 1.0
    return 2.0 * matched / (truth + detected)


# The measure each kind of truth neck interval names (FORMAT.md `neck` kinds); a kind not here is
# always judged (e.g. a hand at the head: its distances are read from any view).
NECK_KIND_MEASURE = {"lateral_tilt": "neck_lateral_deg", "flexion": "neck_flexion_deg",
                     "extension": "neck_flexion_deg", "rotation": "neck_rotation_deg"}


def neck_readable(v, measure: str) -> bool:
    """True when the coach judges `measure` in verdict `v` by one of its neck rules: the value is
    measured at the reliability the rule needs (high for `needs_high`, medium when it does not trust
    estimates) - the rule table's own can't-judge, read from the verdict."""
    from coach.engine.exercises import reliability_at_least
    from coach.engine.safety import NECK_RULE_IDS, RULES
    from coach.measure.conventions import Reliability

    try:
        m = v.measure(measure)
    except KeyError:
        return False
    if not (v.pose_seen and m.valid):
        return False
    for rule in RULES:
        if rule.id not in NECK_RULE_IDS or rule.measure != measure:
            continue
        need = Reliability.HIGH if rule.needs_high else Reliability.LOW if rule.trust_estimates else Reliability.MEDIUM
        if reliability_at_least(m.reliability, need):
            return True
    return False


def score(truth: dict, verdicts: list, exercise, max_frame_gap_s: float, grace_s: float, *, variant: str,
          mirrored: bool, name: str) -> Score:
    from coach.engine.safety import FRAMING_RULE_IDS, NECK_RULE_IDS, TWIST_RULE_IDS
    from coach.engine.verdict import EventKind

    s = Score(variant, mirrored, name)
    truths = truth_holds(truth)
    dets = detected_holds(verdicts, len(exercise.phases) > 1, grace_s)
    pairs = match(truths, dets)
    s.truth_n, s.detected_n, s.matched_n = len(truths), len(dets), len(pairs)
    s.truth_hold_s = sum(b - a for a, b, _ in truths)
    widened = _merge([(a - TRUTH_EDGE_S, b + TRUTH_EDGE_S) for a, b, _ in truths])
    wrong = _merge([(w[0], w[1]) for w in truth.get("wrong_form", [])])
    s.wrong_form_s = sum(max(0.0, min(b, tb) - max(a, ta)) for a, b in wrong for ta, tb, _ in truths)
    for v, nxt in zip(verdicts, verdicts[1:]):
        if v.holding:
            step = min(nxt.t_s - v.t_s, max_frame_gap_s)
            s.detected_hold_s += step
            if not _inside(v.t_s, widened):
                s.false_hold_s += step
            if _inside(v.t_s, wrong):
                s.wrong_form_hold_s += step
    # A missed truth hold the coach said it could not judge in for most of its frames (a majority: it
    # could not read the stretch, rather than read it wrongly) - a "can't judge" note, or a framing
    # alert saying what the camera can't see (wrong view, a body part out of sight, nobody) - is
    # counted apart; it is still a miss in F1.
    matched_truths = {i for i, _, _ in pairs}
    for i, (a, b, _) in enumerate(truths):
        inside = [v for v in verdicts if a <= v.t_s <= b]
        said = sum(bool(v.cant_judge) or not set(v.alert_ids).isdisjoint(FRAMING_RULE_IDS) for v in inside)
        if i not in matched_truths and inside and said > len(inside) / 2:
            s.holds_cant_judge += 1
    for i, j, _ in pairs:
        want = truth_side(truth, truths[i], mirrored)
        if want is not None:
            got = Counter(dets[j][3]).most_common(1)[0][0]
            s.sides_n += 1
            s.sides_ok += got == want
    for a, b, kind, expect in truth["neck"]:
        if expect != "alert":
            continue
        inside = [v for v in verdicts if a <= v.t_s <= b]
        measure = NECK_KIND_MEASURE.get(kind)
        if any(set(v.alert_ids) & set(NECK_RULE_IDS) for v in inside):
            s.neck_n += 1
            s.neck_hit += 1
        elif measure is not None and not any(neck_readable(v, measure) for v in inside):
            s.neck_unreadable += 1
        else:
            s.neck_n += 1
            s.neck_missed.append(f"{a:g}-{b:g} {kind} ({truth_view_at(truth, a)})")
    clean = clean_spans(truth)
    s.clean_s = sum(b - a for a, b in clean)
    for v in verdicts:
        for e in v.events:
            if e.kind != EventKind.ALERT_RAISED or not _inside(e.t_s, clean):
                continue
            if e.details.get("rule") in NECK_RULE_IDS + TWIST_RULE_IDS:
                s.false_alerts += 1
            if e.details.get("severity") == "stop":
                s.stop_alerts += 1
    return s


def noisy(frames: list, seed: int = 0) -> list:
    """The frames with the measured lite-model noise added (see the module doc)."""
    return jitter(frames, image_sd=MEASURED["lite_spread_body"], world_sd_m=MEASURED["lite_spread_world_m"],
                  image_offset=MEASURED["lite_full_offset_body"], world_offset_m=MEASURED["lite_full_offset_world_m"],
                  seed=seed)


def hold_time_s(verdicts: list, max_frame_gap_s: float) -> float:
    return sum(min(b.t_s - a.t_s, max_frame_gap_s) for a, b in zip(verdicts, verdicts[1:]) if a.holding)


def stops_raised(verdicts: list) -> int:
    from coach.engine.verdict import EventKind

    return sum(e.kind == EventKind.ALERT_RAISED and e.details.get("severity") == "stop"
               for v in verdicts for e in v.events)


def bench_one(landmarks_dir: Path, variant: str, name: str, mirrored: bool, exercises: list | None,
              noise: bool = False) -> Score:
    from coach.engine.core import EngineSettings
    from coach.engine.exercises import get_exercise

    truth = truth_of(landmarks_dir, name)
    frames = load(landmarks_dir, variant, name)
    if mirrored:
        frames = mirror(frames)
    exercise = get_exercise(truth["stretch"])
    settings = EngineSettings()
    verdicts = run_fixed(frames, exercise.id)
    s = score(truth, verdicts, exercise, settings.max_frame_gap_s, settings.grace_s,
              variant=variant, mirrored=mirrored, name=name)
    if noise:
        s.plain_stops = stops_raised(verdicts)
        rough = run_fixed(noisy(frames), exercise.id)
        s.noisy_hold_s, s.noisy_stops = hold_time_s(rough, settings.max_frame_gap_s), stops_raised(rough)
    if exercises is not None:
        named, s.auto_segments = auto_name(frames, exercises)
        s.auto = "right" if named == exercise.id else NOT_SURE if named == NOT_SURE else f"wrong: {named}"
    return s


# --- the table -----------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return "  n/a" if math.isnan(x) else f"{100 * x:+5.0f}%"


def row_text(s: Score) -> str:
    neck = f"{s.neck_hit}/{s.neck_n}" if s.neck_n else "-"
    unreadable = f" (+{s.neck_unreadable} unreadable)" if s.neck_unreadable else ""
    side = f"{s.sides_ok}/{s.sides_n}" if s.sides_n else "-"
    missed = f"  missed {'; '.join(s.neck_missed)}" if s.neck_missed else ""
    if s.holds_cant_judge:
        missed += f"  {s.holds_cant_judge} missed hold(s): can't judge"
    if s.noisy_stops >= 0:
        change = (s.noisy_hold_s - s.detected_hold_s) / s.detected_hold_s if s.detected_hold_s else math.nan
        missed += f"  noise: hold {s.noisy_hold_s:.1f} s ({_pct(change).strip()}), {s.noisy_stops} stop ({s.plain_stops} without)"
    return (f"{s.variant:8} {'yes' if s.mirrored else 'no':3} {s.name:24} {s.truth_n:2d} {s.detected_n:3d} "
            f"{s.matched_n:3d} {s.f1:5.2f} {s.truth_hold_s:6.1f} {s.detected_hold_s:6.1f} {_pct(s.hold_err)} "
            f"{s.false_hold_s:6.1f} {side:>5} {neck:>5} {s.clean_s:6.1f} {s.false_alerts:4d} {s.stop_alerts:4d}  "
            f"{s.auto}{unreadable}{missed}")


HEADER = (f"{'variant':8} {'mir':3} {'recording':24} {'T':>2} {'det':>3} {'ok':>3} {'F1':>5} {'true s':>6} "
          f"{'det s':>6} {'err':>6} {'false':>6} {'side':>5} {'neck':>5} {'clean':>6} {'t/n!':>4} {'stop':>4}  auto")


def totals(scores: list[Score]) -> dict:
    t = lambda attr: sum(getattr(s, attr) for s in scores)  # noqa: E731
    truth_s, clean_s = t("truth_hold_s"), t("clean_s")
    autos = Counter("wrong" if s.auto.startswith("wrong") else s.auto for s in scores if s.auto)
    return {"recordings": len(scores), "f1": f1(t("matched_n"), t("truth_n"), t("detected_n")),
            "min_f1": min(s.f1 for s in scores),
            "holds_missed": t("truth_n") - t("matched_n"), "holds_cant_judge": t("holds_cant_judge"),
            "hold_err": (t("detected_hold_s") - truth_s) / truth_s if truth_s else math.nan,
            "worst_hold_err": max((abs(s.hold_err) for s in scores if not math.isnan(s.hold_err)), default=math.nan),
            "false_hold_s": t("false_hold_s"), "sides": f"{t('sides_ok')}/{t('sides_n')}",
            "neck": t("neck_hit") / t("neck_n") if t("neck_n") else math.nan, "neck_n": f"{t('neck_hit')}/{t('neck_n')}", "neck_unreadable": t("neck_unreadable"),
            "false_alerts_per_5min": t("false_alerts") * FIVE_MIN_S / clean_s if clean_s else math.nan,
            "clean_s": clean_s, "stop_alerts": t("stop_alerts"),
            "wrong_form_s": t("wrong_form_s"), "wrong_form_hold_s": t("wrong_form_hold_s"),
            "auto": {k: autos.get(k, 0) for k in ("right", "wrong", NOT_SURE)},
            "noise_stops": sum(s.noisy_stops for s in scores if s.noisy_stops >= 0),
            "plain_stops": sum(s.plain_stops for s in scores if s.plain_stops >= 0),
            "noise_hold_off": sum(s.noisy_stops >= 0 and s.detected_hold_s > 0
                                  and abs(s.noisy_hold_s - s.detected_hold_s) > 0.15 * s.detected_hold_s for s in scores),
            "noise_runs": sum(s.noisy_stops >= 0 for s in scores)}


def totals_text(label: str, tot: dict) -> str:
    auto = tot["auto"]
    auto_txt = f"auto right {auto['right']} / wrong {auto['wrong']} / not sure {auto[NOT_SURE]}" if sum(auto.values()) \
        else "auto not run"
    unreadable = f" (+{tot['neck_unreadable']} unreadable)" if tot.get("neck_unreadable") else ""
    cant = (f"  missed {tot['holds_missed']} holds ({tot['holds_cant_judge']} saying can't judge)"
            if "holds_missed" in tot else "")
    return (f"{label:18} F1 {tot['f1']:.2f} (lowest {tot['min_f1']:.2f}){cant}  hold time {_pct(tot['hold_err'])} "
            f"(worst {100 * tot['worst_hold_err']:.0f}%)  false hold {tot['false_hold_s']:.1f} s  side {tot['sides']}  "
            f"neck {tot['neck_n']}{unreadable}  false twist/neck {tot['false_alerts_per_5min']:.1f} per 5 min "
            f"(of {tot['clean_s']:.0f} s clean)  stop {tot['stop_alerts']}  "
            f"wrong-form hold {tot['wrong_form_hold_s']:.1f} of {tot['wrong_form_s']:.1f} s  {auto_txt}"
            + (f"  noise: {tot['noise_stops']} stop ({tot['plain_stops']} without), hold time off by > 15 % in {tot['noise_hold_off']} of "
               f"{tot['noise_runs']}" if tot["noise_runs"] else ""))


def names(landmarks_dir: Path) -> list[str]:
    return sorted(p.name.removesuffix(".truth.json") for p in landmarks_dir.glob("*.truth.json"))


def run_all(landmarks_dir: Path, *, quick: bool = False, auto: bool = True, noise: bool = False,
            out=print) -> list[Score]:
    from coach.engine.exercises import load_library

    exercises = list(load_library([]).values()) if auto else None
    variants = ("original",) if quick else VARIANTS
    mirrors = (False,) if quick else (False, True)
    scores = []
    out(HEADER)
    for variant in variants:
        if variant != "original" and not (landmarks_dir / variant).is_dir():
            out(f"{variant}: no {landmarks_dir / variant}, left out")
            continue
        for mirrored in mirrors:
            for name in names(landmarks_dir):
                scores.append(bench_one(landmarks_dir, variant, name, mirrored, exercises, noise and not mirrored))
                out(row_text(scores[-1]))
    return scores


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="original recordings only, not mirrored")
    ap.add_argument("--no-auto", action="store_true", help="leave out the --exercise auto check")
    ap.add_argument("--noise", action="store_true", help="also run each recording with the measured lite noise")
    ap.add_argument("--landmarks", type=Path, default=SHARED / "landmarks")
    ap.add_argument("--json", type=Path, help="also write every row and the totals to this file")
    args = ap.parse_args(argv)
    if not args.landmarks.is_dir():
        raise SystemExit(f"no recordings at {args.landmarks}: set COACH_SHARED or --landmarks")
    start = time.perf_counter()
    scores = run_all(args.landmarks, quick=args.quick, auto=not args.no_auto, noise=args.noise)
    print("\ncolumns: T truth holds, det detected, ok matched (IoU >= 0.5, truth +-0.5 s), err hold time error, "
          "false = hold s outside the truth, t/n! twist/neck alerts in clean holds, stop = stop alerts there")
    print("\ntotals")
    groups: dict[str, list[Score]] = {}
    for s in scores:
        groups.setdefault(f"{s.variant}{' mirrored' if s.mirrored else ''}", []).append(s)
    result = {"rows": [asdict(s) | {"f1": s.f1, "hold_err": s.hold_err} for s in scores], "totals": {}}
    for label, group in [*groups.items(), ("all", scores)]:
        result["totals"][label] = totals(group)
        print(totals_text(label, result["totals"][label]))
    print("\ngoals (issue 13): " + "; ".join(GOALS.values()))
    return finish(result, args.json, start)


def finish(result: dict, json_path: Path | None, start: float) -> int:
    """The run's time on stdout, `result` written to `json_path` (when asked for); the exit status."""
    print(f"({time.perf_counter() - start:.0f} s)")
    if json_path:
        json_path.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
