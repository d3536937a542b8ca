"""Which pose is the person exercising, and who else is in view. Pure: no MediaPipe.

`PrimaryTracker` chooses among the poses of one frame (a photo in IMAGE mode, a recording made
looking for several people): MediaPipe returns them in no guaranteed order. The first time someone
is seen, the largest body (box of its landmarks) is the person exercising; after that, the pose
whose torso centre is nearest the previous one is kept. Everyone else is returned as `others`.

`PeopleTracker` serves a video or camera, where the exerciser is tracked with one pose and a
partner watch looks for everyone a few times a second (`coach.pose.detector.PeopleDetector`): it
checks each tracked pose against the exerciser's identity (a jump onto someone else is refused),
and keeps the others with a hit counter, an age, an expiry and a scenery test (see the section's
comment below for every number and its reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach.pose.core import Other, Pose
from coach.pose.landmarks import TORSO


def torso_centre(pose: Pose) -> np.ndarray:
    """Mean normalised xy of shoulders and hips (NaN when none is finite)."""
    pts = pose.xy[TORSO]
    pts = pts[np.isfinite(pts).all(axis=1)]
    return pts.mean(axis=0) if len(pts) else np.full(2, np.nan)


def body_size(pose: Pose) -> float:
    """Area of the bounding box of all finite landmarks, in normalised units (0 for an empty pose)."""
    pts = pose.xy[np.isfinite(pose.xy).all(axis=1)]
    if len(pts) < 2:
        return 0.0
    span = pts.max(axis=0) - pts.min(axis=0)
    return float(span[0] * span[1])


class PrimaryTracker:
    """Remembers where the person exercising was; `choose(poses)` -> (primary or None, others)."""

    def __init__(self, max_jump: float = 0.25):
        self.max_jump = max_jump  # normalised image distance beyond which the track is re-chosen
        self._last: np.ndarray | None = None

    def choose(self, poses: list[Pose]) -> tuple[Pose | None, tuple[Pose, ...]]:
        poses = [p for p in poses if not p.is_empty]
        if not poses:
            return None, ()
        centres = [torso_centre(p) for p in poses]
        best = 0 if len(poses) == 1 else None   # the one pose is the primary, however far it moved
        if best is None and self._last is not None:
            dist = [float(np.linalg.norm(c - self._last)) if np.isfinite(c).all() else np.inf for c in centres]
            i = int(np.argmin(dist))
            if dist[i] <= self.max_jump:
                best = i
        if best is None:
            best = int(np.argmax([body_size(p) for p in poses]))
        if np.isfinite(centres[best]).all():
            self._last = centres[best]
        return poses[best], tuple(p for i, p in enumerate(poses) if i != best)


# --- one tracked person, others watched: identity, others with age, scenery --------------------
#
# The person exercising is tracked by MediaPipe with one pose (VIDEO mode); a second, slower
# detector (the partner watch, `coach.pose.detector.PartnerWatch`) looks for several people a few
# times a second. `PeopleTracker` holds what is known about each: the exerciser's identity (where
# they are, how big, their body's proportions), checked on every tracked pose, and the others, with
# a hit counter, an age and an expiry. Everything is judged in the exerciser's own torso lengths, so
# the numbers hold at any distance from the camera. Pure: no MediaPipe, no clock but `t_s`.

# Identity. A tracking jump to another person moves the whole skeleton in one frame by about a body's
# width (shoulder width is ~0.8 torso lengths) or more; no stretch moves the trunk's centre half a
# torso length (~25 cm) in one frame at 30 fps (7.5 m/s). Beyond this allowance a pose that sits where
# a known other person is, is a jump - however long the exerciser was unseen: while the watch still
# sees that other person there, "the exerciser walked over to exactly where someone else stands" and
# "the tracker found the other person" look the same, and coaching the wrong body is the unsafe
# reading (an allowance growing with the time unseen let a partner who stayed become "you" 1.6 s
# after the exerciser left). A pose nobody else is known at is never a jump (see `consistent`).
MAX_STEP_TORSOS = 0.5
# The torso's image length changes with posture (lying down seen from the side keeps it; bending
# toward the camera shortens it), but not by a factor 1.6 from one frame to the next.
MAX_SIZE_RATIO = 1.6
# World-landmark segment lengths (shoulders, hips, upper arms, forearms, thighs, shins; metres) are
# person-specific, but MediaPipe's are noisy: one tracked person's mean relative difference from their
# own running average has a median of 0.1-4% on the seven shared tracked recordings (full model), and
# reaches 0.25 (bridge: limbs foreshortened toward the camera). 0.4 stays above that; it is a weak cue
# (MediaPipe's world model pulls bodies toward one size), so it only decides next to a known other.
MAX_PROPORTION_CHANGE = 0.4
PROPORTION_EMA = 0.1   # the exerciser's proportions are a running average over ~10 frames
# A watch candidate whose torso centre lies within this many of the exerciser's torso lengths of the
# exerciser's tracked torso centre is the exerciser, seen by the watch (never a partner): the two
# detectors put the same body's torso centre 0.023 torso lengths apart (median; max 0.026 over 30
# frames of the two-person test video, full model), and a partner's torso is at least a shoulder
# width (~0.8 torso lengths) away even when they stand behind the exerciser.
SAME_PERSON_TORSOS = 0.35
# Another person seen again: their torso centre within this many of their torso lengths of where
# they were last (a partner walks ~1 m/s; the watch looks every 0.25 s: 25 cm, half a torso).
OTHER_MATCH_TORSOS = 1.0
# Someone else counts once seen in this many watch looks (at 4 Hz: 0.25 s apart): a single-look
# false detection (MediaPipe finds a body in a coat on a chair now and then) never counts.
OTHER_MIN_HITS = 2
# Someone else not seen for this long has left (8 watch looks in a row at 4 Hz): until then they are
# still present, with stale landmarks.
OTHER_EXPIRY_S = 2.0
# A figure whose landmarks all stay within this many of its torso lengths for `SCENERY_S` is scenery
# (a poster, a television frozen on a person). Measured: the watch's landmarks of a still photo in a
# compressed video stay within 0.037 torso lengths of the first look (max over 30 looks; median
# 0.021); 0.08 (~4 cm) is twice that. A living person moves their head or a hand more than 4 cm
# within 10 s; one who does not is taken for scenery until they do - never while their hands are
# near the exerciser's head (below), the one place where someone else's stillness matters.
SCENERY_MOTION_TORSOS = 0.08
SCENERY_S = 10.0
# ...unless its hands are near the exerciser's head (within this many of the exerciser's torso
# lengths of the nose or an ear): a poster cannot reach anyone, so a still figure there is a person.
SCENERY_REACH_TORSOS = 0.5

_SEGMENTS = [(11, 12), (23, 24), (11, 13), (12, 14), (13, 15), (14, 16), (23, 25), (24, 26), (25, 27), (26, 28)]
_HEAD_POINTS = [0, 7, 8]
_HAND_POINTS = [15, 16, 17, 18, 19, 20, 21, 22]


def _px(pose: Pose) -> np.ndarray:
    """Landmarks in pixels (normalised units when the image size is unknown), NaN where not seen."""
    w, h = pose.image_size
    pts = pose.xy * (np.array([w, h], dtype=np.float64) if w > 0 and h > 0 else 1.0)
    return np.where(pose.seen_mask()[:, None], pts, np.nan)


def torso_px(pose: Pose) -> tuple[np.ndarray, float]:
    """(centre, length) of the torso in pixels: mid-shoulder to mid-hip; NaN when not all four seen."""
    pts = _px(pose)
    shoulders, hips = pts[[11, 12]].mean(axis=0), pts[[23, 24]].mean(axis=0)
    return (shoulders + hips) / 2.0, float(np.linalg.norm(shoulders - hips))


def proportions_m(pose: Pose) -> np.ndarray:
    """World segment lengths (metres) of `_SEGMENTS`; NaN where an end is not seen."""
    seen = pose.seen_mask()
    a, b = np.array(_SEGMENTS).T
    lengths = np.linalg.norm(pose.world[a] - pose.world[b], axis=1)
    return np.where(seen[a] & seen[b], lengths, np.nan)


def box_of(pose: Pose) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1), normalised, of the seen landmarks; None when fewer than two are seen."""
    pts = pose.xy[pose.seen_mask()]
    if len(pts) < 2:
        return None
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


@dataclass
class _Person:
    """What is known of one person: the last pose and torso, when it was seen, and the motion record."""

    pose: Pose
    seen_s: float
    centre: np.ndarray
    length: float
    hits: int = 1
    first_s: float = 0.0
    still_since_s: float = 0.0
    anchor: np.ndarray | None = None   # landmarks (px) at the start of the current still stretch


class PeopleTracker:
    """The exerciser's identity and everyone else in view (see the section's comment).

        check = tracker.primary(t_s, pose)      # "ok" | "unseen" | "jumped" for the tracked pose
        tracker.watch(t_s, candidates)          # what the partner watch saw in the frame at t_s
        tracker.others(t_s)                     # -> (Other, ...) present now, with their age
    """

    def __init__(self):
        self.exerciser: _Person | None = None
        self.proportions: np.ndarray | None = None
        self._others: list[_Person] = []

    # --- the person exercising -------------------------------------------------------------------

    def consistent(self, t_s: float, pose: Pose) -> bool:
        """False when `pose` is someone else: it sits where a known other person is (`like_other`) and
        breaks the exerciser's continuity - too far from where they were (whatever the time since),
        a different size, or different proportions. A pose nobody else is known at is the exerciser,
        however it moved (a camera cut, a quick change of position): only evidence of another person
        makes a jump, so a lone exerciser is never lost to the check. Anyone, before the exerciser is known."""
        ex = self.exerciser
        if ex is None:
            return True
        centre, length = torso_px(pose)
        if not (np.isfinite(centre).all() and length > 0) or not self.like_other(pose):
            return True
        if np.linalg.norm(centre - ex.centre) > MAX_STEP_TORSOS * ex.length:
            return False
        if not 1.0 / MAX_SIZE_RATIO <= length / ex.length <= MAX_SIZE_RATIO:
            return False
        # Next to the exerciser (a partner leaning over a lying patient overlaps them), proportions decide;
        # alone they are too noisy (the lite model's world lengths swing by 0.4-0.8 on bridge__01 while
        # the person stays put), which is why only a known other's presence brings them in.
        return self._proportion_change(pose) <= MAX_PROPORTION_CHANGE

    def _proportion_change(self, pose: Pose) -> float:
        if self.proportions is None:
            return 0.0
        now, ref = proportions_m(pose), self.proportions
        ok = np.isfinite(now) & np.isfinite(ref) & (ref > 0)
        return float(np.mean(np.abs(now[ok] - ref[ok]) / ref[ok])) if ok.sum() >= 3 else 0.0

    def like_other(self, pose: Pose) -> bool:
        """True when `pose` sits where someone else was last seen (a tracking jump onto them)."""
        centre, _ = torso_px(pose)
        return any(np.isfinite(centre).all() and np.linalg.norm(centre - o.centre) <= OTHER_MATCH_TORSOS * o.length
                   for o in self._others if o.hits >= OTHER_MIN_HITS)

    def primary(self, t_s: float, pose: Pose | None) -> str:
        """Judge the tracked pose: "ok" (the exerciser: remembered), "unseen" (nobody tracked) or
        "jumped" (another body: not the exerciser's angles)."""
        if pose is None or pose.is_empty:
            return "unseen"
        if not self.consistent(t_s, pose):
            return "jumped"
        self.remember(t_s, pose)
        return "ok"

    def remember(self, t_s: float, pose: Pose) -> None:
        centre, length = torso_px(pose)
        if not (np.isfinite(centre).all() and length > 0):
            return
        if self.exerciser is None:
            self.exerciser = _Person(pose, t_s, centre, length, first_s=t_s)
        else:
            self.exerciser.pose, self.exerciser.seen_s = pose, t_s
            self.exerciser.centre, self.exerciser.length = centre, length
        now = proportions_m(pose)
        if self.proportions is None:
            self.proportions = now
        else:
            fill = np.isfinite(now) & ~np.isfinite(self.proportions)
            both = np.isfinite(now) & np.isfinite(self.proportions)
            self.proportions = np.where(fill, now, self.proportions)
            self.proportions[both] += PROPORTION_EMA * (now[both] - self.proportions[both])

    def exerciser_box(self, margin: float) -> tuple[float, float, float, float] | None:
        """The exerciser's last box grown by `margin` times its size on each side (normalised)."""
        box = None if self.exerciser is None else box_of(self.exerciser.pose)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        dx, dy = margin * (x1 - x0), margin * (y1 - y0)
        return x0 - dx, y0 - dy, x1 + dx, y1 + dy

    # --- everyone else ---------------------------------------------------------------------------

    def watch(self, t_s: float, candidates: list[Pose], exerciser: Pose | None = None) -> None:
        """What the watch found in the frame at `t_s`: the candidate on the exerciser (`exerciser`,
        the tracked pose of that frame, else the last one remembered) is dropped; the rest are matched
        to the others by nearness, and whoever is new starts with one hit."""
        tracked = exerciser is not None and not exerciser.is_empty
        ref = exerciser if tracked else (self.exerciser.pose if self.exerciser is not None else None)
        ref_centre, ref_length = torso_px(ref) if ref is not None else (np.full(2, np.nan), np.nan)
        if tracked and ref_length > 0:   # whoever was taken for someone else but is the exerciser: forgotten
            self._others = [o for o in self._others
                            if np.linalg.norm(o.centre - ref_centre) > SAME_PERSON_TORSOS * ref_length]
        fresh, on_exerciser = [], False
        for pose in candidates:
            centre, length = torso_px(pose)
            if not (np.isfinite(centre).all() and length > 0):
                continue
            if ref_length > 0 and np.linalg.norm(centre - ref_centre) <= SAME_PERSON_TORSOS * ref_length:
                on_exerciser = True
                continue   # the exerciser, as the watch sees them
            fresh.append((pose, centre, length))
        # Nobody new is taken for someone else unless the watch saw the exerciser where they are tracked:
        # when they are not tracked (they may have moved), or the tracking is off them (across a camera
        # cut MediaPipe's tracking can stay on the place they were), one of the candidates is likely
        # the exerciser, who would then be counted as their own partner. Known others are still updated.
        welcome = (tracked and on_exerciser) or self.exerciser is None
        taken: set[int] = set()
        for pose, centre, length in fresh:
            dist = [np.linalg.norm(centre - o.centre) / o.length if i not in taken else np.inf
                    for i, o in enumerate(self._others)]
            i = int(np.argmin(dist)) if dist else -1
            if i >= 0 and dist[i] <= OTHER_MATCH_TORSOS:
                self._update(self._others[i], t_s, pose, centre, length)
                taken.add(i)
            elif welcome:
                self._others.append(_Person(pose, t_s, centre, length, first_s=t_s, still_since_s=t_s,
                                            anchor=_px(pose)))
                taken.add(len(self._others) - 1)
        self._others = [o for o in self._others if t_s - o.seen_s <= OTHER_EXPIRY_S]

    @staticmethod
    def _update(person: _Person, t_s: float, pose: Pose, centre: np.ndarray, length: float) -> None:
        pts = _px(pose)
        moved = np.abs(pts - person.anchor) if person.anchor is not None else np.full_like(pts, np.inf)
        both = np.isfinite(moved).all(axis=1)
        if not both.any() or moved[both].max() > SCENERY_MOTION_TORSOS * length:
            person.still_since_s, person.anchor = t_s, pts
        person.pose, person.seen_s, person.centre, person.length = pose, t_s, centre, length
        person.hits += 1

    def _reaches_head(self, person: _Person) -> bool:
        ex = self.exerciser
        if ex is None:
            return False
        head, hands = _px(ex.pose)[_HEAD_POINTS], _px(person.pose)[_HAND_POINTS]
        head, hands = head[np.isfinite(head).all(axis=1)], hands[np.isfinite(hands).all(axis=1)]
        if not (len(head) and len(hands)):
            return False
        gaps = np.linalg.norm(hands[:, None, :] - head[None, :, :], axis=2)
        return bool(gaps.min() <= SCENERY_REACH_TORSOS * ex.length)

    def is_scenery(self, person: _Person) -> bool:
        """Never moved for `SCENERY_S` and not reaching the exerciser's head."""
        return person.seen_s - person.still_since_s >= SCENERY_S and not self._reaches_head(person)

    def others(self, t_s: float) -> tuple[Other, ...]:
        """Everyone else present at `t_s` (counted, not expired, not scenery), with their age."""
        return tuple(Other.of(o.pose, max(0.0, t_s - o.seen_s)) for o in self._others
                     if o.hits >= OTHER_MIN_HITS and t_s - o.seen_s <= OTHER_EXPIRY_S and not self.is_scenery(o))

    @property
    def scenery(self) -> tuple[Pose, ...]:
        """The figures taken for scenery (for a test or a debugging overlay)."""
        return tuple(o.pose for o in self._others if o.hits >= OTHER_MIN_HITS and self.is_scenery(o))
