"""Session history: analyze and live sessions are stored and listed, plotted per side over time, the
schema upgrade from v1 keeps the data, and the same stretch done too often in a day warns."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from demo_data import first_seconds

from coach.cli import main
from coach.history import (
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



def test_live_stores_a_session_that_history_lists_and_warns_of_overuse(landmarks_dir, tmp_path, db, capsys):
    now = datetime.now().astimezone()
    with History(db) as history:   # the stretch was already done as often as advised today
        for n in range(MAX_SESSIONS_PER_DAY):
            history.add("analyze", "childs_pose", now - timedelta(seconds=n + 1), 20.0, {"both": 1}, {}, 0)
    rec = str(first_seconds(landmarks_dir / "childs_pose__01.jsonl.gz", tmp_path / "childs.jsonl.gz", 6.0))
    args = ["live", "--exercise", "childs_pose", "--source", rec, "--no-window", "--answers", "no", "--mute"]
    assert main(args + ["-o", str(tmp_path / "live"), "--db", str(db)]) == 0
    err = capsys.readouterr().err
    assert f"coach: warning: childs_pose: {MAX_SESSIONS_PER_DAY + 1} sessions on {now.date().isoformat()}" in err
    assert main(args + ["-o", str(tmp_path / "again"), "--db", str(db), "--no-history"]) == 0
    with History(db) as history:
        sessions = history.sessions("childs_pose")
    assert [s.kind for s in sessions].count("live") == 1, "stored once: not with --no-history"
    live = next(s for s in sessions if s.kind == "live")
    assert live.source == rec and live.duration_s == pytest.approx(5.0, abs=0.5) and set(live.holds) == {"both"}
    assert live.peaks and all(set(v) == {"both"} for v in live.peaks.values())
    capsys.readouterr()
    assert main(["history", "--db", str(db), "--exercise", "childs_pose"]) == 0
    out = capsys.readouterr().out
    assert f"{MAX_SESSIONS_PER_DAY + 1} session(s)" in out and "live" in out


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


def test_the_v1_to_v2_upgrade_keeps_the_sessions(db):
    with History(db, migrate_to=1) as old:
        assert schema_version(old.conn) == 1
        with old.conn:
            old.conn.execute("INSERT INTO sessions (kind, exercise, started_at, duration_s, holds_json, peaks_json, "
                             "alerts) VALUES ('live', 'bridge', '2026-03-02T09:30:00+01:00', 31.5, '{\"both\": 3}', "
                             "'{\"trunk_inclination_deg\": {\"both\": 118.0}}', 2)")
        columns = [r[1] for r in old.conn.execute("PRAGMA table_info(sessions)")]
        assert "day" not in columns
    with History(db) as new:
        assert schema_version(new.conn) == SCHEMA_VERSION == 2
        (s,) = new.sessions()
        assert (s.kind, s.exercise, s.duration_s, s.holds, s.alerts) == ("live", "bridge", 31.5, {"both": 3}, 2)
        assert s.peaks == {"trunk_inclination_deg": {"both": 118.0}} and s.started_at == WHEN
        assert new.count_on("bridge", WHEN.date()) == 1   # the new day column was filled from the old rows
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 9")
    with pytest.raises(Exception, match="newer than this coach knows"):
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
    from coach.analyze import AnalyzeOptions, analyze

    report = analyze(landmarks_dir / "cat_cow__01.jsonl.gz", tmp_path / "a", AnalyzeOptions("cat_cow", video=False))
    again = tmp_path / "again.sqlite"
    warnings = [record_session(report, "analyze", again, now=WHEN + timedelta(minutes=n)) for n in range(4)]
    assert warnings == [[], [], [], []]  # re-analysing the same video is not doing the stretch again
    other = tmp_path / "other.sqlite"
    warnings = []
    for n in range(4):
        copy = tmp_path / f"day{n}.jsonl.gz"
        copy.write_bytes((landmarks_dir / "cat_cow__01.jsonl.gz").read_bytes())
        report = analyze(copy, tmp_path / f"out{n}", AnalyzeOptions("cat_cow", video=False))
        warnings.append(record_session(report, "analyze", other, now=WHEN + timedelta(minutes=n)))
    assert warnings[:3] == [[], [], []] and len(warnings[3]) == 1 and "cat_cow: 4 sessions" in warnings[3][0]


def test_plot_lines_of_different_measures_or_sides_look_different():
    """Three measures on the one side `both` were drawn in one colour and marker: indistinguishable."""
    keys = [("hip left", "both"), ("hip right", "both"), ("trunk inclination", "both"),
            ("knee", "left"), ("knee", "right"), ("", "left"), ("", "right")]
    styles = line_styles(keys)
    assert len(set(styles.values())) == len(keys)
    assert len({styles[k][0] for k in keys[:3]}) == 3                 # a colour per measure
    assert styles[("knee", "left")][0] == styles[("knee", "right")][0]   # one measure, two sides: one colour,
    assert styles[("knee", "left")][1:] != styles[("knee", "right")][1:]  # told apart by marker and dash
