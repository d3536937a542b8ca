"""Speaking the cues of `coach live`: pyttsx3 in a worker process that the frame loop never waits for.

    choice = choose_sound("voice", VoiceSettings(rate_wpm=160))   # voice, else tones, else silence
    choice.voice.say(cue)          # a `coach.render.voice.SpokenCue`: put on a queue, returns at once
    choice.as_dict()               # what was used, for session.json
    choice.close()

pyttsx3 (eSpeak NG on Linux, SAPI on Windows, NSSpeechSynthesizer on macOS) is known to hang when
driven from a thread, so it runs in a process of its own (multiprocessing, spawn context), which a
manager thread of ours watches, kills (with what it plays) and starts again when it dies or hangs.
The frame loop only puts cues on a queue. The worker renders each cue to a WAV file
(`save_to_file`) and plays it with the platform's player (the same ones as the tones,
`coach.render.sound`), which it can cut at once: one prompt at a time; a cue of higher priority
cuts the one being spoken (a stop cuts anything); a cue of the same or lower priority waits, one at
most (a newer one replaces it), and is dropped when it has waited too long to still be true.

No speech engine, no audio player, or a player that fails (no audio device): `choose_sound` falls
back to the tones, then to silence, and never fails; the player is first tried on a short silent file
(`coach.render.sound.audio_device_problem`): with no output device the session is silent from the start; `reason` says why, for the one warning the CLI
prints and for session.json.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from coach.render.sound import Sounds, audio_device_problem, find_player

# Speech rate: conversational English runs at about 150 words/min and eSpeak NG's default is 175;
# instructions heard face down on a mat, over one's own breathing, are taken at the slower end.
DEFAULT_RATE_WPM = 160
RATE_RANGE_WPM = (80, 300)     # eSpeak NG accepts 80-450; past 300 words/min speech is hard to follow
DEFAULT_VOLUME = 1.0           # the voice's full level: the person is ~3 m away; the system mixer sets loudness
# Waiting for the worker to be ready: spawning Python, importing pyttsx3 and starting the engine took
# 0.2-0.6 s on the 2-core CI machine under load; 15 s is far past that and still short for a user.
STARTUP_TIMEOUT_S = 15.0
# A waiting cue is dropped after this long: milestones are 3 s or more apart (`coach.render.voice`),
# so a cue 4 s late ("Halfway" said near the end of the hold) would be wrong rather than late.
MAX_WAIT_S = 4.0
# Rendering one cue took 10-40 ms (eSpeak NG, a 20-word sentence); a worker 5 s into one is hung (it
# gives up on the file itself after 5 s; the manager kills it after twice that).
SYNTH_TIMEOUT_S = 5.0
MAX_RESTARTS = 3               # then the voice is given up for the session (recorded), and it goes on silently
PLAYER_FAILURES = 2            # a player failing twice in a row means no audio device: given up likewise
POLL_S = 0.02                  # the worker's check for a cutting cue while one plays (20 ms: not heard)
# The worker (and the player it starts) runs at a lower priority than the session: on a busy machine
# the frame loop goes first. 5 steps of niceness is a third of the CPU share against a normal process
# - still 30 times what eSpeak NG needs to keep ahead of the speech.
WORKER_NICE = 5
SETTLED_S = 0.05               # a file not a WAV, or a bare WAV header, is taken as written when its size is still this long
# At the end of a session the last cues (a stop's advice, "well done") are let finish: the longest
# shipped text, the pain advice, is 30 words, 11 s at 160 words/min; 15 s covers it at 120.
FINISH_S = 15.0
# The manager thread (in the session's process) wakes for a cue at once, else this often to read the
# worker's reports and watch it: rarely, so that it takes no time from the frame loop (a hang is
# found within a quarter second of its 10 s).
MANAGE_S = 0.25


@dataclass(frozen=True)
class VoiceSettings:
    """How the voice speaks. `driver`: a pyttsx3 driver name (None: the platform's own). `player`:
    the command that plays a WAV file (None: the first found, as for the tones; (): render only,
    play nothing). `wav_dir`: keep each cue's WAV file there, numbered in the order spoken."""

    rate_wpm: int = DEFAULT_RATE_WPM
    volume: float = DEFAULT_VOLUME
    driver: str | None = None
    player: tuple[str, ...] | None = None
    wav_dir: str | None = None

    def __post_init__(self) -> None:
        low, high = RATE_RANGE_WPM
        if not low <= self.rate_wpm <= high:
            raise ValueError(f"voice rate: expected {low} to {high} words per minute, got {self.rate_wpm}")
        if not (math.isfinite(self.volume) and 0.0 <= self.volume <= 1.0):
            raise ValueError(f"voice volume: expected 0 to 1, got {self.volume}")


def player_command(settings: VoiceSettings) -> tuple[str, ...] | None:
    """The command the worker plays with: the settings', else the first player found; None: none."""
    if settings.player is not None:
        return settings.player
    found = find_player()
    return (found,) if found else None


# --- the worker process ---------------------------------------------------------------------------

def _quiet_process() -> None:
    """The worker's own process group (a kill takes its player too) and no output: pyttsx3 prints
    "Audio saved to ..." and eSpeak NG may write to stderr; problems are reported on the queue."""
    if hasattr(os, "setsid"):
        try:
            os.setsid()
        except OSError:
            pass
    if hasattr(os, "nice"):   # speech is rendered 50-100 times faster than it is spoken: it can wait for the frame loop
        try:
            os.nice(WORKER_NICE)
        except OSError:
            pass
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (1, 2):
        os.dup2(null, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")


class _Playback:
    """One WAV playing: by a player process, by winsound (Windows, asynchronous), or nothing (render only)."""

    def __init__(self, command: tuple[str, ...] | None, path: Path, duration_s: float):
        self.proc, self.until_s, self.failed = None, time.monotonic(), False
        if command:
            self.proc = subprocess.Popen([*command, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        elif command is None and sys.platform == "win32":
            import winsound

            winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)
            self.until_s += duration_s

    def running(self) -> bool:
        if self.proc is not None:
            code = self.proc.poll()
            self.failed = code is not None and code != 0
            return code is None
        return time.monotonic() < self.until_s

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        elif self.until_s > time.monotonic() and sys.platform == "win32":
            import winsound

            winsound.PlaySound(None, 0)
        self.until_s = time.monotonic()


def _written(path: Path, until_s: float) -> float:
    """The length in seconds of the WAV file at `path` once it is completely written (0: not by
    `until_s`, not known, or a WAV of no frames). pyttsx3's eSpeak NG driver returns from `runAndWait` before its
    synthesis thread has written the file (seen with sentences of 20 words), so the file is awaited:
    its header's frame count must match its size. A file that is not a WAV (macOS writes AIFF
    whatever the name) counts as written once its size has stayed the same for `SETTLED_S`."""
    size_seen, since_s = -1, time.monotonic()
    while True:
        try:
            with wave.open(str(path), "rb") as wav:
                n, rate = wav.getnframes(), wav.getframerate()
                size = 44 + n * wav.getsampwidth() * wav.getnchannels()
            if n > 0 and path.stat().st_size >= size and rate > 0:
                return n / float(rate)
            # 0 frames and nothing after the header: a file without sound (eSpeak NG's driver writes its
            # buffer in one `writeframes` at the end of the utterance, so a bare header that stays so is
            # final). A 0-frame header with data after it is a writer that patches the header at the end:
            # still being written, awaited as before.
            now_size = path.stat().st_size
            if n == 0 and now_size <= 44 and now_size != size_seen:
                size_seen, since_s = now_size, time.monotonic()
            elif n == 0 and now_size <= 44 and time.monotonic() - since_s >= SETTLED_S:
                return 0.0
        except (OSError, EOFError, wave.Error):
            try:
                head, now_size = path.read_bytes()[:4], path.stat().st_size
            except OSError:
                head, now_size = b"", -1
            if head and head != b"RIFF":
                if now_size != size_seen:
                    size_seen, since_s = now_size, time.monotonic()
                elif time.monotonic() - since_s >= SETTLED_S:
                    return 0.0
        if time.monotonic() > until_s:
            return 0.0
        time.sleep(0.002)


def _soundless_wav(path: Path) -> bool:
    """True when `path` is a WAV file holding no sound: no frames, or only zero samples (another
    format, or no file, is not judged here: False)."""
    try:
        with wave.open(str(path), "rb") as wav:
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error):
        return False
    return not frames.strip(b"\x00")


def worker_main(settings: VoiceSettings, commands, reports) -> None:
    """The worker process: start the engine, then speak the cues it is sent, one at a time.

    Commands: ("say", key, text, priority, sent_s) and ("quit",). Reports, each with the time
    (`time.monotonic()`, one clock for every process on the machine): ("ready", driver, player) or
    ("failed", reason) first; then per cue ("synth", key), ("start", key, seconds long), ("done", key),
    ("cut", key, seconds played) or ("dropped", key); ("no_audio", reason) when the player keeps failing."""
    _quiet_process()
    try:
        import pyttsx3

        engine = pyttsx3.init(settings.driver) if settings.driver else pyttsx3.init()
        engine.setProperty("rate", settings.rate_wpm)
        engine.setProperty("volume", settings.volume)
        driver = type(getattr(getattr(engine, "proxy", None), "_driver", None)).__module__.rsplit(".", 1)[-1]
    except Exception as exc:   # noqa: BLE001 - any failure to start means "no speech engine"
        reports.put(("failed", time.monotonic(), f"{type(exc).__name__}: {exc}"))
        return
    command = player_command(settings)
    reports.put(("ready", time.monotonic(), settings.driver or driver, " ".join(command) if command else ""))
    folder = Path(settings.wav_dir) if settings.wav_dir else Path(tempfile.mkdtemp(prefix="coach-voice-"))
    folder.mkdir(parents=True, exist_ok=True)
    _Worker(engine, command, folder, reports, keep=bool(settings.wav_dir)).run(commands)


class _Worker:
    def __init__(self, engine, command, folder: Path, reports, keep: bool):
        self.engine, self.command, self.folder, self.reports, self.keep = engine, command, folder, reports, keep
        self.playing: tuple[tuple, _Playback, float, Path] | None = None   # (cue, playback, started_s, its file)
        self.pending: tuple | None = None
        self.count = self.failures = 0

    def report(self, *what) -> None:
        self.reports.put((what[0], time.monotonic(), *what[1:]))

    def run(self, commands) -> None:
        parent = multiprocessing.parent_process()
        try:
            while True:
                try:
                    msg = commands.get(timeout=POLL_S if self.playing or self.pending else 0.5)
                except queue.Empty:
                    msg = None
                if (msg is not None and msg[0] == "quit") or (parent is not None and not parent.is_alive()):
                    break   # asked to, or the session's process is gone (killed): no orphan is left speaking
                if msg is not None:
                    self.arrive(msg[1:])
                self.step()
        finally:
            if self.playing is not None:
                self.playing[1].stop()
            if not self.keep:
                shutil.rmtree(self.folder, ignore_errors=True)

    def arrive(self, cue: tuple) -> None:
        """A new cue: it cuts the one playing if it ranks higher; else it waits (one waits at most)."""
        key, _, priority, _ = cue
        if self.playing is not None and priority > self.playing[0][2]:
            self.playing[1].stop()
            self.report("cut", self.playing[0][0], time.monotonic() - self.playing[2])
            self.discard()
        if self.playing is None:   # idle, or just cut: said now (a cue still waiting keeps its turn after it)
            self.speak(cue)
            return
        if self.pending is not None and priority < self.pending[2]:
            self.report("dropped", key)
            return
        if self.pending is not None:
            self.report("dropped", self.pending[0])
        self.pending = cue

    def step(self) -> None:
        if self.playing is not None and not self.playing[1].running():
            cue, playback = self.playing[:2]
            self.discard()
            self.failures = self.failures + 1 if playback.failed else 0
            self.report("done", cue[0])
            if self.failures >= PLAYER_FAILURES:
                self.report("no_audio", f"the audio player failed {self.failures} times in a row")
                self.command = ()   # render only from now on (the parent stops sending anyway)
        if self.playing is None and self.pending is not None:
            cue, self.pending = self.pending, None
            if time.monotonic() - cue[3] > MAX_WAIT_S:
                self.report("dropped", cue[0])
            else:
                self.speak(cue)

    def speak(self, cue: tuple) -> None:
        key, text, priority, _ = cue
        self.count += 1
        path = self.folder / f"{self.count:03d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', key)[:60]}.wav"
        self.report("synth", key)
        duration_s = self.render(text, path)
        # A WAV without sound ("Halfway." came out as 0 frames once, on a loaded CI machine: the driver's
        # buffer was empty when it wrote the file) is rendered once more, if it can still be said in time.
        if _soundless_wav(path) and time.monotonic() - cue[3] <= MAX_WAIT_S:
            duration_s = self.render(text, path)
        self.report("start", key, duration_s)
        try:
            playback = _Playback(self.command, path, duration_s)
        except OSError:
            playback = _Playback((), path, 0.0)
            playback.failed = True
        self.playing = (cue, playback, time.monotonic(), path)

    def render(self, text: str, path: Path) -> float:
        """`text` spoken into the file at `path`; its length in seconds (0: not written in time)."""
        path.unlink(missing_ok=True)   # a soundless file from a first try is not taken for the new one
        self.engine.save_to_file(text, str(path))
        self.engine.runAndWait()
        return _written(path, time.monotonic() + SYNTH_TIMEOUT_S)

    def discard(self) -> None:
        """The cue playing is over: its file goes unless the files are kept (`wav_dir`)."""
        if self.playing is not None and not self.keep:
            self.playing[3].unlink(missing_ok=True)
        self.playing = None


# --- the parent's side --------------------------------------------------------------------------

class Voice:
    """The speech worker seen from the session: `start()` (before the frame loop; None when ready,
    else why not), `say(cue)` (never blocks), `close()`. `log`: the worker's reports, in order, as
    (kind, time_s, ...) tuples; `lost`: why the voice was given up during the session (None: it wasn't)."""

    def __init__(self, settings: VoiceSettings):
        self.settings = settings
        self.log: list[tuple] = []
        self.lost: str | None = None
        self.restarts = 0
        self.engine = self.player = ""   # the pyttsx3 driver and the player command, once started
        self._handed = 0   # cues handed to the worker (each ends as done, cut or dropped)
        # cues sent to the worker running now and ended by it; those a killed worker held are lost with it
        self._sent = self._ended = self._lost_with_worker = 0
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._ctx = multiprocessing.get_context("spawn")
        self._reports = self._ctx.Queue()
        self._proc = self._commands = self._thread = None
        self._synth_since_s: float | None = None

    def start(self) -> str | None:
        self._spawn()
        end_s = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < end_s:
            try:
                report = self._reports.get(timeout=0.05)
            except queue.Empty:
                if not self._proc.is_alive():
                    break
                continue
            self.log.append(report)
            if report[0] == "ready":
                self.engine, self.player = report[2], report[3]
                self._thread = threading.Thread(target=self._manage, name="coach-voice", daemon=True)
                self._thread.start()
                return None
            if report[0] == "failed":
                self._kill()
                return f"no speech engine ({report[2]})"
        self._kill()
        return "the speech engine did not start"

    def say(self, cue) -> None:
        """Hand a cue to the worker: put on a queue, returns at once (the frame loop never waits)."""
        if self._thread is not None and self.lost is None:
            self._handed += 1
            self._inbox.put(cue)

    def finish(self, timeout_s: float = FINISH_S) -> bool:
        """Wait until every cue handed over is spoken, cut or dropped (True), at most `timeout_s`.
        At the end of a session only: the frame loop never waits."""
        end_s = time.monotonic() + timeout_s
        while self._thread is not None and self.lost is None and time.monotonic() < end_s:
            ended = sum(1 for r in self.poll() if r[0] in ("done", "cut", "dropped"))
            if ended + self._lost_with_worker >= self._handed:   # a restarted worker's cues are not waited for
                return True
            time.sleep(POLL_S)
        return self._thread is None or self.lost is not None

    def close(self) -> None:
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._proc is not None and self._proc.is_alive():
            self._commands.put(("quit",))
            self._proc.join(timeout=1.0)
        self._kill()
        self._drain()

    def poll(self) -> list[tuple]:
        """Read the worker's reports now (the manager reads them a few times a second); the log."""
        self._drain()
        return self.log

    def counts(self) -> dict:
        kinds = [r[0] for r in self.log]
        return {"spoken": kinds.count("start"), "cut": kinds.count("cut"), "dropped": kinds.count("dropped"),
                "restarts": self.restarts, "lost": self.lost}

    # --- the manager thread ---------------------------------------------------------------------

    def _spawn(self) -> None:
        self._sent = self._ended = 0
        self._commands = self._ctx.Queue()
        self._proc = self._ctx.Process(target=worker_main, args=(self.settings, self._commands, self._reports),
                                       name="coach-voice", daemon=True)
        self._proc.start()
        self._synth_since_s = None

    def _kill(self) -> None:
        proc = self._proc
        if self._commands is not None:   # what is still queued for this worker is dropped, not waited on at exit
            self._commands.cancel_join_thread()
        if proc is None or proc.pid is None:
            return
        if proc.is_alive():
            try:   # the worker leads its own process group: its player goes with it
                os.killpg(proc.pid, signal.SIGKILL) if hasattr(os, "killpg") else proc.kill()
            except OSError:
                proc.kill()
        proc.join(timeout=1.0)

    def _drain(self) -> None:
        while True:
            try:
                report = self._reports.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            self.log.append(report)
            kind = report[0]
            if kind in ("done", "cut", "dropped"):
                self._ended += 1
            if kind == "synth":
                self._synth_since_s = report[1]
            elif kind == "start":
                self._synth_since_s = None
            elif kind == "no_audio":
                self.lost = f"no audio: {report[2]}"

    def _manage(self) -> None:
        while True:
            try:
                cue = self._inbox.get(timeout=MANAGE_S)
            except queue.Empty:
                cue = False
            if cue is None:
                return
            self._drain()
            if self.lost is not None:
                continue
            if self._hung_or_dead():
                continue
            if cue is not False:
                self._sent += 1
                self._commands.put(("say", cue.key, cue.text, int(cue.priority), time.monotonic()))

    def _hung_or_dead(self) -> bool:
        """Restart a worker that died or hangs in the engine; give up after `MAX_RESTARTS`."""
        hung = self._synth_since_s is not None and time.monotonic() - self._synth_since_s > 2 * SYNTH_TIMEOUT_S
        if self._proc.is_alive() and not hung:
            return False
        self._kill()
        self._drain()   # what it said before it was killed; the rest of what it was sent is lost with it
        self._lost_with_worker += max(0, self._sent - self._ended)
        self._sent = self._ended = 0
        if self.restarts >= MAX_RESTARTS:
            self.lost = f"the speech worker {'hung' if hung else 'died'} {self.restarts + 1} times"
            return True
        self.restarts += 1
        self._spawn()
        return False


# --- voice, else tones, else silence --------------------------------------------------------------

@dataclass
class SoundChoice:
    """What the session speaks or plays with: `voice` (a started `Voice`) or `sounds` (the tones), or
    neither (silence). `asked`: voice | tones | mute; `used`: voice | tones | none; `reason`: why
    not what was asked (None: it was)."""

    asked: str
    used: str
    reason: str | None = None
    voice: Voice | None = None
    sounds: Sounds | None = None

    def as_dict(self) -> dict:
        out = {"asked": self.asked, "used": self.used, "reason": self.reason}
        if self.voice is not None:
            out.update(engine=self.voice.engine, player=self.voice.player, voice=self.voice.counts(),
                       rate_wpm=self.voice.settings.rate_wpm, volume=self.voice.settings.volume)
        return out

    def close(self, finish: bool = False) -> None:
        """`finish`: let the voice say what it was given first (at most `FINISH_S`)."""
        if self.voice is not None:
            try:
                if finish:
                    self.voice.finish()
            finally:   # a signal while the last cues finish still stops the worker and its player
                self.voice.close()
        if self.sounds is not None:
            self.sounds.close()

    def __enter__(self) -> SoundChoice:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def choose_sound(asked: str, settings: VoiceSettings | None = None, *, player: str | None = None) -> SoundChoice:
    """The voice when asked for and it starts, else the tones when a player is there, else silence.
    Never fails. `player`: the tones' player (None: the first found)."""
    if asked not in ("voice", "tones", "mute"):
        raise ValueError(f"sound: expected voice, tones or mute, got {asked!r}")
    if asked == "mute":
        return SoundChoice(asked, "none")
    reason = None
    if asked == "voice":
        settings = settings or VoiceSettings()
        command = player_command(settings)
        device = audio_device_problem(command) if command else None
        if command is None and sys.platform != "win32":
            reason = "no audio player (paplay, aplay or afplay) for the voice"
        elif device is not None:   # the tones would need the same device: silence, said once
            return SoundChoice(asked, "none", device)
        else:
            voice = Voice(settings)
            reason = voice.start()
            if reason is None:
                return SoundChoice(asked, "voice", voice=voice)
    sounds = Sounds(player=player)
    if sounds.available:
        device = audio_device_problem((sounds.player,)) if sounds.player else None
        if device is None:
            return SoundChoice(asked, "tones", reason, sounds=sounds)
        reason = f"{reason}; {device}" if reason else device
    sounds.close()
    return SoundChoice(asked, "none", reason or "no audio player for the tones")


def render_wavs(cues, settings: VoiceSettings, timeout_s: float = 30.0) -> list[Path]:
    """Render `cues` to WAV files in `settings.wav_dir` through the worker, in order, playing none:
    what the session would say, to listen to (or measure) without an audio device. Empty when no
    engine starts. Waits for the worker (not for the frame loop: a tool for checks and tests)."""
    settings = VoiceSettings(settings.rate_wpm, settings.volume, settings.driver, (), settings.wav_dir)
    voice = Voice(settings)
    if voice.start() is not None:
        return []
    try:
        folder, wanted = Path(settings.wav_dir), len(list(cues))
        for cue in cues:   # one at a time, each once the previous one is rendered: nothing waits or is cut
            done = len([r for r in voice.log if r[0] in ("done", "dropped")])
            voice.say(cue)
            end_s = time.monotonic() + timeout_s
            while len([r for r in voice.poll() if r[0] in ("done", "dropped")]) <= done and time.monotonic() < end_s:
                if voice.lost is not None:
                    return []
                time.sleep(POLL_S)
        return sorted(folder.glob("*.wav"))[-wanted:] if wanted else []
    finally:
        voice.close()


__all__ = ["DEFAULT_RATE_WPM", "DEFAULT_VOLUME", "RATE_RANGE_WPM", "SoundChoice", "Voice", "VoiceSettings",
           "choose_sound", "render_wavs"]
