"""Read and write landmark recordings in the pose-landmarks/1 format (JSON Lines, optionally gzip).

The format is specified in ../shared/landmarks/FORMAT.md: a header line, then one line per frame
with `frame`, `t` and `poses` (each `{"image": 33 x [x, y, z, visibility, presence],
"world": 33 x [x, y, z]}`). The person exercising is written first; others follow, each marked
`"other": true` with `"age"`, the seconds since their landmarks were seen (optional keys: a file
without them reads as before, its extra poses others seen in that frame, age 0). The header may
also say what the landmarks were detected with (`SETTINGS`: poses looked for, running mode,
confidences, beside the `model`): `coach record` writes them, older recordings have none.

Reading checks every value and bounds every read, so that no file can crash or stall a command:
- NaN, inf or an out-of-range number anywhere (a landmark, `t`, `frame`, the header's fps, width,
  height or a setting) is a `RecordingError` naming the file and the line (and the key). Such a
  file was written wrongly, so none of its numbers are trusted: a writer fed from it (`coach
  record`) publishes nothing.
  A line that is cut short or not JSON is what an interrupted write leaves; the frames before it
  are good, and a writer keeps them.
- Lines are read with a maximum length and at most `MAX_BLANK_RUN` blank lines in a row, so a
  file without line ends (`/dev/zero`) or a gzip of gigabytes of newlines fails in a moment.
- A header with no frames is an error ("no frames"), as a video with no frames is.
- Time must move forward. A frame whose `t` does not is dropped with a warning naming the line
  (an error when most frames go back); a step forward longer than a jump (`is_jump`) is not
  counted as time: the frames after it are moved back so the step becomes `JUMP_STAND_IN_S` -
  a gap the engine does not count as hold time, which the session's duration hardly notices.
  Warnings go to `on_warning` (default: one `coach: warning: ...` line on stderr, also under
  `--quiet`: it says something is wrong with the input, which `--quiet` must not hide).

Writes are atomic: frames go to a temporary file beside the target, which replaces the target on
close — also after Ctrl-C (or SIGTERM / SIGHUP) or an input failing part way, so every frame written
so far is kept in a valid file, whose header then says `"partial": true`. A failure to write (a full
disk) removes the temporary file and leaves the target untouched. The header is written with `"partial": false ` reserved, so
that marking it costs one write in place: in a .gz file the header is a gzip member of its own,
stored uncompressed, so the same-length line gives a member of the same length (gzip readers read
concatenated members as one stream). Except after a `BadValueError` from the recording being copied
(NaN, inf, an impossible number): none of that file's numbers can be trusted, so nothing is published.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from coach import interrupts
from coach.errors import BadValueError, OutputError, RecordingError
from coach.io import faults
from coach.io.atomic import publish, settle
from coach.io.sources import RECORDING_SUFFIXES, is_recording_path  # noqa: F401 (re-exported)
from coach.pose.core import Other, Pose, PoseFrame
from coach.pose.landmarks import LANDMARK_NAMES, NUM_LANDMARKS
from coach.pose.tracking import PrimaryTracker
from coach.usertext import printable

FORMAT = "pose-landmarks/1"
IMAGE_FIELDS = ["x", "y", "z", "visibility", "presence"]
WORLD_FIELDS = ["x", "y", "z"]
# Decimal places written, as in the shared recordings: coordinates 5, visibility/presence 4, time 4.
COORD_DECIMALS, SCORE_DECIMALS, TIME_DECIMALS = 5, 4, 4
GZIP_LEVEL = 6  # level 9 costs ~1 ms more per frame for a few percent smaller files

# --- bounds on what is read (each with its reason) ---
# A pose at full float precision is under 8 kB (33 landmarks x 8 numbers x at most 25 characters,
# plus keys); `--num-poses` looks for a handful of people (default 2). A line of 1 Mi characters
# holds over 100 such poses, yet a file with no line ends (/dev/zero) fails after reading 1 MiB.
MAX_LINE_CHARS = 1 << 20
# A writer leaves no blank lines (a hand-edited file a few); skipping millions of them (2 GiB of
# newlines gzip to 2 MB) would take minutes, so more than this many in a row is an error.
MAX_BLANK_RUN = 1000
# Header: no camera films faster than 10,000 fps or wider than 100,000 pixels (16K video is 15,360).
MAX_FPS, MAX_SIZE_PX = 10_000.0, 100_000
# Landmarks: image x, y, z are in frame widths (a body part out of frame falls a little outside
# [0, 1]), world x, y, z in metres from the hips; nothing MediaPipe outputs comes near a thousand,
# and a bound this far inside float range keeps every sum and square of them finite.
MAX_ABS_COORD = 1_000.0
# Time: below 1e10 s (317 years) a double resolves a few microseconds, so frame steps stay exact.
MAX_ABS_T_S = 1e10
MAX_FRAME_INDEX = 2**53  # the largest whole number a JSON reader keeps exact
# A step forward longer than both of these is a jump (a clock reset, a corrupt time), not a pause.
JUMP_S, JUMP_FRAMES = 60.0, 10
# What a jump is replaced by: longer than any gap the engine bridges (EngineSettings.max_gap_s and
# max_frame_gap_s, 0.5 s), so holds pause across it; short enough not to swell the duration.
JUMP_STAND_IN_S = 1.0
# Dropped frames that went back in time outnumbering the kept ones (after this many) = not in order.
MIN_BACKWARDS_FOR_ERROR = 10

# --- optional header keys: the settings the landmarks were detected with ---
# `coach record` writes `PoseDetector.settings` (less `model`, which has had its own key from the
# start) between `model` and `landmark_names`. Older recordings (the shared ones) have none of them;
# a key that is present is checked like fps: a wrong value is a BadValueError naming the file and key.
# A key written that the reader does not know (a setting added later) is ignored when read, as any
# unknown header key is; give it a row here to keep and check it.
# Poses looked for: a line of MAX_LINE_CHARS holds over 100 poses at full precision (see above), so
# a recording made looking for more people than this could not be read back whole.
MAX_NUM_POSES = 100
RUNNING_MODES = ("image", "video")   # PoseDetector's modes (coach.pose.detector.MODES; a test keeps them equal)


def _whole_number_of_poses(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) and 1 <= number <= MAX_NUM_POSES else None


def _whole_number_of_watched(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) and 0 <= number <= MAX_NUM_POSES else None


# A frame side in pixels: at least one pixel, at most 65536 (a video's dimensions are 16-bit in MP4).
MAX_SIDE_PX = 65536


def _side_px(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) and 1 <= number <= MAX_SIDE_PX else None


# Looks per second: above the fastest camera's frame rate (1000 Hz is beyond any) a rate means nothing.
MAX_RATE_HZ = 1000.0


def _rate_hz(value) -> float | None:
    number = _number(value)
    return number if number is not None and 0.0 < number <= MAX_RATE_HZ else None


def _running_mode(value) -> str | None:
    return value if isinstance(value, str) and value in RUNNING_MODES else None


def _fraction(value) -> float | None:
    """MediaPipe's confidences are probabilities: a finite number from 0 to 1."""
    number = _number(value)
    return number if number is not None and 0.0 <= number <= 1.0 else None


# key -> (check returning the value to keep or None, what is expected)
SETTINGS: dict[str, tuple[Callable[[object], object | None], str]] = {
    "num_poses": (_whole_number_of_poses, f"a whole number of poses from 1 to {MAX_NUM_POSES}"),
    "running_mode": (_running_mode, " or ".join(repr(m) for m in RUNNING_MODES)),
    "min_pose_detection_confidence": (_fraction, "a confidence from 0 to 1"),
    "min_pose_presence_confidence": (_fraction, "a confidence from 0 to 1"),
    "min_tracking_confidence": (_fraction, "a confidence from 0 to 1"),
    "max_side_px": (_side_px, f"a whole number of pixels from 1 to {MAX_SIDE_PX}"),
    "watch_num_poses": (_whole_number_of_watched, f"a whole number of people from 0 to {MAX_NUM_POSES}"),
    "watch_rate_hz": (_rate_hz, f"looks per second above 0, at most {MAX_RATE_HZ:g}"),
    "watch_max_side_px": (_side_px, f"a whole number of pixels from 1 to {MAX_SIDE_PX}"),
}
# The header's own keys, which no setting may replace.
HEADER_KEYS = ("format", "label", "fps", "width", "height", "model", "landmark_names", "image_fields",
               "world_fields", "partial")


def _shown(value) -> str:
    """A header value as an error message shows it: its repr, cut short (a line may be 1 Mi long)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def checked_settings(settings: Mapping) -> dict:
    """`settings` with each known key checked and normalised; ValueError names the first bad key.
    Unknown keys must be plain JSON values (text, finite numbers, booleans, null, lists and objects
    of them), written as they are."""
    out = {}
    for key, value in settings.items():
        if not isinstance(key, str) or key in HEADER_KEYS:
            raise ValueError(f"setting {key!r}: not a setting (the header has its own {key!r})")
        if key in SETTINGS:
            check, expected = SETTINGS[key]
            kept = check(value)
            if kept is None:
                raise ValueError(f"{key} is {_shown(value)}, expected {expected}")
            out[key] = kept
        elif _plain_json(value):
            out[key] = value
        else:
            raise ValueError(f"setting {key!r}: {_shown(value)} is not a plain JSON value")
    return out


def _plain_json(value, depth: int = 0) -> bool:
    if depth > 4:   # a setting is a number, a word or a short list of them: nothing nests deeper
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_plain_json(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain_json(v, depth + 1) for k, v in value.items())
    return False


@dataclass(frozen=True)
class RecordingInfo:
    """The header of a recording. `fps` stays a float (29.97 is not 30). `settings`: what the
    landmarks were detected with (`SETTINGS`; {} when the header does not say), checked on creation."""

    fps: float
    width: int
    height: int
    model: str = ""
    label: str = ""
    partial: bool = False   # the recording was cut short by Ctrl-C or a signal
    settings: Mapping[str, object] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(checked_settings(self.settings)))

    def header(self) -> dict:
        return {"format": FORMAT, "label": self.label, "fps": float(self.fps), "width": int(self.width),
                "height": int(self.height), "model": self.model, **self.settings,
                "landmark_names": list(LANDMARK_NAMES), "image_fields": IMAGE_FIELDS, "world_fields": WORLD_FIELDS,
                "partial": bool(self.partial)}


def warn_on_stderr(message: str) -> None:
    """The default warning handler: one line on stderr (no escape codes from a file name)."""
    print(f"coach: warning: {printable(message)}", file=sys.stderr)


def is_jump(step_s: float, fps: float) -> bool:
    """True when a step forward in time is too long to be a pause in filming (see JUMP_S)."""
    return step_s > JUMP_S and step_s > JUMP_FRAMES / fps


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def _parse_header(path: Path, line: str) -> RecordingInfo:
    try:
        head = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"{path}: line 1: not JSON ({exc.msg})") from None
    if not isinstance(head, dict):
        raise RecordingError(f"{path}: line 1: the header is a JSON {type(head).__name__}, expected an object "
                             f"with \"format\": {FORMAT!r}")
    if head.get("format") != FORMAT:
        raise RecordingError(f"{path}: line 1: format is {head.get('format')!r}, expected {FORMAT!r}")
    names = head.get("landmark_names", list(LANDMARK_NAMES))
    if len(names) != NUM_LANDMARKS:
        raise RecordingError(f"{path}: line 1: {len(names)} landmark_names, expected {NUM_LANDMARKS}")
    for key in ("fps", "width", "height"):
        if key not in head:
            raise RecordingError(f"{path}: line 1: bad or missing header key {key!r}")
    fps = _number(head["fps"])
    if fps is None or not 0 < fps <= MAX_FPS:
        raise BadValueError(f"{path}: line 1: fps is {head['fps']!r}, expected a frame rate above 0 and "
                            f"at most {MAX_FPS:g}")
    size = []
    for key in ("width", "height"):
        value = _number(head[key])
        if value is None or value != int(value) or not 1 <= value <= MAX_SIZE_PX:
            raise BadValueError(f"{path}: line 1: {key} is {head[key]!r}, expected a whole number of pixels "
                                f"from 1 to {MAX_SIZE_PX}")
        size.append(int(value))
    settings = {}
    for key, (check, expected) in SETTINGS.items():
        if key in head:
            settings[key] = check(head[key])
            if settings[key] is None:
                raise BadValueError(f"{path}: line 1: {key} is {_shown(head[key])}, expected {expected}")
    return RecordingInfo(fps=fps, width=size[0], height=size[1], model=str(head.get("model", "")),
                         label=str(head.get("label", "")), partial=head.get("partial") is True, settings=settings)


def _number(value) -> float | None:
    """A finite JSON number as a float, else None (NaN, inf, 1e999, strings, booleans, null)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return value if math.isfinite(value) else None


def _parse_pose(where: str, item: dict, size: tuple[int, int]) -> Pose:
    try:
        image = np.asarray(item["image"], dtype=np.float64)
        world = np.asarray(item["world"], dtype=np.float64)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise RecordingError(f"{where}: pose needs numeric 'image' and 'world' arrays ({exc})") from None
    if image.shape != (NUM_LANDMARKS, 5) or world.shape != (NUM_LANDMARKS, 3):
        raise RecordingError(f"{where}: expected {NUM_LANDMARKS} landmarks of 5 image and 3 world fields, "
                             f"got image {image.shape} and world {world.shape}")
    _check_values(where, "image", image)
    _check_values(where, "world", world)
    pose = Pose.from_arrays(image, world, size)
    if "age" not in item and not item.get("other"):
        return pose
    age = _number(item.get("age", 0.0))
    if age is None or not 0.0 <= age <= MAX_ABS_T_S:
        raise RecordingError(f"{where}: a pose's 'age' must be a number of seconds of 0 or more, got {item.get('age')!r}")
    return Other.of(pose, age)


def _split_marked(poses: list[Pose]) -> tuple[list[Pose], list[Pose]]:
    """(candidates for the person exercising, poses marked as someone else). A pose written with
    "other" or "age" (`frame_json`) is never the exerciser; older files mark nobody."""
    return [p for p in poses if not isinstance(p, Other)], [p for p in poses if isinstance(p, Other)]


def _bounds(fields: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is a score, lowest, highest) per field: scores within [0, 1], coordinates within MAX_ABS_COORD."""
    scores = np.array([f in ("visibility", "presence") for f in fields])
    return scores, np.where(scores, 0.0, -MAX_ABS_COORD), np.where(scores, 1.0, MAX_ABS_COORD)


_FIELDS = {"image": IMAGE_FIELDS, "world": WORLD_FIELDS}
_BOUNDS = {key: _bounds(fields) for key, fields in _FIELDS.items()}


def _check_values(where: str, key: str, values: np.ndarray) -> None:
    """Every number of a pose's `key` array ("image" or "world") finite and in range (`_bounds`)."""
    fields, (scores, low, high) = _FIELDS[key], _BOUNDS[key]
    if (values >= low).all() and (values <= high).all():   # NaN compares False: not all
        return
    i, j = (int(k) for k in np.argwhere(~((values >= low) & (values <= high)))[0])
    expected = "from 0 to 1" if scores[j] else f"a finite number within ±{MAX_ABS_COORD:g}"
    raise BadValueError(f"{where}: {key} {fields[j]} of landmark {i} ({LANDMARK_NAMES[i]}) is "
                        f"{float(values[i, j])!r}, expected {expected}")


def _frame_time(where: str, rec: dict) -> tuple[float, int]:
    """`t` and `frame` of a frame line, checked: finite, t within MAX_ABS_T_S, frame a whole number >= 0."""
    t_s, index = _number(rec["t"]), _number(rec["frame"])
    if t_s is None or abs(t_s) > MAX_ABS_T_S:
        raise BadValueError(f"{where}: t is {rec['t']!r}, expected seconds as a finite number within "
                            f"±{MAX_ABS_T_S:g}")
    if index is None or index != int(index) or not 0 <= index <= MAX_FRAME_INDEX:
        raise BadValueError(f"{where}: frame is {rec['frame']!r}, expected a whole number from 0")
    return t_s, int(index)


class Recording:
    """A recording opened for reading: `info` is parsed at once, `frames()` streams `PoseFrame`s.

    `on_warning(message)` hears about frames dropped or moved in time (default: `warn_on_stderr`)."""

    def __init__(self, path: str | os.PathLike, on_warning: Callable[[str], None] | None = None):
        self.path = Path(path)
        self.on_warning = on_warning or warn_on_stderr
        if not self.path.exists():
            raise RecordingError(f"{self.path}: no such file")
        if self.path.is_dir():
            raise RecordingError(f"{self.path}: is a directory, expected a .jsonl or .jsonl.gz recording")
        try:
            fh = _open_text(self.path)
        except OSError as exc:
            raise RecordingError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        with fh:
            first = self._read_line(fh, 1)
        if not first.strip():
            raise RecordingError(f"{self.path}: empty file, expected a {FORMAT} header line")
        self.info = _parse_header(self.path, first)

    def _read_line(self, fh, lineno: int) -> str:
        """One line, at most MAX_LINE_CHARS long ('' at the end of the file)."""
        try:
            line = fh.readline(MAX_LINE_CHARS + 1)
        except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
            raise RecordingError(f"{self.path}: line {lineno}: unreadable ({exc})") from None
        if len(line) > MAX_LINE_CHARS:
            raise RecordingError(f"{self.path}: line {lineno}: longer than {MAX_LINE_CHARS} characters; "
                                 f"not a {FORMAT} recording")
        return line

    def _lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text) of every non-blank line after the header, bounded (see the module doc)."""
        fh = _open_text(self.path)
        try:
            self._read_line(fh, 1)
            lineno, blank_run = 1, 0
            while line := self._read_line(fh, lineno + 1):
                lineno += 1
                if line.strip():
                    blank_run = 0
                    yield lineno, line
                    continue
                blank_run += 1
                if blank_run > MAX_BLANK_RUN:
                    raise RecordingError(f"{self.path}: line {lineno}: more than {MAX_BLANK_RUN} blank lines "
                                         f"in a row; not a {FORMAT} recording")
        finally:
            fh.close()

    def count_frames(self) -> int | None:
        """Frame lines in the file (for a progress bar), without parsing them; None if it cannot tell."""
        try:
            return sum(1 for _ in self._lines())
        except (RecordingError, OSError):
            return None

    def frames(self) -> Iterator[PoseFrame]:
        """Yield every frame; the person exercising is chosen stably, as for live detection."""
        size = (self.info.width, self.info.height)
        tracker = PrimaryTracker()
        clock = _Clock(self.path, self.info.fps, self.on_warning)
        lines = self._lines()
        try:
            for lineno, line in lines:
                where = f"{self.path}: line {lineno}"
                try:
                    rec = json.loads(line)
                    t_s, index = _frame_time(where, rec)
                    poses = [_parse_pose(where, p, size) for p in rec["poses"]]
                except json.JSONDecodeError as exc:
                    raise RecordingError(f"{where}: not JSON ({exc.msg})") from None
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise RecordingError(f"{where}: frame needs 'frame', 't' and 'poses' ({exc})") from None
                t_s = clock.place(lineno, t_s)
                if t_s is None:
                    continue
                candidates, marked = _split_marked(poses)
                pose, others = tracker.choose(candidates)
                yield PoseFrame(t_s=t_s, index=index, pose=pose if pose is not None else Pose.empty(size),
                                others=(*others, *marked))
            clock.finish()
        except GeneratorExit:   # the reader stopped early (Ctrl-C, a partial replay): say what was dropped so far
            clock.say_dropped()
            raise
        finally:
            lines.close()

    def __iter__(self) -> Iterator[PoseFrame]:
        return self.frames()


class _Clock:
    """Frame times as read, made to move forward: drops frames going back, takes the length out of
    jumps (see the module doc); warns once per kind and file, and sums up at the end."""

    def __init__(self, path: Path, fps: float, on_warning: Callable[[str], None]):
        self.path, self.fps, self.warn = path, fps, on_warning
        self.last_read_s: float | None = None   # the last kept frame's time as written
        self.shift_s = 0.0                      # taken out of the times after jumps
        self.kept = self.dropped = self.jumps = 0
        self.said = False
        self.first_drop = ""                    # where time first went back (said at the end: once
                                                # most frames go back, that error is the one line)

    def place(self, lineno: int, t_s: float) -> float | None:
        """The time to use for this frame, or None to drop it."""
        last = self.last_read_s
        if last is not None and not t_s > last:
            self.dropped += 1
            if self.dropped == 1:
                self.first_drop = f"line {lineno}: t goes from {last:g} s back to {t_s:g} s"
            if self.dropped >= MIN_BACKWARDS_FOR_ERROR and self.dropped > self.kept:
                raise RecordingError(f"{self.path}: line {lineno}: most frames go back in time "
                                     f"({self.dropped} of {self.dropped + self.kept}); not a recording in time order")
            return None
        if last is not None and is_jump(t_s - last, self.fps):
            self.jumps += 1
            if self.jumps == 1:
                self.warn(f"{self.path}: line {lineno}: t jumps forward {t_s - last:g} s; the jump is not counted "
                          f"as time (taken as a gap of {JUMP_STAND_IN_S:g} s)")
            self.shift_s += t_s - last - JUMP_STAND_IN_S
        self.last_read_s = t_s
        self.kept += 1
        return t_s - self.shift_s

    def say_dropped(self) -> None:
        """One warning for the frames dropped as going back in time, if any (once)."""
        if self.dropped and not self.said:
            self.said = True
            count = "1 frame" if self.dropped == 1 else f"{self.dropped} frames"
            self.warn(f"{self.path}: {self.first_drop}; {count} that did not move forward in time dropped")

    def finish(self) -> None:
        """The end of the file: no frame at all is an error; repeated problems are summed up."""
        if self.kept == 0:
            raise RecordingError(f"{self.path}: no frames (a header only)")
        self.say_dropped()
        if self.jumps > 1:
            self.warn(f"{self.path}: {self.jumps} jumps forward in time were not counted as time")


def read_recording(path: str | os.PathLike, on_warning: Callable[[str], None] | None = None) -> Recording:
    return Recording(path, on_warning)


def _pose_json(pose: Pose) -> dict:
    image = pose.as_image_array()
    if not (np.isfinite(image).all() and np.isfinite(pose.world).all()):
        raise ValueError("cannot record a pose with non-finite landmarks")
    # .tolist() first: rounding Python floats is several times faster than rounding numpy scalars
    img = [[round(a, COORD_DECIMALS), round(b, COORD_DECIMALS), round(c, COORD_DECIMALS),
            round(v, SCORE_DECIMALS), round(p, SCORE_DECIMALS)] for a, b, c, v, p in image.tolist()]
    wld = [[round(x, COORD_DECIMALS), round(y, COORD_DECIMALS), round(z, COORD_DECIMALS)]
           for x, y, z in pose.world.tolist()]
    return {"image": img, "world": wld}


def _other_json(other: Pose) -> dict:
    """Someone else: marked "other" (so a frame whose exerciser is unseen never makes them the
    exerciser on reading) with the age of their landmarks in seconds; readers of pose-landmarks/1
    that do not know the keys read them as one more pose."""
    return {**_pose_json(other), "other": True, "age": round(float(getattr(other, "age_s", 0.0)), TIME_DECIMALS)}


def frame_json(frame: PoseFrame) -> str:
    """One frame line. The exercising person is first; an empty pose is not written."""
    poses = [] if frame.pose.is_empty else [_pose_json(frame.pose)]
    poses += [_other_json(p) for p in frame.others if not p.is_empty]
    return json.dumps({"frame": int(frame.index), "t": round(frame.t_s, TIME_DECIMALS), "poses": poses},
                      separators=(", ", ": "))


def _header_bytes(info: RecordingInfo, partial: bool, gz: bool) -> bytes:
    """The header line; "true " and "false" have the same length, so either fits the other's place."""
    text = json.dumps({**info.header(), "partial": partial}).replace('"partial": true}', '"partial": true }')
    line = (text + "\n").encode("utf-8")
    return gzip.compress(line, compresslevel=0, mtime=0) if gz else line


class RecordingWriter:
    """Context manager writing a recording atomically; gzip when the name ends in `.gz`."""

    def __init__(self, path: str | os.PathLike, info: RecordingInfo):
        self.path = Path(path)
        self.info = info
        self.frames_written = 0
        self.partial = False
        self.stopped_early = False   # set by the owner when what it records was cut short without an exception
        self._failed = False   # a write of this file failed (a full disk): it is not kept
        self._fh = None
        self._tmp: Path | None = None
        self._gz = self.path.name.endswith(".gz")

    def __enter__(self) -> RecordingWriter:
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise OutputError(f"{self.path}: folder {folder} does not exist")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write in {folder} ({_why(exc)})") from None
        self._tmp = Path(tmp)
        raw = faults.fdopen(fd, "wb")
        try:
            raw.write(_header_bytes(self.info, False, self._gz))
        except OSError as exc:
            raw.close()
            self._tmp.unlink(missing_ok=True)
            raise OutputError(f"{self.path}: could not be written ({_why(exc)})") from None
        binary = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=GZIP_LEVEL) if self._gz else raw
        self._raw, self._fh = raw, io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
        return self

    def write(self, frame: PoseFrame) -> None:
        """One frame line. A signal arriving meanwhile waits until the line is whole (a gzip stream
        cut between its checksum and its data would not read back)."""
        line = frame_json(frame) + "\n"
        with interrupts.deferred():
            try:
                self._fh.write(line)
            except OSError as exc:
                self._failed = True
                raise OutputError(f"{self.path}: could not be written ({_why(exc)})") from None
            self.frames_written += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        """Finish the file and move it into place - marked partial when something stopped it (Ctrl-C,
        a signal, an input that fails part way) - unless writing it failed (a full disk) or the input
        had untrustworthy numbers (`BadValueError`): then remove it, leaving the target untouched. A failure to finish it is an `OutputError`. (An error from
        elsewhere - a terminal gone after SIGHUP - does not cost the frames already written.)"""
        if self._failed:   # the write's own OutputError is on its way; only clean up
            for fh in (self._fh, self._raw):
                with contextlib.suppress(OSError, ValueError):
                    fh.close()
            self._tmp.unlink(missing_ok=True)
            return
        keep = exc_type is None or not issubclass(exc_type, BadValueError)
        cut_short = exc_type is not None or self.stopped_early
        try:
            if self._gz:
                self._fh.close()   # ends the gzip stream, which leaves the raw file it wraps open...
            else:
                self._fh.flush()
            settle(self._raw)
            self._fh.close()
            self._raw.close()      # ...so close that too, or its last bytes arrive after the rename
            if keep and cut_short:
                self._mark_partial()
            if keep:
                publish(self._tmp, self.path)
        except OSError as err:
            keep = False
            with contextlib.suppress(OSError, ValueError):
                self._raw.close()
            raise OutputError(f"{self.path}: could not be written ({_why(err)})") from None
        finally:
            if not keep:
                self._tmp.unlink(missing_ok=True)

    def _mark_partial(self) -> None:
        old, new = _header_bytes(self.info, False, self._gz), _header_bytes(self.info, True, self._gz)
        if len(old) != len(new):   # cannot happen (see the module doc); never corrupt the frames for it
            return
        with open(self._tmp, "r+b") as fh:
            fh.write(new)
            settle(fh)
        self.partial = True


def _why(err: OSError) -> str:
    return "disk full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
