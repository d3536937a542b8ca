"""What `coach compare` writes beside the session report: comparison.json, a "Compared with the
demonstration" section in report.html, and the side-by-side frames of compare.mp4.

Readers only: every number comes from `coach.physio.compare.Comparison`, the taught exercise and the
patient's `Report`; nothing here decides.
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np

from coach.io.sources import solid
from coach.physio.compare import Comparison
from coach.physio.teach import Taught
from coach.pose.core import Pose
from coach.report.core import Report

FORMAT = "coach-compare/1"
SECTION_ANCHOR = '<section id="summary">'
PANEL_RGB = (28, 31, 36)
MAX_PLOTS = 4


def demonstrated_holds(taught: Taught) -> dict[str, int]:
    """Holds shown in the demonstration, per side ("both" without sides)."""
    out: dict[str, int] = {}
    for h in taught.holds:
        out[h.side or "both"] = out.get(h.side or "both", 0) + 1
    return out


def achieved_holds(report: Report) -> dict[str, int]:
    out: dict[str, int] = {}
    for seg in report.segments:
        for side, n in seg.holds_completed.items():
            out[side] = out.get(side, 0) + n
    return out


def _num(value: float) -> float | None:
    return round(float(value), 2) if math.isfinite(value) else None


def comparison_dict(comparison: Comparison, taught: Taught, report: Report, patient: str, reference: str) -> dict:
    """comparison.json: deviations per measure (deg), holds achieved against demonstrated, alerts."""
    shown, done = demonstrated_holds(taught), achieved_holds(report)
    return {
        "format": FORMAT, "patient": patient, "reference": reference, "exercise": taught.exercise.id,
        "partial": bool(report.partial),   # the patient's session was cut short (Ctrl-C, a signal)
        "deviation_overall_deg": _num(comparison.overall), "deviation_at_holds_deg": _num(comparison.at_holds),
        "measures": [{"key": d.key, "unit": d.unit, "overall": _num(d.overall), "at_holds": _num(d.at_holds),
                      "reference_at_holds": _num(d.reference_at_holds), "patient_at_holds": _num(d.patient_at_holds)}
                     for d in comparison.deviations],
        "holds": {side: {"achieved": done.get(side, 0), "demonstrated": n} for side, n in shown.items()},
        "hold_target_s": taught.exercise.phases[0].hold_s,
        "alerts": [{"rule": a.rule, "severity": a.severity, "start_s": a.start_s, "end_s": a.end_s}
                   for a in report.alerts],
    }


def _cell(value: float | None, unit: str = "deg") -> str:
    if value is None:
        return "–"
    return f"{value:.0f}°" if unit == "deg" else f"{value:.2f} {html.escape(unit)}"


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
        ax.set_ylabel(comparison.deviations[k].key.replace("_deg", ""), fontsize=7)
    axes[0, 0].legend(fontsize=7, loc="best")
    axes[-1, 0].set_xlabel("patient time (s); the demonstration aligned to it")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def section_html(data: dict, comparison: Comparison) -> str:
    """The comparison as an HTML section (every text escaped; the plot an inline PNG)."""
    rows = "".join(f"<tr><td>{html.escape(m['key'])}</td><td class=n>{_cell(m['at_holds'], m['unit'])}</td>"
                   f"<td class=n>{_cell(m['overall'], m['unit'])}</td>"
                   f"<td class=n>{_cell(m['reference_at_holds'], m['unit'])} / {_cell(m['patient_at_holds'], m['unit'])}"
                   "</td></tr>" for m in data["measures"])
    holds = "; ".join(f"{html.escape(side)}: {h['achieved']} of {h['demonstrated']}" for side, h in data["holds"].items())
    plot = ""
    if len(comparison.path):
        png = base64.b64encode(_plot_png(comparison)).decode("ascii")
        plot = (f'<figure><img class="plot" alt="measures against the aligned demonstration" '
                f'src="data:image/png;base64,{png}"><figcaption>Each measure over the patient\'s time, with the '
                "demonstration aligned to it by dynamic time warping.</figcaption></figure>")
    return (f'<section id="comparison"><h2>Compared with the demonstration</h2>'
            f'<p>Demonstration: {html.escape(data["reference"])}. Average distance from it: '
            f'<b>{_cell(data["deviation_at_holds_deg"])}</b> at its holds, <b>{_cell(data["deviation_overall_deg"])}</b>'
            f' overall. Holds done against those demonstrated ({data["hold_target_s"]:g} s each): {holds}. '
            f'Alerts: {len(data["alerts"])}.</p><div class="scroll"><table><tr><th>measure</th><th>off at holds</th>'
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
