"""Small pure vector helpers shared by `measures` and `posture`: angles at joints, between lines,
about an axis, and distances to segments. numpy in, numpy out; NaN in gives NaN out.

Every function takes points or vectors as arrays whose LAST axis is the coordinate (2 for image
pixels, 3 for world metres) and broadcasts over the leading axes, so one call measures many joints.

Conventions:
- Angles are in degrees.
- `signed_angle_2d_deg` is counter-clockwise-positive in a y-UP frame; image pixels have y DOWN,
  so in image coordinates the same number means clockwise-positive as seen on screen.
- `signed_angle_about_deg` follows the right-hand rule about the axis.
- `body_frame` builds the person's (left, up, forward) axes with forward = left x up, which in
  MediaPipe's camera-aligned world coordinates (x right, y down, z away from the camera) points
  out of the person's chest.
"""

from __future__ import annotations

import numpy as np

_I1, _I2 = [1, 2, 0], [2, 0, 1]
_sum = np.add.reduce   # ndarray.sum without its Python wrapper: these run many times per frame


def dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Dot product along the last axis."""
    return _sum(u * v, -1)


def norm(v: np.ndarray) -> np.ndarray:
    """Length along the last axis."""
    return np.sqrt(_sum(v * v, -1))


def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """3D cross product along the last axis (a few times faster than np.cross on small arrays)."""
    return u[..., _I1] * v[..., _I2] - u[..., _I2] * v[..., _I1]


def unit(v: np.ndarray) -> np.ndarray:
    """`v` scaled to length 1 along the last axis; NaN where the length is 0 or not finite."""
    v = np.asarray(v, dtype=np.float64)
    n = norm(v)
    return v / np.where(n > 0, n, np.nan)[..., None]


def angle_between_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors, 0..180; NaN if either has length 0. atan2(|u x v|, u.v) with
    |u x v| from Lagrange's identity: works for 2D and 3D alike, accurate to ~1e-6 deg at 0 and 180."""
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    uu, vv, uv = _sum(u * u, -1), _sum(v * v, -1), _sum(u * v, -1)
    sin_part = np.sqrt(np.maximum(uu * vv - uv * uv, 0.0))
    return np.where((uu > 0) & (vv > 0), np.degrees(np.arctan2(sin_part, uv)), np.nan)


def joint_angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Inner angle at `b` of the chain a-b-c, 0..180: 180 = straight, 90 = right angle."""
    b = np.asarray(b, dtype=np.float64)
    return angle_between_deg(np.asarray(a, dtype=np.float64) - b, np.asarray(c, dtype=np.float64) - b)


def line_angle_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between two undirected lines with directions `u` and `v`, 0..90."""
    a = angle_between_deg(u, v)
    return np.minimum(a, 180.0 - a)


def signed_angle_2d_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed angle from 2D vector `u` to `v`, -180..180, positive from +x toward +y."""
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    z = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    return np.degrees(np.arctan2(z, _sum(u * v, -1)))


def signed_angle_about_deg(u: np.ndarray, v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Signed angle from 3D `u` to `v` seen along `axis` (both projected on the plane normal to it),
    -180..180, positive counter-clockwise about `axis` by the right-hand rule."""
    k = unit(axis)
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    y = _sum(k * cross(u, v), -1)
    x = _sum(u * v, -1) - _sum(u * k, -1) * _sum(v * k, -1)
    return np.degrees(np.arctan2(y, x))


def tilt_from_deg(v: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Angle of vector `v` from the direction `reference`, 0..180 (e.g. a trunk from vertical)."""
    return angle_between_deg(v, reference)


def body_frame(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3, 3) rows (left, up, forward): `left` normalised, `up` made orthogonal to it (Gram-Schmidt),
    forward = left x up. Rows are NaN if either input is degenerate."""
    ell = unit(left)
    u = np.asarray(up, dtype=np.float64)
    up_ortho = unit(u - (u @ ell) * ell)
    return np.array([ell, up_ortho, cross(ell, up_ortho)])


def point_segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) distances from `points` (n, d) to the segments `a`-`b` ((m, d) each); a segment with
    a == b is a point."""
    p = np.asarray(points, dtype=np.float64)[:, None, :]
    a, b = np.asarray(a, dtype=np.float64)[None], np.asarray(b, dtype=np.float64)[None]
    ab = b - a
    den = _sum(ab * ab, -1)
    t = _sum((p - a) * ab, -1) / np.where(den > 0, den, np.inf)
    t = np.minimum(np.maximum(t, 0.0), 1.0)
    return norm(p - (a + t[..., None] * ab))


def blend(pixel_value, world_value, weight):
    """w * pixel + (1 - w) * world; the world value alone where the pixel value is not finite."""
    pixel_value, world_value = np.asarray(pixel_value, float), np.asarray(world_value, float)
    mixed = weight * pixel_value + (1.0 - weight) * world_value
    return np.where(np.isfinite(pixel_value), mixed, world_value)


def in_image_plane(world_vectors: np.ndarray) -> np.ndarray:
    """cos^2 of each camera-aligned world vector's elevation out of the image plane: 1 in the plane,
    0 along the camera axis (world z); NaN for a zero vector."""
    v = np.asarray(world_vectors, dtype=np.float64)
    length2 = _sum(v * v, -1)
    return 1.0 - v[..., 2] ** 2 / np.where(length2 > 0, length2, np.nan)
