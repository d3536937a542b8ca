"""The bad-input corpus: every input that once crashed, hung or misled a command, as one table.

Each row is (id, how to make the input, command arguments, expected exit code, words the message
must hold, time limit). Every run goes through the real command line (`python -m coach`) and is
checked for: the exit code; no "Traceback" anywhere; for exit 2 exactly one `coach: error: ...`
line (after any `coach: warning:` lines) naming the input and holding the words; the time limit;
the peak memory (`os.wait4` of the child). Rows are about file contents, so they use landmark
recordings, not the model (the few that need the model say so); most take a second or two.
Faults (signals, full disks, results replacing inputs) are in tests/test_faults.py.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from coach.pose.recording import MAX_BLANK_RUN, MAX_LINE_CHARS, Recording

REPO = Path(__file__).resolve().parent.parent
BRIDGE = REPO / "exercises" / "bridge.toml"
BASE = "bridge__01.jsonl.gz"   # a shared recording: one person, side view, 23.976 fps
BASE_FRAMES = 120              # five seconds: enough for every command, quick to read
# Peak memory of one run: a command on a recording needs about 150 MB; a reader that kept a whole
# line of /dev/zero would pass this within a second.
MAX_RSS_MB = 1500


# --- inputs ----------------------------------------------------------------------------------------

def _base(shared: Path) -> tuple[dict, list[dict]]:
    with gzip.open(shared / BASE, "rt") as fh:
        head = json.loads(fh.readline())
        frames = [json.loads(next(fh)) for _ in range(BASE_FRAMES)]
    return head, frames


def _write(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def recording(edit: Callable[[dict, list[dict]], None] | None = None, name: str = "clip.jsonl", *,
              raw: Callable[[list[str]], list[str]] | None = None):
    """A copy of the base recording; `edit(header, frames)` changes it in place (Python's json writes
    NaN / Infinity as such), `raw(lines)` changes the text lines."""
    def make(tmp: Path, shared: Path) -> Path:
        head, frames = _base(shared)
        if edit is not None:
            edit(head, frames)
        lines = [json.dumps(head)] + [json.dumps(f) for f in frames]
        return _write(tmp / name, raw(lines) if raw else lines)
    return make


def landmark(field_index: int, value, key: str = "image", frame: int = 10, landmark_index: int = 3):
    def edit(head, frames):
        frames[frame]["poses"][0][key][landmark_index][field_index] = value
    return edit


def frame_key(key: str, value, frame: int = 10):
    def edit(head, frames):
        frames[frame][key] = value
    return edit


def header_key(key: str, value):
    def edit(head, frames):
        head[key] = value
    return edit


def no_frames(blank_lines: int = 0):
    return recording(raw=lambda lines: lines[:1] + [""] * blank_lines)


def nobody(tmp: Path, shared: Path) -> Path:
    head, frames = _base(shared)
    return _write(tmp / "nobody.jsonl", [json.dumps(head)] + [json.dumps({**f, "poses": []}) for f in frames])


def dev_zero(tmp: Path, shared: Path) -> Path:
    (tmp / "x.jsonl").symlink_to("/dev/zero")
    return tmp / "x.jsonl"


def gzip_of_newlines(tmp: Path, shared: Path) -> Path:
    """A 2 MB gzip of 2 GiB of newlines after a valid header: gzip members may be concatenated, so one
    member of 1 MiB of newlines is compressed once and repeated 2048 times."""
    head, _ = _base(shared)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)   # 31: a gzip member
    member = packer.compress(b"\n" * (1 << 20)) + packer.flush()
    path = tmp / "newlines.jsonl.gz"
    with open(path, "wb") as fh:
        fh.write(gzip.compress((json.dumps(head) + "\n").encode()))
        for _ in range(2048):
            fh.write(member)
    return path


def truncated_gzip(tmp: Path, shared: Path) -> Path:
    data = (shared / BASE).read_bytes()
    (tmp / "cut.jsonl.gz").write_bytes(data[: len(data) // 3])
    return tmp / "cut.jsonl.gz"


def binary_named_gz(tmp: Path, shared: Path) -> Path:
    (tmp / "noise.jsonl.gz").write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return tmp / "noise.jsonl.gz"


def shift_times(start: int, by_s: float):
    def edit(head, frames):
        for f in frames[start:]:
            f["t"] += by_s
    return edit


def reverse(head, frames):
    frames.reverse()


def repeat_time(head, frames):
    frames[50]["t"] = frames[49]["t"]


def exercise(*changes: tuple[str, str], name: str = "bridge", text: str | None = None):
    """bridge.toml with (pattern, replacement) changes (first match each; a pattern not found appends
    the replacement, which lands in [safety], the file's last table), saved as ex/NAME.toml."""
    def make(tmp: Path, shared: Path) -> Path:
        body = BRIDGE.read_text() if text is None else text
        for pattern, replacement in changes:
            body, n = re.subn(pattern, lambda _: replacement, body, count=1, flags=re.M)
            if not n:
                body += replacement + "\n"
        (tmp / "ex").mkdir(exist_ok=True)
        path = tmp / "ex" / f"{name}.toml"
        path.write_text(body.replace('id = "bridge"', f'id = "{name}"'))
        return path
    return make


def nested(opening: str, closing: str, depth: int = 100_000):
    return exercise(text=f"a = {opening * depth}1{closing * depth}\n")


def zero_toml(tmp: Path, shared: Path) -> Path:
    (tmp / "ex").mkdir()
    (tmp / "ex" / "bridge.toml").symlink_to("/dev/zero")
    return tmp / "ex" / "bridge.toml"


def text_named_mp4(tmp: Path, shared: Path) -> Path:
    (tmp / "notes.mp4").write_text("this is not a video\n" * 20)
    return tmp / "notes.mp4"


def empty_file(name: str):
    def make(tmp: Path, shared: Path) -> Path:
        (tmp / name).write_bytes(b"")
        return tmp / name
    return make


def directory(name: str):
    def make(tmp: Path, shared: Path) -> Path:
        (tmp / name).mkdir()
        return tmp / name
    return make


def blank_video(tmp: Path, shared: Path) -> Path:
    from test_sources import write_test_video

    write_test_video(tmp / "blank.mp4", (np.full((240, 320, 3), 30, np.uint8) for _ in range(8)), 25.0)
    return tmp / "blank.mp4"


def zero_frame_video(tmp: Path, shared: Path) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(tmp / "zero.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
    writer.release()
    return tmp / "zero.mp4"


# --- the table -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path, Path], Path]
    args: tuple[str, ...]          # "{input}", "{tmp}", "{out}" are filled in
    code: int = 2
    words: tuple[str, ...] = ()
    limit_s: float = 15.0          # generous for a loaded machine; a run takes 1-2 s
    names_input: bool = True       # the error line names the input file
    on_stdout: bool = False        # `exercises validate` reports on stdout: "FAIL <file>: <key>: ..."
    model: bool = False
    then: Callable[[Path, Path, subprocess.CompletedProcess], None] | None = field(default=None, compare=False)


AN = ("analyze", "{input}", "--exercise", "bridge", "--out", "{out}", "-q", "--no-history")
AUTO = ("analyze", "{input}", "--exercise", "auto", "--out", "{out}", "-q", "--no-history")
REC = ("record", "{input}", "-o", "{tmp}/copy.jsonl", "-q")
TEACH = ("teach", "{input}", "--id", "taught", "-o", "{tmp}/taught.toml", "-q")
VALIDATE = ("exercises", "validate", "{input}")
SHOW = ("exercises", "show", "bridge", "--exercises", "{tmp}/ex")
WITH_EX = ("analyze", "{base}", "--exercise", "bridge", "--exercises", "{tmp}/ex", "--out", "{out}", "-q",
           "--no-history")


def nothing_published(tmp: Path, shared: Path, done) -> None:
    leftovers = sorted(p.name for p in tmp.iterdir() if p.name.startswith(("copy", ".copy")))
    assert not leftovers, f"record published or left {leftovers}"


def no_results(tmp: Path, shared: Path, done) -> None:
    out = tmp / "out"
    assert not out.exists() or not [p for p in out.iterdir()], sorted(p.name for p in out.iterdir())


def frames_dropped(n: int):
    def check(tmp: Path, shared: Path, done) -> None:
        session = json.loads(next((tmp / "out").glob("*/session.json")).read_text())
        assert session["frames"] == BASE_FRAMES - n, session["frames"]
    return check


def duration_without_the_jump(tmp: Path, shared: Path, done) -> None:
    session = json.loads(next((tmp / "out").glob("*/session.json")).read_text())
    assert 4.0 < session["duration_s"] < 7.0, session["duration_s"]   # 5 s of frames + a 1 s stand-in


def no_escape_codes(tmp: Path, shared: Path, done) -> None:
    assert "\x1b" not in done.stdout + done.stderr


CASES = [
    # NaN / inf / out-of-range numbers in a recording: every command, nothing kept
    Case("nan landmark, analyze", recording(landmark(1, float("nan"))), AN, words=("line 12", "nan", "left_eye_outer")),
    Case("nan landmark, analyze auto", recording(landmark(1, float("nan"))), AUTO, words=("line 12", "nan"),
         then=no_results),
    Case("nan landmark, record publishes nothing", recording(landmark(1, float("nan"))), REC,
         words=("line 12", "nan"), then=nothing_published),
    Case("inf world landmark", recording(landmark(2, float("inf"), key="world")), AN, words=("line 12", "world", "inf")),
    Case("-inf landmark, record", recording(landmark(0, float("-inf"))), REC, words=("line 12", "-inf"),
         then=nothing_published),
    Case("1e999 (inf) in the text", recording(raw=lambda ls: ls[:5] + [re.sub(r'("image": \[\[)[-0-9.e]+', r"\g<1>1e999",
                                                                          ls[5], count=1)] + ls[6:]),
         AN, words=("line 6", "image x of landmark 0", "inf")),
    Case("huge coordinate 1e300", recording(landmark(0, 1e300)), AN, words=("line 12", "within")),
    Case("visibility above 1", recording(landmark(3, 1.5)), AN, words=("line 12", "visibility", "from 0 to 1")),
    Case("negative presence", recording(landmark(4, -0.5)), AUTO, words=("line 12", "presence")),
    Case("t is NaN", recording(frame_key("t", float("nan"))), AN, words=("line 12", "t is nan")),
    Case("t is inf, auto", recording(frame_key("t", float("inf"))), AUTO, words=("line 12", "t is inf")),
    Case("t is -inf, record", recording(frame_key("t", float("-inf"))), REC, words=("line 12",),
         then=nothing_published),
    Case("t is 1e300", recording(frame_key("t", 1e300)), AN, words=("line 12", "t is")),
    Case("t is a string", recording(frame_key("t", "0.5")), AN, words=("line 12", "t is '0.5'")),
    Case("frame is NaN", recording(frame_key("frame", float("nan"))), AN, words=("line 12", "frame is nan")),
    Case("frame is inf, record", recording(frame_key("frame", float("inf"))), REC, words=("line 12", "frame is inf"),
         then=nothing_published),
    Case("frame is negative", recording(frame_key("frame", -3)), AN, words=("line 12", "frame is -3")),
    Case("frame is not whole", recording(frame_key("frame", 2.5)), AN, words=("line 12", "frame is 2.5")),
    Case("header width NaN", recording(header_key("width", float("nan"))), AN, words=("line 1", "width is nan")),
    Case("header height inf, record", recording(header_key("height", float("inf"))), REC,
         words=("line 1", "height is inf"), then=nothing_published),
    Case("header fps NaN, auto", recording(header_key("fps", float("nan"))), AUTO, words=("line 1", "fps is nan")),
    Case("header fps 0", recording(header_key("fps", 0)), AN, words=("line 1", "fps is 0")),
    Case("header fps negative", recording(header_key("fps", -30)), TEACH, words=("line 1", "fps is -30")),
    Case("header width 0", recording(header_key("width", 0)), AN, words=("line 1", "width is 0")),
    Case("header width 1e12", recording(header_key("width", 1e12)), AN, words=("line 1", "width")),
    Case("header width a string", recording(header_key("width", "wide")), AN, words=("line 1", "width is 'wide'")),
    Case("header without fps", recording(lambda h, f: h.pop("fps")), AN, words=("line 1", "'fps'")),
    # the detector's settings in the header: optional, and checked when present
    Case("header num_poses 0", recording(header_key("num_poses", 0)), AN, words=("line 1", "num_poses is 0")),
    Case("header num_poses not whole, record", recording(header_key("num_poses", 1.5)), REC,
         words=("line 1", "num_poses is 1.5"), then=nothing_published),
    Case("header num_poses a string", recording(header_key("num_poses", "two")), AUTO,
         words=("line 1", "num_poses is 'two'")),
    Case("header num_poses a million", recording(header_key("num_poses", 10**6)), AN, words=("line 1", "num_poses")),
    Case("header watch_num_poses negative", recording(header_key("watch_num_poses", -1)), AN,
         words=("line 1", "watch_num_poses is -1")),
    Case("header watch_rate_hz 0", recording(header_key("watch_rate_hz", 0)), AN, words=("line 1", "watch_rate_hz is 0")),
    Case("header max_side_px 0.5", recording(header_key("max_side_px", 0.5)), AN, words=("line 1", "max_side_px is 0.5")),
    Case("header watch_max_side_px huge", recording(header_key("watch_max_side_px", 10**9)), AN,
         words=("line 1", "watch_max_side_px")),
    Case("header running_mode unknown", recording(header_key("running_mode", "live_stream")), AN,
         words=("line 1", "running_mode is 'live_stream'", "'image' or 'video'")),
    Case("header running_mode a list", recording(header_key("running_mode", ["video"] * 1000)), TEACH,
         words=("line 1", "running_mode is ['video'", "...")),
    Case("header confidence NaN", recording(header_key("min_pose_detection_confidence", float("nan"))), AN,
         words=("line 1", "min_pose_detection_confidence is nan")),
    Case("header confidence above 1, record", recording(header_key("min_tracking_confidence", 1.5)), REC,
         words=("line 1", "min_tracking_confidence is 1.5", "from 0 to 1"), then=nothing_published),
    Case("header confidence negative", recording(header_key("min_pose_presence_confidence", -0.1)), AUTO,
         words=("line 1", "min_pose_presence_confidence is -0.1")),
    # malformed recordings
    Case("header not JSON", recording(raw=lambda ls: ["{oops"] + ls[1:]), AN, words=("line 1", "not JSON")),
    Case("wrong format tag", recording(header_key("format", "poses/9")), AN, words=("format is 'poses/9'",)),
    Case("frame line not JSON", recording(raw=lambda ls: ls[:3] + ["{oops"] + ls[4:]), AUTO,
         words=("line 4", "not JSON")),
    Case("frame line is a list", recording(raw=lambda ls: ls[:3] + ["[1, 2]"] + ls[4:]), AN, words=("line 4",)),
    Case("poses not a list", recording(frame_key("poses", 5)), AN, words=("line 12", "poses")),
    Case("pose without world", recording(lambda h, f: f[10]["poses"][0].pop("world")), AN,
         words=("line 12", "'world'")),
    Case("17 landmarks", recording(lambda h, f: f[10]["poses"][0].update(image=f[10]["poses"][0]["image"][:17])), AN,
         words=("line 12", "expected 33 landmarks")),
    Case("junk line", recording(raw=lambda ls: ls[:3] + ["\x00\x01 junk"] + ls[4:]), AN, words=("line 4", "not JSON")),
    Case("truncated gzip", truncated_gzip, AN, words=("unreadable",)),
    Case("noise named .jsonl.gz", binary_named_gz, AN, words=("unreadable",)),
    Case("empty recording file", empty_file("empty.jsonl"), AN, words=("empty file",)),
    Case("missing recording", lambda tmp, shared: tmp / "nowhere.jsonl", AN, words=("no such file",)),
    Case("directory named .jsonl", directory("dir.jsonl"), AN, words=("holds no videos",)),
    # 0 frames: an error everywhere, like a video without frames
    Case("0 frames, analyze", no_frames(), AN, words=("no frames",), then=no_results),
    Case("0 frames, analyze auto", no_frames(), AUTO, words=("no frames",), then=no_results),
    Case("0 frames, record", no_frames(), REC, words=("no frames",), then=nothing_published),
    Case("0 frames, teach", no_frames(), TEACH, words=("no frames",)),
    Case("header and blank lines only", no_frames(blank_lines=5), AN, words=("no frames",)),
    Case("0-frame video, analyze", zero_frame_video, AN + ("--model", "{lite}"), model=True, words=("no frames",)),
    # bounded reading: fails in seconds, in bounded memory
    Case("/dev/zero named x.jsonl, analyze", dev_zero, AN, words=("line 1", f"longer than {MAX_LINE_CHARS}"), limit_s=10),
    Case("/dev/zero named x.jsonl, record", dev_zero, REC, words=("line 1", "longer than"), limit_s=10,
         then=nothing_published),
    Case("2 GiB of newlines in a 2 MB gzip", gzip_of_newlines, AUTO, words=(f"more than {MAX_BLANK_RUN} blank lines",),
         limit_s=10),
    Case("2 GiB of newlines, teach", gzip_of_newlines, TEACH, words=("blank lines",), limit_s=10),
    Case("one 2 MiB line", recording(raw=lambda ls: ls[:3] + ['{"frame": 3, "t": 0.1, "poses": [' + " " * (2 << 20) + "]}"]),
         AN, words=("line 4", "longer than")),
    Case("blank run in the middle", recording(raw=lambda ls: ls[:3] + [""] * (MAX_BLANK_RUN + 1) + ls[3:]), AN,
         words=(f"line {MAX_BLANK_RUN + 4}", "blank lines")),
    # time that goes back or jumps: a warning naming the line; dropped / not counted; mostly back = error
    Case("t goes back once: dropped with a warning", recording(frame_key("t", 0.0, frame=60)), AN, code=0,
         words=("coach: warning:", "line 62", "back"), then=frames_dropped(1)),
    Case("t repeats: dropped with a warning", recording(repeat_time), AN, code=0, words=("line 52", "back"),
         then=frames_dropped(1)),
    Case("t jumps 10^6 s: not counted as time", recording(shift_times(60, 1e6)), AN, code=0,
         words=("coach: warning:", "line 62", "jumps forward 1e+06 s"), then=duration_without_the_jump),
    # the time jump is said and left out of the time under auto too (the clip is told as the bridge
    # since auto judges the lift above the shoulder-ankle line; it was "not sure", exit 3, before)
    Case("t jumps 10^6 s, auto", recording(shift_times(60, 1e6)), AUTO, code=0,
         words=("line 62", "jumps"), then=duration_without_the_jump),
    Case("frames in reverse order", recording(reverse), AN, words=("most frames go back in time",)),
    Case("frames in reverse order, teach", recording(reverse), TEACH, words=("most frames go back in time",)),
    # exercise files: finite, possible numbers; limits that can fire; plain text; bounded parsing
    Case("hold_s = inf", exercise((r"^hold_s = .*", "hold_s = inf")), VALIDATE, on_stdout=True,
         words=("phases #1 (lift).hold_s", "finite")),
    Case("hold_s = inf, analyze", exercise((r"^hold_s = .*", "hold_s = inf")), WITH_EX, words=("phases #1 (lift).hold_s",)),
    Case("hold_s = nan", exercise((r"^hold_s = .*", "hold_s = nan")), VALIDATE, on_stdout=True, words=("hold_s",)),
    Case("hold_s = 1e9", exercise((r"^hold_s = .*", "hold_s = 1e9")), VALIDATE, on_stdout=True,
         words=("hold_s", "less than or equal to 600")),
    Case("band min = -inf", exercise((r"^min = .*", "min = -inf")), VALIDATE, on_stdout=True,
         words=("envelope.trunk_lift_deg.min", "finite")),
    Case("band max = 1e308", exercise((r"^max = .*", "max = 1e308")), WITH_EX,
         words=("envelope.trunk_lift_deg.max", "outside what")),
    Case("band min = -1e308", exercise((r"^min = .*", "min = -1e308")), VALIDATE, on_stdout=True,
         words=("trunk_lift_deg.min", "-90 to 90")),
    Case("band past the measure's range", exercise((r"^max = 180", "max = 200")), SHOW,
         words=("hip_left_deg.max", "0 to 180")),
    Case("hysteresis = inf", exercise((r"^hysteresis = .*", "hysteresis = inf")), VALIDATE, on_stdout=True,
         words=("hysteresis",)),
    Case("hysteresis = 1e9", exercise((r"^hysteresis = .*", "hysteresis = 1e9")), VALIDATE, on_stdout=True,
         words=("hysteresis",)),
    Case("anchor not a band", exercise((r"^sides = .*", 'sides = "none"\nanchor = "knee_left_deg"')), VALIDATE,
         on_stdout=True, words=("anchor", "knee_left_deg", "not a band")),
    Case("anchor not a measure", exercise((r"^sides = .*", 'sides = "none"\nanchor = "spine_deg"')), VALIDATE,
         on_stdout=True, words=("anchor", "spine_deg")),
    Case("rest_s negative", exercise((r"^rest_s = .*", "rest_s = -5")), VALIDATE, on_stdout=True, words=("rest_s",)),
    Case("rest_s = 1e9", exercise((r"^rest_s = .*", "rest_s = 1e9")), VALIDATE, on_stdout=True, words=("rest_s",)),
    Case("reps_per_side = 10^6", exercise((r"^reps_per_side = .*", "reps_per_side = 1000000")), VALIDATE,
         on_stdout=True, words=("reps_per_side",)),
    Case("safety limit inf switches a rule off", exercise((r"^max_twist_deg = .*", "max_twist_deg = inf")), WITH_EX,
         words=("safety.max_twist_deg", "finite")),
    Case("safety limit past any reading", exercise(("^neck_lateral_max_deg = .*", "neck_lateral_max_deg = 400")),
         VALIDATE, on_stdout=True, words=("safety.neck_lateral_max_deg", "less than 180")),
    Case("speed limit inf", exercise(("^max_speed_deg_s = .*", "max_speed_deg_s = inf")), VALIDATE, on_stdout=True,
         words=("safety.max_speed_deg_s",)),
    Case("hand distance limit 1e308", exercise(("^hand_head_min_sw = .*", "hand_head_min_sw = 1e308")), VALIDATE,
         on_stdout=True, words=("safety.hand_head_min_sw",)),
    Case("flexed trunk limit 1e308", exercise(("^flexed_trunk_deg = .*", "flexed_trunk_deg = 1e308")), VALIDATE,
         on_stdout=True, words=("safety.flexed_trunk_deg",)),
    Case("100000 nested arrays", nested("[", "]"), VALIDATE, on_stdout=True, words=("nested too deeply",)),
    Case("100000 nested inline tables", nested("{b = ", "}"), SHOW, words=("nested too deeply",)),
    Case("/dev/zero named bridge.toml", zero_toml, SHOW, words=("larger than",), limit_s=10),
    Case("escape code in a name", exercise(('^name = "Bridge"', 'name = "Bridge\\u001b[2J\\u001b]0;owned\\u0007"')),
         SHOW, words=("name", "U+001B"), then=no_escape_codes),
    Case("newline in an instruction", exercise((r"^  \"Lie on your back", '  "Lie\\non your back')), VALIDATE,
         on_stdout=True, words=("instructions", "item 1", "U+000A"), then=no_escape_codes),
    Case("escape code in a hint", exercise(('^hint_low = "lift your hips higher"',
                                            'hint_low = "\\u001b[31mlift\\u001b[0m"')), SHOW,
         words=("hint_low", "U+001B"), then=no_escape_codes),
    # teach
    Case("teach: nobody seen in a recording", nobody, TEACH, words=("nobody is seen",)),
    Case("teach: --name with a newline", recording(), TEACH + ("--name", "two\nlines"), names_input=False,
         words=("--name", "U+000A")),
    Case("teach: --name with an escape code", recording(), TEACH + ("--name", "\x1b[2Jname"), names_input=False,
         words=("--name", "U+001B"), then=no_escape_codes),
    Case("teach: nobody seen in a blank video", blank_video, TEACH + ("--model", "{lite}"), model=True,
         words=("nobody is seen",), limit_s=90),
    # sources given to analyze (record's are in tests/test_bad_input.py)
    Case("text file named .mp4", text_named_mp4, AN + ("--model", "{lite}"), model=True, words=("not a video",)),
    Case("empty .mp4", empty_file("empty.mp4"), AN + ("--model", "{lite}"), model=True, words=("empty file",)),
    Case("directory named .mp4", directory("clip.mp4"), AN + ("--model", "{lite}"), model=True,
         words=("holds no videos",)),
    Case("unknown exercise", recording(), ("analyze", "{input}", "--exercise", "nope", "--out", "{out}", "-q"),
         names_input=False, words=("unknown exercise 'nope'",)),
]


def run_limited(args: list[str], timeout_s: float) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run coach; return (result, seconds, peak memory in MB). A run past `timeout_s` is killed and fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "coach", *args], stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout_s:
                child.kill()
                os.wait4(child.pid, 0)
                pytest.fail(f"still running after {timeout_s} s: coach {' '.join(args)}")
            time.sleep(0.02)
        elapsed = time.monotonic() - start
        child.returncode = os.waitstatus_to_exitcode(status)   # reaped here: keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(args, child.returncode, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))
    return done, elapsed, usage.ru_maxrss / 1024


def test_the_corpus_has_at_least_60_distinct_cases():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, landmarks_dir, request):
    lite = request.getfixturevalue("lite_model_path") if case.model else ""
    source = case.make(tmp_path, landmarks_dir)
    fill = {"input": source, "tmp": tmp_path, "out": tmp_path / "out", "base": landmarks_dir / BASE, "lite": lite}
    args = [a.format(**fill) for a in case.args]
    done, elapsed_s, peak_mb = run_limited(args, timeout_s=case.limit_s * 2)

    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == case.code, (done.returncode, done.stdout, done.stderr)
    assert elapsed_s < case.limit_s, f"took {elapsed_s:.1f} s, limit {case.limit_s} s"
    assert peak_mb < MAX_RSS_MB, f"peak memory {peak_mb:.0f} MB"
    lines = done.stderr.strip().splitlines()
    if case.code == 2 and not case.on_stdout:
        errors = lines   # one line: no warning before it either
        assert len(errors) == 1 and errors[0].startswith("coach: error: "), done.stderr
        assert not done.stdout.strip(), f"an error is one line on stderr, nothing else: {done.stdout}"
        assert not (tmp_path / "out").exists(), "a failed run leaves no output folder behind"
        message = errors[0]
    elif case.on_stdout:
        assert not done.stderr, done.stderr
        fails = [ln for ln in done.stdout.splitlines() if ln.startswith("FAIL ")]
        assert len(fails) == 1, done.stdout
        message = fails[0]
    else:   # a success with warnings: every stderr line is a warning
        assert all(ln.startswith("coach: warning: ") for ln in lines), done.stderr
        message = done.stderr
    if case.names_input:
        assert Path(source).name in message, message
    for word in case.words:
        assert word in message, message
    if case.then is not None:
        case.then(tmp_path, landmarks_dir, done)


# --- beyond the table ------------------------------------------------------------------------------

def test_mathtext_in_a_phase_name_is_drawn_literally(tmp_path, landmarks_dir):
    """`$\\frac{$` would stop matplotlib's mathtext parser, and with it the report."""
    exercise((r'^name = "lift"', 'name = "$\\\\frac{$ lift $x^2$"'))(tmp_path, landmarks_dir)
    done, _, _ = run_limited(["analyze", str(landmarks_dir / BASE), "--exercise", "bridge", "--exercises",
                              str(tmp_path / "ex"), "--out", str(tmp_path / "out"), "-q", "--no-history"], 120)
    assert done.returncode == 0 and not done.stderr, done.stderr
    html = (tmp_path / "out" / "bridge__01.coach" / "report.html").read_text()
    assert "data:image/png" in html and "frac" in html


def test_a_100000_frame_recording_still_loads(tmp_path, landmarks_dir):
    """The bounds leave real recordings alone: 100,000 frames (an hour at 28 fps) of a shared
    recording's frames repeated with time moving on, read whole."""
    head, frames = _base(landmarks_dir)
    bodies = [json.dumps(f["poses"]) for f in frames]
    step_s = 1.0 / head["fps"]
    path = tmp_path / "long.jsonl.gz"
    with gzip.open(path, "wt", compresslevel=1) as fh:
        fh.write(json.dumps(head) + "\n")
        for i in range(100_000):
            fh.write(f'{{"frame": {i}, "t": {i * step_s:.4f}, "poses": {bodies[i % len(bodies)]}}}\n')
    recording_ = Recording(path, on_warning=lambda message: pytest.fail(message))
    assert recording_.count_frames() == 100_000
    last = None
    for n, last in enumerate(recording_.frames(), 1):
        pass
    assert n == 100_000 and last.index == 99_999 and abs(last.t_s - 99_999 * step_s) < 1e-3


def test_every_measure_of_the_shared_recordings_lies_in_its_value_range(landmarks_dir):
    """The ranges exercise files are checked against are the ranges the measures really take: every
    10th frame of every shared recording (other people's hands included) reads inside them."""
    from coach.measure.conventions import MEASURE_NAMES, value_range
    from coach.measure.measures import compute_measures

    low, high = np.array([value_range(n) for n in MEASURE_NAMES]).T
    seen = np.zeros(len(MEASURE_NAMES), dtype=bool)
    for path in sorted(landmarks_dir.glob("*.jsonl.gz")):
        for pose_frame in list(Recording(path).frames())[::10]:
            values = compute_measures(pose_frame.pose, pose_frame.others).values
            read = np.isfinite(values)
            outside = read & ((values < low) | (values > high))
            assert not outside.any(), (path.name, pose_frame.index,
                                       {MEASURE_NAMES[i]: values[i] for i in np.flatnonzero(outside)})
            seen |= read
    assert seen.sum() >= len(MEASURE_NAMES) - 2   # all but the never-measured pelvic tilt (and maybe one)


@pytest.mark.parametrize("exercise", ["bridge", "auto"])
def test_without_quiet_a_failed_input_is_still_one_line_and_leaves_no_folder(tmp_path, landmarks_dir, exercise):
    """The corpus runs with -q; a person at a terminal runs without it and must see the same one line
    (no summary table of one failed row, no second copy of the error), and no empty result folder."""
    source = recording(landmark(1, float("nan")))(tmp_path, landmarks_dir)
    out = tmp_path / "new" / "results"
    done, _, _ = run_limited(["analyze", str(source), "--exercise", exercise, "--out", str(out), "--no-history"],
                             timeout_s=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("coach: error: "), done.stderr
    assert done.stdout.strip() == "", done.stdout
    assert not (tmp_path / "new").exists()
