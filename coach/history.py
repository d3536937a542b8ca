"""Session history: every analysed, live and compared session in a local SQLite database.

    record_session(report, kind="analyze")          # after `coach analyze` / `coach live` / `coach compare`
    with History() as history:                      # $COACH_DB, else <user data dir>/coach/history.sqlite
        rows = history.sessions(exercise="bridge")

One row per exercise of a session (a `--exercise auto` analysis that found two stretches stores two):
kind (analyze | live | compare), exercise id, start time (local, ISO 8601 with its offset), duration,
holds completed per side, the peak of each envelope measure per side (the range of motion reached),
the number of safety alerts, and the input it came from.

The schema is versioned with `PRAGMA user_version` and migrated in order by `MIGRATIONS` when a database
is opened: the file is created on first use and an old one is upgraded in place, keeping its rows.
Overuse: more than `MAX_SESSIONS_PER_DAY` sessions of one exercise on one day gives a warning.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from coach.atomic import ensure_dir
from coach.errors import OutputError
from coach.report import Report

DB_ENV = "COACH_DB"
KINDS = ("analyze", "live", "compare")
# More sessions than this of the same stretch in one day is "far more often than advised": home
# programmes prescribe a stretch 2-3 times a day, and cracking or forcing the spine that often can
# permanently stretch (loosen) its ligaments, leaving the joints hypermobile and unstable
# (Healthline / ScienceAlert, "Cracking your back", quoting orthopaedic surgeons, 2017; Hands On
# Healthcare, "Why cracking your back or neck causes more problems than it solves", 2024).
MAX_SESSIONS_PER_DAY = 3
OVERUSE_ADVICE = ("stretching, cracking or forcing the same joint this often can loosen its ligaments - "
                  "rest it until tomorrow")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: one row per session
    ("""CREATE TABLE sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            exercise TEXT NOT NULL,
            started_at TEXT NOT NULL,
            duration_s REAL NOT NULL,
            holds_json TEXT NOT NULL,
            peaks_json TEXT NOT NULL,
            alerts INTEGER NOT NULL)""",),
    # v2: the input it came from, and the local day for the overuse count (indexed)
    ("ALTER TABLE sessions ADD COLUMN source TEXT NOT NULL DEFAULT ''",
     "ALTER TABLE sessions ADD COLUMN day TEXT NOT NULL DEFAULT ''",
     "UPDATE sessions SET day = substr(started_at, 1, 10)",
     "CREATE INDEX sessions_exercise_day ON sessions (exercise, day)"),
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Session:
    """One stored session. `holds`: side -> holds completed ("both" without sides); `peaks`: envelope
    key -> side -> the furthest value reached (its unit)."""

    id: int
    kind: str
    exercise: str
    started_at: datetime
    duration_s: float
    holds: dict[str, int]
    peaks: dict[str, dict[str, float]]
    alerts: int
    source: str = ""

    @property
    def day(self) -> date:
        return self.started_at.date()


def default_path() -> Path:
    """$COACH_DB, else the user data directory's coach/history.sqlite."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    from platformdirs import user_data_dir

    return Path(user_data_dir("coach")) / "history.sqlite"


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations after the database's version up to `target`, each in one transaction."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise OutputError(f"history database schema v{version} is newer than this coach knows (v{SCHEMA_VERSION})")
    for number in range(version + 1, target + 1):
        with conn:
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    return schema_version(conn)


class History:
    """An open history database (a context manager); created and migrated on opening."""

    def __init__(self, path: str | os.PathLike | None = None, *, migrate_to: int = SCHEMA_VERSION):
        self.path = Path(path) if path is not None else default_path()
        try:
            ensure_dir(self.path.parent)
            self.conn = sqlite3.connect(self.path)
            migrate(self.conn, migrate_to)
        except sqlite3.Error as exc:
            raise OutputError(f"{self.path}: cannot open the history database ({exc})") from None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info) -> None:
        self.conn.close()

    def add(self, kind: str, exercise: str, started_at: datetime, duration_s: float, holds: dict[str, int],
            peaks: dict[str, dict[str, float]], alerts: int, source: str = "") -> int:
        if kind not in KINDS:
            raise ValueError(f"History.add kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        stamp = started_at.isoformat(timespec="seconds")
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO sessions (kind, exercise, started_at, duration_s, holds_json, peaks_json, alerts, "
                "source, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, exercise, stamp, float(duration_s), json.dumps(holds), json.dumps(peaks), int(alerts),
                 source, stamp[:10]))
        return int(cur.lastrowid)

    def sessions(self, exercise: str | None = None) -> list[Session]:
        """Every session (of one exercise), oldest first."""
        sql = ("SELECT id, kind, exercise, started_at, duration_s, holds_json, peaks_json, alerts, source "
               "FROM sessions" + (" WHERE exercise = ?" if exercise else "") + " ORDER BY started_at, id")
        rows = self.conn.execute(sql, (exercise,) if exercise else ())
        return [Session(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4], json.loads(r[5]), json.loads(r[6]),
                        r[7], r[8]) for r in rows]

    def count_on(self, exercise: str, day: date) -> int:
        """Sessions of `exercise` on `day`; analysing the same recorded input again is not another session."""
        query = ("SELECT COUNT(DISTINCT CASE WHEN kind = 'analyze' AND source != '' THEN 'input:' || source "
                 "ELSE 'id:' || id END) FROM sessions WHERE exercise = ? AND day = ?")
        return int(self.conn.execute(query, (exercise, day.isoformat())).fetchone()[0])


def overuse_warnings(sessions: list[Session]) -> list[str]:
    """A warning per exercise and day with more than MAX_SESSIONS_PER_DAY sessions."""
    seen: dict[tuple[str, date], set] = {}
    for s in sessions:  # analysing the same recorded input again is not another session
        key = ("input", s.source) if s.kind == "analyze" and s.source else ("id", s.id)
        seen.setdefault((s.exercise, s.day), set()).add(key)
    counts = {k: len(v) for k, v in seen.items()}
    return [overuse_message(ex, day, n) for (ex, day), n in sorted(counts.items()) if n > MAX_SESSIONS_PER_DAY]


def overuse_message(exercise: str, day: date, count: int) -> str:
    return (f"{exercise}: {count} sessions on {day.isoformat()}, more than the {MAX_SESSIONS_PER_DAY} a day "
            f"advised - {OVERUSE_ADVICE}")


# --- from a Report --------------------------------------------------------------------------------

def session_rows(report: Report) -> list[dict]:
    """What is stored, per exercise segment of a report: exercise, duration, holds, peaks, alerts."""
    rows = []
    for index, seg in enumerate(report.segments):
        peaks: dict[str, dict[str, float]] = {}
        for m in report.measures:
            if m.segment == index and math.isfinite(m.peak):
                peaks.setdefault(m.key, {})[m.side] = round(float(m.peak), 2)
        alerts = sum(1 for a in report.alerts if a.exercise == seg.exercise and seg.start_s <= a.start_s <= seg.end_s)
        rows.append({"exercise": seg.exercise, "duration_s": max(0.0, seg.end_s - seg.start_s),
                     "holds": dict(seg.holds_completed), "peaks": peaks, "alerts": alerts})
    return rows


def record_session(report: Report, kind: str, db: str | os.PathLike | None = None,
                   now: datetime | None = None) -> list[str]:
    """Store a session (one row per exercise); returns the overuse warnings it causes (usually none)."""
    now = now or datetime.now().astimezone()
    warnings = []
    with History(db) as history:
        for row in session_rows(report):
            history.add(kind, row["exercise"], now, row["duration_s"], row["holds"], row["peaks"], row["alerts"],
                        report.input.path)
            count = history.count_on(row["exercise"], now.date())
            if count > MAX_SESSIONS_PER_DAY:
                warnings.append(overuse_message(row["exercise"], now.date(), count))
    return warnings


# --- the plot -------------------------------------------------------------------------------------

SIDE_STYLE = {"left": ("#0072B2", "o"), "right": ("#D55E00", "s"), "both": ("#0F2A44", "D")}
MEASURE_RGB = ("#0F2A44", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999933")   # Okabe-Ito-like


def line_styles(keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(colour, marker, linestyle) per (label, side): each measure its own colour, each side its own
    marker and dash; lines without a label (holds) are coloured by side."""
    labels = list(dict.fromkeys(label for label, _ in keys if label))
    dash = {"left": "-", "right": "--", "both": "-"}
    out = {}
    for label, side in keys:
        colour, marker = SIDE_STYLE.get(side, ("#666666", "x"))
        if label:
            colour = MEASURE_RGB[labels.index(label) % len(MEASURE_RGB)]
        out[(label, side)] = (colour, marker, dash.get(side, ":"))
    return out


def _side_lines(ax, sessions: list[Session], values) -> None:
    """One line per (label, side) of `values(session) -> {label: {side: value}}`, over the start times."""
    series: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
    for s in sessions:
        for label, by_side in values(s).items():
            for side, v in by_side.items():
                series.setdefault((label, side), []).append((s.started_at, v))
    styles = line_styles(sorted(series))
    for (label, side), points in sorted(series.items()):
        colour, marker, dash = styles[(label, side)]
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker=marker, color=colour, linestyle=dash, linewidth=1.2,
                label=f"{label} ({side})" if label else side)
    if series:
        ax.legend(fontsize=7, loc="best")


def plot_png(sessions: list[Session], exercise: str) -> bytes:
    """Range of motion (each envelope measure's peak) and holds completed over time, per side (PNG)."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (rom, holds) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    _side_lines(rom, sessions, lambda s: {k.replace("_deg", "").replace("_", " "): v for k, v in s.peaks.items()})
    rom.set_ylabel("peak reached (deg)")
    rom.set_title(f"{exercise}: range of motion and holds per session")
    _side_lines(holds, sessions, lambda s: {"": {side: float(n) for side, n in s.holds.items()}})
    holds.set_ylabel("holds completed")
    holds.yaxis.set_major_locator(MaxNLocator(integer=True))
    holds.set_ylim(0, max(1.0, holds.get_ylim()[1]))   # whole holds, from 0 (even when none was done)
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
