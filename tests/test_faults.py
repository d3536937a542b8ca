"""Faults, as a table: a full disk in every command that writes, and results that must never replace
what is not a coach result. Each row runs the real command line and expects one line on stderr
(`coach: error: ...` with the words given), the exit code, no traceback, the time limit kept, and
nothing half-written: no hidden temporary, the output absent - or, when an earlier complete result
was there, that result unchanged.

The full disk comes two ways. `COACH_FAULT_ENOSPC_AFTER_BYTES` (`coach.io.faults`, read in one place)
makes every writer raise ENOSPC after N bytes; a row's budget is 0 (the first byte), a share of
what a clean run writes (mid-stream), what it writes less one byte (the last file), or enough for
everything before the video and half the video (which OpenCV writes without reporting a failure,
so the check after release has to find it short). Where the tests run as root, the same commands
also run on a real, small tmpfs (`mount -t tmpfs -o size=...`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import pytest
from test_sources import write_test_video

from coach.io.faults import ENV as FAULT_ENV
from coach.io.sources import read_image
from coach.pose.core import Pose, PoseFrame
from coach.pose.recording import Recording, RecordingInfo, RecordingWriter

PERSON = "neck_side_bend__Side_Neck_Stretch__0.jpg"   # one person standing, facing the camera
REC, DEMO, PAIR = "cat_cow__01.jsonl.gz", "bridge__01.jsonl.gz", "childs_pose__01.jsonl.gz"
# compare's input for the fault rows: the bundled 6 s bridge clip (144 frames, one lift and hold - the
# fewest frames compare accepts as a demonstration) costs a quarter of child's pose (510 frames)
PAIR_PATH = Path(__file__).resolve().parent.parent / "samples" / "bridge.jsonl.gz"
CLIP_FRAMES = 40                                        # enough for a video of some size, fast with lite


@pytest.fixture(scope="module")
def clip(tmp_path_factory, photos_dir) -> Path:
    still = cv2.resize(read_image(photos_dir / PERSON), (640, 480))
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    write_test_video(path, (still for _ in range(CLIP_FRAMES)), 25.0)
    return path


def run_coach(args: list[str], env: dict | None = None,
              timeout_s: float = 180) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "coach", *args], capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, **(env or {})})
    return done, time.monotonic() - start


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- the table -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One fault case: `args` with {rec} {demo} {clip} {model} {out} filled in; `budget` how the
    fault is set up (see the module doc); `result` the output path (under {out}) that must not be
    half-written; `earlier`: a complete result is there first and must stay as it was."""

    id: str
    args: tuple[str, ...]
    budget: str                      # "0" | "share:F" | "last" | "video"
    result: str
    code: int = 2
    words: tuple[str, ...] = ("disk full",)
    earlier: bool = False
    limit_s: float = 120.0
    model: bool = False              # needs the real model (pixels)
    before_video: tuple[str, ...] = field(default=())   # files written in full before the video


ANALYZE = ("analyze", "{rec}", "-e", "cat_cow", "--out", "{out}", "-q", "--no-history")
AUTO = ("analyze", "{rec}", "-e", "auto", "--out", "{out}", "-q", "--no-history")
VIDEO = ("analyze", "{clip}", "-e", "neck_side_bend", "--out", "{out}", "--model", "{model}", "-q", "--no-history")
RECORD = ("record", "{rec}", "-o", "{out}/copy.jsonl.gz", "-q")
RECORD_VIDEO = ("record", "{clip}", "-o", "{out}/clip.jsonl", "--model", "{model}", "-q")
TEACH = ("teach", "{demo}", "--id", "my_bridge", "-o", "{out}/my_bridge.toml", "-q")
COMPARE = ("compare", "{pair}", "--reference", "{pair}", "-o", "{out}/cmp.coach", "-q", "--no-history")

DISK_FULL = [
    Row("record: full at once", RECORD, "0", "copy.jsonl.gz"),
    Row("record: full mid-stream", RECORD, "share:0.5", "copy.jsonl.gz"),
    Row("record: full at the last byte", RECORD, "last", "copy.jsonl.gz"),
    Row("record: an earlier recording stays", RECORD, "share:0.5", "copy.jsonl.gz", earlier=True),
    Row("record video: full mid-stream", RECORD_VIDEO, "share:0.5", "clip.jsonl", model=True),
    Row("analyze: full at once", ANALYZE, "0", "cat_cow__01.coach"),
    Row("analyze: full mid-stream", ANALYZE, "share:0.3", "cat_cow__01.coach"),
    Row("analyze: full at the last file", ANALYZE, "last", "cat_cow__01.coach"),
    Row("analyze: an earlier result stays", ANALYZE, "share:0.3", "cat_cow__01.coach", earlier=True),
    Row("analyze auto: full at once", AUTO, "0", "cat_cow__01.coach"),
    Row("analyze auto: full in the first pass", AUTO, "share:0.1", "cat_cow__01.coach"),
    Row("analyze auto: full at the last file", AUTO, "last", "cat_cow__01.coach"),
    Row("analyze video: the video is cut short", VIDEO, "video", "clip.coach", model=True,
        before_video=("frames.csv", "landmarks.jsonl.gz")),
    Row("analyze video: an earlier result stays", VIDEO, "video", "clip.coach", model=True, earlier=True,
        before_video=("frames.csv", "landmarks.jsonl.gz")),
    Row("teach: full at once", TEACH, "0", "my_bridge.toml"),
    Row("teach: full at the last byte", TEACH, "last", "my_bridge.toml"),
    Row("compare: full at once", COMPARE, "0", "cmp.coach"),
    Row("compare: the video is cut short", COMPARE, "video", "cmp.coach"),
    Row("compare: full at the last file", COMPARE, "last", "cmp.coach"),
]


def _fill(args: tuple[str, ...], paths: dict[str, Path]) -> list[str]:
    return [a.format(**{k: str(v) for k, v in paths.items()}) for a in args]


def _budget(row: Row, clean: Path) -> int:
    """The byte budget for `row`, from what a clean run wrote under `clean`."""
    sizes = {p.name: p.stat().st_size for p in clean.rglob("*") if p.is_file()}
    total = sum(sizes.values())
    if row.budget == "0":
        return 0
    if row.budget == "last":
        return total - 1
    if row.budget.startswith("share:"):
        return int(total * float(row.budget.split(":")[1]))
    video = next(size for name, size in sizes.items() if name.endswith(".mp4"))
    return sum(sizes[name] for name in row.before_video) + video // 2


_CLEAN: dict[tuple[str, ...], Path] = {}


def clean_run(args: tuple[str, ...], paths: dict[str, Path], tmp_path_factory) -> Path:
    """The folder a run of `args` without a fault wrote (made once per command and worker: the rows of
    one command share it, and run on one worker)."""
    if args not in _CLEAN:
        clean = tmp_path_factory.mktemp("clean")
        done, _ = run_coach(_fill(args, {**paths, "out": clean}))
        assert done.returncode == 0, done.stderr
        _CLEAN[args] = clean
    return _CLEAN[args]


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id, marks=pytest.mark.xdist_group("faults " + " ".join(r.args[:4])))
                                 for r in DISK_FULL])
def test_a_full_disk_is_one_line_and_leaves_nothing_half_written(row, tmp_path, landmarks_dir, request,
                                                                  tmp_path_factory):
    paths = {"rec": landmarks_dir / REC, "demo": landmarks_dir / DEMO, "pair": PAIR_PATH}
    if row.model:
        paths["clip"] = request.getfixturevalue("clip")
        paths["model"] = request.getfixturevalue("lite_model_path")
    clean, out = clean_run(row.args, paths, tmp_path_factory), tmp_path / "out"
    out.mkdir()
    if row.earlier:
        shutil.copytree(clean, out, dirs_exist_ok=True)
    before = _files(out)
    budget = _budget(row, clean)
    done, took_s = run_coach(_fill(row.args, {**paths, "out": out}), env={FAULT_ENV: str(budget)})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == row.code, done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 1 and lines[0].startswith("coach: error: "), done.stderr
    assert all(word in lines[0] for word in row.words), lines[0]
    assert took_s < row.limit_s
    assert [p for p in out.rglob(".*")] == [], "a hidden temporary was left behind"
    assert _files(out) == before, "the output changed: half-written, or an earlier result was touched"


def test_the_hook_is_off_without_the_variable(tmp_path, landmarks_dir, monkeypatch):
    monkeypatch.delenv(FAULT_ENV, raising=False)
    done, _ = run_coach(_fill(ANALYZE, {"rec": landmarks_dir / REC, "out": tmp_path}))
    assert done.returncode == 0 and done.stderr == "", done.stderr


# --- a real, small disk (root only) -----------------------------------------------------------------

@contextlib.contextmanager
def small_disk(root: Path, size: str) -> Path:
    """A tmpfs of `size` mounted at root/disk (skips when not root or the mount is refused)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = root / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path, leave_bytes: int = 0) -> None:
    """Fill `disk` with a file, leaving about `leave_bytes` free."""
    free = shutil.disk_usage(disk).free - leave_bytes
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with contextlib.suppress(OSError):
            while free > 0:
                free -= os.write(fd, b"\0" * min(free, 1 << 16))
    finally:
        os.close(fd)


@dataclass(frozen=True)
class DiskRow:
    id: str
    args: tuple[str, ...]
    size: str                        # the tmpfs
    leave_bytes: int | None = None   # fill it first, leaving this much (None: empty)
    model: bool = False


SMALL_DISK = [
    DiskRow("record: an uncompressed copy does not fit", ("record", "{rec}", "-o", "{out}/copy.jsonl", "-q"), "256k"),
    DiskRow("analyze: does not fit", ANALYZE, "128k"),
    DiskRow("analyze auto: does not fit", AUTO, "128k"),
    # 31 KB of CSV and landmarks fit in 128 KB, the 210 KB video does not: the check after release finds it
    DiskRow("analyze video: the video does not fit", VIDEO, "128k", model=True),
    DiskRow("teach: the file does not fit", TEACH, "64k", leave_bytes=0),
    DiskRow("compare: does not fit", COMPARE, "256k"),
]


@pytest.mark.parametrize("row", SMALL_DISK, ids=[r.id for r in SMALL_DISK])
def test_a_real_full_disk_is_one_line_and_leaves_nothing(row, tmp_path, landmarks_dir, request):
    paths = {"rec": landmarks_dir / REC, "demo": landmarks_dir / DEMO, "pair": PAIR_PATH}
    if row.model:
        paths["clip"] = request.getfixturevalue("clip")
        paths["model"] = request.getfixturevalue("lite_model_path")
    with small_disk(tmp_path, row.size) as disk:
        if row.leave_bytes is not None:
            fill(disk, row.leave_bytes)
        before = sorted(p.name for p in disk.iterdir())
        done, _ = run_coach(_fill(row.args, {**paths, "out": disk}))
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and len(lines) == 1 and "disk full" in lines[0], done.stderr
        assert sorted(p.name for p in disk.iterdir()) == before, "something was left on the full disk"


# --- the history insert, after the results are published ----------------------------------------------

HISTORY = [
    ("analyze", ("analyze", "{rec}", "-e", "cat_cow", "--out", "{out}", "-q", "--db", "{db}"), "cat_cow__01.coach"),
    ("compare", ("compare", "{pair}", "--reference", "{pair}", "-o", "{out}/cmp.coach", "-q", "--db", "{db}",
                 "--no-video"), "cmp.coach"),
]


def _unwritable_db(tmp_path: Path) -> tuple[Path, Callable[[], None]]:
    """A database path SQLite cannot open: a folder stands where the file should be."""
    db = tmp_path / "history.sqlite"
    db.mkdir()
    return db, lambda: None


@pytest.mark.parametrize("how", ["a folder in its place", "a full disk"])
@pytest.mark.parametrize("command, args, result", HISTORY, ids=[h[0] for h in HISTORY])
def test_a_failing_history_insert_is_a_warning_and_the_results_stay(command, args, result, how, tmp_path,
                                                                    landmarks_dir):
    out = tmp_path / "out"
    out.mkdir()
    with contextlib.ExitStack() as stack:
        if how == "a full disk":
            disk = stack.enter_context(small_disk(tmp_path, "64k"))
            fill(disk)
            db = disk / "history.sqlite"
        else:
            db, _ = _unwritable_db(tmp_path)
        paths = {"rec": landmarks_dir / REC, "pair": PAIR_PATH, "out": out, "db": db}
        done, _ = run_coach(_fill(args, paths))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert lines[0].startswith("coach: warning: ") and "not stored in the history" in lines[0], lines[0]
    assert (out / result / "session.json").is_file() and (out / result / "report.html").is_file()


# --- a result replaces only a coach result ------------------------------------------------------------

@dataclass(frozen=True)
class ClashRow:
    """`setup(tmp)` puts something in the way; the command must refuse (exit 2, one line naming
    `named`) and leave every file under tmp as it was."""

    id: str
    setup: Callable[[Path, Path], None]      # (tmp, shared landmarks)
    args: tuple[str, ...]
    named: str
    words: tuple[str, ...] = ("not a coach result",)
    code: int = 2


def _video_named_like_its_result(tmp: Path, lm: Path) -> None:
    (tmp / "d").mkdir()
    shutil.copy(lm / REC, tmp / "d" / "clip.coach")   # an input whose name is its stem's result name


def _file_at_result(tmp: Path, lm: Path) -> None:
    (tmp / "d").mkdir()
    (tmp / "d" / "cat_cow__01.coach").write_text("my notes\n")


def _folder_at_result(tmp: Path, lm: Path) -> None:
    (tmp / "d" / "cat_cow__01.coach").mkdir(parents=True)
    (tmp / "d" / "cat_cow__01.coach" / "holiday.jpg").write_bytes(b"\xff\xd8 my photo")


def _foreign_session_json(tmp: Path, lm: Path) -> None:
    (tmp / "d" / "cat_cow__01.coach").mkdir(parents=True)
    (tmp / "d" / "cat_cow__01.coach" / "session.json").write_text('{"format": "someone-else/1"}\n')


def _input_inside_old_result(tmp: Path, lm: Path) -> None:
    done, _ = run_coach(["analyze", str(lm / REC), "-e", "cat_cow", "--out", str(tmp / "d"), "-q", "--no-history"])
    assert done.returncode == 0, done.stderr
    shutil.copy(lm / REC, tmp / "d" / "cat_cow__01.coach" / "cat_cow__01.jsonl.gz")


def _own_file_in_old_result(tmp: Path, lm: Path) -> None:
    done, _ = run_coach(["analyze", str(lm / REC), "-e", "cat_cow", "--out", str(tmp / "d"), "-q", "--no-history"])
    assert done.returncode == 0, done.stderr
    (tmp / "d" / "cat_cow__01.coach" / "my_notes.txt").write_text("the physio's notes on this session\n")


def _own_file_named_like_another_commands_output(tmp: Path, lm: Path) -> None:
    """An analyze result (of a recording: no video) holding the user's compare.mp4 and annotated.mp4:
    names coach writes elsewhere, but this result's session.json does not list them."""
    done, _ = run_coach(["analyze", str(lm / REC), "-e", "cat_cow", "--out", str(tmp / "d"), "-q", "--no-history"])
    assert done.returncode == 0, done.stderr
    for name in ("compare.mp4", "annotated.mp4"):
        (tmp / "d" / "cat_cow__01.coach" / name).write_bytes(b"the user's own video\n")


def _plain_file(name: str) -> Callable[[Path, Path], None]:
    def setup(tmp: Path, lm: Path) -> None:
        (tmp / "d").mkdir(exist_ok=True)
        (tmp / "d" / name).write_text("not coach's\n")
    return setup


def _copy_input(tmp: Path, lm: Path) -> None:
    (tmp / "d").mkdir()
    shutil.copy(lm / REC, tmp / "d" / "in.jsonl.gz")


CLASHES = [
    ClashRow("analyze: a file where the result goes", _file_at_result,
             ("analyze", "{lm}/" + REC, "-e", "cat_cow", "--out", "{tmp}/d", "-q"), "{tmp}/d/cat_cow__01.coach"),
    ClashRow("analyze auto: a file where the result goes", _file_at_result,
             ("analyze", "{lm}/" + REC, "-e", "auto", "--out", "{tmp}/d", "-q"), "{tmp}/d/cat_cow__01.coach"),
    ClashRow("analyze: a user folder where the result goes", _folder_at_result,
             ("analyze", "{lm}/" + REC, "-e", "cat_cow", "--out", "{tmp}/d", "-q"), "{tmp}/d/cat_cow__01.coach"),
    ClashRow("analyze: a session.json that is not coach's", _foreign_session_json,
             ("analyze", "{lm}/" + REC, "-e", "cat_cow", "--out", "{tmp}/d", "-q"), "{tmp}/d/cat_cow__01.coach"),
    ClashRow("analyze: the input is named like its result", _video_named_like_its_result,
             ("analyze", "{tmp}/d/clip.coach", "-e", "cat_cow", "--out", "{tmp}/d", "-q"), "{tmp}/d/clip.coach"),
    ClashRow("analyze: the input is inside the old result", _input_inside_old_result,
             ("analyze", "{tmp}/d/cat_cow__01.coach/cat_cow__01.jsonl.gz", "-e", "cat_cow", "--out", "{tmp}/d", "-q",
              "--no-history"),
             "{tmp}/d/cat_cow__01.coach/cat_cow__01.jsonl.gz", words=("inside the result folder",)),
    ClashRow("analyze: an old result holding a file of the user's", _own_file_in_old_result,
             ("analyze", "{lm}/" + REC, "-e", "cat_cow", "--out", "{tmp}/d", "-q"), "{tmp}/d/cat_cow__01.coach",
             words=("my_notes.txt", "coach did not write")),
    ClashRow("analyze: an old result holding a file named like another command's output",
             _own_file_named_like_another_commands_output,
             ("analyze", "{lm}/" + REC, "-e", "cat_cow", "--out", "{tmp}/d", "-q"), "{tmp}/d/cat_cow__01.coach",
             words=("annotated.mp4", "compare.mp4", "coach did not write")),
    ClashRow("analyze: the output inside an old result", _input_inside_old_result,
             ("analyze", "{lm}/" + REC, "-e", "cat_cow", "--out", "{tmp}/d/cat_cow__01.coach/again", "-q"),
             "{tmp}/d/cat_cow__01.coach/again", words=("is inside the coach result",)),
    ClashRow("compare: a user folder as -o", _folder_at_result,
             ("compare", "{lm}/" + PAIR, "--reference", "{lm}/" + PAIR, "-o", "{tmp}/d/cat_cow__01.coach", "-q"),
             "{tmp}/d/cat_cow__01.coach"),
    ClashRow("record: a file that is not a recording", _plain_file("notes.jsonl"),
             ("record", "{lm}/" + REC, "-o", "{tmp}/d/notes.jsonl", "-q"), "{tmp}/d/notes.jsonl",
             words=("not a landmark recording",)),
    ClashRow("record: the output is the input", _copy_input,
             ("record", "{tmp}/d/in.jsonl.gz", "-o", "{tmp}/d/in.jsonl.gz", "-q"), "{tmp}/d/in.jsonl.gz",
             words=("is the input",)),
    ClashRow("teach --force: a file that is not an exercise", _plain_file("notes.toml"),
             ("teach", "{lm}/" + DEMO, "--id", "notes", "-o", "{tmp}/d/notes.toml", "--force", "-q"),
             "{tmp}/d/notes.toml", words=("not an exercise file",)),
    ClashRow("history --plot: a file that is not a PNG", _plain_file("notes.png"),
             ("history", "-e", "cat_cow", "--plot", "{tmp}/d/notes.png", "--db", "{tmp}/d/h.sqlite"),
             "{tmp}/d/notes.png", words=("not a PNG",)),
    ClashRow("live: a user folder as -o", _folder_at_result,
             ("live", "--exercise", "cat_cow", "--source", "{lm}/" + REC, "--no-window", "--answers", "no",
              "--mute", "-o", "{tmp}/d/cat_cow__01.coach", "--no-history"), "{tmp}/d/cat_cow__01.coach"),
]


@pytest.mark.parametrize("row", CLASHES, ids=[r.id for r in CLASHES])
def test_a_result_never_replaces_what_is_not_a_coach_result(row, tmp_path, landmarks_dir):
    row.setup(tmp_path, landmarks_dir)
    before = _files(tmp_path)
    fill = {"tmp": tmp_path, "lm": landmarks_dir}
    done, _ = run_coach(_fill(row.args, fill))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == row.code, done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 1 and lines[0].startswith("coach: error: "), done.stderr
    assert row.named.format(**fill) in lines[0] and all(w in lines[0] for w in row.words), lines[0]
    assert _files(tmp_path) == before, "something was replaced or deleted"


def test_the_input_file_survives_a_result_folder_of_its_stem(tmp_path, landmarks_dir):
    """The issue's case: `d/clip` (no extension) analysed into `d`: the video stays, the result is d/clip.coach."""
    (tmp_path / "d").mkdir()
    shutil.copy(landmarks_dir / REC, tmp_path / "d" / "clip.jsonl")   # a recording must end in .jsonl to be one
    source = tmp_path / "d" / "clip.jsonl"
    original = source.read_bytes()
    for _ in range(2):   # and a re-run replaces the earlier result
        done, _ = run_coach(["analyze", str(source), "-e", "cat_cow", "--out", str(tmp_path / "d"), "-q",
                             "--no-history"])
        assert done.returncode == 0 and done.stderr == "", done.stderr
    assert source.read_bytes() == original
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["clip.coach", "clip.jsonl"]


@pytest.mark.model
def test_a_video_without_extension_survives_its_analysis(tmp_path, clip, lite_model_path):
    (tmp_path / "d").mkdir()
    shutil.copy(clip, tmp_path / "d" / "clip")
    original = (tmp_path / "d" / "clip").read_bytes()
    done, _ = run_coach(["analyze", str(tmp_path / "d" / "clip"), "-e", "neck_side_bend", "--out", str(tmp_path / "d"),
                         "--model", str(lite_model_path), "-q", "--no-history", "--no-video"])
    assert done.returncode == 0, done.stderr.splitlines()[-1:]
    assert (tmp_path / "d" / "clip").read_bytes() == original
    assert (tmp_path / "d" / "clip.coach" / "session.json").is_file()


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_an_interrupted_recording_is_marked_partial_in_its_header(tmp_path, suffix):
    path = tmp_path / f"r{suffix}"
    with pytest.raises(KeyboardInterrupt):
        with RecordingWriter(path, RecordingInfo(fps=30.0, width=640, height=480)) as writer:
            for i in range(5):
                writer.write(PoseFrame(t_s=i / 30, index=i, pose=Pose.empty((640, 480)), others=()))
            raise KeyboardInterrupt
    recording = Recording(path)
    assert recording.info.partial is True and len(list(recording.frames())) == 5
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
