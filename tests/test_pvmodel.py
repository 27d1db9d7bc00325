"""The one PV model: physically sensible clear-sky power and strict site validation."""

import pandas as pd
import pydantic
import pytest

from optimizer.pvmodel import clear_sky_pv, pv_from_poa
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
