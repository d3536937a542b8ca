"""Metamorphic transforms of landmark recordings: what a different camera, frame rate or model would
have seen of the same movement. Pure functions from a list of `PoseFrame` to a new list (nothing is
changed in place), used by `bench/bench_accuracy.py` and `tests/test_metamorphic.py`.

    mirror(frames)                      the video flipped left-right: the person's sides swap
    resample(frames, fps)               the same movement filmed at another frame rate
    drop_frames(frames, fraction, seed) frames lost at random (a busy machine, a flaky camera)
    jitter(frames, ...)                 a noisier model: per-frame noise plus a constant offset
    roll(frames, angle_deg)             the camera turned about its own axis (not level)

Conventions (../shared/landmarks/FORMAT.md): image x, y are normalised by the frame's width and
height, z is MediaPipe's relative depth in x's scale; world landmarks are metres, origin between the
hips, x right, y down, z away from the camera - camera-aligned, so a roll of the camera turns image
and world landmarks about the same (viewing) axis. Every transform applies to the person exercising
and to everyone else in view (`PoseFrame.others`); an empty pose (nobody found) stays empty.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from coach.pose.core import Pose, PoseFrame
from coach.pose.landmarks import Landmark

Frames = Sequence[PoseFrame]


# --- helpers -------------------------------------------------------------------------------------

def _mirror_order() -> np.ndarray:
    """Index map: new landmark i is old landmark order[i]. Every landmark whose name says LEFT gets
    its RIGHT twin and back (LEFT_WRIST, and MOUTH_LEFT with the side at the end); the rest stay."""
    swap = {"LEFT": "RIGHT", "RIGHT": "LEFT"}
    order = np.arange(len(Landmark))
    for lm in Landmark:
        parts = lm.name.split("_")
        twin = "_".join(swap.get(part, part) for part in parts)
        order[lm] = Landmark[twin]
    return order


MIRROR_ORDER = _mirror_order()


def map_poses(frames: Frames, fn: Callable[[Pose], Pose]) -> list[PoseFrame]:
    """`fn` applied to every pose of every frame (empty poses are passed through untouched)."""
    def one(p: Pose) -> Pose:
        return p if p.is_empty else fn(p)
    return [PoseFrame(f.t_s, f.index, one(f.pose), tuple(one(o) for o in f.others)) for f in frames]


def _pose(p: Pose, *, xy=None, z=None, visibility=None, presence=None, world=None) -> Pose:
    return Pose(p.xy if xy is None else xy, p.z if z is None else z,
                p.visibility if visibility is None else visibility,
                p.presence if presence is None else presence,
                p.world if world is None else world, p.image_size)


def _size(p: Pose) -> np.ndarray:
    w, h = p.image_size
    if w <= 0 or h <= 0:
        raise ValueError("this transform needs the pose's image_size (pixels) to keep the aspect ratio")
    return np.array([w, h], dtype=np.float64)


# --- mirror --------------------------------------------------------------------------------------

def mirror_pose(p: Pose) -> Pose:
    """Image x -> 1 - x and world x -> -x, with every LEFT_ landmark swapped for its RIGHT_ twin: the
    person in a mirrored video is the same person with their sides exchanged. Depth (image z, world z)
    does not change in a mirror."""
    o = MIRROR_ORDER
    xy = p.xy[o].copy()
    xy[:, 0] = 1.0 - xy[:, 0]
    world = p.world[o].copy()
    world[:, 0] = -world[:, 0]
    return Pose(xy, p.z[o], p.visibility[o], p.presence[o], world, p.image_size)


def mirror(frames: Frames) -> list[PoseFrame]:
    return map_poses(frames, mirror_pose)


SIDE_SWAP = {"left": "right", "right": "left"}


def mirror_side(side: str | None) -> str | None:
    """The working side in the mirrored video ("center", "n/a", None unchanged)."""
    return SIDE_SWAP.get(side, side) if isinstance(side, str) else side


# --- frame rate and lost frames ----------------------------------------------------------------------

def _lerp_pose(a: Pose, b: Pose, w: float) -> Pose:
    """`a` moved a fraction `w` of the way to `b` (coordinates; visibility and presence the lower)."""
    mix = lambda u, v: (1.0 - w) * u + w * v  # noqa: E731
    return Pose(mix(a.xy, b.xy), mix(a.z, b.z), np.minimum(a.visibility, b.visibility),
                np.minimum(a.presence, b.presence), mix(a.world, b.world), a.image_size)


def resample(frames: Frames, fps: float, method: str = "hold") -> list[PoseFrame]:
    """The frames a camera running at `fps` would have given: frame k is taken at t0 + k / fps
    (t0 = the first frame's time) and carries that time - the true time of the new frame - and,
    with method "hold", the poses of the nearest source frame at or before it; with "linear" the
    person's pose interpolated between the source frames on either side (when both see them; else
    "hold"; others in view are held). Going down in rate
    this drops frames; going up with "hold" it repeats them, as a camera faster than the detector's
    output would. Indices are renumbered 0, 1, 2 ..."""
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"resample: fps must be > 0, got {fps}")
    if method not in ("hold", "linear"):
        raise ValueError(f"resample: method must be 'hold' or 'linear', got {method!r}")
    if not frames:
        return []
    t = np.array([f.t_s for f in frames])
    t0, step = t[0], 1.0 / fps
    n = int(math.floor((t[-1] - t0) / step + 1e-9)) + 1
    out = []
    for k in range(n):
        tk = t0 + k * step
        i = int(np.searchsorted(t, tk + 1e-6, side="right")) - 1   # last source frame at or before tk
        if abs(t[i] - tk) < 1e-6:   # the same instant (k / fps in floating point): keep the source's time
            tk = float(t[i])
        src = frames[i]
        pose, others = src.pose, src.others
        if method == "linear" and i + 1 < len(frames) and t[i] < tk:
            nxt = frames[i + 1]
            if not pose.is_empty and not nxt.pose.is_empty:
                pose = _lerp_pose(pose, nxt.pose, (tk - t[i]) / (t[i + 1] - t[i]))
        out.append(PoseFrame(tk, k, pose, others))
    return out


def drop_frames(frames: Frames, fraction: float, seed: int) -> list[PoseFrame]:
    """`frames` with round(fraction x n) of them removed at random (numpy's default generator seeded
    with `seed`, so a test sees the same frames every run); the rest keep their times and indices.
    The first frame is always kept, so the recording still starts where it did."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"drop_frames: fraction must be in [0, 1), got {fraction}")
    n = len(frames)
    k = min(round(fraction * n), max(n - 1, 0))
    rng = np.random.default_rng(seed)
    gone = set(int(i) + 1 for i in rng.choice(n - 1, size=k, replace=False)) if k else set()
    return [f for i, f in enumerate(frames) if i not in gone]


# --- noise ---------------------------------------------------------------------------------------

def body_scale_px(p: Pose) -> float:
    """The person's size in pixels: the longer of the shoulder width and the torso (shoulder middle to
    hip middle) in the image. One of the two is always seen full length unless the body points at the
    camera: the shoulder width collapses side-on, the torso does not."""
    px = p.pixel_xy
    L = Landmark
    shoulders = np.linalg.norm(px[L.LEFT_SHOULDER] - px[L.RIGHT_SHOULDER])
    torso = np.linalg.norm((px[L.LEFT_SHOULDER] + px[L.RIGHT_SHOULDER]) / 2 - (px[L.LEFT_HIP] + px[L.RIGHT_HIP]) / 2)
    return float(np.nanmax([shoulders, torso]))


def recording_scale_px(frames: Frames) -> float:
    """The median `body_scale_px` over the frames where someone is seen (NaN when nobody is)."""
    scales = [body_scale_px(f.pose) for f in frames if not f.pose.is_empty]
    scales = [s for s in scales if math.isfinite(s) and s > 0]
    return float(np.median(scales)) if scales else math.nan


def jitter(frames: Frames, *, image_sd: float, world_sd_m: float, image_offset: float | np.ndarray = 0.0,
           world_offset_m: float | np.ndarray = 0.0, seed: int = 0, scale_px: float | None = None) -> list[PoseFrame]:
    """A noisier model's view of the same poses: every landmark of every frame moved by Gaussian noise
    (standard deviation `image_sd` per image axis, in body scales - see `body_scale_px` - and
    `world_sd_m` per world axis, in metres), plus a constant offset per landmark (the same in every
    frame: the bias of one model against another) of size `image_offset` / `world_offset_m` (a number,
    or one per landmark, (33,)) in a random direction. Image noise is drawn in pixels, so it is round
    whatever the aspect ratio. `scale_px` is the body scale in pixels (default: the recording's
    median, `recording_scale_px`). Visibility, presence and image z are unchanged."""
    rng = np.random.default_rng(seed)
    n_lm = len(Landmark)
    scale = recording_scale_px(frames) if scale_px is None else float(scale_px)
    if not math.isfinite(scale):
        return list(frames)

    def directions(size, dims: int) -> np.ndarray:
        d = rng.normal(size=(n_lm, dims))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        return d * np.broadcast_to(np.asarray(size, dtype=np.float64), (n_lm,))[:, None]

    img_off_px = directions(image_offset, 2) * scale
    wld_off = directions(world_offset_m, 3)

    def one(p: Pose) -> Pose:
        size = _size(p)
        px = p.pixel_xy + img_off_px + rng.normal(scale=image_sd * scale, size=(n_lm, 2))
        world = p.world + wld_off + rng.normal(scale=world_sd_m, size=(n_lm, 3))
        return _pose(p, xy=px / size, world=world)

    return map_poses(frames, one)


# --- camera roll ---------------------------------------------------------------------------------

def _rotation(angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def roll_pose(p: Pose, angle_deg: float) -> Pose:
    """The pose as a camera rolled about its viewing axis would see it: image points turned by
    `angle_deg` about the image centre, in pixels (so the aspect ratio is respected), and the world
    landmarks' x, y turned by the same angle about the camera axis (world z, depth, unchanged).
    Both frames have x right and y down, so the one rotation matrix serves both; a positive angle
    turns the picture clockwise on the screen (from +x toward +y, y pointing down)."""
    r = _rotation(angle_deg)
    size = _size(p)
    centre = size / 2.0
    px = (p.pixel_xy - centre) @ r.T + centre
    world = p.world.copy()
    world[:, :2] = p.world[:, :2] @ r.T
    return _pose(p, xy=px / size, world=world)


def roll(frames: Frames, angle_deg: float) -> list[PoseFrame]:
    return map_poses(frames, lambda p: roll_pose(p, angle_deg))


__all__ = ["MIRROR_ORDER", "SIDE_SWAP", "body_scale_px", "drop_frames", "jitter", "map_poses", "mirror",
           "mirror_pose", "mirror_side", "recording_scale_px", "resample", "roll", "roll_pose"]
