"""Landmark noise of the shared recordings, measured so the noise transform (`transforms.jitter`) can
use it; re-run to re-measure:

    python bench/noise_levels.py [--landmarks DIR]

1. Per-frame jitter on still holds. For every truth hold (`hold`, `cat`, `cow`) less 0.5 s at each
   end (the truth's boundaries are +-0.5 s, so what is left is still), every landmark seen in two
   frames in a row (visibility and presence >= 0.5) gives a frame-to-frame step. The jitter is the
   robust standard deviation of those steps divided by sqrt(2) - the step of white noise of SD s has
   SD s*sqrt(2), and slow drift within a hold hardly shows between frames - with the robust SD
   1.4826 x the median absolute deviation, so that a camera dissolve inside a hold (prone_extension)
   does not count as noise. Reported per recording (median over its landmarks) and overall (median
   over recordings), in body scales (`transforms.body_scale_px`: the longer of the shoulder width and
   the torso in pixels, which does not collapse side-on as the shoulder width does), in 2D shoulder
   widths where the view shows them (front / oblique), in image units (normalised x, y) and, for the
   world landmarks, in millimetres. Beside it the spread: the robust SD of each landmark about its
   median over the (trimmed) hold. The tracked recordings (tracked/, lite/) are smoothed by
   MediaPipe from frame to frame, so their noise is slow wander - small steps, a wide spread - and
   the spread is the size of the noise a model's reading of a still pose really carries.
   (cat_cow's phases are about 1 s, too short once trimmed: no number.)
2. The constant offset between the lite and the full model: for the same video, frame by frame
   (same frame index), lite/ against tracked/ (both look for one person, so the same person), the
   per-landmark median over frames of (lite - full), per axis; its length is that landmark's offset.
   Reported as the median over landmarks per recording and overall.

The numbers measured here are written into `MEASURED` below (the bench's defaults); the script
prints them beside a fresh measurement so a drift shows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms import body_scale_px  # noqa: E402

from coach.pose.landmarks import Landmark  # noqa: E402
from coach.pose.recording import Recording  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("COACH_SHARED", REPO.parent / "shared"))
HOLD_STATES = ("hold", "cat", "cow")
EDGE_S = 0.5          # the truth's boundary uncertainty, trimmed from each end of a hold
MAD_TO_SD = 1.4826    # robust SD = this x median absolute deviation (exact for Gaussian noise)
MIN_STEPS = 10        # fewer steps than this for a landmark in a hold: not enough to estimate

# Measured with this script on the shared set (full = original recordings). The jitter transform's
# defaults: image_sd in body scales per axis, world_sd_m in metres per axis; offsets per landmark.
MEASURED = {
    "lite_jitter_body": 0.0005,        # frame-to-frame (white) jitter: lite tracks, so it is small ...
    "lite_jitter_world_m": 0.0006,
    "lite_spread_body": 0.0049,        # ... but wanders: the spread about the hold's median is 10x that
    "lite_spread_world_m": 0.0062,
    "full_jitter_body": 0.0020,        # the originals re-detect every frame: more jitter, similar spread
    "full_jitter_world_m": 0.0023,
    "full_spread_body": 0.0074,
    "full_spread_world_m": 0.0062,
    "lite_full_offset_body": 0.0244,   # lite against full: a constant offset of ~2.4 % of the body scale
    "lite_full_offset_world_m": 0.0272,
}


def _robust_sd(x: np.ndarray) -> float:
    return float(MAD_TO_SD * np.median(np.abs(x - np.median(x))))


def names(landmarks_dir: Path) -> list[str]:
    return sorted(p.name.removesuffix(".truth.json") for p in landmarks_dir.glob("*.truth.json"))


def still_spans(truth: dict) -> list[tuple[float, float]]:
    return [(a + EDGE_S, b - EDGE_S) for a, b, s in truth["segments"] if s in HOLD_STATES and b - a > 2 * EDGE_S]


def jitter_of(path: Path, truth: dict) -> dict[str, float]:
    """Median over landmarks of the per-frame jitter during still holds (see the module doc)."""
    frames = list(Recording(path, on_warning=lambda m: None).frames())
    body, sw, img, wld, spread, spread_w = [], [], [], [], [], []
    for a, b in still_spans(truth):
        span = [f for f in frames if a <= f.t_s <= b and not f.pose.is_empty]
        if len(span) < MIN_STEPS + 1:
            continue
        scale = np.median([body_scale_px(f.pose) for f in span])
        px = np.stack([f.pose.pixel_xy for f in span])
        xy = np.stack([f.pose.xy for f in span])
        world = np.stack([f.pose.world for f in span])
        seen = np.stack([f.pose.seen_mask() for f in span])
        ls, rs = px[:, Landmark.LEFT_SHOULDER], px[:, Landmark.RIGHT_SHOULDER]
        shoulder_px = float(np.median(np.linalg.norm(ls - rs, axis=1)))
        shoulders_shown = shoulder_px > 0.5 * scale   # front or oblique: the shoulder line is seen wide
        both = seen[1:] & seen[:-1]
        for lm in range(len(Landmark)):
            ok = both[:, lm]
            if ok.sum() < MIN_STEPS:
                continue
            d_px = np.diff(px[:, lm], axis=0)[ok]
            d_xy = np.diff(xy[:, lm], axis=0)[ok]
            d_w = np.diff(world[:, lm], axis=0)[ok]
            sd_px = np.mean([_robust_sd(d_px[:, k]) for k in range(2)]) / math.sqrt(2)
            body.append(sd_px / scale)
            if shoulders_shown:
                sw.append(sd_px / shoulder_px)
            img.append(np.mean([_robust_sd(d_xy[:, k]) for k in range(2)]) / math.sqrt(2))
            wld.append(np.mean([_robust_sd(d_w[:, k]) for k in range(3)]) / math.sqrt(2))
            keep = seen[:, lm]
            spread.append(np.mean([_robust_sd(px[keep, lm, k]) for k in range(2)]) / scale)
            spread_w.append(np.mean([_robust_sd(world[keep, lm, k]) for k in range(3)]))
    med = lambda v: float(np.median(v)) if v else math.nan  # noqa: E731
    return {"body": med(body), "shoulder_widths": med(sw), "image": med(img), "world_m": med(wld),
            "spread_body": med(spread), "spread_world_m": med(spread_w)}


def offset_of(lite: Path, full: Path) -> dict[str, float]:
    """Median over landmarks of the constant lite - full offset (see the module doc)."""
    a = {f.index: f.pose for f in Recording(lite, on_warning=lambda m: None).frames() if not f.pose.is_empty}
    b = {f.index: f.pose for f in Recording(full, on_warning=lambda m: None).frames() if not f.pose.is_empty}
    common = sorted(set(a) & set(b))
    if not common:
        return {"body": math.nan, "world_m": math.nan, "frames": 0}
    scale = np.median([body_scale_px(b[i]) for i in common])
    d_px = np.stack([a[i].pixel_xy - b[i].pixel_xy for i in common])
    d_w = np.stack([a[i].world - b[i].world for i in common])
    seen = np.stack([a[i].seen_mask() & b[i].seen_mask() for i in common])
    body, wld = [], []
    for lm in range(len(Landmark)):
        ok = seen[:, lm]
        if ok.sum() < MIN_STEPS:
            continue
        body.append(np.linalg.norm(np.median(d_px[ok, lm], axis=0)) / scale)
        wld.append(np.linalg.norm(np.median(d_w[ok, lm], axis=0)))
    return {"body": float(np.median(body)), "world_m": float(np.median(wld)), "frames": len(common)}


def measure(landmarks_dir: Path) -> dict:
    rows = {}
    for name in names(landmarks_dir):
        truth = json.loads((landmarks_dir / f"{name}.truth.json").read_text())
        rows[name] = {
            "full": jitter_of(landmarks_dir / f"{name}.jsonl.gz", truth),
            "tracked": jitter_of(landmarks_dir / "tracked" / f"{name}.jsonl.gz", truth),
            "lite": jitter_of(landmarks_dir / "lite" / f"{name}.jsonl.gz", truth),
            "offset": offset_of(landmarks_dir / "lite" / f"{name}.jsonl.gz",
                                landmarks_dir / "tracked" / f"{name}.jsonl.gz"),
        }
    med = lambda key, sub: float(np.nanmedian([r[key][sub] for r in rows.values()]))  # noqa: E731
    totals = {"lite_jitter_body": med("lite", "body"), "lite_jitter_world_m": med("lite", "world_m"),
              "lite_spread_body": med("lite", "spread_body"), "lite_spread_world_m": med("lite", "spread_world_m"),
              "full_spread_body": med("full", "spread_body"), "full_spread_world_m": med("full", "spread_world_m"),
              "full_jitter_body": med("full", "body"), "full_jitter_world_m": med("full", "world_m"),
              "lite_full_offset_body": med("offset", "body"), "lite_full_offset_world_m": med("offset", "world_m"),
              "lite_jitter_shoulder_widths": med("lite", "shoulder_widths"), "lite_jitter_image": med("lite", "image")}
    return {"rows": rows, "totals": totals}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--landmarks", type=Path, default=SHARED / "landmarks")
    args = ap.parse_args(argv)
    if not args.landmarks.is_dir():
        raise SystemExit(f"no recordings at {args.landmarks}: set COACH_SHARED or --landmarks")
    result = measure(args.landmarks)
    print("per-frame jitter on still holds (robust SD of frame-to-frame steps / sqrt 2, median over landmarks)")
    print(f"{'recording':26} {'variant':8} {'body':>8} {'sw':>8} {'image':>8} {'world mm':>9} "
          f"{'spread body':>11} {'spread mm':>9}")
    for name, row in result["rows"].items():
        for variant in ("full", "tracked", "lite"):
            j = row[variant]
            print(f"{name:26} {variant:8} {j['body']:8.4f} {j['shoulder_widths']:8.4f} {j['image']:8.4f} "
                  f"{1000 * j['world_m']:9.2f} {j['spread_body']:11.4f} {1000 * j['spread_world_m']:9.2f}")
    print("\nconstant offset lite - full (tracked), per-landmark median over frames, median over landmarks")
    print(f"{'recording':26} {'frames':>6} {'body':>8} {'world mm':>9}")
    for name, row in result["rows"].items():
        o = row["offset"]
        print(f"{name:26} {o['frames']:6d} {o['body']:8.4f} {1000 * o['world_m']:9.2f}")
    print("\ntotals (median over recordings)           measured    in MEASURED")
    for key, value in result["totals"].items():
        print(f"  {key:40} {value:9.4f}    {MEASURED.get(key, float('nan')):9.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
