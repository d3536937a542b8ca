"""The report's plots: matplotlib (Agg, no display) figures returned as PNG bytes.

- `measure_plot`: one envelope measure over time, the target band of each phase shaded over the
  time that phase was coached, held stretches marked along the bottom.
- `timeline_plot`: one row each for in the envelope, holding, every hold (completed or not) and
  every alert rule, over the whole input.
Long inputs are thinned to at most `MAX_POINTS` points per line; the figures are phone-width.
"""

from __future__ import annotations

import io
import math
import threading

import numpy as np

from coach.engine.envelope import resolve_key, toward_side
from coach.engine.exercises import Exercise
from coach.report.timeline import SIDES, TimelineArrays
from coach.usertext import rule_words

MAX_POINTS = 1500
WIDTH_IN, DPI = 4.8, 160   # about 770 px, shown at phone width (fonts stay legible)
BAND_RGB, LINE_RGB, HOLD_RGB = "#009E73", "#0F2A44", "#009E73"
OUT_RGB, CAUTION_RGB, STOP_RGB, GREY_RGB = "#56B4E9", "#E69F00", "#CC3311", "#9AA0A6"
PHASE_RGB = (BAND_RGB, "#CC79A7", "#0072B2")   # one band colour per phase (Okabe-Ito: colour-blind safe)


_PYPLOT_LOCK = threading.Lock()   # the first import may run in coach.analyze's warm-up thread


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed); safe to call from two threads."""
    with _PYPLOT_LOCK:
        # pyplot first: another thread (mediapipe's vision package imports it) may be importing it
        # now, and `matplotlib.use` would call the half-imported module; the import waits for it.
        import matplotlib
        import matplotlib.pyplot as plt

        matplotlib.use("Agg", force=True)
        # User text (phase and exercise names) is drawn as written: with two `$` in it matplotlib
        # would parse mathtext, and `$\frac{$` would fail the whole report. No plot uses mathtext.
        matplotlib.rcParams["text.parse_math"] = False

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    pyplot().close(fig)
    return buf.getvalue()


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last + 1) index pairs of the True runs in a boolean array."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2]))


def _span_s(t: np.ndarray, a: int, b: int) -> tuple[float, float]:
    """Start and width of frames a..b-1, the last one lasting one frame step."""
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    end = t[b] if b < len(t) else t[-1] + step
    return float(t[a]), float(end - t[a])


def series_for(exercise: Exercise, key: str, rows: np.ndarray, tl: TimelineArrays) -> np.ndarray:
    """The values of envelope `key` over `rows`, each frame read for its own side (toward it)."""
    from coach.measure.conventions import MEASURE_NAMES

    out = np.full(int(rows.sum()), np.nan)
    sides = tl.side[rows]
    for code, side in enumerate(SIDES):
        if (side == "both") != (exercise.sides == "none"):
            continue
        measure = resolve_key(key, None if side == "both" else side)
        pick = sides == code
        column = tl.values[rows, MEASURE_NAMES.index(measure)][pick].astype(float)
        out[pick] = column if side != "right" else [toward_side(measure, v, side) for v in column]
    return out


def measure_plot(exercise: Exercise, key: str, segment: int, tl: TimelineArrays, label: str, unit: str) -> bytes:
    plt = pyplot()
    rows = tl.segment == segment
    t, values = tl.t_s[rows], series_for(exercise, key, rows, tl)
    phases = tl.phase[rows]
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.4))
    for index, phase in enumerate(exercise.phases):
        band = phase.envelope.get(key)
        if band is None:
            continue
        colour = PHASE_RGB[index % len(PHASE_RGB)]
        for n, (a, b) in enumerate(runs(phases == index)):
            x0, width = _span_s(t, a, b)
            ax.fill_between([x0, x0 + width], band.min, band.max, color=colour, alpha=0.2, lw=0,
                            label=f"target: {phase.name}" if n == 0 else None)
    for a, b in runs(tl.holding[rows] == 1):
        x0, width = _span_s(t, a, b)
        ax.axvspan(x0, x0 + width, ymin=0, ymax=0.04, color=HOLD_RGB, lw=0)
    step = max(1, math.ceil(len(t) / MAX_POINTS))
    ax.plot(t[::step], values[::step], color=LINE_RGB, lw=1.4, label=label)
    _style(ax, "degrees" if unit == "deg" else unit)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, frameon=False, ncol=3, borderaxespad=0.2)
    return _png(fig)


def _style(ax, ylabel: str) -> None:
    ax.set_xlabel("time (s)", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7.5)
    ax.grid(alpha=0.25, lw=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def timeline_plot(report, tl: TimelineArrays) -> bytes:
    """Rows: in position (envelope), holding, the holds of each phase and side (completed green,
    unfinished blue), each alert rule (caution amber, stop red)."""
    plt = pyplot()
    rows: dict[str, list[tuple[float, float, str]]] = {
        "in position": [(*_span_s(tl.t_s, a, b), BAND_RGB) for a, b in runs(tl.envelope == 1)],
        "holding": [(*_span_s(tl.t_s, a, b), HOLD_RGB) for a, b in runs(tl.holding == 1)]}
    for hold in report.holds:
        name = f"hold: {hold.phase}{' ' + hold.side if hold.side else ''}"
        rows.setdefault(name, []).append((hold.start_s, max(hold.end_s - hold.start_s, 0.05),
                                          HOLD_RGB if hold.completed else OUT_RGB))
    for alert in report.alerts:
        rows.setdefault(rule_words(alert.rule).lower(), []).append(
            (alert.start_s, max(alert.end_s - alert.start_s, 0.05), STOP_RGB if alert.severity == "stop" else CAUTION_RGB))
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.7 + 0.26 * len(rows)))
    for i, spans in enumerate(rows.values()):
        if spans:
            ax.broken_barh([(x, w) for x, w, _ in spans], (len(rows) - 1 - i - 0.35, 0.7),
                           facecolors=[c for _, _, c in spans])
    ax.set_yticks(range(len(rows)), list(reversed(rows)), fontsize=7.5)
    t0, t1 = (float(tl.t_s[0]), float(tl.t_s[-1])) if tl.n else (0.0, 1.0)
    ax.set_xlim(t0, max(t1, t0 + 1.0))
    _style(ax, "")
    ax.grid(axis="y", alpha=0)
    return _png(fig)
