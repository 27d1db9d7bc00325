"""The demo's simulator: the HTTP simulator over a scenario, its clock, the home's config.

`v2c-solar demo` runs the daemon against this simulator over real HTTP;
the simulator's `CallTally` keeps its own per-day call count beside the
daemon's ledger (the ground truth the demo's summary prints).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.simulator.fleet import Fleet
    from adapters.simulator.server import RunningSimulator
    from adapters.simulator.server.tally import CallTally
    from adapters.simulator.world import Scenario
    from optimizer.clock import ScaledClock
    from optimizer.config import AppConfig


def start_demo_simulator(
    scenario: Scenario, *, seed: int, speed: float, faults: Any = None
) -> tuple[RunningSimulator, CallTally]:
    """The HTTP simulator over `scenario` on 127.0.0.1 (free port), and its call tally."""
    from adapters.simulator.server import (
        DEMO_API_KEY,
        FaultConfig,
        SimulatorConfig,
        start_simulator,
    )
    from adapters.simulator.world import World

    config = SimulatorConfig(
        api_keys=(DEMO_API_KEY,),  # type: ignore[arg-type]  # pydantic wraps str in SecretStr
        speed=speed,
        timezone=scenario.site.timezone,
        seed=seed,
        faults=faults or FaultConfig(),
    )
    running = start_simulator(World(scenario, seed=seed), config)
    return running, running.simulator.tally


CLOCK_SAMPLES = 5
"""How many `GET /sim/clock` round trips `simulator_clock` takes to anchor on."""


def simulator_clock(
    root_url: str, *, fetch: Callable[[], Mapping[str, Any]] | None = None
) -> ScaledClock:
    """A `ScaledClock` anchored to the simulator's `GET /sim/clock` (time and speed).

    The server reads its clock before the answer travels back, and at thousands
    of simulated seconds per wall second every wall millisecond of that trip is
    seconds of simulated time: the first request of a process (a new connection,
    a world catching up since the server started) took ~40 ms, which put the
    daemon 12 simulated minutes behind the simulator at 5760x. So, as NTP does,
    the anchor is the sample with the shortest round trip, taken as read half-way
    through it. `fetch` returns the parsed body (tests); default: an HTTP GET.
    """
    import httpx

    from optimizer.clock import ScaledClock

    with httpx.Client(timeout=5.0) as http:
        get = fetch or (lambda: http.get(f"{root_url}/sim/clock").json())
        samples = [_clock_sample(get) for _ in range(CLOCK_SAMPLES)]
    trip_s, received, body = min(samples, key=lambda sample: sample[0])
    speed = float(body["speed"])
    # The server read its time half a round trip before the answer arrived, and
    # (monotonic) time has run on since, `speed` simulated seconds per second.
    elapsed_s = trip_s / 2 + (time.monotonic() - received)
    server_now = datetime.fromisoformat(body["time"])
    return ScaledClock(server_now + timedelta(seconds=elapsed_s * speed), speed)


def _clock_sample(
    fetch: Callable[[], Mapping[str, Any]],
) -> tuple[float, float, Mapping[str, Any]]:
    """One `/sim/clock` answer: (round trip s, monotonic time it arrived, body)."""
    sent = time.monotonic()
    body = fetch()
    received = time.monotonic()
    return received - sent, received, body


def demo_config(scenario: Scenario, policy: str | None) -> AppConfig:
    """The app config of the scenario's home: its site, its chargers' wiring, its prices."""
    from optimizer.config import parse_config

    chargers = [
        {
            "device_id": d.device_id,
            "limits": {
                "min_current_a": d.min_current_a,
                "max_current_a": d.max_current_a,
                "phases": d.phases,
                "voltage_v": d.voltage_v,
                "main_fuse_w": d.main_fuse_w,
            },
        }
        for d in scenario.devices
    ]
    data: dict[str, Any] = {"site": scenario.site.model_dump(), "chargers": chargers}
    if policy is not None:
        data["policy"] = {"name": policy}
    if scenario.prices is not None:
        data["prices"] = scenario.prices.model_dump(exclude_none=True)
    return parse_config(data, f"scenario {scenario.name}")


def write_demo_config(config: AppConfig, url: str, *, note: str) -> Path | None:
    """Write `config` (the demo's home) beside the demo's SQLite database `url`, its
    `[storage]` that database: `v2c-solar plan --config FILE` then reads what the demo
    recorded, for the demo's chargers, instead of `config/home.toml`'s placeholder
    device. `note` heads the file as a comment.

    The file is the database's name with `.toml` (`demo.db` -> `demo.toml`); the path
    written, or None when `url` is no SQLite file (another backend's URL may hold a
    password, which no config file gets). FileExistsError when a different file is there
    already: a config of the user's is never overwritten.
    """
    from optimizer.config import StorageConfig
    from optimizer.config_toml import config_toml

    def text(url: str) -> str:
        storage = StorageConfig(url=url)
        return config_toml(config.model_copy(update={"storage": storage}), header=note)

    return _write_beside(url, text)


def fleet_key_env(account: str) -> str:
    """The variable a fleet demo's config names for `account`'s key (`acct-001` ->
    `V2C_API_KEY_ACCT_001`): the simulator's keys are made per run and never written."""
    return "V2C_API_KEY_" + account.upper().replace("-", "_")


def write_fleet_demo_config(fleet: Fleet, url: str, *, note: str) -> Path | None:
    """Write the fleet demo's accounts and homes as a fleet file beside its SQLite database
    `url` (`fleet.db` -> `fleet.toml`; as `write_demo_config`): `plan`, `sessions` and
    `budget` with `--config FILE --account NAME` then read what it recorded. Each account's
    key is a variable's name (`fleet_key_env`), never the key."""
    from optimizer.accounts import AccountConfig, FleetConfig
    from optimizer.config import StorageConfig, WebConfig
    from optimizer.config_toml import fleet_toml

    accounts = tuple(
        AccountConfig(a.name, fleet_key_env(a.name), None, a.sites, a.name) for a in fleet.accounts
    )

    def text(url: str) -> str:
        config = FleetConfig(accounts, StorageConfig(url=url), WebConfig(), single_home=False)
        return fleet_toml(config, header=note)

    return _write_beside(url, text)


def _write_beside(url: str, text_for: Callable[[str], str]) -> Path | None:
    """Write `text_for(url)` (`url` made absolute) to the SQLite database's name with
    `.toml`; None when `url` is no SQLite file; FileExistsError when another file is there."""
    from adapters.storage.engine import absolute_sqlite_url, sqlite_file

    url = absolute_sqlite_url(url)
    database = sqlite_file(url)
    if database is None:
        return None
    text = text_for(url)
    path = Path(database).with_suffix(".toml")
    if path.exists() and path.read_text(encoding="utf-8") != text:
        raise FileExistsError(f"{path} exists: the demo's config is not written over it")
    path.write_text(text, encoding="utf-8")
    return path


__all__ = [
    "demo_config",
    "fleet_key_env",
    "simulator_clock",
    "start_demo_simulator",
    "write_demo_config",
    "write_fleet_demo_config",
]
