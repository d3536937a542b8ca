"""Lite and full read the same judged measures on the shared photos (issue 12: one model everywhere).

Each shared photo goes through both real models in IMAGE mode (once per test session: the
`photo_poses` fixture of conftest.py) and `compute_measures`. The photo's exercise (its LABELS.tsv
stretch, mapped as tests/test_envelopes_photos.py maps it; photos of a stretch without an exercise
file have no judged measures) judges the measures its envelope bands name. For each (photo, band key):
- the side is the one `detect_side` reads on the full model's measures (else the lite's), the same
  for both models, so that both read the same joint (`hip_{side}_deg` -> `hip_left_deg`);
- each model's value is what the band compares (`check_band(...).value`, turned toward the working
  side), NaN when that model cannot read it;
- the pair AGREES when both values are within the band's own `hysteresis` of each other - how far a
  held pose may drift outside the band before the engine counts it out, written per band in
  exercises/*.toml (default 5 deg, `coach.engine.exercises.Band`); a key banded in several phases
  takes its smallest. A model difference inside it cannot turn a hold into a release on its own;
- a pair neither model can read (both NaN: a side that cannot be told, a far joint hidden) is not
  counted; one that only one model reads is a disagreement of unknown size (NaN below).
Every pair that does not agree is listed in DISAGREEMENTS with its size in degrees: the test fails
when one more disagrees, when a listed one agrees now, or when a size moves by more than SIZE_TOL_DEG.
Run with `-s` to see the table.

What was tried to bring them together (issue 12; general mechanisms only, none tuned to these
photos), measured with this test's method on the 30 photos. "Readings" is the model runs per photo;
"2-px" is full's own stability - how much each angle (every `*_deg` measure both readings give)
moves when the photo is moved by 2 pixels, median / 90th percentile, deg (tests/test_downscale.py's
yardstick); "labels" is full against LABELS.tsv as tests/test_envelopes_photos.py judges it (stretch
photos inside their own envelope of 16, start photos accepted, false accepts of 434; every option
kept the neck rule right on all 30):

    option                                   readings  agree          2-px        labels
    as shipped (one IMAGE-mode reading)      1         31/49  63%     0.73 / 2.6  13, 0, 5
    full-size input                          1         identical: the photos are 850 px wide, under
                                                       DEFAULT_MAX_SIDE_PX (960), so never shrunk
    photo + mirror, vis.-weighted mean       2         34/50  68%     0.48 / 2.0  12, 0, 5
    scales 0.75, 1, 1.25, mean               3         31/50  62%     0.50 / 2.5  13, 1, 6
    mirror x scales, mean                    6         34/51  67%     0.38 / 1.9  12, 0, 5
    mirror x scales, per-landmark median     6         35/51  69%     0.48 / 1.8  12, 0, 5
    VIDEO mode, the photo fed 3 times        3         32/51  63%     0.50 / 2.1  11, 0, 5
    (one pose, a fresh landmarker per photo: the 2nd and 3rd passes crop on the landmarks, not on
    the detector's box)
    the same + mirror, mean                  6         35/51  69%     0.39 / 2.6  13, 0, 5

(A mirror reading is flipped back with LEFT_/RIGHT_ landmarks swapped, as bench/transforms.py's
`mirror_pose`; poses are matched by torso centre. The mirror options lose standing_rotation__Middle_Back_Stretch__1: its twist, read from the back,
averages toward 0; the VIDEO re-reading alone also loses both seated-twist photos. A pair count other
than 49 is pairs that one more model could now read.) One reading of a transformed photo instead of
the photo shows how wide the measurement itself is: mirrored 28/51 (55%), shrunk to 0.75 28/50 (56%),
enlarged to 1.25 31/52 (60%).

Why no mechanism reaches 90%: the disagreement is between the models, not noise in their input. Each
model agrees with ITSELF on 94% of the pairs when the photo is moved by 2 px (full 48/51, lite 44/47)
and on 92-93% when it is shrunk to 0.75 - but only on 71% (full 35/49) and 55% (lite 26/47) when it
reads the mirrored photo, the same pose seen from its other side: the models are not left-right
symmetric on these poses (lying, kneeling, twisted, one side hidden), and lite's mirror reading
differs from its own reading beyond the hysteresis on 14 of the 18 listed pairs (on 4 of them one of
the two cannot read the joint). The heavy model agrees with full on 33/53 (62%) and with lite on 24/50 (48%): lite and full differ as much as two
neighbouring models of the family do. Averaging readings steadies each model (full's median 2-px
change falls from 0.73 to 0.38-0.50 deg) but adds at most 4 agreeing pairs, for 2-6 times the
inference, and three of the four mirror options cost full one accepted stretch photo - so the product
is unchanged and the 90% test stays a strict xfail carrying this evidence.
"""

from __future__ import annotations

import math

import pytest
from test_envelopes_photos import own_exercise

from coach.engine.envelope import BandCheck, check_band, detect_side
from coach.engine.exercises import load_library
from coach.measure.measures import compute_measures

pytestmark = pytest.mark.model

MIN_AGREEING = 0.90   # issue 12's goal: lite and full agree on at least 90% of the pairs
# MediaPipe on another CPU (other SIMD kernels) moves a landmark by a few 1e-4 of the frame, under
# 0.1 deg at these photos' sizes; 1 deg keeps a listed size honest without failing on that.
SIZE_TOL_DEG = 1.0
NAN = math.nan   # read by one model only (which one is in the comment)

# (photo, band key) -> |full - lite| in the band's unit (degrees), as measured with the shipped bundles.
DISAGREEMENTS: dict[tuple[str, str], float] = {
    ("bridge__Butt_Lift_Bridge__0.jpg", "hip_right_deg"): NAN,                # full 149.0, lite: far hip unseen
    ("bridge__Butt_Lift_Bridge__1.jpg", "hip_left_deg"): 18.6,                # full 176.3, lite 157.7 (hyst. 8)
    ("cat_cow__Cat_Stretch__0.jpg", "hip_right_deg"): 9.7,                    # full 98.1, lite 88.4 (8)
    ("cat_cow__Cat_Stretch__1.jpg", "neck_flexion_deg"): 13.3,                # full 54.2, lite 41.0 (4)
    ("cat_cow__Cat_Stretch__1.jpg", "hip_left_deg"): NAN,                     # full 88.4, lite: unseen
    ("chair_rotation__Spinal_Stretch__1.jpg", "trunk_rotation_deg"): 17.9,    # full -2.0, lite 15.9 (5)
    ("chair_rotation__Spinal_Stretch__1.jpg", "trunk_lateral_deg"): 11.9,     # full -27.3, lite -15.4 (5)
    ("childs_pose__Childs_Pose__1.jpg", "knee_right_deg"): 27.3,              # full 48.9, lite 76.2 (8)
    ("knee_to_chest__One_Knee_To_Chest__1.jpg", "hip_{side}_deg"): 124.9,     # full 54.0, lite 178.9: lite swaps
    ("knee_to_chest__One_Knee_To_Chest__1.jpg", "hip_{other}_deg"): 134.7,    # the legs (full 178.6, lite 43.9)
    ("pelvic_tilt__Standing_Pelvic_Tilt__0.jpg", "knee_right_deg"): NAN,      # full 173.0, lite: unseen
    ("seated_spinal_twist__Dancers_Stretch__0.jpg", "knee_{side}_deg"): 21.7,  # full 81.6, lite 103.4 (8)
    ("seated_spinal_twist__Dancers_Stretch__0.jpg", "trunk_rotation_deg"): 6.0,  # full -2.0, lite -8.0 (5)
    ("seated_spinal_twist__Dancers_Stretch__1.jpg", "knee_{side}_deg"): 24.1,  # full 100.9, lite 125.0 (8)
    ("seated_spinal_twist__Dancers_Stretch__1.jpg", "trunk_rotation_deg"): 9.0,  # full 39.9, lite 30.9 (5)
    ("standing_rotation__Middle_Back_Stretch__1.jpg", "trunk_rotation_deg"): 25.5,  # full 12.5, lite -13.1 (5)
    ("standing_rotation__Middle_Back_Stretch__1.jpg", "trunk_lateral_deg"): 5.2,    # full -2.1, lite 3.1 (5)
    ("supine_twist__Knee_Across_The_Body__1.jpg", "trunk_rotation_deg"): 22.3,  # full -38.5, lite -16.2 (5)
}


@pytest.fixture(scope="module")
def pairs(photo_poses, photo_labels) -> list[tuple[str, str, BandCheck, BandCheck, float]]:
    """(photo, band key, full's check, lite's check, hysteresis) for every judged measure of every photo."""
    library = load_library()
    measures = {variant: {name: compute_measures(p.pose, p.others) for name, p in photo_poses(variant).items()}
                for variant in ("full", "lite")}
    out = []
    for row in photo_labels:
        exercise_id = own_exercise(row) or (row["stretch"] if row["stretch"] in library else None)
        if exercise_id is None:
            continue
        exercise, full, lite = library[exercise_id], measures["full"][row["file"]], measures["lite"][row["file"]]
        sided = exercise.sides == "left_right"
        side = (detect_side(exercise, full) or detect_side(exercise, lite)) if sided else None
        bands = {}
        for phase in exercise.phases:
            for key, band in phase.envelope.items():
                if key not in bands or band.hysteresis < bands[key].hysteresis:
                    bands[key] = band
        for key, band in bands.items():
            out.append((row["file"], key, check_band(key, band, full, side, sided=sided),
                        check_band(key, band, lite, side, sided=sided), band.hysteresis))
    return out


def _counted(pairs) -> list[tuple[str, str, float, bool]]:
    """(photo, key, |full - lite| (NaN: one model cannot read it), agrees) for the pairs counted."""
    out = []
    for photo, key, full, lite, hysteresis in pairs:
        if math.isnan(full.value) and math.isnan(lite.value):
            continue
        size = abs(full.value - lite.value)   # NaN when one is NaN
        out.append((photo, key, size, bool(size <= hysteresis)))
    return out


def test_the_pairs_that_disagree_are_the_listed_ones_with_their_sizes(pairs):
    counted = _counted(pairs)
    print(f"\n{sum(a for *_, a in counted)} of {len(counted)} (photo, measure) pairs agree; "
          f"{len(pairs) - len(counted)} read by neither model")
    for (photo, key, full, lite, hysteresis) in pairs:
        print(f"  {photo[:46]:46} {key:22} full {full.value:7.1f} lite {lite.value:7.1f} hyst {hysteresis:g}")
    found = {(photo, key): round(size, 1) for photo, key, size, agrees in counted if not agrees}
    assert set(found) - set(DISAGREEMENTS) == set(), "pairs that disagree now (add them with their size, or fix)"
    assert set(DISAGREEMENTS) - set(found) == set(), "listed pairs that agree now (remove them)"
    moved = {k: (DISAGREEMENTS[k], v) for k, v in found.items()
             if math.isnan(v) != math.isnan(DISAGREEMENTS[k]) or abs(v - DISAGREEMENTS[k]) > SIZE_TOL_DEG}
    assert moved == {}, "(listed size, measured size)"


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="measured 31 of 49 pairs (63%): lite reads hips and knees 10-27 deg away from full, "
                          "the neck 13 and the trunk's side bend 5-12, the twist estimate 6-26 (with the opposite "
                          "sign on the standing rotation), swaps the legs of the one-knee-to-chest photo and "
                          "cannot read three joints full reads; mirror/scale averaging and VIDEO-mode "
                          "re-reading reach at most 35 of 51 (69%): see the module docstring")
def test_at_least_90_percent_of_the_pairs_agree(pairs):
    """Strict xfail: turns into a failure (remove the mark) once the models agree on 90%."""
    counted = _counted(pairs)
    agreeing = sum(agrees for *_, agrees in counted)
    assert agreeing >= MIN_AGREEING * len(counted), f"{agreeing} of {len(counted)} pairs agree"
