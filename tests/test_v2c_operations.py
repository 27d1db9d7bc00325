"""Every operation sends exactly what the spec says: method, path, query, header, body."""

from __future__ import annotations

import asyncio
import inspect
import json
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
import pytest

from adapters.v2c_cloud import AsyncV2CClient, endpoints
from adapters.v2c_cloud.calls import Operation
from adapters.v2c_cloud.operations import Operations
from optimizer.interfaces import PvMode
from tests.conftest import API_KEY, BASE, Recorder, make_client, ok

D = "YOUR_DEVICE_ID"
UPD0 = datetime(2023, 10, 27, 10, 0, tzinfo=UTC)
PROFILE: dict[str, Any] = {"device_id": D, "name": "SolarMode", "mode": "solar", "value": 32}
# Typed arguments chosen to produce each parameter's spec example on the wire.
TYPED_ARGS: dict[str, dict[str, Any]] = {
    "startcharge": {"device_id": D},
    "pausecharge": {"device_id": D},
    "intensity": {"device_id": D, "amps": 16},
    "locked": {"device_id": "DFL2JPV", "locked": True},
    "dynamic": {"device_id": D, "enabled": True},
    "chargefvmode": {"device_id": D, "mode": PvMode.EXCLUSIVE_PV},
    "maxpower": {"device_id": D, "power_w": 5750.0},
    "max_car_int": {"device_id": D, "amps": 32},
    "min_car_int": {"device_id": D, "amps": 6},
    "charger_until_energy": {"device_id": D, "energy_wh": 10_000.0},
    "charger_until_minutes": {"device_id": D, "minutes": 60},
    "startchargekw": {"device_id": D, "energy_wh": 15_000.0},
    "startchargeminutes": {"device_id": D, "minutes": 120},
    "timer": {
        "device_id": D, "timer_id": 1, "start_time": time(22, 0), "end_time": "06:00",
        "active": True,
    },
    "thirdparty_mode": {"device_id": D, "mode": 1, "value": 1},
    "inst_type": {"device_id": D, "installation_type": 0},
    "ocpp": {"device_id": D, "enabled": True},
    "ocpp_id": {"device_id": D, "charge_point_id": "V2C_Charger_001"},
    "ocpp_addr": {"device_id": D, "url": "ws://ocpp.server.com/endpoint"},
    "denka_max_power": {"device_id": D, "power_w": 5000},
    "inverter_ip": {"device_id": D, "ip": "192.168.1.100"},
    "wifi": {"device_id": D, "ssid": "MyWifiNetwork", "password": "MyWifiPassword123"},
    "slave_type": {"device_id": D, "meter_type": 3},
    "language": {"device_id": D, "language": 1},
    "logo_led": {"device_id": D, "on": True},
    "reboot": {"device_id": D},
    "currentstatecharge": {"device_id": D},
    "reported": {"device_id": D},
    "connected": {"device_id": D},
    "wifilist": {"device_id": D},
    "rfid_learn": {"device_id": D, "tag": "NewCardName"},
    "rfid_delete": {"device_id": D, "code": "RFID_UID_TO_DELETE"},
    "rfid_list": {"device_id": D},
    "rfid_tag_add": {"device_id": D, "code": "NEW_RFID_UID", "tag": "ManualCardName"},
    "rfid_tag_update": {"device_id": D, "code": "RFID_UID_TO_UPDATE", "tag": "UpdatedCardName"},
    "set_rfid": {"device_id": D, "enabled": True},
    "stadistic_device": {"device_id": D, "start": date(2023, 1, 1), "end": date(2023, 1, 31)},
    "stadistic_global_me": {"start": date(2023, 1, 1), "end": date(2023, 1, 31)},
    "personalicepower_create": {**PROFILE, "updated_at": UPD0},
    "personalicepower_update": {**PROFILE, "updated_at": "2023-10-27T10:01:00Z"},
    "personalicepower_get": {"device_id": D, "updated_at": UPD0},
    "personalicepower_delete": {"device_id": D, "name": "SolarMode", "updated_at": UPD0},
    "personalicepower_all": {"device_id": D},
    "firmware_update": {"device_id": D},
    "version": {"device_id": D},
    "pairings_me": {},
}  # fmt: skip


def expected_query(operation_id: str) -> dict[str, str]:
    return {
        p.name: p.example for p in endpoints()[operation_id].parameters if p.example is not None
    }


def expected_body(operation_id: str) -> dict[str, Any] | None:
    e = endpoints()[operation_id]
    if e.body_fields is None:
        return None
    return {f.name: f.example for f in e.body_fields}


def check_request(request: httpx.Request, operation_id: str) -> None:
    e = endpoints()[operation_id]
    assert request.method == e.method
    assert str(request.url).startswith(BASE + e.path)
    assert request.url.path == "/kong/v2c_service" + e.path
    assert dict(request.url.params) == expected_query(operation_id)
    assert request.headers["apikey"] == API_KEY
    body = expected_body(operation_id)
    if body is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == body


def test_every_operation_has_typed_arguments_and_a_method_on_both_clients() -> None:
    from adapters.v2c_cloud import V2CClient

    assert set(TYPED_ARGS) == set(endpoints())
    recorder = Recorder([ok()])
    async_client = AsyncV2CClient(API_KEY, base_url=BASE, transport=httpx.MockTransport(recorder))
    for op in endpoints():
        declared = getattr(Operations, op)
        assert isinstance(declared, Operation)
        assert declared.operation_id == op and declared.__doc__
        assert getattr(V2CClient, op) is declared
        method = getattr(make_client(recorder), op)
        assert (method.__name__, method.__doc__) == (op, declared.__doc__)
        pending = getattr(async_client, op)(**TYPED_ARGS[op])
        assert inspect.iscoroutine(pending)  # validated and sent only when awaited
        pending.close()
    assert recorder.requests == []


@pytest.mark.parametrize("operation_id", list(endpoints()))
def test_sync_typed_method_sends_what_the_spec_says(operation_id: str) -> None:
    e = endpoints()[operation_id]
    recorder = Recorder([ok(e.response_example)])
    client = make_client(recorder)
    getattr(client, operation_id)(**TYPED_ARGS[operation_id])
    assert len(recorder.requests) == 1
    check_request(recorder.requests[0], operation_id)


@pytest.mark.parametrize("operation_id", list(endpoints()))
def test_async_typed_method_sends_the_same(operation_id: str) -> None:
    e = endpoints()[operation_id]
    recorder = Recorder([ok(e.response_example)])

    async def go() -> Any:
        async with AsyncV2CClient(
            API_KEY, base_url=BASE, transport=httpx.MockTransport(recorder)
        ) as client:
            return await getattr(client, operation_id)(**TYPED_ARGS[operation_id])

    sync_result = getattr(make_client(Recorder([ok(e.response_example)])), operation_id)(
        **TYPED_ARGS[operation_id]
    )
    assert asyncio.run(go()) == sync_result
    check_request(recorder.requests[0], operation_id)


@pytest.mark.parametrize("operation_id", list(endpoints()))
def test_generic_request_with_spec_examples(operation_id: str) -> None:
    e = endpoints()[operation_id]
    recorder = Recorder([ok(e.response_example)])
    make_client(recorder).request(
        operation_id, expected_query(operation_id), expected_body(operation_id)
    )
    check_request(recorder.requests[0], operation_id)


def test_energy_is_sent_in_kwh_with_decimals() -> None:
    recorder = Recorder([ok()])
    make_client(recorder).startchargekw("D", 7_500.0)
    assert recorder.requests[0].url.params["kw"] == "7.5"
