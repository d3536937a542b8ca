"""`coach analyze`: outputs exist, agree with each other and with the recordings' truth files.

Most tests run on the shared landmark recordings (no model, fast); the video and photo tests use the
lite model on a small video written here from ../shared/photos. Failure modes: test_analyze_cli.py.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED

from coach.engine.safety import NECK_RULE_IDS
from coach.session.analyze import AnalyzeOptions, analyze

# one worker runs this module (pytest -n 2 --dist loadgroup): its module fixtures are computed once
pytestmark = pytest.mark.xdist_group("analyze")

RECORDINGS = sorted(p.name.removesuffix(".jsonl.gz") for p in (SHARED / "landmarks").glob("*.jsonl.gz"))
HOLD_STATES = ("hold", "cat", "cow")


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def landmark_times(path: Path) -> list[float]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    assert lines[0]["format"] == "pose-landmarks/1"
    return [frame["t"] for frame in lines[1:]]


@pytest.fixture(scope="module")
def analysed(landmarks_dir, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """Every shared recording analysed as its truth's exercise: name -> (output folder, truth)."""
    root = tmp_path_factory.mktemp("recordings")
    out = {}
    for name in RECORDINGS:
        truth = json.loads((landmarks_dir / f"{name}.truth.json").read_text())
        analyze(landmarks_dir / f"{name}.jsonl.gz", root / name, AnalyzeOptions(exercise=truth["stretch"]))
        out[name] = (root / name, truth)
    return out


def test_every_shared_recording_is_found(landmarks_dir):
    """Skips without ../shared (fails under COACH_REQUIRE_MODEL=1): the fixture says which."""
    assert len(RECORDINGS) >= 7, f"expected the 7 shared recordings in {landmarks_dir}"


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_outputs_exist_and_agree(analysed, name):
    folder, truth = analysed[name]
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["frames.csv", "landmarks.jsonl.gz", "report.html", "session.json"]  # no pixels: no video
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")], "a staging folder was left"
    session = json.loads((folder / "session.json").read_text())
    rows = read_csv(folder / "frames.csv")
    times = landmark_times(folder / "landmarks.jsonl.gz")
    assert len(rows) == session["frames"] == len(times) == truth["frames"]
    assert [round(float(r["t_s"]), 3) for r in rows] == [round(t, 3) for t in times]
    assert session["duration_s"] == pytest.approx(truth["duration_s"], abs=2.0 / truth["fps"])
    assert session["exercise"] == truth["stretch"] and not session["partial"]
    assert {r["exercise"] for r in rows} == {truth["stretch"]}
    in_env = np.mean([r["in_envelope"] == "1" for r in rows]) * 100
    assert session["time_in_envelope_pct"] == pytest.approx(in_env, abs=3.0)


@pytest.mark.parametrize("name", RECORDINGS)
def test_holds_in_json_match_the_csv(analysed, name):
    folder, _ = analysed[name]
    session = json.loads((folder / "session.json").read_text())
    rows = read_csv(folder / "frames.csv")
    t = np.array([float(r["t_s"]) for r in rows])
    holding = np.array([r["holding"] == "1" for r in rows])
    inside = np.array([r["in_envelope"] == "1" for r in rows])
    # On the frame where the engine follows the person into another phase, the verdict names the new
    # phase but its band verdicts are still those of the phase it left: that one frame is exempt.
    switched = np.array([i > 0 and r["phase"] != rows[i - 1]["phase"] for i, r in enumerate(rows)])
    assert (inside | switched)[holding].all(), "a frame counted as holding was not in the envelope"
    step = float(np.median(np.diff(t)))
    for hold in session["holds"]:
        span = (t >= hold["start_s"] - 1e-4) & (t <= hold["end_s"] + 1e-4)
        assert holding[np.flatnonzero(span)[0]], f"hold at {hold['start_s']} does not start on a holding frame"
        h = holding[span]   # hold time accrues from one holding frame to the next (not into a resumed one)
        held_s = float(np.sum(np.diff(t[span])[h[:-1] & h[1:]]))
        assert hold["duration_s"] == pytest.approx(held_s, abs=2 * step), hold
        assert hold["end_s"] >= hold["start_s"] and hold["duration_s"] <= hold["target_s"] + 1e-6
        assert hold["completed"] == (hold["duration_s"] >= hold["target_s"] - 1e-6)
    for a, b in _runs(holding):   # every holding run of the CSV belongs to a hold of the JSON
        assert any(h["start_s"] - 1e-4 <= t[a] <= h["end_s"] + 1e-4 or (h["completed"] and t[a] >= h["end_s"])
                   for h in session["holds"]), f"holding at {t[a]:.2f}-{t[b - 1]:.2f} s is in no hold"


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _merged(spans: list[tuple[float, float]], widen_s: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted((a - widen_s, b + widen_s) for a, b in spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


@pytest.mark.parametrize("name", RECORDINGS)
def test_holds_and_alerts_agree_with_truth(analysed, name):
    """Reported holds lie mostly in the truth's holds (its boundaries are +-0.5 s); the envelope is
    met more during the truth's holds than outside them; sides and neck alerts match the truth."""
    folder, truth = analysed[name]
    session = json.loads((folder / "session.json").read_text())
    held = _merged([(a, b) for a, b, state in truth["segments"] if state in HOLD_STATES], widen_s=0.5)
    total = sum(h["end_s"] - h["start_s"] for h in session["holds"])
    inside = sum(_overlap(h["start_s"], h["end_s"], a, b) for h in session["holds"] for a, b in held)
    assert inside >= 0.5 * total, f"holds {session['holds']} lie mostly outside the truth's holds {held}"
    rows = read_csv(folder / "frames.csv")
    t = np.array([float(r["t_s"]) for r in rows])
    env = np.array([r["in_envelope"] == "1" for r in rows])
    during = np.zeros(len(t), dtype=bool)
    for a, b in held:
        during |= (t >= a) & (t <= b)
    if during.any() and (~during).any():
        assert env[during].mean() >= env[~during].mean(), "in the envelope more outside the holds than in them"
    for hold in session["holds"]:
        if isinstance(truth["sides"], list):
            mid = (hold["start_s"] + hold["end_s"]) / 2
            side = next((s for a, b, s in truth["sides"] if a - 1 <= mid <= b + 1), None)
            assert side is None or hold["side"] == side, f"hold {hold} on the wrong side (truth {side})"
    wanted = [(a, b) for a, b, _, expect in truth["neck"] if expect == "alert"]
    if wanted:
        neck = [x for x in session["alerts"] if x["rule"] in NECK_RULE_IDS]
        assert any(_overlap(x["start_s"], x["end_s"], a, b) > 0 for x in neck for a, b in wanted), \
            f"no neck alert during the truth's neck intervals {wanted}"
    for alert in session["alerts"]:
        assert set(alert) >= {"rule", "severity", "start_s", "end_s", "value", "limit", "message"}
        assert alert["severity"] in ("caution", "stop") and alert["end_s"] >= alert["start_s"] and alert["message"]


@pytest.mark.parametrize("name", RECORDINGS)
def test_session_json_schema(analysed, name):
    folder, truth = analysed[name]
    s = json.loads((folder / "session.json").read_text())
    assert s["format"] == "coach-session/1"
    seg = s["segments"][0]
    assert {"exercise", "start_s", "end_s", "holds_completed", "holds_target", "reps", "time_in_envelope_pct"} <= set(seg)
    sides = {"left", "right"} if truth["sides"] != "n/a" else {"both"}
    assert set(s["reps"]) == sides == set(seg["holds_completed"])
    assert s["measures"] and all(m["side"] in sides for m in s["measures"])
    for m in s["measures"]:
        if m["frames"] and m["median"] is not None:
            assert m["lowest"] <= m["median"] <= m["highest"] and m["lowest"] <= m["peak"] <= m["highest"]
            assert m["band_min"] < m["band_max"]
    assert isinstance(s["notes"], list) and all(n["text"] for n in s["notes"])
    assert "in_envelope" not in s   # only an image has a single-frame verdict


def test_auto_splits_two_exercises(landmarks_dir, tmp_path):
    """Two recordings one after the other: two segments, the boundary where the second begins."""
    from coach.pose.recording import Recording, RecordingWriter

    first, second = (Recording(landmarks_dir / f"{n}.jsonl.gz") for n in ("prone_extension__01", "supine_twist__01"))
    joined = tmp_path / "joined.jsonl.gz"
    with RecordingWriter(joined, first.info) as writer:
        index, t_end = 0, 0.0
        for rec in (first, second):
            start = t_end
            for pf in rec.frames():
                writer.write(type(pf)(start + pf.t_s, index, pf.pose, pf.others))
                index, t_end = index + 1, start + pf.t_s + 1 / rec.info.fps
    session = _session(analyze(joined, tmp_path / "out", AnalyzeOptions(exercise="auto")))
    exercises = [s["exercise"] for s in session["segments"]]
    assert exercises == ["prone_extension", "supine_twist"] and session["exercise"] is None
    assert session["segments"][1]["start_s"] == pytest.approx(17.1, abs=2.0)
    rows = read_csv(tmp_path / "out" / "frames.csv")
    assert [r["exercise"] for r in rows][:10] == ["prone_extension"] * 10
    assert rows[-1]["exercise"] == "supine_twist" and len(rows) == session["frames"] == index
    assert {h["exercise"] for h in session["holds"]} <= set(exercises)


def _session(report) -> dict:
    return json.loads(report.to_json())


# --- video and photos (the lite model) ----------------------------------------------------------

@pytest.fixture(scope="module")
def photo_video(photos_dir, tmp_path_factory) -> Path:
    """A 3 s, 320x240, 10 fps video of the bridge photos, each held for 0.75 s."""
    import cv2

    from coach.io.sources import image_files, read_image

    stills = [cv2.resize(read_image(p), (320, 240), interpolation=cv2.INTER_AREA)
              for p in image_files(photos_dir) if p.name.startswith("bridge__")]
    path = tmp_path_factory.mktemp("video") / "bridge clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    for i in range(30):
        writer.write(cv2.cvtColor(stills[(i * 4 // 30) % len(stills)], cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.mark.model
def test_video_outputs_agree(photo_video, lite_model_path, tmp_path):
    import cv2

    out = tmp_path / "clip"
    report = analyze(photo_video, out, AnalyzeOptions(exercise="bridge", model=str(lite_model_path)))
    assert sorted(p.name for p in out.iterdir()) == ["annotated.mp4", "frames.csv", "landmarks.jsonl.gz",
                                                     "report.html", "session.json"]
    cap = cv2.VideoCapture(str(out / "annotated.mp4"))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape[:2] == (240, 320)
    rows = read_csv(out / "frames.csv")
    assert frames == len(rows) == report.frames == len(landmark_times(out / "landmarks.jsonl.gz")) == 30
    assert report.input.kind == "video" and report.input.model == lite_model_path.name
    assert any(r["pose_seen"] == "1" for r in rows), "the lite model found nobody in the bridge photos"


@pytest.mark.model
def test_video_auto_and_no_video(photo_video, lite_model_path, tmp_path):
    options = AnalyzeOptions(exercise="auto", model=str(lite_model_path), video=False)
    report = analyze(photo_video, tmp_path / "auto", options)
    assert "annotated.mp4" not in {p.name for p in (tmp_path / "auto").iterdir()}
    assert report.auto and report.segments and all(s.score is not None for s in report.segments)
    assert len(read_csv(tmp_path / "auto" / "frames.csv")) == report.frames == 30


@pytest.mark.model
def test_single_photos(photos_dir, photo_labels, lite_model_path, tmp_path):
    """A photo is one frame: in_envelope and alerts for that frame; a 'start' photo is not in the stretch."""
    picks = [row for row in photo_labels if row["stretch"] in ("bridge", "childs_pose", "prone_extension")]
    alerted = False
    for row in picks:
        out = tmp_path / row["file"]
        report = analyze(photos_dir / row["file"], out, AnalyzeOptions(exercise=row["stretch"],
                                                                         model=str(lite_model_path)))
        session = json.loads((out / "session.json").read_text())
        assert sorted(p.name for p in out.iterdir()) == ["annotated.jpg", "frames.csv", "landmarks.jsonl.gz",
                                                         "report.html", "session.json"]
        assert session["frames"] == 1 == len(read_csv(out / "frames.csv"))
        assert "in_envelope" in session and isinstance(session["alerts"], list)
        assert session["in_envelope"] in (True, False, None) and report.in_envelope == session["in_envelope"]
        if row["position"] == "start":
            assert session["in_envelope"] is not True, f"{row['file']} is a start position"
        alerts = (out / "report.html").read_text().split('id="alerts"', 1)[1].split("</section>", 1)[0]
        # one moment: no "1× · 0.0 s in all", no "When 0:00.0–0:00.0 (still on at the end)", no "worst ... at"
        assert " in all" not in alerts and "When" not in alerts and " at 0:00" not in alerts, (row["file"], alerts)
        alerted = alerted or bool(session["alerts"])
    assert alerted, "one of the photos raised an alert: the wording was checked"


# --- faster than real time: the rate cap and the annotated video's size --------------------------

@pytest.fixture(scope="module")
def fast_video(photos_dir, tmp_path_factory) -> Path:
    """1.5 s of a bridge photo at 60 fps and 1920x1080 (a phone's slow-motion-free high rate)."""
    import cv2

    from coach.io.sources import read_image

    still = cv2.resize(read_image(photos_dir / "bridge__Butt_Lift_Bridge__1.jpg"), (1620, 1080),
                       interpolation=cv2.INTER_AREA)
    canvas = np.full((1080, 1920, 3), 110, np.uint8)
    canvas[:, 150:1770] = still
    path = tmp_path_factory.mktemp("fast") / "fast.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 60.0, (1920, 1080))
    for _ in range(90):
        writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.mark.model
@pytest.mark.parametrize("exercise", [pytest.param("bridge", id="one-pass"), pytest.param("auto", id="auto-two-passes")])
def test_a_60fps_video_is_analysed_at_30_frames_a_second_with_its_own_times(fast_video, lite_model_path, tmp_path,
                                                                             exercise):
    from videos import video_header

    from coach.session.feed import ANALYSIS_RATE_HZ
    from coach.session.session_files import ANNOTATED_MAX_SIDE_PX

    out = tmp_path / "out"
    report = analyze(fast_video, out, AnalyzeOptions(exercise=exercise, model=str(lite_model_path)))
    rows = read_csv(out / "frames.csv")
    assert ANALYSIS_RATE_HZ == 30.0
    assert [int(r["frame"]) for r in rows] == list(range(0, 90, 2))          # the input's own frame numbers
    assert np.allclose([float(r["t_s"]) for r in rows], [i / 60.0 for i in range(0, 90, 2)], atol=1e-3)
    assert np.allclose(landmark_times(out / "landmarks.jsonl.gz"), [i / 60.0 for i in range(0, 90, 2)], atol=1e-3)
    assert report.frames == 45 and report.input.fps == pytest.approx(60.0)   # the input is described as it is
    header = video_header(out / "annotated.mp4")
    assert header.fps == pytest.approx(30.0) and header.frame_count == 45    # plays 1.5 s, the input's length
    assert header.size_px == (960, 540) and max(header.size_px) <= ANNOTATED_MAX_SIDE_PX
    assert sorted(p.name for p in out.iterdir()) == ["annotated.mp4", "frames.csv", "landmarks.jsonl.gz",
                                                     "report.html", "session.json"]   # no copy left behind
    assert any(r["pose_seen"] == "1" for r in rows)


@pytest.mark.parametrize("size_px, expected", [
    pytest.param((1920, 1080), (960, 540), id="1080p-halved"),
    pytest.param((1080, 1920), (540, 960), id="portrait-halved"),
    pytest.param((3840, 2160), (1280, 720), id="4k-third"),
    pytest.param((1280, 720), (1280, 720), id="720p-as-is"),
    pytest.param((320, 240), (320, 240), id="small-as-is"),
])
def test_the_annotated_video_is_at_most_1280_px_by_a_whole_divisor(size_px, expected):
    from coach.session.session_files import annotated_pixels

    out = annotated_pixels(np.zeros((size_px[1], size_px[0], 3), np.uint8))
    assert (out.shape[1], out.shape[0]) == expected and out.dtype == np.uint8
