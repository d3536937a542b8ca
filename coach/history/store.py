"""Session history: every analysed, live and compared session in a local SQLite database.

    record_session(report, kind="analyze")          # after `coach analyze` / `coach live` / `coach compare`
    with History() as history:                      # $COACH_DB, else <user data dir>/coach/history.sqlite
        rows = history.sessions(exercise="bridge")

One row per exercise of a session (a `--exercise auto` analysis that found two stretches stores two):
kind (analyze | live | compare), exercise id, start time (local, ISO 8601 with its offset), duration,
holds completed per side, the peak of each envelope measure per side (the range of motion reached),
the number of safety alerts, the input it came from, whether it is the person's own (`mine`),
whether it ended with a pain stop (the `x` key in `coach live`) and the model its poses came from
(the plot never joins sessions of different models with a line: `model_runs`).

History means the person's own sessions: a `live` session is the person's own; an analysed or compared
recording only when the user says so (`--mine`), since a physiotherapist's batch of patients or a
downloaded demonstration is someone else's. Those are stored too (their list and figures are still
useful), flagged `mine = 0`, listed as such, and neither counted for the overuse warning nor plotted
as the person's range of motion.

The schema is versioned with `PRAGMA user_version` and migrated in order by `MIGRATIONS` when a database
is opened: the file is created on first use and an old one is upgraded in place, keeping its rows. The
migrations run in one exclusive transaction that re-reads the version inside it, with a busy timeout and
the WAL journal, so several coach processes opening a fresh database at once all find one schema and
lose no session. A row that cannot be read (bad date, JSON or types) is skipped with a warning naming
the database and the row; an SQLite failure (disk full, read-only file) is an `OutputError`.
Overuse: more than `MAX_SESSIONS_PER_DAY` of the person's own sessions of one exercise on one day gives
a warning.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from coach.errors import OutputError
from coach.io.atomic import ensure_dir
from coach.pose.models import variant_label
from coach.report.core import Report
from coach.report.stats import was_done

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
    # v3: whose session it is, and a pain stop. Before v3 nobody said whose a recording was: only live
    # sessions are known to be the person's own, so older analyses are kept but no longer counted.
    ("ALTER TABLE sessions ADD COLUMN mine INTEGER NOT NULL DEFAULT 0",
     "UPDATE sessions SET mine = 1 WHERE kind = 'live'",
     "ALTER TABLE sessions ADD COLUMN pain_stop INTEGER NOT NULL DEFAULT 0"),
    # v4: the model the poses came from (its file name). Older rows did not say: '' (unknown) - live
    # used lite and analyze full then, but a --model given by hand was not kept, so none is guessed.
    ("ALTER TABLE sessions ADD COLUMN model TEXT NOT NULL DEFAULT ''",),
)
SCHEMA_VERSION = len(MIGRATIONS)
# How long a process waits for another one's lock (a migration or an insert takes milliseconds; a
# slow disk or many coach processes at once can take far longer, and waiting beats losing a session).
BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Session:
    """One stored session, checked on creation (a ValueError names the field). `holds`: side -> holds
    completed ("both" without sides); `peaks`: envelope key -> side -> the furthest value reached (its
    unit); `mine`: the person's own session; `pain_stop`: it ended because the person reported pain;
    `model`: the file name of the model its poses came from ("" when not known: stored before v4)."""

    id: int
    kind: str
    exercise: str
    started_at: datetime
    duration_s: float
    holds: dict[str, int]
    peaks: dict[str, dict[str, float]]
    alerts: int
    source: str = ""
    mine: bool = True
    pain_stop: bool = False
    model: str = ""

    def __post_init__(self) -> None:
        def whole(v) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and v >= 0

        def number(v) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        checks = (
            ("kind", self.kind in KINDS, f"one of {', '.join(KINDS)}"),
            ("exercise", isinstance(self.exercise, str) and bool(self.exercise), "a non-empty text"),
            ("started_at", isinstance(self.started_at, datetime), "a date and time"),
            ("duration_s", number(self.duration_s) and self.duration_s >= 0, "seconds >= 0"),
            ("holds", isinstance(self.holds, dict) and all(isinstance(k, str) and whole(n)
                                                           for k, n in self.holds.items()),
             "side -> a whole number of holds"),
            ("peaks", isinstance(self.peaks, dict) and all(
                isinstance(k, str) and isinstance(v, dict) and all(isinstance(side, str) and number(x)
                                                                   for side, x in v.items())
                for k, v in self.peaks.items()), "measure -> side -> a finite number"),
            ("alerts", whole(self.alerts), "a whole number >= 0"),
            ("source", isinstance(self.source, str), "a text"),
            ("mine", isinstance(self.mine, bool), "true or false"),
            ("pain_stop", isinstance(self.pain_stop, bool), "true or false"),
            ("model", isinstance(self.model, str), "a text"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"{name}: expected {expected}, got {getattr(self, name)!r}"[:200])

    @property
    def day(self) -> date:
        return self.started_at.date()

    @property
    def input_name(self) -> str:
        """The input in a word: the file's name, or the camera ("camera 0"); "" when not known."""
        return Path(self.source).name if self.source else ""

    @property
    def model_label(self) -> str:
        """The model in a word: full, lite, heavy, a bundle's file name, or "unknown"."""
        return variant_label(self.model)


def default_path() -> Path:
    """$COACH_DB, else the user data directory's coach/history.sqlite."""
    if os.environ.get(DB_ENV):
        return Path(os.environ[DB_ENV])
    from platformdirs import user_data_dir

    return Path(user_data_dir("coach")) / "history.sqlite"


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE"):
    """BEGIN <mode> ... COMMIT, or ROLLBACK on any error (the connection is in autocommit mode, so
    nothing else opens or ends a transaction behind our back)."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations after the database's version up to `target`, all in one exclusive
    transaction that re-reads the version inside it: another process that migrated first leaves
    nothing to do, and none runs a migration twice ("duplicate column", "table already exists")."""
    if schema_version(conn) >= target:
        _check_known(schema_version(conn))
        return schema_version(conn)
    with _transaction(conn, "EXCLUSIVE"):
        version = schema_version(conn)
        _check_known(version)
        for number in range(version + 1, target + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    return schema_version(conn)


def _check_known(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise OutputError(f"history database schema v{version} is newer than this coach knows (v{SCHEMA_VERSION})")


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode that waits BUSY_TIMEOUT_S for locks, in WAL journal mode
    (readers and the writer do not block each other). A database that cannot switch to WAL (a
    read-only file, some network file systems) keeps its journal: it still works, one at a time."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute("PRAGMA journal_mode = WAL")
    return conn


_COLUMNS = ("id, kind, exercise, started_at, duration_s, holds_json, peaks_json, alerts, source, mine, pain_stop, "
            "model")


def _session(row: tuple) -> Session:
    """A stored row as a Session; ValueError / TypeError when it cannot be read."""
    rid, kind, exercise, started, duration, holds, peaks, alerts, source, mine, pain, model = row
    if not isinstance(started, str):
        raise ValueError(f"started_at: expected an ISO 8601 date and time, got {started!r}")
    try:
        when = datetime.fromisoformat(started)
    except ValueError:
        raise ValueError(f"started_at: expected an ISO 8601 date and time, got {started[:60]!r}") from None
    when = when if when.tzinfo is not None else when.astimezone()   # no offset: local time
    decoded = []
    for name, text in (("holds_json", holds), ("peaks_json", peaks)):
        try:
            decoded.append(json.loads(text, parse_constant=_no_constant))
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected JSON, got {str(text)[:60]!r}") from None
    flags = [{0: False, 1: True}.get(v, v) if isinstance(v, int) else v for v in (mine, pain)]   # 0/1, else rejected
    return Session(rid, kind, exercise, when, duration, decoded[0], decoded[1], alerts, source, *flags, model)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


class History:
    """An open history database (a context manager); created and migrated on opening.
    `skipped`: a warning per unreadable row `sessions()` left out (the caller prints them)."""

    def __init__(self, path: str | os.PathLike | None = None, *, migrate_to: int = SCHEMA_VERSION):
        self.path = Path(path) if path is not None else default_path()
        self.skipped: list[str] = []
        self.conn: sqlite3.Connection | None = None
        try:
            ensure_dir(self.path.parent)
            self.conn = connect(self.path)
            migrate(self.conn, migrate_to)
        except sqlite3.Error as exc:
            self.close()
            raise OutputError(f"{self.path}: cannot open the history database ({_one_line(exc)})") from None
        except OutputError as exc:   # a schema newer than this coach
            self.close()
            raise OutputError(f"{self.path}: {exc}") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def add(self, kind: str, exercise: str, started_at: datetime, duration_s: float, holds: dict[str, int],
            peaks: dict[str, dict[str, float]], alerts: int, source: str = "", *, mine: bool = True,
            pain_stop: bool = False, model: str = "") -> int:
        """Store one session row; `OutputError` when the database cannot take it (disk full, read-only)."""
        if kind not in KINDS:
            raise ValueError(f"History.add kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        stamp = started_at.isoformat(timespec="seconds")
        try:
            with _transaction(self.conn):
                cur = self.conn.execute(
                    "INSERT INTO sessions (kind, exercise, started_at, duration_s, holds_json, peaks_json, alerts, "
                    "source, day, mine, pain_stop, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, exercise, stamp, float(duration_s), json.dumps(holds), json.dumps(peaks), int(alerts),
                     source, stamp[:10], int(bool(mine)), int(bool(pain_stop)), str(model)))
        except sqlite3.Error as exc:
            raise OutputError(f"{self.path}: cannot store the session in the history database "
                              f"({_one_line(exc)})") from None
        return int(cur.lastrowid)

    def sessions(self, exercise: str | None = None) -> list[Session]:
        """Every readable session (of one exercise), oldest first; unreadable rows go to `skipped`."""
        sql = (f"SELECT {_COLUMNS} FROM sessions" + (" WHERE exercise = ?" if exercise else "")
               + " ORDER BY started_at, id")
        try:
            rows = self.conn.execute(sql, (exercise,) if exercise else ()).fetchall()
        except sqlite3.Error as exc:
            raise OutputError(f"{self.path}: cannot read the history database ({_one_line(exc)})") from None
        out = []
        for row in rows:
            try:
                out.append(_session(row))
            except (TypeError, ValueError) as exc:
                self.skipped.append(f"{self.path}: session row {row[0]}: unreadable, skipped ({_one_line(exc)})")
        return out

    def count_on(self, exercise: str, day: date) -> int:
        """The person's own sessions of `exercise` on `day`; analysing the same recorded input again is
        not another session."""
        query = ("SELECT COUNT(DISTINCT CASE WHEN kind = 'analyze' AND source != '' THEN 'input:' || source "
                 "ELSE 'id:' || id END) FROM sessions WHERE exercise = ? AND day = ? AND mine = 1")
        try:
            return int(self.conn.execute(query, (exercise, day.isoformat())).fetchone()[0])
        except sqlite3.Error as exc:
            raise OutputError(f"{self.path}: cannot read the history database ({_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, control characters shown as escapes (it may quote a row)."""
    text = " ".join(str(exc).split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _what_was_done(s: Session) -> tuple[str, object]:
    """What a stored session stands for: analysing the same recorded input again is not another
    session (the recording's file), anything else is its own (its row)."""
    return ("input", s.source) if s.kind == "analyze" and s.source else ("id", s.id)


def one_per_input(sessions: list[Session]) -> list[Session]:
    """`sessions` with each recorded input analysed more than once kept once, as last analysed (a
    plot of progress draws one point per session done, not per analysis), in their order."""
    last = {_what_was_done(s): i for i, s in enumerate(sessions)}
    return [s for i, s in enumerate(sessions) if last[_what_was_done(s)] == i]


def overuse_warnings(sessions: list[Session], names: Mapping[str, str] | None = None) -> list[str]:
    """A warning per exercise and day with more than MAX_SESSIONS_PER_DAY of the person's own sessions;
    `names`: the exercises' names by id (an id without one is said as it is stored)."""
    seen: dict[tuple[str, date], set] = {}
    for s in (s for s in sessions if s.mine):
        seen.setdefault((s.exercise, s.day), set()).add(_what_was_done(s))
    counts = {k: len(v) for k, v in seen.items()}
    return [overuse_message((names or {}).get(ex, ex), day, n) for (ex, day), n in sorted(counts.items())
            if n > MAX_SESSIONS_PER_DAY]


def overuse_message(name: str, day: date, count: int) -> str:
    return (f"{name}: {count} sessions on {day.isoformat()}, more than the {MAX_SESSIONS_PER_DAY} a day "
            f"advised - {OVERUSE_ADVICE}")


# --- from a Report --------------------------------------------------------------------------------

def session_rows(report: Report, keep: str | None = None) -> list[dict]:
    """What is stored, per exercise of a report (in the order first done): exercise, duration, holds,
    peaks, alerts. An exercise done in several segments of one session (a routine gone back to or
    restarted, `--exercise auto` between two others) is one row: one session of it, toward the daily
    limit too - durations, holds and alerts added up, each peak the latest segment's that read it.
    A `coach live` exercise that was reached and never done (`coach.report.stats.was_done`: no hold
    started, not a second in position) is not a session of that stretch: it is not stored, so it
    neither counts toward the daily limit nor plots a peak - unless it is `keep`, the exercise a pain
    stop ended. Its alerts stay in its session.json and report: they came from judging a stretch the
    person was not doing (a bridge read as a supine twist raised "twisting too far"). Outside a live
    session (`analyze`, `compare`: no `routine_index`) every session is stored."""
    rows: dict[str, dict] = {}
    for index, seg in enumerate(report.segments):
        if seg.routine_index is not None and not was_done(seg) and seg.exercise != keep:
            continue
        row = rows.setdefault(seg.exercise, {"exercise": seg.exercise, "duration_s": 0.0, "holds": {}, "peaks": {},
                                             "alerts": 0})
        for m in report.measures:
            if m.segment == index and math.isfinite(m.peak):
                row["peaks"].setdefault(m.key, {})[m.side] = round(float(m.peak), 2)
        row["alerts"] += sum(1 for a in report.alerts
                             if a.exercise == seg.exercise and seg.start_s <= a.start_s <= seg.end_s)
        row["duration_s"] += max(0.0, seg.end_s - seg.start_s)
        for side, n in seg.holds_completed.items():
            row["holds"][side] = row["holds"].get(side, 0) + n
    return list(rows.values())


def record_session(report: Report, kind: str, db: str | os.PathLike | None = None,
                   now: datetime | None = None, *, mine: bool | None = None, pain_stop: bool = False) -> list[str]:
    """Store a session (one row per exercise); returns the overuse warnings it causes (usually none).

    `mine`: the session is the person's own - default: a `live` session is, an analysed or compared
    recording is not (it may be anyone's) unless the user says so. Only the person's own sessions
    count toward the overuse warning. `pain_stop`: the session ended with a pain stop (its last
    segment's exercise is the one stopped). `OutputError` when the database cannot be opened or written."""
    now = now or datetime.now().astimezone()
    mine = (kind == "live") if mine is None else bool(mine)
    warnings = []
    stopped = report.segments[-1].exercise if report.segments else None   # the pain stop's exercise
    rows = session_rows(report, keep=stopped if pain_stop else None)
    names = {seg.exercise: seg.name for seg in report.segments}
    with History(db) as history:
        for row in rows:
            history.add(kind, row["exercise"], now, row["duration_s"], row["holds"], row["peaks"], row["alerts"],
                        report.input.path, mine=mine, pain_stop=pain_stop and row["exercise"] == stopped,
                        model=report.input.model)
            count = history.count_on(row["exercise"], now.date()) if mine else 0
            if count > MAX_SESSIONS_PER_DAY:
                warnings.append(overuse_message(names.get(row["exercise"], row["exercise"]), now.date(), count))
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


def _literal(text: str) -> str:
    """Text drawn as written: a "$" would start matplotlib mathtext (and can fail to parse)."""
    return text.replace("$", r"\$")


def model_runs(sessions: list[Session]) -> list[list[Session]]:
    """The sessions (in time order) in runs of one model: a line joins the points of a run, never
    two runs - lite and full read some angles differently (a head tilt -11 against -22 deg), so a
    line across a change of model would draw progress (or a loss) that never happened."""
    runs: list[list[Session]] = []
    for s in sessions:
        if runs and runs[-1][-1].model_label == s.model_label:
            runs[-1].append(s)
        else:
            runs.append([s])
    return runs


def _side_lines(ax, sessions: list[Session], values, models: list[str]) -> None:
    """One line per (label, side) of `values(session) -> {label: {side: value}}` and run of one model,
    over the start times. With several `models` the legend names each line's model and the points
    of all but the latest are hollow; every line carries its model as its gid."""
    series: dict[tuple[str, str], list[tuple[int, datetime, float]]] = {}
    for n, run in enumerate(model_runs(sessions)):
        for s in run:
            for label, by_side in values(s).items():
                for side, v in by_side.items():
                    series.setdefault((label, side), []).append((n, s.started_at, v))
    runs = [run[0].model_label for run in model_runs(sessions)]
    styles = line_styles(sorted(series))
    for (label, side), points in sorted(series.items()):
        colour, marker, dash = styles[(label, side)]
        named: set[str] = set()
        for n in dict.fromkeys(p[0] for p in points):
            model = runs[n]
            xs, ys = zip(*[(t, v) for m, t, v in points if m == n])
            # "both" is the key of an exercise without sides: never shown ("Left hip (both)" read as both hips)
            text = (f"{label} ({side})" if side != "both" else label) if label else \
                (side if side != "both" else "holds")
            if len(models) > 1:
                text = f"{text} - {model}" if model not in named else "_"   # "_": no second legend entry
            named.add(model)
            ax.plot(xs, ys, marker=marker, color=colour, linestyle=dash, linewidth=1.2, gid=model,
                    markerfacecolor=colour if model == models[-1] else "none", label=_literal(text))
    if series:
        ax.legend(fontsize=7, loc="best")


def _model_changes(ax, sessions: list[Session]) -> None:
    """A dotted line where the model changes between two sessions, labelled with the new model."""
    runs = model_runs(sessions)
    for before, after in zip(runs, runs[1:]):
        a, b = before[-1].started_at, after[0].started_at
        x = a + (b - a) / 2
        ax.axvline(x, color="#777777", linestyle=":", linewidth=1.0, gid="model change")
        ax.text(x, 0.98, f" model: {_literal(after[0].model_label)}", transform=ax.get_xaxis_transform(),
                rotation=90, va="top", ha="right", fontsize=7, color="#555555", gid="model change")


def _peak_label(key: str) -> str:
    """An envelope key in the legend's words: "hip_{side}_deg" -> "Hip" (its side follows in brackets),
    "shoulder_{other}_deg" -> "Shoulder (other side)", "trunk_rotation_deg" -> "Twist"."""
    from coach.measure.conventions import measure_label

    return key.split("_")[0].title() if "{side}" in key else measure_label(key)


def plot_figure(sessions: list[Session], exercise: str):
    """The history plot as a matplotlib Figure (the caller closes it): range of motion (each envelope
    measure's peak) and holds completed over time, per side; lines break where the model changes.
    `exercise`: the exercise as its title names it (its name)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    models = list(dict.fromkeys(s.model_label for s in sessions[::-1]))[::-1]   # the latest one last
    fig, (rom, holds) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    _side_lines(rom, sessions, lambda s: {_peak_label(k): v for k, v in s.peaks.items()}, models)
    rom.set_ylabel("peak reached (deg)")
    which = (f"{models[0]} model" if len(models) == 1 else
             f"models {', '.join(models)}: lines break where it changes")
    rom.set_title(_literal(f"{exercise}: range of motion and holds per session ({which})"), fontsize=10)
    _side_lines(holds, sessions, lambda s: {"": {side: float(n) for side, n in s.holds.items()}}, models)
    holds.set_ylabel("holds completed")
    holds.yaxis.set_major_locator(MaxNLocator(integer=True))
    holds.set_ylim(0, max(1.0, holds.get_ylim()[1]))   # whole holds, from 0 (even when none was done)
    for ax in (rom, holds):
        _model_changes(ax, sessions)
    fig.autofmt_xdate()
    return fig


def plot_png(sessions: list[Session], exercise: str) -> bytes:
    """`plot_figure` as a PNG."""
    import io

    import matplotlib.pyplot as plt

    fig = plot_figure(sessions, exercise)
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)
    return buf.getvalue()
