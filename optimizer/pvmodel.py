"""PV power from irradiance: the one physical PV model of the code base.

Pure functions over pandas objects, in the style of pvlib (which does the
physics): solar position, Ineichen clear sky, transposition to the plane of
array, Faiman cell temperature, PVWatts DC with system losses, and the PVWatts
inverter with its AC limit. Used by the forecaster (clear-sky PV), the
simulator's world (PV under clouds) and the data loaders (measured plane
irradiance to PV power).

Units: irradiance W/m2, temperatures degC, wind m/s, power W. Index: a
tz-aware `pandas.DatetimeIndex`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pvlib

from optimizer.site import ArrayConfig, SiteConfig

INVERTER_EFFICIENCY = 0.96
"""Nominal inverter efficiency used by the PVWatts inverter model."""

DEFAULT_TEMP_AIR_C = 20.0
DEFAULT_WIND_M_S = 1.0


def _require_tz(times: pd.DatetimeIndex) -> None:
    if times.tz is None:
        raise ValueError("times must be timezone-aware (got a naive DatetimeIndex)")


def _location(site: SiteConfig) -> pvlib.location.Location:
    return pvlib.location.Location(
        site.latitude, site.longitude, tz="UTC", altitude=site.altitude_m
    )


def clear_sky_irradiance(site: SiteConfig, times: pd.DatetimeIndex) -> pd.DataFrame:
    """Ineichen clear-sky `ghi`, `dni`, `dhi` (W/m2) plus solar `zenith` and `azimuth` (deg).

    The Linke turbidity comes from pvlib's monthly climatology, looked up once
    per site and cached, because the lookup reads a file.
    """
    _require_tz(times)
    solpos = _location(site).get_solarposition(times)
    turbidity = _linke_turbidity_by_month(site.latitude, site.longitude)
    tl = pd.Series(np.asarray(turbidity)[times.month - 1], index=times)
    am_rel = pvlib.atmosphere.get_relative_airmass(solpos["apparent_zenith"])
    am_abs = pvlib.atmosphere.get_absolute_airmass(
        am_rel, pvlib.atmosphere.alt2pres(site.altitude_m)
    )
    cs = pvlib.clearsky.ineichen(solpos["apparent_zenith"], am_abs, tl, altitude=site.altitude_m)
    out = pd.DataFrame(cs, index=times).fillna(0.0)
    out["zenith"] = solpos["apparent_zenith"]
    out["azimuth"] = solpos["azimuth"]
    return out


@lru_cache(maxsize=64)
def _linke_turbidity_by_month(latitude: float, longitude: float) -> tuple[float, ...]:
    """Monthly Linke turbidity climatology at a location (dimensionless)."""
    mid_months = pd.date_range("2020-01-15", periods=12, freq="MS", tz="UTC") + pd.Timedelta(
        days=14
    )
    values = pvlib.clearsky.lookup_linke_turbidity(
        mid_months, latitude, longitude, interp_turbidity=False
    )
    return tuple(float(v) for v in values)


def plane_irradiance(array: ArrayConfig, irradiance: pd.DataFrame) -> pd.Series:
    """Global irradiance on the array's plane (W/m2), isotropic sky transposition.

    `irradiance` needs `ghi`, `dni`, `dhi`, `zenith`, `azimuth` columns, as
    returned by `clear_sky_irradiance`.
    """
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg,
        array.azimuth_deg,
        irradiance["zenith"],
        irradiance["azimuth"],
        irradiance["dni"],
        irradiance["ghi"],
        irradiance["dhi"],
        model="isotropic",
    )
    return poa["poa_global"].fillna(0.0).clip(lower=0.0)


def pv_from_poa(
    array: ArrayConfig,
    poa_w_m2: pd.Series,
    temp_air_c: pd.Series | float = DEFAULT_TEMP_AIR_C,
    wind_m_s: pd.Series | float = DEFAULT_WIND_M_S,
) -> pd.Series:
    """AC power of one array (W) from the irradiance on its plane (W/m2).

    PVWatts DC at the Faiman cell temperature, reduced by the system losses,
    then the PVWatts inverter, clipped at `inverter_ac_w` when set. Night and
    negative sensor readings give 0 W.
    """
    poa = poa_w_m2.clip(lower=0.0).fillna(0.0)
    temp_cell = pvlib.temperature.faiman(poa, temp_air_c, wind_m_s)
    dc = pvlib.pvsystem.pvwatts_dc(poa, temp_cell, array.pdc0_w, array.gamma_pdc)
    dc = dc * (1.0 - array.losses_pct / 100.0)
    ac_limit = array.inverter_ac_w or array.pdc0_w * INVERTER_EFFICIENCY
    ac = pvlib.inverter.pvwatts(dc, ac_limit / INVERTER_EFFICIENCY, INVERTER_EFFICIENCY)
    ac = pd.Series(np.asarray(ac, dtype=float), index=poa.index)
    return ac.clip(lower=0.0, upper=ac_limit).fillna(0.0)


def clear_sky_pv(
    site: SiteConfig,
    times: pd.DatetimeIndex,
    temp_air_c: pd.Series | float = DEFAULT_TEMP_AIR_C,
) -> pd.Series:
    """AC power of all the site's arrays under a clear sky (W)."""
    irradiance = clear_sky_irradiance(site, times)
    total = pd.Series(0.0, index=times)
    for array in site.arrays:
        total = total + pv_from_poa(array, plane_irradiance(array, irradiance), temp_air_c)
    return total.rename("clear_sky_pv_w")
