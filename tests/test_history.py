"""Session history: analyze and live sessions are stored and listed, plotted per side over time, the
schema upgrades from v1 and v2 keep the data, the same stretch done too often in a day warns - counting
the person's own sessions only -, concurrent first use loses nothing, unreadable rows are skipped with
a warning and a database that cannot be written is one OutputError."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from demo_data import first_seconds

from coach.cli import main
from coach.errors import OutputError
from coach.history.store import (
    MAX_SESSIONS_PER_DAY,
    SCHEMA_VERSION,
    History,
    line_styles,
    overuse_warnings,
    record_session,
    schema_version,
)

WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=1)))


@pytest.fixture
def db(tmp_path):
    return tmp_path / "history.sqlite"


def test_analyze_stores_a_session_that_history_lists(landmarks_dir, tmp_path, db, capsys):
    rec = str(landmarks_dir / "cat_cow__01.jsonl.gz")
    args = ["analyze", rec, "--exercise", "cat_cow", "--out", str(tmp_path / "out"), "--no-video", "-q"]
    assert main(args + ["--db", str(db)]) == 0
    assert main(args + ["--db", str(db), "--no-history"]) == 0
    with History(db) as history:
        sessions = history.sessions()
    assert [(s.kind, s.exercise) for s in sessions] == [("analyze", "cat_cow")]
    s = sessions[0]
    assert s.duration_s == pytest.approx(6.1, abs=0.3) and s.source == rec
    assert set(s.holds) == {"both"} and s.peaks and all(set(v) == {"both"} for v in s.peaks.values())
    capsys.readouterr()
    assert main(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "1 session(s)" in out and "cat_cow" in out and "analyze" in out
    assert s.model == "pose_landmarker_full.task" and s.model_label == "full", "the recording's model is stored"
    assert "(full)" in out, "the table names the model, after the input"



def test_live_stores_a_session_that_history_lists_and_warns_of_overuse(landmarks_dir, tmp_path, db, capsys):
    now = datetime.now().astimezone()
    with History(db) as history:   # the stretch was already done as often as advised today
        for n in range(MAX_SESSIONS_PER_DAY):
            history.add("analyze", "childs_pose", now - timedelta(seconds=n + 1), 20.0, {"both": 1}, {}, 0)
    rec = str(first_seconds(landmarks_dir / "childs_pose__01.jsonl.gz", tmp_path / "childs.jsonl.gz", 6.0))
    args = ["live", "--exercise", "childs_pose", "--source", rec, "--no-window", "--answers", "no", "--mute"]
    assert main(args + ["-o", str(tmp_path / "live"), "--db", str(db)]) == 0
    err = capsys.readouterr().err
    assert f"coach: warning: Child's pose: {MAX_SESSIONS_PER_DAY + 1} sessions on {now.date().isoformat()}" in err
    assert main(args + ["-o", str(tmp_path / "again"), "--db", str(db), "--no-history"]) == 0
    with History(db) as history:
        sessions = history.sessions("childs_pose")
    assert [s.kind for s in sessions].count("live") == 1, "stored once: not with --no-history"
    live = next(s for s in sessions if s.kind == "live")
    # the session starts at the first frame: the framing step (~1 s) is in it since safety runs from there
    assert live.source == rec and live.duration_s == pytest.approx(6.0, abs=0.5) and set(live.holds) == {"both"}
    assert live.peaks and all(set(v) == {"both"} for v in live.peaks.values())
    capsys.readouterr()
    assert main(["history", "--db", str(db), "--exercise", "childs_pose"]) == 0
    out, err = capsys.readouterr()
    assert f"{MAX_SESSIONS_PER_DAY + 1} session(s)" in out and "live" in out
    assert "both" not in out, out   # the key of an exercise without sides is not a word for a person
    assert "coach: warning: Child's pose: " in err   # the listing says it too, by the exercise's name
    # with -q a run that goes well prints nothing: the advice is in the window's summary, not on stderr
    assert main(args + ["-o", str(tmp_path / "quiet"), "--db", str(db), "-q"]) == 0
    assert capsys.readouterr().err == ""


def _add(history: History, exercise: str, when: datetime, hip: float, holds: int) -> None:
    history.add("analyze", exercise, when, 30.0, {"left": holds, "right": holds - 1},
                {"hip_{side}_deg": {"left": hip, "right": hip + 5}}, 0)


def test_plot_of_range_of_motion_and_holds_per_side(db, tmp_path, capsys):
    with History(db) as history:
        for day in range(4):
            _add(history, "knee_to_chest_single", WHEN + timedelta(days=day), 60.0 - 5 * day, 2 + day % 2)
        _add(history, "bridge", WHEN, 150.0, 1)
    png = tmp_path / "rom.png"
    assert main(["history", "--db", str(db), "--exercise", "knee_to_chest_single", "--plot", str(png)]) == 0
    assert capsys.readouterr().out.strip() == str(png)
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000
    assert main(["history", "--db", str(db), "--plot"]) == 2   # a plot is of one exercise


def test_an_unknown_exercise_is_a_one_line_error(db, capsys):
    """A misspelt id is an error (exit 2, one line naming it), not an empty table; a known exercise
    with no session lists none, and an id known only from stored sessions (a taught one) is listed."""
    with History(db) as history:
        _add(history, "anna_bridge", WHEN, 150.0, 1)   # taught from a demonstration: not in the library
    assert main(["history", "--db", str(db), "--exercise", "nosuch"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "'nosuch'" in err[0] and "no such exercise" in err[0], err
    assert captured.out == ""
    assert main(["history", "--db", str(db), "--exercise", "bridge"]) == 0
    assert "0 session(s)" in capsys.readouterr().out
    assert main(["history", "--db", str(db), "--exercise", "anna_bridge"]) == 0
    assert "1 session(s)" in capsys.readouterr().out


@pytest.mark.parametrize("start, kind, mine", [
    (1, "live", True),       # a live session is the person's own
    (1, "analyze", False),   # before v3 nobody said whose a recording was: kept, not counted
    (2, "analyze", False),
    (3, "live", True),       # before v4 no model was stored: unknown, never guessed
], ids=["v1-live", "v1-analyze", "v2-analyze", "v3-live"])
def test_an_upgrade_keeps_the_sessions(db, start, kind, mine):
    with History(db, migrate_to=start) as old:
        assert schema_version(old.conn) == start
        old.conn.execute("INSERT INTO sessions (kind, exercise, started_at, duration_s, holds_json, peaks_json, "
                         f"alerts) VALUES ('{kind}', 'bridge', '2026-03-02T09:30:00+01:00', 31.5, '{{\"both\": 3}}', "
                         "'{\"trunk_inclination_deg\": {\"both\": 118.0}}', 2)")
        if start >= 2:
            old.conn.execute("UPDATE sessions SET day = '2026-03-02'")
        if start >= 3:
            old.conn.execute(f"UPDATE sessions SET mine = {int(mine)}")
        columns = [r[1] for r in old.conn.execute("PRAGMA table_info(sessions)")]
        assert ("mine" in columns) == (start >= 3) and ("day" in columns) == (start >= 2)
        assert "model" not in columns
    with History(db) as new:
        assert schema_version(new.conn) == SCHEMA_VERSION == 4
        (s,) = new.sessions()
        assert (s.kind, s.exercise, s.duration_s, s.holds, s.alerts) == (kind, "bridge", 31.5, {"both": 3}, 2)
        assert s.peaks == {"trunk_inclination_deg": {"both": 118.0}} and s.started_at == WHEN
        assert (s.mine, s.pain_stop) == (mine, False)
        assert (s.model, s.model_label) == ("", "unknown")
        assert new.count_on("bridge", WHEN.date()) == int(mine)   # the day column was filled from the old rows
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 9")
    with pytest.raises(OutputError, match=rf"^{re.escape(str(db))}: history database schema v9 is newer than"):
        History(db)


def test_the_same_stretch_too_often_in_a_day_warns(db, landmarks_dir, tmp_path):
    with History(db) as history:
        for n in range(MAX_SESSIONS_PER_DAY):
            _add(history, "supine_twist", WHEN + timedelta(hours=n), 70.0, 1)
        _add(history, "supine_twist", WHEN + timedelta(days=1), 70.0, 1)
        assert overuse_warnings(history.sessions()) == []
        _add(history, "supine_twist", WHEN + timedelta(hours=5), 70.0, 1)
        (warning,) = overuse_warnings(history.sessions())
    assert warning.startswith(f"supine_twist: {MAX_SESSIONS_PER_DAY + 1} sessions on 2026-03-02") and "ligaments" in warning
    from coach.session.analyze import AnalyzeOptions, analyze

    report = analyze(landmarks_dir / "cat_cow__01.jsonl.gz", tmp_path / "a", AnalyzeOptions("cat_cow", video=False))
    again = tmp_path / "again.sqlite"
    warnings = [record_session(report, "analyze", again, now=WHEN + timedelta(minutes=n)) for n in range(4)]
    assert warnings == [[], [], [], []]  # re-analysing the same video is not doing the stretch again
    other = tmp_path / "other.sqlite"
    warnings, reports = [], []
    for n in range(4):
        copy = tmp_path / f"day{n}.jsonl.gz"
        copy.write_bytes((landmarks_dir / "cat_cow__01.jsonl.gz").read_bytes())
        reports.append(analyze(copy, tmp_path / f"out{n}", AnalyzeOptions("cat_cow", video=False)))
        warnings.append(record_session(reports[-1], "analyze", other, now=WHEN + timedelta(minutes=n), mine=True))
    assert warnings[:3] == [[], [], []] and len(warnings[3]) == 1 and "Cat-cow: 4 sessions" in warnings[3][0]
    batch = tmp_path / "batch.sqlite"   # the same four recordings, not said to be the person's own
    assert [record_session(r, "analyze", batch, now=WHEN) for r in reports] == [[], [], [], []]
    with History(batch) as history:
        assert [s.mine for s in history.sessions()] == [False] * 4 and history.count_on("cat_cow", WHEN.date()) == 0


MODEL_FILE = {"full": "pose_landmarker_full.task", "lite": "pose_landmarker_lite.task", "?": ""}


def _model_sessions(db, models: str) -> list:
    """One session a day of knee_to_chest_single per letter of `models` (f full, l lite, ? unknown)."""
    with History(db) as history:
        for day, letter in enumerate(models):
            model = MODEL_FILE[{"f": "full", "l": "lite", "?": "?"}[letter]]
            history.add("live", "knee_to_chest_single", WHEN + timedelta(days=day), 30.0, {"left": 2, "right": 1},
                        {"hip_left_deg": {"left": 60.0 - day}, "knee_left_deg": {"left": 90.0 + day}}, 0,
                        model=model)
        return history.sessions()


@pytest.mark.parametrize("models, changes, legend", [
    ("ffff", [], {"Left hip (left)", "Left knee (left)", "left", "right"}),
    ("ffllf", ["lite", "full"], {f"{m} - {v}" for m in ("Left hip (left)", "Left knee (left)", "left", "right")
                                 for v in ("full", "lite")}),
    ("??ff", ["full"], {f"{m} - {v}" for m in ("Left hip (left)", "Left knee (left)", "left", "right")
                        for v in ("unknown", "full")}),
], ids=["one-model", "lite-between-full", "unknown-then-full"])
def test_the_plot_never_joins_sessions_of_different_models(db, models, changes, legend):
    """Lite and full read some angles differently: a line across a change of model would show
    progress that never happened. Each line stays within one run of one model (its gid); the change
    is a labelled dotted line; with several models the legend names each line's model."""
    import matplotlib.pyplot as plt
    from matplotlib.dates import date2num

    from coach.history.store import plot_figure

    sessions = _model_sessions(db, models)
    model_at = {date2num(s.started_at): s.model_label for s in sessions}
    fig = plot_figure(sessions, "knee_to_chest_single")
    try:
        for ax in fig.axes:
            lines = [ln for ln in ax.get_lines() if ln.get_gid() != "model change"]
            for line in lines:
                days = [model_at[x] for x in date2num(line.get_xdata())]
                assert set(days) == {line.get_gid()}, f"{line.get_label()}: joins sessions of {set(days)}"
                spans = sorted(date2num(line.get_xdata()))
                between = [m for x, m in model_at.items() if spans[0] < x < spans[-1]]
                assert set(between) <= {line.get_gid()}, "a line jumps over another model's session"
            assert len(lines) == 2 * (len(changes) + 1), "two lines (measures or sides) per run of one model"
            marks = [t.get_text().strip() for t in ax.texts if t.get_gid() == "model change"]
            assert marks == [f"model: {m}" for m in changes]
            assert len([ln for ln in ax.get_lines() if ln.get_gid() == "model change"]) == len(changes)
        labels = {t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()}
        assert labels == legend
        title = fig.axes[0].get_title()
        assert ("full model" in title) if len(set(models)) == 1 else "lines break where it changes" in title
    finally:
        plt.close(fig)


def test_the_plot_of_an_exercise_without_sides_never_says_both(db, tmp_path, capsys, monkeypatch):
    """The child's pose has no sides: its lines are "Left hip" and "holds", never "Left hip (both)" or
    "both" (the key of an exercise without sides); `coach history --plot` titles it by its name."""
    import matplotlib.pyplot as plt

    from coach.history.store import plot_figure

    with History(db) as history:
        for day in range(2):
            history.add("live", "childs_pose", WHEN + timedelta(days=day), 30.0, {"both": 1},
                        {"hip_left_deg": {"both": 25.0 + day}}, 0, model=MODEL_FILE["full"])
        sessions = history.sessions()
    fig = plot_figure(sessions, "Child's pose")
    try:
        labels = {t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()}
        assert labels == {"Left hip", "holds"}, labels
    finally:
        plt.close(fig)
    png = tmp_path / "plot.png"
    assert main(["history", "--db", str(db), "--exercise", "childs_pose", "--plot", str(png)]) == 0
    assert capsys.readouterr().out.strip() == str(png) and png.read_bytes()[:4] == b"\x89PNG"
    from coach.history import store

    titles, real = [], store.plot_figure
    monkeypatch.setattr(store, "plot_figure", lambda sessions, exercise: titles.append(exercise) or
                        real(sessions, exercise))
    assert main(["history", "--db", str(db), "--exercise", "childs_pose", "--plot", str(png)]) == 0
    assert titles == ["Child's pose"]


@pytest.mark.parametrize("key, words", [("hip_{side}_deg", "Hip"), ("shoulder_{other}_deg", "Shoulder (other side)"),
                                        ("trunk_rotation_deg", "Twist"), ("hip_left_deg", "Left hip")])
def test_a_plotted_peak_is_named_in_words_never_by_its_template_key(key, words):
    from coach.history.store import _peak_label

    assert _peak_label(key) == words


def test_plot_lines_of_different_measures_or_sides_look_different():
    """Three measures on the one side `both` were drawn in one colour and marker: indistinguishable."""
    keys = [("hip left", "both"), ("hip right", "both"), ("trunk inclination", "both"),
            ("knee", "left"), ("knee", "right"), ("", "left"), ("", "right")]
    styles = line_styles(keys)
    assert len(set(styles.values())) == len(keys)
    assert len({styles[k][0] for k in keys[:3]}) == 3                 # a colour per measure
    assert styles[("knee", "left")][0] == styles[("knee", "right")][0]   # one measure, two sides: one colour,
    assert styles[("knee", "left")][1:] != styles[("knee", "right")][1:]  # told apart by marker and dash


# --- concurrent first use ---------------------------------------------------------------------------

PROCESSES, TRIALS = 4, 10


def _store_one(db: str, barrier, n: int, errors) -> None:
    """One coach process: open the (fresh) database - the migration - and store a session."""
    try:
        barrier.wait(timeout=60)
        with History(db) as history:
            history.add("live", "bridge", WHEN, 30.0, {"both": 1}, {}, 0, f"camera {n}")
    except BaseException as exc:   # reported to the test, never lost in a child's stderr
        errors.put(f"process {n}: {type(exc).__name__}: {exc}")


def test_concurrent_first_use_of_a_fresh_database_loses_no_session(tmp_path):
    """4 real OS processes x 10 trials, each trial on a fresh database, released together by a
    barrier so that all four open it - and migrate it - at the same moment. Real `coach analyze`
    processes (one trial of them is the next test) start ~1.5 s apart on this 2-core machine's
    load, so they rarely meet inside the few milliseconds of the migration; the barrier makes every
    trial the worst case. Before the exclusive migration 3 in 8 such trials lost sessions
    ("duplicate column name: source", "table sessions already exists")."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")   # real processes, cheap to start (no re-import)
    lost = []
    for trial in range(TRIALS):
        db = str(tmp_path / f"trial{trial}.sqlite")
        barrier, errors = ctx.Barrier(PROCESSES), ctx.Queue()
        procs = [ctx.Process(target=_store_one, args=(db, barrier, n, errors)) for n in range(PROCESSES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=90)
        assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
        while not errors.empty():
            lost.append(f"trial {trial}: {errors.get()}")
        with History(db) as history:
            stored = sorted(s.source for s in history.sessions())
            assert schema_version(history.conn) == SCHEMA_VERSION
            assert history.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        if stored != [f"camera {n}" for n in range(PROCESSES)]:
            lost.append(f"trial {trial}: stored {stored}")
    assert lost == []


def test_four_coach_analyze_processes_on_a_fresh_database_store_four_sessions(landmarks_dir, tmp_path):
    import subprocess
    import sys

    rec = first_seconds(landmarks_dir / "cat_cow__01.jsonl.gz", tmp_path / "cat.jsonl.gz", 2.0)
    db = tmp_path / "fresh.sqlite"
    procs = [subprocess.Popen([sys.executable, "-m", "coach", "analyze", str(rec), "--exercise", "cat_cow",
                               "--out", str(tmp_path / f"out{n}"), "--no-video", "-q", "--db", str(db)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(PROCESSES)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, results
    assert all(err == "" for _, err in results), results
    with History(db) as history:
        assert [s.exercise for s in history.sessions()] == ["cat_cow"] * PROCESSES


# --- unreadable rows ------------------------------------------------------------------------------

GOOD_ROW = ("analyze", "bridge", "2026-03-02T09:30:00+01:00", 31.5, '{"both": 3}', '{"hip_left_deg": {"both": 150.0}}', 2)


@pytest.mark.parametrize("column, value, words", [
    ("started_at", "yesterday", "started_at: expected an ISO 8601 date"),
    ("started_at", "2026-02-30T09:00:00", "started_at"),                  # no such day
    ("started_at", 17, "started_at"),                                      # a number, not a text
    ("holds_json", "{both: 3", "holds_json: expected JSON"),
    ("peaks_json", "[1, 2", "peaks_json: expected JSON"),
    ("peaks_json", '{"hip_left_deg": {"both": NaN}}', "peaks_json: expected JSON"),
    ("peaks_json", '{"hip_left_deg": [150]}', "peaks: expected measure -> side -> a finite number"),
    ("holds_json", '["left", 2]', "holds: expected side -> a whole number"),
    ("holds_json", '{"both": 2.5}', "holds: expected side -> a whole number"),
    ("duration_s", "long", "duration_s: expected seconds >= 0"),
    ("duration_s", -4.0, "duration_s: expected seconds >= 0"),
    ("alerts", "many", "alerts: expected a whole number"),
    ("kind", "dream", "kind: expected one of analyze, live, compare"),
    ("mine", 7, "mine: expected true or false"),
    ("source", b"\x00\x9f", "source: expected a text"),             # a blob, not a text
    ("exercise", "", "exercise: expected a non-empty text"),
], ids=lambda v: str(v)[:30])
def test_an_unreadable_row_is_skipped_with_a_warning_naming_the_database_and_the_row(db, tmp_path, capsys,
                                                                                    column, value, words):
    with History(db) as history:
        for _ in range(2):
            history.conn.execute("INSERT INTO sessions (kind, exercise, started_at, duration_s, holds_json, "
                                 "peaks_json, alerts, day, mine) VALUES (?, ?, ?, ?, ?, ?, ?, '2026-03-02', 1)", GOOD_ROW)
        history.conn.execute(f"UPDATE sessions SET {column} = ? WHERE id = 2", (value,))
    png = tmp_path / "bridge.png"
    runs = [(["history"], "1 session(s)"), (["history", "-e", "bridge", "--plot", str(png)], str(png))]
    for args, out_words in runs[:1] if column == "exercise" else runs:   # a bad id is not bridge's: not read
        assert main(args + ["--db", str(db)]) == 0
        out, err = capsys.readouterr()
        assert out_words in out
        (line,) = err.splitlines()
        assert line.startswith(f"coach: warning: {db}: session row 2: unreadable, skipped (") and words in line, line
    assert column == "exercise" or png.read_bytes().startswith(b"\x89PNG")


def test_a_database_that_cannot_take_the_session_is_one_output_error(db):
    """Disk full (the page limit is what SQLite reports as "database or disk is full") or a read-only
    database: an OutputError naming the database - never an sqlite3 error - and nothing half-stored."""
    with History(db) as history:
        history.add("live", "bridge", WHEN, 30.0, {"both": 1}, {}, 0)
        pages = history.conn.execute("PRAGMA page_count").fetchone()[0]
        history.conn.execute(f"PRAGMA max_page_count = {pages}")
        big = {"hip_left_deg": {f"side{n}": float(n) for n in range(5000)}}
        with pytest.raises(OutputError, match=rf"^{re.escape(str(db))}: cannot store the session .*full"):
            history.add("live", "bridge", WHEN, 30.0, {"both": 1}, big, 0)
        history.conn.execute("PRAGMA query_only = 1")
        with pytest.raises(OutputError, match=rf"^{re.escape(str(db))}: cannot store the session .*readonly"):
            history.add("live", "bridge", WHEN, 30.0, {"both": 1}, {}, 0)
        assert len(history.sessions()) == 1
    with pytest.raises(OutputError, match="cannot open the history database"):
        History(tmp_not_a_db(db))


def tmp_not_a_db(db):
    path = db.with_name("junk.sqlite")
    path.write_bytes(b"this is not an SQLite database\n" * 100)
    return path


# --- whose sessions -------------------------------------------------------------------------------

@pytest.mark.parametrize("flags, yours", [([], False), (["--mine"], True)], ids=["a recording", "--mine"])
def test_only_the_persons_own_analyses_count_toward_the_daily_limit(landmarks_dir, tmp_path, db, capsys, flags, yours):
    """A physio's batch of patients' clips must not say "rest it until tomorrow"; the user's own
    recording, said to be theirs, counts like a live session."""
    now = datetime.now().astimezone()
    with History(db) as history:   # the stretch was already done as often as advised today
        for n in range(MAX_SESSIONS_PER_DAY):
            history.add("live", "childs_pose", now - timedelta(seconds=n + 1), 20.0, {"both": 1}, {}, 0, "camera 0")
    rec = first_seconds(landmarks_dir / "childs_pose__01.jsonl.gz", tmp_path / "patient7.jsonl.gz", 3.0)
    args = ["analyze", str(rec), "--exercise", "childs_pose", "--out", str(tmp_path / "out"), "--no-video"]
    assert main(args + ["--db", str(db), *flags]) == 0
    err = capsys.readouterr().err
    assert ("rest it until tomorrow" in err) == yours and ("coach: warning" in err) == yours, err
    with History(db) as history:
        (analysed,) = [s for s in history.sessions() if s.kind == "analyze"]
        assert analysed.mine == yours and analysed.input_name == "patient7.jsonl.gz"
        assert history.count_on("childs_pose", now.date()) == MAX_SESSIONS_PER_DAY + yours
    assert main(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "patient7.jsonl.gz" in out and "camera 0" in out
    assert ("not yours" in out) == (not yours)


def test_analyze_help_says_what_mine_means(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--mine" in out and "the recording is of you" in out


def test_a_pain_stop_in_live_is_stored_and_shown(landmarks_dir, tmp_path, db, capsys):
    """The x key stops the session for pain; the history keeps it and `coach history` says so."""
    from coach.engine.exercises import get_exercise
    from coach.engine.routine import Routine
    from coach.history.sink import HistorySink
    from coach.render.display import NoWindow
    from coach.session.feed import open_feed
    from coach.session.live import LiveOptions, run_live

    class PainAt(NoWindow):
        def key(self):
            return "x" if self.shown == 30 else None

        def wait_key(self, timeout_s):
            return self.key()

    rec = first_seconds(landmarks_dir / "childs_pose__01.jsonl.gz", tmp_path / "childs.jsonl.gz", 4.0)
    history = HistorySink(str(db), "live", partial_too=True)
    result = run_live(open_feed(str(rec)), Routine("test", (get_exercise("childs_pose"),)), PainAt(),
                      LiveOptions(tmp_path / "live"), sinks=(history,))
    assert result.ended_by == "pain"
    assert history.warnings == []
    # a safety event in every place a clinician reads: the terminal, session.json and the report
    from coach.session.live import summary_lines

    pains = [a for a in result.report.alerts if a.rule == "pain_reported"]
    assert len(pains) == 1 and pains[0].severity == "stop", result.report.alerts
    lines = summary_lines(result)
    assert any(line.startswith("Alerts: 1") and "pain reported" in line for line in lines)
    assert sum("You reported pain" in line for line in lines) == 1, lines   # said once, first
    session = json.loads((tmp_path / "live" / "session.json").read_text())
    assert [a["rule"] for a in session["alerts"]] == ["pain_reported"]
    page = (tmp_path / "live" / "report.html").read_text()
    assert "No alerts" not in page and "No safety rule was triggered" not in page and "Pain reported" in page
    with History(db) as history:
        (s,) = history.sessions()
    assert (s.kind, s.mine, s.pain_stop, s.input_name) == ("live", True, True, "childs.jsonl.gz")
    capsys.readouterr()
    assert main(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "pain stop" in out and "childs.jsonl.gz" in out


def test_the_plot_is_of_the_persons_own_sessions(db, tmp_path, capsys):
    """A plot of range of motion over time is one person's progress: other people's recordings are
    listed, not drawn; with none of the person's own there is nothing to plot (one-line error)."""
    with History(db) as history:
        for day in range(3):
            history.add("analyze", "bridge", WHEN + timedelta(days=day), 30.0, {"both": 1},
                        {"hip_left_deg": {"both": 150.0 + day}}, 0, f"patient{day}.mp4", mine=False)
    png = tmp_path / "bridge.png"
    assert main(["history", "--db", str(db), "-e", "bridge", "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coach: error: no stored sessions of your own of 'bridge' to plot (3 not yours")
    assert len(err.splitlines()) == 1 and not png.exists()
    with History(db) as history:
        history.add("live", "bridge", WHEN + timedelta(days=4), 30.0, {"both": 2}, {"hip_left_deg": {"both": 160.0}}, 0)
    assert main(["history", "--db", str(db), "-e", "bridge", "--plot", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert main(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "4 session(s)" in out and out.count("not yours") == 4   # three rows and the note under the table


@pytest.mark.parametrize("kind, partial, partial_too, stored", [
    ("analyze", False, False, True),
    ("analyze", True, False, False),     # an interrupted analysis is not a session done
    ("live", True, True, True),          # a quit or interrupted live session was done (in part)
], ids=["a complete analysis", "a partial analysis", "a partial live session"])
def test_the_history_sink_stores_a_published_session_once(kind, partial, partial_too, stored, db):
    """Through the session loop: the session is stored when it is published, not before; once."""
    from coach import samples_dir
    from coach.engine.exercises import get_exercise
    from coach.history.sink import HistorySink
    from coach.io.sources import InputInfo
    from coach.pose.recording import Recording
    from coach.report.core import Summariser
    from coach.session.loop import Sink, run_session

    path = samples_dir() / "bridge.jsonl.gz"

    class Summary(Sink):
        def __init__(self):
            self.summary = Summariser(InputInfo(path.name, str(path), "recording", 30.0, (640, 480)))

        def segment(self, exercise, t_s, score):
            self.summary.start_segment(exercise, t_s, score)

        def frame(self, frame, pose_frame, verdict, measures=None):
            self.summary.add(verdict)

        def close(self, closed_partial):
            self.report, _ = self.summary.finish(partial=partial)

    history = HistorySink(db, kind, partial_too=partial_too)
    with contextlib.ExitStack() as flush:
        run_session(((None, f) for f in Recording(path).frames()), get_exercise("bridge"), [Summary(), history],
                    flush=flush)
        assert not db.exists(), "stored before the results were published"
    with History(db) as h:
        assert [(s.kind, s.exercise, s.pain_stop) for s in h.sessions()] == ([(kind, "bridge", False)] if stored else [])
    assert history.warnings == []


def test_an_interrupted_batch_keeps_its_complete_sessions_in_the_history(landmarks_dir, tmp_path, db, monkeypatch):
    """Ctrl-C during the second input of `coach analyze`: the first was published complete, so it is
    stored (the history sink stores each session once it is published); the partial second is not."""
    from coach.engine.core import Coach
    from coach.pose.recording import Recording

    rec = landmarks_dir / "cat_cow__01.jsonl.gz"
    first = Recording(rec).count_frames()
    real_update, calls = Coach.update, [0]

    def update(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] > first + 30:
            raise KeyboardInterrupt
        return real_update(self, *args, **kwargs)

    monkeypatch.setattr(Coach, "update", update)
    code = main(["analyze", str(rec), str(rec), "-e", "cat_cow", "--out", str(tmp_path / "out"), "-q", "--db", str(db)])
    assert code == 130
    with History(db) as history:
        assert [(s.kind, s.exercise) for s in history.sessions()] == [("analyze", "cat_cow")]


def test_a_signal_while_the_results_are_published_keeps_the_session_and_its_summary(landmarks_dir, tmp_path, db,
                                                                                       monkeypatch, capsys):
    """Ctrl-C after the last frame, while the result files are being written: the signal waits for
    the publication, and then the session is as whole as without it - stored in the history, its
    summary printed (saying nothing is partial) - and the command still exits 130."""
    import json
    import os
    import signal

    from coach.session.session_files import SessionFiles

    real_write = SessionFiles.write_summary

    def write_summary(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)   # delivered now, held back by the flush
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(SessionFiles, "write_summary", write_summary)
    rec = landmarks_dir / "cat_cow__01.jsonl.gz"
    code = main(["analyze", str(rec), "-e", "cat_cow", "--out", str(tmp_path / "out"), "--db", str(db)])
    assert code == 130
    session = json.loads((tmp_path / "out" / "cat_cow__01.coach" / "session.json").read_text())
    assert session["partial"] is False
    with History(db) as history:
        assert [(s.kind, s.exercise) for s in history.sessions()] == [("analyze", "cat_cow")]
    out = capsys.readouterr()
    assert "coach analyze (interrupted)" in out.out and "partial" not in out.out, out.out
    assert out.err.strip().splitlines()[-1] == "coach: interrupted", out.err


def test_an_input_analysed_again_is_plotted_once_as_last_analysed(db):
    """Analysing the same recording twice is one session done: it counts once toward the daily limit
    and is one point on the progress plot (the later analysis); a live session is always its own."""
    from coach.history.store import one_per_input, plot_figure

    with History(db) as history:
        history.add("analyze", "bridge", WHEN, 30.0, {"both": 1}, {"hip_left_deg": {"both": 150.0}}, 0, "a.mp4", mine=True)
        history.add("live", "bridge", WHEN + timedelta(hours=1), 30.0, {"both": 1}, {"hip_left_deg": {"both": 152.0}}, 0,
                    "a.mp4", mine=True)
        history.add("analyze", "bridge", WHEN + timedelta(hours=2), 30.0, {"both": 2}, {"hip_left_deg": {"both": 151.0}},
                    0, "a.mp4", mine=True)
        sessions = history.sessions("bridge")
    kept = one_per_input(sessions)
    assert [(s.kind, s.holds["both"]) for s in kept] == [("live", 1), ("analyze", 2)]
    fig = plot_figure(kept, "bridge")
    try:
        points = sum(len(line.get_xdata()) for line in fig.axes[0].get_lines() if line.get_gid() != "model change")
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    assert points == 2


def test_an_exercise_gone_back_to_in_one_session_is_one_session_of_it(landmarks_dir, tmp_path, db):
    """A routine that returns to child's pose (or restarts it) did one session of child's pose: one
    row, its segments' time and holds added up, and it counts once toward the daily limit (three
    segments of it counted three and warned 'rest it until tomorrow')."""
    from dataclasses import replace

    from coach.history.store import record_session
    from coach.session.analyze import AnalyzeOptions, analyze

    report = analyze(landmarks_dir / "childs_pose__01.jsonl.gz", tmp_path / "out", AnalyzeOptions(exercise="childs_pose"))
    (child,) = report.segments
    cat = replace(child, exercise="cat_cow", name="Cat-cow", holds_completed={"both": 0})
    segments = (child, cat, replace(child, holds_completed={"both": 2}), child)
    record_session(replace(report, segments=segments), "live", db, now=WHEN, pain_stop=True)
    with History(db) as history:
        rows = history.sessions()
        assert [(s.exercise, s.holds, s.pain_stop) for s in rows] == [
            ("childs_pose", {"both": 2 * child.holds_completed["both"] + 2}, True), ("cat_cow", {"both": 0}, False)]
        assert rows[0].duration_s == pytest.approx(3 * (child.end_s - child.start_s), abs=0.05)
        assert history.count_on("childs_pose", WHEN.date()) == 1


def test_an_exercise_reached_and_never_done_is_not_a_session_of_it(landmarks_dir, tmp_path):
    """A routine of a bridge then a supine twist, on a bridge recording: the twist is reached (its
    segment runs) but no side of it is done - it was stored, counted toward the daily limit ("4
    sessions ... rest it until tomorrow" on the 4th run) and plotted peaks of a twist never done."""
    from coach.engine.core import Coach
    from coach.engine.exercises import get_exercise
    from coach.history.store import record_session
    from coach.io.sources import InputInfo
    from coach.pose.recording import Recording
    from coach.report.core import Summariser

    rec = Recording(landmarks_dir / "tracked" / "bridge__01.jsonl.gz")
    frames = list(rec.frames())
    summary = Summariser(InputInfo("b", "b", "recording", rec.info.fps, (rec.info.width, rec.info.height)))
    half = len(frames) // 2
    for index, (exercise_id, part) in enumerate((("bridge", frames[:half]), ("supine_twist", frames[half:]))):
        exercise = get_exercise(exercise_id)
        summary.start_segment(exercise, part[0].t_s, routine_index=index)
        coach = Coach(exercise)
        for pf in part:
            summary.add(coach.update(pf.pose, pf.t_s, others=pf.others))
    report = summary.finish()[0]
    assert [s.sides_done for s in report.segments][1] == (), report.segments[1]
    db = tmp_path / "h.sqlite"
    record_session(report, "live", db)
    with History(db) as history:
        assert [s.exercise for s in history.sessions()] == ["bridge"]
    record_session(report, "live", db, pain_stop=True)   # a pain stop on it is kept: the stop is the record
    with History(db) as history:
        assert sorted(s.exercise for s in history.sessions()) == ["bridge", "bridge", "supine_twist"]
    # outside a live session (analyze, compare: no routine) an attempt is stored whatever it did
    analyzed = dataclasses.replace(report, segments=tuple(dataclasses.replace(s, routine_index=None)
                                                          for s in report.segments))
    record_session(analyzed, "analyze", db)
    with History(db) as history:
        assert sorted(s.exercise for s in history.sessions() if s.kind == "analyze") == ["bridge", "supine_twist"]


def test_listing_a_database_that_does_not_exist_creates_none(tmp_path, capsys):
    """`coach history --db mistyped.sqlite` listed 0 sessions and left an empty database behind."""
    from coach.cli import main

    db = tmp_path / "mistyped.sqlite"
    assert main(["history", "--db", str(db)]) == 0
    assert "0 session(s)" in capsys.readouterr().out and not db.exists()
    assert main(["history", "--db", str(db), "--exercise", "nosuch"]) == 2 and not db.exists()
