"""A simulated fleet: many accounts, each with its own key, quota and homes.

    fleet = generate_fleet(100, 10, seed=3)      # 100 accounts x 10 chargers
    with start_fleet_simulator(fleet, speed=288) as sim:
        ...  # account k: base_url sim.base_url, apikey fleet.accounts[k].api_key,
             # its homes' configs fleet.accounts[k].sites (optimizer.config.AppConfig)

`generate_fleet` draws varied homes from one seed (same seed, same homes; only
the API keys are fresh random secrets every time): sites across Europe (latitude,
longitude, time zone, one south-ish array or an east/west pair, 3-15 kWp), each
home's own weather kind and seed, household load, cars (battery, accepted
current, phases) and session pattern (`optimizer.sessions`: commuter,
home_office, weekend_trips), 1-3 chargers per home, homes adding up to the
chargers asked for per account. Each home is one `World` (its own sky), served
together by `world.homes.Homes`, which advances a home only when it is read or
commanded.

Device ids are `<account>-h<home>-c<charger>` (`acct-001-h2-c1`); a key sees and
controls only its account's devices (`server.config.SimAccount`).
"""

from __future__ import annotations

import json
import os
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr

from adapters.simulator.demo import demo_config
from adapters.simulator.world.scenario import (
    CarConfig,
    DeviceConfig,
    HouseholdConfig,
    RandomSessions,
    Scenario,
    WeatherConfig,
)
from optimizer.config import AppConfig
from optimizer.sessions import CommuterPattern, HomeOfficePattern, TripEnergy, WeekendTripsPattern
from optimizer.site import ArrayConfig, SiteConfig

if TYPE_CHECKING:
    from adapters.simulator.server import (
        FaultConfig,
        RunningSimulator,
        Simulator,
        SimulatorConfig,
    )
    from adapters.simulator.server.config import SimAccount
    from adapters.simulator.world.homes import Homes

DEFAULT_START = datetime(2026, 6, 21, tzinfo=UTC)
"""Where a fleet's simulated time starts unless told (midsummer, 00:00 UTC)."""

FLEET_STEP_S = 60.0
"""The fleet worlds' step (s), the backtests' resolution: a client reading every few
minutes sees no difference from finer steps, and 1000 chargers' inputs for a day take
~130 MB (10 s steps: ~670 MB, as Python floats for the short segments between calls;
`benchmarks/fleet_simulator.py`)."""

MAX_ACCOUNTS = 10_000
MAX_CHARGERS_PER_ACCOUNT = 100

REGIONS: tuple[tuple[str, float, float, float, float], ...] = (
    # time zone, latitude min/max (deg N), longitude min/max (deg E)
    ("Europe/Lisbon", 37.0, 41.8, -9.0, -7.0),
    ("Europe/Madrid", 36.8, 43.3, -6.5, 2.5),
    ("Europe/Paris", 43.5, 50.5, -1.0, 7.0),
    ("Europe/Rome", 38.5, 45.8, 8.0, 16.0),
    ("Europe/Berlin", 48.0, 54.5, 7.0, 14.5),
    ("Europe/Vienna", 46.6, 48.7, 10.0, 16.8),
    ("Europe/Amsterdam", 51.0, 53.3, 4.0, 7.0),
    ("Europe/Warsaw", 50.0, 54.3, 15.0, 23.5),
    ("Europe/Stockholm", 55.5, 60.0, 12.0, 18.5),
    ("Europe/Athens", 37.5, 41.0, 21.0, 24.5),
)
"""Where homes are drawn: a zone and a latitude/longitude box inside its country."""


@dataclass(frozen=True, slots=True)
class FleetAccount:
    """One account of the fleet: its name, its key on the simulator, its homes' configs."""

    name: str
    api_key: SecretStr
    sites: tuple[AppConfig, ...]

    @property
    def device_ids(self) -> tuple[str, ...]:
        """Every charger of the account, home by home."""
        return tuple(c.device_id for site in self.sites for c in site.chargers)


@dataclass(frozen=True, slots=True)
class FleetHome:
    """One home: the account it belongs to, its world's scenario and seed."""

    account: str
    scenario: Scenario
    seed: int


@dataclass(frozen=True, slots=True)
class Fleet:
    """Accounts and the homes the simulator serves them (see the module doc)."""

    accounts: tuple[FleetAccount, ...]
    homes: tuple[FleetHome, ...]
    seed: int
    start: datetime

    @property
    def chargers(self) -> int:
        """Chargers in the whole fleet."""
        return sum(len(home.scenario.devices) for home in self.homes)

    def world(self, step_s: float = FLEET_STEP_S) -> Homes:
        """Every home's `World` (steps of `step_s` seconds), served together, lazily."""
        from adapters.simulator.world.homes import Homes
        from adapters.simulator.world.world import World

        return Homes(
            [
                World(h.scenario, seed=h.seed, step_s=step_s, clear_sky_chunk_days=1)
                for h in self.homes
            ]
        )

    def sim_accounts(self) -> tuple[SimAccount, ...]:
        """The accounts as the simulator's config takes them (key and devices)."""
        from adapters.simulator.server.config import SimAccount

        return tuple(
            SimAccount(name=a.name, api_key=a.api_key, device_ids=a.device_ids)
            for a in self.accounts
        )

    def simulator_config(self, **settings: Any) -> SimulatorConfig:
        """A simulator config serving this fleet's accounts (`settings`: speed, faults, ...)."""
        from adapters.simulator.server import SimulatorConfig

        settings.setdefault("seed", self.seed)
        return SimulatorConfig.for_accounts(self.sim_accounts(), **settings)

    def with_keys(self, keys: Mapping[str, SecretStr]) -> Fleet:
        """This fleet with the accounts' keys replaced by `keys` (account name -> key), e.g.
        the fleet another process serves: `generate_fleet(...)` with the same arguments
        and seed, and `read_fleet_keys` of its keys file. KeyError naming a missing one."""
        missing = [a.name for a in self.accounts if a.name not in keys]
        if missing:
            raise KeyError(f"no key for account {missing[0]} (and {len(missing) - 1} more)")
        accounts = tuple(replace(a, api_key=keys[a.name]) for a in self.accounts)
        return replace(self, accounts=accounts)

    def __repr__(self) -> str:
        return f"Fleet(accounts={len(self.accounts)}, chargers={self.chargers}, seed={self.seed})"


def start_fleet_simulator(
    fleet: Fleet,
    *,
    speed: float = 1.0,
    step_s: float = FLEET_STEP_S,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningSimulator:
    """Serve `fleet` on `host:port` (loopback, a free port if 0); a context manager whose
    `base_url` every account's client uses with its own key (see `start_simulator`)."""
    from adapters.simulator.server import FaultConfig, start_simulator

    config = fleet.simulator_config(speed=speed, faults=faults or FaultConfig())
    return start_simulator(fleet.world(step_s), config, host=host, port=port)


def account_truth(
    sim: Simulator, fleet: Fleet, start: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Each account's ground truth on the simulator serving `fleet` (the fleet demo's
    per-account summary beside the daemon's): chargers and homes, the most calls its key
    had counted in one simulated UTC day, and the energy into its cars (kWh, with the
    solar part) over the sessions still open or ended at or after `start`, with the world
    as of `until` (or later: the world never goes back)."""
    rows = []
    with sim.world_as_of(until) as world:
        for account in fleet.accounts:
            logs = [log.to_record() for d in account.device_ids for log in world.sessions(d)]
            ours = [s for s in logs if s.end is None or s.end >= start]
            tally = sim.account_tallies.get(account.name)
            per_day = {} if tally is None else tally.per_day
            rows.append(
                {
                    "account": account.name,
                    "chargers": len(account.device_ids),
                    "homes": len(account.sites),
                    "calls_per_day_max": max(per_day.values(), default=0),
                    "ev_kwh": round(sum(s.energy_wh for s in ours) / 1000, 3),
                    "solar_kwh": round(sum(s.solar_wh for s in ours) / 1000, 3),
                }
            )
    return rows


def write_fleet_keys(fleet: Fleet, path: Path) -> None:
    """Write every account's key to `path` as JSON {account: key}, readable by its owner
    only (mode 0600, also when the file existed). The one place the keys are written."""
    keys = {a.name: a.api_key.get_secret_value() for a in fleet.accounts}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        json.dump(keys, f, indent=1)
        f.write("\n")


def read_fleet_keys(path: Path) -> dict[str, SecretStr]:
    """The keys `write_fleet_keys` wrote (account name -> key); ValueError (one line,
    naming the file, never a key) when it is not such a file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a fleet keys file ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
    ):
        raise ValueError(f"{path}: not a fleet keys file (expected {{account: key}})")
    return {name: SecretStr(key) for name, key in data.items()}


def generate_fleet(
    accounts: int,
    chargers_per_account: int,
    *,
    seed: int = 0,
    start: datetime | None = None,
) -> Fleet:
    """`accounts` accounts of `chargers_per_account` chargers each, drawn from `seed`.

    ValueError (one line) for counts out of range or a naive `start`.
    """
    if not 1 <= accounts <= MAX_ACCOUNTS:
        raise ValueError(f"accounts must be 1..{MAX_ACCOUNTS}, got {accounts}")
    if not 1 <= chargers_per_account <= MAX_CHARGERS_PER_ACCOUNT:
        raise ValueError(
            f"chargers per account must be 1..{MAX_CHARGERS_PER_ACCOUNT}, "
            f"got {chargers_per_account}"
        )
    start = DEFAULT_START if start is None else start
    if start.tzinfo is None:
        raise ValueError(f"start must carry a time zone, got {start.isoformat()}")
    rng = random.Random(seed)
    fleet_accounts: list[FleetAccount] = []
    homes: list[FleetHome] = []
    for a in range(1, accounts + 1):
        name = f"acct-{a:03d}"
        account_homes = [
            FleetHome(name, _scenario(rng, f"{name}-h{h}", size, start), rng.randrange(2**31))
            for h, size in enumerate(_home_sizes(rng, chargers_per_account), start=1)
        ]
        sites = tuple(_app_config(rng, home.scenario) for home in account_homes)
        key = SecretStr(f"fleet-{secrets.token_urlsafe(24)}")
        fleet_accounts.append(FleetAccount(name=name, api_key=key, sites=sites))
        homes.extend(account_homes)
    return Fleet(tuple(fleet_accounts), tuple(homes), seed, start)


def _home_sizes(rng: random.Random, chargers: int) -> list[int]:
    """Chargers per home adding up to `chargers`: mostly one, some two or three."""
    sizes: list[int] = []
    while chargers > 0:
        n = min(chargers, rng.choice((1, 1, 1, 2, 2, 3)))
        sizes.append(n)
        chargers -= n
    return sizes


def _scenario(rng: random.Random, home: str, chargers: int, start: datetime) -> Scenario:
    site = _site(rng)
    return Scenario(
        name=home,
        description=f"fleet home {home}",
        site=site,
        devices=tuple(_device(rng, f"{home}-c{c}") for c in range(1, chargers + 1)),
        weather=_weather(rng),
        household=_household(rng),
        start=start,
    )


def _site(rng: random.Random) -> SiteConfig:
    zone, lat_lo, lat_hi, lon_lo, lon_hi = rng.choice(REGIONS)
    kwp = round(rng.uniform(3.0, 15.0), 1)
    tilt = round(rng.uniform(10.0, 40.0))
    arrays: tuple[ArrayConfig, ...]
    if rng.random() < 0.3:  # an east/west roof
        arrays = (
            ArrayConfig(
                kwp=round(kwp / 2, 2), tilt_deg=tilt, azimuth_deg=round(rng.uniform(80, 110))
            ),
            ArrayConfig(
                kwp=round(kwp / 2, 2), tilt_deg=tilt, azimuth_deg=round(rng.uniform(250, 280))
            ),
        )
    else:
        arrays = (ArrayConfig(kwp=kwp, tilt_deg=tilt, azimuth_deg=round(rng.uniform(135, 225))),)
    return SiteConfig(
        latitude=round(rng.uniform(lat_lo, lat_hi), 3),
        longitude=round(rng.uniform(lon_lo, lon_hi), 3),
        altitude_m=round(rng.uniform(0.0, 800.0)),
        timezone=zone,
        arrays=arrays,
    )


def _weather(rng: random.Random) -> WeatherConfig:
    kind = rng.choices(("clear", "broken_clouds", "overcast"), weights=(3, 5, 2))[0]
    if kind == "broken_clouds":
        low = rng.uniform(0.1, 0.4)
        return WeatherConfig(
            kind="broken_clouds",
            clear_mean_s=rng.uniform(200.0, 1200.0),
            cloud_mean_s=rng.uniform(100.0, 600.0),
            cloud_transmittance=(low, min(low + rng.uniform(0.1, 0.4), 1.0)),
        )
    if kind == "overcast":
        low = rng.uniform(0.1, 0.3)
        return WeatherConfig(
            kind="overcast", overcast_transmittance=(low, low + rng.uniform(0.1, 0.3))
        )
    return WeatherConfig(kind="clear")


def _household(rng: random.Random) -> HouseholdConfig:
    return HouseholdConfig(
        base_w=round(rng.uniform(150.0, 500.0)),
        noise_w=round(rng.uniform(10.0, 60.0)),
        spikes_per_day=round(rng.uniform(10.0, 35.0), 1),
        spike_w=(500.0, round(rng.uniform(1500.0, 3500.0))),
    )


def _device(rng: random.Random, device_id: str) -> DeviceConfig:
    phases: Literal[1, 3] = 3 if rng.random() < 0.8 else 1
    max_current = rng.choice((16, 16, 16, 32))
    battery = rng.choice((40.0, 50.0, 58.0, 64.0, 77.0, 82.0, 100.0))
    car = CarConfig(
        battery_kwh=battery,
        max_current_a=rng.choice((16, 16, 32)) if phases == 3 else rng.choice((16, 32)),
        phases=3 if phases == 3 and rng.random() < 0.85 else 1,
        departure_soc=round(rng.uniform(0.7, 0.9), 2),
    )
    return DeviceConfig(
        device_id=device_id,
        phases=phases,
        max_current_a=max_current,
        initial_current_a=min(16, max_current),
        car=car,
        sessions=RandomSessions(kind="random", pattern=_pattern(rng, battery)),
    )


def _pattern(
    rng: random.Random, battery_kwh: float
) -> CommuterPattern | HomeOfficePattern | WeekendTripsPattern:
    kind = rng.choices(("commuter", "home_office", "weekend_trips"), weights=(5, 3, 2))[0]
    if kind == "commuter":
        km = rng.uniform(15.0, 70.0)
        return CommuterPattern(
            leave=_clock(rng, 6.5, 8.5),
            back=_clock(rng, 16.5, 18.5),
            trip=TripEnergy(km_mean=km, km_sd=km / 3, battery_kwh=battery_kwh),
        )
    if kind == "home_office":
        return HomeOfficePattern(
            leave=_clock(rng, 9.0, 11.0),
            back=_clock(rng, 14.0, 16.0),
            trip_probability=round(rng.uniform(0.1, 0.4), 2),
            trip=TripEnergy(
                km_mean=30.0, km_sd=20.0, km_min=3.0, km_max=150.0, battery_kwh=battery_kwh
            ),
        )
    return WeekendTripsPattern(
        leave=_clock(rng, 8.0, 10.0),
        back=_clock(rng, 17.0, 20.0),
        trip=TripEnergy(
            km_mean=120.0, km_sd=60.0, km_min=20.0, km_max=350.0, battery_kwh=battery_kwh
        ),
    )


def _clock(rng: random.Random, lo_h: float, hi_h: float) -> time:
    """A local time uniform in [lo_h, hi_h) hours, on a 5-minute grid."""
    minutes = 5 * round(rng.uniform(lo_h, hi_h) * 12)
    return time(minutes // 60, minutes % 60)


def _app_config(rng: random.Random, scenario: Scenario) -> AppConfig:
    """The home's daemon config: its site and chargers (`demo_config`), and a policy."""
    policy = rng.choices(("solar_only", "min_solar"), weights=(7, 3))[0]
    return demo_config(scenario, policy)


__all__ = [
    "DEFAULT_START",
    "FLEET_STEP_S",
    "Fleet",
    "FleetAccount",
    "FleetHome",
    "account_truth",
    "generate_fleet",
    "read_fleet_keys",
    "start_fleet_simulator",
    "write_fleet_keys",
]
