"""What `coach compare` writes beside the session report: comparison.json, a "Compared with the
demonstration" section in report.html, and the side-by-side frames of compare.mp4.

Readers only: every number comes from `coach.physio.compare.Comparison`, the taught exercise and the
patient's `Report`, gathered once into a `CompareRecord`; the terminal summary, comparison.json and
the report section are each written from that record. Nothing here decides.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import asdict, dataclass

import numpy as np

from coach.io.sources import solid
from coach.measure.conventions import measure_label
from coach.physio.compare import Comparison
from coach.physio.teach import Taught
from coach.pose.core import Pose
from coach.report.core import Report
from coach.usertext import degrees

FORMAT = "coach-compare/1"
SECTION_ANCHOR = '<section id="summary">'
PANEL_RGB = (28, 31, 36)
MAX_PLOTS = 4


def _num(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


@dataclass(frozen=True)
class MeasureRow:
    """One taught measure: how far the patient was from the demonstration (deg; None = not measured)."""

    key: str                 # the envelope key, as in reference.toml
    label: str               # in plain words, as a person reads it
    unit: str
    overall: float | None
    at_holds: float | None
    reference_at_holds: float | None
    patient_at_holds: float | None


@dataclass(frozen=True)
class SideHolds:
    """One side (the person's own; "both" without sides): holds the patient completed against the
    session's target (the report's numbers), and the holds the demonstration showed on it."""

    side: str
    achieved: int
    target: int
    demonstrated: int


_VIEW_WORDS = {"side": "side view", "front": "front view", "oblique": "half-side view", "back": "view from behind",
               "unknown": "view"}


@dataclass(frozen=True)
class LeftOutRow:
    """A measure the comparison left out, and why, in words (`coach.physio.compare.LeftOut`)."""

    key: str
    label: str
    who: str                 # "patient" or "demonstration": whose view could not read it
    view: str
    min_reliability: str
    read_share: float
    reason: str = "view"     # "view" or "side" (`coach.physio.compare.LeftOut`)

    def text(self) -> str:
        """"Head tilt: the patient's side view reads it in 0% of the frames at medium reliability or better"."""
        if self.reason == "side":
            return f"{self.label}: the {self.who}'s working side cannot be told, so it is not read"
        return (f"{self.label}: the {self.who}'s {_VIEW_WORDS.get(self.view, 'view')} reads it in "
                f"{self.read_share:.0%} of the frames at {self.min_reliability} reliability or better")


@dataclass(frozen=True)
class CompareRecord:
    """What `coach compare` found, once: the terminal summary, comparison.json and the report's
    comparison section are all written from this record, so they cannot disagree.

    Sides are the person's own (left/right as the landmarks name them, never the picture's). A side
    is listed when the demonstration showed it or the patient did it (`coach.report.stats.sides_done`);
    `mirrored` is True when the patient did only the other side(s) of those demonstrated, False when
    they did a side demonstrated, None without sides or when it cannot be told."""

    patient: str
    reference: str
    exercise: str
    partial: bool
    deviation_overall_deg: float | None
    deviation_at_holds_deg: float | None
    measures: tuple[MeasureRow, ...]
    holds: tuple[SideHolds, ...]
    hold_target_s: float
    reference_sides: tuple[str, ...]
    patient_sides: tuple[str, ...]
    mirrored: bool | None
    alerts: tuple[dict, ...]
    left_out: tuple[LeftOutRow, ...] = ()   # not judged: a view that cannot read them reliably

    def __post_init__(self):
        for h in self.holds:
            if h.side not in ("left", "right", "both") or min(h.achieved, h.target, h.demonstrated) < 0:
                raise ValueError(f"CompareRecord holds: expected a side left/right/both and counts >= 0, got {h}")

    def as_dict(self) -> dict:
        """comparison.json."""
        return {
            "format": FORMAT, "patient": self.patient, "reference": self.reference, "exercise": self.exercise,
            "partial": self.partial,   # the patient's session was cut short (Ctrl-C, a signal)
            "deviation_overall_deg": self.deviation_overall_deg, "deviation_at_holds_deg": self.deviation_at_holds_deg,
            "measures": [asdict(m) for m in self.measures],
            "holds": {h.side: {"achieved": h.achieved, "target": h.target, "demonstrated": h.demonstrated}
                      for h in self.holds},
            "hold_target_s": self.hold_target_s,
            "sides": {"demonstration": list(self.reference_sides), "patient": list(self.patient_sides),
                      "mirrored": self.mirrored, "text": self.sides_text()},
            "alerts": list(self.alerts),
            "left_out": [{**asdict(m), "text": m.text()} for m in self.left_out],
        }

    def holds_text(self) -> str:
        """"left 4 of 4 (demonstrated 4)"; the same words in the terminal and the report."""
        return "; ".join(f"{'' if h.side == 'both' else h.side + ' '}{h.achieved} of {h.target} "
                         f"(demonstrated {h.demonstrated})" for h in self.holds) or "none"

    def sides_text(self) -> str:
        """Which sides each did, in words ("" without sides)."""
        if not self.reference_sides and not self.patient_sides:
            return ""
        def words(sides):
            return "the " + " and ".join(sides) + (" side" if len(sides) == 1 else " sides") if sides else "no side"
        text = f"the demonstration shows {words(self.reference_sides)}; the patient did {words(self.patient_sides)}"
        if self.mirrored:
            text += " - the mirror of the demonstration, compared side for side"
        return text

    def lines(self, out) -> list[str]:
        """The terminal summary."""
        def deg(v):
            return "-" if v is None else f"{v:.0f} deg"
        lines = [f"compared {self.patient} with {self.reference} -> {out}",
                 f"  off the demonstration: {deg(self.deviation_at_holds_deg)} at its holds, "
                 f"{deg(self.deviation_overall_deg)} overall"]
        lines += [f"  {m.label:28} at holds {deg(m.at_holds):>7}   overall {deg(m.overall):>7}" for m in self.measures]
        lines.append(f"  holds: {self.holds_text()}; {self.hold_target_s:g} s each; alerts: {len(self.alerts)}")
        if self.sides_text():
            lines.append(f"  sides: {self.sides_text()}")
        lines += [f"  left out: {m.text()}" for m in self.left_out]
        return lines


def _sides_of_holds(taught: Taught) -> tuple[str, ...]:
    return tuple(s for s in ("left", "right") if any(h.side == s for h in taught.holds))


def compare_record(comparison: Comparison, taught: Taught, report: Report, patient: str,
                   reference: str) -> CompareRecord:
    """The one record of a comparison, from the alignment, the taught exercise and the patient's Report."""
    sided = taught.exercise.sides == "left_right"
    done: dict[str, int] = {}
    target = taught.exercise.reps_per_side * len(taught.exercise.phases)
    patient_sides: list[str] = []
    for seg in report.segments:
        target = seg.holds_target
        for side in seg.sides_done:
            done[side] = done.get(side, 0) + seg.holds_completed.get(side, 0)
            if side not in patient_sides:
                patient_sides.append(side)
    shown: dict[str, int] = {}
    for h in taught.holds:
        side = (h.side or "both") if sided else "both"
        shown[side] = shown.get(side, 0) + 1
    ref_sides = _sides_of_holds(taught) if sided else ()
    pat_sides = tuple(s for s in ("left", "right") if s in patient_sides) if sided else ()
    order = ("left", "right") if sided else ("both",)
    holds = tuple(SideHolds(s, done.get(s, 0), target, shown.get(s, 0)) for s in order if s in shown or s in done)
    mirrored = None
    if ref_sides and pat_sides:
        opposite = {"left": "right", "right": "left"}
        mirrored = not set(pat_sides) & set(ref_sides) and set(pat_sides) == {opposite[s] for s in ref_sides}
    measures = tuple(MeasureRow(d.key, measure_label(d.key), d.unit, _num(d.overall), _num(d.at_holds),
                                _num(d.reference_at_holds), _num(d.patient_at_holds)) for d in comparison.deviations)
    alerts = tuple({"rule": a.rule, "severity": a.severity, "start_s": a.start_s, "end_s": a.end_s}
                   for a in report.alerts)
    left_out = tuple(LeftOutRow(m.key, measure_label(m.key), m.who, m.view, m.min_reliability, round(m.read_share, 3),
                                m.reason) for m in comparison.left_out)
    return CompareRecord(patient, reference, taught.exercise.id, bool(report.partial), _num(comparison.overall),
                         _num(comparison.at_holds), measures, holds, float(taught.exercise.phases[0].hold_s),
                         ref_sides, pat_sides, mirrored, alerts, left_out)


def _cell(value: float | None, unit: str = "deg") -> str:
    if value is None:
        return "–"
    return degrees(value) if unit == "deg" else f"{value:.2f} {html.escape(unit)}"


def _plot_png(comparison: Comparison) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    keys = [k for k, d in enumerate(comparison.deviations) if math.isfinite(d.overall)][:MAX_PLOTS]
    fig, axes = plt.subplots(max(1, len(keys)), 1, figsize=(6.4, 1.7 * max(1, len(keys))), sharex=True, squeeze=False)
    pi, ri = comparison.path[:, 0], comparison.path[:, 1]
    for ax, k in zip(axes[:, 0], keys):
        ax.plot(comparison.patient_t_s[pi], comparison.reference[ri, k], color="#9AA0A6", label="demonstration")
        ax.plot(comparison.patient_t_s[pi], comparison.patient[pi, k], color="#0F2A44", label="patient")
        ax.set_ylabel(measure_label(comparison.deviations[k].key), fontsize=7)
    axes[0, 0].legend(fontsize=7, loc="best")
    axes[-1, 0].set_xlabel("patient time (s); the demonstration aligned to it")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def section_html(record: CompareRecord, comparison: Comparison) -> str:
    """The comparison as an HTML section (every text escaped; the plot an inline PNG)."""
    rows = "".join(f"<tr><td>{html.escape(m.label)}</td><td class=n>{_cell(m.at_holds, m.unit)}</td>"
                   f"<td class=n>{_cell(m.overall, m.unit)}</td>"
                   f"<td class=n>{_cell(m.reference_at_holds, m.unit)} / {_cell(m.patient_at_holds, m.unit)}"
                   "</td></tr>" for m in record.measures)
    plot = ""
    if len(comparison.path):
        png = base64.b64encode(_plot_png(comparison)).decode("ascii")
        plot = (f'<figure><img class="plot" alt="measures against the aligned demonstration" '
                f'src="data:image/png;base64,{png}"><figcaption>Each measure over the patient\'s time, with the '
                "demonstration aligned to it by dynamic time warping.</figcaption></figure>")
    sides = f'<p id="compare-sides">Sides: {html.escape(record.sides_text())}.</p>' if record.sides_text() else ""
    sides += "".join(f'<p class="compare-left-out">Left out (not judged): {html.escape(m.text())}.</p>'
                     for m in record.left_out)
    return (f'<section id="comparison"><h2>Compared with the demonstration</h2>'
            f'<p>Demonstration: {html.escape(record.reference)}. Average distance from it: '
            f'<b>{_cell(record.deviation_at_holds_deg)}</b> at its holds, <b>{_cell(record.deviation_overall_deg)}</b>'
            f' overall. Holds done ({record.hold_target_s:g} s each): '
            f'<span id="compare-holds">{html.escape(record.holds_text())}</span>. '
            f'Alerts: {len(record.alerts)}.</p>{sides}<div class="scroll"><table><tr><th>measure</th><th>off at holds</th>'
            f"<th>off overall</th><th>at holds: demo / patient</th></tr>{rows}</table></div>{plot}</section>")


def with_section(page: str, section: str) -> str:
    """The report page with the comparison section before its summary (or at the end of <main>)."""
    if SECTION_ANCHOR in page:
        return page.replace(SECTION_ANCHOR, section + SECTION_ANCHOR, 1)
    return page.replace("</main>", section + "</main>", 1)


# --- compare.mp4 -----------------------------------------------------------------------------------

def reference_panel(pose: Pose, height_px: int) -> np.ndarray:
    """The demonstrator's skeleton on a dark canvas `height_px` tall, in the reference frame's aspect."""
    from coach.render.overlay_widgets import draw_skeleton

    w, h = pose.image_size if min(pose.image_size) > 0 else (4, 3)
    width_px = max(2, round(height_px * w / h))
    canvas = solid(height_px, width_px, PANEL_RGB)
    if not pose.is_empty:
        xy = pose.xy * np.array([width_px, height_px], dtype=np.float64)
        draw_skeleton(canvas, xy, pose.seen_mask(), (255, 255, 255), max(2, height_px // 160))
    return canvas


def side_by_side(patient_rgb: np.ndarray, reference_rgb: np.ndarray) -> np.ndarray:
    """Patient (annotated, with the ghost) on the left, the demonstration on the right."""
    return np.ascontiguousarray(np.hstack([patient_rgb, reference_rgb]))


def blank(size_px: tuple[int, int], width_px: int = 640) -> np.ndarray:
    """A dark canvas in the input's aspect ratio, for inputs without pixels (recordings)."""
    w, h = size_px if min(size_px) > 0 else (4, 3)
    return solid(max(2, round(width_px * h / w)), width_px, PANEL_RGB)
