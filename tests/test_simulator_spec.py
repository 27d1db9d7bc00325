"""The simulator serves exactly the OpenAPI description, and the real client round-trips it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import httpx
import jsonschema
import pytest

from adapters.simulator.server import (
    FaultConfig,
    OfflineWindow,
    RunningSimulator,
    Simulator,
    SimulatorConfig,
    start_simulator,
)
from adapters.simulator.server.app import api_routes
from adapters.simulator.world import World, default_scenario
from adapters.v2c_cloud import (
    NO_RETRY,
    V2CAuthError,
    V2CClient,
    V2CHTTPError,
    V2CNotFound,
    V2CRateLimited,
    V2CResponseError,
    V2CTransportError,
    endpoints,
)
from adapters.v2c_cloud.endpoints import Endpoint, load_spec, resolve
from optimizer.interfaces import ChargeState, PvMode

KEY = "spec-test-key"
DEVICE = "SIM0001"
BASE = "/kong/v2c_service"


def make_config(**overrides: Any) -> SimulatorConfig:
    return SimulatorConfig.for_keys([KEY], timezone="Europe/Vienna", **overrides)


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    world = World(default_scenario(), seed=3)
    # A clock that barely moves: answers can be compared with the world after the fact.
    with start_simulator(world, make_config(speed=1e-6)) as running:
        # Midday, a day later: the car is plugged in and one session is finished.
        running.simulator.jump_to(world.now + timedelta(hours=14))
        yield running


def validator(schema: Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for a schema of the spec, its `$ref`s resolved in the spec's components."""
    rooted = {**schema, "components": load_spec()["components"]}
    return jsonschema.Draft202012Validator(rooted)


def example_query(endpoint: Endpoint) -> dict[str, str]:
    query = {p.name: p.example for p in endpoint.parameters if p.example is not None}
    if endpoint.device_param:
        query[endpoint.device_param] = DEVICE
    return query


def example_body(endpoint: Endpoint) -> Any:
    raw = load_spec()["paths"][endpoint.path][endpoint.method.lower()]
    body = raw.get("requestBody")
    return None if body is None else body["content"]["application/json"]["example"]


# Calls that make an operation's example meaningful (the card or profile it names exists).
PREPARE: dict[str, list[tuple[str, dict[str, str]]]] = {
    "rfid_delete": [("rfid_tag_add", {"code": "RFID_UID_TO_DELETE", "tag": "x"})],
    "rfid_tag_update": [("rfid_tag_add", {"code": "RFID_UID_TO_UPDATE", "tag": "x"})],
    "personalicepower_get": [("personalicepower_create", {})],
    "personalicepower_delete": [("personalicepower_create", {})],
}


def call(client: httpx.Client, endpoint: Endpoint, overrides: Mapping[str, str]) -> httpx.Response:
    body = example_body(endpoint)
    return client.request(
        endpoint.method,
        endpoint.path,
        params={**example_query(endpoint), **overrides},
        json=body,
    )


def test_routes_are_exactly_the_spec_operations() -> None:
    sim = Simulator(World(default_scenario(), seed=0), make_config())
    served = {(m, r.path) for r in api_routes(sim) for m in (r.methods or ()) if m != "HEAD"}
    expected = {
        (e.method, BASE + path)
        for e in endpoints().values()
        for path in (e.path, *e.fallback_paths)
    }
    assert served == expected
    assert ("POST", BASE + "/device/currentstatecharge") in served
    assert len(endpoints()) == 46


def test_every_operation_answers_its_response_schema(sim: RunningSimulator) -> None:
    headers_schema = load_spec()["components"]["headers"]
    with httpx.Client(base_url=sim.base_url, headers={"apikey": KEY}) as client:
        for endpoint in endpoints().values():
            for op_id, overrides in PREPARE.get(endpoint.operation_id, []):
                assert call(client, endpoints()[op_id], overrides).status_code == 200
            r = call(client, endpoint, {})
            assert r.status_code == 200, f"{endpoint.operation_id}: {r.status_code} {r.text}"
            errors = sorted(validator(endpoint.response_schema).iter_errors(r.json()), key=str)
            assert not errors, f"{endpoint.operation_id}: {errors[0].message}"
            for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
                schema = headers_schema[name]["schema"]
                jsonschema.validate(int(r.headers[name]), schema)


def test_fallback_path_answers_like_the_reference_path(sim: RunningSimulator) -> None:
    schema = endpoints()["currentstatecharge"].response_schema
    with httpx.Client(base_url=sim.base_url, headers={"apikey": KEY}) as client:
        r = client.post("/device/currentstatecharge", params={"deviceId": DEVICE})
    assert r.status_code == 200
    validator(schema).validate(r.json())


def test_error_answers_follow_the_spec(sim: RunningSimulator) -> None:
    spec = load_spec()
    intensity = spec["paths"]["/device/intensity"]["post"]["responses"]
    with httpx.Client(base_url=sim.base_url) as client:
        answers = {
            "400": client.post(
                "/device/intensity",
                params={"deviceId": DEVICE, "value": "5"},
                headers={"apikey": KEY},
            ),
            "401": client.post("/device/intensity", params={"deviceId": DEVICE, "value": "8"}),
            "404": client.post(
                "/device/intensity",
                params={"deviceId": "NOPE", "value": "8"},
                headers={"apikey": KEY},
            ),
        }
    for status, r in answers.items():
        assert r.status_code == int(status)
        schema = resolve(spec, intensity[status])["content"]["application/json"]["schema"]
        validator(schema).validate(r.json())


def client_calls() -> dict[str, Callable[[V2CClient], Any]]:
    """One typed client call per operation, with values the simulator accepts."""
    d = DEVICE
    stamp = "2025-06-01T10:00:00Z"
    return {
        "startcharge": lambda c: c.startcharge(d),
        "pausecharge": lambda c: c.pausecharge(d),
        "intensity": lambda c: c.intensity(d, 10),
        "locked": lambda c: c.locked(d, False),
        "dynamic": lambda c: c.dynamic(d, False),
        "chargefvmode": lambda c: c.chargefvmode(d, PvMode.EXCLUSIVE_PV),
        "maxpower": lambda c: c.maxpower(d, 11000),
        "max_car_int": lambda c: c.max_car_int(d, 32),
        "min_car_int": lambda c: c.min_car_int(d, 6),
        "charger_until_energy": lambda c: c.charger_until_energy(d, 20_000),
        "charger_until_minutes": lambda c: c.charger_until_minutes(d, 240),
        "startchargekw": lambda c: c.startchargekw(d, 20_000),
        "startchargeminutes": lambda c: c.startchargeminutes(d, 240),
        "timer": lambda c: c.timer(d, 1, "22:00", "06:00", True),
        "thirdparty_mode": lambda c: c.thirdparty_mode(d, 1, 1),
        "inst_type": lambda c: c.inst_type(d, 2),
        "ocpp": lambda c: c.ocpp(d, True),
        "ocpp_id": lambda c: c.ocpp_id(d, "CP-1"),
        "ocpp_addr": lambda c: c.ocpp_addr(d, "ws://ocpp.example/cp"),
        "denka_max_power": lambda c: c.denka_max_power(d, 5000),
        "inverter_ip": lambda c: c.inverter_ip(d, "192.168.1.100"),
        "wifi": lambda c: c.wifi(d, "MyWifi", "secret-password"),
        "slave_type": lambda c: c.slave_type(d, 3),
        "language": lambda c: c.language(d, 1),
        "logo_led": lambda c: c.logo_led(d, True),
        "reboot": lambda c: c.reboot(d),
        "currentstatecharge": lambda c: c.currentstatecharge(d),
        "reported": lambda c: c.reported(d),
        "connected": lambda c: c.connected(d),
        "wifilist": lambda c: c.wifilist(d),
        "rfid_tag_add": lambda c: c.rfid_tag_add(d, "card-1", "Anna"),
        "rfid_tag_update": lambda c: c.rfid_tag_update(d, "card-1", "Ben"),
        "rfid_learn": lambda c: c.rfid_learn(d, "Learned"),
        "rfid_list": lambda c: c.rfid_list(d),
        "rfid_delete": lambda c: c.rfid_delete(d, "card-1"),
        "set_rfid": lambda c: c.set_rfid(d, True),
        "stadistic_device": lambda c: c.stadistic_device(d, date(2000, 1, 1), date(2100, 1, 1)),
        "stadistic_global_me": lambda c: c.stadistic_global_me(),
        "personalicepower_create": lambda c: c.personalicepower_create(
            d, "Sun", stamp, "solar", 16
        ),
        "personalicepower_get": lambda c: c.personalicepower_get(d, stamp),
        "personalicepower_update": lambda c: c.personalicepower_update(
            d, "Sun", "2025-06-02T10:00:00Z", "solar", 20
        ),
        "personalicepower_all": lambda c: c.personalicepower_all(d),
        "personalicepower_delete": lambda c: c.personalicepower_delete(
            d, "Sun", "2025-06-02T10:00:00Z"
        ),
        "firmware_update": lambda c: c.firmware_update(d),
        "version": lambda c: c.version(d),
        "pairings_me": lambda c: c.pairings_me(),
    }


def test_real_client_round_trips_every_endpoint(sim: RunningSimulator) -> None:
    calls = client_calls()
    assert set(calls) == set(endpoints())
    with V2CClient(KEY, base_url=sim.base_url, retry=NO_RETRY) as client:
        results = {op: fn(client) for op, fn in calls.items()}
        quota = client.quota
    state = results["currentstatecharge"]
    assert state.charge_state in (ChargeState.CONNECTED, ChargeState.CHARGING)
    assert state.voltage_v == 230.0
    assert results["connected"].connected is True
    assert results["version"].version == "2.2.0"
    assert [p.id for p in results["pairings_me"]] == [DEVICE]
    assert {(c.code, c.tag) for c in results["rfid_list"]} >= {("card-1", "Ben")}
    assert results["personalicepower_get"].value == 16
    assert [p.value for p in results["personalicepower_all"]] == [20]
    sessions = sim.simulator.world.sessions(DEVICE)
    newest = results["stadistic_device"][0]
    assert len(results["stadistic_device"]) == min(5, len(sessions))
    assert newest.energy_wh == pytest.approx(sessions[-1].energy_wh, abs=1.0)  # kWh to 3 decimals
    finished = [s for s in sessions if s.end is not None]
    assert results["stadistic_global_me"][0].total_charges == len(finished)
    assert quota is not None and quota.remaining == 1000 - len(calls)
    charger = sim.simulator.world.charger(DEVICE)
    assert charger.pv_mode is PvMode.EXCLUSIVE_PV
    assert charger.setpoint_a == 10


def test_client_sees_each_failure_as_its_documented_error() -> None:
    world = World(default_scenario(), seed=0)
    cases: list[tuple[SimulatorConfig, str, type[Exception]]] = [
        (make_config(), "wrong-key", V2CAuthError),
        (make_config(daily_limit=0), KEY, V2CRateLimited),
        (make_config(faults=FaultConfig(drop_rate=1.0)), KEY, V2CTransportError),
        (make_config(faults=FaultConfig(malformed_rate=1.0)), KEY, V2CResponseError),
    ]
    for config, key, error in cases:
        with (
            start_simulator(world, config) as running,
            V2CClient(key, base_url=running.base_url, retry=NO_RETRY) as client,
            pytest.raises(error),
        ):
            client.currentstatecharge(DEVICE)
    with (
        start_simulator(world, make_config()) as running,
        V2CClient(KEY, base_url=running.base_url, retry=NO_RETRY) as client,
        pytest.raises(V2CNotFound),
    ):
        client.version("NOPE")


def test_reported_is_the_shadow_of_the_same_instant(sim: RunningSimulator) -> None:
    """Every shadow value agrees with `currentstatecharge` and the world, read at one instant."""
    shadow_schema = validator({"$ref": "#/components/schemas/ReportedShadow"})
    with (
        httpx.Client(base_url=sim.base_url, headers={"apikey": KEY}) as raw,
        V2CClient(KEY, base_url=sim.base_url, retry=NO_RETRY) as client,
    ):
        d = {"deviceId": DEVICE}
        body = raw.get("/device/reported", params=d).json()
        shadow_schema.validate(body)
        assert not shadow_schema.is_valid({**body, "ChargePower": 1.38})  # strings, like the cloud
        state, shadow = client.currentstatecharge(DEVICE), client.reported(DEVICE)
        for name in (
            "charge_state", "charge_state_code", "car_power_w", "pv_power_w", "house_power_w",
            "battery_power_w", "current_setpoint_a", "voltage_v", "phases", "session_energy_wh",
            "session_seconds", "error_code", "pv_regulation_on",
        ):  # fmt: skip
            assert getattr(shadow, name) == getattr(state, name), name
        assert state.charge_state in (ChargeState.CONNECTED, ChargeState.CHARGING)
        charger = sim.simulator.world.charger(DEVICE)
        assert (shadow.device_id, shadow.firmware_version) == (DEVICE, "2.1.7")
        assert shadow.pv_mode is charger.pv_mode
        assert (shadow.paused, shadow.locked, shadow.dynamic) == (
            charger.paused,
            charger.locked,
            charger.dynamic,
        )
        assert (shadow.ready, shadow.timer_on) == (not charger.locked, False)
        # Writes show in the next shadow.
        client.pausecharge(DEVICE)
        client.locked(DEVICE, True)
        client.dynamic(DEVICE, not charger.dynamic)
        client.chargefvmode(DEVICE, PvMode.MAX_POWER)
        client.timer(DEVICE, 1, "22:00", "06:00", True)
        after = client.reported(DEVICE)
    assert (after.paused, after.locked, after.ready, after.timer_on) == (True, True, False, True)
    assert after.dynamic is charger.dynamic
    assert (after.pv_mode, after.dynamic_power_mode, after.pause_dynamic) == (
        PvMode.MAX_POWER,
        4,
        True,
    )
    assert after.pv_regulation_on is False and after.current_setpoint_a == 0.0  # paused
    assert body["language"] == "0"  # the configuration rides along


def test_connected_is_a_bare_boolean(sim: RunningSimulator) -> None:
    with httpx.Client(base_url=sim.base_url, headers={"apikey": KEY}) as client:
        r = client.get("/device/connected", params={"deviceId": DEVICE})
    assert r.status_code == 200
    assert r.content.strip() == b"true"


def test_an_offline_charger_answers_connected_false_and_504_until_it_is_back() -> None:
    world = World(default_scenario(), seed=3)
    t0 = world.now
    window = OfflineWindow(
        device_id=DEVICE, start=t0 + timedelta(hours=1), end=t0 + timedelta(hours=4)
    )
    config = make_config(speed=1e-6, faults=FaultConfig(offline=(window,)))
    calls = client_calls()
    with (
        start_simulator(world, config) as running,
        V2CClient(KEY, base_url=running.base_url, retry=NO_RETRY) as client,
    ):
        before = client.connected(DEVICE).connected
        running.simulator.jump_to(window.start)
        offline = client.connected(DEVICE).connected
        refused: dict[str, int] = {}
        for op in ("currentstatecharge", "reported", "intensity", "pausecharge", "version"):
            with pytest.raises(V2CHTTPError) as info:
                calls[op](client)
            refused[op] = info.value.status
            assert "not connected" in str(info.value), op
        history = client.stadistic_device(DEVICE, date(2000, 1, 1), date(2100, 1, 1))
        pairings = client.pairings_me()
        running.simulator.jump_to(window.end)
        back = client.connected(DEVICE).connected
        state = client.currentstatecharge(DEVICE)
        made = client.calls_made
    assert (before, offline, back) == (True, False, True)
    assert set(refused.values()) == {504}
    assert history == [] and [p.id for p in pairings] == [DEVICE]
    assert state.charge_state is not None
    assert made == 11  # one attempt each, the refused ones included


def test_offline_window_for_an_unknown_device_is_refused() -> None:
    world = World(default_scenario(), seed=0)
    window = OfflineWindow(device_id="NOPE", start=world.now, end=world.now + timedelta(hours=1))
    with pytest.raises(ValueError, match="unknown devices: NOPE"):
        Simulator(world, make_config(faults=FaultConfig(offline=(window,))))
