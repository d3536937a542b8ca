"""Posture and view classification: synthetic skeletons from every side, then the real recordings
against their truth files (agreement rates printed with -s)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import synthetic as S

from coach.measure.conventions import Posture, View
from coach.measure.posture import classify_posture, classify_view, posture_and_view
from coach.pose.core import Pose
from coach.pose.landmarks import Landmark as L
from coach.pose.recording import Recording

POSTURES = {
    Posture.STANDING: S.standing, Posture.SEATED: S.seated_on_floor, Posture.KNEELING: S.kneeling,
    Posture.ALL_FOURS: S.all_fours, Posture.SUPINE: S.supine, Posture.PRONE: S.prone,
}
FACE_HIDDEN = dict.fromkeys([L.NOSE, L.LEFT_EYE_INNER, L.LEFT_EYE, L.LEFT_EYE_OUTER, L.RIGHT_EYE_INNER,
                             L.RIGHT_EYE, L.RIGHT_EYE_OUTER, L.MOUTH_LEFT, L.MOUTH_RIGHT], 0.1)


@pytest.mark.parametrize("posture", list(POSTURES))
@pytest.mark.parametrize("view", ["front", "left", "right", 45.0, -120.0])
def test_synthetic_postures_from_every_side(posture, view):
    assert classify_posture(S.make_pose(POSTURES[posture](), view)) == posture


@pytest.mark.parametrize("build, expected", [
    (S.seated_on_chair, Posture.SEATED),
    (lambda: S.with_trunk_flexion(S.seated_on_chair(), 70), Posture.SEATED),      # bent over in a chair
    (lambda: S.with_trunk_flexion(S.standing(), 80), Posture.STANDING),           # toe-touch bend
    (lambda: S.with_trunk_flexion(S.prone(), -40), Posture.PRONE),                # chest lifted on the arms
    (lambda: S.with_knee_flexion(S.with_knee_flexion(S.with_hip_flexion(S.with_hip_flexion(
        S.supine(), "left", 60), "right", 60), "left", 100), "right", 100), Posture.SUPINE),  # knees up
])
def test_synthetic_posture_variants(build, expected):
    for view in ("front", "left", 60.0):
        assert classify_posture(S.make_pose(build(), view)) == expected, view


def test_childs_pose_is_kneeling():
    j = S.with_knee_flexion(S.with_knee_flexion(S.kneeling(), "left", 60), "right", 60)   # sit back on the heels
    j = S.with_trunk_flexion(S.with_hip_flexion(S.with_hip_flexion(j, "left", 60), "right", 60), 90)  # fold forward
    assert classify_posture(S.make_pose(j, "left")) in (Posture.KNEELING, Posture.ALL_FOURS)


@pytest.mark.parametrize("view, expected", [
    ("front", View.FRONT), ("left", View.SIDE), ("right", View.SIDE), (45.0, View.OBLIQUE), (-50.0, View.OBLIQUE),
    (15.0, View.FRONT), (-75.0, View.SIDE),
])
def test_synthetic_views_of_a_standing_person(view, expected):
    assert classify_view(S.make_pose(S.standing(), view)) == expected


def test_back_view_needs_the_face_unseen():
    """MediaPipe gives a face it cannot see a low visibility; with the face seen a 'back' reading is
    more likely a left/right swap of a person facing the camera."""
    assert classify_view(S.make_pose(S.standing(), "back", visibility=FACE_HIDDEN)) == View.BACK
    assert classify_view(S.make_pose(S.standing(), "front", visibility=FACE_HIDDEN)) == View.BACK
    assert classify_view(S.make_pose(S.standing(), "back")) == View.FRONT


@pytest.mark.parametrize("build", [S.supine, S.prone, S.all_fours])
def test_lying_views_come_from_the_floor_plane_even_with_a_tilted_camera(build):
    for pitch in (0.0, 30.0, 50.0):
        assert classify_view(S.make_pose(build(), "left", pitch_deg=pitch)) == View.SIDE
        assert classify_view(S.make_pose(build(), 45.0, pitch_deg=pitch)) == View.OBLIQUE
        assert classify_view(S.make_pose(build(), "front", pitch_deg=pitch)) == View.FRONT   # end-on


@pytest.mark.parametrize("build", [S.supine, S.prone])
def test_lying_end_on_needs_the_camera_closer_to_the_body_axis_than_upright(build):
    # 15 deg off front: the shoulder line 75 deg from the camera - front upright, oblique lying
    # (FRONT_MIN_LYING_DEG: a lifted pelvis or chest tips the chest normal the lying view is read about)
    assert classify_view(S.make_pose(S.standing(), 15.0)) == View.FRONT
    assert classify_view(S.make_pose(build(), 15.0)) == View.OBLIQUE
    assert classify_view(S.make_pose(build(), 5.0)) == View.FRONT


def test_unknown_without_the_trunk():
    hidden = S.make_pose(S.standing(), "front", visibility={L.LEFT_HIP: 0.2})
    assert posture_and_view(hidden) == (Posture.UNKNOWN, View.UNKNOWN)
    assert classify_view(Pose.empty((640, 480))) == View.UNKNOWN
    legs_out = dict.fromkeys([L.LEFT_KNEE, L.RIGHT_KNEE], 0.1)
    cut = S.make_pose(S.standing(), "front", visibility=legs_out, presence=legs_out)
    assert classify_posture(cut) == Posture.UNKNOWN and classify_view(cut) == View.FRONT


def test_posture_and_view_agrees_with_the_single_classifiers():
    for view in ("front", "left", 45.0):
        for build in POSTURES.values():
            pose = S.make_pose(build(), view)
            assert posture_and_view(pose) == (classify_posture(pose), classify_view(pose))


# --- the real shared recordings --------------------------------------------------------------------

def _label(truth: dict, t: float, key: str) -> str | None:
    items = truth.get(key)
    for start, end, label, *_ in items if isinstance(items, list) else []:
        if start <= t < end:
            return str(label).strip(", ")
    return None


@pytest.fixture(scope="module")
def classified(landmarks_dir: Path):
    """name -> [(segment, truth view, posture, view)] for every frame with a person."""
    out = {}
    for path in sorted(landmarks_dir.glob("*.jsonl.gz")):
        name = path.name.removesuffix(".jsonl.gz")
        truth = json.loads((landmarks_dir / f"{name}.truth.json").read_text())
        out[name] = [(_label(truth, f.t_s, "segments"), _label(truth, f.t_s, "view"), *posture_and_view(f.pose))
                     for f in Recording(path).frames() if not f.pose.is_empty]
    return out


def _share(rows, wanted, segment=None) -> float:
    picked = [p for seg, _, p, _ in rows if segment is None or seg == segment]
    return sum(p in wanted for p in picked) / len(picked)


def test_real_postures(classified):
    assert _share(classified["supine_twist__01"], {Posture.SUPINE}) > 0.95
    # bridge: lying on the back between lifts; during the fade-in and the roll-up MediaPipe sometimes
    # reads the body face down (chest and nose both point down in its world landmarks)
    assert _share(classified["bridge__01"], {Posture.SUPINE}, "rest") > 0.65
    assert _share(classified["bridge__01"], {Posture.SUPINE}, "hold") > 0.9
    assert _share(classified["prone_extension__01"], {Posture.PRONE}) > 0.95
    assert _share(classified["cat_cow__01"], {Posture.ALL_FOURS}) > 0.95
    assert _share(classified["childs_pose__01"], {Posture.KNEELING, Posture.ALL_FOURS}) > 0.95
    assert _share(classified["seated_spinal_twist__01"], {Posture.SEATED}) > 0.95
    assert _share(classified["neck_side_bend__01"], {Posture.STANDING}) > 0.95


def test_real_views_agree_with_the_truth_files(classified):
    per_file, agree, total = {}, 0, 0
    for name, rows in classified.items():
        judged = [(truth, view) for seg, truth, _, view in rows if truth and seg not in (None, "none")]
        hits = sum(view.value == truth for truth, view in judged)
        per_file[name] = hits / len(judged)
        agree, total = agree + hits, total + len(judged)
    print(f"\nview agreement {agree / total:.3f} over {total} frames;",
          ", ".join(f"{k} {v:.2f}" for k, v in per_file.items()))
    assert agree / total > 0.8
    for name in ("cat_cow__01", "childs_pose__01", "neck_side_bend__01", "prone_extension__01", "supine_twist__01"):
        assert per_file[name] > 0.9, name
    # Known disagreements, both from what one camera and MediaPipe can tell:
    # - seated_spinal_twist holds are labelled by the legs ("side") while the shoulders turn square
    #   to the camera; the view follows the shoulders (the hip line turns with them in MediaPipe).
    # - bridge is labelled oblique throughout; in the lifts MediaPipe's shoulder line reads the
    #   camera near the head end (front).
    assert per_file["seated_spinal_twist__01"] > 0.5 and per_file["bridge__01"] > 0.5


def test_real_seated_twist_holds_change_the_view_but_not_the_posture(classified):
    rows = classified["seated_spinal_twist__01"]
    views = Counter(view for seg, truth, _, view in rows if seg == "hold" and truth == "side")
    assert views.most_common(1)[0][0] in (View.FRONT, View.OBLIQUE)
    assert _share(rows, {Posture.SEATED}, "hold") == 1.0
