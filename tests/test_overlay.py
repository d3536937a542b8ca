"""The overlay draws what the verdict says, where the pose is, without touching its input.

Verdicts are built by hand (and, when the engine runs, taken from it on a real recording); the
pictures are checked pixel by pixel at places the layout names.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from coach.engine.exercises import Exercise, get_exercise, load_library
from coach.engine.verdict import Alert, FrameVerdict, HoldState, MeasureVerdict, Severity, Status
from coach.measure import measures as measures_mod
from coach.measure.conventions import Reliability
from coach.pose.core import Pose, PoseFrame
from coach.pose.landmarks import SKELETON
from coach.pose.landmarks import Landmark as L
from coach.pose.recording import Recording
from coach.render.overlay import Overlay, OverlayStyle, measure_label

W, H = 1280, 720
BG = 60  # uniform grey background: every drawn pixel differs from it
STANDING = {L.NOSE: (0.5, 0.28), L.LEFT_EYE: (0.51, 0.27), L.RIGHT_EYE: (0.49, 0.27), L.LEFT_EAR: (0.52, 0.28),
            L.RIGHT_EAR: (0.48, 0.28), L.LEFT_SHOULDER: (0.56, 0.36), L.RIGHT_SHOULDER: (0.44, 0.36),
            L.LEFT_ELBOW: (0.58, 0.47), L.RIGHT_ELBOW: (0.42, 0.47), L.LEFT_WRIST: (0.59, 0.57),
            L.RIGHT_WRIST: (0.41, 0.57), L.LEFT_HIP: (0.54, 0.57), L.RIGHT_HIP: (0.46, 0.57),
            L.LEFT_KNEE: (0.545, 0.70), L.RIGHT_KNEE: (0.455, 0.70), L.LEFT_ANKLE: (0.55, 0.82),
            L.RIGHT_ANKLE: (0.45, 0.82)}


def pose_at(points: dict, shift_x: float = 0.0) -> Pose:
    xy = np.full((33, 2), np.nan)
    vis = np.zeros(33)
    for lm, (x, y) in points.items():
        xy[lm], vis[lm] = (x + shift_x, y), 1.0
    return Pose(xy, np.zeros(33), vis, vis, np.zeros((33, 3)), (W, H))


def blank(w: int = W, h: int = H) -> np.ndarray:
    return np.full((h, w, 3), BG, np.uint8)


def verdict(ex_id: str = "bridge", **kw) -> FrameVerdict:
    fields = dict(t_s=1.0, exercise_id=ex_id, status=Status.ACTIVE, phase="lift", phase_index=0, side=None,
                  state=HoldState.HOLDING, holding=True, hold_s=12.0, hold_target_s=30.0, progress=0.4,
                  reps_done={"both": 1}, sides_done=(), pose_seen=True)
    fields.update(kw)
    return FrameVerdict(**fields)


def mv(name: str, value: float, inside: bool | None, rel: Reliability = Reliability.HIGH,
       hint: str = "") -> MeasureVerdict:
    distance = math.nan if inside is None else (0.0 if inside else -5.0)
    return MeasureVerdict(name, value, rel, inside, distance, hint, in_envelope=True)


def midpoint_px(a: L, b: L, t: float = 0.5, mirror: bool = False, shift_x: float = 0.0) -> tuple[int, int]:
    (xa, ya), (xb, yb) = STANDING[a], STANDING[b]
    x, y = (xa + shift_x + t * (xb - xa)) * W, (ya + t * (yb - ya)) * H
    return round(W - 1 - x if mirror else x), round(y)


def has_colour_near(img: np.ndarray, xy: tuple[int, int], rgb, radius: int = 1) -> bool:
    x, y = xy
    patch = img[y - radius:y + radius + 1, x - radius:x + radius + 1].reshape(-1, 3)
    return bool((np.abs(patch.astype(int) - np.array(rgb)).max(axis=1) <= 2).any())


CUES = {"enter": "Knees bent, feet flat.", "hold": "Hips up, keep breathing.", "too_far": "Rotate less.",
        "breathe": "Breathe out as you lift.", "release": "Lower slowly."}


def band(lo: float, hi: float, **extra) -> dict:
    return {"min": lo, "max": hi, "hint_low": "lift your hips higher", "hint_high": "lower a little", **extra}


def exercise(**overrides) -> Exercise:
    """Built here, not read from exercises/: these tests are about drawing, not about the library's numbers."""
    data = {"id": "bridge", "name": "Bridge", "summary": "Lift the hips.", "posture": ["supine"],
            "view": ["side", "oblique"], "reps_per_side": 3, "rest_s": 15, "instructions": ["Lift."], "cues": CUES,
            "phases": [{"name": "lift", "hold_s": 30, "cue": "Lift your hips to a straight line.",
                        "envelope": {"hip_left_deg": band(145, 180), "hip_right_deg": band(145, 180),
                                     "knee_left_deg": band(50, 130), "knee_right_deg": band(50, 130)}}],
            "sources": ["test"]}
    data.update(overrides)
    return Exercise.model_validate(data)


@pytest.fixture(scope="module")
def bridge():
    return exercise()


@pytest.fixture(scope="module")
def twist():
    envelope = {"trunk_inclination_deg": band(0, 35), "knee_{side}_deg": band(30, 125), "hip_{side}_deg": band(35, 115),
                "trunk_rotation_deg": band(15, 45, min_reliability="low")}
    return exercise(id="seated_spinal_twist", name="Seated floor twist", posture=["seated"], sides="left_right",
                    side_from="lower:knee", reps_per_side=2,
                    phases=[{"name": "twist", "hold_s": 30, "cue": "Turn.", "envelope": envelope}])


@pytest.fixture(scope="module")
def frame():
    return PoseFrame(1.0, 10, pose_at(STANDING))


# --- input, skeleton ------------------------------------------------------------------------------

def test_input_is_never_modified_and_a_new_array_comes_back(bridge, frame):
    img = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    before = img.copy()
    out = Overlay(bridge).annotate(img, frame, verdict(), mirror=True, ghost=pose_at(STANDING, 0.1))
    assert np.array_equal(img, before)
    assert out is not img and out.shape == img.shape and out.dtype == np.uint8
    assert not np.shares_memory(out, img)


@pytest.mark.parametrize("state, status, alerts, colour", [
    (HoldState.HOLDING, Status.ACTIVE, (), "in_band_rgb"),
    (HoldState.ENTERING, Status.ACTIVE, (), "approaching_rgb"),
    (HoldState.PAUSED, Status.ACTIVE, (), "approaching_rgb"),
    (HoldState.OUT, Status.ACTIVE, (), "out_rgb"),
    (HoldState.OUT, Status.RESTING, (), "unknown_rgb"),
    (HoldState.HOLDING, Status.ACTIVE, (("twist", Severity.CAUTION),), "alert_rgb"),
    (HoldState.HOLDING, Status.ACTIVE, (("partner_hands_on_head", Severity.STOP),), "alert_rgb"),
    (HoldState.HOLDING, Status.ACTIVE, (("wrong_view", Severity.CAUTION),), "in_band_rgb"),  # camera, not body
])
def test_bones_are_drawn_along_their_length_in_the_status_colour(bridge, frame, state, status, alerts, colour):
    style = OverlayStyle()
    made = tuple(Alert(rule, sev, f"{rule} happened", 50.0, 45.0, 0.5) for rule, sev in alerts)
    out = Overlay(bridge, style).annotate(blank(), frame, verdict(state=state, status=status, alerts=made))
    for a, b in ((L.LEFT_SHOULDER, L.LEFT_HIP), (L.RIGHT_HIP, L.RIGHT_KNEE), (L.LEFT_ELBOW, L.LEFT_WRIST)):
        for t in (0.3, 0.5, 0.7):
            assert has_colour_near(out, midpoint_px(a, b, t), getattr(style, colour)), (a.name, b.name, t)


def test_nothing_is_drawn_for_unseen_landmarks(bridge):
    points = dict(STANDING)
    pose = pose_at(points)
    hidden = Pose(pose.xy, pose.z, np.where(np.arange(33) == L.LEFT_HIP, 0.1, pose.visibility), pose.presence,
                  pose.world, pose.image_size)
    out = Overlay(bridge).annotate(blank(), PoseFrame(0.0, 0, hidden), verdict())
    assert np.array_equal(out[midpoint_px(L.LEFT_SHOULDER, L.LEFT_HIP)[::-1]], [BG] * 3)
    assert has_colour_near(out, midpoint_px(L.RIGHT_SHOULDER, L.RIGHT_HIP), OverlayStyle().in_band_rgb)


def test_empty_pose_and_no_verdict_draw_panels_but_no_skeleton(bridge):
    img = blank()
    out = Overlay(bridge).annotate(img, PoseFrame(0.0, 0, Pose.empty((W, H))), None)
    body = (slice(round(0.25 * H), round(0.85 * H)), slice(round(0.38 * W), round(0.62 * W)))
    assert np.array_equal(out[body], img[body])
    assert not np.array_equal(out, img)  # the panels are there


def test_ghost_is_blended_and_others_are_drawn(bridge):
    style = OverlayStyle()
    frame = PoseFrame(0.0, 0, Pose.empty((W, H)), others=(pose_at(STANDING, -0.2),))
    out = Overlay(bridge, style).annotate(blank(), frame, verdict(), ghost=pose_at(STANDING, 0.2))
    gx, gy = midpoint_px(L.LEFT_SHOULDER, L.LEFT_HIP)
    ghost_px = out[gy, gx + round(0.2 * W)].astype(int)
    assert (ghost_px > BG + 40).all() and (ghost_px < 255 - 40).all()  # semi-transparent white over grey
    assert has_colour_near(out, (gx - round(0.2 * W), gy), style.others_rgb)


# --- mirror -------------------------------------------------------------------------------------------

def test_mirror_flips_picture_and_skeleton_but_not_text(twist):
    ov = Overlay(twist)
    img = blank()
    img[150:170, 420:440] = 200  # a light patch in an empty corner of the picture: the picture must flip
    v = verdict("seated_spinal_twist", phase="twist", side="left", reps_done={"left": 1, "right": 0})
    pf = PoseFrame(0.0, 0, pose_at(STANDING, shift_x=0.06))  # off-centre: a mirror image lands elsewhere
    plain, mirrored = ov.annotate(img, pf, v), ov.annotate(img, pf, v, mirror=True)
    colour = ov.skeleton_rgb(v)
    for a, b in ((L.LEFT_SHOULDER, L.LEFT_HIP), (L.LEFT_KNEE, L.LEFT_ANKLE)):
        assert has_colour_near(plain, midpoint_px(a, b, shift_x=0.06), colour)
        assert has_colour_near(mirrored, midpoint_px(a, b, mirror=True, shift_x=0.06), colour)
        assert not has_colour_near(mirrored, midpoint_px(a, b, shift_x=0.06), colour)
    assert (plain[150:170, 420:440] == 200).all() and (mirrored[150:170, W - 440:W - 420] == 200).all()
    assert (mirrored[150:170, 420:440] == BG).all()
    lay = ov.layout(W, H)
    x0, y0, x1, y1 = lay.cue
    cue_plain, cue_mirror = plain[y0:y1, x0:x1], mirrored[y0:y1, x0:x1]
    assert not np.array_equal(cue_mirror, plain[y0:y1, W - x1:W - x0][:, ::-1])  # not a mirror image of the text
    hx0, hy0, hx1, hy1 = lay.hold_panel  # same words ("Left: 1 of 2") in the same place, over a flipped picture
    assert np.array_equal(mirrored[hy0:hy1, hx0:hx1], plain[hy0:hy1, hx0:hx1])
    assert (cue_plain > 150).any() and np.array_equal(cue_mirror, cue_plain)


# --- ring, banner, gauges --------------------------------------------------------------------------------

def test_ring_fills_clockwise_from_twelve_in_the_state_colour(bridge, frame):
    style = OverlayStyle()
    ov = Overlay(bridge, style)
    out = ov.annotate(blank(), frame, verdict(hold_s=15.0, progress=0.5))
    lay = ov.layout(W, H)
    (cx, cy), r = lay.ring_center_px, lay.ring_radius_px
    assert has_colour_near(out, (cx, cy - r), style.in_band_rgb)      # 12 o'clock
    assert has_colour_near(out, (cx + r, cy), style.in_band_rgb)      # 3 o'clock: a quarter in
    assert not has_colour_near(out, (cx - r, cy), style.in_band_rgb)  # 9 o'clock: not reached at 50 %
    assert has_colour_near(out, (cx - r, cy), style.track_rgb)
    empty = ov.annotate(blank(), frame, verdict(hold_s=0.0, progress=0.0))
    assert not has_colour_near(empty, (cx + r, cy), style.in_band_rgb)


@pytest.mark.parametrize("severity, colour", [(Severity.STOP, "alert_rgb"), (Severity.CAUTION, "approaching_rgb")])
def test_alert_banner_colour_follows_severity(bridge, frame, severity, colour):
    style = OverlayStyle()
    ov = Overlay(bridge, style)
    alert = Alert("twist", severity, "Too much twist: 52° > 45°", 52.0, 45.0, 0.5, "trunk_rotation_deg")
    out = ov.annotate(blank(), frame, verdict(alerts=(alert,)))
    x0, y0, x1, y1 = ov.layout(W, H).banner
    right_end = out[(y0 + y1) // 2, x1 - 3 * ov.layout(W, H).u_px]
    assert tuple(right_end) == getattr(style, colour)
    text = out[y0 + 3:y1 - 3, x0 + 3:(x0 + x1) // 2]
    assert (np.abs(text.astype(int) - getattr(style, colour)).max(axis=2) > 60).any()  # the words are on it


def test_no_alert_leaves_the_banner_strip_to_the_video(bridge, frame):
    ov = Overlay(bridge)
    img = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8)
    out = ov.annotate(img, frame, verdict())
    x0, y0, x1, y1 = ov.layout(W, H).banner
    assert np.array_equal(out[y0:y1, x0:x1], img[y0:y1, x0:x1])


def test_nan_measure_has_no_value_marker(bridge, frame):
    style = OverlayStyle(unknown_rgb=(255, 0, 255))  # a colour nothing else uses: only a "can't judge" marker
    ov = Overlay(bridge, style)
    base = [mv("hip_left_deg", 160, True), mv("hip_right_deg", 160, True), mv("knee_left_deg", 90, True)]

    def magenta(knee_right: MeasureVerdict) -> int:
        out = ov.annotate(blank(), frame, verdict(measures=(*base, knee_right)))
        return int(np.all(out == (255, 0, 255), axis=2).sum())

    nan = MeasureVerdict("knee_right_deg", math.nan, Reliability.NONE, None, in_envelope=True)
    assert magenta(nan) == 0
    assert magenta(mv("knee_right_deg", 90, None, Reliability.LOW)) > 20  # control: a value can't-judge marker
    gauge = ov.gauges(verdict(measures=(*base, nan)))[3]
    assert gauge.value_text == "can't measure" and math.isnan(gauge.value)


def test_gauges_name_measures_in_plain_words_with_reliability(bridge, twist):
    v = verdict(measures=(mv("hip_left_deg", 152.4, True), mv("hip_right_deg", 139, False, Reliability.LOW)))
    g = Overlay(bridge).gauges(v)
    assert [x.label for x in g] == ["Left hip", "Right hip", "Left knee", "Right knee"]
    assert (g[0].value_text, g[0].note, g[0].band) == ("152°", "", (145.0, 180.0))
    assert g[1].note == "low reliability" and g[1].rgb == OverlayStyle().out_rgb
    assert g[0].lo < 145 and g[0].hi > 180 and g[0].band_text == ("", "")
    assert Overlay(bridge, OverlayStyle(presentation=True)).gauges(v)[0].band_text == ("145°", "180°")
    # a sided band before the side is known, then read toward the working side (right: sign flipped)
    assert Overlay(twist).gauges(verdict("seated_spinal_twist"))[1].label == "Knee (working side)"
    rot = mv("trunk_rotation_deg", -30.0, True, Reliability.LOW)
    right = Overlay(twist).gauges(verdict("seated_spinal_twist", side="right", measures=(rot,)))
    assert right[1].label == "Right knee" and right[3].value_text == "30°"
    assert measure_label("trunk_rotation_deg") == "Twist" and measure_label("neck_lateral_deg") == "Head tilt"


# --- cues ------------------------------------------------------------------------------------------------

def test_cue_follows_the_verdict(bridge, twist):
    ov, cues = Overlay(bridge), bridge.cues
    assert ov.cue(verdict()) == (cues.hold, False)
    assert ov.cue(verdict(state=HoldState.ENTERING)) == (cues.breathe, True)
    assert ov.cue(verdict(state=HoldState.OUT)) == (cues.enter, False)
    hinted = verdict(state=HoldState.OUT, measures=(mv("hip_left_deg", 120, False, hint="lift your hips higher"),))
    assert ov.cue(hinted) == ("Lift your hips higher.", False)
    assert ov.cue(verdict(pose_seen=False))[0].startswith("Step into view")
    assert ov.cue(verdict(status=Status.STOPPED, advice="Stop and rest."))[0] == "Stop and rest."
    assert "8 s" in ov.cue(verdict(status=Status.RESTING, rest_left_s=7.2))[0]
    # the rest is over and the person is still in the position: the next rep starts from outside it
    assert ov.cue(verdict(status=Status.RESTING, rest_left_s=0.0))[0] == f"{cues.release} - then the next rep."
    assert ov.cue(None) == (bridge.phases[0].cue, False)
    alert = Alert("twist", Severity.CAUTION, "Rotate less", 52.0, 45.0, 0.5, "trunk_rotation_deg")
    assert Overlay(twist).cue(verdict("seated_spinal_twist", alerts=(alert,)))[0] == twist.cues.too_far
    assert ov.cue(verdict(alerts=(alert,)))[0] == cues.hold  # the bridge's envelope has no twist
    stop = Alert("bouncing", Severity.STOP, "Don't bounce", 4.0, 3.0, 0.5)
    assert ov.cue(verdict(state=HoldState.ENTERING, alerts=(alert, stop))) == (cues.release, False)


def test_breathe_label_appears_only_while_entering(bridge, frame):
    ov = Overlay(bridge)
    lay = ov.layout(W, H)
    x0, y0, x1, y1 = lay.cue
    left = slice(x0 + lay.u_px, x0 + 4 * lay.u_px)
    sky = OverlayStyle().out_rgb
    entering = ov.annotate(blank(), frame, verdict(state=HoldState.ENTERING))[y0:y1, left]
    holding = ov.annotate(blank(), frame, verdict())[y0:y1, left]
    assert np.all(entering == sky, axis=2).sum() > 50
    assert np.all(holding == sky, axis=2).sum() == 0


# --- sizes, style, performance ------------------------------------------------------------------------

@pytest.mark.parametrize("w, h", [(1280, 720), (720, 1280), (850, 567), (160, 90), (33, 17)])
def test_any_frame_size_draws_without_error(bridge, w, h):
    alert = Alert("partner_hands_on_head", Severity.STOP, "Don't let anyone pull or crack your neck — stop now",
                  0.1, 0.3, 0.5)
    long_cue = verdict(state=HoldState.OUT, alerts=(alert,), measures=(mv("hip_left_deg", 120, False, hint="x " * 80),))
    out = Overlay(bridge, OverlayStyle(presentation=True)).annotate(blank(w, h), PoseFrame(0.0, 0, pose_at(STANDING)),
                                                                   long_cue, mirror=True)
    assert out.shape == (h, w, 3)


def test_text_scales_with_frame_height_and_text_scale(bridge):
    ov = Overlay(bridge)
    assert ov.layout(1920, 1080).u_px == pytest.approx(1.5 * ov.layout(1280, 720).u_px, abs=1)
    big = Overlay(bridge, OverlayStyle(text_scale=1.5)).layout(W, H)
    assert big.u_px == pytest.approx(1.5 * ov.layout(W, H).u_px, abs=1)
    assert big.cue[3] - big.cue[1] > ov.layout(W, H).cue[3] - ov.layout(W, H).cue[1]


@pytest.mark.parametrize("field, value", [("in_band_rgb", (0, 300, 0)), ("out_rgb", (1, 2)), ("panel_alpha", 1.5),
                                          ("text_scale", 0.0), ("ghost_alpha", -0.1)])
def test_style_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"OverlayStyle.{field}"):
        OverlayStyle(**{field: value})


def test_rejects_non_rgb_images(bridge, frame):
    with pytest.raises(ValueError, match="uint8"):
        Overlay(bridge).annotate(np.zeros((H, W, 3), np.float32), frame, None)
    with pytest.raises(ValueError, match="uint8"):
        Overlay(bridge).annotate(np.zeros((H, W), np.uint8), frame, None)



# --- real recordings ----------------------------------------------------------------------------------------

def _drawn_where_the_pose_is(ov: Overlay, pose_frame: PoseFrame, v: FrameVerdict | None, w: int, h: int) -> None:
    img = blank(w, h)
    out = ov.annotate(img, pose_frame, v)
    without = ov.annotate(img, PoseFrame(pose_frame.t_s, pose_frame.index, Pose.empty((w, h))), v)
    assert np.array_equal(img, blank(w, h))
    changed = np.argwhere((out != without).any(axis=2))
    seen = pose_frame.pose.seen_mask()
    bones = sum(1 for a, b in SKELETON if seen[a] and seen[b])
    if bones == 0:
        assert len(changed) == 0
        return
    assert len(changed) > 50
    colour = np.all(out[changed[:, 0], changed[:, 1]] == ov.skeleton_rgb(v), axis=1)
    assert colour.sum() > 10, "the skeleton is not in the verdict's colour"
    pts = pose_frame.pose.xy[seen] * (w, h)
    pad = 3 * ov.layout(w, h).bone_px
    assert changed[:, 1].min() >= pts[:, 0].min() - pad and changed[:, 1].max() <= pts[:, 0].max() + pad
    assert changed[:, 0].min() >= pts[:, 1].min() - pad and changed[:, 0].max() <= pts[:, 1].max() + pad


def test_real_recording_poses_are_drawn_on_a_photo_sized_frame(landmarks_dir, bridge):
    ov = Overlay(bridge)
    frames = list(Recording(landmarks_dir / "bridge__01.jsonl.gz").frames())[::25]
    assert len(frames) > 20
    for i, pf in enumerate(frames):
        v = None if i % 3 == 0 else verdict(state=list(HoldState)[i % len(HoldState)], t_s=pf.t_s)
        _drawn_where_the_pose_is(ov, pf, v, 850, 567)


def test_every_shipped_exercise_and_phase_draws(frame):
    library = load_library()
    assert len(library) >= 10
    for ex in library.values():
        for i, phase in enumerate(ex.phases):
            for side in ((None,) if ex.sides == "none" else (None, "left", "right")):
                v = verdict(ex.id, phase=phase.name, phase_index=i, side=side)
                out = Overlay(ex).annotate(blank(), frame, v)
                assert len(Overlay(ex).gauges(v)) == len(phase.envelope) and out.shape == (H, W, 3)


def test_real_engine_verdicts_are_drawn(landmarks_dir, bridge):
    if not hasattr(measures_mod, "compute_measures"):
        pytest.skip("coach.measure.measures.compute_measures is not built yet: the engine cannot run")
    from coach.engine.core import Coach

    coach, ov = Coach(bridge), Overlay(bridge)
    drawn = 0
    for pf in Recording(landmarks_dir / "bridge__01.jsonl.gz").frames():
        v = coach.update(pf.pose, pf.t_s, pf.others)
        if pf.index % 20 == 0:
            _drawn_where_the_pose_is(ov, pf, v, W, H)
            drawn += 1
    assert drawn > 20


def test_a_verdict_for_another_exercise_is_refused(bridge, frame):
    with pytest.raises(ValueError, match="'bridge'.*'seated_spinal_twist'"):
        Overlay(bridge).annotate(blank(), frame, verdict("seated_spinal_twist"))


def test_gauges_that_do_not_fit_are_left_out_not_drawn_over_the_cue(bridge):
    v = verdict(measures=tuple(mv(n, 100, None, Reliability.LOW) for n in ("hip_left_deg", "hip_right_deg",
                                                                          "knee_left_deg", "knee_right_deg")))

    def markers(text_scale: float) -> int:
        style = OverlayStyle(presentation=True, unknown_rgb=(255, 0, 255), text_scale=text_scale)
        ov = Overlay(bridge, style)
        out = ov.annotate(blank(), PoseFrame(0.0, 0, Pose.empty((W, H))), v)
        lay = ov.layout(W, H)
        x0, _, x1, _ = lay.status_panel
        assert (out[lay.cue[1] - lay.u_px // 2:lay.cue[1], x0:x1] == BG).all()  # the panel ends above the cue
        magenta = np.all(out[:, x0:x1] == (255, 0, 255), axis=2).astype(np.uint8)
        _, _, stats, _ = cv2.connectedComponentsWithStats(magenta)
        w, h, area = stats[1:, 2], stats[1:, 3], stats[1:, 4]
        return int(((area == w * h) & (h > lay.u_px)).sum())  # solid upright bars: value markers, not digits

    assert markers(1.0) == 4
    assert 1 <= markers(1.6) < 4  # big text (live "+" key): fewer gauges, the rest counted as "+N more"


def test_opencv4_ascii_fallback_keeps_the_degree_sign(monkeypatch):
    from coach.render import overlay_widgets as ow

    monkeypatch.setattr(ow, "NATIVE_UNICODE", False)
    ow.text_width.cache_clear()
    try:
        assert ow.printable("Hands on the neck — let go: 52° > 45°") == "Hands on the neck - let go: 52° > 45°"
        assert ow.printable("naïve") == "na?ve"
        img = np.zeros((60, 200, 3), np.uint8)
        end = ow.put_text(img, "52°", (5, 40), 20, (255, 255, 255))
        digits_end = 5 + ow.text_width("52", 20)
        assert end == 5 + ow.text_width("52°", 20) and end > digits_end
        assert img[15:30, digits_end:end].any()  # the ring drawn for "°", up by the capitals' top
    finally:
        ow.text_width.cache_clear()


@pytest.mark.parametrize("w, h", [(1280, 720), (640, 480), (720, 1280)], ids=lambda v: str(v))
def test_the_neck_tilt_side_is_shown_as_the_shoulder_the_ear_moves_toward(w, h):
    """The truth names a neck tilt by the shoulder the ear moves toward; the person reads the same
    words, wrapped onto a second line rather than cut off."""
    from coach.render.overlay_widgets import text_width, wrap

    neck = get_exercise("neck_side_bend")
    ov = Overlay(neck)
    v = verdict("neck_side_bend", phase="tilt", side="right", reps_done={"left": 0, "right": 0})
    assert ov._subtitle(v) == "Tilt - head tilted toward your right shoulder"
    lay = ov.layout(w, h)
    x0, _, x1, _ = lay.status_panel
    width = x1 - x0 - 2 * lay.u_px
    lines = wrap(ov._subtitle(v), width, lay.u_px * 0.75, max_lines=2)
    assert " ".join(lines) == ov._subtitle(v) and all(text_width(x, lay.u_px * 0.75) <= width for x in lines)
    assert ov.annotate(blank(w, h), PoseFrame(1.0, 10, pose_at(STANDING)), v).shape == (h, w, 3)


# --- readable from 3 m: contrast of every text against what is behind it, from the rendered image ------

def _luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB colours (..., 3) in 0-255."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a, b) -> float:
    la, lb = float(_luminance(a)), float(_luminance(b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def test_contrast_formula_matches_the_wcag_examples():
    assert contrast((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)   # the AA grey on white


def _every_status(ex_id: str) -> list[FrameVerdict]:
    """A verdict per status colour and word the overlay can show: each hold state, rest, stop, done,
    not seen, a caution and a stop banner, a measure in / out / unknown / low reliability, can't judge."""
    caution = Alert("neck_lateral", Severity.CAUTION, "Ease the side tilt of your head: 20°, past 15°", 20, 15, 0.0)
    stop = Alert("bouncing", Severity.STOP, "Don't bounce at the end of the stretch", 4, 4, 0.0)
    measures = (mv("hip_left_deg", 150, True), mv("hip_right_deg", 120, False, hint="lift your hips higher"),
                mv("knee_left_deg", math.nan, None), mv("knee_right_deg", 90, True, rel=Reliability.LOW))
    out = [verdict(ex_id, state=state, holding=state == HoldState.HOLDING, measures=measures) for state in HoldState]
    out += [verdict(ex_id, status=Status.RESTING, rest_left_s=7.0), verdict(ex_id, status=Status.STOPPED, advice="Stop."),
            verdict(ex_id, status=Status.COMPLETED), verdict(ex_id, pose_seen=False),
            verdict(ex_id, alerts=(caution,)), verdict(ex_id, alerts=(stop, caution), state=HoldState.PAUSED),
            verdict(ex_id, state=HoldState.OUT, cant_judge=("only an estimate: turn side-on",))]
    return out


def _text_contrast(img: np.ndarray, text) -> float:
    """The text's colour against what is behind it: the worst of the colours that make up at least 1%
    of its box's background - the pixels far from the text colour (at least 3/4 of the farthest one:
    the strokes' anti-aliased edges, blends of the two, are left out)."""
    x0, y0, x1, y1 = text.box
    h, w = img.shape[:2]
    patch = img[max(0, y0):min(h, y1), max(0, x0):min(w, x1)].reshape(-1, 3).astype(np.float64)
    far = np.abs(patch - np.array(text.rgb)).max(axis=1)
    assert (far <= 40).any(), f"{text.text!r} is not drawn in {text.rgb} where it was reported"
    colours, counts = np.unique(patch[far >= 0.75 * far.max()], axis=0, return_counts=True)
    return min(contrast(text.rgb, c) for c, n in zip(colours, counts) if n >= 0.01 * counts.sum())


LIVE_WINDOW_PX = (1152, 720)   # the default live window on a 1280x800 screen (coach.render.display.window_size)


def _styles():
    from coach.render.overlay_widgets import LIVE_MIN_TEXT_OF_HEIGHT, LIVE_TEXT_UNIT

    live = OverlayStyle(text_unit=LIVE_TEXT_UNIT, min_text_of_height=LIVE_MIN_TEXT_OF_HEIGHT)   # as LiveSession's
    return {"analyze": (OverlayStyle(), None), "live": (live, LIVE_WINDOW_PX)}


@pytest.mark.parametrize("mode", ["analyze", "live"])
@pytest.mark.parametrize("background", [0, 255], ids=["black frame", "white frame"])
def test_every_text_reads_at_aa_contrast_in_every_status_colour(bridge, frame, background, mode):
    from coach.render.overlay_widgets import recording

    style, canvas = _styles()[mode]
    ov = Overlay(bridge, style)
    worst = []
    for v in _every_status("bridge"):
        with recording() as drawn:
            img = ov.annotate(np.full((H, W, 3), background, np.uint8), frame, v, canvas_px=canvas)
        texts = [d for d in drawn if d.kind == "text"]
        assert texts
        worst += [(round(_text_contrast(img, t), 2), t.text, t.rgb) for t in texts]
    worst.sort()
    assert worst[0][0] >= 4.5, worst[:5]


@pytest.mark.parametrize("window_px", [LIVE_WINDOW_PX, (1280, 720), (640, 480), (720, 1280), (720, 800)])
def test_live_text_is_at_least_a_thirtieth_of_the_window_height_and_inside_it(bridge, frame, window_px):
    """Every text of the live overlay and its screens (status line, prompt), in every status: capitals
    at least 1/30 of the window's height, and every text and panel inside the window - a portrait
    window too (720x1280, 720x800: the panels stack; the shorter side alone made its text 1/53 of the
    height)."""
    from coach.render.display import draw_prompt, draw_status
    from coach.render.overlay_widgets import recording

    style, _ = _styles()["live"]
    ov = Overlay(bridge, style)
    w, h = window_px
    for v in _every_status("bridge"):
        with recording() as drawn:
            img = ov.annotate(blank(720, 1280), frame, v, canvas_px=window_px)   # a portrait source
            lay = ov.layout(w, h)
            draw_status(img, "lite | 30 fps 33 ms | space pause | n/p exercise | r restart | q quit", lay.u_px, style,
                        lay.cue[1])
            draw_prompt(img, "Bridge: get ready", "Come closer to the camera", lay.u_px, style, lay.cue[1] - 2 * lay.u_px)
        assert img.shape[:2] == (h, w)
        # side by side, or stacked in a portrait window: the panels never cover one another
        sx0, sy0, sx1, sy1 = lay.status_panel
        hx0, hy0, hx1, hy1 = lay.hold_panel
        assert sx1 <= hx0 or sy1 <= hy0, (lay.status_panel, lay.hold_panel)
        assert hy1 <= lay.cue[1] and lay.banner[3] <= min(sy0, hy0)
        status = [d for d in drawn if d.kind == "panel" and d.box[:2] == (sx0, sy0)]
        assert status and all(d.box[3] <= sy1 for d in status), ([d.box for d in status], lay.status_panel)
        for d in drawn:
            assert d.kind != "text" or d.height_px >= h / 30 - 0.01, (d.text, d.height_px, h / 30)
            if d.kind == "text" or d.alpha >= 0.5:
                x0, y0, x1, y1 = d.box
                assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (d.kind, d.text, d.box)
