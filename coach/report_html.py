"""report.html: the session report a physiotherapist reads on a phone.

`render_report(report, timeline, keyframes)` fills the jinja2 template `coach/templates/report.html.j2`
(autoescape on: every text from the input, the exercise files or the engine is escaped). The page is
self-contained: plots (`coach.report_plots`) are inline PNGs, thumbnails inline JPEGs, the CSS is in
the page; there is no script and no URL to fetch. Sections: summary (holds done against the target
per side, alerts, time in position), alerts, a timeline of holds and alerts, each envelope measure
over time with its target band, key frames, the holds, and what could not be measured and why.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from coach.exercises import Exercise, get_exercise
from coach.keyframes import Keyframe, KeyframePicker
from coach.report import Report
from coach.timeline import TimelineArrays

MAX_MEASURE_PLOTS = 6   # per segment: the envelope measures of an exercise rarely exceed four
_RULE_UNITS = {"twist": "°", "neck_flexion": "°", "neck_extension": "°", "neck_rotation": "°", "neck_lateral": "°",
               "hand_on_head": " shoulder widths", "partner_hands_on_head": " shoulder widths",
               "ballistic": "°/s", "bouncing": " reversals"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def number(value: float | None, unit: str = "deg") -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.0f}°" if unit in ("deg", "°") else f"{value:.2f} {unit}".rstrip()


def pct(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.0f}%"


def clock(t_s: float) -> str:
    """Seconds as m:ss.s (the time in the input)."""
    if not math.isfinite(t_s):
        return "–"
    minutes, seconds = divmod(max(t_s, 0.0), 60.0)
    return f"{int(minutes)}:{seconds:04.1f}"


def _label(name: str) -> str:
    from coach.overlay import measure_label

    return measure_label(name)


@dataclass(frozen=True)
class Card:
    title: str
    value: str
    detail: str
    tone: str   # good | warn | bad | neutral


def _holds_card(report: Report) -> Card:
    parts, done_all, target_all = [], 0, 0
    for seg in report.segments:
        for side, done in seg.holds_completed.items():
            done_all, target_all = done_all + done, target_all + seg.holds_target
            parts.append(f"{seg.name}{'' if side == 'both' else ' ' + side}: {done} of {seg.holds_target}")
    tone = "good" if target_all and done_all >= target_all else "warn" if done_all else "bad"
    return Card("Holds done", f"{done_all} of {target_all}", "; ".join(parts), tone)


def _alerts_card(report: Report) -> Card:
    stops = sum(1 for a in report.alerts if a.severity == "stop")
    cautions = len(report.alerts) - stops
    if not report.alerts:
        return Card("Safety", "No alerts", "no safety rule was triggered", "good")
    rules = ", ".join(dict.fromkeys(a.rule.replace("_", " ") for a in report.alerts))
    value = " · ".join(p for p in (f"{stops} stop" if stops else "", f"{cautions} caution" if cautions else "") if p)
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


def _exercise(exercise_id: str, cache: dict[str, Exercise]) -> Exercise:
    if exercise_id not in cache:
        cache[exercise_id] = get_exercise(exercise_id)
    return cache[exercise_id]


def _measure_sections(report: Report, tl: TimelineArrays, exercises: dict[str, Exercise]) -> list[dict]:
    from coach.report_plots import measure_plot

    sections = []
    for index, seg in enumerate(report.segments):
        ex = _exercise(seg.exercise, exercises)
        keys = list(dict.fromkeys(k for p in ex.phases for k in p.envelope))[:MAX_MEASURE_PLOTS]
        for key in keys:
            rows = [m for m in report.measures if m.exercise == ex.id and m.key == key
                    and seg.start_s <= seg.end_s]
            unit = rows[0].unit if rows else "deg"
            plot = measure_plot(ex, key, index, tl, _label(key), unit) if tl.n > 1 else None
            sections.append({"title": f"{_label(key)} – {ex.name}", "plot": b64(plot) if plot else None,
                             "rows": [_stat_row(m) for m in rows], "segment": seg.name})
    return sections


def _stat_row(m) -> dict:
    return {"phase": m.phase, "side": m.side, "band": f"{number(m.band_min, m.unit)} to {number(m.band_max, m.unit)}",
            "peak": number(m.peak, m.unit), "median": number(m.median, m.unit),
            "range": f"{number(m.lowest, m.unit)} to {number(m.highest, m.unit)}", "in_band": pct(m.in_band_pct),
            "judged": pct(m.judged_pct), "frames": m.frames}


def _alert_rows(report: Report) -> list[dict]:
    rows = []
    for a in report.alerts:
        unit = _RULE_UNITS.get(a.rule)
        measured = f"{number(a.value, unit)} (limit {number(a.limit, unit)})" if unit else ""
        rows.append({"when": f"{clock(a.start_s)}–{clock(a.end_s)}", "severity": a.severity, "rule": a.rule,
                     "message": a.message, "measured": measured, "ongoing": a.active_at_end})
    return rows


def _keyframes(report: Report, picker: KeyframePicker) -> list[dict]:
    def peak_of(exercise: str, phase: str, measure: str) -> float | None:
        found = [m.peak for m in report.measures if (m.exercise, m.phase, m.measure) == (exercise, phase, measure)]
        return next((p for p in found if math.isfinite(p)), None)

    frames: list[Keyframe] = []
    if picker.last is not None:
        frames.append(picker.last)
    else:
        frames += picker.peaks(peak_of) + picker.alert_frames
    out = []
    for f in sorted(frames, key=lambda k: k.t_s):
        caption = f.caption or f"Peak of the stretch: {_label(f.measure)} {number(f.value, _unit(f.measure))}"
        out.append({"jpeg": b64(f.jpeg), "time": clock(f.t_s), "caption": caption, "kind": f.kind,
                    "phase": f.phase})
    return out


def _unit(measure: str) -> str:
    return "sw" if measure.endswith("_sw") else "deg"


def context(report: Report, tl: TimelineArrays, picker: KeyframePicker) -> dict:
    from coach.report_plots import timeline_plot

    exercises: dict[str, Exercise] = {}
    names = ", ".join(dict.fromkeys(s.name for s in report.segments)) or "–"
    return {
        "r": report, "names": names, "clock": clock, "pct": pct, "number": number,
        "cards": [_holds_card(report), _alerts_card(report), _envelope_card(report)],
        "alerts": _alert_rows(report), "measures": _measure_sections(report, tl, exercises),
        "timeline": b64(timeline_plot(report, tl)) if tl.n > 1 else None,
        "keyframes": _keyframes(report, picker), "skipped_alert_frames": picker.alerts_skipped,
        "image_measures": _image_measures(report),
    }


def _image_measures(report: Report) -> list[dict]:
    if report.input.kind != "image":
        return []
    return [dict(_stat_row(m), label=_label(m.key)) for m in report.measures if m.frames]


def render_report(report: Report, tl: TimelineArrays, picker: KeyframePicker) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("coach", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(**context(report, tl, picker))
