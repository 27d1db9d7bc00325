"""Typed results: the reference's examples in SI units, missing fields, extras, garbage."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.v2c_cloud import (
    ChargeStatistic,
    CommandResult,
    Connected,
    CurrentStateCharge,
    FirmwareVersion,
    GlobalStatistic,
    Pairing,
    Reported,
    V2CResponseError,
    endpoints,
)
from adapters.v2c_cloud.models import RawText
from adapters.v2c_cloud.operations import OPERATIONS
from optimizer.interfaces import ChargeState, PvMode

CSC = endpoints()["currentstatecharge"].response_example


def test_currentstatecharge_example_in_si_units() -> None:
    s = CurrentStateCharge.from_api(CSC)
    assert s.charge_state is ChargeState.CHARGING and s.charge_state_code == 2
    assert s.car_power_w == pytest.approx(float(CSC["power"]) * 1000)
    assert s.house_power_w == pytest.approx(float(CSC["house_power"]) * 1000)
    assert s.pv_power_w == pytest.approx(float(CSC["sun_power"]) * 1000)
    assert s.voltage_v == pytest.approx(float(CSC["voltage"]))
    assert s.current_setpoint_a == int(CSC["intensity"])
    assert s.session_seconds == float(CSC["seconds"])
    assert s.session_energy_wh == 0.0
    assert s.error_code == int(CSC["error"])
    assert s.phases == 1 and s.pv_regulation_on is True
    # 6 A at 230 V is 1380 W, as the reference's example says
    assert s.car_power_w == pytest.approx(6 * 230.0)


def test_unknown_fields_kept_and_missing_fields_none() -> None:
    s = CurrentStateCharge.from_api({"charge_state": "1", "firmware": "2.1"})
    assert s.charge_state is ChargeState.CONNECTED
    assert s.car_power_w is None and s.voltage_v is None
    assert s.model_extra == {"firmware": "2.1"}
    assert s.model_dump(mode="json")["firmware"] == "2.1"


@pytest.mark.parametrize("code", [3, 7, 99, -5])
def test_fault_codes_are_kept_not_crashed_on(code: int) -> None:
    s = CurrentStateCharge.from_api({**CSC, "charge_state": str(code)})
    assert s.charge_state is ChargeState.FAULT
    assert s.charge_state_code == code


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("power", "abc"),
        ("voltage", "nan"),
        ("charge_state", "2.5"),
        ("photovoltaic_on", "maybe"),
        ("phases", [1]),
    ],
)
def test_garbage_names_the_field(field: str, value: object) -> None:
    with pytest.raises(V2CResponseError, match=repr(field)) as info:
        CurrentStateCharge.from_api({**CSC, field: value})
    assert info.value.field == field


@pytest.mark.parametrize("payload", [[CSC], "not json", 42, RawText("<html>")])
def test_wrong_shapes_are_response_errors(payload: object) -> None:
    with pytest.raises(V2CResponseError, match="currentstatecharge"):
        CurrentStateCharge.from_api(payload)


@given(st.floats(min_value=0, max_value=50, allow_nan=False).map(lambda x: f"{x:.6f}"))
def test_kw_strings_become_watts(kw: str) -> None:
    s = CurrentStateCharge.from_api({"power": kw, "sun_power": kw, "house_power": kw})
    assert s.car_power_w == pytest.approx(float(kw) * 1000)
    assert s.pv_power_w == s.car_power_w == s.house_power_w


def test_reported_object_and_json_inside_a_string_parse_alike() -> None:
    raw = {**CSC, "extra_field": "x"}
    a = Reported.from_api(raw)
    b = Reported.from_api(json.dumps(raw))
    c = Reported.from_api(json.dumps(json.dumps(raw)))
    assert a == b == c
    assert a.car_power_w == pytest.approx(1380.0)
    assert a.model_extra == {"extra_field": "x"}
    with pytest.raises(V2CResponseError, match="reported"):
        Reported.from_api("{broken")


def test_device_statistics_example() -> None:
    example = endpoints()["stadistic_device"].response_example
    [s] = ChargeStatistic.list_from_api(example)
    assert s.energy_wh == pytest.approx(example[0]["energy"] * 1000)
    assert s.energy_by_hour_wh == pytest.approx([900.0, 3500.0, 3600.0, 1600.0])
    assert s.energy_by_hour_fv_wh is None
    assert s.start_local == datetime(2025, 10, 28, 11, 44, 47)
    assert s.created_at == datetime(2025, 10, 28, 10, 44, 52, tzinfo=UTC)
    assert s.created_at is not None and s.created_at.tzinfo is not None
    assert s.finished is True and s.warning is False and s.rfid_name == "Vicente"
    assert s.device_id == "QRPW7LV" and s.id == 17307150
    with pytest.raises(V2CResponseError, match=r"stadistic_device\[0\].*'createdAt'"):
        ChargeStatistic.list_from_api([{**example[0], "createdAt": "yesterday"}])


def test_global_statistics_and_pairings_examples() -> None:
    [g] = GlobalStatistic.list_from_api(endpoints()["stadistic_global_me"].response_example)
    assert g.total_energy_wh == pytest.approx(1_500_750.0)
    assert g.total_charges == 120
    [p] = Pairing.list_from_api(endpoints()["pairings_me"].response_example)
    assert (p.id, p.name) == ("pairing_id_123", "My Pairing")
    with pytest.raises(V2CResponseError, match="pairings_me: expected a JSON array"):
        Pairing.list_from_api({"id": "x"})


def test_command_answers_are_lenient() -> None:
    assert CommandResult.from_api({"message": "Command executed successfully"}).message == (
        "Command executed successfully"
    )
    assert CommandResult.from_api(None).message is None
    assert CommandResult.from_api(RawText("OK\n")).message == "OK"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("false", False),
        ("1", True),
        ("0", False),
        (" TRUE ", True),
        ("Online", True),
        ("offline", False),
        ("yes", True),
        ("no", False),
        ("on", True),
        ("off", False),
        ({"connected": "0"}, False),
        ({"connected": 1}, True),
        ({"connected": True, "since": "x"}, True),
        (RawText("true"), True),
        (RawText("offline\n"), False),
    ],
)
def test_connected_forms(payload: object, expected: bool) -> None:
    assert Connected.from_api(payload).connected is expected


@pytest.mark.parametrize(
    "payload",
    [None, 2, -1, 0.5, 1.0, "", "maybe", "connected", [], [True], {}, {"online": True},
     {"connected": None}, {"connected": 2}, {"connected": {"value": 1}}, RawText("<html>")],
)  # fmt: skip
def test_connected_refuses_anything_else_in_one_line_naming_the_field(payload: object) -> None:
    with pytest.raises(V2CResponseError) as info:
        Connected.from_api(payload)
    assert info.value.field == "connected"
    message = str(info.value)
    assert "'connected'" in message and "\n" not in message
    assert message.startswith("connected: ")


SHADOW = endpoints()["reported"].response_example


def test_the_shadow_reads_into_si_units() -> None:
    r = Reported.from_api(SHADOW)
    assert r.charge_state is ChargeState.CHARGING and r.charge_state_code == 2
    assert r.car_power_w == pytest.approx(1380.0)
    assert r.house_power_w == pytest.approx(3500.0)
    assert r.pv_power_w == pytest.approx(1500.0)
    assert r.battery_power_w == 0.0
    assert r.session_energy_wh == 0.0 and r.session_seconds == 93.0
    assert r.current_setpoint_a == 6.0 and r.voltage_v == pytest.approx(230.5)
    assert (r.phases, r.error_code) == (1, 0)
    assert (r.paused, r.locked, r.timer_on, r.dynamic) == (False, False, False, False)
    assert (r.ready, r.pause_dynamic, r.dynamic_power_mode) == (True, False, 2)
    assert r.pv_mode is PvMode.EXCLUSIVE_PV and r.pv_regulation_on is True
    assert (r.device_id, r.firmware_version) == ("YOUR_DEVICE_ID", "2.1.7")
    assert r.model_extra == {"language": "0"}
    assert r.model_dump(mode="json")["pv_mode"] == "EXCLUSIVE_PV"


def test_both_shapes_of_reported_give_the_same_result() -> None:
    """The shadow and an object of currentstatecharge names, for one same state."""
    shadow = {k: SHADOW[k] for k in ("ChargeState", "ChargePower", "HousePower", "FVPower")}
    old = {"charge_state": "2", "power": "1.380000", "house_power": "3.500000",
           "sun_power": "1.500000"}  # fmt: skip
    a, b = Reported.from_api(shadow), Reported.from_api(json.dumps(old))
    assert a == b
    assert a.charge_state is ChargeState.CHARGING and a.car_power_w == pytest.approx(1380.0)
    # The cloud's snake_case names for the shadow's switches (the public client's aliases).
    snake = Reported.from_api({"pause": "1", "locked": "1", "device_id": "X", "version": "2.4.6"})
    assert (snake.paused, snake.locked, snake.device_id, snake.firmware_version) == (
        True,
        True,
        "X",
        "2.4.6",
    )


def test_register_names_win_over_currentstatecharge_names() -> None:
    r = Reported.from_api({"ChargeState": "1", "charge_state": "2", "power": "1.0"})
    assert r.charge_state is ChargeState.CONNECTED
    assert r.car_power_w == pytest.approx(1000.0)  # only the old name given: it is used
    blank = Reported.from_api({"ChargePower": " ", "power": "2.0"})
    assert blank.car_power_w == pytest.approx(2000.0)  # an empty register falls back


@pytest.mark.parametrize(
    ("code", "mode", "regulating"),
    [(2, PvMode.EXCLUSIVE_PV, True), (3, PvMode.PV_MIN, True), (4, PvMode.MAX_POWER, False),
     (0, None, None), (1, None, None), (5, None, None)],
)  # fmt: skip
def test_dynamic_power_mode_codes(code: int, mode: PvMode | None, regulating: bool | None) -> None:
    r = Reported.from_api({"DynamicPowerMode": str(code)})
    assert (r.dynamic_power_mode, r.pv_mode, r.pv_regulation_on) == (code, mode, regulating)
    # photovoltaic_on, when given, is what the charger said.
    said = Reported.from_api({"DynamicPowerMode": str(code), "photovoltaic_on": "0"})
    assert said.pv_regulation_on is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("ChargePower", "abc"), ("ChargeState", "2.5"), ("Paused", "maybe"),
     ("DynamicPowerMode", [2]), ("ID", {"x": 1}), ("pause", "perhaps")],
)  # fmt: skip
def test_shadow_garbage_names_the_field(field: str, value: object) -> None:
    with pytest.raises(V2CResponseError, match=repr(field)) as info:
        Reported.from_api({**SHADOW, field: value} if field != "pause" else {field: value})
    assert info.value.field == field


def test_version_forms() -> None:
    assert FirmwareVersion.from_api({"version": "2.1.7"}).version == "2.1.7"
    assert FirmwareVersion.from_api("2.1.7").version == "2.1.7"
    assert FirmwareVersion.from_api(RawText("2.1.7")).version == "2.1.7"


@pytest.mark.parametrize("operation_id", list(endpoints()))
def test_every_reference_example_parses(operation_id: str) -> None:
    result = OPERATIONS[operation_id].parse(endpoints()[operation_id].response_example)
    assert result is not None
    json.dumps(
        result.model_dump(mode="json")
        if hasattr(result, "model_dump")
        else [r.model_dump(mode="json") for r in result]
    )
