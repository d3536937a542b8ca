"""Occlusion said aloud: which body part the exercise needs that the camera cannot see (or sees
implausibly), and what to do about it - and which measures must not be trusted because of it.

Per frame `SightCheck.step(pose, measures, phase_index, side)` returns the measures with those read
from implausible landmarks set to NaN ("can't judge", never a guess) and the sentences the verdict
carries (`FrameVerdict.cant_judge`): "I can't see your far knee - put the camera on your other side".
A landmark is a problem when a measure of the current phase needs it (`coach.measure.measures.NEEDS`)
and it is
- hidden: MediaPipe's visibility or presence below 0.5 (the measure is already NaN); out of the
  picture when its image point lies outside the frame;
- collapsed: both legs read as one line - the two knees and the two ankles each closer together
  than a leg can be to the other (`LEG_COLLAPSE_M`). MediaPipe then draws the hidden leg over the seen
  one, so the far leg's landmarks are a copy, not a reading;
- a bone length far from the person's own (`BONE_RATIO_MAX`), their own lengths learned from good
  frames (both ends seen at `MARGINAL_VISIBILITY`, legs apart).
Where the same joint of the other side is banded too (a bridge's two hips) and reads well, a
problem on one side says nothing: from the side the near hip does the job (`unseen_measures`' rule).
A problem is said only after it has lasted `DWELL_S`, so a landmark lost for a frame is not news.
Stateful (the lengths, the dwell), owned by the engine; nothing here reads a clock.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

import numpy as np

from coach.engine.envelope import resolve_key
from coach.engine.exercises import Exercise
from coach.measure.conventions import MEASURE_NAMES, SPEC, Reliability, View
from coach.measure.measures import MARGINAL_VISIBILITY, NEEDS, Measures
from coach.pose.core import Pose
from coach.pose.landmarks import Landmark as L

# Two legs cannot be nearer each other than their own thickness: knee joint centres sit at least a
# knee's width apart (adult knees are about 10 cm across), ankle centres at least an ankle's (about
# 7 cm) - even pressed together. Half of the smaller, 3.5 cm, for both pairs at once is closer than
# any real pair of legs; MediaPipe's world landmarks jitter about 1-2 cm on still holds.
LEG_COLLAPSE_M = 0.035
# A bone's world length is the person's own, whatever the pose. On the frames where both ends are
# seen well, the shared recordings keep every bone within 0.68-1.32 of its median (1st-99th
# percentile; the oblique bridge, whose world landmarks fail, aside): 1.5 times off either way is
# past that noise, so it is a landmark put in the wrong place.
BONE_RATIO_MAX = 1.5
LEARN_FRAMES = 15        # good readings of a bone before its own length is trusted (0.5 s at 30 fps)
KEEP_FRAMES = 300        # the own length is the median of the last this many good readings (10 s)
DWELL_S = 1.0            # as the missing-landmark alert: a problem this long is worth saying
FAR_DEPTH_M = 0.05       # one side this much farther from the camera than the other = the far side

BONES: dict[str, tuple[L, L]] = {
    "left thigh": (L.LEFT_HIP, L.LEFT_KNEE), "right thigh": (L.RIGHT_HIP, L.RIGHT_KNEE),
    "left shin": (L.LEFT_KNEE, L.LEFT_ANKLE), "right shin": (L.RIGHT_KNEE, L.RIGHT_ANKLE),
    "left upper arm": (L.LEFT_SHOULDER, L.LEFT_ELBOW), "right upper arm": (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    "left forearm": (L.LEFT_ELBOW, L.LEFT_WRIST), "right forearm": (L.RIGHT_ELBOW, L.RIGHT_WRIST),
}
LEG = {"left": (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), "right": (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)}
_PART_WORDS = {"SHOULDER": "shoulder", "ELBOW": "elbow", "WRIST": "wrist", "HIP": "hip", "KNEE": "knee",
               "ANKLE": "ankle", "EAR": "ear", "PINKY": "hand", "INDEX": "hand", "THUMB": "hand"}
_TWIN = {name: other for name, spec in SPEC.items() if spec.paired
         for other, o in SPEC.items() if o.base == spec.base and o.paired and o.paired != spec.paired}
_INDEX = {name: i for i, name in enumerate(MEASURE_NAMES)}


def part_words(landmark: L) -> tuple[str | None, str]:
    """(side, part) of a landmark in words: LEFT_KNEE -> ("left", "knee"); the nose -> (None, "face")."""
    side, _, rest = landmark.name.partition("_")
    if side not in ("LEFT", "RIGHT"):
        return None, "face"
    return side.lower(), _PART_WORDS.get(rest, rest.lower().replace("_", " "))


def far_side(pose: Pose, view: View) -> str | None:
    """The side turned away from the camera in a side or half-side view (world z grows away from the
    camera), from the shoulders and hips together; None facing the camera or when it can't be told."""
    if view not in (View.SIDE, View.OBLIQUE):
        return None
    z = pose.world[:, 2]
    left = (z[L.LEFT_SHOULDER] + z[L.LEFT_HIP]) / 2
    right = (z[L.RIGHT_SHOULDER] + z[L.RIGHT_HIP]) / 2
    if not math.isfinite(left - right) or abs(left - right) < FAR_DEPTH_M:
        return None
    return "left" if left > right else "right"


def legs_collapsed(pose: Pose) -> bool:
    """Both legs read as one line (see `LEG_COLLAPSE_M`)."""
    w = pose.world
    knees = np.linalg.norm(w[L.LEFT_KNEE] - w[L.RIGHT_KNEE])
    ankles = np.linalg.norm(w[L.LEFT_ANKLE] - w[L.RIGHT_ANKLE])
    return bool(knees < LEG_COLLAPSE_M and ankles < LEG_COLLAPSE_M)


def sentence(landmark: L, why: str, far: str | None) -> str:
    """What the person is told about one landmark: which part, and the fix."""
    side, part = part_words(landmark)
    where = "far" if side is not None and side == far else side
    name = f"your {where} {part}" if where else f"your {part}"
    if why == "out of frame":
        return f"I can't see {name} - move so it is in the picture"
    if why == "collapsed":
        return f"I can't see {name}: both legs look like one - put the camera on your other side"
    clearly = "" if why == "hidden" else " clearly"
    fix = "put the camera on your other side" if where == "far" else "make sure nothing hides it from the camera"
    return f"I can't see {name}{clearly} - {fix}"


class _OwnLength:
    """The median of a bone's last KEEP_FRAMES good lengths, kept sorted as they come and go (the
    same number as np.median of them, without sorting every frame)."""

    def __init__(self):
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._recent)

    def add(self, length: float) -> None:
        if len(self._recent) == KEEP_FRAMES:
            del self._sorted[bisect.bisect_left(self._sorted, self._recent.popleft())]
        self._recent.append(length)
        bisect.insort(self._sorted, length)

    def median(self) -> float:
        n, s = len(self._sorted), self._sorted
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class SightCheck:
    """Which needed landmarks are hidden or implausible now, for one exercise (see the module doc)."""

    def __init__(self, exercise: Exercise):
        self.exercise = exercise
        self._lengths = {bone: _OwnLength() for bone in BONES}
        self._since: dict[tuple[L, str], float] = {}

    def needed(self, phase_index: int, side: str | None) -> dict[str, bool]:
        """The measures of the phase's bands (both sides of a {side} key while the side is unknown),
        each with whether its band names a fixed side (a bridge's hip_flexion_left_deg: True) rather
        than a role ({side} / {other}: the two legs do different things, neither stands in)."""
        out: dict[str, bool] = {}
        for key in self.exercise.phases[phase_index].envelope:
            for s in ((side,) if side in ("left", "right") or "{" not in key else ("left", "right")):
                name = resolve_key(key, s)
                if name is not None:
                    out[name] = out.get(name, True) and "{" not in key
        return out

    def _implausible(self, pose: Pose) -> dict[L, str]:
        """Landmarks read in the wrong place: the far leg of collapsed legs, and a bone's far end when
        its length is off the person's own; the person's own lengths learn from the good frames."""
        bad: dict[L, str] = {}
        collapsed = legs_collapsed(pose)
        score = np.minimum(pose.visibility, pose.presence)
        if collapsed:
            weaker = min(("left", "right"), key=lambda s: float(score[list(LEG[s][1:])].mean()))
            bad.update(dict.fromkeys(LEG[weaker][1:], "collapsed"))
        world = pose.world.tolist()
        for bone, (a, b) in BONES.items():
            length = math.dist(world[a], world[b])
            if not math.isfinite(length) or length <= 0:
                continue
            known = self._lengths[bone]
            if len(known) >= LEARN_FRAMES:
                own = known.median()
                if not own / BONE_RATIO_MAX <= length <= own * BONE_RATIO_MAX:
                    bad.setdefault(b, "implausible")
                    continue
            if not collapsed and min(score[a], score[b]) >= MARGINAL_VISIBILITY:
                known.add(length)
        return bad

    def step(self, pose: Pose, measures: Measures, t_s: float, phase_index: int,
             side: str | None) -> tuple[Measures, tuple[str, ...]]:
        """(the measures with those read from implausible landmarks NaN, the sentences to say)."""
        if pose.is_empty:
            self._since.clear()
            return measures, ()
        bad = self._implausible(pose)
        values = measures.values
        if bad:
            wrong = [i for i, name in enumerate(MEASURE_NAMES) if any(lm in bad for lm in NEEDS[name])]
            values = values.copy()
            values[wrong] = np.nan
            measures = Measures(values, measures.reliability, measures.view, measures.posture,
                                measures.others_unjudged, measures.face_on, measures.limb_plane_deg,
                                measures.marginal)
        seen = pose.seen_mask()
        inside_image = ((pose.xy >= 0) & (pose.xy <= 1)).all(axis=1)
        needed = self.needed(phase_index, side)
        problems: dict[L, str] = {}
        for name, fixed_side in needed.items():
            twin = _TWIN.get(name)
            if fixed_side and needed.get(twin) and measures.reliability_of(twin) != Reliability.NONE \
                    and math.isfinite(values[_INDEX[twin]]):
                continue   # the same joint of the other side, banded alike, does the job
            for lm in NEEDS[name]:
                if lm in bad:
                    problems.setdefault(lm, bad[lm])
                elif not seen[lm]:
                    problems.setdefault(lm, "hidden" if inside_image[lm] else "out of frame")
        for key in [k for k in self._since if k not in problems.items()]:
            del self._since[key]
        far = far_side(pose, measures.view)
        words = []
        for lm, why in problems.items():
            since = self._since.setdefault((lm, why), t_s)
            if t_s - since >= DWELL_S:
                words.append(sentence(lm, why, far))
        return measures, tuple(dict.fromkeys(words))
