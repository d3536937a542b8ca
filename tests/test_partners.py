"""One person tracked, everyone else watched: identity, others with age, scenery, recovery, and the
partner-hands rule's "can't judge".

Units on synthetic poses (`person`): the pure `PeopleTracker` (coach/pose/tracking.py), the measures'
`others_unjudged` and the rule's reading. Then the real model on a video made here from two shared
photos side by side (`two_people_video`): the partner is there, leaves (their half blank), comes
back, and the whole frame goes black for half a second (a forced loss of everyone).
"""

from __future__ import annotations

import gzip
import json
import math

import cv2
import numpy as np
import pytest

from coach.engine.core import Coach
from coach.engine.exercises import Safety, get_exercise
from coach.engine.safety import Level, RuleInput, evaluate, rule_by_id
from coach.engine.verdict import Severity
from coach.io.sources import Frame, open_source, read_image
from coach.measure.measures import OTHER_HANDS_STALE_S, compute_measures, others_unjudged
from coach.pose.core import Other, Pose, PoseFrame
from coach.pose.detector import (
    PARTNER_LATENCY_S,
    REACQUIRE_BOUND_S,
    WATCH_RATE_HZ,
    PartnerWatch,
    PeopleDetector,
)
from coach.pose.landmarks import LEFT_HAND, NUM_LANDMARKS, RIGHT_HAND
from coach.pose.landmarks import Landmark as L
from coach.pose.recording import Recording, RecordingInfo, RecordingWriter
from coach.pose.tracking import (
    OTHER_EXPIRY_S,
    OTHER_MIN_HITS,
    SCENERY_S,
    PeopleTracker,
    torso_px,
)
from coach.session.feed import open_feed

SIZE = (1000, 1000)   # synthetic poses: one pixel is a thousandth of the frame

# --- synthetic people -------------------------------------------------------------------------------

# A standing figure in its own units: torso (mid-shoulder to mid-hip) 1.0 long, y down.
_SHAPE = {
    L.NOSE: (0.0, -1.55), L.LEFT_EAR: (0.12, -1.5), L.RIGHT_EAR: (-0.12, -1.5),
    L.LEFT_SHOULDER: (0.3, -1.0), L.RIGHT_SHOULDER: (-0.3, -1.0), L.LEFT_HIP: (0.2, 0.0), L.RIGHT_HIP: (-0.2, 0.0),
    L.LEFT_ELBOW: (0.45, -0.5), L.RIGHT_ELBOW: (-0.45, -0.5), L.LEFT_KNEE: (0.2, 0.9), L.RIGHT_KNEE: (-0.2, 0.9),
    L.LEFT_ANKLE: (0.2, 1.8), L.RIGHT_ANKLE: (-0.2, 1.8),
}
for _side, _hand in (("LEFT", LEFT_HAND), ("RIGHT", RIGHT_HAND)):
    for _lm in _hand:
        _SHAPE[_lm] = (0.5 if _side == "LEFT" else -0.5, -0.05)


def person(cx: float, cy: float, torso: float = 0.2, *, limbs: float = 1.0, hands: tuple[float, float] | None = None,
           hands_seen: bool = True, image_size=SIZE) -> Pose:
    """A standing figure: hips' midpoint at (cx, cy + torso / 2), torso `torso` long (normalised);
    `limbs` scales the world arms and legs (another body's proportions); `hands` puts both hands there."""
    xy = np.full((NUM_LANDMARKS, 2), 0.5)
    vis = np.zeros(NUM_LANDMARKS)
    world = np.zeros((NUM_LANDMARKS, 3))
    for lm, (x, y) in _SHAPE.items():
        xy[lm] = (cx + torso * x, cy + torso / 2 + torso * y)
        limb = limbs if lm not in (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP) else 1.0
        world[lm] = (0.5 * x * limb, 0.5 * y * limb, 0.0)
        vis[lm] = 1.0
    if hands is not None:
        xy[list(LEFT_HAND) + list(RIGHT_HAND)] = hands
    if not hands_seen:
        vis[list(LEFT_HAND) + list(RIGHT_HAND)] = 0.0
    return Pose(xy, np.zeros(NUM_LANDMARKS), vis, vis, world, image_size)


EXERCISER = person(0.3, 0.5)
PARTNER = person(0.75, 0.5)


def _looks(tracker: PeopleTracker, t0: float, t1: float, candidates, exerciser: Pose = EXERCISER) -> float:
    """The tracker fed the exerciser on every look of [t0, t1) at the watch's rate, the watch seeing
    the exerciser and `candidates` (a list, or a function of t giving one pose); returns t1."""
    for k in range(round((t1 - t0) * WATCH_RATE_HZ)):
        t = t0 + k / WATCH_RATE_HZ
        assert tracker.primary(t, exerciser) == "ok"
        seen = [candidates(t)] if callable(candidates) else list(candidates)
        tracker.watch(t, [exerciser, *seen], exerciser)
    return t1


# --- identity -----------------------------------------------------------------------------------------

def test_a_candidate_on_the_exerciser_is_never_someone_else():
    tracker = PeopleTracker()
    _looks(tracker, 0.0, 2.0, [person(0.31, 0.505)])   # the watch's own view of the exerciser, a little off
    assert tracker.others(2.0) == ()


@pytest.mark.parametrize("pose, others_known, expected", [
    (person(0.3, 0.5), True, "ok"),
    (person(0.75, 0.5), True, "jumped"),                  # onto the known partner
    (person(0.75, 0.5), False, "ok"),                     # a camera cut: nobody else known there
    (person(0.32, 0.5, limbs=1.7), False, "ok"),          # proportions alone never call a jump
    (person(0.32, 0.5, torso=0.35), False, "ok"),
    (Pose.empty(SIZE), True, "unseen"),
], ids=["same-person", "onto-partner", "cut-alone", "proportions-alone", "size-alone", "lost"])
def test_the_tracked_pose_is_judged_against_the_exerciser(pose, others_known, expected):
    tracker = PeopleTracker()
    _looks(tracker, 0.0, 1.0, [PARTNER] if others_known else [])
    assert tracker.primary(1.0, pose) == expected


def test_a_partner_who_stays_never_becomes_the_exerciser_after_they_leave():
    """The exerciser walks out; the partner stays where they were, still seen by the watch. However
    long the exerciser is gone, the tracked pose on the partner is a jump, never "you"; the exerciser
    back at their own place is "ok" again."""
    tracker = PeopleTracker()
    t = _looks(tracker, 0.0, 1.0, [PARTNER])
    for k in range(round(5.0 * WATCH_RATE_HZ)):   # 5 s: the exerciser gone, the partner in every look
        now = t + k / WATCH_RATE_HZ
        assert tracker.primary(now, PARTNER) == "jumped", now
        tracker.watch(now, [PARTNER], None)
        assert len(tracker.others(now)) == 1
    assert tracker.primary(t + 5.0, EXERCISER) == "ok"


def test_a_partner_over_a_lying_patient_cannot_capture_the_track():
    """They overlap: the check is continuity and proportions next to a known other, not "largest"."""
    patient = person(0.5, 0.6, torso=0.2)
    helper = person(0.5, 0.55, torso=0.3, limbs=1.8)   # bigger, overlapping, other proportions
    tracker = PeopleTracker()
    for k in range(8):
        t = k / WATCH_RATE_HZ
        assert tracker.primary(t, patient) == "ok"
        # the watch sees the helper beside the patient (torso centres 0.6 patient torso lengths apart)
        tracker.watch(t, [patient, person(0.5, 0.48, torso=0.3, limbs=1.8)], patient)
    assert len(tracker.others(2.0)) == 1
    assert tracker.primary(2.0, person(0.5, 0.48, torso=0.3, limbs=1.8)) == "jumped"
    assert tracker.primary(2.05, helper) == "jumped"
    assert tracker.primary(2.1, patient) == "ok"


# --- others: hit counter, age, expiry, scenery ----------------------------------------------------------

def test_someone_else_counts_after_the_hit_counter_and_carries_an_age():
    tracker = PeopleTracker()
    assert tracker.primary(0.0, EXERCISER) == "ok"
    tracker.watch(0.0, [EXERCISER, PARTNER], EXERCISER)
    assert tracker.others(0.0) == ()                      # one look: not yet
    for k in range(1, OTHER_MIN_HITS):
        tracker.watch(k / WATCH_RATE_HZ, [EXERCISER, PARTNER], EXERCISER)
    t = (OTHER_MIN_HITS - 1) / WATCH_RATE_HZ
    (other,) = tracker.others(t + 0.1)
    assert isinstance(other, Other) and other.age_s == pytest.approx(0.1)
    assert torso_px(other)[0][0] == pytest.approx(750.0)


def test_a_single_look_false_detection_never_counts():
    tracker = PeopleTracker()
    _looks(tracker, 0.0, 0.25, [PARTNER])
    _looks(tracker, 0.25, 3.0, [])
    assert tracker.others(3.0) == ()


def test_someone_who_left_is_stale_then_expires():
    tracker = PeopleTracker()
    last = _looks(tracker, 0.0, 1.0, [PARTNER]) - 1 / WATCH_RATE_HZ
    _looks(tracker, 1.0, 1.5, [])
    (other,) = tracker.others(1.5)
    assert other.age_s == pytest.approx(1.5 - last) and other.age_s > OTHER_HANDS_STALE_S
    _looks(tracker, 1.5, last + OTHER_EXPIRY_S + 0.5, [])
    assert tracker.others(last + OTHER_EXPIRY_S + 0.5) == ()


@pytest.mark.parametrize("candidate, counted", [
    (lambda t: PARTNER, False),                                            # a poster: never moves
    (lambda t: person(0.75 + 0.03 * math.sin(t), 0.5), True),             # a person: moves
    (lambda t: person(0.75, 0.5, hands=EXERCISER.xy[L.NOSE]), True),       # still, but hands on the head
], ids=["poster", "moving", "still-hands-on-head"])
def test_a_figure_that_never_moves_is_scenery(candidate, counted):
    tracker = PeopleTracker()
    end = _looks(tracker, 0.0, SCENERY_S + 1.0, candidate)
    assert (len(tracker.others(end)) == 1) == counted
    assert (len(tracker.scenery) == 1) != counted


# --- the partner-hands rule: judged, clear, or can't judge ---------------------------------------------

_NOSE = tuple(EXERCISER.xy[L.NOSE])


@pytest.mark.parametrize("others, unjudged, level", [
    ((), False, Level.CLEAR),                                                   # nobody else: as before
    ((Other.of(PARTNER, 0.0),), False, Level.CLEAR),                            # seen, far away
    ((Other.of(PARTNER, OTHER_HANDS_STALE_S + 0.1),), True, Level.UNKNOWN),     # stale hands
    ((Other.of(person(0.75, 0.5, hands_seen=False), 0.0),), True, Level.UNKNOWN),   # hands unseen
    ((Other.of(person(0.6, 0.5, hands=_NOSE), 0.0),), False, Level.VIOLATED),   # on the head
    ((Other.of(person(0.6, 0.5, hands=_NOSE), 0.0), Other.of(PARTNER, 1.0)), True, Level.VIOLATED),
    ((Other.of(person(0.6, 0.5, hands=_NOSE), 1.0),), True, Level.UNKNOWN),     # was on the head, now stale
], ids=["nobody", "seen-far", "stale", "unseen", "on-head", "on-head-and-a-stale-one", "on-head-but-stale"])
def test_someone_elses_hands_are_judged_or_cant_be(others, unjudged, level):
    m = compute_measures(EXERCISER, others)
    assert m.others_unjudged == unjudged == others_unjudged(others)
    inp = RuleInput(pose_seen=True, values={"other_hand_head_sw": m["other_hand_head_sw"]},
                    others_unjudged=m.others_unjudged)
    reading = evaluate((rule_by_id("partner_hands_on_head"),), inp, Safety())["partner_hands_on_head"]
    assert reading.level == level


@pytest.mark.parametrize("hidden", [(L.NOSE,), (L.LEFT_EAR, L.RIGHT_EAR), (L.LEFT_SHOULDER,)],
                         ids=["nose", "ears", "a-shoulder"])
def test_a_head_that_cannot_be_measured_with_someone_there_is_no_clear(hidden):
    """A partner's hands over the face hide the nose or the ears: the distance is missing, and
    missing is "can't judge", never "clear"; with nobody else there it stays clear."""
    vis = EXERCISER.visibility.copy()
    vis[list(hidden)] = 0.0
    covered = Pose(EXERCISER.xy, EXERCISER.z, vis, EXERCISER.presence, EXERCISER.world, EXERCISER.image_size)
    for others, level in (((Other.of(PARTNER, 0.0),), Level.UNKNOWN), ((), Level.CLEAR)):
        m = compute_measures(covered, others)
        assert math.isnan(m["other_hand_head_sw"])
        inp = RuleInput(pose_seen=True, values={"other_hand_head_sw": m["other_hand_head_sw"]},
                        others_unjudged=m.others_unjudged)
        assert evaluate((rule_by_id("partner_hands_on_head"),), inp, Safety())["partner_hands_on_head"].level == level


def test_a_plain_pose_among_the_others_was_seen_in_that_frame():
    frame = PoseFrame(0.0, 0, EXERCISER, others=(PARTNER,))
    assert isinstance(frame.others[0], Other) and frame.others[0].age_s == 0.0
    with pytest.raises(ValueError, match="age_s"):
        Other.of(PARTNER, -1.0)
    with pytest.raises(ValueError, match="PoseFrame.others"):
        PoseFrame(0.0, 0, EXERCISER, others=("someone",))


# --- recordings ---------------------------------------------------------------------------------------

def test_others_and_their_age_survive_a_recording(tmp_path):
    path = tmp_path / "two.jsonl.gz"
    frames = [PoseFrame(0.0, 0, EXERCISER, (Other.of(PARTNER, 0.25),)),
              PoseFrame(0.1, 1, Pose.empty(SIZE), (Other.of(PARTNER, 0.35),))]   # the exerciser unseen
    with RecordingWriter(path, RecordingInfo(10.0, *SIZE)) as writer:
        for f in frames:
            writer.write(f)
    got = list(Recording(path).frames())
    assert [round(o.age_s, 4) for f in got for o in f.others] == [0.25, 0.35]
    assert got[1].pose.is_empty   # someone else is never made the exerciser
    assert np.allclose(got[0].pose.xy, EXERCISER.xy)


def test_a_recording_made_with_two_poses_gives_others_seen_in_that_frame(tmp_path):
    """The shared originals (num_poses=2): extra poses are unmarked; they are others of age 0."""
    path = tmp_path / "old.jsonl.gz"
    with RecordingWriter(path, RecordingInfo(10.0, *SIZE)) as writer:
        writer.write(PoseFrame(0.0, 0, EXERCISER))
    lines = gzip.open(path, "rt").read().splitlines()
    rec = json.loads(lines[1])
    big = person(0.3, 0.5, torso=0.25)
    rec["poses"] = [{"image": PARTNER.as_image_array().tolist(), "world": PARTNER.world.tolist()},
                    {"image": big.as_image_array().tolist(), "world": big.world.tolist()}]
    with gzip.open(path, "wt") as fh:
        fh.write(lines[0] + "\n" + json.dumps(rec) + "\n")
    (frame,) = Recording(path).frames()
    assert np.allclose(frame.pose.xy, big.xy)              # the larger one, as before
    assert len(frame.others) == 1 and frame.others[0].age_s == 0.0


# --- the real model on a two-person video ------------------------------------------------------------

FPS = 15.0
PARTNER_AWAY = (2.0, 5.0)      # the partner's half is blank
DARK = (7.0, 7.5)              # the whole frame is black: everyone lost
END_S = 9.5
EXERCISER_PHOTO, PARTNER_PHOTO = "standing_rotation__Middle_Back_Stretch__0.jpg", "neck_side_bend__Side_Neck_Stretch__0.jpg"


def _half(photos_dir, name: str, x0: int, scale: float = 1.0) -> np.ndarray:
    """425 px of a shared photo around its person (the photos are 850x567), shrunk by `scale` onto a
    plain background, feet on the floor."""
    img = read_image(photos_dir / name)[:, x0:x0 + 425]   # RGB
    if scale == 1.0:
        return img
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = np.full_like(img, 200)
    out[-small.shape[0]:, 40:40 + small.shape[1]] = small
    return out


@pytest.fixture(scope="module")
def two_people_video(tmp_path_factory, photos_dir):
    """The exerciser on the left (the larger body: the one tracked), a partner on the right who sways
    a few pixels (a living person, not scenery), leaves, comes back; then half a second of black."""
    exerciser = _half(photos_dir, EXERCISER_PHOTO, 220)
    partner = _half(photos_dir, PARTNER_PHOTO, 160, scale=0.8)
    blank = np.full_like(partner, 200)
    path = tmp_path_factory.mktemp("partners") / "two.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (850, 567))
    for i in range(round(END_S * FPS)):
        t = i / FPS
        if DARK[0] <= t < DARK[1]:
            rgb = np.zeros((567, 850, 3), np.uint8)
        else:
            away = PARTNER_AWAY[0] <= t < PARTNER_AWAY[1]
            right = blank if away else np.roll(partner, round(6 * math.sin(math.pi * t)), axis=1)
            rgb = np.hstack([exerciser, right])
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def watched(two_people_video, model_path):
    """Every frame of the video through a `PeopleDetector` (watch in line): (frames, detector)."""
    source = open_source(two_people_video)
    with PeopleDetector(model_path) as detector:
        frames = [detector.detect(f) for f in source.frames("lossless")]
    source.close()
    return frames, detector


def _x(pose: Pose) -> float:
    return float(torso_px(pose)[0][0] / pose.image_size[0])


def _first(frames, since_s: float, test) -> float:
    return next(f.t_s for f in frames if f.t_s >= since_s and test(f))


def _partner_in(f: PoseFrame, fresh: bool = True) -> bool:
    return any(_x(o) > 0.5 and (o.age_s <= OTHER_HANDS_STALE_S or not fresh) for o in f.others)


STEP_S = 1.0 / FPS


@pytest.mark.parametrize("arrives_s", [0.0, PARTNER_AWAY[1]], ids=["at-the-start", "coming-back"])
def test_the_partner_is_found_within_the_stated_latency(watched, arrives_s):
    frames, _ = watched
    found_s = _first(frames, arrives_s, _partner_in)
    assert found_s - arrives_s <= PARTNER_LATENCY_S + STEP_S


def test_a_partner_who_left_is_cant_judge_then_expires(watched):
    frames, _ = watched
    left_s = PARTNER_AWAY[0]
    gone_s = _first(frames, left_s, lambda f: not _partner_in(f, fresh=False))
    # last seen at most one look before they left; gone within the expiry after that (and a frame)
    assert gone_s - left_s <= OTHER_EXPIRY_S + STEP_S
    between = [f for f in frames if left_s + OTHER_HANDS_STALE_S + 1 / WATCH_RATE_HZ < f.t_s < gone_s]
    assert between and all(compute_measures(f.pose, f.others).others_unjudged for f in between)
    alone = [f for f in frames if gone_s <= f.t_s < PARTNER_AWAY[1]]
    assert alone and not any(compute_measures(f.pose, f.others).others_unjudged for f in alone)


def test_the_exerciser_keeps_the_track(watched):
    frames, _ = watched
    seen = [f for f in frames if not f.pose.is_empty]
    assert len(seen) >= len(frames) - (DARK[1] - DARK[0] + REACQUIRE_BOUND_S) * FPS
    assert all(_x(f.pose) < 0.5 for f in seen)            # always the person on the left: their angles
    assert all(_x(o) > 0.5 for f in frames for o in f.others)   # never counted as their own partner


def test_after_a_forced_loss_the_exerciser_is_reacquired_within_the_stated_time(watched):
    frames, detector = watched
    assert all(f.pose.is_empty for f in frames if DARK[0] + STEP_S <= f.t_s < DARK[1])
    back_s = _first(frames, DARK[1], lambda f: not f.pose.is_empty)
    assert back_s - DARK[1] <= REACQUIRE_BOUND_S
    assert _x(next(f.pose for f in frames if f.t_s == back_s)) < 0.5
    kinds = [kind for _, kind in detector.events]
    assert "lost" in kinds and kinds[-1] == "reacquired"


def _shifted_onto_head(other: Other, exerciser: Pose) -> Other:
    """The partner's pose moved so that their left wrist lies on the exerciser's nose."""
    shift = exerciser.xy[L.NOSE] - other.xy[L.LEFT_WRIST]
    moved = Pose(other.xy + shift, other.z, other.visibility, other.presence, other.world, other.image_size)
    return Other.of(moved, 0.0)


def test_the_partners_hands_at_the_head_raise_the_stop_alert(watched):
    """MediaPipe is not asked to see a composited hand on a head (a pasted hand is not a body it
    finds reliably); the partner's pose the watch returned from the video is moved so that a hand
    lands on the exerciser's head."""
    frames, _ = watched
    coach = Coach(get_exercise("neck_side_bend"))
    alerts = []
    for f in frames[:round(2.0 * FPS)]:
        partner = next((o for o in f.others if o.age_s <= OTHER_HANDS_STALE_S), None)
        others = () if partner is None else (_shifted_onto_head(partner, f.pose),)
        alerts += [a for a in coach.update(f.pose, f.t_s, others=others).alerts if a.rule_id == "partner_hands_on_head"]
    assert alerts and all(a.severity == Severity.STOP for a in alerts)


def test_unseen_partner_hands_are_cant_judge_not_clear(watched):
    frames, _ = watched
    f = next(f for f in frames if _partner_in(f))
    partner = next(o for o in f.others if _x(o) > 0.5)
    hidden = partner.visibility.copy()
    hidden[list(LEFT_HAND) + list(RIGHT_HAND)] = 0.0
    unseen = Other(partner.xy, partner.z, hidden, partner.presence, partner.world, partner.image_size, 0.0)
    for others, level in (((partner,), Level.CLEAR), ((unseen,), Level.UNKNOWN)):
        m = compute_measures(f.pose, others)
        inp = RuleInput(pose_seen=True, values={"other_hand_head_sw": m["other_hand_head_sw"]},
                        others_unjudged=m.others_unjudged)
        assert evaluate((rule_by_id("partner_hands_on_head"),), inp, Safety())["partner_hands_on_head"].level == level


def test_the_watch_in_its_own_thread_finds_the_partner_too(two_people_video, model_path):
    source = open_source(two_people_video)
    with PeopleDetector(model_path, threaded=True) as detector:
        frames = [detector.detect(f) for _, f in zip(range(round(2.0 * FPS)), source.frames("lossless"))]
    source.close()
    assert any(_partner_in(f) for f in frames)
    assert all(_x(f.pose) < 0.5 for f in frames if not f.pose.is_empty)


def test_no_watch_with_num_poses_0(two_people_video, model_path):
    with open_feed(two_people_video, model=model_path, num_poses=0) as feed:
        frames = [f for _, f in zip(range(round(1.0 * FPS)), feed)]
    assert frames and all(f.others == () for f in frames)


@pytest.mark.parametrize("reload_fails", [False, True], ids=["restarted", "reload-fails-old-kept"])
def test_a_restart_keeps_timestamps_rising_and_a_failed_reload_keeps_tracking(
        reload_fails, lite_model_path, photos_dir, tmp_path):
    """After a jump the tracked landmarker is made again; VIDEO mode then still gets increasing
    timestamps, and a model that cannot be loaded again leaves the old one tracking (never none)."""
    rgb = read_image(photos_dir / EXERCISER_PHOTO)
    with PeopleDetector(lite_model_path, watch_poses=0) as detector:
        assert not detector.detect(Frame(0.0, 0, rgb)).pose.is_empty
        if reload_fails:
            bad = tmp_path / "pose_landmarker_lite.task"
            bad.write_bytes(b"not a model")
            detector.model_path = bad
        detector._restart(2.0)
        assert detector.restarts == (0 if reload_fails else 1)
        later = [detector.detect(Frame(t, k, rgb)) for k, t in enumerate((0.01, 0.02, 2.5), start=1)]
    assert all(not f.pose.is_empty for f in later)


def test_the_watch_looks_at_its_rate_by_the_frames_timestamps(lite_model_path):
    watch = PartnerWatch(lite_model_path)
    try:
        due = [t for t in np.arange(0.0, 2.0, 1 / 30) if watch.due(float(t))]
    finally:
        watch.close()
    assert len(due) == round(2.0 * WATCH_RATE_HZ)
    assert np.allclose(np.diff(due), 1 / WATCH_RATE_HZ, atol=1 / 30)


def test_a_watch_look_at_a_downscaled_frame_gives_full_frame_landmarks(lite_model_path, photos_dir):
    rgb = read_image(photos_dir / EXERCISER_PHOTO)
    watch = PartnerWatch(lite_model_path, 1, max_side_px=320)
    try:
        (small,) = watch.look(Frame(0.0, 0, rgb))
    finally:
        watch.close()
    assert small.image_size == (rgb.shape[1], rgb.shape[0])
    assert 0.3 < _x(small) < 0.7


def test_a_still_figure_beside_the_exerciser_becomes_scenery(tmp_path, photos_dir, lite_model_path):
    """A photo pasted beside the exerciser never moves (a poster): counted at first, scenery after
    `SCENERY_S`, while a partner's hands are not near the exerciser's head."""
    fps, end_s = 8.0, SCENERY_S + 1.5
    rgb = np.hstack([_half(photos_dir, EXERCISER_PHOTO, 220), _half(photos_dir, PARTNER_PHOTO, 160, scale=0.8)])
    path = tmp_path / "poster.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (850, 567))
    for _ in range(round(end_s * fps)):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    source = open_source(path)
    with PeopleDetector(lite_model_path) as detector:
        frames = [detector.detect(f) for f in source.frames("lossless")]
    source.close()
    assert any(_partner_in(f) for f in frames if f.t_s < 1.0)
    late = [f for f in frames if f.t_s >= SCENERY_S + 0.5]
    assert late and not any(f.others for f in late)
    assert len(detector.people.scenery) == 1


def test_the_overlapped_watch_gives_what_the_in_line_watch_gives(watched, two_people_video, model_path):
    """Offline the watch's look overlaps the tracked inference (the default): the same frames, the
    same exerciser, the same others with the same ages, as when every look runs in line."""
    source = open_source(two_people_video)
    with PeopleDetector(model_path, overlapped=False) as detector:
        in_line = [detector.detect(f) for f in source.frames("lossless")]
    source.close()
    overlapped, _ = watched
    assert len(in_line) == len(overlapped) and any(f.others for f in in_line)
    for a, b in zip(in_line, overlapped):
        assert a.t_s == b.t_s
        np.testing.assert_array_equal(a.pose.xy, b.pose.xy)
        assert len(a.others) == len(b.others)
        for oa, ob in zip(a.others, b.others):
            assert oa.age_s == ob.age_s
            np.testing.assert_array_equal(oa.xy, ob.xy)
