"""Smoothing: the causal One Euro filter (jitter, lag, speed, NaN gating, gaps) and the zero-phase
offline smoother (no lag, gaps)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.engine.core import EngineSettings
from coach.measure.smoothing import OneEuroFilter, fill_short_gaps, series_speed, smooth_series

S = EngineSettings()
FPS = 30.0


def live_filter(size: int = 1, max_gap_s: float = 0.5) -> OneEuroFilter:
    return OneEuroFilter(size, min_cutoff_hz=S.min_cutoff_hz, beta=S.beta, d_cutoff_hz=S.d_cutoff_hz,
                         max_gap_s=max_gap_s)


def run(f: OneEuroFilter, xs, fps: float = FPS):
    out = [f(np.array([x], dtype=float), i / fps) for i, x in enumerate(xs)]
    return (np.array([o.values[0] for o in out]), np.array([o.speed_per_s[0] for o in out]),
            np.array([o.filled[0] for o in out]))


def test_jitter_on_a_still_pose_is_reduced():
    rng = np.random.default_rng(1)
    noisy = 40 + rng.normal(0, 2.0, 300)  # MediaPipe-like jitter of a still angle
    values, speed, _ = run(live_filter(), noisy)
    assert np.std(values[60:]) < np.std(noisy[60:]) / 3
    assert np.nanmax(np.abs(speed[60:])) < S.still_enter_deg_s  # reads as still


def test_a_real_movement_is_followed_with_little_lag():
    t = np.arange(90) / FPS
    ramp = 60 * t  # 60 deg/s for 3 s
    values, speed, _ = run(live_filter(), ramp)
    assert np.abs(values[-1] - ramp[-1]) < 60 * 0.15  # under 0.15 s of lag
    assert speed[-1] == pytest.approx(60, rel=0.1)


def test_short_gap_holds_the_value_long_gap_restarts():
    xs = [40.0] * 10 + [np.nan] * 5 + [40.0] * 5 + [np.nan] * 30 + [80.0] * 3
    values, speed, filled = run(live_filter(max_gap_s=0.5), xs)
    assert np.all(values[10:15] == pytest.approx(40.0)) and filled[10:15].all() and np.isnan(speed[10:15]).all()
    assert not filled[:10].any()
    gap = values[20:50]
    assert np.isnan(gap[16:]).all() and np.isfinite(gap[:15]).all()  # 15 frames = 0.5 s held, then NaN
    assert values[50] == 80.0 and np.isnan(speed[50])  # a restart: no drag from 40, no speed from one sample


def test_infinite_input_is_not_a_number_and_time_never_runs_back():
    f = live_filter()
    f(np.array([10.0]), 1.0)
    out = f(np.array([np.inf]), 1.1)
    assert out.values[0] == 10.0 and out.filled[0]
    later = f(np.array([12.0]), 0.5)  # taken at t = 1.1
    assert np.isfinite(later.values[0])
    with pytest.raises(ValueError, match="expected 1 values"):
        f(np.array([1.0, 2.0]), 2.0)


def test_passthrough_is_the_identity_with_finite_difference_speed():
    f = OneEuroFilter.passthrough(2, max_gap_s=0.5)
    f(np.array([1.0, 2.0]), 0.0)
    out = f(np.array([3.0, np.nan]), 0.25)
    assert out.values.tolist() == [3.0, 2.0] and out.speed_per_s[0] == 8.0 and np.isnan(out.speed_per_s[1])


def test_bad_filter_parameters_name_the_argument():
    with pytest.raises(ValueError, match="min_cutoff_hz"):
        OneEuroFilter(1, min_cutoff_hz=0.0, beta=0.0, d_cutoff_hz=1.0, max_gap_s=0.5)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.just(float("inf"))), min_size=1,
                max_size=40),
       st.lists(st.floats(0.0, 2.0), min_size=40, max_size=40))
def test_filter_never_outputs_inf_and_nan_only_when_unseen(xs, dts):
    f = live_filter()
    t, last_seen = 0.0, -np.inf
    for x, dt in zip(xs, dts):
        t += dt
        out = f(np.array([x]), t)
        assert not np.isinf(out.values).any() and not np.isinf(out.speed_per_s).any()
        if np.isfinite(x):
            last_seen = t
            assert np.isfinite(out.values[0]) or dt == 0.0
        elif t - last_seen > 0.5:
            assert np.isnan(out.values[0])


# --- offline ---------------------------------------------------------------------------------------

def test_fill_short_gaps_interpolates_only_short_inner_gaps():
    t = np.arange(12) / 10
    col = np.array([np.nan, 1, 2, np.nan, 4, 5, np.nan, np.nan, np.nan, np.nan, 10, np.nan])
    out = fill_short_gaps(t, col, max_gap_s=0.25)
    assert out[3] == pytest.approx(3.0)
    assert np.isnan(out[[0, 6, 7, 8, 9, 11]]).all()


def test_zero_phase_smoothing_has_no_lag_where_the_live_filter_does():
    t = np.arange(300) / FPS
    bump = 40 * np.exp(-((t - 5) ** 2) / 0.5)
    offline = smooth_series(t, bump[:, None], window_s=S.offline_window_s, max_gap_s=S.max_gap_s)[:, 0]
    live, _, _ = run(live_filter(), bump)
    assert t[np.argmax(offline)] == pytest.approx(5.0, abs=1 / FPS)
    assert t[np.argmax(live)] > 5.0 + 1 / FPS


def test_offline_smoothing_reduces_noise_and_keeps_long_gaps():
    rng = np.random.default_rng(2)
    t = np.arange(200) / FPS
    x = 30 + rng.normal(0, 2.0, 200)
    x[100:140] = np.nan  # 1.3 s: too long to bridge
    x[50:53] = np.nan    # 0.1 s: bridged
    out = smooth_series(t, x[:, None], window_s=0.5, max_gap_s=0.5)[:, 0]
    assert np.isnan(out[100:140]).all() and np.isfinite(out[50:53]).all()
    assert np.nanstd(out[:100]) < np.nanstd(x[:100]) / 2


def test_series_speed_of_a_ramp():
    t = np.arange(100) / FPS
    speed = series_speed(t, (25 * t)[:, None], window_s=0.5, max_gap_s=0.5)[:, 0]
    assert speed == pytest.approx(np.full(100, 25.0))


def test_offline_series_are_checked():
    with pytest.raises(ValueError, match="strictly increasing"):
        smooth_series(np.array([0.0, 0.0]), np.zeros((2, 1)), window_s=0.5, max_gap_s=0.5)
    with pytest.raises(ValueError, match="expected values"):
        smooth_series(np.array([0.0, 1.0]), np.zeros(2), window_s=0.5, max_gap_s=0.5)
