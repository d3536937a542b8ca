"""`coach live` without a camera: the headless loop on shared recordings and on a video written from
the shared photos (lite model), --realtime pacing, scripted keys, a camera that disconnects, routine
files, the single-slot mailbox, and the red-flag screening (a "yes" blocks without --clinician)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from videos import video_header

from coach.engine.exercises import get_exercise
from coach.engine.routine import Routine, RoutineError, apply_overrides, load_routine
from coach.engine.verdict import EventKind
from coach.errors import InputError
from coach.io.background import LATEST, LOSSLESS, Mailbox
from coach.io.sources import InputInfo
from coach.pose.recording import Recording, RecordingWriter
from coach.render.display import NoWindow
from coach.session.feed import Captured, Feed, open_feed, paced
from coach.session.live import LiveOptions, run_live, summary_lines
from coach.session.live_session import KEY_HELP, KEYS, PAIN_ADVICE, PAIN_RULE, Action, LiveSession
from coach.session.screening import (
    ScreeningBlocked,
    ScreeningNotAnswered,
    enforce,
    questions_for,
    remembered,
    screen,
    terminal_asker,
)

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_ROUTINE = REPO / "exercises" / "routines" / "gentle_back.toml"
CHILDS_POSE = "childs_pose__01.jsonl.gz"   # kneeling side-on, holding the pose from 0.4 s to the end (20.4 s)


class ScriptedKeys(NoWindow):
    """A headless display whose keys are scripted: `keys[n]` is pressed after the n-th frame shown."""

    def __init__(self, keys: dict[int, str]):
        super().__init__()
        self.keys = dict(keys)
        self.fullscreen_calls: list[bool] = []

    def key(self) -> str | None:
        return self.keys.pop(self.shown, None)

    def wait_key(self, timeout_s: float) -> str | None:
        return self.key()

    def set_fullscreen(self, on: bool) -> None:
        self.fullscreen_calls.append(on)


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_STATE_DIR", str(tmp_path / "state"))


def routine(*items: tuple[str, dict]) -> Routine:
    from coach.engine.routine import RoutineItem

    return Routine("test", tuple(apply_overrides(get_exercise(i), RoutineItem(id=i, **o)) for i, o in items))


def started(result) -> list[str]:
    return [e.details["exercise"] for e in result.events if e.kind == EventKind.EXERCISE_STARTED]


def kinds(result) -> list[str]:
    return [e.kind.value for e in result.events]


# --- the headless loop on a shared recording ------------------------------------------------------

class HeardSounds:
    def __init__(self):
        self.played: list[str] = []

    def play(self, name: str) -> bool:
        self.played.append(name)
        return True


def test_recording_is_coached_to_completion_and_saved_like_analyze(landmarks_dir, tmp_path):
    out = tmp_path / "session"
    plan = routine(("childs_pose", {"hold_s": 2.0, "reps_per_side": 1}))
    sounds = HeardSounds()
    result = run_live(open_feed(str(landmarks_dir / CHILDS_POSE)), plan, NoWindow(), LiveOptions(out), sounds=sounds)
    assert result.ended_by == "done"
    assert sounds.played == ["hold_complete"]
    k = kinds(result)
    assert k.count("hold_completed") == 1 and k.count("rep_completed") == 1 and "exercise_completed" in k
    first_hold = next(e for e in result.events if e.kind == EventKind.HOLD_STARTED)
    assert first_hold.t_s >= 1.0, "coaching starts only after the 1 s framing step"
    data = json.loads((out / "session.json").read_text())
    assert data["segments"][0]["status"] == "completed" and data["reps"] == {"both": 1}
    assert [h["completed"] for h in data["holds"]] == [True]
    assert data["partial"] is False and data["input"]["kind"] == "recording"
    assert (out / "report.html").stat().st_size > 1000 and (out / "frames.csv").exists()
    assert not (out / "annotated.mp4").exists() and not (out / "landmarks.jsonl.gz").exists()
    assert set(data["outputs"]) == {p.name for p in out.iterdir()} == {"frames.csv", "session.json", "report.html"}
    assert any("Child's pose: completed" in line for line in summary_lines(result))


def test_staying_in_the_position_after_the_rest_is_not_the_next_rep(landmarks_dir, tmp_path):
    """The child's pose recording holds the pose from 0.4 s to its end (20.4 s): coached as 2 reps of
    2 s with a 1 s rest, that is one rep - the person never came out of the stretch - and the coach asks
    them to (the second rep was counted inside the same hold before)."""
    plan = routine(("childs_pose", {"hold_s": 2.0, "reps_per_side": 2, "rest_s": 1.0}))
    result = run_live(open_feed(str(landmarks_dir / CHILDS_POSE)), plan, NoWindow(), LiveOptions(tmp_path / "out"))
    k = kinds(result)
    assert result.ended_by == "source_ended" and k.count("rep_completed") == 1 and "rest_ended" not in k, k
    seg = result.report.segments[0]
    assert seg.status == "resting" and seg.reps == {"both": 1} and seg.holds_completed == {"both": 1}
    assert result.events[-1].kind == EventKind.REST_STARTED, result.events[-1]


def test_realtime_paces_a_recording_like_a_camera(landmarks_dir, tmp_path):
    short = tmp_path / "short.jsonl.gz"
    rec = Recording(landmarks_dir / CHILDS_POSE)
    with RecordingWriter(short, rec.info) as writer:
        for pf in rec.frames():
            if pf.t_s >= 1.5:
                break
            writer.write(pf)
    result = run_live(open_feed(str(short)), routine(("childs_pose", {})), NoWindow(),
                      LiveOptions(tmp_path / "out", realtime=True, framing_hold_s=0.2))
    assert result.ended_by == "source_ended"
    assert result.wall_s >= 1.4, f"1.5 s of frames played in {result.wall_s:.2f} s: not paced"
    assert result.frames_captured == writer.frames_written
    assert result.frames_analysed + result.frames_dropped >= result.frames_captured


# --- keys -----------------------------------------------------------------------------------------

def test_pause_then_pain_stops_and_records_it(landmarks_dir, tmp_path):
    display = ScriptedKeys({40: "space", 90: "space", 120: "x"})
    result = run_live(open_feed(str(landmarks_dir / CHILDS_POSE)), routine(("childs_pose", {}), ("cat_cow", {})),
                      display, LiveOptions(tmp_path / "out"))
    assert result.ended_by == "pain"
    # the exercise after it: why in words, not the stop's advice ("not reached: if it doesn't release ...")
    assert [(e.outcome, e.reason) for e in result.routine] == [
        ("stopped", PAIN_ADVICE), ("skipped", "not reached: the session stopped at Child's pose (pain reported)")]
    stop = [e for e in result.events if e.kind == EventKind.EXERCISE_STOPPED]
    assert len(stop) == 1 and stop[0].details["rules"] == (PAIN_RULE,)
    seg = result.report.segments[0]
    assert seg.status == "stopped" and seg.advice == PAIN_ADVICE
    assert result.report.frames <= result.frames_analysed - 40, "frames analysed while paused were coached"
    assert json.loads((tmp_path / "out" / "session.json").read_text())["segments"][0]["status"] == "stopped"


def test_next_previous_restart_and_quit(landmarks_dir, tmp_path):
    display = ScriptedKeys({50: "n", 100: "p", 150: "r", 200: "q"})
    plan = routine(("childs_pose", {}), ("cat_cow", {}))
    result = run_live(open_feed(str(landmarks_dir / CHILDS_POSE)), plan, display, LiveOptions(tmp_path / "out"))
    assert started(result) == ["childs_pose", "cat_cow", "childs_pose", "childs_pose"]
    assert result.ended_by == "quit" and result.report.partial
    assert [s.exercise for s in result.report.segments] == started(result)


def test_an_interrupted_routine_says_so_once_for_the_exercise_it_stopped():
    """The reason read "the session ended: Stopped: interrupted."; the one not reached says it plainly too."""
    from coach.session.live import input_info

    feed = Feed(InputInfo("camera 0", "0", "camera", 30.0, (320, 240)), lambda: iter(()))
    session = LiveSession(routine(("childs_pose", {}), ("cat_cow", {})), LiveOptions(Path("unused")), input_info(feed))
    session.end("interrupted", "Stopped: interrupted.")
    current, after = session.routine_summary()
    assert (current.outcome, current.reason) == ("skipped", "never framed (Step into view of the camera); "
                                                            "the session was interrupted"), current
    assert after.reason == "not reached: the session was interrupted", after


def test_every_action_has_a_key_and_the_help_names_it():
    assert set(KEYS.values()) == set(Action)
    for key in ("space", "n/p", "r", "m", "f", "+/-", "x", "q"):
        assert key in KEY_HELP


def test_mirror_fullscreen_text_and_plot_keys_change_the_session(tmp_path):
    from coach.session.live import input_info

    feed = Feed(InputInfo("camera 0", "0", "camera", 30.0, (320, 240)), lambda: iter(()))
    session = LiveSession(routine(("childs_pose", {})), LiveOptions(tmp_path), input_info(feed))
    display = ScriptedKeys({})
    ramp = np.linspace(0, 255, 320).astype(np.uint8)   # dark on the left, bright on the right
    frame = Captured(0.0, 0, np.ascontiguousarray(np.tile(ramp[None, :, None], (240, 1, 3))))
    plain = session.render(frame)
    for key in ("m", "f", "+", "+", "g"):
        session.on_action(KEYS[key], display)
    assert session.mirror and session.plot and display.fullscreen_calls == [True]
    assert session.overlay.style.text_scale == pytest.approx(1.15 ** 2)
    mirrored = session.render(frame)
    y, x = 175, 2   # left of every panel, between the prompt and the cue strip
    assert plain[y, x, 0] < 10 and mirrored[y, x, 0] > 240, "the mirrored picture shows its right edge on the left"


def test_presentation_mode_uses_larger_text_and_the_envelope_numbers(tmp_path):
    from coach.session.live import input_info

    feed = Feed(InputInfo("camera 0", "0", "camera", 30.0, (320, 240)), lambda: iter(()))
    session = LiveSession(routine(("childs_pose", {})), LiveOptions(tmp_path, present=True), input_info(feed))
    assert session.overlay.style.presentation and session.overlay.style.text_scale > 1.0
    assert all(any(g.band_text) for g in session.overlay.gauges(None))


# --- sound ------------------------------------------------------------------------------------------

def test_sounds_never_fail_and_honour_mute(tmp_path):
    from coach.render.sound import CUES, Sounds, tone_samples

    assert len(tone_samples(CUES["hold_complete"])) == 2 * round(0.12 * 22050) + 2 * round(0.22 * 22050)
    with Sounds(mute=True) as muted:
        assert muted.play("stop") is False
    with Sounds(player=str(tmp_path / "no-such-player")) as broken:
        assert broken.play("caution") is False
    with Sounds(player="true") as fine:
        assert fine.play("hold_complete") is True
    with pytest.raises(ValueError, match="unknown cue"):
        Sounds(mute=True).play("fanfare")


# --- the lite model on a video written from the shared photos --------------------------------------

def write_video(path: Path, photos: list[tuple[Path, float]], fps: float = 10.0, size=(640, 480)) -> Path:
    import cv2

    from coach.io.sources import read_image

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    try:
        for photo, seconds in photos:
            bgr = cv2.cvtColor(cv2.resize(read_image(photo), size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
            for _ in range(round(seconds * fps)):
                writer.write(bgr)
    finally:
        writer.release()
    return path


@pytest.mark.model
def test_video_from_photos_with_the_lite_model_records_and_saves_video(photos_dir, lite_model_path, tmp_path,
                                                                       monkeypatch, capsys):
    from coach.cli import main

    video = write_video(tmp_path / "k2c.mp4", [(photos_dir / "knee_to_chest__Hug_Knees_To_Chest__0.jpg", 1.5),
                                               (photos_dir / "knee_to_chest__Hug_Knees_To_Chest__1.jpg", 3.0)])
    (tmp_path / "r.toml").write_text('name = "t"\n[[exercise]]\nid = "knee_to_chest"\nhold_s = 1\nreps_per_side = 1\n')
    out = tmp_path / "out"
    code = main(["live", "--routine", str(tmp_path / "r.toml"), "--source", str(video), "--no-window", "--answers",
                 "no", "--model", str(lite_model_path), "-o", str(out), "--record", "--save-video", "--mute"])
    assert code == 0
    data = json.loads((out / "session.json").read_text())
    assert data["segments"][0]["status"] == "completed"
    assert [h["phase"] for h in data["holds"] if h["completed"]] == ["hug"]
    assert data["holds"][0]["start_s"] >= 1.5, "the hold starts on the hug photo, not the start photo"
    frames = list(Recording(out / "landmarks.jsonl.gz").frames())
    assert len(frames) == data["frames"] and all(not f.pose.is_empty for f in frames)
    assert data["input"]["model"] == lite_model_path.name, "the session names the model it was coached with"
    assert Recording(out / "landmarks.jsonl.gz").info.model == lite_model_path.name
    info = video_header(out / "annotated.mp4")
    assert info.size_px == (640, 480) and info.frame_count >= len(frames)
    assert json.loads((out / "screening.json").read_text())["source"] == "scripted"
    assert "Knee-to-chest" in capsys.readouterr().out


# --- a camera that disconnects ----------------------------------------------------------------------

def test_a_camera_that_disconnects_ends_the_session_with_the_summary_saved(landmarks_dir, tmp_path):
    rec = Recording(landmarks_dir / CHILDS_POSE)

    def items():
        for pf in rec.frames():
            if pf.t_s > 3.0:
                raise InputError("camera 0: stopped sending frames")
            time.sleep(0.004)
            yield Captured(pf.t_s, pf.index, None, pf)

    feed = Feed(InputInfo("camera 0", "0", "camera", 25.0, (720, 1280)), items)
    result = run_live(feed, routine(("childs_pose", {})), NoWindow(), LiveOptions(tmp_path / "out"))
    assert result.ended_by == "source_lost" and "stopped sending frames" in result.message
    data = json.loads((tmp_path / "out" / "session.json").read_text())
    assert data["partial"] is True and data["input"]["kind"] == "camera" and data["frames"] > 0
    assert (tmp_path / "out" / "report.html").exists()


# --- the mailbox and pacing ---------------------------------------------------------------------------

def test_latest_frame_keeps_only_the_newest_and_counts_the_dropped():
    box = Mailbox(1, LATEST)
    for i in range(5):
        box.put(i)
    assert box.take_nowait() == 4 and box.dropped == 4 and box.take_nowait() is None


def test_lossless_mailbox_waits_instead_of_dropping():
    box, stop, got = Mailbox(1, LOSSLESS), threading.Event(), []
    thread = threading.Thread(target=lambda: [box.put(i, stop) for i in range(20)])
    thread.start()
    try:
        while len(got) < 20:
            item = box.take(stop, timeout_s=2.0)
            assert item is not None
            got.append(item)
    finally:
        stop.set()
        thread.join()
    assert got == list(range(20)) and box.dropped == 0


def test_paced_releases_frames_at_their_timestamps():
    items = [Captured(t, i) for i, t in enumerate((10.0, 10.1, 10.3))]
    start = time.monotonic()
    times = [time.monotonic() - start for _ in paced(items, threading.Event())]
    assert times[2] >= 0.29 and times[1] >= 0.09


# --- routine files ------------------------------------------------------------------------------------

def test_example_routine_loads_with_its_overrides():
    plan = load_routine(EXAMPLE_ROUTINE)
    assert [e.id for e in plan.exercises] == ["cat_cow", "childs_pose", "knee_to_chest"]
    assert plan.exercises[0].reps_per_side == 4 and plan.exercises[1].phases[0].hold_s == 20


@pytest.mark.parametrize("body, expected", [
    ('name = "x"\n[[exercise]]\nid = "childs_pose"\nhold = 3\n', "exercise #1 (childs_pose).hold: Extra inputs"),
    ('name = "x"\n[[exercise]]\nid = "no_such"\n', "exercise #1 (no_such).id: unknown exercise 'no_such'"),
    ('name = "x"\n[[exercise]]\nid = "childs_pose"\nreps_per_side = 0\n', "exercise #1 (childs_pose).reps_per_side"),
    ('name = "x"\n', "exercise: Field required"),
    ((REPO / "exercises" / "bridge.toml").read_text(), "an exercise file (it has [[phases]]; give it to --exercise), "
                                                        "not a routine file"),
    ('name = "x"\n[[exercise]]\nid = "childs_pose"\n[[exercise]]\nid = "bridge"\nhold_s = "20"\n',
     "exercise #2 (bridge).hold_s: Input should be a valid number"),   # not read as 20 s
    ('name = "x"\n[[exercise]]\nid = "bridge"\nreps_per_side = true\n', "exercise #1 (bridge).reps_per_side"),
    # the bounds of the exercise file, named by this file's key (was "exercise #1 (bridge): phases #1.hold_s")
    ('name = "x"\n[[exercise]]\nid = "bridge"\nhold_s = 1e9\n',
     "exercise #1 (bridge).hold_s: Input should be less than or equal to 600"),
    ('name = "x"\n[[exercise]]\nid = "bridge"\nhold_s = 1e-9\n',   # shorter than the hold timer can tell
     "exercise #1 (bridge).hold_s: Input should be greater than or equal to 1"),
    ('name = "x"\n[[exercise]]\nid = "bridge"\nhold_s = nan\n', "exercise #1 (bridge).hold_s: Input should be a finite number"),
    ('name = "x\\u001b[31mRED"\n[[exercise]]\nid = "bridge"\n', "name: holds the control character U+001B"),
])
def test_bad_routine_files_name_the_file_and_the_key(tmp_path, body, expected):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(RoutineError) as err:
        load_routine(path)
    assert str(err.value).startswith(str(path)) and expected in str(err.value)


# --- screening ----------------------------------------------------------------------------------------

def no_input(prompt: str) -> str:
    raise EOFError


def answers(*replies: str):
    it = iter(replies)
    return lambda prompt: next(it)


def test_a_yes_blocks_without_clinician_and_not_with_one():
    ex = [get_exercise("childs_pose")]
    n = len(questions_for(ex))
    result = screen(ex, terminal_asker(read=answers("n", "maybe", "y", *["n"] * n), write=lambda s: None))
    told: list[str] = []
    with pytest.raises(ScreeningBlocked) as err:
        enforce(result, clinician=False, tell=told.append)
    assert err.value.exit_code == 3 and "professional" in told[0]
    (flag,) = result.yes   # the refusal names the question in its words, never the flag's id
    assert f'you answered yes to "{flag.question}"' in str(err.value) and flag.id not in str(err.value)
    enforce(result, clinician=True, tell=told.append)
    assert "Supervised" in told[-1]


def test_answers_are_remembered_for_the_day_and_no_input_is_not_a_no():
    from coach.session.screening import remember

    ex = [get_exercise("childs_pose")]
    with pytest.raises(ScreeningNotAnswered):
        screen(ex, terminal_asker(read=no_input), today="2030-01-01")
    first = screen(ex, terminal_asker(read=lambda p: "n"), today="2030-01-01")
    remember(first)
    again = screen(ex, None, today="2030-01-01")
    assert again.source == "remembered" and not again.yes
    assert remembered("2030-01-02") == {}, "yesterday's answers are not today's"
    neck = screen([get_exercise("neck_side_bend")], terminal_asker(read=lambda p: "n"), today="2030-01-01")
    assert "neck_dizziness" in neck.answers and neck.source == "terminal"


def test_a_remembered_yes_to_another_exercises_question_does_not_answer_this_ones():
    """A "yes" given today to a back-only question (pain down a leg, before a bridge) decides nothing
    for a neck stretch: with no input, its own dizziness question is unanswered and coaching does not
    start (it started, the question never asked)."""
    from coach.session.screening import remember

    back, neck = [get_exercise("bridge")], [get_exercise("neck_side_bend")]
    back_only = [f.id for f in questions_for(back) if f.id not in {g.id for g in questions_for(neck)}]
    assert back_only, "the test needs a question the bridge asks and the neck stretch does not"
    replies = ["y" if f.id == back_only[0] else "n" for f in questions_for(back)]
    remember(screen(back, terminal_asker(read=answers(*replies), write=lambda s: None), today="2030-01-01"))
    with pytest.raises(ScreeningNotAnswered):
        screen(neck, terminal_asker(read=no_input, write=lambda s: None), today="2030-01-01")


def test_a_scripted_no_does_not_erase_a_yes_given_today():
    """`--answers no` after a "yes" the same day still blocks (it used to replace the remembered yes);
    `--rescreen` asks again."""
    from coach.session.screening import remember

    ex = [get_exercise("childs_pose")]
    n = len(questions_for(ex))
    remember(screen(ex, terminal_asker(read=answers("y", *["n"] * n), write=lambda s: None), today="2030-01-01"))
    scripted = screen(ex, None, scripted="no", today="2030-01-01")
    assert [f.id for f in scripted.yes] == [questions_for(ex)[0].id]
    with pytest.raises(ScreeningBlocked):
        enforce(scripted, clinician=False, tell=lambda s: None)
    remember(scripted)
    assert remembered("2030-01-01")[questions_for(ex)[0].id] is True, "the yes is still remembered"
    assert not screen(ex, None, scripted="no", today="2030-01-01", rescreen=True).yes


@pytest.mark.parametrize("stdin, code, message", [(None, 2, "not answered"), ("y\n", 3, "red flag")])
def test_the_command_refuses_to_start_without_answers_or_on_a_yes(tmp_path, stdin, code, message):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "coach", "live", "--exercise", "childs_pose", "--source",
                           str(tmp_path / "never-opened.mp4"), "--no-window", "-o", str(out)],
                          input=stdin, stdin=subprocess.DEVNULL if stdin is None else None, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COACH_STATE_DIR": str(tmp_path / "state")})
    assert done.returncode == code, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_window_questions_are_answered_with_keys():
    from coach.cli.live import window_asker
    from coach.render.overlay import OverlayStyle

    ex = [get_exercise("childs_pose")]
    n = len(questions_for(ex))
    display = ScriptedKeys({i: ("y" if i == 2 else "n") for i in range(1, n + 1)})
    result = screen(ex, window_asker(display, OverlayStyle()), source="window")
    assert [f.id for f in result.yes] == [questions_for(ex)[1].id]
    assert display.last is not None and display.last.std() > 5, "the question screen is drawn"


@pytest.mark.parametrize("environ, platform, problem", [
    ({}, "linux", "$DISPLAY is not set"),
    ({"DISPLAY": ":987"}, "linux", "not running"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", None),
    ({}, "darwin", None),
])
def test_no_display_is_a_clear_error_not_a_crash(environ, platform, problem):
    from coach.render.display import DisplayError, check_display

    if problem is None:
        check_display(environ, platform)
        return
    with pytest.raises(DisplayError, match=problem.replace("$", r"\$")):
        check_display(environ, platform)


def _far_with_hand_on_head(pf):
    """The person shrunk to a third about the image centre (too far for the framing step) with the
    right hand on the right ear (image and world): pulling the head sideways."""
    from coach.pose.core import Pose, PoseFrame
    from coach.pose.landmarks import RIGHT_HAND, Landmark

    p = pf.pose
    if p.is_empty:
        return pf
    xy, world, vis, pres = (p.xy - 0.5) / 3 + 0.5, p.world.copy(), p.visibility.copy(), p.presence.copy()
    hand = list(RIGHT_HAND)
    xy[hand], world[hand] = xy[Landmark.RIGHT_EAR], world[Landmark.RIGHT_EAR]
    vis[hand] = pres[hand] = 1.0
    return PoseFrame(pf.t_s, pf.index, Pose(xy, p.z, vis, pres, world, p.image_size), pf.others)


def test_safety_runs_before_the_framing_passes_and_the_session_is_saved(landmarks_dir, tmp_path):
    """Sitting a little far away and pulling the head with a hand: the framing step never passes
    ("come closer"), yet the hand-on-head caution is raised and the session is saved."""
    far = tmp_path / "far.jsonl.gz"
    rec = Recording(landmarks_dir / "neck_side_bend__01.jsonl.gz")
    with RecordingWriter(far, rec.info) as writer:
        for pf in rec.frames():
            if pf.t_s >= 6.0:
                break
            writer.write(_far_with_hand_on_head(pf))
    out = tmp_path / "out"
    result = run_live(open_feed(str(far)), routine(("chair_rotation", {})), NoWindow(), LiveOptions(out))
    raised = [e.details["rule"] for e in result.events if e.kind == EventKind.ALERT_RAISED]
    assert "hand_on_head" in raised and "too_far" in raised
    assert EventKind.HOLD_STARTED.value not in kinds(result), "no hold is timed before the framing passes"
    data = json.loads((out / "session.json").read_text())
    assert "hand_on_head" in {a["rule"] for a in data["alerts"]}


@pytest.fixture(scope="module")
def childs_pose_6s(landmarks_dir, tmp_path_factory) -> Path:
    """The first 6 s of the child's pose recording: a 2 s hold completes at 3.2 s."""
    short = tmp_path_factory.mktemp("short") / "childs_pose_6s.jsonl.gz"
    rec = Recording(landmarks_dir / CHILDS_POSE)
    with RecordingWriter(short, rec.info) as writer:
        for pf in rec.frames():
            if pf.t_s >= 6.0:
                break
            writer.write(pf)
    return short


def test_a_routine_records_every_exercise_even_one_never_framed(childs_pose_6s, tmp_path):
    """The child's pose recording (kneeling, filmed side-on) completes child's pose; the standing
    rotation after it is never framed (it is judged facing the camera) before the video ends; cat-cow
    is never reached. The summary and session.json list all three, with why."""
    out = tmp_path / "session"
    plan = routine(("childs_pose", {"hold_s": 2.0, "reps_per_side": 1}), ("standing_rotation", {}), ("cat_cow", {}))
    result = run_live(open_feed(str(childs_pose_6s)), plan, NoWindow(), LiveOptions(out))
    assert result.ended_by == "source_ended"
    assert [(e.exercise, e.outcome) for e in result.routine] == [
        ("childs_pose", "completed"), ("standing_rotation", "skipped"), ("cat_cow", "skipped")]
    never, cat_cow = result.routine[1], result.routine[2]
    assert never.reason == "never framed (Face the camera); the recording ended", never
    assert cat_cow.reason == "not reached: the recording ended", cat_cow
    text = "\n".join(summary_lines(result))
    assert "  2. Standing trunk rotation: skipped - never framed (Face the camera)" in text, text
    assert "  3. Cat-cow: skipped - not reached" in text, text
    # its segment (the safety rules judged its frames) says so too, not "not finished"
    assert "Standing trunk rotation: never framed (Face the camera) - reps" in text, text
    assert "Child's pose: completed - reps" in text, text
    saved = json.loads((out / "session.json").read_text())
    assert [(e["exercise"], e["outcome"], e["reason"]) for e in saved["routine"]] == \
        [(e.exercise, e.outcome, e.reason) for e in result.routine]
    assert [s.get("unframed") for s in saved["segments"]] == [None, "Face the camera"]
    page = (out / "report.html").read_text()
    statuses = re.findall(r"<dt>Status</dt><dd>([^<]*)</dd>", page)
    assert statuses == ["completed", "never framed (Face the camera)"], statuses
    longest = re.findall(r"<dt>Longest hold</dt><dd>([^<]*)</dd>", page)   # as the summary says it: "none"
    assert longest == ["2.0 s", "none"], longest


def test_a_skipped_exercise_says_it_was_skipped_with_the_key(childs_pose_6s, tmp_path):
    plan = routine(("standing_rotation", {}), ("childs_pose", {"hold_s": 2.0, "reps_per_side": 1}))
    result = run_live(open_feed(str(childs_pose_6s)), plan, ScriptedKeys({5: "n"}),
                      LiveOptions(tmp_path / "out"))
    first = result.routine[0]
    assert (first.outcome, first.reason) == ("skipped", "never framed (Face the camera); you moved on to the next "
                                                        "exercise"), first
    assert result.routine[1].outcome == "completed"


def test_a_routine_gone_back_to_is_reported_as_one_exercise_with_its_routine(landmarks_dir, tmp_path):
    """Child's pose, on to cat-cow, back to child's pose, on to the bridge (the child's pose recording
    throughout). report.html lists the routine as the terminal and session.json do; the holds card
    counts child's pose's target once (it added each visit's: "1 of 39" for a 21-hold routine); holds
    are named by the exercise, not its id; each thing that could not be measured is said once, named by
    its exercise; a segment moved past reads "not finished", not the engine's "active"."""
    import html as html_lib

    from coach.report.stats import holds_tally

    out = tmp_path / "session"
    plan = routine(("childs_pose", {"hold_s": 3.0, "reps_per_side": 2, "rest_s": 1.0}), ("cat_cow", {}),
                   ("bridge", {}))
    result = run_live(open_feed(str(landmarks_dir / CHILDS_POSE)), plan,
                      ScriptedKeys({100: "n", 200: "p", 400: "n", 450: "n"}), LiveOptions(out))
    report = result.report
    assert [s.exercise for s in report.segments] == ["childs_pose", "cat_cow", "childs_pose", "cat_cow", "bridge"]
    assert [s.routine_index for s in report.segments] == [0, 1, 0, 1, 2]
    done, target = holds_tally(report.segments)
    childs, cat_cow, bridge = (next(s for s in report.segments if s.exercise == e).holds_target
                               for e in ("childs_pose", "cat_cow", "bridge"))
    assert target == childs + cat_cow + bridge, (target, childs, cat_cow, bridge)
    assert done == sum(h.completed for h in report.holds) >= 1
    page = html_lib.unescape((out / "report.html").read_text())
    text = re.sub(r"<[^>]+>", " ", page)
    assert f"{done} of {target}" in text
    saved = json.loads((out / "session.json").read_text())
    assert [e["outcome"] for e in saved["routine"]] == [e.outcome for e in result.routine]
    assert saved["routine_name"] == "test" and "Routine: test" in text and "Routine: test" in summary_lines(result)
    for entry in result.routine:
        assert entry.line() in text, entry.line()
    assert "childs_pose:" not in text and "Child's pose: hold" in text
    notes = [n.text for n in report.notes]
    assert notes and len(notes) == len(set(notes)), notes
    assert all(n.startswith(("Child's pose – ", "Cat-cow – ", "Bridge – ")) for n in notes if "not measurable" in n)
    assert "active" not in [s for s in re.findall(r"Status\s*</dt>\s*<dd>([^<]*)", page)]
    assert "not finished" in re.findall(r"Status\s*</dt>\s*<dd>([^<]*)", page)
    assert not any(": active -" in line for line in summary_lines(result))
    assert not any("both" in line for line in summary_lines(result)), summary_lines(result)   # "reps 0/2"


def test_a_routine_listing_one_exercise_twice_counts_each_target():
    """The tally of holds groups the segments by the routine's exercise: one gone back to is one target,
    the same exercise listed twice (a warm-up and a cool-down) is two, and analyze's segments (no
    routine) are each their own."""
    from coach.report.stats import SegmentSummary, holds_tally

    def seg(index, done):
        return SegmentSummary("childs_pose", "Child's pose", 0.0, 1.0, 10, "active", {"both": done}, 2,
                              {"both": done}, 2, 50.0, 20.0, 1.0, sides_done=("both",), routine_index=index)

    assert holds_tally([seg(0, 1), seg(0, 1)]) == (2, 2)        # gone back to: one target
    assert holds_tally([seg(0, 1), seg(3, 1)]) == (2, 4)        # listed twice in the routine
    assert holds_tally([seg(None, 1), seg(None, 2)]) == (3, 4)  # coach analyze: each part coached afresh

    def sided(left, right, right_done):
        return SegmentSummary("seated_spinal_twist", "Seated floor twist", 0.0, 1.0, 10, "active",
                              {"left": left, "right": right}, 2, {"left": left, "right": right}, 2, 50.0, 20.0,
                              1.0, sides_done=("left", "right") if right_done else ("left",), routine_index=0)

    # left done twice over on two visits, right tried and not held: 2 of 4, not "4 of 4" (good)
    assert holds_tally([sided(2, 0, True), sided(2, 0, False)]) == (2, 4)

    from types import SimpleNamespace

    from coach.report.html import _holds_card

    card = _holds_card(SimpleNamespace(segments=(seg(0, 1), seg(3, 1)), holds=()))   # a warm-up and a cool-down
    assert card.detail.startswith("Child's pose (#1): 1 of 2; Child's pose (#4): 1 of 2"), card
    card = _holds_card(SimpleNamespace(segments=(sided(2, 0, True), sided(2, 0, False)), holds=()))
    assert (card.value, card.tone) == ("2 of 4", "warn") and "right: 0 of 2" in card.detail, card


def test_the_input_is_named_by_its_absolute_path_and_an_unused_model_is_said_once(landmarks_dir, tmp_path,
                                                                                   monkeypatch, capsys):
    """live and analyze, given a recording by a relative path: session.json names the file itself
    (resolved), wherever the command was run from; --model with a recording (which replays its poses)
    is said once on stderr as not used, and not at all with -q."""
    from demo_data import first_seconds

    from coach.cli import main

    first_seconds(landmarks_dir / CHILDS_POSE, tmp_path / "clip.jsonl.gz", 1.5)
    monkeypatch.chdir(tmp_path)
    live = ["live", "--exercise", "childs_pose", "--source", "clip.jsonl.gz", "--no-window", "--answers", "no",
            "--mute", "--no-history", "--model", "lite"]
    analyze = ["analyze", "clip.jsonl.gz", "-e", "childs_pose", "--no-video", "--no-history", "--model", "lite"]
    for args, out in ((live, "live"), (analyze, "an"), (analyze + ["-q"], "an-q")):   # each run costs ~2 s
        assert main([*args, "-o", out]) == 0
        err = capsys.readouterr().err.splitlines()
        said = [line for line in err if "--model lite is not used" in line]
        assert (err == [] if "-q" in args else said == err == err[:1] != []), err
        session = next((tmp_path / out).rglob("session.json"))
        assert json.loads(session.read_text())["input"]["path"] == str((tmp_path / "clip.jsonl.gz").absolute())


@pytest.mark.parametrize("value, problem", [("12x", "expected WIDTHxHEIGHT"), ("big", "expected WIDTHxHEIGHT"),
                                            ("100x80", "smaller than 320x240")])
def test_a_bad_window_size_is_a_one_line_error(capsys, value, problem):
    from coach.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["live", "--exercise", "bridge", "--source", "x.mp4", "--window", value])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--window" in err[0] and problem in err[0], err


def test_the_window_fits_the_screen_with_room_for_a_window_manager():
    from coach.render.display import parse_window, window_size

    assert parse_window("1280x720") == (1280, 720)
    assert window_size(None, (1280, 800)) == (1152, 720)
    assert window_size((1920, 1080), (1280, 800)) == (1280, 800)   # never larger than the screen
    assert window_size((800, 600), None) == (800, 600)
    assert window_size(None, None) is None                          # unknown: each frame's own size


def test_no_text_a_person_reads_names_a_rule_by_its_id(tmp_path):
    """Every rule has words (`coach.usertext.RULE_WORDS`), and the texts of a session with an alert -
    the terminal / window summary, the report's text and the spoken cues - never show a rule's id:
    the bundled neck side bend clip raises the head-tilt caution (neck_lateral)."""
    import re

    from coach import samples_dir
    from coach.engine.safety import RULES
    from coach.usertext import RULE_WORDS, rule_words

    ids = [r.id for r in RULES] + [PAIN_RULE]
    assert set(ids) <= set(RULE_WORDS), set(ids) - set(RULE_WORDS)
    assert rule_words("some_new_rule") == "Some new rule"
    out = tmp_path / "session"
    plan = Routine("t", (get_exercise("neck_side_bend"),))
    from demo_data import first_seconds

    clip = first_seconds(samples_dir() / "neck_side_bend.jsonl.gz", tmp_path / "clip.jsonl.gz", 2.5)   # raised at 0.9 s
    result = run_live(open_feed(str(clip)), plan, NoWindow(), LiveOptions(out))
    assert "neck_stretch" in {a.rule for a in result.report.alerts}, "the clip raises the neck-stretch notice"
    from coach.render.voice import CuePicker

    picker = CuePicker(get_exercise("neck_side_bend"))
    spoken = [c.text for e in result.events if e.kind == EventKind.ALERT_RAISED for c in picker._of_event(e, None)]
    html = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", (out / "report.html").read_text(),
                                          flags=re.S))
    raw = re.compile(r"\b(" + "|".join(i for i in ids if "_" in i or i == "ballistic") + r")\b")
    for name, text in (("summary", "\n".join(summary_lines(result))), ("report", html), ("voice", " ".join(spoken))):
        assert not raw.search(text), (name, raw.search(text).group(0))
    assert "Alerts: 1 (neck stretch: keep it gentle)" in summary_lines(result)
    # the message quotes the stored (worst) value to its shown precision: it quoted the raise's first
    # reading (21°) while the value stored was the worst (24°)
    saved = json.loads((out / "session.json").read_text())["alerts"]
    for alert in [*result.report.alerts, *saved]:
        value = alert.value if hasattr(alert, "value") else alert["value"]
        message = alert.message if hasattr(alert, "message") else alert["message"]
        assert "°" not in message or f"{value:.0f}°" in message, (value, message)   # (a notice quotes none)


def test_a_recording_cut_short_ends_the_session_with_an_error_even_with_q(landmarks_dir, tmp_path, capsys):
    """A recording cut mid-line (what an interrupted write leaves): the session so far is saved, marked
    partial - and the command says so on stderr, with -q too, and exits 2 (it said it only on stdout and
    exited 0, as if all was well)."""
    import gzip

    from coach.cli import main

    lines = gzip.decompress((landmarks_dir / CHILDS_POSE).read_bytes()).decode().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress("".join(lines[:120]).encode() + lines[120][:50].encode()))
    out = tmp_path / "out.coach"
    code = main(["live", "--exercise", "childs_pose", "--source", str(cut), "--no-window", "--answers", "no",
                 "--mute", "--no-history", "-q", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "", captured
    (line,) = captured.err.splitlines()
    assert line.startswith(f"coach: error: The input stopped ({cut}: line 121: not JSON")
    assert line.endswith(f"the session so far is saved in {out}, marked partial"), line
    assert json.loads((out / "session.json").read_text())["partial"] is True


def test_the_summary_names_a_side_not_done(landmarks_dir, tmp_path):
    """The seated twist recording turns to the left only: "holds done 1 of 1" read as complete beside
    "reps left 1/1, right 0/1"; the line names the side not done, as the report's card does."""
    plan = routine(("seated_spinal_twist", {"hold_s": 2.0, "reps_per_side": 1}))
    result = run_live(open_feed(str(landmarks_dir / "seated_spinal_twist__01.jsonl.gz")), plan, NoWindow(),
                      LiveOptions(tmp_path / "out"))
    (seg,) = result.report.segments
    assert seg.sides_done == ("left",)
    (line,) = [x for x in summary_lines(result) if x.startswith(seg.name)]
    assert "holds done 1 of 1 (right side not done)" in line, line
