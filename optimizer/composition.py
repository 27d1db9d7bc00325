"""The composition root: one function builds a site's control from its config.

`build_site` wires what every world runs: one `Controller` per configured
charger, one read scheduler (the `BudgetPlanner`) and one `Store` shared by
all, one `PvForecaster` for the site, and the `CallListener` every adapter
reports its calls to. The live daemon (`v2c-solar run`, cloud chargers), the
demo (cloud chargers against the HTTP simulator) and the backtest (in-process
`WorldCharger`s) differ only in the chargers, the clock and the store they
hand in; `optimizer.daemon.build_daemon` schedules what comes out. So a
backtest makes the decisions the daemon would make on the same inputs, and
`tests/test_backtest_daemon_equivalence.py` checks both worlds built here.

The backtest's baselines run other read schedules and policies through the
same root (`scheduler=`, `policy=`): an override, never a second wiring.

Prices and weather reach the cycles the same way in every world: a `PriceSource`
and a `ForecastSource` that answer from memory. At home (`live_inputs`) the
provider's feeds fill that memory in `BackgroundJob`s the daemon runs beside the
cycles; the backtest replays its price column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.background import BackgroundJob
from optimizer.budget.listener import call_listener
from optimizer.budget.plan import BudgetPlan
from optimizer.budget.planner import BudgetPlanner, PvProfile
from optimizer.budget.scheduler import LedgeredScheduler, ReadContext
from optimizer.config import AppConfig
from optimizer.controller import Controller
from optimizer.forecast import ClearSkyCache, PvForecaster
from optimizer.forecast.clearsky_compute import ClearSkyDays, in_process
from optimizer.interfaces import CallListener, Charger, ChargeState, Clock, Store
from optimizer.policies import Policy, build_policy
from optimizer.policies.registry import PolicyByName

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from adapters.storage.protocol import QueryableStore
    from optimizer.forecast.sources import ForecastSource
    from optimizer.forecast.weather import WeatherFeed
    from optimizer.prices.feed import FeedInMemory, PriceFeed
    from optimizer.prices.port import PriceSource

RESTORE_SPAN = timedelta(days=2)
"""How far back a restored ledger reads the store's calls (the quota day and the one before)."""

ChargerFactory = Callable[[str, CallListener], Charger]
"""`(device id, listener)` -> that charger, reporting every call attempt to `listener`."""

PolicyFactory = Callable[[], Policy]
"""A fresh policy instance (each charger gets its own)."""


@dataclass(frozen=True, slots=True)
class SiteParts:
    """One site's control, wired: what the daemon schedules and the backtest drives.

    `listener` is the one `CallListener` for every adapter of the account: it
    records each call into `scheduler` and `store`. `make_policy` builds any
    policy by name the way the site's own was built (a switch from home).
    `jobs` are the refreshes the daemon runs beside the cycles (prices, weather).
    """

    config: AppConfig
    clock: Clock
    store: Store
    scheduler: LedgeredScheduler
    forecaster: PvForecaster
    controllers: tuple[Controller, ...]
    listener: CallListener
    make_policy: PolicyByName
    jobs: tuple[BackgroundJob, ...] = ()


def planner_pv_profile(clear_sky: ClearSkyCache) -> PvProfile:
    """The PV power (W) the budget planner expects over the day: the site's clear sky.

    Chosen over the profile the planner can learn from its read contexts: on the
    whole real-2017 year the learned one put no more solar into the car
    (solar_only 802.64 against 802.57 kWh, target 806.78 against 806.97) for more
    calls (79.5 / 84.7 / 60.2 against 79.1 / 82.1 / 59.7 a day for solar_only /
    target / min_solar), and at home it would start empty after every restart
    and in `v2c-solar budget` (BENCHMARKS.md, section 4). While the clear sky cannot be
    computed (`ClearSkyUnavailable`, a failed child process) the planner sees 0 W.
    """
    return lambda t: clear_sky.power_at_or_dark(t.timestamp())


def budget_planner(config: AppConfig, clear_sky: ClearSkyCache | None = None) -> BudgetPlanner:
    """The account's `BudgetPlanner`: the configured budget over all configured chargers,
    expecting the PV of `clear_sky` (default: the site's, computed in-process)."""
    return account_planner((config,), clear_sky)


def account_planner(
    sites: Sequence[AppConfig], clear_sky: ClearSkyCache | None = None
) -> BudgetPlanner:
    """One account's `BudgetPlanner`, shared by all its sites (`build_site(scheduler=)`):
    the first site's `[budget]` spread over every charger of every site (the quota is
    the account's), expecting the first site's clear sky (or `clear_sky`'s PV)."""
    first = sites[0]
    profile = planner_pv_profile(clear_sky or ClearSkyCache(first.site))
    devices = sum(len(site.chargers) for site in sites)
    return BudgetPlanner(first.budget, devices=devices, pv_profile=profile)


def policy_factory(config: AppConfig, prices: PriceSource | None = None) -> PolicyByName:
    """Policies by name as `config` sets them up: its `[policy]` parameters, its tariff
    and the site's `prices` (None: the tariff's)."""
    return lambda name: build_policy(config.policy, name, config.tariff, prices)


def decision_prices(config: AppConfig, prices: PriceSource | None) -> PriceSource | None:
    """The prices each decision sees and records: `prices`, else the `[tariff]`'s (a
    schedule, computed, never fetched), else none."""
    if prices is not None or config.tariff is None:
        return prices
    return config.tariff.as_tariff(config.site.tz)


def with_policy(config: AppConfig, name: str | None) -> AppConfig:
    """`config` with the active policy renamed to `name` (None: unchanged)."""
    if name is None:
        return config
    policy = config.policy.model_copy(update={"name": name})
    return config.model_copy(update={"policy": policy})


def build_site(
    config: AppConfig,
    chargers: ChargerFactory,
    clock: Clock,
    store: Store,
    *,
    policy: PolicyFactory | None = None,
    scheduler: LedgeredScheduler | None = None,
    clear_sky_days: ClearSkyDays = in_process,
    weather: ForecastSource | None = None,
    prices: PriceSource | None = None,
    jobs: Sequence[BackgroundJob] = (),
) -> SiteParts:
    """Wire the site of `config`: a controller per `[[chargers]]` entry, one scheduler, one store.

    `chargers` makes each configured charger, reporting to the listener built
    here. `policy` overrides the configured policy (default: `[policy]`, with
    the tariff), `scheduler` the budget planner (the backtest's fixed-interval
    baselines). `clear_sky_days` says where the clear-sky model runs: in-process
    (backtests, the demo) or `InChildProcess` (`run`: pvlib and pandas stay out of
    a long-running daemon); the planner shares the forecaster's clear-sky days.
    `weather` is the forecaster's external source (`live_inputs`, `run` only);
    None keeps the offline default, as the backtest and the demo do. `prices` is
    the site's price source (`live_inputs` at home, the replayed column in a
    backtest), read by the cycles and the policies from memory: each decision
    records its import price, `target`'s least-cost planner and `solar_only`'s price
    limit use it. `jobs` (`live_inputs`) are handed to the daemon.
    """
    by_name = policy_factory(config, prices)
    make_policy = policy or (lambda: by_name(config.policy.name))
    forecaster = PvForecaster(
        config.site,
        clear_sky_days=clear_sky_days,
        source=weather,
        crossover=config.forecast.crossover,
    )
    shared = scheduler or budget_planner(config, forecaster.clear_sky)
    listener = call_listener(shared, store)
    seen_prices = decision_prices(config, prices)
    controllers = tuple(
        Controller(
            chargers(c.device_id, listener),
            clock,
            store,
            forecaster,
            make_policy(),
            shared,
            c.limits,
            settings=config.controller,
            timezone=config.site.tz,
            tariff=config.tariff,
            battery_to_car=config.site.battery_to_car,
            prices=seen_prices,
        )
        for c in config.chargers
    )
    return SiteParts(
        config, clock, store, shared, forecaster, controllers, listener, by_name, tuple(jobs)
    )


def read_contexts_from_store(
    config: AppConfig, store: QueryableStore, now: datetime
) -> dict[str, ReadContext]:
    """Each configured charger's `ReadContext` as the store's latest reading leaves it."""
    clear_sky = ClearSkyCache(config.site)
    contexts: dict[str, ReadContext] = {}
    for c in config.chargers:
        reading = store.latest_observation(c.device_id)
        contexts[c.device_id] = ReadContext(
            device_id=c.device_id,
            plugged_in=None if reading is None else reading.charge_state.plugged_in,
            charging=reading is not None and reading.charge_state is ChargeState.CHARGING,
            pv_expected_w=clear_sky.power_at(now.timestamp()),
            variability=config.budget.typical_variability,
            last_read=None if reading is None else min(reading.time, now),
        )
    return contexts


def budget_plan(
    config: AppConfig | Sequence[AppConfig], store: QueryableStore | None, now: datetime
) -> BudgetPlan:
    """The rest of the quota day of `now` as the daemon's planner would plan it, for one
    site or an account's sites (`store`: that account's, `SqlStore.for_account`).

    The planner's ledger is restored from the store's calls, the contexts from its
    latest readings; without a store (no database yet) nothing is spent.
    """
    sites = (config,) if isinstance(config, AppConfig) else tuple(config)
    planner = account_planner(sites)
    contexts: dict[str, ReadContext] = {}
    if store is not None:
        planner.restore(store.calls_between(now - RESTORE_SPAN, now), now)
        for site in sites:
            contexts |= read_contexts_from_store(site, store, now)
    day = planner.ledger.window(now)[0].date()
    return planner.plan(day, contexts, now=now)


def build_price_feed(
    config: AppConfig,
    clock: Clock,
    env: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> PriceFeed | None:
    """The site's `PriceFeed` from `[prices]` (None without it): the provider picked by
    `adapters.prices.registry`, its disk cache, the retail formula and the export price.

    Raises `PriceSourceError` when the provider cannot be built (a token not set).
    """
    if config.prices is None:
        return None
    from adapters.prices.cache import DiskPriceCache
    from adapters.prices.registry import build_price_source
    from optimizer.prices.feed import PriceFeed

    prices = config.prices
    source = build_price_source(prices, config.site.tz, env, transport)
    return PriceFeed(
        source,
        clock,
        config.site.tz,
        DiskPriceCache(prices.cache_dir),
        retail=prices.retail,
        export=prices.export,
    )


def build_weather_source(
    config: AppConfig,
    clock: Clock,
    env: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> WeatherFeed | None:
    """The site's weather forecast from `[forecast]` (None for the offline default): the
    provider `adapters.weather.registry` picks, its call budget and disk cache.

    Raises `WeatherSourceError` when the provider cannot be built (a key not set).
    """
    if config.forecast.provider == "offline":
        return None
    from adapters.weather.registry import build_weather_source as build

    return build(config.forecast, config.site, clock, env, transport)


@dataclass(frozen=True, slots=True)
class LiveInputs:
    """What the daemon reads of the outside world beyond the chargers: prices and weather
    as the cycles see them (from memory), and the background jobs that fill them."""

    prices: PriceSource | None = None
    weather: ForecastSource | None = None
    jobs: tuple[BackgroundJob, ...] = ()


def live_inputs(
    config: AppConfig,
    clock: Clock,
    env: Mapping[str, str],
    *,
    prices_transport: httpx.BaseTransport | None = None,
    weather_transport: httpx.BaseTransport | None = None,
) -> LiveInputs:
    """`[prices]` and `[forecast]` for the daemon: each feed read from memory by the cycles
    and refreshed by its `BackgroundJob` (prices when published, weather when due).

    Raises `PriceSourceError` or `WeatherSourceError` when a provider cannot be built
    (a token or key not set). The transports are the adapters' HTTP seams (tests).
    """
    shared = SharedLiveInputs(
        clock, env, prices_transport=prices_transport, weather_transport=weather_transport
    )
    return shared.for_site(config)


class SharedLiveInputs:
    """Live inputs for many sites (a fleet): one feed per distinct input, shared.

    Sites whose `[prices]` are identical (provider, zone, formula, export, cache) in the
    same time zone read one `PriceFeed`: one fetch per publication for a thousand homes
    on one tariff, not a thousand. Sites with an identical `[forecast]` at the same place
    (the whole `[site]` but its name: the arrays shape the PV power) read one
    `WeatherFeed`, which keeps to the provider's quota for all of them. `jobs` are the
    distinct feeds' refreshes, each once, named `prices`, `weather` for the first and
    `prices 2`, `weather 2`... after it. `live_inputs` is one site through one of these.

    With `scoped_caches` (a fleet) each feed keeps its disk cache in a folder of its own
    under the configured `cache_dir`, named by a digest of what makes it distinct: the
    providers name their cache files by provider only (`entsoe`, `tibber`, `open_meteo`),
    so two zones or two places on one `cache_dir` would otherwise read each other's
    prices or forecast. One home keeps the plain `cache_dir` (its cache and the quota
    calls recorded there survive an upgrade).

    `for_site(config, home)` names the home (`account/site`): a shared feed's log lines
    then say which homes it serves ("prices 2 (acme/garage and 3 more)"), so a fleet's
    operator knows whose tariff or forecast an outage is about.
    """

    def __init__(
        self,
        clock: Clock,
        env: Mapping[str, str],
        *,
        prices_transport: httpx.BaseTransport | None = None,
        weather_transport: httpx.BaseTransport | None = None,
        scoped_caches: bool = False,
    ) -> None:
        self._clock = clock
        self._scoped = scoped_caches
        self._env = env
        self._prices_transport = prices_transport
        self._weather_transport = weather_transport
        self._prices: dict[str, tuple[FeedInMemory, BackgroundJob]] = {}
        self._weather: dict[str, tuple[WeatherFeed, BackgroundJob]] = {}
        self._homes: dict[str, list[str]] = {}

    @property
    def jobs(self) -> tuple[BackgroundJob, ...]:
        """Every distinct feed's refresh, each once (prices first)."""
        return tuple(job for _, job in (*self._prices.values(), *self._weather.values()))

    def for_site(self, config: AppConfig, home: str | None = None) -> LiveInputs:
        """The site's prices and weather (shared with identical sites) and their jobs;
        `home` (e.g. `acme/garage`) goes into the shared feeds' log lines.

        Raises `PriceSourceError` or `WeatherSourceError` when a provider cannot be built.
        """
        jobs: list[BackgroundJob] = []
        prices = self._site_prices(config)
        if prices is not None:
            jobs.append(prices[1])
            if home is not None:
                prices[0].feed.label = self._served(prices[1].name, home)
        weather = self._site_weather(config)
        if weather is not None:
            jobs.append(weather[1])
            if home is not None:
                weather[0].label = self._served(weather[1].name, home)
        return LiveInputs(
            None if prices is None else prices[0],
            None if weather is None else weather[0],
            tuple(jobs),
        )

    def _served(self, job: str, home: str) -> str:
        """The log label of feed `job` once `home` reads it too: its first home, how many more."""
        homes = self._homes.setdefault(job, [])
        homes.append(home)
        more = f" and {len(homes) - 1} more" if len(homes) > 1 else ""
        return f"{job} ({homes[0]}{more})"

    def _site_prices(self, config: AppConfig) -> tuple[FeedInMemory, BackgroundJob] | None:
        if config.prices is None:
            return None
        key = f"{config.site.timezone} {config.prices.model_dump_json()}"
        if key not in self._prices:
            from optimizer.prices.feed import FeedInMemory

            if self._scoped:
                prices = config.prices.model_copy(
                    update={"cache_dir": _scoped(config.prices.cache_dir, key)}
                )
                config = config.model_copy(update={"prices": prices})
            feed = build_price_feed(config, self._clock, self._env, self._prices_transport)
            assert feed is not None  # `[prices]` is set
            feed.load_cached(self._clock.now())
            name = _numbered("prices", len(self._prices))
            self._prices[key] = (FeedInMemory(feed), BackgroundJob(name, feed.refresh))
        return self._prices[key]

    def _site_weather(self, config: AppConfig) -> tuple[WeatherFeed, BackgroundJob] | None:
        if config.forecast.provider == "offline":
            return None
        place = config.site.model_dump_json(exclude={"name"})
        key = f"{place} {config.forecast.model_dump_json()}"
        if key not in self._weather:
            if self._scoped:
                forecast = config.forecast.model_copy(
                    update={"cache_dir": _scoped(config.forecast.cache_dir, key)}
                )
                config = config.model_copy(update={"forecast": forecast})
            feed = build_weather_source(config, self._clock, self._env, self._weather_transport)
            assert feed is not None  # a provider is set
            name = _numbered("weather", len(self._weather))
            self._weather[key] = (feed, BackgroundJob(name, feed.refresh))
        return self._weather[key]


def _scoped(cache_dir: str, key: str) -> str:
    """`cache_dir`'s folder for the feed `key` identifies (12 hex digits of its SHA-256)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return str(Path(cache_dir) / digest)


def _numbered(kind: str, built: int) -> str:
    """A shared job's name: `kind` for the first feed, `kind 2`, `kind 3`... after it."""
    return kind if built == 0 else f"{kind} {built + 1}"


__all__ = [
    "ChargerFactory",
    "LiveInputs",
    "PolicyByName",
    "PolicyFactory",
    "SharedLiveInputs",
    "SiteParts",
    "account_planner",
    "budget_plan",
    "budget_planner",
    "build_price_feed",
    "build_site",
    "build_weather_source",
    "decision_prices",
    "live_inputs",
    "planner_pv_profile",
    "policy_factory",
    "read_contexts_from_store",
    "with_policy",
]
