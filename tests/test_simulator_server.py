"""The HTTP simulator over real HTTP on 127.0.0.1: auth, quota, clock, faults, writes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.simulator.server import (
    SIMULATED_TIME_HEADER,
    FaultConfig,
    RunningSimulator,
    SimulatorConfig,
    start_simulator,
)
from adapters.simulator.world import World, default_scenario
from optimizer.interfaces import PvMode

KEY = "test-key-0123"
DEVICE = "SIM0001"
MakeSim = Callable[..., RunningSimulator]


@pytest.fixture
def make_sim() -> Iterator[MakeSim]:
    """Start simulators over a fresh default world (speed 1: time moves only by jumps)."""
    started: list[RunningSimulator] = []

    def make(**overrides: Any) -> RunningSimulator:
        settings: dict[str, Any] = {
            "api_keys": (KEY,),
            "speed": 1.0,
            "timezone": "Europe/Vienna",
            **overrides,
        }
        world = World(default_scenario(), seed=1, step_s=10.0)  # coarse steps: fast jumps
        running = start_simulator(world, SimulatorConfig(**settings))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


def api(sim: RunningSimulator, timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, headers={"apikey": KEY}, timeout=timeout)


def sim_time(response: httpx.Response) -> datetime:
    return datetime.fromisoformat(response.headers[SIMULATED_TIME_HEADER])


def jump(sim: RunningSimulator, t: datetime) -> None:
    r = httpx.post(sim.root_url + "/sim/clock", json={"time": t.isoformat()})
    assert r.status_code == 200, r.text


def state(client: httpx.Client) -> dict[str, str]:
    r = client.post("/thirdparty/device/currentstatecharge", params={"deviceId": DEVICE})
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


# --- authentication -----------------------------------------------------------------------


def test_missing_or_wrong_key_is_401_and_costs_nothing(make_sim: MakeSim) -> None:
    sim = make_sim(daily_limit=10)
    url = sim.base_url + "/pairings/me"
    missing = httpx.get(url)
    wrong = httpx.get(url, headers={"apikey": KEY + "x"})
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json() == {"message": "No API key found in request"}
    assert wrong.json() == {"message": "Invalid authentication credentials"}
    assert KEY not in wrong.text
    assert wrong.headers["RateLimit-Limit"] == "10"
    with api(sim) as client:
        assert client.get("/pairings/me").headers["RateLimit-Remaining"] == "9"


def test_several_keys_have_separate_quotas(make_sim: MakeSim) -> None:
    sim = make_sim(api_keys=(KEY, "second-key"), daily_limit=3)
    with api(sim) as client:
        client.get("/pairings/me")
        client.get("/pairings/me")
    other = httpx.get(sim.base_url + "/pairings/me", headers={"apikey": "second-key"})
    assert other.headers["RateLimit-Remaining"] == "2"


# --- quota ----------------------------------------------------------------------------------


def test_ratelimit_headers_count_down_then_429_with_empty_body(make_sim: MakeSim) -> None:
    sim = make_sim(daily_limit=4)
    with api(sim) as client:
        answers = [client.get("/pairings/me") for _ in range(6)]
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429, 429]
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["3", "2", "1", "0", "0", "0"]
    assert {r.headers["RateLimit-Limit"] for r in answers} == {"4"}
    for r in answers:
        t = sim_time(r)
        midnight = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
        assert int(r.headers["RateLimit-Reset"]) == math.ceil((midnight - t).total_seconds())
    assert answers[4].content == b""


def test_errors_count_against_the_quota(make_sim: MakeSim) -> None:
    sim = make_sim(daily_limit=5)
    with api(sim) as client:
        bad = client.post("/device/intensity", params={"deviceId": DEVICE, "value": "99"})
        unknown = client.post("/device/startcharge", params={"deviceId": "NOPE"})
    assert (bad.status_code, unknown.status_code) == (400, 404)
    assert unknown.headers["RateLimit-Remaining"] == "3"


def test_call_1001_of_the_day_is_refused(make_sim: MakeSim) -> None:
    sim = make_sim()
    with api(sim) as client:
        statuses = [client.get("/pairings/me").status_code for _ in range(1001)]
    assert statuses[:1000] == [200] * 1000
    assert statuses[1000] == 429


def test_quota_resets_at_the_simulated_utc_midnight(make_sim: MakeSim) -> None:
    sim = make_sim(daily_limit=2)
    with api(sim) as client:
        first = client.get("/pairings/me")
        client.get("/pairings/me")
        assert client.get("/pairings/me").status_code == 429
        t = sim_time(first)
        midnight = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
        jump(sim, midnight - timedelta(seconds=5))
        late = client.get("/pairings/me")
        assert late.status_code == 429
        assert int(late.headers["RateLimit-Reset"]) <= 5
        jump(sim, midnight + timedelta(seconds=1))
        fresh = client.get("/pairings/me")
    assert fresh.status_code == 200
    assert fresh.headers["RateLimit-Remaining"] == "1"


# --- the simulated clock --------------------------------------------------------------------


def test_clock_is_exposed_and_runs_at_the_configured_speed(make_sim: MakeSim) -> None:
    sim = make_sim(speed=600.0)
    first = httpx.get(sim.root_url + "/sim/clock")
    body = first.json()
    assert body["speed"] == 600.0
    t0 = datetime.fromisoformat(body["time"])
    assert t0 == sim_time(first)
    with api(sim) as client:
        t1 = sim_time(client.get("/pairings/me"))
    assert t1 > t0
    jumped = httpx.post(sim.root_url + "/sim/clock", json={"advance_s": 3600}).json()
    assert datetime.fromisoformat(jumped["time"]) >= t1 + timedelta(hours=1)


def test_clock_jump_rejects_bad_bodies(make_sim: MakeSim) -> None:
    sim = make_sim()
    for body in ({"advance_s": -1}, {"time": "2030-01-01T00:00:00"}, {"when": 1}, [1]):
        r = httpx.post(sim.root_url + "/sim/clock", json=body)
        assert r.status_code == 400, body
        assert r.json()["message"]


def test_unknown_path_is_a_json_404(make_sim: MakeSim) -> None:
    sim = make_sim()
    with api(sim) as client:
        r = client.get("/device/nothing", params={"deviceId": DEVICE})
        wrong_method = client.get("/device/startcharge", params={"deviceId": DEVICE})
    assert (r.status_code, wrong_method.status_code) == (404, 404)
    assert r.json() == {"message": "no Route matched with those values"}
    assert SIMULATED_TIME_HEADER in r.headers


# --- faults ---------------------------------------------------------------------------------


def test_random_server_errors_are_counted_and_seeded(make_sim: MakeSim) -> None:
    faults = FaultConfig(error_rate=0.5, error_statuses=(500, 503), seed=7)
    runs = []
    for _ in range(2):
        sim = make_sim(faults=faults)
        with api(sim) as client:
            runs.append([client.get("/pairings/me") for _ in range(20)])
    statuses = [[r.status_code for r in run] for run in runs]
    assert statuses[0] == statuses[1]
    assert {500, 503, 200} == set(statuses[0])
    assert runs[0][-1].headers["RateLimit-Remaining"] == "980"
    assert all(r.json()["message"] for r in runs[0] if r.status_code >= 500)


def test_added_latency(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultConfig(latency_s=0.3))
    with api(sim) as client:
        r = client.get("/pairings/me")
    assert r.status_code == 200
    assert r.elapsed >= timedelta(seconds=0.3)


def test_timeout_holds_the_request_without_an_answer(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultConfig(timeout_rate=1.0, timeout_s=1.5))
    with api(sim, timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/pairings/me")


def test_malformed_json_body(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultConfig(malformed_rate=1.0))
    with api(sim) as client:
        r = client.get("/pairings/me")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)


def test_connection_drop_gives_no_http_answer(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultConfig(drop_rate=1.0))
    with api(sim) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get("/pairings/me")
    # The server survives and counted the call.
    clean = httpx.get(sim.root_url + "/sim/clock")
    assert clean.status_code == 200


def test_outage_window_gives_503_without_counting(make_sim: MakeSim) -> None:
    start = default_scenario_start() + timedelta(hours=10)  # 08:00 UTC, same UTC day
    sim = make_sim(faults=FaultConfig(outage_start=start, outage_end=start + timedelta(hours=1)))
    with api(sim) as client:
        jump(sim, start - timedelta(minutes=10))
        before = client.get("/pairings/me")
        jump(sim, start + timedelta(minutes=1))
        during = client.get("/pairings/me")
        jump(sim, start + timedelta(hours=1))
        after = client.get("/pairings/me")
    assert [before.status_code, during.status_code, after.status_code] == [200, 503, 200]
    assert during.json()["message"]
    assert during.headers["RateLimit-Remaining"] == "999"
    assert after.headers["RateLimit-Remaining"] == "998"


def test_key_revocation_at_a_simulated_time(make_sim: MakeSim) -> None:
    at = default_scenario_start() + timedelta(hours=2)
    sim = make_sim(faults=FaultConfig(revoke_keys_at=at))
    with api(sim) as client:
        assert client.get("/pairings/me").status_code == 200
        jump(sim, at)
        revoked = client.get("/pairings/me")
    assert revoked.status_code == 401
    assert revoked.json() == {"message": "Invalid authentication credentials"}


def test_keys_revoked_on_request_from_then_on_with_the_truth_of_that_instant(
    make_sim: MakeSim, tmp_path: Any
) -> None:
    """`POST /sim/revoke`: a soak revokes when its daemon has seen what it must."""
    from adapters.simulator.server.state import load_state, save_state

    sim = make_sim()
    with api(sim) as client:
        jump(sim, default_scenario_start() + timedelta(hours=12))  # a car charging
        assert client.get("/pairings/me").status_code == 200
        answer = httpx.post(sim.root_url + "/sim/revoke")
        assert answer.status_code == 200, answer.text
        at = datetime.fromisoformat(answer.json()["revoked_at"])
        refused = client.get("/pairings/me")
        again = httpx.post(sim.root_url + "/sim/revoke").json()["revoked_at"]
        jump(sim, at + timedelta(hours=2))
        truth = httpx.get(sim.root_url + "/sim/truth").json()
    assert refused.status_code == 401
    assert datetime.fromisoformat(again) == at  # the first revocation stands
    snapshot = truth["snapshots"][answer.json()["revoked_at"]]
    ((device, energy_then),) = [(s["device_id"], s["energy_wh"]) for s in snapshot]
    (now,) = truth["sessions"]
    assert device == DEVICE and now["energy_wh"] > energy_then > 0  # charged on since
    path = tmp_path / "sim.state"
    save_state(sim.simulator, path)
    restarted = load_state(path, sim.simulator.config)
    assert not restarted.is_valid_key(KEY, restarted.now())


def default_scenario_start() -> datetime:
    return World(default_scenario(), seed=1).now


# --- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "word"),
    [
        ("/device/intensity", {"deviceId": DEVICE, "value": "40"}, "value"),
        ("/device/intensity", {"deviceId": DEVICE, "value": "ten"}, "value"),
        ("/device/intensity", {"value": "10"}, "deviceId"),
        ("/device/chargefvmode", {"deviceId": DEVICE, "value": "3"}, "value"),
        ("/device/ocpp", {"deviceId": DEVICE, "value": "1"}, "id"),
        ("/device/inverter_ip", {"id": DEVICE, "value": "300.1.1.1"}, "value"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    make_sim: MakeSim, path: str, params: dict[str, str], word: str
) -> None:
    sim = make_sim()
    with api(sim) as client:
        r = client.post(path, params=params)
    assert r.status_code == 400
    assert word in r.json()["message"]


def test_bad_bodies_are_400(make_sim: MakeSim) -> None:
    sim = make_sim()
    params = {"deviceId": DEVICE, "timerId": "1"}
    with api(sim) as client:
        not_json = client.post("/device/timer", params=params, content=b"{nope")
        bad_time = client.post(
            "/device/timer",
            params=params,
            json={"start_time": "25:00", "end_time": "06:00", "active": True},
        )
    assert (not_json.status_code, bad_time.status_code) == (400, 400)
    assert "start_time" in bad_time.json()["message"]


def test_unknown_device_is_404(make_sim: MakeSim) -> None:
    sim = make_sim()
    with api(sim) as client:
        r = client.get("/device/reported", params={"deviceId": "XYZ"})
    assert r.status_code == 404
    assert "XYZ" in r.json()["message"]


# --- writes change the world ----------------------------------------------------------------


def test_charging_writes_reach_the_world(make_sim: MakeSim) -> None:
    sim = make_sim()
    world = sim.simulator.world
    charger = world.charger(DEVICE)
    jump(sim, world.now + timedelta(hours=8, minutes=30))  # 06:30 UTC: the car arrived at 06:00
    writes = [
        ("/device/chargefvmode", {"value": "2"}),
        ("/device/intensity", {"value": "8"}),
        ("/device/locked", {"value": "0"}),
        ("/device/dynamic", {"value": "1"}),
        ("/device/min_car_int", {"value": "7"}),
        ("/device/max_car_int", {"value": "20"}),
        ("/device/maxpower", {"value": "9000"}),
    ]
    with api(sim) as client:
        for path, params in writes:
            r = client.post(path, params={"deviceId": DEVICE, **params})
            assert r.json() == {"message": "Command executed successfully"}, path
        with sim.simulator.locked_world():
            assert charger.setpoint_a == 8
            assert charger.pv_mode is PvMode.MAX_POWER
            assert (charger.locked, charger.dynamic) == (False, True)
            assert (charger.min_car_a, charger.max_car_a) == (7, 20)
            assert charger.max_power_w == 9000.0
        jump(sim, sim.simulator.now() + timedelta(minutes=2))
        at_8a = state(client)
        client.post("/device/intensity", params={"deviceId": DEVICE, "value": "12"})
        jump(sim, sim.simulator.now() + timedelta(minutes=2))
        at_12a = state(client)
        client.post("/device/pausecharge", params={"deviceId": DEVICE})
        jump(sim, sim.simulator.now() + timedelta(minutes=2))
        paused = state(client)
        client.post("/device/startcharge", params={"deviceId": DEVICE})
    assert at_8a["charge_state"] == "2"
    assert (at_8a["intensity"], at_12a["intensity"]) == ("8", "12")
    phases = int(at_8a["phases"])
    assert float(at_8a["power"]) == pytest.approx(8 * 230 * phases / 1000, rel=0.02)
    assert float(at_12a["power"]) == pytest.approx(12 * 230 * phases / 1000, rel=0.02)
    assert float(paused["power"]) == 0.0
    assert charger.paused is False


def test_configuration_writes_are_read_back(make_sim: MakeSim) -> None:
    sim = make_sim()
    d = {"deviceId": DEVICE}
    with api(sim) as client:
        client.post("/device/language", params={**d, "value": "2"})
        client.post("/device/inverter_ip", params={"id": DEVICE, "value": "192.168.1.50"})
        client.post("/device/rfid/tag", params={**d, "code": "abc1", "tag": "Anna"})
        client.put("/device/rfid/tag", params={**d, "code": "abc1", "tag": "Ben"})
        client.post("/device/rfid", params={**d, "tag": "Learned"})
        cards = client.get("/device/rfid", params=d).json()
        client.delete("/device/rfid", params={**d, "code": "abc1"})
        after_delete = client.get("/device/rfid", params=d).json()
        client.post("/device/update", params=d)
        version = client.get("/version", params=d).json()
        reported = client.get("/device/reported", params=d).json()
        stamp = {"name": "Night", "updateAt": "2025-06-01T10:00:00Z"}
        client.post("/device/savepersonalicepower/v2", params={**d, **stamp}, json={"value": 10})
        profile = client.get(
            "/device/personalicepower/v2", params={**d, "updateAt": stamp["updateAt"]}
        )
        missing_delete = client.delete(
            "/device/personalicepower/v2",
            params={**d, "name": "Day", "updateAt": stamp["updateAt"]},
        )
    assert {"code": "abc1", "tag": "Ben"} in cards
    assert any(c["tag"] == "Learned" for c in cards)
    assert [c["code"] for c in after_delete] != [c["code"] for c in cards]
    assert "abc1" not in {c["code"] for c in after_delete}
    assert version == {"version": "2.2.0"}
    assert (reported["language"], reported["inverter_ip"]) == ("2", "192.168.1.50")
    assert profile.json() == {"name": "Night", "updateAt": "2025-06-01T10:00:00Z", "value": 10}
    assert missing_delete.status_code == 404


def test_statistics_are_the_sessions_the_world_produced(make_sim: MakeSim) -> None:
    sim = make_sim()
    world = sim.simulator.world
    jump(sim, world.now + timedelta(hours=22))  # past the default car's departure
    with api(sim) as client:
        stats = client.get("/stadistic/device", params={"deviceId": DEVICE}).json()
        none = client.get(
            "/stadistic/device",
            params={
                "deviceId": DEVICE,
                "chargeDateStart": "2000-01-01",
                "chargeDateEnd": "2000-01-02",
            },
        ).json()
        totals = client.get("/stadistic/global/me").json()
    with sim.simulator.locked_world():
        sessions = world.sessions(DEVICE)
    finished = [s for s in sessions if s.end is not None]
    assert finished, "the default scenario should have produced a session"
    assert len(stats) == min(5, len(sessions))
    newest = sessions[-1]
    assert stats[0]["energy"] == pytest.approx(newest.energy_wh / 1000, abs=1e-3)
    local_start = newest.start.astimezone(sim.simulator.tz).replace(tzinfo=None)
    assert stats[0]["startChargeDate"] == local_start.isoformat(timespec="seconds")
    assert stats[0]["finished"] is (newest.end is not None)
    assert none == []
    assert totals[0]["totalCharges"] == len(finished)
    total_kwh = sum(s.energy_wh for s in finished) / 1000
    assert totals[0]["totalEnergy"] == pytest.approx(total_kwh, abs=1e-3)


# --- ground truth and restarts ----------------------------------------------------------


def test_sim_truth_tallies_every_request_by_outcome(make_sim: MakeSim) -> None:
    start = default_scenario_start() + timedelta(hours=10)
    revoked = start + timedelta(hours=2)
    faults = FaultConfig(
        outage_start=start, outage_end=start + timedelta(hours=1), revoke_keys_at=revoked
    )
    sim = make_sim(faults=faults)
    with api(sim) as client:
        jump(sim, start - timedelta(minutes=10))
        state(client)
        jump(sim, start + timedelta(minutes=1))
        assert client.get("/pairings/me").status_code == 503
        jump(sim, revoked + timedelta(minutes=1))
        assert client.get("/pairings/me").status_code == 401
    truth = httpx.get(sim.root_url + "/sim/truth").json()
    day = start.date().isoformat()
    assert truth["requests_per_day"] == {day: {"counted": 1, "outage": 1, "refused_key": 1}}
    (at_revocation,) = truth["snapshots"].values()  # the world as the key was revoked
    assert [s["device_id"] for s in at_revocation] == [DEVICE]
    (now,) = truth["sessions"]
    assert now["energy_wh"] >= at_revocation[0]["energy_wh"] > 0
    bad = httpx.get(sim.root_url + "/sim/truth", params={"until": "2026-06-21T10:00"})
    assert bad.status_code == 400 and "UTC offset" in bad.json()["message"]


def test_a_restart_from_the_state_file_goes_on_where_it_stopped(
    make_sim: MakeSim, tmp_path: Any
) -> None:
    """World, settings, quota and tally carry over; the clock has run on meanwhile."""
    from adapters.simulator.server import Simulator
    from adapters.simulator.server.state import StateFileError, load_state, save_state

    sim = make_sim()
    with api(sim) as client:
        jump(sim, default_scenario_start() + timedelta(hours=9))
        r = client.post("/device/intensity", params={"deviceId": DEVICE, "value": "10"})
        assert r.status_code == 200, r.text
        before = state(client)
    path = tmp_path / "sim.state"
    save_state(sim.simulator, path)
    config = sim.simulator.config
    again = load_state(path, config)
    assert isinstance(again, Simulator)
    assert again.now() >= sim.simulator.now() - timedelta(seconds=5)
    assert again.quota.peek(KEY, again.now()).remaining == 998
    assert again.tally.per_day == sim.simulator.tally.per_day
    assert again.world.charger(DEVICE).setpoint_a == 10
    assert float(before["intensity"]) == 10
    with pytest.raises(StateFileError, match="seed"):
        load_state(path, config.model_copy(update={"seed": 99}))
    path.write_bytes(b"not a pickle")
    with pytest.raises(StateFileError, match="not a simulator state file"):
        load_state(path, config)


def test_an_energy_limit_of_0_kwh_lifts_the_limit(make_sim: MakeSim) -> None:
    # The controller lifts the session energy limit it set with 0 kWh (the simulator's
    # assumption: V2C documents no other way); refused before, as any limit <= 0.
    sim = make_sim()
    charger = sim.simulator.world.charger(DEVICE)
    d = {"deviceId": DEVICE}
    with api(sim) as client:
        r = client.post("/device/charger_until_energy", params={**d, "value": "2.5"})
        assert r.status_code == 200, r.text
        with sim.simulator.locked_world():
            assert charger.until_energy_wh == 2500.0
        r = client.post("/device/charger_until_energy", params={**d, "value": "0"})
        assert r.status_code == 200, r.text
        with sim.simulator.locked_world():
            assert charger.until_energy_wh is None
