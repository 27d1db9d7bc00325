"""A fleet's homes plan with their own `[prices]`: shared feeds, a small refresh pool.

Three accounts over one frozen demo simulator (each one charger, one site): acme and
zeta on tariff A, beta on tariff B, both generic JSON price feeds served by an
`httpx.MockTransport` (the adapters' own HTTP seam; no network) that answers hourly
prices computed from the hour, for whatever day is asked. Identical weather configs at
the same place share a feed too (checked without fetching). The fleet is wired as
`run --config fleet.toml` wires it (`SharedLiveInputs`, `fleet_daemons`, `FleetRunner`
with the shared feeds' jobs); the test moves the clock to the next due job, wakes
the workers and waits until they ran it (`settle`): no wall-clock sleeps. A hanging
provider is held by an event the test opens at the end, never by sleeping. The
refresh pool (`FleetBackground`) is also tested alone over jobs that count their runs.
"""

from __future__ import annotations

import copy
import json
import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from adapters.served import free_port
from adapters.simulator.demo import demo_config, start_demo_simulator
from adapters.simulator.fleet import generate_fleet, start_fleet_simulator
from adapters.simulator.inprocess import SimClock
from adapters.simulator.server import DEMO_API_KEY, RunningSimulator
from adapters.simulator.world import DeviceConfig, default_scenario
from adapters.storage import SqlStore
from adapters.v2c_cloud.pool import HttpPool
from optimizer.accounts import Account
from optimizer.background import BackgroundJob
from optimizer.cli.main import app
from optimizer.composition import SharedLiveInputs
from optimizer.config import AppConfig
from optimizer.daemon.cloud import AccountDaemons, fleet_daemons
from optimizer.daemon.fleet import FleetBackground, FleetRunner
from optimizer.forecast.config import ForecastConfig
from optimizer.prices.config import PricesConfig
from tests.test_cli_accounts import _site_toml
from tests.test_fleet_targets import step_fleet_until, write_fleet

T0 = default_scenario().start_utc
HOURS = 3
SECRET = "price-feed-s3cret"
TARIFF_BASE = {"a": 0.10, "b": 0.40}
"""EUR/kWh of each tariff's first hour; each hour adds 0.001 (A and B never meet)."""
HOMES = {"acme": ("SIMA", "a"), "beta": ("SIMB", "b"), "zeta": ("SIMC", "a")}
"""Account -> its charger and its tariff."""
Handler = Callable[[httpx.Request], httpx.Response]


def tariff(name: str, t: datetime) -> float:
    """Tariff `name`'s price (EUR/kWh) in the UTC hour holding `t`."""
    hours = int((t - T0.replace(hour=0)).total_seconds() // 3600)
    return round(TARIFF_BASE[name] + 0.001 * hours, 6)


def price_feed(request: httpx.Request) -> httpx.Response:
    """Hourly prices of the tariff the path names, two days either side of T0."""
    if request.headers.get("X-Key") != SECRET:
        return httpx.Response(401)
    name = request.url.path.strip("/")
    first = T0.replace(hour=0) - timedelta(days=2)
    starts = [first + timedelta(hours=h) for h in range(24 * 5)]
    data = [{"start": s.isoformat(), "price": tariff(name, s)} for s in starts]
    return httpx.Response(200, json={"data": data})


class Counted:
    """A MockTransport handler counting the requests per tariff, answering through `then`;
    the requests for the `hanging` tariffs (None: every one) wait until `release` is set
    (it is, until a test clears it). `entered[name]`: tariff `name` was asked."""

    def __init__(self, then: Handler = price_feed, *, hanging: set[str] | None = None) -> None:
        self.then = then
        self.hanging = set(TARIFF_BASE) if hanging is None else hanging
        self.requests: Counter[str] = Counter()
        self.entered = {name: threading.Event() for name in TARIFF_BASE}
        self.release = threading.Event()
        self.release.set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.strip("/")
        self.requests[name] += 1
        self.entered[name].set()
        if name in self.hanging:
            assert self.release.wait(60.0), "the test never let the provider answer"
        return self.then(request)


def _site(device: str, name: str, cache: Path) -> AppConfig:
    scenario = default_scenario().model_copy(update={"devices": (DeviceConfig(device_id=device),)})
    prices = PricesConfig.model_validate(
        {
            "provider": "json_url",
            "cache_dir": str(cache),
            "json_url": {"url": f"https://prices.example/{name}", "header_name": "X-Key",
                         "header_env": "PRICE_KEY"},
        }
    )  # fmt: skip
    return demo_config(scenario, "solar_only").model_copy(update={"prices": prices})


class PricedFleet:
    """The three accounts' daemons and the fleet's shared feeds, running."""

    def __init__(self, tmp_path: Path, feed: Counted) -> None:
        served = tuple(DeviceConfig(device_id=device) for device, _ in HOMES.values())
        scenario = default_scenario().model_copy(update={"devices": served})
        self.sim: RunningSimulator = start_demo_simulator(scenario, seed=1, speed=0.001)[0]
        self.clock = self.sim.simulator.clock
        self.db = tmp_path / "fleet.db"
        self.store = SqlStore(f"sqlite:///{self.db}")
        self.pool = HttpPool(timeout=30.0)
        accounts = [
            Account(name, SecretStr(DEMO_API_KEY), (_site(device, tariff, tmp_path / "cache"),))
            for name, (device, tariff) in HOMES.items()
        ]
        transport = httpx.MockTransport(feed)
        self.inputs = SharedLiveInputs(
            self.clock, {"PRICE_KEY": SECRET}, prices_transport=transport, scoped_caches=True
        )
        self.wired: tuple[AccountDaemons, ...] = fleet_daemons(
            accounts, self.pool, self.sim.base_url, self.clock, self.store, inputs=self.inputs
        )
        self.runner = FleetRunner(self.wired, self.clock, background=self.inputs.jobs)
        self.runner.start()

    def run_until(self, until: datetime, *, hanging: set[str] | None = None) -> None:
        """Every job due up to `until` run, in clock order, the refreshes too but the
        `hanging` ones (job names, None: every one), whose provider is known to hang."""
        jobs = {job.name for job in self.inputs.jobs}
        stuck = jobs if hanging is None else hanging

        def refreshed(t: datetime) -> bool:
            return self.runner.background.settle(t, timeout_s=60, hanging=stuck)

        step_fleet_until(self.sim, self.runner, until, refreshed)

    def decisions(self) -> dict[str, list[tuple[datetime, float | None]]]:
        """Each account's decisions: (time, import price recorded)."""
        out: dict[str, list[tuple[datetime, float | None]]] = {}
        for account, t, price in _decisions(self.db):
            out.setdefault(account, []).append((t, price))
        return out

    def close(self) -> None:
        self.runner.stop(timeout_s=60)
        self.pool.close()
        self.sim.stop()
        self.store.close()


@pytest.fixture
def priced(tmp_path: Path) -> Iterator[tuple[PricedFleet, Counted]]:
    feed = Counted()
    fleet = PricedFleet(tmp_path, feed)
    try:
        yield fleet, feed
    finally:
        fleet.close()


def test_each_home_records_its_own_tariffs_price_and_a_shared_tariff_is_fetched_once(
    priced: tuple[PricedFleet, Counted], caplog: pytest.LogCaptureFixture
) -> None:
    fleet, feed = priced
    caplog.set_level(logging.DEBUG)
    assert fleet.runner.background.settle(T0, timeout_s=60)  # the first refresh, as at start
    fleet.run_until(T0 + timedelta(hours=HOURS))
    decisions = fleet.decisions()
    assert set(decisions) == set(HOMES)
    for account, (_, name) in HOMES.items():
        priced_after_start = [(t, p) for t, p in decisions[account] if t > T0]
        assert len(priced_after_start) > HOURS, account
        for t, price in priced_after_start:
            assert price == pytest.approx(tariff(name, t)), (account, t)
    # acme and zeta read tariff A through one feed: A is asked no more often than B,
    # which one home reads; two feeds, so two jobs for three homes
    assert feed.requests["a"] == feed.requests["b"] >= 1
    assert len(fleet.inputs.jobs) == 2
    acme, zeta = fleet.wired[0].daemons[0], fleet.wired[2].daemons[0]
    source = next(iter(acme.controllers.values())).import_price.source
    assert source is next(iter(zeta.controllers.values())).import_price.source
    assert SECRET not in caplog.text


def _cycle_times(tmp_path: Path, feed: Counted, *, hanging: bool) -> dict[str, list[datetime]]:
    """Each account's decision times over HOURS, the provider answering or hanging."""
    tmp_path.mkdir()
    fleet = PricedFleet(tmp_path, feed)
    try:
        if hanging:  # each feed's refresh is stuck in its first fetch
            assert all(feed.entered[name].wait(60.0) for name in TARIFF_BASE)
        fleet.run_until(T0 + timedelta(hours=HOURS), hanging=None if hanging else set())
        decisions = fleet.decisions()
        if hanging:
            assert {p for d in decisions.values() for _, p in d} == {None}  # nothing known
            assert feed.requests == {"a": 1, "b": 1}  # still the first, no second beside it
            assert all(w.late_s[2] < 1.0 for w in fleet.runner.workers)  # every round on time
    finally:
        feed.release.set()
        fleet.close()
    return {account: [t for t, _ in d] for account, d in decisions.items()}


def test_a_hanging_price_provider_delays_no_accounts_cycles(tmp_path: Path) -> None:
    answering = _cycle_times(tmp_path / "answering", Counted(), hanging=False)
    stuck = Counted()
    stuck.release.clear()  # every price request waits until the end of the test
    hanging = _cycle_times(tmp_path / "hanging", stuck, hanging=True)
    assert set(hanging) == set(HOMES)
    assert all(len(times) > HOURS for times in hanging.values())
    for account, times in hanging.items():  # each cycled when it would with prices flowing
        assert len(times) == len(answering[account]), account
        drift = max(
            abs((x - y).total_seconds()) for x, y in zip(times, answering[account], strict=True)
        )
        assert drift < 1.0, account  # the frozen simulator's clock creeps by milliseconds


def test_a_hanging_feed_delays_no_other_feeds_refresh(tmp_path: Path) -> None:
    """Tariff A's provider hangs from its first request to the end of the test. B's feed,
    on another refresh thread, is fetched at start all the same and whenever due after
    (`settle` waits for every job but A's), so beta prices every decision with B while
    acme and zeta have none; A's job is not run again while its first fetch hangs."""
    feed = Counted(hanging={"a"})
    feed.release.clear()
    fleet = PricedFleet(tmp_path, feed)
    try:
        assert feed.entered["a"].wait(60.0)
        tariff_a = "prices"  # acme's feed, the first built (`SharedLiveInputs.jobs`)
        assert fleet.runner.background.settle(T0, timeout_s=60, hanging={tariff_a})
        assert feed.requests["a"] == 1 and feed.requests["b"] >= 1  # B's fetched, A hangs
        fleet.run_until(T0 + timedelta(hours=HOURS), hanging={tariff_a})
        decisions = fleet.decisions()
        requests = dict(feed.requests)
    finally:
        feed.release.set()
        fleet.close()
    assert requests["a"] == 1  # never a second run beside the hanging one
    for account, (_, name) in HOMES.items():
        after_start = [(t, p) for t, p in decisions[account] if t > T0]
        assert len(after_start) > HOURS, account
        expected = [tariff(name, t) if name == "b" else None for t, _ in after_start]
        assert [p for _, p in after_start] == pytest.approx(expected), account


class _MovedClock(SimClock):
    """A simulated clock the test moves, at speed 1 (a `SpeedClock`)."""

    speed = 1.0


class _Jobs:
    """Background jobs that count their runs and how many of each run at once; the
    `hanging` ones wait for `release`. Each is due again a minute after it ran."""

    def __init__(self, names: list[str], hanging: set[str]) -> None:
        self.hanging = hanging
        self.release = threading.Event()
        self.runs: Counter[str] = Counter()
        self.inside: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.entered = {name: threading.Event() for name in names}
        self._lock = threading.Lock()
        self.jobs = [BackgroundJob(name, self._job(name)) for name in names]

    def _job(self, name: str) -> Callable[[datetime], datetime]:
        def run(now: datetime) -> datetime:
            with self._lock:
                self.runs[name] += 1
                self.inside[name] += 1
                self.most[name] = max(self.most[name], self.inside[name])
            self.entered[name].set()
            if name in self.hanging:
                assert self.release.wait(60.0), "the test never let the job finish"
            with self._lock:
                self.inside[name] -= 1
            return now + timedelta(minutes=1)

        return run


def test_a_refresh_never_runs_beside_itself_and_stop_does_not_wait_for_it() -> None:
    """`slow` hangs in its first run; `fast` is due every minute. Over five minutes of
    clock `fast` runs at each, `slow` never again though overdue and threads are free;
    `stop` returns while `slow` is still inside."""
    clock = _MovedClock(T0)
    jobs = _Jobs(["fast", "slow"], hanging={"slow"})
    background = FleetBackground(jobs.jobs, clock, workers=4)
    background.start()
    try:
        assert jobs.entered["slow"].wait(60.0)
        for minute in range(1, 6):
            clock.set(T0 + timedelta(minutes=minute))
            background.wake()
            assert background.settle(clock.now(), timeout_s=60, hanging={"slow"}), minute
        assert jobs.runs == {"fast": 6, "slow": 1}
        background.stop()
        assert jobs.inside["slow"] == 1  # stopped without waiting for the run in flight
    finally:
        jobs.release.set()
        background.stop()
    assert jobs.most == {"fast": 1, "slow": 1}


def test_the_refresh_pool_is_bounded() -> None:
    """Two threads, three hanging jobs: the third starts when one of the first two ends."""
    clock = _MovedClock(T0)
    jobs = _Jobs(["a", "b", "c"], hanging={"a", "b", "c"})
    background = FleetBackground(jobs.jobs, clock, workers=2)
    background.start()
    try:
        assert jobs.entered["a"].wait(60.0) and jobs.entered["b"].wait(60.0)
        assert background.settle(T0, timeout_s=60, hanging={"a", "b", "c"})
        assert not jobs.entered["c"].is_set() and jobs.runs == {"a": 1, "b": 1}
        jobs.release.set()
        assert jobs.entered["c"].wait(60.0)
        assert background.settle(T0, timeout_s=60)
        assert jobs.runs == {"a": 1, "b": 1, "c": 1}
    finally:
        jobs.release.set()
        background.stop()


def test_a_failing_price_provider_is_one_line_per_outage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    feed = Counted(lambda request: httpx.Response(503))
    caplog.set_level(logging.WARNING)
    fleet = PricedFleet(tmp_path, feed)
    try:
        fleet.run_until(T0 + timedelta(hours=HOURS))
    finally:
        fleet.close()
    assert sum(feed.requests.values()) > 2 * 2  # retried, today and tomorrow, both tariffs
    lines = [r.getMessage() for r in caplog.records if "503" in r.getMessage()]
    assert len(lines) == 2, lines  # one per feed, not one per retry nor per home
    assert all("\n" not in line for line in lines)


def test_a_provider_that_cannot_be_built_names_the_account_and_site(tmp_path: Path) -> None:
    path = write_fleet(tmp_path)
    (tmp_path / "z.toml").write_text(
        (tmp_path / "z.toml").read_text() + '\n[prices]\nprovider = "tibber"\n'
    )
    result = CliRunner().invoke(
        app,
        ["run", "--config", str(path), "--no-web"],
        env={"ACME_KEY": "k1", "ZETA_KEY": "k2", "TIBBER_TOKEN": ""},
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "account zeta, site site1: [prices] tibber" in lines[0]
    assert "TIBBER_TOKEN" in lines[0]


def test_identical_inputs_share_one_feed_and_different_ones_do_not(tmp_path: Path) -> None:
    weather = ForecastConfig(provider="open_meteo", cache_dir=str(tmp_path / "weather"))
    first = _site("SIMA", "a", tmp_path).model_copy(update={"forecast": weather})
    site = first.site
    renamed = first.model_copy(update={"site": site.model_copy(update={"name": "garage"})})
    moved = first.model_copy(update={"site": site.model_copy(update={"latitude": 40.4})})
    other_tariff = _site("SIMB", "b", tmp_path).model_copy(update={"forecast": weather})
    shared = SharedLiveInputs(
        SimClock(T0), {"PRICE_KEY": SECRET}, prices_transport=httpx.MockTransport(price_feed)
    )
    a, same, elsewhere, b = (shared.for_site(c) for c in (first, renamed, moved, other_tariff))
    assert same.prices is a.prices and same.weather is a.weather  # a name is not a place
    assert elsewhere.prices is a.prices and elsewhere.weather is not a.weather
    assert b.prices is not a.prices and b.weather is a.weather
    names = [job.name for job in shared.jobs]
    assert names == ["prices", "prices 2", "weather", "weather 2"]
    assert same.jobs == a.jobs  # the same jobs, run once by the fleet


TIBBER = json.loads(
    (Path(__file__).parent / "data" / "prices" / "tibber_2024-06-01.json").read_text()
)
TIBBER_DAY = datetime(2024, 6, 1, tzinfo=ZoneInfo("Europe/Vienna"))


def _two_tibber_homes(request: httpx.Request) -> httpx.Response:
    """The recorded answer with a second home whose prices are twice the first's."""
    answer = copy.deepcopy(TIBBER)
    homes = answer["data"]["viewer"]["homes"]
    second = copy.deepcopy(homes[0])
    info = second["currentSubscription"]["priceInfo"]
    for day in ("today", "tomorrow"):
        for slot in info.get(day) or []:
            slot["total"] = round(2 * slot["total"], 4)
    homes.append(second)
    return httpx.Response(200, json=answer)


@pytest.mark.parametrize("scoped", [True, False], ids=["fleet", "one-home-layout"])
def test_a_fleets_feeds_never_read_each_others_cache(tmp_path: Path, scoped: bool) -> None:
    """Tibber homes 0 and 1 on one `cache_dir`: each home gets its own prices, and after a
    restart with the provider down each reads them from its own cache. The provider names
    its files `tibber` only: without `scoped_caches` (one home's layout) the second home
    reads the first's from the disk, which the second case shows is what scoping fixes."""
    sites = []
    for home in (0, 1):
        prices = PricesConfig.model_validate(
            {"provider": "tibber", "cache_dir": str(tmp_path), "tibber": {"home": home}}
        )
        site = demo_config(default_scenario(), "solar_only")
        site = site.model_copy(
            update={
                "prices": prices,
                "site": site.site.model_copy(update={"timezone": "Europe/Vienna"}),
            }
        )
        sites.append(site)
    clock = SimClock(TIBBER_DAY.astimezone(UTC))
    env = {"TIBBER_TOKEN": "t0ken"}

    def fleet(handler: Handler) -> list[float | None]:
        shared = SharedLiveInputs(
            clock, env, prices_transport=httpx.MockTransport(handler), scoped_caches=scoped
        )
        inputs = [shared.for_site(site) for site in sites]
        for job in shared.jobs:
            job.run(clock.now())
        t = clock.now()
        out = []
        for live in inputs:
            assert live.prices is not None
            slot = live.prices.prices(t, t + timedelta(seconds=1)).at(t)
            out.append(None if slot is None else slot.import_eur_per_kwh)
        return out

    first, second = fleet(_two_tibber_homes)
    if not scoped:  # one file for both homes: the second reads the first's at once
        assert second == first
        return
    assert first is not None and second == pytest.approx(2 * first)
    down = fleet(lambda request: httpx.Response(503))  # restarted, the provider down
    assert down == pytest.approx([first, second])


class _PriceServer:
    """Hourly JSON prices (tariff A of `tariff`, around `around`) on 127.0.0.1, counted."""

    def __init__(self, around: datetime) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        first = around.replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
        starts = [first + timedelta(hours=h) for h in range(24 * 7)]
        body = json.dumps(
            {"data": [{"start": s.isoformat(), "price": tariff("a", s)} for s in starts]}
        ).encode()
        requests: list[str] = []
        self.requests = requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/a"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_run_config_fleet_toml_prices_every_accounts_decisions(tmp_path: Path) -> None:
    """`v2c-solar run --config fleet.toml` end to end against a served fleet and a local
    price feed: both accounts' decisions record the feed's price, the feed asked a few
    times for all four homes, SIGTERM leaves every charger safe, exit 0."""
    fleet = generate_fleet(2, 2, seed=5)
    with start_fleet_simulator(fleet, speed=600) as served:
        feed = _PriceServer(served.simulator.clock.now())
        try:
            prices = f'\n[prices]\nprovider = "json_url"\ncache_dir = "{tmp_path / "cache"}"\n'
            prices += f'[prices.json_url]\nurl = "{feed.url}"\n'
            lines = []
            for account in fleet.accounts:
                (tmp_path / f"{account.name}.key").write_text(account.api_key.get_secret_value())
                lines += [f'[[accounts]]\nname = "{account.name}"']
                lines += [f'api_key_file = "{account.name}.key"']
                for j, site in enumerate(account.sites):
                    (tmp_path / f"{account.name}-{j}.toml").write_text(_site_toml(site) + prices)
                    lines += [f'[[accounts.sites]]\nconfig = "{account.name}-{j}.toml"']
            (tmp_path / "fleet.toml").write_text("\n".join(lines) + "\n")
            db = tmp_path / "fleet.db"
            cmd = [sys.executable, "-m", "optimizer.cli.main", "run", "--config"]
            cmd += [str(tmp_path / "fleet.toml"), "--db", f"sqlite:///{db}", "--no-web"]
            cmd += ["--base-url", served.base_url, "--clock-from-server"]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline and proc.poll() is None:
                    if {a for a, _, p in _decisions(db) if p is not None} == {
                        "acct-001",
                        "acct-002",
                    }:
                        break
                    time.sleep(0.2)
                assert proc.poll() is None, proc.communicate()
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
        finally:
            feed.close()
    assert proc.returncode == 0, err
    rows = _decisions(db)
    priced = [(a, t, p) for a, t, p in rows if p is not None]
    assert {a for a, _, _ in priced} == {"acct-001", "acct-002"}
    for _, t, price in priced:
        assert price == pytest.approx(tariff("a", t))
    assert 1 <= len(feed.requests) < 4 * 2  # one feed for four homes (today, tomorrow...)


def _decisions(path: Path) -> list[tuple[str, datetime, float | None]]:
    """(account, time, import price) of every decision in the fleet's database so far."""
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path) as conn:
            rows = conn.execute(
                "SELECT account, time, import_eur_per_kwh FROM decisions ORDER BY id"
            ).fetchall()
    except sqlite3.Error:
        return []
    return [(a, datetime.fromisoformat(str(t)).replace(tzinfo=UTC), p) for a, t, p in rows]


def test_a_shared_feeds_outage_names_the_homes_it_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Tariff A's provider answers 503: its one log line names the first home reading
    it and how many more; tariff B's feed, answering, logs nothing."""

    def a_down(request: httpx.Request) -> httpx.Response:
        down = request.url.path.strip("/") == "a"
        return httpx.Response(503) if down else price_feed(request)

    shared = SharedLiveInputs(
        SimClock(T0), {"PRICE_KEY": SECRET}, prices_transport=httpx.MockTransport(a_down)
    )
    for account, (device, name) in HOMES.items():
        shared.for_site(_site(device, name, tmp_path), f"{account}/site1")
    with caplog.at_level(logging.WARNING, logger="optimizer.prices.feed"):
        for job in shared.jobs:
            job.run(T0)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert lines[0].startswith("prices (acme/site1 and 1 more): ")
    assert "503" in lines[0] and SECRET not in lines[0]
