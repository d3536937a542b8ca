"""Atomic writes: nothing half-written is ever left behind."""

import errno
import os

import pytest

from coach.errors import OutputError
from coach.io.atomic import atomic_open, ensure_dir, write_text


def test_write_replaces_target_and_leaves_no_temp(tmp_path):
    target = tmp_path / "session.json"
    target.write_text("old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["session.json"]


def test_error_inside_keeps_old_file_and_removes_temp(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.html"]


def test_disk_full_is_one_line_output_error(tmp_path, monkeypatch):
    target = tmp_path / "frames.csv"
    real_fdopen = os.fdopen

    class FullFile:
        def __init__(self, fd, *a, **k):
            self._fh = real_fdopen(fd, "w")

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()

    monkeypatch.setattr("coach.io.atomic.os.fdopen", FullFile)
    with pytest.raises(OutputError, match="frames.csv.*disk full"):
        write_text(target, "t_s,value\n")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_interrupt_keeps_what_was_written_when_asked(tmp_path):
    target = tmp_path / "stream.jsonl"
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target, keep_on_interrupt=True) as fh:
            fh.write("line 1\n")
            raise KeyboardInterrupt
    assert target.read_text() == "line 1\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_is_named(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    with pytest.raises(OutputError, match="not writable"):
        ensure_dir(folder)


def test_folder_under_a_file_is_named(tmp_path):
    """The file in the way is named, and said to be a file ("cannot create output folder (File exists)"
    left the person to guess which)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for wanted in (blocker / "out", blocker):
        with pytest.raises(OutputError) as err:
            ensure_dir(wanted)
        assert str(err.value) == f"{blocker}: exists and is a file, not a folder; choose another output folder"


def test_a_written_file_gets_the_usual_permissions_not_mkstemps_private_ones(tmp_path):
    from coach.pose.recording import RecordingInfo, RecordingWriter

    old = os.umask(0o022)
    try:
        write_text(tmp_path / "report.html", "<p>hi</p>")
        with RecordingWriter(tmp_path / "o.jsonl.gz", RecordingInfo(fps=30.0, width=640, height=480)):
            pass
    finally:
        os.umask(old)
    for name in ("report.html", "o.jsonl.gz"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def _result(folder, partial: bool, frames: int) -> None:
    """A minimal coach result folder: a session.json with the format tag (what `is_result` reads)."""
    import json

    from coach.report.core import FORMAT

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "session.json").write_text(json.dumps({"format": FORMAT, "partial": partial, "frames": frames,
                                                     "outputs": ["session.json"]}))


@pytest.mark.parametrize("beside, lands", [
    (None, "clip.partial.coach"),                       # nothing beside: the first name
    ("a partial result", "clip.partial.coach"),         # an earlier partial one is replaced
    ("a whole result", "clip.partial-2.coach"),         # another input's whole clip.partial.coach is kept
    ("the user's folder", "clip.partial-2.coach"),      # anything coach did not write is kept
])
def test_a_partial_result_goes_beside_a_whole_one_never_over_one(tmp_path, beside, lands):
    import json

    from coach.session.session_files import OutputFolder

    whole = tmp_path / "clip.coach"
    _result(whole, partial=False, frames=100)
    first = tmp_path / "clip.partial.coach"
    if beside == "a partial result":
        _result(first, partial=True, frames=5)
    elif beside == "a whole result":
        _result(first, partial=False, frames=7)
    elif beside == "the user's folder":
        first.mkdir()
        (first / "notes.txt").write_text("mine")
    before_first = sorted((p.name, p.read_bytes()) for p in first.iterdir()) if beside not in (None, "a partial result") \
        else None
    output = OutputFolder(whole)
    with output as staging:
        _result(staging, partial=True, frames=40)
    assert output.published == tmp_path / lands
    assert json.loads((whole / "session.json").read_text())["frames"] == 100, "the whole result is as it was"
    assert json.loads((tmp_path / lands / "session.json").read_text())["frames"] == 40
    if before_first is not None:
        assert sorted((p.name, p.read_bytes()) for p in first.iterdir()) == before_first
    output = OutputFolder(whole)   # a whole run replaces the whole result, as always
    with output as staging:
        _result(staging, partial=False, frames=120)
    assert output.published == whole and json.loads((whole / "session.json").read_text())["frames"] == 120
