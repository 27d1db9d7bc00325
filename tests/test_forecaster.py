"""Forecaster: cached clear sky, clear-sky-index nowcast, calibration, the Forecaster port."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.forecast import Calibration, ClearSkyCache, Nowcast, PvForecaster
from optimizer.forecast.nowcast import K_MAX, Z_PESSIMISTIC
from optimizer.forecast.sources import ConstantClearSkyIndex, ForecastSource
from optimizer.interfaces import Forecaster, PvForecast
from optimizer.pvmodel import clear_sky_pv
from optimizer.site import GRAZ

JUNE = datetime(2017, 6, 1, tzinfo=UTC)


def test_clear_sky_grid_matches_the_pv_model_and_days_are_computed_once() -> None:
    cache = ClearSkyCache(GRAZ)
    times = pd.date_range(JUNE, periods=3 * 1440, freq="min")
    grid = cache.power_grid(JUNE.timestamp(), len(times), 60.0)
    unclipped = GRAZ.model_copy(
        update={"arrays": (GRAZ.arrays[0].model_copy(update={"inverter_ac_w": None}),)}
    )
    expected = clear_sky_pv(unclipped, times).to_numpy()
    np.testing.assert_allclose(grid, expected, atol=0.005 * expected.max())
    small_inverter = GRAZ.model_copy(
        update={"arrays": (GRAZ.arrays[0].model_copy(update={"inverter_ac_w": 3000.0}),)}
    )
    noon_s = JUNE.timestamp() + 11 * 3600
    assert ClearSkyCache(small_inverter).power_at(noon_s) == pytest.approx(grid[660], rel=1e-6)
    assert grid[660] > 3000.0
    assert cache.computed_days == 3
    cache.power_grid(JUNE.timestamp() + 1800.0, 2 * 1440, 60.0)
    assert cache.power_at(JUNE.timestamp() + 11 * 3600 + 30) > 0
    assert cache.computed_days == 3


def test_clear_sky_cache_interpolates_between_minutes_and_is_bounded() -> None:
    cache = ClearSkyCache(GRAZ, max_days=3)
    t = JUNE.timestamp() + 9 * 3600
    mid = cache.power_at(t + 30.0)
    assert mid == pytest.approx(0.5 * (cache.power_at(t) + cache.power_at(t + 60.0)))
    for day in range(6):
        cache.day(int(t // 86400) + day)
    assert len(cache._days) == 3


def test_prefetched_days_and_whole_minute_grids_give_the_same_values() -> None:
    plain = ClearSkyCache(GRAZ, max_days=12)
    ahead = ClearSkyCache(GRAZ, max_days=12, prefetch_days=6)
    start_s = JUNE.timestamp() + 7 * 3600 + 300.0
    fast = ahead.power_grid(start_s, 432, 300.0)  # whole minutes: a gather
    assert ahead.computed_days == 6  # the 3 days the grid spans and 3 ahead, in one call
    slow = plain.power_grid(start_s, 432, 300.0)
    np.testing.assert_array_equal(fast, slow)
    positions = (start_s + 300.0 * np.arange(432) - JUNE.timestamp()) / 60.0
    days = [plain.day(int(JUNE.timestamp() // 86400) + d) for d in range(3)]
    knots = np.concatenate([days[0][:-1], days[1][:-1], days[2]])
    np.testing.assert_array_equal(fast, np.interp(positions, np.arange(knots.size), knots))
    for d in range(3, 6):
        np.testing.assert_array_equal(
            ahead.day(int(JUNE.timestamp() // 86400) + d),
            plain.day(int(JUNE.timestamp() // 86400) + d),
        )
    assert ahead.computed_days == 6
    off_minute = ahead.power_grid(start_s + 30.0, 10, 300.0)  # between minutes: interpolated
    assert off_minute[0] == pytest.approx(0.5 * (fast[0] + ahead.power_at(start_s + 60.0)))
    with pytest.raises(ValueError, match="prefetch_days"):
        ClearSkyCache(GRAZ, max_days=4, prefetch_days=3)


def _feed(nowcast: Nowcast, ks: list[float], step_s: float = 120.0) -> float:
    t = JUNE.timestamp()
    for k in ks:
        nowcast.update(t, k)
        t += step_s
    return t - step_s


def test_steady_clear_sky_index_persists_and_is_steady() -> None:
    nowcast = Nowcast()
    last = _feed(nowcast, [0.9] * 60)
    central, pessimistic = nowcast.clear_sky_index(np.array([last + 300.0, last + 3600.0]))
    assert central[0] == pytest.approx(0.9, abs=0.02)
    assert nowcast.variability < 0.1
    assert np.all(pessimistic <= central)


def test_broken_clouds_raise_variability_and_widen_the_pessimistic_gap() -> None:
    steady, broken = Nowcast(), Nowcast()
    _feed(steady, [0.6] * 60)
    last = _feed(broken, [0.2, 1.0] * 30)
    assert broken.variability > 0.8 > steady.variability
    times = np.array([last + 600.0])
    gap_broken = np.subtract(*broken.clear_sky_index(times))[0]
    gap_steady = np.subtract(*steady.clear_sky_index(times))[0]
    assert gap_broken > 2 * gap_steady


def test_far_horizons_relax_towards_the_recent_level() -> None:
    nowcast = Nowcast(k_clim=0.5)
    last = _feed(nowcast, [0.5] * 200 + [1.0] * 10)
    central, _ = nowcast.clear_sky_index(last + np.array([60.0, 3600.0, 12 * 3600.0, 48 * 3600.0]))
    assert np.all(np.diff(central) < 0)
    assert central[0] > 0.9
    assert central[-1] < 0.7


def _clear_day_truth(scale: float, day: datetime) -> pd.Series:
    times = pd.date_range(day, periods=1440, freq="min")
    return clear_sky_pv(GRAZ, times) * scale


def test_calibration_learns_the_ratio_on_clear_days_and_ignores_snow_and_curtailment() -> None:
    forecaster = PvForecaster(GRAZ)
    for day in range(10):
        start = JUNE + timedelta(days=day)
        truth = _clear_day_truth(0.8, start)
        if day in (3, 4):
            truth = truth * 0.05  # snow on the panels
        if day == 6:
            truth = truth.clip(upper=1500.0)  # export limit
        for time, value in truth.iloc[::3].items():
            forecaster.observe(time.to_pydatetime(), float(value))
    assert forecaster.ratio == pytest.approx(0.8, rel=0.02)
    assert forecaster.calibrated_kwp == pytest.approx(0.8 * GRAZ.kwp, rel=0.02)


def test_calibration_without_clear_periods_keeps_the_config() -> None:
    calibration = Calibration(peak_w=7000.0)
    rng = np.random.default_rng(1)
    t = JUNE.timestamp()
    for _ in range(5 * 720):
        calibration.add(t, float(rng.uniform(0, 3000)), 5000.0)
        t += 120.0
    calibration.flush()
    assert calibration.ratio == 1.0
    assert calibration.state.days_used == 0


def test_calibration_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="bounds"):
        Calibration(bounds=(1.2, 1.5))


def test_forecaster_implements_the_port_and_returns_consistent_arrays() -> None:
    forecaster: Forecaster = PvForecaster(GRAZ)
    noon = JUNE + timedelta(hours=11)
    for i in range(30):
        forecaster.observe(noon + timedelta(minutes=2 * i), 3000.0)
    start = noon + timedelta(hours=1)
    fc = forecaster.forecast(start, start + timedelta(hours=48), 60.0)
    assert isinstance(fc, PvForecast)
    assert len(fc) == 2880 == fc.pessimistic_w.shape[0] == fc.clear_sky_w.shape[0]
    assert np.all(fc.pessimistic_w <= fc.central_w + 1e-9)
    assert np.all(fc.central_w <= 7000.0 + 1e-9)
    night = fc.index_at(JUNE + timedelta(hours=23))
    assert fc.central_w[night] == 0.0
    assert (
        0.0 < fc.energy_wh(start + timedelta(hours=6)) < fc.energy_wh(start + timedelta(hours=30))
    )


def test_forecaster_refuses_naive_times_and_bad_ranges() -> None:
    forecaster = PvForecaster(GRAZ)
    with pytest.raises(ValueError, match="timezone-aware"):
        forecaster.observe(datetime(2017, 6, 1, 12), 100.0)
    with pytest.raises(ValueError, match="not after"):
        forecaster.forecast(JUNE, JUNE, 60.0)
    with pytest.raises(ValueError, match="step_s"):
        forecaster.forecast(JUNE, JUNE + timedelta(hours=1), 0.0)


def test_an_external_source_sets_the_far_level() -> None:
    source = ConstantClearSkyIndex(0.2)
    assert isinstance(source, ForecastSource)
    with_source = PvForecaster(GRAZ, calibration="off", source=source)
    without = PvForecaster(GRAZ, calibration="off")
    noon = JUNE + timedelta(hours=11)
    for forecaster in (with_source, without):
        for i in range(30):
            forecaster.observe(noon + timedelta(minutes=2 * i), 5000.0)
    tomorrow = noon + timedelta(days=1)
    a = with_source.forecast(tomorrow, tomorrow + timedelta(hours=1))
    b = without.forecast(tomorrow, tomorrow + timedelta(hours=1))
    assert a.central_w.mean() < 0.5 * b.central_w.mean()
    assert a.central_w.mean() == pytest.approx(0.2 * a.clear_sky_w.mean(), rel=0.1)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 600), st.floats(-100.0, 20_000.0) | st.just(float("nan"))),
        min_size=1,
        max_size=40,
    )
)
def test_forecast_bounds_hold_for_any_observations(samples: list[tuple[int, float]]) -> None:
    forecaster = PvForecaster(GRAZ)
    t = JUNE + timedelta(hours=6)
    for gap_s, value in samples:
        t += timedelta(seconds=gap_s)
        forecaster.observe(t, value)
    fc = forecaster.forecast(t, t + timedelta(hours=6), 300.0)
    assert np.all(np.isfinite(fc.central_w))
    assert np.all((fc.pessimistic_w >= 0) & (fc.pessimistic_w <= fc.central_w + 1e-9))
    assert np.all(fc.central_w <= forecaster.ac_limit_w + 1e-9)
    assert 0.0 <= fc.variability <= 1.0


@pytest.mark.parametrize("month", [3, 6, 10])
def test_calibration_recovers_the_true_kwp_from_a_config_with_a_wrong_size_and_azimuth(
    month: int,
) -> None:
    """kWp 30 % high and azimuth 20 degrees off, clear days observed every 3 min: the
    learnt kWp lands within the 5 % goal (the noon window keeps most of the azimuth error
    out; what is left, about 3 % in March, is the rotated plane seeing less sun at noon)."""
    wrong = GRAZ.model_copy(
        update={
            "arrays": (
                GRAZ.arrays[0].model_copy(update={"kwp": 1.3 * GRAZ.kwp, "azimuth_deg": 200.0}),
            )
        }
    )
    forecaster = PvForecaster(wrong)
    start = datetime(2017, month, 1, tzinfo=UTC)
    times = pd.date_range(start, periods=4 * 480, freq="3min")
    truth = clear_sky_pv(GRAZ, times)
    for time, value in truth.items():
        forecaster.observe(time.to_pydatetime(), float(value))
    assert forecaster.calibration is not None and forecaster.calibration.state.days_used >= 3
    assert forecaster.calibrated_kwp == pytest.approx(GRAZ.kwp, rel=0.05)


def test_calibration_ignores_samples_outside_the_noon_window() -> None:
    calibration = Calibration(peak_w=1000.0, noon_window_s=3600.0, min_clear_samples=3)
    t0 = JUNE.timestamp()
    for day in range(3):
        for minute in range(0, 1440, 2):
            t = t0 + day * 86_400 + minute * 60.0
            noon = abs(minute - 720) <= 60
            calibration.add(t, 800.0 if noon else 400.0, 1000.0)
    calibration.flush()
    assert calibration.ratio == pytest.approx(0.8)


def _forecast_arrays(fc: PvForecast) -> tuple[np.ndarray, ...]:
    return fc.clear_sky_w, fc.central_w, fc.pessimistic_w


@settings(max_examples=30, deadline=None)
@given(
    samples=st.lists(st.tuples(st.integers(0, 600), st.floats(0.0, 12_000.0)), max_size=8),
    asks=st.lists(
        st.tuples(st.sampled_from([0, 60, 300, 900, 1800, 3600 * 5, 30, 90]), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    step_s=st.sampled_from([300.0, 60.0, 90.0]),
)
def test_forecasts_reused_between_observations_equal_fresh_ones(
    samples: list[tuple[int, float]], asks: list[tuple[int, bool]], step_s: float
) -> None:
    """A forecaster that kept its last computation gives, at every ask, exactly (to the
    bit) what a forecaster that saw the same observations and is asked only then gives:
    across refreshes without observations (taken from the kept values), observations in
    between (computed again), grids off whole minutes and shifts beyond the kept steps."""
    kept = PvForecaster(GRAZ)
    seen: list[tuple[datetime, float]] = []
    t = JUNE + timedelta(hours=4)
    for minute, pv in samples:
        seen.append((t + timedelta(minutes=minute), pv))
    seen.sort()
    for at, pv in seen:
        kept.observe(at, pv)
    t = JUNE + timedelta(hours=20)
    for gap_s, observe in asks:
        t += timedelta(seconds=gap_s)
        if observe:
            kept.observe(t, 800.0)
            seen.append((t, 800.0))
        start = datetime.fromtimestamp(t.timestamp() - t.timestamp() % step_s, tz=UTC)
        got = kept.forecast(start, start + timedelta(hours=36), step_s)
        fresh = PvForecaster(GRAZ)
        for at, pv in seen:
            fresh.observe(at, pv)
        expected = fresh.forecast(start, start + timedelta(hours=36), step_s)
        for a, b in zip(_forecast_arrays(got), _forecast_arrays(expected), strict=True):
            np.testing.assert_array_equal(a, b)
        assert got.variability == expected.variability


def test_a_night_of_refreshes_computes_the_forecast_once() -> None:
    """Without an observation the nowcast learns nothing, so the refreshes of a night
    (every 15 min on a 5-min grid) read the values one computation made ahead."""
    forecaster = PvForecaster(GRAZ)
    forecaster.observe(JUNE + timedelta(hours=10), 5000.0)
    computed = 0
    index = forecaster.nowcast.clear_sky_index

    def counting(times_s: np.ndarray, target: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        nonlocal computed
        computed += 1
        return index(times_s, target)

    forecaster.nowcast.clear_sky_index = counting  # type: ignore[method-assign]
    start = JUNE + timedelta(hours=20)
    for k in range(12):  # 3 h of refreshes
        at = start + timedelta(minutes=15 * k)
        forecaster.forecast(at, at + timedelta(hours=36), 300.0)
    assert computed == 1
    forecaster.observe(start + timedelta(hours=3), 100.0)  # dark: no daylight sample
    forecaster.forecast(start + timedelta(hours=3), start + timedelta(hours=39), 300.0)
    assert computed == 1
    forecaster.observe(JUNE + timedelta(days=1, hours=8), 3000.0)
    at = JUNE + timedelta(days=1, hours=8)
    forecaster.forecast(at, at + timedelta(hours=36), 300.0)
    assert computed == 2


def test_a_morning_of_refreshes_with_readings_computes_the_clear_sky_once() -> None:
    """By day every reading moves the nowcast, so each refresh computes its nowcast again;
    the calibrated clear sky under it is taken from one computation while the ratio stays,
    and every forecast is, to the bit, what a forecaster that saw the same readings and is
    asked only then gives."""
    kept = PvForecaster(GRAZ, calibration="off")
    computed = 0
    clear = kept.calibrated_clear_sky

    def counting(start_s: float, n: int, step_s: float) -> np.ndarray:
        nonlocal computed
        computed += 1
        return clear(start_s, n, step_s)

    kept.calibrated_clear_sky = counting  # type: ignore[method-assign]
    seen: list[tuple[datetime, float]] = []
    for k in range(16):  # 4 h of refreshes every 15 min, a reading before each
        at = JUNE + timedelta(hours=7, minutes=15 * k)
        seen.append((at - timedelta(minutes=2), 2500.0 + 150.0 * (k % 5)))
        kept.observe(*seen[-1])
        got = kept.forecast(at, at + timedelta(hours=36), 300.0)
        fresh = PvForecaster(GRAZ, calibration="off")
        for t, pv in seen:
            fresh.observe(t, pv)
        expected = fresh.forecast(at, at + timedelta(hours=36), 300.0)
        for a, b in zip(_forecast_arrays(got), _forecast_arrays(expected), strict=True):
            np.testing.assert_array_equal(a, b)
    assert computed == 1


def test_a_clear_sky_that_fails_a_day_ahead_still_gives_the_forecast_asked() -> None:
    """The clear sky kept a day ahead is an extra: when the day beyond the forecast cannot
    be computed (a failed child process) while the days it covers are cached, the
    forecast is still given, the one a forecaster asked only then gives."""
    from optimizer.forecast.clearsky_compute import ClearSkyFailure, ClearSkyResult, in_process
    from optimizer.site import SiteConfig

    first = JUNE + timedelta(hours=8)
    cached_until = int(first.timestamp() // 86_400) + 7  # the first run's 8 days

    def not_beyond(site: SiteConfig, first_day: int, n_days: int) -> ClearSkyResult:
        if first_day > cached_until:
            return ClearSkyFailure("the child process died")
        return in_process(site, first_day, n_days)

    failing = PvForecaster(GRAZ, clear_sky_days=not_beyond)
    failing.forecast(first, first + timedelta(hours=36), 300.0)
    start = first + timedelta(days=6)  # 36 h on, and the 4 h kept ahead, end on the last day
    got = failing.forecast(start, start + timedelta(hours=36), 300.0)
    expected = PvForecaster(GRAZ).forecast(start, start + timedelta(hours=36), 300.0)
    for a, b in zip(_forecast_arrays(got), _forecast_arrays(expected), strict=True):
        np.testing.assert_array_equal(a, b)


def _clear_sky_index_as_written_first(
    nowcast: Nowcast, times_s: np.ndarray, target: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """`Nowcast.clear_sky_index` as first written (a level array, negations, np.clip):
    the reference its fewer-operation form must give to the bit."""
    s = nowcast
    level = 0.5 * (s._k_day + s._k_clim)
    if target is not None:
        level_arr = np.where(np.isnan(target), level, np.clip(target, 0.0, K_MAX))
    else:
        level_arr = np.full(times_s.shape, level)
    last = s._last_t if s._last_t is not None else -math.inf
    horizon = np.maximum(times_s - last, 0.0)
    steady = 1.0 - s.variability
    tau = s._tau_broken + (s._tau_steady - s._tau_broken) * steady
    tau_far = s._tau_far_broken + (s._tau_far_steady - s._tau_far_broken) * steady
    near = np.minimum(horizon, s._tuned_horizon)
    weight = np.exp(-near / tau - (horizon - near) / tau_far)
    fresh = s._last_weight + (1.0 - s._last_weight) * np.exp(-horizon / s._tau_smooth)
    start = s._k_last * fresh + s._k_now * (1.0 - fresh)
    central = level_arr + (start - level_arr) * weight
    spread_weight = np.exp(-horizon / tau_far)
    sigma = np.sqrt(s._var_now * spread_weight + s._var_clim * (1.0 - spread_weight))
    pessimistic = np.clip(central - Z_PESSIMISTIC * sigma, 0.0, None)
    return np.clip(central, 0.0, K_MAX), np.minimum(pessimistic, central)


@settings(max_examples=150, deadline=None)
@given(
    samples=st.lists(
        st.tuples(st.floats(1.0, 4000.0), st.floats(0.0, 1.6)), min_size=0, max_size=12
    ),
    start=st.floats(-7200.0, 7200.0),
    step=st.sampled_from([60.0, 300.0, 137.5]),
    with_target=st.booleans(),
    data=st.data(),
)
def test_clear_sky_index_is_the_first_formulation_to_the_bit(
    samples: list[tuple[float, float]],
    start: float,
    step: float,
    with_target: bool,
    data: st.DataObject,
) -> None:
    """The nowcast's indices are the floats its first formulation gives, bit for bit
    (a backtest's traces are compared exactly): NaN, -0.0 and the clipped ends too."""
    nowcast = Nowcast()
    t = 1_500_000_000.0
    for gap, k in samples:
        t += gap
        nowcast.update(t, k)
    times = t + start + step * np.arange(120, dtype=np.float64)
    target = None
    if with_target:
        value = st.one_of(st.just(math.nan), st.floats(-0.5, 2.5))
        target = np.array(data.draw(st.lists(value, min_size=120, max_size=120)))
    got = nowcast.clear_sky_index(times, target)
    expected = _clear_sky_index_as_written_first(nowcast, times, target)
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a.view(np.int64), b.view(np.int64))
