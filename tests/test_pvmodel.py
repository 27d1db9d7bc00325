"""The one PV model: physically sensible clear-sky power and strict site validation."""

import numpy as np
import pandas as pd
import pvlib
import pydantic
import pytest

from optimizer.pvmodel import (
    clear_sky_irradiance,
    clear_sky_pv,
    linke_turbidity,
    plane_irradiance,
    pv_from_poa,
)
from optimizer.site import GRAZ, ArrayConfig, SiteConfig


def _day(date: str) -> pd.DatetimeIndex:
    return pd.date_range(date, periods=1440, freq="min", tz="UTC")


def test_clear_sky_pv_is_zero_at_night_and_peaks_near_solar_noon() -> None:
    pv = clear_sky_pv(GRAZ, _day("2017-06-21"))
    assert pv.iloc[0] == 0.0  # 01:00 local
    peak_utc = pv.idxmax()
    assert 10 <= peak_utc.hour <= 12  # solar noon in Graz is about 11:00 UTC
    assert 0.5 * GRAZ.kwp * 1000 < pv.max() <= GRAZ.arrays[0].inverter_ac_w


def test_summer_day_yields_more_than_winter_day() -> None:
    summer = clear_sky_pv(GRAZ, _day("2017-06-21")).sum() / 60
    winter = clear_sky_pv(GRAZ, _day("2017-12-21")).sum() / 60
    assert summer > 2 * winter > 0


def test_inverter_limit_clips_ac_power() -> None:
    array = ArrayConfig(kwp=10, tilt_deg=30, azimuth_deg=180, inverter_ac_w=3000)
    poa = pd.Series([0.0, 500.0, 1000.0, 1200.0], index=_day("2017-06-21")[:4])
    ac = pv_from_poa(array, poa)
    assert ac.iloc[0] == 0.0
    assert ac.max() == pytest.approx(3000.0)
    assert ac.is_monotonic_increasing


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clear_sky_pv(GRAZ, pd.date_range("2017-06-21", periods=3, freq="min"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("tilt_deg", 120), ("azimuth_deg", 360), ("kwp", 0), ("losses_pct", 100)],
)
def test_bad_array_values_name_the_field(field: str, value: float) -> None:
    args = {"kwp": 5, "tilt_deg": 30, "azimuth_deg": 180} | {field: value}
    with pytest.raises(pydantic.ValidationError, match=field):
        ArrayConfig(**args)


def test_bad_site_values_name_the_field() -> None:
    array = ArrayConfig(kwp=5, tilt_deg=30, azimuth_deg=180)
    with pytest.raises(pydantic.ValidationError, match="latitude"):
        SiteConfig(latitude=95, longitude=0, arrays=(array,))
    with pytest.raises(pydantic.ValidationError, match="unknown time zone"):
        SiteConfig(latitude=45, longitude=0, timezone="Mars/Olympus", arrays=(array,))


def test_linke_turbidity_is_pvlibs_daily_interpolated_climatology() -> None:
    times = pd.date_range("2016-01-01", "2017-12-31 23:00", freq="7h", tz="UTC")
    expected = pvlib.clearsky.lookup_linke_turbidity(times, GRAZ.latitude, GRAZ.longitude)
    got = linke_turbidity(GRAZ.latitude, GRAZ.longitude, times)
    np.testing.assert_allclose(got, expected.to_numpy(), atol=1e-9)
    jan15 = pd.DatetimeIndex(["2017-01-15"], tz="UTC")
    january = pvlib.clearsky.lookup_linke_turbidity(
        jan15, GRAZ.latitude, GRAZ.longitude, interp_turbidity=False
    )
    assert linke_turbidity(GRAZ.latitude, GRAZ.longitude, jan15)[0] == pytest.approx(
        float(january.iloc[0]), abs=0.05
    )


def test_clear_sky_uses_the_days_extraterrestrial_irradiance() -> None:
    """Earth is 3 % closer to the sun in January: same sky, more DNI than a 1364 W/m2 constant."""
    noon = pd.DatetimeIndex(["2017-01-03 11:00"], tz="UTC")
    cs = clear_sky_irradiance(GRAZ, noon)
    assert cs["dni_extra"].iloc[0] == pytest.approx(1412, abs=5)
    constant = pvlib.clearsky.ineichen(
        cs["zenith"],
        cs["airmass"] * pvlib.atmosphere.alt2pres(GRAZ.altitude_m) / 101325.0,
        linke_turbidity(GRAZ.latitude, GRAZ.longitude, noon),
        altitude=GRAZ.altitude_m,
    )
    assert cs["dni"].iloc[0] == pytest.approx(
        float(constant["dni"].iloc[0]) * 1412 / 1364, rel=0.01
    )


def test_plane_irradiance_fills_in_what_a_measured_frame_lacks() -> None:
    times = pd.date_range("2017-06-21 04:00", periods=16 * 12, freq="5min", tz="UTC")
    cs = clear_sky_irradiance(GRAZ, times)
    full = plane_irradiance(GRAZ.arrays[0], cs)
    measured_like = plane_irradiance(GRAZ.arrays[0], cs[["ghi", "dni", "dhi", "zenith", "azimuth"]])
    np.testing.assert_allclose(full, measured_like, atol=1e-6)
    isotropic = plane_irradiance(GRAZ.arrays[0], cs, sky_model="isotropic")
    assert (full >= 0).all() and full.max() > isotropic.max()  # Perez adds circumsolar light
