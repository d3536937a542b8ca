"""pose-landmarks/1 recordings: lossless round trips, the shared recordings, the bundled samples."""

from __future__ import annotations

import gzip
import itertools
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach import samples_dir
from coach.errors import RecordingError
from coach.pose import models
from coach.pose.core import Pose, PoseFrame
from coach.pose.detector import MODES
from coach.pose.landmarks import NUM_LANDMARKS
from coach.pose.recording import (
    COORD_DECIMALS,
    RUNNING_MODES,
    SCORE_DECIMALS,
    TIME_DECIMALS,
    Recording,
    RecordingInfo,
    RecordingWriter,
)
from coach.session.feed import open_feed

INFO = RecordingInfo(fps=29.97, width=640, height=480, model="pose_landmarker_full.task", label="test")
SAMPLES = ("bridge", "cat_cow", "seated_spinal_twist", "neck_side_bend")
COORD_TOL, SCORE_TOL, TIME_TOL = (0.5 * 10.0 ** -d + 1e-12 for d in (COORD_DECIMALS, SCORE_DECIMALS, TIME_DECIMALS))


def _pose(rng: np.random.Generator, centre_x: float, scale: float) -> Pose:
    xy = np.column_stack([centre_x + scale * rng.uniform(-1, 1, NUM_LANDMARKS), rng.uniform(0, 1, NUM_LANDMARKS)])
    return Pose(xy, rng.uniform(-1, 1, NUM_LANDMARKS), rng.uniform(0, 1, NUM_LANDMARKS),
                rng.uniform(0, 1, NUM_LANDMARKS), rng.uniform(-1, 1, (NUM_LANDMARKS, 3)), (640, 480))


def _frames(seed: int, n_frames: int, with_partner: bool) -> list[PoseFrame]:
    """A big person at x 0.3 (found first, so chosen first on reading) and maybe a small one at 0.8."""
    rng = np.random.default_rng(seed)
    out, t_s = [], 0.0
    for index in range(n_frames):
        t_s += float(rng.uniform(0.001, 0.1))
        if rng.uniform() < 0.2:
            out.append(PoseFrame(t_s, index, Pose.empty((640, 480))))
            continue
        others = (_pose(rng, 0.8, 0.05),) if with_partner else ()
        out.append(PoseFrame(t_s, index, _pose(rng, 0.3, 0.2), others))
    return out


def _assert_pose_close(got: Pose, want: Pose) -> None:
    assert np.abs(got.xy - want.xy).max() <= COORD_TOL and np.abs(got.z - want.z).max() <= COORD_TOL
    assert np.abs(got.world - want.world).max() <= COORD_TOL
    assert np.abs(got.visibility - want.visibility).max() <= SCORE_TOL
    assert np.abs(got.presence - want.presence).max() <= SCORE_TOL
    assert got.image_size == want.image_size


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_frames=st.integers(1, 12), with_partner=st.booleans(),
       suffix=st.sampled_from([".jsonl", ".jsonl.gz"]))
def test_round_trip_is_lossless_to_the_format_precision(tmp_path_factory, seed, n_frames, with_partner, suffix):
    path = tmp_path_factory.mktemp("rt") / f"r{suffix}"
    written = _frames(seed, n_frames, with_partner)
    with RecordingWriter(path, INFO) as writer:
        for frame in written:
            writer.write(frame)
    recording = Recording(path)
    read = list(recording.frames())
    assert recording.info == INFO and len(read) == len(written)
    for got, want in zip(read, written):
        assert got.index == want.index and abs(got.t_s - want.t_s) <= TIME_TOL
        assert got.pose.is_empty == want.pose.is_empty and len(got.others) == len(want.others)
        if not want.pose.is_empty:
            _assert_pose_close(got.pose, want.pose)
        for other_got, other_want in zip(got.others, want.others):
            _assert_pose_close(other_got, other_want)


def test_ctrl_c_while_writing_keeps_the_frames_so_far(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    frames = _frames(7, 10, with_partner=False)
    with pytest.raises(KeyboardInterrupt):
        with RecordingWriter(path, INFO) as writer:
            for i, frame in enumerate(frames):
                if i == 6:
                    raise KeyboardInterrupt
                writer.write(frame)
    assert [f.index for f in Recording(path).frames()] == list(range(6))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.jsonl.gz"]  # no temporary file left


# --- malformed recordings -------------------------------------------------------------------------

def _header(**changes) -> str:
    return json.dumps({**INFO.header(), **changes})


def _frame_line(n_landmarks: int = NUM_LANDMARKS, index: int = 0) -> str:
    pose = {"image": [[0.5, 0.5, 0.0, 0.9, 0.9]] * n_landmarks, "world": [[0.0, 0.0, 0.0]] * n_landmarks}
    return json.dumps({"frame": index, "t": index / 30, "poses": [pose]})


BAD = [  # (name, lines, message)
    ("bad json line", [_header(), _frame_line(), "{not json"], r"line 3: not JSON"),
    ("wrong format tag", [_header(format="pose-landmarks/2"), _frame_line()], r"line 1: format is 'pose-landmarks/2'"),
    ("header a JSON list", ["[1, 2]", _frame_line()], r"line 1: the header is a JSON list, expected an object"),
    ("32 landmarks", [_header(), _frame_line(n_landmarks=32)], r"line 2: expected 33 landmarks"),
    ("32 landmark names", [_header(landmark_names=["x"] * 32)], r"line 1: 32 landmark_names"),
    ("frame without t", [_header(), json.dumps({"frame": 0, "poses": []})], r"line 2: frame needs"),
    ("num_poses 0", [_header(num_poses=0), _frame_line()], r"line 1: num_poses is 0, expected a whole number"),
    ("num_poses true", [_header(num_poses=True), _frame_line()], r"line 1: num_poses is True"),
    ("running_mode in capitals", [_header(running_mode="VIDEO"), _frame_line()], r"line 1: running_mode is 'VIDEO'"),
    ("confidence null", [_header(min_tracking_confidence=None), _frame_line()],
     r"line 1: min_tracking_confidence is None, expected a confidence from 0 to 1"),
]


@pytest.mark.parametrize("lines, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_malformed_recordings_name_the_file_and_line(tmp_path, lines, message, suffix):
    path = tmp_path / f"bad{suffix}"
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    with pytest.raises(RecordingError, match=message) as err:
        list(Recording(path).frames())
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


# --- what the landmarks were detected with: the header's optional settings ----------------------

DETECTOR_SETTINGS = {"num_poses": 1, "running_mode": "video", "min_pose_detection_confidence": 0.5,
                     "min_pose_presence_confidence": 0.6, "min_tracking_confidence": 0.7}


@pytest.mark.parametrize("settings, read_back", [
    pytest.param({}, {}, id="none, as in older recordings"),
    pytest.param(DETECTOR_SETTINGS, DETECTOR_SETTINGS, id="what a detector says"),
    pytest.param({"num_poses": 3.0, "running_mode": "image"}, {"num_poses": 3, "running_mode": "image"},
                 id="a whole float reads as an int"),
    pytest.param({**DETECTOR_SETTINGS, "a_later_setting": 4.0}, DETECTOR_SETTINGS, id="a key the reader does not know"),
    pytest.param({**DETECTOR_SETTINGS, "max_side_px": 960, "watch_num_poses": 3, "watch_rate_hz": 4.0,
                  "watch_max_side_px": 640},
                 {**DETECTOR_SETTINGS, "max_side_px": 960, "watch_num_poses": 3, "watch_rate_hz": 4.0,
                  "watch_max_side_px": 640}, id="the partner watch's settings"),
])
def test_the_detector_settings_are_written_in_the_header_and_read_back(tmp_path, settings, read_back):
    path = tmp_path / "clip.jsonl"
    with RecordingWriter(path, replace(INFO, settings=settings)) as writer:
        writer.write(_frames(1, 1, False)[0])
    head = json.loads(path.read_text().splitlines()[0])
    assert {k: head[k] for k in settings} == settings   # written as given, unknown keys too
    assert list(head)[-1] == "partial" and list(head).index("model") < list(head).index("landmark_names")
    info = Recording(path).info
    assert dict(info.settings) == read_back and type(info.settings.get("num_poses", 0)) is int
    assert (info.model, info.fps, info.label) == (INFO.model, INFO.fps, INFO.label)


@pytest.mark.parametrize("settings, message", [
    pytest.param({"num_poses": 0}, "num_poses is 0", id="no poses"),
    pytest.param({"running_mode": "live_stream"}, "running_mode is 'live_stream'", id="a mode coach does not run"),
    pytest.param({"min_pose_detection_confidence": float("nan")}, "is nan", id="NaN confidence"),
    pytest.param({"fps": 30.0}, "the header has its own 'fps'", id="a header key"),
    pytest.param({"model": "x.task"}, "the header has its own 'model'", id="the model has its own field"),
    pytest.param({"watch": {"rate": float("inf")}}, "not a plain JSON value", id="an unknown key holding inf"),
    pytest.param({"watch": object()}, "not a plain JSON value", id="an unknown key holding an object"),
])
def test_a_header_is_made_with_checked_settings_only(settings, message):
    with pytest.raises(ValueError, match=message):
        replace(INFO, settings=settings)


def test_the_running_modes_a_header_may_name_are_the_detectors():
    assert RUNNING_MODES == MODES


@pytest.mark.parametrize("variant", ["", "tracked", "lite"])
def test_the_shared_recordings_say_no_settings_and_read_as_before(landmarks_dir, variant):
    for path in sorted((landmarks_dir / variant).glob("*.jsonl.gz")):
        info = Recording(path).info
        assert dict(info.settings) == {} and info.model.startswith("pose_landmarker_"), path


def test_a_copied_recording_keeps_the_settings_of_its_source(tmp_path):
    source, copy = tmp_path / "source.jsonl.gz", tmp_path / "copy.jsonl.gz"
    with RecordingWriter(source, replace(INFO, settings=DETECTOR_SETTINGS)) as writer:
        for frame in _frames(2, 5, True):
            writer.write(frame)
    done = subprocess.run([sys.executable, "-m", "coach", "record", str(source), "-o", str(copy), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert dict(Recording(copy).info.settings) == DETECTOR_SETTINGS and Recording(copy).info.model == INFO.model


# --- the shared recordings and the samples -------------------------------------------------------

def test_every_shared_recording_loads(landmarks_dir):
    paths = sorted(landmarks_dir.glob("*.jsonl.gz"))
    assert len(paths) >= 7
    for path in paths:
        truth = json.loads(path.with_name(path.name.replace(".jsonl.gz", ".truth.json")).read_text())
        recording = Recording(path)
        frames = list(recording.frames())
        t_s = np.array([f.t_s for f in frames])
        assert isinstance(recording.info.fps, float) and recording.info.fps == pytest.approx(truth["fps"], abs=0.01)
        assert len(frames) == truth["frames"], path.name
        assert t_s[0] == 0.0 and np.all(np.diff(t_s) > 0), path.name
        assert sum(not f.pose.is_empty for f in frames) > 0.5 * len(frames), path.name


def _raw_frames(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh.read().splitlines()[1:] if line.strip()]


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_is_an_exact_cut_of_its_shared_recording(name, landmarks_dir):
    sample = samples_dir() / f"{name}.jsonl.gz"
    truth = json.loads((samples_dir() / f"{name}.truth.json").read_text())
    source = truth["source"]
    original = [f for f in _raw_frames(landmarks_dir / source["recording"])
                if source["start_s"] <= f["t"] < source["end_s"]]
    cut = _raw_frames(sample)
    assert len(cut) == len(original) == truth["frames"] and cut[0]["t"] == 0.0
    for k, (mine, theirs) in enumerate(zip(cut, original)):
        assert mine["frame"] == k and mine["poses"] == theirs["poses"]
        assert mine["t"] == pytest.approx(theirs["t"] - source["shift_s"], abs=1e-4)
    assert Recording(sample).info.label == name


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_truth_intervals_lie_within_the_cut(name):
    truth = json.loads((samples_dir() / f"{name}.truth.json").read_text())
    for key in ("segments", "neck", "view"):
        for start_s, end_s, *_ in truth[key]:
            assert 0.0 <= start_s < end_s <= truth["duration_s"] + 1e-9, (key, start_s, end_s)
    assert truth["segments"][0][0] == 0.0 and truth["segments"][-1][1] == pytest.approx(truth["duration_s"], abs=0.01)


def test_samples_are_small_and_documented():
    folder = samples_dir()
    data = [p for p in folder.iterdir() if p.name.endswith((".jsonl.gz", ".json"))]
    assert sum(p.stat().st_size for p in data) < 2_000_000
    assert not [p for p in folder.iterdir() if p.suffix.lower() in (".mp4", ".avi", ".mov", ".jpg", ".png")]
    readme = (folder / "README.md").read_text()
    assert all(f"`{name}.jsonl.gz`" in readme for name in SAMPLES)


def test_a_recording_replays_through_the_pipeline_without_a_model(monkeypatch, tmp_path):
    def no_model(*args, **kwargs):
        raise AssertionError("a recording must not need a model")

    monkeypatch.setattr("coach.session.feed.resolve_model", no_model)
    monkeypatch.setattr(models, "download_model", no_model)
    sample = samples_dir() / "cat_cow.jsonl.gz"
    with open_feed(sample) as stream:
        replayed = list(stream)
        info = stream.info
    direct = list(Recording(sample).frames())
    assert (info.kind, info.size_px, info.model, info.label) == ("recording", (864, 628), "pose_landmarker_full.task",
                                                              "cat_cow")
    assert isinstance(info.fps, float) and info.fps == pytest.approx(29.97, abs=0.01)
    assert len(replayed) == len(direct) == 185
    assert all(np.array_equal(a.pose.xy, b.pose.xy, equal_nan=True) for a, b in zip(replayed, direct))


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_truth_sides_are_the_shared_truth_cut(name, landmarks_dir):
    """The bundled truth follows the shared truth (its sides were corrected to the shoulder the ear
    moves toward for the neck side bend): a sample must not keep the old names."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_samples", samples_dir() / "make_samples.py")
    make_samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_samples)
    truth = json.loads((samples_dir() / f"{name}.truth.json").read_text())
    shared = json.loads((landmarks_dir / truth["source"]["recording"].replace(".jsonl.gz", ".truth.json")).read_text())
    shift_s = truth["source"]["shift_s"]
    assert truth["sides"] == make_samples.cut_intervals(shared["sides"], shift_s, shift_s + truth["duration_s"], shift_s)


def test_frames_dropped_as_going_back_are_said_also_when_the_reading_stops_early(tmp_path, landmarks_dir):
    """The warning is said once, at the end of the reading: also at an early end (Ctrl-C, a partial
    replay), not only after the last line; never before a frame was dropped."""
    import gzip

    lines = gzip.open(landmarks_dir / "cat_cow__01.jsonl.gz", "rt").read().splitlines()
    rec = json.loads(lines[21])
    rec["t"] = 0.0
    lines[21] = json.dumps(rec)
    path = tmp_path / "back.jsonl"
    path.write_text("\n".join(lines) + "\n")
    for stop_after, said in [(60, 1), (None, 1), (1, 0)]:
        heard: list[str] = []
        frames = Recording(path, heard.append).frames()
        for _ in (frames if stop_after is None else itertools.islice(frames, stop_after)):
            pass
        frames.close()
        assert len(heard) == said and all("line 22" in h and "back to 0 s" in h for h in heard), (stop_after, heard)
