"""Estimate: what the policy may look at now, from the last reading and the forecast.

The surplus for the car is PV - household, the household excluding the car (W).
Between reads the last PV reading is scaled by the forecast's clear-sky ratio (now
vs. at the reading) rather than reused as if the sun had not moved; at dawn, dusk
and night, where that ratio is noise, the forecast's central value stands in.
A pure function: the same inputs always give the same `PolicyContext`.

A home battery (the reading's `battery_w`, + discharging) is accounted for here and
nowhere else. The charger's meter sees it as part of the home (`household_w` is net
of it), so the household's own consumption is `household_w + battery_w`, and:

* `battery_to_car = false` (the default): surplus = PV - the household's own
  consumption. The battery's discharge is never surplus, so the car is not given
  power the battery would pay for; the power a charging battery absorbs *is*
  surplus the car may take (car first, as evcc without a priority SoC): when the
  car draws it, the battery, which follows the meter, simply charges less.
* `battery_to_car = true`: the battery's discharge counts as surplus too, so a car
  that is charging may keep what the battery gives it. Power alone cannot say how
  much the battery *could* give (its limits and state of charge are unknown), so
  the battery never starts a car by itself.

Without a battery `battery_w` is 0 and both rules are the plain PV - household.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from optimizer.cycle.forecast_cache import step_at
from optimizer.cycle.observation import LastReading
from optimizer.interfaces import PvForecast
from optimizer.limits import ChargerLimits
from optimizer.policies.base import CommandedState, PolicyContext

CLEAR_SKY_MIN_W = 50.0
"""Below this clear-sky power (W) the ratio is too noisy to scale PV by (dawn, dusk)."""

MAX_PV_SCALE = 3.0
"""Never extrapolate PV beyond this multiple of the last reading."""


def pv_now_w(
    now: datetime, last: LastReading, forecast: PvForecast | None, *, fresh: bool
) -> float:
    """PV power now (W): the reading's own when `fresh`, else scaled to the clock."""
    pv = last.reading.pv_power_w
    if fresh or forecast is None:
        return pv
    i = step_at(forecast, now)  # the clear sky's and the central power's step (equal lengths)
    if i is None:
        return pv
    cs_then = last.clear_sky_w
    cs_now = float(forecast.clear_sky_w.item(i))
    if cs_then is not None and cs_then >= CLEAR_SKY_MIN_W:
        return pv * min(cs_now / cs_then, MAX_PV_SCALE)
    if cs_now < CLEAR_SKY_MIN_W:
        return float(forecast.central_w.item(i))  # dawn/dusk/night: the forecast knows better
    return pv


def estimate(
    now: datetime,
    last: LastReading | None,
    forecast: PvForecast | None,
    *,
    fresh: bool,
    device_id: str,
    limits: ChargerLimits,
    commanded: CommandedState,
    session_energy_wh: float,
    target_wh: float | None,
    departure: datetime | None,
    budget_nearly_out: bool,
    timezone: tzinfo,
    battery_to_car: bool = False,
    import_eur_per_kwh: float | None = None,
) -> PolicyContext:
    """The `PolicyContext` at `now`; `fresh` when `last` was read in this very cycle.

    Without any reading PV, household and surplus are None (nothing known yet).
    `battery_to_car` lets the home battery's discharge count as surplus (module doc);
    `import_eur_per_kwh` is the import price in force (EUR/kWh, None: unknown).
    """
    pv: float | None = None
    household: float | None = None
    surplus: float | None = None
    battery = 0.0
    if last is not None:
        pv = pv_now_w(now, last, forecast, fresh=fresh)
        r = last.reading
        battery = r.battery_w
        household = max(0.0, r.house_power_w - r.car_power_w + battery)  # the household's own
        surplus = pv - household
        if battery_to_car and battery > 0.0:
            surplus += battery
    reading = None if last is None else last.reading
    return PolicyContext(
        now=now,
        device_id=device_id,
        limits=limits,
        plugged_in=None if last is None else last.plugged_in,
        charging=last is not None and last.charging,
        car_power_w=0.0 if reading is None else reading.car_power_w,
        surplus_w=surplus,
        pv_w=pv,
        household_w=household,
        fresh=fresh,
        reading_age_s=None if last is None else (now - last.read_at).total_seconds(),
        session_energy_wh=session_energy_wh,
        commanded=commanded,
        forecast=forecast,
        budget_nearly_out=budget_nearly_out,
        target_wh=target_wh,
        departure=departure,
        timezone=timezone,
        battery_w=battery,
        battery_to_car=battery_to_car,
        import_eur_per_kwh=import_eur_per_kwh,
    )
