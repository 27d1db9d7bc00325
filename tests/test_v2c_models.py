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
from optimizer.interfaces import ChargeState

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
        ("false", False),
        ("1", True),
        ({"connected": "0"}, False),
        (RawText("true"), True),
    ],
)
def test_connected_forms(payload: object, expected: bool) -> None:
    assert Connected.from_api(payload).connected is expected


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
