"""`coach live --reference DEMO`: follow a demonstration live, headless, on shared recordings. The same
recording as its own demonstration is matched closely (the ghost is drawn over the person and keeps pace
with them, the score shows in the status line and its mean in session.json); another exercise's
demonstration is not; the restart key restarts the demonstration; bad flag combinations are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from demo_data import first_seconds

from coach.cli import main
from coach.physio.live_follow import FollowAlong
from coach.render.display import NoWindow
from coach.render.ghost import torso_px
from coach.render.overlay import Overlay
from coach.session import live_session

CHILDS_POSE = "childs_pose__01.jsonl.gz"   # kneeling side-on, holding from 0.4 s on
CAT_COW = "cat_cow__01.jsonl.gz"
SHORT_S = 6.0
LIVE = ["--no-window", "--answers", "no", "--mute", "--no-history"]



@pytest.fixture(scope="module")
def childs(landmarks_dir, tmp_path_factory):
    """The first 6 s of the child's pose recording: a rest-free hold, quick to play."""
    return first_seconds(landmarks_dir / CHILDS_POSE, tmp_path_factory.mktemp("rec") / "childs_short.jsonl.gz", SHORT_S)


class RestartKey(NoWindow):
    """A headless display on which "r" (restart the exercise) is pressed after the 100th frame shown."""

    pressed = False

    def key(self) -> str | None:
        if self.shown < 100 or self.pressed:
            return None
        self.pressed = True
        return "r"


class Spy:
    """What the live loop drew and followed: ghosts given to the overlay, status lines, follow steps."""

    def __init__(self, monkeypatch):
        self.ghosts, self.status, self.steps = [], [], []
        self.ghost_pixels: int | None = None
        annotate, step = Overlay.annotate, FollowAlong.step

        def spy_annotate(overlay, rgb, frame, verdict, *, mirror=False, ghost=None, canvas_px=None):
            out = annotate(overlay, rgb, frame, verdict, mirror=mirror, ghost=ghost, canvas_px=canvas_px)
            self.ghosts.append((frame.pose, ghost))
            if self.ghost_pixels is None and ghost is not None and not ghost.is_empty:
                plain = annotate(overlay, rgb, frame, verdict, mirror=mirror, ghost=None, canvas_px=canvas_px)
                self.ghost_pixels = int(np.any(out != plain, axis=2).sum())
            return out

        def spy_step(follow, pose_frame, measures=None):
            result = step(follow, pose_frame, measures)
            self.steps.append((pose_frame.t_s, result.reference_t_s))
            return result

        monkeypatch.setattr(Overlay, "annotate", spy_annotate)
        monkeypatch.setattr(FollowAlong, "step", spy_step)
        draw_status = live_session.draw_status

        def spy_status(img, text, *args):
            self.status.append(text)
            return draw_status(img, text, *args)   # its top places the prompts above it

        monkeypatch.setattr(live_session, "draw_status", spy_status)


def test_following_the_same_recording_scores_high_and_draws_the_ghost_on_the_person(childs, tmp_path, monkeypatch,
                                                                                   capsys):
    spy = Spy(monkeypatch)
    out = tmp_path / "out"
    assert main(["live", "--reference", str(childs), "--source", str(childs), "-o", str(out), "--save-video",
                 *LIVE]) == 0
    data = json.loads((out / "session.json").read_text())
    follow = data["follow"]
    assert follow["reference"] == childs.name and follow["exercise"] == "childs_short"
    assert data["segments"][0]["exercise"] == "childs_short", "the exercise coached is taught from the demonstration"
    assert follow["mean_score"] > 80 and follow["frames_scored"] == data["frames"]
    assert "annotated.mp4" in data["outputs"]
    drawn = [(person, ghost) for person, ghost in spy.ghosts if ghost is not None and not ghost.is_empty]
    assert len(drawn) >= 0.9 * len(spy.ghosts), "the ghost is drawn on (nearly) every frame"
    assert spy.ghost_pixels is not None and spy.ghost_pixels > 200, "the ghost changes the picture"
    for person, ghost in drawn[::25]:
        (own_hip, own_len), (ghost_hip, _) = torso_px(person), torso_px(ghost)
        assert np.linalg.norm(own_hip - ghost_hip) < 0.25 * own_len, "the ghost is drawn over the person"
    t_s, ref_t_s = np.array(spy.steps).T
    assert np.all(np.diff(ref_t_s) >= 0) and ref_t_s[-1] > 0.8 * t_s[-1], "the demonstration advances"
    assert np.median(np.abs(t_s - ref_t_s)) < 1.0, "the demonstration keeps pace with the person"
    assert any(text.startswith(("match 9", "match 100")) for text in spy.status)
    assert "Following childs_short.jsonl.gz: mean match" in capsys.readouterr().out


def test_another_exercise_demonstrated_scores_low(childs, landmarks_dir, tmp_path):
    out = tmp_path / "out"
    assert main(["live", "--exercise", "childs_pose", "--reference", str(landmarks_dir / CAT_COW), "--source",
                 str(childs), "-o", str(out), *LIVE]) == 0
    data = json.loads((out / "session.json").read_text())
    assert data["segments"][0]["exercise"] == "childs_pose", "--exercise is coached; the demonstration only guides"
    assert data["follow"]["exercise"] == "childs_pose" and data["follow"]["frames_scored"] > 50
    assert data["follow"]["mean_score"] < 40


def test_restarting_the_exercise_restarts_the_demonstration(childs, tmp_path, monkeypatch):
    from coach.engine.exercises import get_exercise
    from coach.engine.routine import Routine
    from coach.physio.demonstration import load_poses
    from coach.physio.live_follow import Reference
    from coach.session.feed import open_feed
    from coach.session.live import LiveOptions, run_live

    spy = Spy(monkeypatch)
    demo = load_poses(str(childs), quiet=True)
    exercise = get_exercise("childs_pose")
    follow = FollowAlong(Reference(childs.name, demo.frames, demo.series, exercise))
    result = run_live(open_feed(str(childs)), Routine.single(exercise), RestartKey(),
                      LiveOptions(tmp_path / "out"), follow=follow)
    ref_t_s = np.array([ref for _, ref in spy.steps])
    back = np.flatnonzero(np.diff(ref_t_s) < 0)
    assert len(back) == 1 and ref_t_s[back[0]] > 2.0 and ref_t_s[back[0] + 1] < 0.5
    assert result.follow is not None and result.follow.frames_scored > 0


@pytest.mark.parametrize("extra, message", [
    ([], "--exercise ID, --routine FILE or --reference DEMO"),
    (["--reference", "{demo}", "--routine", "exercises/routines/gentle_back.toml"], "not --routine"),
    (["--reference", "{tiny}"], "tiny.jsonl.gz"),   # no stable hold to teach
])
def test_bad_reference_flags_are_refused_up_front(childs, tmp_path, capsys, extra, message):
    tiny = first_seconds(childs, tmp_path / "tiny.jsonl.gz", 0.5)
    args = [a.format(demo=childs, tiny=tiny) for a in extra]
    out = tmp_path / "out"
    assert main(["live", "--source", str(childs), "-o", str(out), *LIVE, *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("coach: error:") and message in last
    assert not out.exists()


def test_follow_along_as_a_sink_steps_with_every_frame_and_counts_only_the_judged(childs):
    """Through the session loop with a framing step first (no exercise, as live runs it): the
    demonstration advances from the first frame, and only the coached frames make the mean."""
    import math

    from coach.engine.exercises import get_exercise
    from coach.physio.demonstration import load_poses
    from coach.physio.live_follow import Reference
    from coach.session.loop import run_session

    demo = load_poses(str(childs), quiet=True)
    exercise = get_exercise("childs_pose")
    follow = FollowAlong(Reference(childs.name, demo.frames, demo.series, exercise))
    split_s = demo.frames[len(demo.frames) // 2].t_s

    class Segment:
        def __init__(self, judged: bool):
            self.exercise, self.score, self.judged = (exercise if judged else None), None, judged

        def covers(self, t_s: float) -> bool:
            return (t_s >= split_s) == self.judged

    class FramingFirst:
        def at(self, t_s: float) -> Segment:
            return Segment(t_s >= split_s)

    steps = []
    original = follow.step
    follow.step = lambda pose_frame, measures=None: steps.append(original(pose_frame, measures)) or steps[-1]
    run_session(((None, f) for f in demo.frames), FramingFirst(), [follow])
    assert len(steps) == len(demo.frames)
    judged = [s for f, s in zip(demo.frames, steps) if f.t_s >= split_s]
    assert steps[len(steps) // 2 - 1].reference_t_s > 0.3 * split_s, "the framing step's frames advanced it too"
    assert follow.summary().frames_scored == sum(math.isfinite(s.score) for s in judged) > 0


def cut(source, path, start_s: float, end_s: float):
    """The frames of recording `source` in [start_s, end_s), renumbered from 0 and starting at 0 s (as
    the bundled samples are cut)."""
    from dataclasses import replace

    from coach.pose.recording import Recording, RecordingWriter

    rec = Recording(source)
    with RecordingWriter(path, rec.info) as writer:
        frames = [f for f in rec.frames() if start_s <= f.t_s < end_s]
        for i, f in enumerate(frames):
            writer.write(replace(f, t_s=f.t_s - frames[0].t_s, index=i))
    return path, frames[0].t_s


def test_follow_along_times_the_hold_from_the_references_holds(landmarks_dir, tmp_path, monkeypatch):
    """A patient does the bridge (a cut of the shared tracked recording - one tracked pose, as `coach record`
    makes them - from the rest before its second hold,
    15.6-18.0 s, to the rest after) following the first 20 s of the recording as the demonstration:
    the hold is timed from the demonstration's holds, not a fixed second (before: 1 s, so a patient
    still holding was told to rest after 1 s)."""
    import coach.physio.live_follow as live_follow

    taught = []   # the holds live taught from the demonstration (read here, not taught a second time)
    follow_exercise = live_follow.follow_exercise
    monkeypatch.setattr(live_follow, "follow_exercise",
                        lambda exercise, holds: taught.append(holds) or follow_exercise(exercise, holds))
    demo, _ = cut(landmarks_dir / "tracked" / "bridge__01.jsonl.gz", tmp_path / "demo.jsonl.gz", 0.0, 20.0)
    patient, _ = cut(landmarks_dir / "tracked" / "bridge__01.jsonl.gz", tmp_path / "patient.jsonl.gz", 12.0, 20.0)
    out = tmp_path / "out"
    assert main(["live", "--reference", str(demo), "--source", str(patient), "-o", str(out), *LIVE, "-q"]) == 0
    holds = json.loads((out / "session.json").read_text())["holds"]
    [shown] = taught
    target_s = live_follow.reference_hold_s(shown)
    median_s = float(np.median([h.duration_s for h in shown]))
    assert len(shown) >= 2, shown   # the cut shows the lift held more than once
    assert target_s == pytest.approx(live_follow.FOLLOW_HOLD_FRACTION * median_s, abs=0.1) and target_s > 1.0
    assert holds and all(h["target_s"] == target_s for h in holds), (holds, target_s)
    done = [h for h in holds if h["completed"]]
    assert done and all(h["end_s"] - h["start_s"] >= target_s - 1e-6 for h in done), holds
