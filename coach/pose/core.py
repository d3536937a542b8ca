"""Typed records for what flows between stages: `Pose` and `PoseFrame` (landmarks).

A `Pose` is a frozen dataclass of read-only numpy arrays, validated on creation. "Nobody found"
is `Pose.empty()` (all coordinates NaN, visibility 0), never `None`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach.pose.landmarks import NUM_LANDMARKS, Landmark

MIN_VISIBILITY = 0.5  # a landmark below this visibility (or presence) is treated as not seen


def _checked(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.array(value, dtype=np.float64)  # a copy: the record owns its data
    if arr.shape != shape:
        raise ValueError(f"Pose.{name}: expected shape {shape}, got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Pose:
    """One person's 33 landmarks.

    xy          (33, 2) image x, y normalised to [0, 1] by width / height (may fall slightly outside)
    z           (33,)   MediaPipe relative depth (x's scale; hips ~0; smaller = closer to the camera)
    visibility  (33,)   in [0, 1]
    presence    (33,)   in [0, 1]
    world       (33, 3) metres, origin between the hips, y pointing down (MediaPipe world landmarks)
    image_size  (width_px, height_px) of the frame the pose was found in
    """

    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world: np.ndarray
    image_size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        n = NUM_LANDMARKS
        for name, shape in (("xy", (n, 2)), ("z", (n,)), ("visibility", (n,)), ("presence", (n,)), ("world", (n, 3))):
            object.__setattr__(self, name, _checked(name, getattr(self, name), shape))
        w, h = (int(v) for v in self.image_size)
        if w < 0 or h < 0:
            raise ValueError(f"Pose.image_size: expected non-negative (width, height), got {self.image_size}")
        object.__setattr__(self, "image_size", (w, h))

    @classmethod
    def empty(cls, image_size: tuple[int, int] = (0, 0)) -> Pose:
        nan = np.full(NUM_LANDMARKS, np.nan)
        zeros = np.zeros(NUM_LANDMARKS)
        return cls(np.full((NUM_LANDMARKS, 2), np.nan), nan, zeros, zeros,
                   np.full((NUM_LANDMARKS, 3), np.nan), image_size)

    @classmethod
    def from_arrays(cls, image: np.ndarray, world: np.ndarray, image_size: tuple[int, int]) -> Pose:
        """From the recording layout: `image` (33, 5) = x, y, z, visibility, presence; `world` (33, 3)."""
        image = np.asarray(image, dtype=np.float64)
        if image.shape != (NUM_LANDMARKS, 5):
            raise ValueError(f"Pose image array: expected shape ({NUM_LANDMARKS}, 5), got {image.shape}")
        return cls(image[:, :2], image[:, 2], image[:, 3], image[:, 4], world, image_size)

    def as_image_array(self) -> np.ndarray:
        """(33, 5) x, y, z, visibility, presence — the recording layout."""
        return np.column_stack([self.xy, self.z, self.visibility, self.presence])

    @property
    def is_empty(self) -> bool:
        return not np.isfinite(self.xy).any()

    @property
    def pixel_xy(self) -> np.ndarray:
        """(33, 2) image coordinates in pixels."""
        return self.xy * np.array(self.image_size, dtype=np.float64)

    def seen(self, landmark: Landmark | int, min_visibility: float = MIN_VISIBILITY) -> bool:
        """True when the landmark is finite and both visibility and presence reach `min_visibility`."""
        i = int(landmark)
        return bool(np.isfinite(self.xy[i]).all() and self.visibility[i] >= min_visibility
                    and self.presence[i] >= min_visibility)

    def seen_mask(self, min_visibility: float = MIN_VISIBILITY) -> np.ndarray:
        """(33,) bool: which landmarks are seen."""
        return (np.isfinite(self.xy).all(axis=1) & (self.visibility >= min_visibility)
                & (self.presence >= min_visibility))


@dataclass(frozen=True, eq=False)
class Other(Pose):
    """Someone else in view: their last seen landmarks and `age_s`, how long ago those were seen
    (0: in this frame). A `Pose` itself, so whatever draws or measures a pose takes it as one; the
    age says whether their hands can still be judged (`coach.measure.measures.hands_at_head_sw`)."""

    age_s: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        age = float(self.age_s)
        if not (np.isfinite(age) and age >= 0.0):
            raise ValueError(f"Other.age_s: expected a finite age of 0 s or more, got {self.age_s}")
        object.__setattr__(self, "age_s", age)

    @classmethod
    def of(cls, pose: Pose, age_s: float = 0.0) -> Other:
        """`pose` seen `age_s` seconds ago."""
        return cls(pose.xy, pose.z, pose.visibility, pose.presence, pose.world, pose.image_size, age_s)


@dataclass(frozen=True, eq=False)
class PoseFrame:
    """The poses found in one frame: `pose` is the person exercising, `others` anyone else in view,
    each an `Other` with its age (a plain `Pose` given here was seen in this frame: age 0)."""

    t_s: float
    index: int
    pose: Pose
    others: tuple[Other, ...] = field(default=())

    def __post_init__(self) -> None:
        if not np.isfinite(self.t_s):
            raise ValueError(f"PoseFrame.t_s: expected a finite time in seconds, got {self.t_s}")
        object.__setattr__(self, "t_s", float(self.t_s))
        others = []
        for other in self.others:
            if not isinstance(other, Pose):
                raise ValueError(f"PoseFrame.others: expected poses, got {type(other).__name__}")
            others.append(other if isinstance(other, Other) else Other.of(other))
        object.__setattr__(self, "others", tuple(others))
