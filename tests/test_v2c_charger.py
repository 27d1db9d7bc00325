"""CloudCharger: the Charger port over the sync client, errors mapped to the port's."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.v2c_cloud import endpoints
from adapters.v2c_cloud.charger import CloudCharger
from optimizer.interfaces import (
    Charger,
    ChargerAuthError,
    ChargerError,
    ChargerRateLimited,
    ChargeState,
    PvMode,
)
from tests.conftest import Recorder, make_client, ok

T0 = datetime(2026, 6, 21, 12, tzinfo=UTC)
CSC = endpoints()["currentstatecharge"].response_example


def charger(recorder: Recorder) -> CloudCharger:
    return CloudCharger(make_client(recorder), "DEV1", clock=lambda: T0)


def test_implements_the_port() -> None:
    assert isinstance(charger(Recorder([ok()])), Charger)


def test_read_maps_the_reference_example_to_a_reading() -> None:
    r = charger(Recorder([ok(CSC)])).read()
    assert r.time == T0 and r.device_id == "DEV1"
    assert r.charge_state is ChargeState.CHARGING and r.charge_state_code == 2
    assert r.car_power_w == pytest.approx(1380.0)
    assert r.pv_power_w == pytest.approx(1500.0)
    assert r.house_power_w == pytest.approx(3500.0)  # includes the car
    assert r.household_w == pytest.approx(3500.0 - 1380.0)
    assert r.voltage_v == pytest.approx(230.5) and r.phases == 1
    assert r.current_setpoint_a == 6 and r.session_seconds == 93 and r.error_code == 244
    assert r.pv_regulation_on is True


def test_read_parses_the_home_battery_power() -> None:
    assert charger(Recorder([ok(CSC)])).read().battery_w == 0.0  # the reference's "0.000000"
    discharging = charger(Recorder([ok({**CSC, "battery": "1.250000"})])).read()
    assert discharging.battery_w == pytest.approx(1250.0)
    charging = charger(Recorder([ok({**CSC, "battery": "-2.5"})])).read()
    assert charging.battery_w == pytest.approx(-2500.0)
    absent = charger(Recorder([ok({k: v for k, v in CSC.items() if k != "battery"})])).read()
    assert absent.battery_w == 0.0


def test_read_without_power_fields_is_an_error_naming_the_field() -> None:
    with pytest.raises(ChargerError, match="'sun_power'"):
        charger(Recorder([ok({k: v for k, v in CSC.items() if k != "sun_power"})])).read()


def test_commands_send_the_right_calls() -> None:
    recorder = Recorder([ok()])
    c = charger(recorder)
    c.set_current(16)
    c.set_pv_mode(PvMode.EXCLUSIVE_PV)
    c.start()
    c.pause()
    sent = [(r.url.path.rsplit("/", 1)[-1], dict(r.url.params)) for r in recorder.requests]
    assert sent == [
        ("intensity", {"deviceId": "DEV1", "value": "16"}),
        ("chargefvmode", {"deviceId": "DEV1", "value": "1"}),
        ("startcharge", {"deviceId": "DEV1"}),
        ("pausecharge", {"deviceId": "DEV1"}),
    ]


def test_errors_become_port_errors() -> None:
    with pytest.raises(ChargerAuthError) as auth:
        charger(Recorder([httpx.Response(401)])).start()
    assert auth.value.retryable is False
    with pytest.raises(ChargerRateLimited) as limited:
        charger(Recorder([httpx.Response(429, headers={"Retry-After": "60"})])).read()
    assert limited.value.reset_s == 60.0
    with pytest.raises(ChargerError) as server:
        charger(Recorder([httpx.Response(503)])).pause()
    assert server.value.retryable is True
    with pytest.raises(ChargerError) as bad:
        charger(Recorder([ok()])).set_current(40)
    assert bad.value.retryable is False
    with pytest.raises(ChargerError) as timeout:
        charger(Recorder([httpx.ConnectTimeout("slow")])).read()
    assert timeout.value.retryable is True


def test_bad_setpoint_spends_no_call() -> None:
    recorder = Recorder([ok()])
    with pytest.raises(ChargerError):
        charger(recorder).set_current(5)
    assert recorder.requests == []
