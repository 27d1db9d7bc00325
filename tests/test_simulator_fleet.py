"""The simulated fleet: accounts isolated by key, generated homes, `serve --fleet`."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from adapters.served import free_port
from adapters.simulator.fleet import (
    Fleet,
    account_truth,
    generate_fleet,
    read_fleet_keys,
    start_fleet_simulator,
    write_fleet_keys,
)
from adapters.simulator.server import SimAccount, Simulator, SimulatorConfig, start_simulator
from adapters.simulator.world import World
from adapters.simulator.world.homes import Homes
from optimizer.config import AppConfig

STATE = "/thirdparty/device/currentstatecharge"


def _key(fleet: Fleet, account: int) -> dict[str, str]:
    return {"apikey": fleet.accounts[account].api_key.get_secret_value()}


# --- key isolation ----------------------------------------------------------------------


def test_a_key_reads_and_commands_only_its_own_devices() -> None:
    fleet = generate_fleet(2, 3, seed=5)
    mine, theirs = fleet.accounts[0].device_ids[0], fleet.accounts[1].device_ids[0]
    with start_fleet_simulator(fleet, speed=1.0) as sim, httpx.Client(base_url=sim.base_url) as c:
        a, b = _key(fleet, 0), _key(fleet, 1)
        assert c.post(STATE, params={"deviceId": mine}, headers=a).status_code == 200
        before = c.post(STATE, params={"deviceId": theirs}, headers=b).json()["intensity"]
        new = "7" if before != "7" else "8"
        foreign = c.post(STATE, params={"deviceId": theirs}, headers=a)
        unknown = c.post(STATE, params={"deviceId": "no-such-device"}, headers=a)
        command = c.post("/device/intensity", params={"deviceId": theirs, "value": new}, headers=a)
        # Another account's device is answered exactly like a device that does not exist.
        assert foreign.status_code == unknown.status_code == command.status_code == 404
        assert foreign.json()["message"] == unknown.json()["message"].replace(
            "no-such-device", theirs
        )
        assert c.post(STATE, params={"deviceId": theirs}, headers=b).json()["intensity"] == before
        paired = c.get("/pairings/me", headers=a).json()
        assert [p["deviceId"] for p in paired] == list(fleet.accounts[0].device_ids)
        own = c.post("/device/intensity", params={"deviceId": theirs, "value": new}, headers=b)
        assert own.status_code == 200
        assert c.post(STATE, params={"deviceId": theirs}, headers=b).json()["intensity"] == new


def test_each_key_has_its_own_daily_quota_and_tally() -> None:
    fleet = generate_fleet(2, 1, seed=1)
    config = fleet.simulator_config(daily_limit=3, speed=1.0)
    with start_simulator(fleet.world(), config) as sim, httpx.Client(base_url=sim.base_url) as c:
        a, b = _key(fleet, 0), _key(fleet, 1)
        codes = [c.get("/pairings/me", headers=a).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        answer = c.get("/pairings/me", headers=b)
        assert answer.status_code == 200
        assert answer.headers["RateLimit-Remaining"] == "2"
        truth = httpx.get(f"{sim.root_url}/sim/truth").json()["requests_per_account"]
        now = sim.simulator.now()
        rows = account_truth(sim.simulator, fleet, fleet.start, now)
    assert [(r["account"], r["chargers"], r["calls_per_day_max"]) for r in rows] == [
        ("acct-001", 1, 3),
        ("acct-002", 1, 1),
    ]
    assert all(0 <= r["solar_kwh"] <= r["ev_kwh"] for r in rows)
    (day_a,) = truth["acct-001"].values()
    (day_b,) = truth["acct-002"].values()
    assert day_a == {"counted": 3, "over_limit": 1}
    assert day_b == {"counted": 1}


def test_accounts_config_rejects_shared_keys_devices_and_stray_keys() -> None:
    one = SimAccount(name="a", api_key=SecretStr("k1"), device_ids=("D1",))
    two = SimAccount(name="b", api_key=SecretStr("k2"), device_ids=("D2",))
    assert SimulatorConfig.for_accounts([one, two]).accounts == (one, two)
    same_key = two.model_copy(update={"api_key": SecretStr("k1")})
    same_device = two.model_copy(update={"device_ids": ("D1",)})
    for accounts, why in [([one, same_key], "share one api key"), ([one, same_device], "D1")]:
        with pytest.raises(ValueError, match=why):
            SimulatorConfig.for_accounts(accounts)
    with pytest.raises(ValueError, match="exactly the accounts' keys"):
        SimulatorConfig(api_keys=(SecretStr("k1"), SecretStr("other")), accounts=(one,))
    world = World(generate_fleet(1, 1).homes[0].scenario)
    with pytest.raises(ValueError, match="devices the world lacks: D1"):
        Simulator(world, SimulatorConfig.for_accounts([one]))


# --- the generator ----------------------------------------------------------------------


def _homes_summary(fleet: Fleet) -> list[Any]:
    return [(h.account, h.scenario, h.seed) for h in fleet.homes]


def test_same_seed_same_homes_fresh_keys_other_seed_other_homes() -> None:
    first, again = generate_fleet(4, 5, seed=11), generate_fleet(4, 5, seed=11)
    assert _homes_summary(first) == _homes_summary(again)
    assert [a.sites for a in first.accounts] == [a.sites for a in again.accounts]
    keys = {a.api_key.get_secret_value() for a in (*first.accounts, *again.accounts)}
    assert len(keys) == 8  # keys are fresh secrets, never derived from the seed
    other = generate_fleet(4, 5, seed=12)
    assert [h.scenario.site for h in other.homes] != [h.scenario.site for h in first.homes]


def test_generated_homes_vary_and_add_up_per_account() -> None:
    fleet = generate_fleet(30, 7, seed=2)
    assert fleet.chargers == 210
    ids = [d for a in fleet.accounts for d in a.device_ids]
    assert len(set(ids)) == len(ids) == 210
    per_account = Counter(h.account for h in fleet.homes)
    for account in fleet.accounts:
        assert len(account.device_ids) == 7
        assert 1 <= per_account[account.name] <= 7
        assert all(isinstance(site, AppConfig) for site in account.sites)
    sites = [h.scenario.site for h in fleet.homes]
    devices = [d for h in fleet.homes for d in h.scenario.devices]
    assert all(34 <= s.latitude <= 61 and -10 <= s.longitude <= 25 for s in sites)
    assert len({s.timezone for s in sites}) >= 5
    assert len({round(s.kwp) for s in sites}) >= 5
    assert len({h.scenario.weather.kind for h in fleet.homes}) == 3
    assert len({h.seed for h in fleet.homes}) == len(fleet.homes)
    assert len({h.scenario.household.base_w for h in fleet.homes}) >= 10
    assert len({d.car.battery_kwh for d in devices}) >= 4
    assert {d.car.phases for d in devices} == {1, 3}
    assert {d.car.max_current_a for d in devices} == {16, 32}
    kinds = {d.sessions.pattern.kind for d in devices}  # type: ignore[union-attr]
    assert kinds == {"commuter", "home_office", "weekend_trips"}
    home_sizes = Counter(per_account.values())
    assert len(home_sizes) >= 3  # accounts have different numbers of homes


def test_each_site_config_matches_its_home() -> None:
    fleet = generate_fleet(3, 4, seed=9)
    homes = iter(fleet.homes)
    for account in fleet.accounts:
        for site in account.sites:
            home = next(homes)
            assert home.account == account.name
            assert site.site == home.scenario.site
            wired = [(c.device_id, c.limits.phases, c.limits.max_current_a) for c in site.chargers]
            assert wired == [
                (d.device_id, d.phases, d.max_current_a) for d in home.scenario.devices
            ]
            assert site.policy.name in ("solar_only", "min_solar")


@pytest.mark.parametrize(
    ("accounts", "chargers", "start", "why"),
    [
        (0, 1, None, "accounts must be"),
        (1, 0, None, "chargers per account must be"),
        (1, 101, None, "chargers per account must be"),
        (1, 1, datetime(2026, 6, 21), "time zone"),
    ],
)
def test_bad_generator_arguments_are_one_line_errors(
    accounts: int, chargers: int, start: datetime | None, why: str
) -> None:
    with pytest.raises(ValueError, match=why) as info:
        generate_fleet(accounts, chargers, start=start)
    assert "\n" not in str(info.value)


def test_keys_file_is_private_and_restores_the_served_fleet(tmp_path: Path) -> None:
    served = generate_fleet(3, 2, seed=4)
    path = tmp_path / "keys.json"
    path.write_text("old")
    path.chmod(0o644)
    write_fleet_keys(served, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rebuilt = generate_fleet(3, 2, seed=4).with_keys(read_fleet_keys(path))
    assert rebuilt.accounts == served.accounts
    with pytest.raises(KeyError, match=r"acct-002 \(and 1 more\)"):
        rebuilt.with_keys({"acct-001": SecretStr("x")})
    path.write_text('["not", "a", "mapping"]')
    with pytest.raises(ValueError, match="not a fleet keys file") as info:
        read_fleet_keys(path)
    assert "fleet-" not in str(info.value)


def test_repr_shows_no_key() -> None:
    fleet = generate_fleet(2, 1)
    shown = repr(fleet) + repr(fleet.accounts[0]) + repr(fleet.sim_accounts())
    assert all(a.api_key.get_secret_value() not in shown for a in fleet.accounts)


# --- homes advanced lazily --------------------------------------------------------------


def test_a_home_advanced_when_looked_at_matches_one_stepped_all_along() -> None:
    fleet = generate_fleet(1, 3, seed=3)
    lazy = fleet.world(60)
    eager = [World(h.scenario, seed=h.seed, step_s=60, clear_sky_chunk_days=1) for h in fleet.homes]
    home_of = {d: w for w in eager for d in w.device_ids}
    t = lazy.now
    commands = {t + timedelta(hours=h): 6 + h % 10 for h in range(7, 20, 3)}
    for minute in range(1, 30 * 60):
        t = fleet.start + timedelta(minutes=minute)
        for world in eager:
            world.advance_to(t)
        lazy.advance_to(t)
        if t in commands:
            for device in lazy.device_ids:  # commands reach every home at the same time
                lazy.charger(device).set_intensity(commands[t])
                home_of[device].charger(device).set_intensity(commands[t])
    assert len(commands) == 5
    for device in lazy.device_ids:
        a, b = lazy.totals(device), home_of[device].totals(device)
        for field in ("energy_wh", "solar_wh", "pv_exported_wh", "pv_wh", "household_wh"):
            assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-9, abs=1e-6)
        got = [(s.start, s.end) for s in lazy.sessions(device)]
        assert got == [(s.start, s.end) for s in home_of[device].sessions(device)]
    assert sum(lazy.totals(d).energy_wh for d in lazy.device_ids) > 0  # something charged


def test_homes_reject_mixed_starts_and_shared_devices() -> None:
    fleet = generate_fleet(1, 2, seed=1)
    home = fleet.homes[0]
    with pytest.raises(ValueError, match="in two homes"):
        Homes([World(home.scenario), World(home.scenario)])
    later = home.scenario.model_copy(update={"start": fleet.start + timedelta(hours=1)})
    other = fleet.homes[-1].scenario if len(fleet.homes) > 1 else later
    with pytest.raises(ValueError, match="different times"):
        Homes([World(home.scenario), World(later.model_copy(update={"devices": other.devices}))])


# --- serve --fleet ----------------------------------------------------------------------


def test_serve_fleet_answers_each_account_with_its_key_from_the_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.json"
    port = free_port()
    cmd = [
        sys.executable, "-m", "optimizer.cli.main", "simulator", "serve", "--port", str(port),
        "--fleet", "3:2", "--seed", "7", "--keys-file", str(keys_file),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        root = f"http://127.0.0.1:{port}"
        _wait_listening(root, proc)
        fleet = generate_fleet(3, 2, seed=7).with_keys(read_fleet_keys(keys_file))
        assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
        for k, account in enumerate(fleet.accounts):
            paired = httpx.get(f"{root}/kong/v2c_service/pairings/me", headers=_key(fleet, k))
            assert [p["deviceId"] for p in paired.json()] == list(account.device_ids)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/kong/v2c_service" in out
    assert "3 accounts, 6 chargers" in out
    for key in json.loads(keys_file.read_text()).values():
        assert key not in out and key not in err


def _wait_listening(root: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()}")  # type: ignore[union-attr]
        try:
            httpx.get(f"{root}/sim/clock", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("serve --fleet did not listen within 60 s")


def test_serve_fleet_binds_a_free_loopback_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from optimizer.cli.main import app

    served: dict[str, Any] = {}

    def fake_run(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        served.update(address=sockets[0].getsockname())
        sockets[0].close()

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    keys = tmp_path / "k.json"
    args = ["simulator", "serve", "--port", "0", "--fleet", "2:3", "--keys-file", str(keys)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    host, port = served["address"]
    assert host == "127.0.0.1" and port > 0
    assert f"http://127.0.0.1:{port}/kong/v2c_service" in result.output
    assert sorted(json.loads(keys.read_text())) == ["acct-001", "acct-002"]
    assert os.stat(keys).st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (["--fleet", "ten:2", "--keys-file", "K"], "expected ACCOUNTS:CHARGERS"),
        (["--fleet", "10", "--keys-file", "K"], "expected ACCOUNTS:CHARGERS"),
        (["--fleet", "0:5", "--keys-file", "K"], "accounts must be 1.."),
        (["--fleet", "2:500", "--keys-file", "K"], "chargers per account must be 1.."),
        (["--fleet", "2:2"], "needs --keys-file"),
        (["--fleet", "2:2", "--keys-file", "K", "--api-key", "x"], "--api-key"),
        (["--fleet", "2:2", "--keys-file", "K", "--state", "S"], "--state"),
        (["--fleet", "2:2", "--keys-file", "no-such-dir/K"], "--keys-file"),
        (["--fleet", "2:2", "--keys-file", "K", "--start", "noon"], "--start: expected ISO"),
        (["--fleet", "2:2", "--keys-file", "K", "--start", "2026-06-21T10:00"], "UTC offset"),
        (["--start", "2026-06-21T10:00Z"], "--start: only with --fleet"),
    ],
)
def test_bad_fleet_arguments_are_one_line_exit_2(
    extra: list[str], why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from optimizer.cli.main import app

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: sockets[0].close())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["simulator", "serve", "--port", "0", *extra])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and why in lines[0], result.output
    assert not (tmp_path / "K").exists()


def test_serve_fleet_starts_its_clock_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from optimizer.cli.main import app

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: sockets[0].close())
    keys = tmp_path / "k.json"
    args = ["simulator", "serve", "--port", "0", "--fleet", "2:1", "--keys-file", str(keys)]
    args += ["--speed", "0.001", "--start", "2026-06-21T10:00+02:00"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    shown = result.output.split("simulated time: ", 1)[1].split()[0]
    # the clock runs at 1/1000 of wall time: still in its first simulated minute
    assert datetime.fromisoformat(shown).replace(second=0, microsecond=0) == datetime(
        2026, 6, 21, 8, tzinfo=UTC
    )


def test_start_is_shared_by_every_home() -> None:
    start = datetime(2026, 3, 1, 6, tzinfo=UTC)
    fleet = generate_fleet(2, 3, seed=1, start=start)
    assert fleet.world().now == start
    assert {h.scenario.start_utc for h in fleet.homes} == {start}


def test_a_long_running_home_keeps_two_days_of_inputs() -> None:
    fleet = generate_fleet(1, 3, seed=2)
    homes = fleet.world()
    end = fleet.start + timedelta(days=4, hours=12)
    for hours in range(1, 4 * 24 + 13):
        homes.advance_to(fleet.start + timedelta(hours=hours))
        for device in homes.device_ids:
            homes.charger(device)
    kept = {end.date(), end.date() - timedelta(days=1)}
    for world in homes.worlds:
        inputs = world._inputs
        days = {*inputs._pv_cache, *(k[1] for k in (*inputs._house_cache, *inputs._list_cache))}
        assert days <= kept, sorted(days)
