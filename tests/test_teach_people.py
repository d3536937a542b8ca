"""The maths of `coach.physio.teach_people` on synthetic series: what differs from rest, what is
asymmetric, and how wide a band for people is (no recording, no model: milliseconds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coach.engine.exercises import get_exercise
from coach.measure.conventions import MEASURE_NAMES, Posture, View
from coach.physio.teach_holds import HeldSpan, TeachSettings
from coach.physio.teach_people import (
    Context,
    asymmetric,
    column,
    differs,
    noise_sd,
    people_band,
)

N = len(MEASURE_NAMES)
I = {n: i for i, n in enumerate(MEASURE_NAMES)}
RNG = np.random.default_rng(3)
T = 300   # 10 s at 30 fps: rest 0-100, hold 100-200, rest 200-300
HOLD = [HeldSpan(100, 200, 100 / 30, 199 / 30)]
REST = list(range(0, 100)) + list(range(200, 300))


def context(**columns) -> Context:
    """Every measure NaN but `columns` (name -> (T,) values), all read at high reliability from the side."""
    values = np.full((T, N), np.nan)
    for name, v in columns.items():
        values[:, I[name]] = v
    rank = np.where(np.isfinite(values), 3, 0).astype(np.int8)
    return Context((View.SIDE,) * T, (Posture.SUPINE,) * T, rank, values, np.zeros((T, N), dtype=bool))


def step(rest: float, hold: float, sd: float = 1.0) -> np.ndarray:
    v = np.full(T, rest) + RNG.normal(0, sd, T)
    v[100:200] += hold - rest
    return v


def test_a_measure_that_moves_into_the_hold_differs_and_a_still_one_does_not():
    ctx = context(hip_left_deg=step(90, 150), knee_left_deg=step(60, 61), elbow_left_deg=step(160, 160, sd=3))
    settings = TeachSettings()
    assert differs(column("hip_left_deg", ctx, HOLD, REST, False, 2), settings)[0] is True
    assert differs(column("knee_left_deg", ctx, HOLD, REST, False, 2), settings)[0] is False
    assert differs(column("elbow_left_deg", ctx, HOLD, REST, False, 2), settings)[0] is False
    assert differs(column("hip_left_deg", ctx, HOLD, [], False, 2), settings)[0] is None   # no rest: can't tell


def test_a_rest_that_is_only_a_quarter_of_the_frames_around_the_hold_still_counts():
    """The frames between holds are mostly moves and jittery hold ends; a quarter of them at rest is
    a position left and come back to."""
    v = np.full(T, 150.0) + RNG.normal(0, 1, T)
    v[:60] = 90.0   # 60 of the 200 frames around the hold are at rest; the others stay near the hold
    ctx = context(hip_left_deg=v)
    assert differs(column("hip_left_deg", ctx, HOLD, REST, False, 2), TeachSettings())[0] is True


def test_noise_is_the_spread_within_each_hold_not_between_holds():
    values = np.concatenate([100 + RNG.normal(0, 2, 200), 130 + RNG.normal(0, 2, 200)])
    hold_of = np.repeat([0, 1], 200)
    assert noise_sd(values, hold_of) == pytest.approx(2.0, abs=0.4)   # 30 deg between holds is repetition


def test_asymmetry_needs_more_than_the_between_side_noise():
    settings = TeachSettings()   # high floor 8 deg: between sides 2 x sqrt(2) x 8 = 22.6 deg
    even = context(hip_left_deg=step(150, 150), hip_right_deg=step(150, 165))
    assert asymmetric(even, HOLD, ["hip_left_deg"], settings)[0] is False   # 15 deg: within the noise
    uneven = context(hip_left_deg=step(150, 150), hip_right_deg=step(150, 70))
    assert asymmetric(uneven, HOLD, ["hip_left_deg"], settings)[0] is True
    tilt = context(neck_lateral_deg=step(0, -25))
    assert asymmetric(tilt, HOLD, ["neck_lateral_deg"], settings)[0] is True   # 25 deg from 0 > 2 x 8
    unseen = context(neck_lateral_deg=np.where(np.arange(T) < 150, -25.0, np.nan))
    assert asymmetric(unseen, HOLD, ["neck_lateral_deg"], settings)[0] is True   # NaN frames cast no vote


def test_a_band_for_people_holds_the_shipped_band_and_the_demonstration_with_its_noise():
    bridge = get_exercise("bridge")
    ctx = context(hip_left_deg=step(90, 170, sd=1.0))
    band = people_band(column("hip_left_deg", ctx, HOLD, REST, False, 2), bridge, TeachSettings(), 1.0)
    shipped = bridge.phases[0].envelope["hip_left_deg"]
    assert band.low <= shipped.min and band.high >= shipped.max   # the people the shipped band accepts
    assert band.low <= band.centre - 8 and band.high == 180       # the demonstration +- the high floor
    wider = people_band(column("hip_left_deg", ctx, HOLD, REST, False, 2), bridge, TeachSettings(), 1.5)
    assert band.centre - wider.low == pytest.approx(1.5 * (band.centre - band.low), abs=1)


def test_without_a_shipped_stretch_noise_and_between_person_add_in_quadrature():
    ctx = context(knee_left_deg=step(170, 100, sd=1.0))
    band = people_band(column("knee_left_deg", ctx, HOLD, REST, False, 2), None, TeachSettings(), 1.0)
    margin = math.hypot(8.0, 15.0)   # the high floor (the measured 2 x 1 deg is less) and normal ranges
    assert band.low == math.floor(band.centre - margin) and band.high == math.ceil(band.centre + margin)
    assert "normal ranges" in band.between_from


def test_a_side_view_band_read_toward_the_working_side_flips_a_signed_measure():
    ctx = context(trunk_rotation_deg=step(0, -35))
    right = [HeldSpan(100, 200, 100 / 30, 199 / 30, side="right")]
    col = column("trunk_rotation_deg", ctx, right, REST, True, 1)
    assert np.nanmedian(col.held) == pytest.approx(35, abs=1)   # turned toward the right = + for that side
