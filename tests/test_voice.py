"""Spoken cues of `coach live` (issue 15): what is said, chosen from the verdict stream without audio;
the cues of a shared recording rendered to WAV by the real speech engine (eSpeak NG through pyttsx3);
the fallback without a speech engine; a stop that cuts a cue being spoken; and a real-time session
with the voice on that keeps the frame timing of the same session muted.

eSpeak NG: `.ci/run` installs it (Debian's espeak-ng) and sets COACH_REQUIRE_ESPEAK=1, so the tests
that need it fail instead of skipping there.

No audio device exists on the CI machine, so where a cue must take its real time to be "spoken" (the
stop that cuts it, the timing of a real-time session) the player is `PLAYER`: a stand-in for the
audio device that plays nothing but lasts exactly as long as the WAV file the worker rendered.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from demo_data import first_seconds

from coach.engine.core import Coach
from coach.engine.exercises import get_exercise
from coach.engine.routine import Routine, RoutineItem, apply_overrides
from coach.engine.safety import RULES, Level, Reading
from coach.engine.verdict import Event, EventKind, FrameVerdict, HoldState, Status
from coach.pose.recording import Recording
from coach.render.display import NoWindow
from coach.render.speech import Voice, VoiceSettings, choose_sound, render_wavs
from coach.render.voice import BREATHE, CuePicker, Priority, SpokenCue, alert_words, spoken
from coach.session.feed import open_feed
from coach.session.live import LiveOptions, run_live

CHILDS_POSE = "childs_pose__01.jsonl.gz"   # kneeling side-on, in the pose from 0.4 s to the end (20.4 s)
REQUIRE_ESPEAK = os.environ.get("COACH_REQUIRE_ESPEAK") == "1"
# The stand-in player: sleeps for the length of the WAV file it is given (pyttsx3 writes eSpeak NG's
# 22050 Hz 16-bit mono: 44100 bytes a second after a 44-byte header). A shell and `sleep` cost about
# what a real player's start does; a Python stand-in costs ~50 ms of CPU per cue, which on the 2-core
# CI machine showed in the session's latency tail (p90 up to 40 ms against 8-19 ms muted).
PLAYER = ("sh", "-c", 'ms=$(( ($(stat -c %s "$1") - 44) * 10 / 441 )); '
          'exec sleep $((ms / 1000)).$(printf %03d $((ms % 1000)))', "player")
NO_ENGINE = "no_such_driver"   # a pyttsx3 driver that does not exist: the real "no speech engine" path
# Silence floor: eSpeak NG writes exact zeros between words; a spoken word at volume 1 has an RMS of
# 2000-6000 (16-bit). 300 (-40 dBFS) is far below speech and far above an empty or silent file.
RMS_FLOOR = 300.0


@pytest.fixture(autouse=True)
def _state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture(scope="module")
def espeak():
    """eSpeak NG and pyttsx3 importable: skip without them, fail under COACH_REQUIRE_ESPEAK=1."""
    missing = None
    try:
        import pyttsx3  # noqa: F401
    except ImportError:
        missing = "pyttsx3 is not installed"
    if missing is None and shutil.which("espeak-ng") is None:
        missing = "espeak-ng is not installed (apt-get install espeak-ng)"
    if missing:
        if REQUIRE_ESPEAK:
            pytest.fail(missing)
        pytest.skip(missing)


def childs_pose(hold_s: float, reps: int, rest_s: float):
    return apply_overrides(get_exercise("childs_pose"),
                           RoutineItem(id="childs_pose", hold_s=hold_s, reps_per_side=reps, rest_s=rest_s))


def picked(exercise, recording: Path) -> list[SpokenCue]:
    """The cues of a recording coached by the engine: the exercise's introduction, then each verdict's."""
    picker, coach = CuePicker(), Coach(exercise, smoothing="causal")
    cues = picker.exercise(exercise, 0.0)
    for pf in Recording(recording).frames():
        cues += picker.verdict(coach.update(pf.pose, pf.t_s, others=pf.others))
    return cues


# --- what is said: a pure function of the verdict stream ---------------------------------------------

def verdict(t_s: float, *events: Event, state=HoldState.OUT, hold_s=0.0, status=Status.ACTIVE, rest_left_s=0.0):
    return FrameVerdict(t_s, "childs_pose", status, "rest", 0, None, state, state == HoldState.HOLDING, hold_s, 30.0,
                        min(hold_s / 30.0, 1.0), {"both": 0}, (), True, events=events, rest_left_s=rest_left_s)


def alert(t_s: float, rule: str, severity: str, message: str) -> Event:
    return Event(EventKind.ALERT_RAISED, t_s, {"rule": rule, "severity": severity, "message": message})


def test_cues_come_by_priority_with_a_cooldown_each():
    picker = CuePicker(get_exercise("childs_pose"))
    picker.verdict(verdict(0.0))
    at_once = picker.verdict(verdict(1.0, Event(EventKind.HOLD_COMPLETED, 1.0, {}),
                                     alert(1.0, "twist", "caution", "Rotate less: your twist (52°) is past the safe 45°"),
                                     alert(1.0, "bouncing", "stop", "Don't bounce at the end of the stretch: ease in"),
                                     state=HoldState.COMPLETED, hold_s=30.0))
    assert [c.priority for c in at_once] == [Priority.STOP, Priority.CAUTION, Priority.MILESTONE]
    assert [c.text for c in at_once[:2]] == ["Don't bounce at the end of the stretch. Ease in.", "Rotate less."]
    again = alert(6.0, "twist", "caution", "Rotate less: your twist (50°) is past the safe 45°")
    assert picker.verdict(verdict(6.0, again)) == [], "within the 10 s cooldown"
    later = alert(11.5, "twist", "caution", again.details["message"])
    assert [c.key for c in picker.verdict(verdict(11.5, later))] == ["alert:twist"], "after it"
    # framing advice repeats after its own cooldown; an empty message says nothing
    assert len(picker.framing("Come closer to the camera", 20.0)) == 1
    assert picker.framing("Come closer to the camera", 25.0) == [] and picker.framing("", 26.0) == []
    assert len(picker.framing("Come closer to the camera", 28.5)) == 1


def test_tones_have_the_cooldown_of_the_cue_they_stand_for():
    """With tones instead of the voice, an alert that flickers beeps once per cooldown, as it is said
    once (the tones had no cooldown: a caution raised three times in 6 s beeped three times); a stop
    and each completed hold still sound."""
    picker = CuePicker(get_exercise("childs_pose"))
    caution = lambda t: alert(t, "twist", "caution", "Rotate less: your twist (52°) is past the safe 45°")  # noqa: E731
    assert picker.tones(verdict(0.0, caution(0.0))) == ["caution"]
    assert picker.tones(verdict(3.0, caution(3.0))) == picker.tones(verdict(6.0, caution(6.0))) == []
    assert picker.tones(verdict(10.5, caution(10.5))) == ["caution"], "after the 10 s cooldown"
    stop = alert(11.0, "bouncing", "stop", "Don't bounce at the end of the stretch: ease in")
    assert picker.tones(verdict(11.0, stop, Event(EventKind.HOLD_COMPLETED, 11.0, {}))) == ["stop", "hold_complete"]
    done = Event(EventKind.HOLD_COMPLETED, 12.0, {})
    next_rep = FrameVerdict(12.0, "childs_pose", Status.ACTIVE, "rest", 0, None, HoldState.COMPLETED, False, 30.0,
                            30.0, 1.0, {"both": 1}, (), True, events=(done,))
    assert picker.tones(next_rep) == ["hold_complete"], "another hold (the next rep) is another cue"


def test_hold_milestones_and_the_rest_countdown_are_crossings_of_the_stream():
    picker = CuePicker(get_exercise("childs_pose"))
    texts = []
    stream = [verdict(0.0), verdict(0.5, state=HoldState.ENTERING),
              verdict(1.0, Event(EventKind.HOLD_STARTED, 1.0, {}), state=HoldState.HOLDING)]
    stream += [verdict(1.0 + k, state=HoldState.HOLDING, hold_s=float(k)) for k in range(1, 30)]
    stream += [verdict(31.0, Event(EventKind.HOLD_COMPLETED, 31.0, {}), Event(EventKind.REST_STARTED, 31.0, {"rest_s": 10.0}),
                       state=HoldState.COMPLETED, hold_s=30.0, status=Status.RESTING, rest_left_s=10.0)]
    stream += [verdict(31.0 + k, state=HoldState.COMPLETED, hold_s=30.0, status=Status.RESTING, rest_left_s=10.0 - k)
               for k in range(1, 11)]
    for v in stream:
        texts += [c.text for c in picker.verdict(v)]
    release = spoken(get_exercise("childs_pose").cues.release)
    # the stream stays resting at 0 s left (the person still in the pose): asked to come out for the next rep
    assert texts == [BREATHE, "Hold. 30 seconds.", "Halfway.", "Five seconds left.", f"Done. {release}",
                     "Rest for 10 seconds.", "3.", "2.", "1.", f"{release} Then the next rep."]


def test_sides_phases_the_end_and_a_stop_are_said():
    cat_cow = get_exercise("cat_cow")
    picker = CuePicker()
    intro = picker.exercise(cat_cow, 0.0)
    assert [c.text for c in intro] == [f"Cat-cow. {spoken(cat_cow.instructions[0])}"]
    assert picker.exercise(cat_cow, 5.0) == [], "the same introduction again within its cooldown"
    said = [c.text for v in (
        verdict(1.0, Event(EventKind.SIDE_CHANGED, 1.0, {"from": None, "to": "left"})),   # the first side: not a switch
        verdict(2.0, Event(EventKind.PHASE_CHANGED, 2.0, {"from": "cat", "to": "cow", "reason": "followed"})),
        verdict(3.0, Event(EventKind.SIDE_CHANGED, 3.0, {"from": "left", "to": "right"})),
        verdict(4.0, Event(EventKind.EXERCISE_COMPLETED, 4.0, {"reps": 3})),
        verdict(5.0, Event(EventKind.EXERCISE_STOPPED, 5.0, {"advice": "Stop (for now) and rest.", "rules": ("x",)})),
    ) for c in picker.verdict(v)]
    cow = next(p for p in cat_cow.phases if p.name == "cow")
    assert said == [spoken(cow.cue), "Switch sides: now your right side.", "Well done: Cat-cow is complete.",
                    "Stop and rest."]


def test_a_side_is_said_as_the_person_feels_it():
    """The voice names a side in the overlay's and the report's words (coach.usertext.side_words)."""
    neck, picker = get_exercise("neck_side_bend"), CuePicker()
    picker.exercise(neck, 0.0)
    said = [c.text for c in picker.verdict(verdict(3.0, Event(EventKind.SIDE_CHANGED, 3.0, {"from": "right", "to": "left"})))]
    assert said == ["Switch sides: now head tilted toward your left shoulder."]


def test_every_alert_is_said_in_plain_words():
    """Each safety rule's user text, rendered as the engine renders it, speaks without numbers,
    degrees or template braces."""
    for rule in RULES:
        text = alert_words(rule.render(Reading(Level.VIOLATED, 52.4, 45.0, "while bent forward")))
        assert text and not any(ch.isdigit() or ch in "{}°()" for ch in text), (rule.id, text)
        assert text[0].isupper() and text.endswith("."), (rule.id, text)


def test_voice_settings_are_checked():
    with pytest.raises(ValueError, match="words per minute"):
        VoiceSettings(rate_wpm=20)
    with pytest.raises(ValueError, match="volume"):
        VoiceSettings(volume=math.nan)
    with pytest.raises(ValueError, match="voice, tones or mute"):
        choose_sound("loud")


# --- the real engine: a recorded session's cues rendered to WAV ----------------------------------------

def test_a_recorded_session_renders_its_cues_to_wav_in_order(espeak, landmarks_dir, tmp_path):
    """Child's pose held from 0.4 s to the end of the 20.4 s recording, coached as 2 holds of 6 s with a
    5 s rest: the cues come in the order of the session, each rendered non-silent. The person never
    comes out of the pose, so after the rest the coach asks them to before the next rep."""
    cues = picked(childs_pose(6.0, 2, 5.0), landmarks_dir / CHILDS_POSE)
    release = "Walk your hands back and come up slowly."
    hold = ["Hold. 6 seconds.", "Halfway.", f"Done. {release}"]
    assert [c.text for c in cues][1:] == [BREATHE, *hold, "Rest for 5 seconds.", "2.", "1.",
                                          f"{release} Then the next rep."]
    assert cues[0].text.startswith("Child's pose. Kneel on a mat") and cues[0].priority == Priority.INSTRUCTION
    assert all(a.t_s <= b.t_s for a, b in zip(cues, cues[1:]))
    assert cues[2].t_s <= 1.5, "the hold starts once the pose has settled"
    wavs = render_wavs(cues, VoiceSettings(wav_dir=str(tmp_path / "wav")))
    assert [p.name.split("-", 1)[1] for p in wavs] == [f"{c.key.replace(':', '_')}.wav" for c in cues]
    for path, cue in zip(wavs, cues):
        with wave.open(str(path)) as w:
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
            seconds_long = w.getnframes() / w.getframerate()
        rms = float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0
        assert rms > RMS_FLOOR, f"{cue.text!r}: RMS {rms:.0f}"
        # 160 words/min is 0.375 s a word; numbers read as words ("6" is "six") and the pause eSpeak NG
        # adds at a full stop make a short cue longer: 0.15 s a word at least, 1 s + 0.6 s a word at most
        words = len(cue.text.split())
        assert 0.15 * words < seconds_long < 1.0 + 0.6 * words, (cue.text, seconds_long)


class _FirstTrySoundless:
    """The real pyttsx3 engine, except that its first render leaves a WAV of 0 frames: what eSpeak NG's
    driver once wrote for "Halfway." on a loaded CI machine (a fault injected, not a stand-in engine)."""

    def __init__(self, engine):
        self.engine, self.tries = engine, 0

    def save_to_file(self, text, path):
        self.tries += 1
        if self.tries == 1:
            with wave.open(path, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(22050)
                w.writeframes(b"")
        else:
            self.engine.save_to_file(text, path)

    def runAndWait(self):
        if self.tries > 1:
            self.engine.runAndWait()


def test_a_cue_rendered_without_sound_is_rendered_again(espeak, tmp_path):
    """The worker's own loop, in this process, with the real engine: a cue whose file came out without
    sound is rendered once more (at once: a 0-frame file is not awaited for the full timeout)."""
    import queue

    import pyttsx3

    from coach.render.speech import _Worker

    engine, reports = _FirstTrySoundless(pyttsx3.init()), queue.SimpleQueue()
    worker = _Worker(engine, (), tmp_path, reports, keep=True)
    started_s = time.monotonic()
    worker.speak(("milestone:half", "Halfway.", Priority.MILESTONE, started_s))
    took_s = time.monotonic() - started_s
    (path,) = tmp_path.glob("*.wav")
    with wave.open(str(path)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    assert engine.tries == 2 and samples.size and float(np.sqrt(np.mean(samples ** 2))) > RMS_FLOOR
    start = []
    while not reports.empty():
        report = reports.get_nowait()
        start += [report] if report[0] == "start" else []
    assert len(start) == 1 and start[0][3] == pytest.approx(samples.size / 22050)
    assert took_s < 2.0, f"the soundless first try was waited on for {took_s:.1f} s"


def test_without_a_speech_engine_the_same_session_runs_silently(landmarks_dir, tmp_path):
    speech = choose_sound("voice", VoiceSettings(driver=NO_ENGINE, player=PLAYER), player=str(tmp_path / "no-player"))
    with speech:
        assert speech.used == "none" and speech.voice is None and speech.sounds is None
        assert "no speech engine" in speech.reason and NO_ENGINE in speech.reason
        clip = first_seconds(landmarks_dir / CHILDS_POSE, tmp_path / "clip.jsonl.gz", 3.0)
        result = run_live(open_feed(str(clip)), Routine("t", (childs_pose(1.0, 1, 1.0),)), NoWindow(),
                          LiveOptions(tmp_path / "out", framing_hold_s=0.2), speech=speech)
    assert result.ended_by == "done"
    sound = json.loads((tmp_path / "out" / "session.json").read_text())["sound"]
    assert sound == {"asked": "voice", "used": "none", "reason": speech.reason}
    assert render_wavs([SpokenCue("a", "Hello.", Priority.STOP, 0.0)],
                       VoiceSettings(driver=NO_ENGINE, wav_dir=str(tmp_path / "wav"))) == []


def _player_script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


# What aplay (alsa-utils) does on a machine with no sound card - the CI machine has none: it complains
# on stderr and exits 1 at once.
NO_CARD = "echo 'aplay: main:831: audio open error: No such file or directory' >&2; exit 1"


def test_with_no_audio_device_the_session_is_silent_from_the_start(tmp_path, monkeypatch):
    """A player that cannot play (no output device) is found before the session by playing 20 ms of
    silence: the voice and the tones give way to silence at once, with why - rather than every cue
    failing in turn; a player that hangs (a sound server that never answers) is given up the same way."""
    from coach.render import sound

    failing = _player_script(tmp_path / "bin", "aplay", NO_CARD)
    for asked in ("voice", "tones"):
        with choose_sound(asked, VoiceSettings(player=(str(failing),)), player=str(failing)) as speech:
            assert speech.used == "none" and speech.voice is None and speech.sounds is None, speech
            assert "no audio output device (aplay failed: aplay: main:831: audio open error" in speech.reason
    monkeypatch.setattr(sound, "PROBE_TIMEOUT_S", 0.3)
    hanging = _player_script(tmp_path / "bin", "paplay", "exec sleep 30")
    start_s = time.monotonic()
    with choose_sound("tones", player=str(hanging)) as speech:
        assert speech.used == "none" and "did not finish playing 20 ms of silence within 0.3 s" in speech.reason
    assert time.monotonic() - start_s < 2.0
    assert sound.audio_device_problem(PLAYER) is None, "a player that plays is kept"


def test_the_command_says_once_that_there_is_no_audio_device(landmarks_dir, tmp_path, monkeypatch, capsys):
    from coach.cli import main

    _player_script(tmp_path / "bin", "aplay", NO_CARD)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    clip = first_seconds(landmarks_dir / CHILDS_POSE, tmp_path / "clip.jsonl.gz", 1.0)
    args = ["live", "--exercise", "childs_pose", "--source", str(clip), "--no-window", "--answers", "no", "--no-history"]
    assert main(args + ["-o", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "voice unavailable: no audio output device (aplay failed" in err[0], err
    assert err[0].endswith("; no sound")
    assert json.loads((tmp_path / "a" / "session.json").read_text())["sound"]["used"] == "none"
    assert main(args + ["--no-voice", "-q", "-o", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("option, value, problem", [
    ("--voice-rate", "20", "expected 80 to 300 words per minute, got 20"),
    ("--voice-rate", "fast", "expected whole words per minute, got 'fast'"),
    ("--voice-volume", "2", "expected 0 to 1, got 2.0"),
])
def test_bad_voice_options_are_one_line_errors(option, value, problem, capsys):
    from coach.cli import main

    with pytest.raises(SystemExit) as end:   # argparse's exit, as for every option
        main(["live", "--exercise", "childs_pose", option, value])
    assert end.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option in err[0] and problem in err[0], err


def test_the_command_says_once_that_the_voice_is_unavailable(landmarks_dir, tmp_path, monkeypatch, capsys):
    from coach.cli import main

    monkeypatch.setenv("COACH_VOICE_DRIVER", NO_ENGINE)
    clip = first_seconds(landmarks_dir / CHILDS_POSE, tmp_path / "clip.jsonl.gz", 2.0)
    args = ["live", "--exercise", "childs_pose", "--source", str(clip), "--no-window", "--answers", "no", "--no-history"]
    assert main(args + ["-o", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len([line for line in err if "voice unavailable" in line]) == 1, err
    used = json.loads((tmp_path / "a" / "session.json").read_text())["sound"]
    assert used["asked"] == "voice" and used["used"] in ("tones", "none") and used["reason"]
    assert main(args + ["-q", "-o", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""


# --- the worker: a stop cuts what is being said --------------------------------------------------------

LONG = ("Kneel on a mat on all fours, knees hip-width apart, big toes close together, then breathe out and "
        "slowly sit your hips back toward your heels, keeping your hands where they are.")


def wait_for(voice: Voice, kind: str, key: str, timeout_s: float = 10.0) -> tuple:
    end_s = time.monotonic() + timeout_s
    while time.monotonic() < end_s:
        found = [r for r in voice.poll() if r[0] == kind and r[2] == key]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"no {kind} of {key} within {timeout_s} s: {voice.log}")


def test_a_stop_cuts_the_cue_being_spoken(espeak):
    """A long instruction is being spoken; another instruction waits its turn; a stop cuts the long one
    at once and is spoken; then the waiting instruction (still fresh) is."""
    voice = Voice(VoiceSettings(player=PLAYER))
    assert voice.start() is None
    try:
        voice.say(SpokenCue("exercise", LONG, Priority.INSTRUCTION, 0.0))
        long_s = wait_for(voice, "start", "exercise")[3]
        assert long_s > 5.0, "the instruction takes several seconds to say"
        voice.say(SpokenCue("framing", "Come closer to the camera.", Priority.INSTRUCTION, 0.5))   # the same rank: waits
        time.sleep(0.5)
        sent_s = time.monotonic()
        voice.say(SpokenCue("alert:bouncing", "Stop now.", Priority.STOP, 1.0))
        stop = wait_for(voice, "start", "alert:bouncing")
        assert voice.finish(10.0), "everything handed over is spoken, cut or dropped"
    finally:
        voice.close()
    kinds = [(r[0], r[2]) for r in voice.log if r[0] in ("start", "cut", "done", "dropped")]
    assert kinds == [("start", "exercise"), ("cut", "exercise"), ("start", "alert:bouncing"),
                     ("done", "alert:bouncing"), ("start", "framing"), ("done", "framing")]
    cut = next(r for r in voice.log if r[0] == "cut")
    assert 0.4 < cut[3] < 1.5 < long_s, f"the instruction was cut after {cut[3]:.2f} s of {long_s:.1f} s"
    assert stop[1] - sent_s < 0.5, f"the stop started {stop[1] - sent_s:.2f} s after it was sent"
    assert voice.counts() == {"spoken": 3, "cut": 1, "dropped": 0, "restarts": 0, "lost": None}


def test_the_end_does_not_wait_for_the_cues_a_killed_worker_held(espeak):
    """The worker is killed while it speaks one cue and holds another: it is restarted, and the end of
    the session (`finish`) waits only for what the running worker was given - not the full FINISH_S
    (15 s) for the two cues that died with the old one."""
    import signal

    from coach.render.speech import FINISH_S

    voice = Voice(VoiceSettings(player=PLAYER))
    assert voice.start() is None
    try:
        voice.say(SpokenCue("exercise", LONG, Priority.INSTRUCTION, 0.0))
        wait_for(voice, "start", "exercise")
        voice.say(SpokenCue("framing", "Come closer to the camera.", Priority.INSTRUCTION, 0.5))   # held: waits
        time.sleep(0.3)   # the manager thread hands it over (it wakes at once for a cue)
        os.killpg(voice._proc.pid, signal.SIGKILL)
        start_s = time.monotonic()
        assert voice.finish()
        waited_s = time.monotonic() - start_s
    finally:
        voice.close()
    # the manager finds the dead worker within MANAGE_S (0.25 s) and restarts it
    assert voice.restarts == 1 and waited_s < 2.0 < FINISH_S, f"waited {waited_s:.2f} s"


# --- the frame loop never waits for the voice --------------------------------------------------------

def timing_runs(clip: Path, out: Path) -> tuple[dict, list[str]]:
    """The clip paced in real time: muted, with the voice, muted again. (result, sound record) by run,
    and the keys the voice rendered, in order."""
    plan = Routine("t", (childs_pose(1.0, 3, 0.5),))   # 3 holds of 1 s and 2 rests: more than the 3 s clip holds
    runs, keys = {}, []
    for n, asked in enumerate(("mute", "voice", "mute2")):
        with choose_sound(asked.rstrip("2"), VoiceSettings(player=PLAYER)) as speech:
            result = run_live(open_feed(str(clip)), plan, NoWindow(),
                              LiveOptions(out / f"{n}", realtime=True, framing_hold_s=0.2), speech=speech)
            runs[asked] = (result, speech.as_dict())
            if speech.voice is not None:
                keys = [r[2] for r in speech.voice.poll() if r[0] == "synth"]
    return runs, keys


# Run-to-run noise of a muted session of this clip on the 2-core CI machine under a load of 7 (12
# runs): median latency 2.9 to 12.0 ms, the largest difference of two runs in a row 4.7 ms; display
# rate 23.4 to 25.4 frames/s (one dip of 6.5% in 12 runs).
LATENCY_NOISE_MS = 5.0


def timing_problems(runs: dict) -> list[str]:
    """What got worse with the voice: display rate or median latency more than 5% worse than the muted
    runs' mean, or than the machine's noise when that is larger (the spread of the two muted runs;
    for latency `LATENCY_NOISE_MS`). Better is fine."""
    problems = []
    for name, value, worse, floor in (("display rate", lambda r: r.display_fps, -1, 0.0),
                                      ("median latency", lambda r: r.latency_ms[0], 1, LATENCY_NOISE_MS)):
        muted = [value(runs[k][0]) for k in ("mute", "mute2")]
        allowed = max(0.05 * float(np.mean(muted)), abs(muted[0] - muted[1]), floor)
        change = worse * (value(runs["voice"][0]) - float(np.mean(muted)))   # > 0: worse with the voice
        if change > allowed:
            problems.append(f"{name}: voice {value(runs['voice'][0]):.2f}, muted {muted[0]:.2f} and {muted[1]:.2f}, "
                            f"allowed {allowed:.2f}")
    return problems


def test_a_real_time_session_keeps_its_frame_timing_with_the_voice_on(espeak, landmarks_dir, tmp_path):
    """The same 3 s of child's pose paced in real time, muted, with the voice (which speaks several
    cues meanwhile), muted again: with the voice the display rate and latency are no worse than the
    muted runs' by more than 5% (or the machine's noise). A timing that got worse is measured once
    more and must be worse again to fail: a voice that held up the frame loop is worse every time
    (one that waits 150 ms per cue drops the display rate from 25 to 20 frames/s), a busy machine
    rarely twice in a row."""
    clip = first_seconds(landmarks_dir / CHILDS_POSE, tmp_path / "clip.jsonl.gz", 3.0)
    runs, keys = timing_runs(clip, tmp_path / "first")
    voice, said = runs["voice"]
    # The session hands over five cues in these 3 s (checked by name below); how many get spoken depends
    # on the machine's pace (a cue still waiting when a newer one comes is replaced: on loaded CI machines
    # 2 of 5 and once 1 of 5 were spoken, on an idle one 3), so this asks only that the voice spoke.
    assert said["used"] == "voice" and said["engine"] == "espeak" and said["voice"]["spoken"] >= 1, said
    recorded = json.loads((tmp_path / "first" / "1" / "session.json").read_text())["sound"]
    assert recorded["used"] == "voice" and recorded["voice"]["lost"] is None, recorded
    assert keys[:2] == ["exercise:childs_pose", "breathe"], keys   # the milestone cuts the introduction
    assert voice.ended_by == runs["mute"][0].ended_by == runs["mute2"][0].ended_by == "source_ended"
    problems = timing_problems(runs)
    if problems:
        again = timing_problems(timing_runs(clip, tmp_path / "again")[0])
        assert not again, f"worse with the voice twice: {problems}, then {again}"
