"""The daemon with `[prices]` and a weather provider: fetched beside the cycles, never in one.

The whole home runs through the composition root (`live_inputs`, `build_site`,
`build_daemon`) against the in-process world; the providers are the real adapters
(Tibber, Open-Meteo) over an `httpx.MockTransport`, their own HTTP seam, answering
recorded fixtures, garbage, 429 or nothing until the test lets them go. Hangs are
held by events, never by sleeping: a cycle runs while a fetch is known to be stuck.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from adapters.simulator.demo import demo_config
from adapters.simulator.inprocess import SimClock, WorldCharger, account_quota
from adapters.simulator.world import World, default_scenario
from adapters.simulator.world.scenario import Scenario
from adapters.storage import MemoryStore
from optimizer.background import BackgroundJob
from optimizer.clock import ScaledClock
from optimizer.composition import LiveInputs, SiteParts, build_site, live_inputs
from optimizer.config import AppConfig
from optimizer.daemon import Daemon, SchedulerRunner, build_daemon
from optimizer.forecast.config import ForecastConfig
from optimizer.interfaces import CallListener
from optimizer.prices.config import PricesConfig
from optimizer.prices.feed import FeedInMemory

DAY = date(2024, 6, 1)
TOKEN = "tibber-s3cret-t0ken"
DATA = Path(__file__).parent / "data"
TIBBER = (DATA / "prices" / "tibber_2024-06-01.json").read_bytes()
OPEN_METEO = (DATA / "weather" / "open_meteo_minutely15_2024-06-01.json").read_bytes()
Handler = Callable[[httpx.Request], httpx.Response]


def _answer(body: bytes) -> Handler:
    return lambda request: httpx.Response(200, content=body)


class Gate:
    """A MockTransport handler that answers `then` once the test opens it (every request
    until then waits), and says when a request is waiting."""

    def __init__(self, then: Handler) -> None:
        self.then = then
        self.entered = threading.Event()
        self.release = threading.Event()
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.entered.set()
        assert self.release.wait(60.0), "the test never let the provider answer"
        return self.then(request)


@dataclass
class Home:
    daemon: Daemon
    site: SiteParts
    clock: SimClock
    world: World
    store: MemoryStore

    def advance(self, t: datetime) -> None:
        self.clock.set(t)
        self.world.advance_to(t)

    def run_until(self, t: datetime) -> None:
        self.daemon.run_cycles(t, self.advance)

    @property
    def device(self) -> str:
        return next(iter(self.daemon.controllers))


def _home(
    tmp_path: Path,
    prices: Handler | None = None,
    weather: Handler | None = None,
    *,
    policy: str = "solar_only",
) -> Home:
    scenario: Scenario = default_scenario().model_copy(update={"date": DAY})
    config: AppConfig = demo_config(scenario, policy)
    update: dict[str, object] = {}
    if prices is not None:
        update["prices"] = PricesConfig(provider="tibber", cache_dir=str(tmp_path / "prices"))
    if weather is not None:
        update["forecast"] = ForecastConfig(
            provider="open_meteo", cache_dir=str(tmp_path / "weather")
        )
    config = config.model_copy(update=update)
    world = World(scenario, seed=1)
    clock = SimClock(world.now)
    store = MemoryStore()
    quota = account_quota(1000)
    live = live_inputs(
        config,
        clock,
        {"TIBBER_TOKEN": TOKEN},
        prices_transport=None if prices is None else httpx.MockTransport(prices),
        weather_transport=None if weather is None else httpx.MockTransport(weather),
    )

    def charger(device_id: str, listener: CallListener) -> WorldCharger:
        return WorldCharger(world, device_id, clock, listener, quota=quota)

    site = build_site(
        config,
        charger,
        clock,
        store,
        prices=live.prices,
        weather=live.weather,
        jobs=live.jobs,
    )
    return Home(build_daemon(site), site, clock, world, store)


def _local(hour: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=2)


# ----- prices --------------------------------------------------------------------------------


def test_the_daemon_fetches_at_publication_and_every_decision_records_its_price(
    tmp_path: Path,
) -> None:
    asked: list[datetime] = []

    def tibber(request: httpx.Request) -> httpx.Response:
        asked.append(home.clock.now())
        return httpx.Response(200, content=TIBBER)

    home = _home(tmp_path, tibber)
    home.run_until(_local(16))  # local midnight to 16:00, past Tibber's 13:15 publication
    # today at the start, tomorrow once published: two calls in 16 hours of cycles
    published = datetime(2024, 6, 1, 11, 15, tzinfo=UTC)  # 13:15 CEST
    assert asked[0] == _local(0)
    assert len(asked) == 2 and published <= asked[1] < published + timedelta(minutes=1)
    prices = _memory_prices(home.site)
    decisions = home.store.decisions
    assert len(decisions) == home.daemon.stats.cycles > 10
    for decision in decisions:
        slot = prices.prices(decision.time, decision.time + timedelta(seconds=1)).at(decision.time)
        assert slot is not None and decision.import_eur_per_kwh == slot.import_eur_per_kwh
    assert len({d.import_eur_per_kwh for d in decisions}) > 3  # hourly prices, not one value
    assert home.daemon.background_jobs["prices"] > home.clock.now()  # next: local midnight


def _memory_prices(site: SiteParts) -> FeedInMemory:
    """The prices the site's decisions read: the feed's memory."""
    prices = site.controllers[0].import_price.source
    assert isinstance(prices, FeedInMemory)
    return prices


def test_a_cycle_completes_while_the_price_fetch_hangs(tmp_path: Path) -> None:
    gate = Gate(_answer(TIBBER))
    home = _home(tmp_path, gate)
    fetch = threading.Thread(target=home.daemon.run_background, args=("prices",), daemon=True)
    fetch.start()
    assert gate.entered.wait(30.0)
    home.daemon.run_job(home.device)  # the provider still has not answered
    (during,) = home.store.decisions
    assert during.import_eur_per_kwh is None and fetch.is_alive()
    gate.release.set()
    fetch.join(30.0)
    home.advance(home.clock.now() + timedelta(minutes=1))
    home.daemon.run_job(home.device)
    assert home.store.decisions[-1].import_eur_per_kwh == pytest.approx(0.2652)  # 00:00 CEST


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.Response(429, headers={"Retry-After": "3600"}), "429"),
        (httpx.Response(200, content=b"<html>maintenance</html>"), "not JSON"),
        (httpx.Response(200, json={"data": {"viewer": {"homes": "x"}}}), "unexpected answer"),
    ],
    ids=["429", "html", "wrong-shape"],
)
def test_a_failing_provider_is_one_line_the_prices_kept_and_no_decision_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, failure: httpx.Response, reason: str
) -> None:
    answers = [httpx.Response(200, content=TIBBER)]

    def tibber(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else failure

    home = _home(tmp_path, tibber)
    caplog.set_level(logging.DEBUG)
    home.run_until(_local(20))  # tomorrow is asked from 13:00 on, every 15 min, and fails
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    line = warnings[0].getMessage()
    assert "tibber" in line and reason in line and "keeping the last known prices" in line
    assert "\n" not in line
    decisions = home.store.decisions
    assert len(decisions) == home.daemon.stats.cycles
    assert all(d.import_eur_per_kwh is not None for d in decisions)  # today's, kept
    everything = caplog.text + repr(home.store.decisions) + repr(home.site)
    assert TOKEN not in everything


def test_the_cache_gives_a_restarted_daemon_its_prices_without_the_network(
    tmp_path: Path,
) -> None:
    first = _home(tmp_path, _answer(TIBBER))
    first.run_until(_local(1))
    down = Gate(lambda request: httpx.Response(503))
    down.release.set()
    restarted = _home(tmp_path, down)
    restarted.run_until(_local(1))
    assert down.requests == 0  # today came from the disk cache
    assert restarted.store.decisions[0].import_eur_per_kwh == pytest.approx(0.2652)


def test_a_restarted_daemon_prices_its_first_cycle_from_the_cache_before_any_refresh(
    tmp_path: Path,
) -> None:
    _home(tmp_path, _answer(TIBBER)).run_until(_local(1))
    hanging = Gate(_answer(TIBBER))  # never released: the refresh would hang
    restarted = _home(tmp_path, hanging)
    restarted.advance(_local(1))
    restarted.daemon.run_job(restarted.device)  # no refresh has run
    assert restarted.store.decisions[0].import_eur_per_kwh == pytest.approx(0.2806)  # 01:00
    assert hanging.requests == 0


def test_without_prices_decisions_record_none_and_no_job_runs(tmp_path: Path) -> None:
    home = _home(tmp_path)
    home.run_until(_local(2))
    assert home.daemon.background_jobs == {}
    assert {d.import_eur_per_kwh for d in home.store.decisions} == {None}


# ----- weather ---------------------------------------------------------------------------------


def test_a_cycle_completes_while_the_weather_fetch_hangs_and_a_failure_keeps_the_forecast(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    answers = [httpx.Response(200, content=OPEN_METEO)]
    gate = Gate(lambda request: answers.pop(0) if answers else httpx.Response(500))
    gate.release.set()
    home = _home(tmp_path, weather=gate)
    feed = home.site.forecaster.source
    assert feed is not None
    home.daemon.run_background("weather")  # the first forecast, as at start
    first = feed.series  # type: ignore[attr-defined]
    assert first is not None and gate.requests == 1
    home.run_until(_local(1))  # cycles ask the forecaster: never the provider
    assert gate.requests == 1
    gate.release.clear()
    home.advance(_local(1) + timedelta(hours=2))  # the forecast is due again
    fetch = threading.Thread(target=home.daemon.run_background, args=("weather",), daemon=True)
    caplog.set_level(logging.WARNING)
    fetch.start()
    assert gate.entered.wait(30.0)
    cycles = home.daemon.stats.cycles
    home.daemon.run_job(home.device)  # the provider hangs meanwhile
    assert home.daemon.stats.cycles == cycles + 1 and fetch.is_alive()
    gate.release.set()  # ... and then answers HTTP 500
    fetch.join(30.0)
    assert feed.series is first  # type: ignore[attr-defined]
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == ["weather: open_meteo: api.open-meteo.com answered HTTP 500 (keeping the "
                     "last forecast)"]  # fmt: skip


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.Response(429), "rate limited by api.open-meteo.com (HTTP 429)"),
        (httpx.Response(200, content=b"<html>busy</html>"), "not JSON"),
        (httpx.Response(200, json={"minutely_15": {"time": "x"}}), "unexpected answer"),
    ],
    ids=["429", "html", "wrong-shape"],
)
def test_a_failing_weather_service_is_one_line_the_forecast_kept_and_no_decision_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, failure: httpx.Response, reason: str
) -> None:
    answers = [httpx.Response(200, content=OPEN_METEO)]
    home = _home(tmp_path, weather=lambda request: answers.pop(0) if answers else failure)
    feed = home.site.forecaster.source
    caplog.set_level(logging.WARNING)
    home.run_until(_local(1))
    first = feed.series  # type: ignore[union-attr]
    assert first is not None
    home.run_until(_local(9))  # due again every hour; every answer now fails
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and reason in lines[0] and "keeping the last forecast" in lines[0]
    assert feed.series is first  # type: ignore[union-attr]
    assert len(home.store.decisions) == home.daemon.stats.cycles


def test_a_job_that_raises_is_one_line_and_runs_again_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = _home(tmp_path)
    runs: list[datetime] = []

    def broken(now: datetime) -> datetime:
        runs.append(now)
        raise ValueError("garbage from somewhere")

    daemon = Daemon(
        list(home.daemon.controllers.values()),
        home.site.scheduler,
        home.store,
        home.clock,
        background=[BackgroundJob("broken", broken)],
    )
    caplog.set_level(logging.WARNING)
    daemon.run_cycles(_local(3), home.advance)
    assert len(runs) == 3 * 4  # every 15 minutes
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == ["broken refresh failed: ValueError: garbage from somewhere"]
    assert len(home.store.decisions) == daemon.stats.cycles > 0


# ----- under the runner ------------------------------------------------------------------------


def test_the_runner_keeps_cycling_while_a_background_job_is_stuck(tmp_path: Path) -> None:
    home = _home(tmp_path)
    stuck = threading.Event()
    release = threading.Event()

    def hang(now: datetime) -> datetime:
        stuck.set()
        release.wait(60.0)
        return now + timedelta(hours=1)

    clock = ScaledClock(home.clock.now(), speed=600.0)
    daemon = Daemon(
        list(home.daemon.controllers.values()),
        home.site.scheduler,
        home.store,
        clock,
        background=[BackgroundJob("hang", hang)],
    )
    runner = SchedulerRunner(daemon, clock)
    runner.start()
    try:
        assert stuck.wait(30.0)
        cycles = daemon.stats.cycles
        waited = threading.Event()
        for _ in range(600):  # up to 60 s of wall time for a few more cycles
            if daemon.stats.cycles >= cycles + 2:
                break
            waited.wait(0.1)
        assert daemon.stats.cycles >= cycles + 2  # cycles went on while the job hung
    finally:
        release.set()
        runner.stop()


def test_live_inputs_without_prices_or_weather_is_nothing() -> None:
    config = demo_config(default_scenario(), None)
    assert live_inputs(config, SimClock(datetime(2024, 6, 1, tzinfo=UTC)), {}) == LiveInputs()


def test_a_missing_token_is_one_line_naming_the_section(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from optimizer.cli.main import app

    config = tmp_path / "home.toml"
    home_toml = (Path(__file__).parents[1] / "config" / "home.toml").read_text()
    config.write_text(home_toml + '\n[prices]\nprovider = "tibber"\n')
    result = CliRunner().invoke(
        app, ["run", "--config", str(config), "--no-web"], env={"V2C_API_KEY": "k",
                                                               "TIBBER_TOKEN": ""}
    )  # fmt: skip
    assert result.exit_code == 2
    assert "[prices] tibber" in result.output and "TIBBER_TOKEN" in result.output
