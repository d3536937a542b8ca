"""Sound cues for `coach live`: a rising chime when a hold is complete, a low double tone on alerts.

Uses what the platform has, and never fails: the tones are short WAV files written with the standard
library (`wave`) into a temporary folder, played without blocking by the first player found
(`paplay`, `aplay`, `afplay`; `winsound` on Windows). No player, no audio device or a player that
errors: silence (the session goes on). `--mute` plays nothing. One cue plays at a time; a cue asked
for while another still plays is skipped rather than queued.
"""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

SAMPLE_RATE_HZ = 22050
PLAYERS = ("paplay", "aplay", "afplay")
# (frequency Hz, duration s) notes of each cue; 0 Hz = a pause
CUES: dict[str, tuple[tuple[float, float], ...]] = {
    "hold_complete": ((660.0, 0.12), (880.0, 0.22)),
    "caution": ((440.0, 0.15), (0.0, 0.06), (440.0, 0.15)),
    "stop": ((330.0, 0.25), (0.0, 0.06), (247.0, 0.35)),
}
VOLUME = 0.35
FADE_S = 0.01
# The audio-device check: a player is run once on a short silent file before the session. Starting
# aplay or paplay and playing 20 ms takes well under 0.5 s; with no output device they fail at once
# (aplay: "audio open error", paplay: "Connection failure"), and a player still waiting after 3 s for
# a sound server that does not answer is taken as no device, so the session neither fails nor hangs.
PROBE_S = 0.02
PROBE_TIMEOUT_S = 3.0


def tone_samples(notes: tuple[tuple[float, float], ...], rate_hz: int = SAMPLE_RATE_HZ) -> bytes:
    """16-bit mono PCM of the notes, each faded in and out so it does not click."""
    out = bytearray()
    for freq_hz, duration_s in notes:
        n = int(round(duration_s * rate_hz))
        fade = max(1, int(FADE_S * rate_hz))
        for i in range(n):
            envelope = min(1.0, i / fade, (n - 1 - i) / fade)
            value = VOLUME * envelope * math.sin(2 * math.pi * freq_hz * i / rate_hz) if freq_hz > 0 else 0.0
            out += struct.pack("<h", int(value * 32767))
    return bytes(out)


def write_wav(path: Path, notes: tuple[tuple[float, float], ...]) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE_HZ)
        wav.writeframes(tone_samples(notes))
    return path


def find_player() -> str | None:
    """The first command-line WAV player on PATH, or None."""
    return next((p for p in PLAYERS if shutil.which(p)), None)


def audio_device_problem(command: tuple[str, ...] | list[str], timeout_s: float | None = None) -> str | None:
    """Why `command` (a WAV player) cannot play here - no output device, a broken player - or None
    when it plays a short silent file: one line, with the player's own first line of complaint."""
    timeout_s = PROBE_TIMEOUT_S if timeout_s is None else timeout_s
    name = Path(command[0]).name
    with tempfile.TemporaryDirectory(prefix="coach-probe-") as folder:
        path = write_wav(Path(folder) / "silence.wav", ((0.0, PROBE_S),))
        try:
            done = subprocess.run([*command, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=timeout_s, start_new_session=True)
        except subprocess.TimeoutExpired:
            return f"no audio output device ({name} did not finish playing {PROBE_S * 1000:.0f} ms of silence " \
                   f"within {timeout_s:g} s)"
        except OSError as exc:
            return f"the audio player {name} cannot run ({exc.strerror or type(exc).__name__})"
    if done.returncode != 0:
        said = next((line.strip() for line in done.stderr.decode(errors="replace").splitlines() if line.strip()), "")
        return f"no audio output device ({name} failed: {said[:120] or f'exit code {done.returncode}'})"
    return None


class Sounds:
    """Plays the cues. `play(name)` returns True when a player was started (False: muted, no player,
    busy or failed). Use as a context manager, or call `close()`: it stops a cue still playing."""

    def __init__(self, mute: bool = False, player: str | None = None):
        self.mute = mute
        self._player = None if mute else (shutil.which(player) if player else find_player())
        self._winsound = not mute and self._player is None and sys.platform == "win32"
        self._folder: tempfile.TemporaryDirectory | None = None
        self._files: dict[str, Path] = {}
        self._playing: subprocess.Popen | None = None

    @property
    def player(self) -> str | None:
        """The command-line player the tones use (None: muted, none found, or winsound)."""
        return self._player

    @property
    def available(self) -> bool:
        return self._player is not None or self._winsound

    def _file(self, name: str) -> Path:
        if name not in self._files:
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="coach-sounds-")
            self._files[name] = write_wav(Path(self._folder.name) / f"{name}.wav", CUES[name])
        return self._files[name]

    def play(self, name: str) -> bool:
        if name not in CUES:
            raise ValueError(f"sound: unknown cue {name!r}; known: {', '.join(CUES)}")
        if self.mute or not self.available:
            return False
        if self._playing is not None and self._playing.poll() is None:
            return False  # the previous cue still plays
        try:
            path = self._file(name)
            if self._winsound:
                import winsound

                winsound.PlaySound(str(path), winsound.SND_FILENAME | winsound.SND_ASYNC)
                return True
            self._playing = subprocess.Popen([self._player, str(path)], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, RuntimeError):
            return False  # no device, no permission, a broken player: the session goes on in silence
        return True

    def close(self) -> None:
        playing, self._playing = self._playing, None
        if playing is not None:
            if playing.poll() is None:
                playing.terminate()
            try:
                playing.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                playing.kill()
                playing.wait()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> Sounds:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
