"""The world's step-by-step short path against its reference formulations, to the bit.

`SimCharger._offer_short` skips its per-step regulation where exclusive PV is stopped and
no step's surplus covers the minimum (a night), and `_draw` skips its per-step loop where
nothing is offered: both must leave every offer, counter and regulation state exactly
as the per-step formulations do. The offers are checked against the vectorized `_offer`
(the same regulation over numpy arrays, with no skip); the draw against `_draw_steps`,
the per-step loop `_draw` runs unless every offer is 0 A.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.simulator.world.bookkeeping import SessionLog
from adapters.simulator.world.car import Car
from adapters.simulator.world.charger import LIMIT_TOL_WH, SimCharger
from adapters.simulator.world.recording import StepRecorder
from adapters.simulator.world.scenario import CarConfig, DeviceConfig
from optimizer.interfaces import PvMode

START = datetime(2017, 6, 1, tzinfo=UTC)

_STATE = (
    "_pv_on",
    "_pv_timer_s",
    "_regulated_a",
    "_fresh_plug",
    "car_power_w",
    "pv_w",
    "household_w",
    "limit_reached",
)


def _charger(draw: st.DrawFn) -> SimCharger:
    """A charger with a car plugged in, in any mode and regulation state."""
    config = DeviceConfig(
        device_id="T1",
        phases=draw(st.sampled_from([1, 3])),
        dynamic=draw(st.booleans()),
        main_fuse_w=draw(st.sampled_from([None, 6000.0, 11000.0])),
        car=CarConfig(battery_kwh=40.0, max_current_a=draw(st.integers(6, 32))),
    )
    charger = SimCharger(config, start=START, pv_mode_delay_s=120.0, regulation_interval_s=5.0)
    car = Car.from_config(config.car, draw(st.floats(0.0, 1.0)))
    session = SessionLog(device_id="T1", start=START, end=None)
    session.energy_wh = draw(st.floats(0.0, 5000.0))
    session.seconds = float(draw(st.integers(0, 7200)))
    session.pv_exported_wh = draw(st.floats(0.0, 100.0))
    charger.plug_in(car, session)
    charger.totals.pv_wh = draw(st.floats(0.0, 1e5))
    charger.totals.energy_wh = session.energy_wh
    charger.set_pv_mode(draw(st.sampled_from(list(PvMode))))
    charger.set_intensity(draw(st.integers(6, 32)))
    charger._fresh_plug = draw(st.booleans())
    charger._pv_on = draw(st.booleans())
    charger._pv_timer_s = draw(st.sampled_from([0.0, 60.0, 100.0]))
    charger._regulated_a = draw(st.sampled_from([0.0, 6.0, 13.0]))
    limit = draw(st.sampled_from(["none", "at", "near", "above"]))
    if limit != "none":
        offset = {"at": 0.0, "near": -LIMIT_TOL_WH / 2, "above": 300.0}[limit]
        charger.until_energy_wh = session.energy_wh + LIMIT_TOL_WH + offset
    if draw(st.booleans()):
        charger.until_seconds = session.seconds + draw(st.sampled_from([0.0, 60.0, 600.0]))
    return charger


@st.composite
def _segments(draw: st.DrawFn) -> tuple[SimCharger, list[float], list[float], int, float]:
    """A charger, PV and household power (W) of 1..48 steps from step `k0`, the step (s):
    nights (no PV), sun around the minimum current, and any sun."""
    charger = _charger(draw)
    n = draw(st.integers(1, 48))
    sky = draw(st.sampled_from([0.0, 2500.0, 5000.0, 7000.0, 25000.0]))
    # and the surplus of exactly 6 or 7 A on one or three phases, the edge of the minimum
    edge = st.sampled_from([1380.0, 1610.0, 4140.0, 4830.0])
    pv = draw(st.lists(st.floats(0.0, sky) | edge, min_size=n, max_size=n))
    house = draw(st.lists(st.floats(0.0, 3000.0) | st.just(0.0), min_size=n, max_size=n))
    return charger, pv, house, draw(st.integers(0, 10_000)), draw(st.sampled_from([60.0, 1.0]))


def _twin(charger: SimCharger) -> SimCharger:
    """An independent copy of the charger (its car, session and totals too)."""
    twin = SimCharger(
        charger.config,
        start=START,
        pv_mode_delay_s=charger.pv_mode_delay_s,
        regulation_interval_s=charger.regulation_interval_s,
    )
    for name, value in vars(charger).items():
        setattr(twin, name, value)
    assert charger.car is not None and charger.session is not None
    twin.car = Car(**{f: getattr(charger.car, f) for f in Car.__slots__})
    twin.session = SessionLog(**{f: getattr(charger.session, f) for f in SessionLog.__slots__})
    twin.totals = type(charger.totals)(
        **{f: getattr(charger.totals, f) for f in type(charger.totals).__slots__}
    )
    return twin


@settings(max_examples=300, deadline=None)
@given(segment=_segments())
def test_short_offers_are_the_vectorized_offers(
    segment: tuple[SimCharger, list[float], list[float], int, float],
) -> None:
    charger, pv, house, k0, dt = segment
    vectorized = _twin(charger)
    offers = charger._offer_short(pv, house, k0, dt)
    surplus = np.asarray(pv) - np.asarray(house)
    expected = vectorized._offer(surplus, np.asarray(house), k0, dt)
    assert offers == expected.tolist()
    for name in _STATE:
        assert getattr(charger, name) == getattr(vectorized, name), name


def test_a_night_in_exclusive_pv_offers_nothing_and_resets_the_restart_timer() -> None:
    """The skip's case: stopped, no sun, a restart timer running from a cloud's gap."""
    config = DeviceConfig(device_id="T1", car=CarConfig(battery_kwh=40.0))
    charger = SimCharger(config, start=START, pv_mode_delay_s=120.0, regulation_interval_s=5.0)
    charger.plug_in(Car.from_config(config.car, 0.5), SessionLog("T1", START, None))
    charger.set_pv_mode(PvMode.EXCLUSIVE_PV)
    charger._fresh_plug, charger._pv_on, charger._pv_timer_s = False, False, 60.0
    vectorized = _twin(charger)
    offers = charger._offer_short([0.0] * 15, [400.0] * 15, 0, 60.0)
    assert offers == [0.0] * 15
    assert vectorized._offer(np.full(15, -400.0), np.full(15, 400.0), 0, 60.0).tolist() == offers
    assert (charger._pv_on, charger._pv_timer_s, charger._regulated_a) == (False, 0.0, 0.0)
    assert (vectorized._pv_on, vectorized._pv_timer_s) == (False, 0.0)


@settings(max_examples=300, deadline=None)
@given(segment=_segments(), nothing=st.booleans(), record=st.booleans())
def test_the_draw_is_its_per_step_formulation(
    segment: tuple[SimCharger, list[float], list[float], int, float],
    nothing: bool,
    record: bool,
) -> None:
    """Offers of 0 A (skipped) or the regulation's own offers (the loop), recorded or not:
    the car, the session, the totals, the limit and the record to the bit."""
    charger, pv, house, k0, dt = segment
    if record:
        charger.recorder = StepRecorder(k0, len(pv))
    reference = _twin(charger)
    if record:
        reference.recorder = StepRecorder(k0, len(pv))
    offers = [0.0] * len(pv) if nothing else _twin(charger)._offer_short(pv, house, k0, dt)
    charger._draw(list(offers), pv, house, k0, dt)
    reference._draw_steps(list(offers), pv, house, k0, dt)
    assert charger.car == reference.car
    assert charger.session == reference.session
    assert charger.totals == reference.totals
    for name in _STATE:
        assert getattr(charger, name) == getattr(reference, name), name
    if record:
        assert charger.recorder is not None and reference.recorder is not None
        np.testing.assert_array_equal(charger.recorder.car_w, reference.recorder.car_w)
        np.testing.assert_array_equal(charger.recorder.current_a, reference.recorder.current_a)
