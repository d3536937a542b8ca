"""report.html: the session report a physiotherapist reads on a phone.

`render_report(report, timeline, keyframes)` fills the jinja2 template `coach/templates/report.html.j2`
(autoescape on: every text from the input, the exercise files or the engine is escaped). The page is
self-contained: plots (`coach.report.plots`) are inline PNGs, thumbnails inline JPEGs, the CSS is in
the page; there is no script and no URL to fetch. Sections: summary (holds done against the target
per side, alerts, time in position), alerts, a timeline of holds and alerts, each envelope measure
over time with its target band, key frames, the holds, and what could not be measured and why.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from coach.engine.exercises import Exercise
from coach.engine.routine import worth_listing
from coach.measure.conventions import measure_label
from coach.report.core import Report
from coach.report.keyframes import KeyframePicker
from coach.report.stats import group_holds, holds_tally, same_exercise, status_text, target_text
from coach.report.timeline import TimelineArrays
from coach.usertext import degrees, rule_words, side_words

MAX_MEASURE_PLOTS = 6   # per segment: the envelope measures of an exercise rarely exceed four
_RULE_UNITS = {"twist": "°", "neck_flexion": "°", "neck_extension": "°", "neck_rotation": "°", "neck_lateral": "°",
               "neck_stretch": "°",
               "hand_on_head": " shoulder widths", "partner_hands_on_head": " shoulder widths",
               "ballistic": "°/s", "bouncing": " reversals"}
# What a rule's threshold is to the person: a limit, except for a notice that is said while a stretch
# goes as it should (the neck stretch's "keep it gentle", from 15 deg of tilt, inside its 10-30 deg
# target: "limit 15" read as if the target were past a limit).
_THRESHOLD_WORDS = {"neck_stretch": "said from"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def number(value: float | None, unit: str = "deg") -> str:
    """A value with its unit: 42°, 120°/s, 0.25 shoulder widths; – when unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    if unit in ("deg", "°"):
        return degrees(value)
    if unit == "sw":
        unit = " shoulder widths"
    digits = 2 if abs(value) < 10 and unit.strip() != "reversals" else 0
    return f"{value:.{digits}f}{unit}"


def duration(t_s: float) -> str:
    """A length of time: 8.4 s, or 2 min 05 s."""
    if not math.isfinite(t_s):
        return "–"
    if 0 < t_s < 0.05:   # a frame or two: "0.0 s" read as nothing at all
        return "under 0.1 s"
    if t_s < 60:
        return f"{t_s:.1f} s"
    minutes, seconds = divmod(round(t_s), 60)
    return f"{minutes} min {seconds:02d} s"


def pct(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.0f}%"


def clock(t_s: float) -> str:
    """Seconds as m:ss.s (the time in the input)."""
    if not math.isfinite(t_s):
        return "–"
    minutes, seconds = divmod(max(t_s, 0.0), 60.0)
    return f"{int(minutes)}:{seconds:04.1f}"


@dataclass(frozen=True)
class Card:
    title: str
    value: str
    detail: str
    tone: str   # good | warn | bad | neutral


def _holds_card(report: Report) -> Card:
    """Holds done against the target, over the sides done only (a side not done is said so, not
    counted as 0 of the target: the same numbers `coach compare` prints); one routine exercise coached
    in several segments (gone back to, restarted) is one part, its holds added up (`same_exercise`)."""
    parts, skipped_any = [], False
    done_all, target_all = holds_tally(report.segments)
    groups = same_exercise(report.segments)
    names = [g[0].name for g in groups]
    for group in groups:
        seg = group[0]
        # one exercise in two parts (a routine listing it twice, auto finding it twice): said which
        name = seg.name if names.count(seg.name) == 1 else \
            f"{seg.name} (#{seg.routine_index + 1})" if seg.routine_index is not None else \
            f"{seg.name} (from {clock(seg.start_s)})"
        done_by_side = group_holds(group)
        sides_done = tuple(done_by_side)
        for side, done in done_by_side.items():
            parts.append(f"{name}{'' if side == 'both' else ' ' + side}: {done} of {seg.holds_target}")
        skipped = [side for side in seg.holds_completed if side != "both" and side not in sides_done]
        if sides_done and skipped:
            skipped_any = True
            parts.append(f"{name}: {' and '.join(skipped)} side not done")
        elif not sides_done:
            parts.append(f"{name}: not done")
    tone = "good" if target_all and done_all >= target_all and not skipped_any else "warn" if done_all else "bad"
    longest = max((h.duration_s for h in report.holds), default=0.0)
    target = max((h.target_s for h in report.holds), default=0.0)
    detail = "; ".join(parts) + (f". Longest hold {longest:.1f} s of {target_text(target)} s" if report.holds else
                                 ". No hold was started")
    return Card("Holds done", f"{done_all} of {target_all}", detail, tone)


def _alerts_card(report: Report) -> Card:
    stops = sum(1 for a in report.alerts if a.severity == "stop")
    cautions = len(report.alerts) - stops
    if not report.alerts:
        return Card("Safety", "No alerts", "no safety rule was triggered", "good")
    rules = "; ".join(dict.fromkeys(rule_words(a.rule).lower() for a in report.alerts))
    value = " · ".join(p for p in (f"{stops} stop" if stops else "", f"{cautions} caution{'s' if cautions > 1 else ''}"
                                   if cautions else "") if p)
    return Card("Safety alerts", value, rules, "bad" if stops else "warn")


def _envelope_card(report: Report) -> Card:
    if report.input.kind == "image":
        words = {True: ("In position", "good"), False: ("Not in position", "warn"), None: ("Can't judge", "neutral")}
        value, tone = words[report.in_envelope]
        return Card("This photo", value, "; ".join(report.hints) or "every band checked", tone)
    share = report.time_in_envelope_pct()
    tone = "neutral" if not math.isfinite(share) else "good" if share >= 50 else "warn"
    holding = sum(s.time_holding_pct * s.frames for s in report.segments) / max(1, report.frames)
    return Card("Time in position", pct(share), f"holding still {pct(holding)} of the time", tone)


def _measure_sections(report: Report, tl: TimelineArrays, exercises: dict[str, Exercise]) -> list[dict]:
    from coach.report.plots import measure_plot

    sections = []
    visits = [s.exercise for s in report.segments]
    for index, seg in enumerate(report.segments):
        ex = exercises[seg.exercise]
        # an exercise coached in more than one segment: each section says which one (its time)
        when = f" ({clock(seg.start_s)}–{clock(seg.end_s)})" if visits.count(seg.exercise) > 1 else ""
        keys = list(dict.fromkeys(k for p in ex.phases for k in p.envelope))[:MAX_MEASURE_PLOTS]
        for key in keys:
            rows = [m for m in report.measures if m.segment == index and m.key == key and m.frames]
            unit = rows[0].unit if rows else "deg"
            measured = any(math.isfinite(m.median) for m in rows)
            plot = measure_plot(ex, key, index, tl, measure_label(key), unit) if tl.n > 1 and measured else None
            sections.append({"title": f"{measure_label(key)} – {ex.name}{when}", "plot": b64(plot) if plot else None,
                             "measured": measured, "rows": [_stat_row(m) for m in rows], "segment": seg.name})
    return sections


def _stat_row(m) -> dict:
    who = m.phase if m.side == "both" else f"{m.phase}, {m.side}"
    return {"who": who, "side": m.side, "band": f"{number(m.band_min, m.unit)} to {number(m.band_max, m.unit)}",
            "peak": number(m.peak, m.unit), "median": number(m.median, m.unit),
            "range": f"{number(m.lowest, m.unit)} to {number(m.highest, m.unit)}", "in_band": pct(m.in_band_pct),
            "judged": pct(m.judged_pct), "frames": m.frames}


def _alert_groups(report: Report) -> list[dict]:
    """The alerts grouped by rule, stop rules first: how often, for how long, the worst reading."""
    groups = []
    for rule in dict.fromkeys(a.rule for a in report.alerts):
        spans = [a for a in report.alerts if a.rule == rule]
        above = not (spans[0].value < spans[0].limit)
        worst = (max if above else min)(spans, key=lambda a: a.value if math.isfinite(a.value) else -math.inf)
        unit = _RULE_UNITS.get(rule)
        groups.append({
            "rule": rule, "title": rule_words(rule),
            "severity": "stop" if any(a.severity == "stop" for a in spans) else "caution",
            "count": len(spans), "total": duration(sum(a.end_s - a.start_s for a in spans)),
            "message": spans[0].message,
            # a photo is one moment: what it reads, not the worst of a time that has no length
            "worst": (f"reads {number(worst.value, unit)}" if report.input.kind == "image" else
                      f"worst {number(worst.value, unit)} at {clock(worst.start_s)}")
            + f" ({_THRESHOLD_WORDS.get(rule, 'limit')} {number(worst.limit, unit)})"
            if unit and math.isfinite(worst.value) else "",
            "times": [f"{clock(a.start_s)}–{clock(a.end_s)}{' (still on at the end)' if a.active_at_end else ''}"
                      for a in spans]})
    return sorted(groups, key=lambda g: (g["severity"] != "stop", -g["count"]))


def _keyframes(report: Report, picker: KeyframePicker) -> list[dict]:
    def peak_of(exercise: str, phase: str, measure: str) -> float | None:
        found = [m.peak for m in report.measures if (m.exercise, m.phase, m.measure) == (exercise, phase, measure)]
        return next((p for p in found if math.isfinite(p)), None)

    frames = [picker.last] if picker.last is not None else picker.peaks(peak_of) + picker.alert_frames
    several = _several(report)
    out: list[dict] = []
    for f in frames:
        if f.kind == "peak":
            reading = f"{measure_label(f.measure)} {number(f.value, _unit(f.measure))}"
            # said so: the table's peak is over every frame, a moment's reading included
            held = {"holding": " while holding", "in position": " while in position"}.get(f.tier, "")
            which = f"{f.exercise.name}, {f.phase}" if several else f.phase
            caption = f"Furthest into the stretch{held} ({which}): {reading}"
        elif f.kind == "alert":
            caption = f"First alert: {rule_words(f.measure).lower()}"
        else:
            caption = f"The photo, judged as {f.exercise.name}"
        same = next((o for o in out if o["t_s"] == f.t_s and o["kind"] == f.kind), None)
        if same is not None:   # two alerts raised on one frame: one picture, both captions
            same["caption"] += "; " + caption.removeprefix("First alert: ")
            continue
        out.append({"jpeg": b64(picker.jpeg(f)), "time": clock(f.t_s), "t_s": f.t_s, "caption": caption,
                    "kind": f.kind})
    return out


def _several(report: Report) -> bool:
    """More than one exercise was coached: holds and key frames then say which one."""
    return report.exercise is None and bool(report.segments)


def _unit(measure: str) -> str:
    return "sw" if measure.endswith("_sw") else "deg"


def context(report: Report, tl: TimelineArrays, picker: KeyframePicker, exercises: dict[str, Exercise]) -> dict:
    from coach.report.plots import timeline_plot

    names = ", ".join(dict.fromkeys(s.name for s in report.segments)) or "–"
    return {
        "r": report, "names": names, "clock": clock, "pct": pct, "number": number, "duration": duration,
        "cards": ([_envelope_card(report), _alerts_card(report)] if report.input.kind == "image"
                  else [_holds_card(report), _alerts_card(report), _envelope_card(report)]),
        "alert_groups": _alert_groups(report), "measures": _measure_sections(report, tl, exercises),
        "timeline": b64(timeline_plot(report, tl)) if tl.n > 1 else None,
        "keyframes": _keyframes(report, picker), "skipped_alert_frames": picker.alerts_skipped,
        "image_measures": _image_measures(report), "status_text": status_text, "target_text": target_text,
        "routine": report.routine if worth_listing(report.routine) else (),
        "several": _several(report),
        # an exercise by its name (a hold's, in the holds table), the id when it is not known
        "exercise_name": lambda exercise_id: exercises[exercise_id].name if exercise_id in exercises else exercise_id,
        # a hold's side in the overlay's and the voice's words ("head tilted toward your right shoulder")
        "side_words": lambda exercise_id, side: side_words(exercises[exercise_id], side) if exercise_id in exercises
        else side,
    }


def _image_measures(report: Report) -> list[dict]:
    if report.input.kind != "image":
        return []
    return [dict(_stat_row(m), label=measure_label(m.key)) for m in report.measures if m.frames]


def render_report(report: Report, tl: TimelineArrays, picker: KeyframePicker, exercises: dict[str, Exercise]) -> str:
    """The whole page; `exercises` by id: those the report's segments name."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("coach.report", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(**context(report, tl, picker, exercises))
