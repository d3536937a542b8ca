"""`coach live` runs the offline default model (full) when this machine keeps real time with it, and
lite only when it must: the model is timed on the input's first frame (a real picture, the real
model) and the median compared with the live budget. A budget set through $COACH_LIVE_BUDGET_MS makes
the outcome deterministic: 10 s a frame is a budget every model meets, 1 us one none does - the
measurement stays real. A model named with --model is never replaced. The screen, the terminal and
session.json say which model ran and why; a recording runs no model and says which one made it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_live import write_video

from coach.cli import main
from coach.engine.exercises import get_exercise
from coach.engine.routine import Routine
from coach.history.store import History
from coach.pose.detector import PoseDetector
from coach.session.feed import Captured, open_feed
from coach.session.live import input_info
from coach.session.live_model import BUDGET_ENV, choose_live_model, replaying_first
from coach.session.live_session import LiveOptions, LiveSession

FULL, LITE = "pose_landmarker_full.task", "pose_landmarker_lite.task"
EVERY_MODEL_FITS_MS = "10000"   # 10 s a frame: no model on any machine misses it
NO_MODEL_FITS_MS = "0.001"      # 1 us a frame: no model on any machine meets it
PHOTOS = (("knee_to_chest__Hug_Knees_To_Chest__0.jpg", 1.5), ("knee_to_chest__Hug_Knees_To_Chest__1.jpg", 3.0))
FPS = 10.0


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def video(photos_dir, tmp_path) -> Path:
    """4.5 s at 10 frames/s: the start position, then the hug (knee to chest) held."""
    return write_video(tmp_path / "k2c.mp4", [(photos_dir / name, s) for name, s in PHOTOS], fps=FPS)


def _live(source: Path, out: Path, *more: str) -> int:
    (out.parent / "r.toml").write_text('name = "t"\n[[exercise]]\nid = "knee_to_chest"\nhold_s = 1\n'
                                       'reps_per_side = 1\n')
    history = () if "--db" in more else ("--no-history",)
    return main(["live", "--routine", str(out.parent / "r.toml"), "--source", str(source), "--no-window",
                 "--answers", "no", "--mute", *history, "-o", str(out), *more])


@pytest.mark.model
@pytest.mark.parametrize("budget, named, model, fell_back, measured, warning", [
    (EVERY_MODEL_FITS_MS, None, FULL, False, {FULL}, None),
    (NO_MODEL_FITS_MS, None, LITE, True, {FULL, LITE}, "the full model took"),
    (NO_MODEL_FITS_MS, "full", FULL, False, {FULL}, "the full model takes"),
    (EVERY_MODEL_FITS_MS, "lite", LITE, False, {LITE}, None),
], ids=["default-fits:full", "default-too-slow:lite", "named-full-never-falls-back", "named-lite"])
def test_the_live_model_is_full_unless_it_is_measured_too_slow(video, tmp_path, monkeypatch, capsys, model_path,
                                                               budget, named, model, fell_back, measured, warning):
    monkeypatch.setenv("COACH_MODEL_DIR", str(model_path.parent))
    monkeypatch.setenv(BUDGET_ENV, budget)
    out, db = tmp_path / "out", tmp_path / "history.sqlite"
    assert _live(video, out, "-q", "--db", str(db), *(("--model", named) if named else ())) == 0
    err = capsys.readouterr().err
    with History(db) as history:
        assert [s.model for s in history.sessions()] == [model], "the history stores the model that ran"
    data = json.loads((out / "session.json").read_text())
    choice = data["model_choice"]
    assert data["input"]["model"] == choice["model"] == model, "the session names the model it was coached with"
    assert choice["fell_back"] is fell_back and choice["requested"] == named and choice["default"] == "full"
    assert choice["budget_ms"] == float(budget) and set(choice["measured_ms"]) == measured
    assert all(ms > float(NO_MODEL_FITS_MS) for ms in choice["measured_ms"].values()), "a real measurement"
    assert data["segments"][0]["status"] == "completed", "the session itself runs as before"
    assert err == "", "with -q a session that goes well prints nothing (the screen and session.json say it)"
    if warning is None:
        assert choice["reason"] is None
    else:
        assert choice["reason"].startswith(warning)
        assert f"over the {float(budget):g} ms live budget" in choice["reason"]
    if fell_back:
        assert "coaching with the lite model" in choice["reason"] and "lite is over the budget too" in choice["reason"]


@pytest.mark.model
@pytest.mark.parametrize("budget, tag, notice", [
    (EVERY_MODEL_FITS_MS, "full model  |", ""),
    (NO_MODEL_FITS_MS, "lite model (full too slow)  |", "lite model: full took"),
], ids=["full-fits", "fell-back"])
def test_the_screen_says_which_model_runs_and_why(video, tmp_path, model_path, monkeypatch, budget, tag, notice):
    """The status line names the model throughout; before coaching starts, the reason for a
    fallback stands above the framing prompt."""
    monkeypatch.setenv("COACH_MODEL_DIR", str(model_path.parent))
    feed = open_feed(str(video), detect=False)
    try:
        detector, choice, feed = choose_live_model(feed, None, lambda p: PoseDetector(p, "video"),
                                                   budget=float(budget), progress=False)
        first = next(feed.items())
        detector.close()
    finally:
        feed.close()
    assert first.index == 0, "the measured first frame is handed on"
    info = input_info(feed, detector)
    assert info.model == choice.model
    session = LiveSession(Routine.single(get_exercise("knee_to_chest")), LiveOptions(tmp_path / "o", model=choice),
                          info)
    session.render(Captured(first.t_s, first.index, first.rgb))
    assert tag in session.status_text
    assert session.notice_text.startswith(notice) and (session.notice_text == "") == (notice == "")


def test_a_recording_runs_no_model_and_says_which_made_it(landmarks_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(BUDGET_ENV, NO_MODEL_FITS_MS)   # nothing is timed: no warning either
    out = tmp_path / "out"
    assert _live(landmarks_dir / "childs_pose__01.jsonl.gz", out, "-q") == 0
    assert capsys.readouterr().err == ""
    choice = json.loads((out / "session.json").read_text())["model_choice"]
    assert choice["model"] == FULL and choice["measured_ms"] == {} and choice["fell_back"] is False


@pytest.mark.parametrize("value", ["fast", "0", "-5", "nan", "inf"])
def test_a_bad_budget_is_a_one_line_error(landmarks_dir, tmp_path, monkeypatch, capsys, value):
    monkeypatch.setenv(BUDGET_ENV, value)
    assert _live(landmarks_dir / "childs_pose__01.jsonl.gz", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"coach: error: {BUDGET_ENV}: expected a number of milliseconds > 0") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_the_measured_first_frame_is_not_lost(video):
    """A file is analysed frame by frame: the frame the model was timed on comes again, once."""
    with open_feed(str(video), detect=False) as feed:
        first, again = replaying_first(feed)
        indices = [item.index for item in again.items()]
    assert first.index == 0 and indices == list(range(round(sum(s for _, s in PHOTOS) * FPS)))

