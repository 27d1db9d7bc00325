"""`solar_only`'s price limit (evcc's "smart cost limit"): the grid too while it is cheap.

Off by default, and then nothing changes (benchmarks/trace_backtest.py compares whole
runs; here the policy's own decisions). With a limit, a plugged-in car charges at the
maximum current while the import price in force is at or below it, and exactly as
without a limit otherwise; the backtest runs the same policy on its price column.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from optimizer.backtest.engine import BacktestInputs, BacktestSetup, policy_contender, run_backtest
from optimizer.interfaces import PvMode
from optimizer.limits import ChargerLimits
from optimizer.policies.base import PolicyContext
from optimizer.policies.registry import PolicyConfig
from optimizer.policies.solar_only import SolarOnlyParams, SolarOnlyPolicy, next_price_step
from optimizer.site import GRAZ
from tests.test_policies import LIMITS, T0, ctx

T = T0 + timedelta(seconds=420)  # 18:07 UTC
Regulation = Literal["charger", "controller"]
LIMIT = 0.10


def _ctx(price: float | None, surplus_w: float = 500.0, *, plugged: bool = True) -> PolicyContext:
    """A context at `T` (420 s past the policy tests' T0) with the import price `price`."""
    return replace(ctx(420.0, surplus_w, plugged=plugged), import_eur_per_kwh=price)


@pytest.mark.parametrize("regulation", ["charger", "controller"])
@pytest.mark.parametrize("price", [None, 0.0999, 0.1, 0.35, -0.02])
def test_without_a_limit_every_decision_is_as_before(
    regulation: Regulation, price: float | None
) -> None:
    params = SolarOnlyParams(regulation=regulation)
    plain, priced = SolarOnlyPolicy(params), SolarOnlyPolicy(params)
    for surplus in (-200.0, 500.0, 4000.0, 4000.0, 100.0):
        ctx = _ctx(None, surplus)
        expected = plain.decide(ctx)
        got = priced.decide(replace(ctx, import_eur_per_kwh=price))
        assert replace(got, import_eur_per_kwh=None) == expected
        assert got.import_eur_per_kwh == price  # recorded, never acted on
        assert priced.next_decision_at(ctx) == plain.next_decision_at(ctx)


@pytest.mark.parametrize("price", [LIMIT, 0.05, -0.02])
def test_at_or_below_the_limit_the_car_charges_at_the_maximum_from_sun_and_grid(
    price: float,
) -> None:
    policy = SolarOnlyPolicy(SolarOnlyParams(price_limit_eur_per_kwh=LIMIT))
    decision = policy.decide(_ctx(price, surplus_w=-300.0))  # no sun at all
    assert decision.charging and decision.pv_mode is PvMode.MAX_POWER
    assert decision.current_a == LIMITS.max_current_a
    assert decision.import_eur_per_kwh == price
    assert "at or below the limit" in decision.reason


@pytest.mark.parametrize("regulation", ["charger", "controller"])
def test_above_the_limit_or_without_a_price_it_follows_the_sun_as_without_one(
    regulation: Regulation,
) -> None:
    limited = SolarOnlyPolicy(SolarOnlyParams(regulation=regulation, price_limit_eur_per_kwh=LIMIT))
    plain = SolarOnlyPolicy(SolarOnlyParams(regulation=regulation))
    for price in (0.1001, None, 0.3):
        for surplus in (-300.0, 5000.0):
            ctx = _ctx(price, surplus)
            got, expected = limited.decide(ctx), plain.decide(ctx)
            assert (got.charging, got.pv_mode, got.current_a) == (
                expected.charging,
                expected.pv_mode,
                expected.current_a,
            )


def test_a_cheap_spell_ends_back_in_the_surplus_regulation() -> None:
    policy = SolarOnlyPolicy(SolarOnlyParams(price_limit_eur_per_kwh=LIMIT))
    assert policy.decide(_ctx(0.05, -300.0)).pv_mode is PvMode.MAX_POWER
    after = policy.decide(_ctx(0.30, -300.0))
    assert after.pv_mode is PvMode.EXCLUSIVE_PV  # the charger's own mode: sun only


def test_no_car_means_no_grid_however_cheap() -> None:
    policy = SolarOnlyPolicy(SolarOnlyParams(price_limit_eur_per_kwh=LIMIT))
    decision = policy.decide(_ctx(0.01, plugged=False))
    assert decision.pv_mode is PvMode.EXCLUSIVE_PV


def test_with_a_limit_the_policy_decides_again_when_the_price_may_change() -> None:
    policy = SolarOnlyPolicy(SolarOnlyParams(price_limit_eur_per_kwh=LIMIT))
    ctx = _ctx(0.3)
    policy.decide(ctx)
    assert policy.next_decision_at(ctx) == next_price_step(T) == T.replace(minute=15)
    assert next_price_step(T.replace(minute=15, second=0)) == T.replace(minute=30)


def test_the_limit_is_checked_like_any_price() -> None:
    with pytest.raises(ValidationError):
        SolarOnlyParams(price_limit_eur_per_kwh=100.0)
    assert SolarOnlyParams().price_limit_eur_per_kwh is None


# ----- in the backtest -------------------------------------------------------------------------

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
CHEAP_HOURS = range(1, 5)
"""UTC hours priced at 0.05 EUR/kWh; every other hour costs 0.30."""


def _day_with_cheap_night() -> BacktestInputs:
    index = pd.date_range(START, periods=24 * 60, freq="min")
    hours = index.hour + index.minute / 60.0
    pv = np.where((hours > 6) & (hours < 18), 5000.0 * np.sin(np.pi * (hours - 6) / 12), 0.0)
    hourly = pd.date_range(START, periods=24, freq="h")
    prices = pd.Series([0.05 if h.hour in CHEAP_HOURS else 0.30 for h in hourly], index=hourly)
    end = START + timedelta(days=1)
    sessions = pd.DataFrame(
        {"arrival": [pd.Timestamp(START)], "departure": [pd.Timestamp(end)], "energy_kwh": [60.0]}
    )
    return BacktestInputs(
        pv_w=pd.Series(pv, index=index),
        house_w=pd.Series(300.0, index=index),
        sessions=sessions,
        start=START,
        end=end,
        site=GRAZ,
        prices=prices,
    )


REACTION = timedelta(minutes=5)
"""How long the simulated charger may take to stop after the spell ends: the next cycle,
then its own exclusive-PV mode stopping for want of sun (the world's mode delay)."""


def _steps(limit: float | None) -> pd.DataFrame:
    setup = BacktestSetup(
        policies=PolicyConfig(solar_only=SolarOnlyParams(price_limit_eur_per_kwh=limit))
    )
    return run_backtest(_day_with_cheap_night(), policy_contender("solar_only"), setup).steps


def test_the_backtest_charges_from_the_grid_only_in_the_cheap_hours() -> None:
    steps, plain = _steps(LIMIT), _steps(None)
    cheap = steps["price_per_kwh"] <= LIMIT
    assert float(plain.loc[plain["price_per_kwh"] <= LIMIT, "grid_wh"].sum()) == 0.0
    full_power_wh = len(CHEAP_HOURS) * ChargerLimits().max_power_w
    assert float(steps.loc[cheap, "grid_wh"].sum()) > 0.9 * full_power_wh
    spell_end = START + timedelta(hours=CHEAP_HOURS[-1] + 1)
    dear_grid = steps[~cheap & (steps["grid_wh"] > 0)]
    late = dear_grid[(dear_grid["time"] < spell_end) | (dear_grid["time"] >= spell_end + REACTION)]
    extra_wh = float(late["grid_wh"].sum()) - float(plain.loc[:, "grid_wh"].sum())
    assert extra_wh <= 1e-6, late  # beyond the charger's reaction: no more grid than without
