"""The daemon for a V2C Cloud account: `v2c-solar run` (the cloud) and `demo` (the simulator).

A fleet (`fleet_daemons`) wires each account the same way over one shared
HTTP pool, its sites sharing the account's client and read scheduler, and
every site reading its prices and weather from the fleet's `SharedLiveInputs`
(one feed per distinct `[prices]` or `[forecast]`, refreshed by the fleet's small
pool of background threads, `optimizer.daemon.fleet.FleetBackground`, never by a site).

Both wire the same: one `V2CClient` for the account, a `CloudCharger` per
configured charger over it (`cloud_chargers`), the site built by the composition root with the
client reporting every call to the site's listener, and the daily session
reconcile through the same client (so its calls are in the same ledger).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.storage.retrying import RetryingStore, RoundStore
from adapters.v2c_cloud.charger import CloudCharger
from adapters.v2c_cloud.reconcile import cloud_reconciler
from optimizer.accounts import AccountSpec
from optimizer.budget.scheduler import LedgeredScheduler
from optimizer.composition import (
    ChargerFactory,
    LiveInputs,
    SharedLiveInputs,
    account_planner,
    build_site,
)
from optimizer.config import AppConfig, ConfigError
from optimizer.daemon.core import Daemon
from optimizer.daemon.targets import TARGET_POLL_S
from optimizer.daemon.wiring import build_daemon
from optimizer.forecast.clearsky_compute import ClearSkyDays, in_process
from optimizer.interfaces import CallListener, Charger, Clock
from optimizer.status.board import StatusBoard

if TYPE_CHECKING:
    from adapters.storage import SqlStore
    from adapters.v2c_cloud import V2CClient
    from adapters.v2c_cloud.pool import HttpPool


def cloud_chargers(client: V2CClient, clock: Clock) -> ChargerFactory:
    """A `CloudCharger` per device over the account's `client`, whose calls reach the listener."""

    def make(device_id: str, listener: CallListener) -> Charger:
        client.on_call = listener
        return CloudCharger(client, device_id, clock=clock.now)

    return make


def cloud_daemon(
    config: AppConfig,
    client: V2CClient,
    clock: Clock,
    store: SqlStore,
    *,
    clear_sky_days: ClearSkyDays = in_process,
    board: StatusBoard | None = None,
    live: LiveInputs | None = None,
) -> Daemon:
    """The daemon over every configured charger of the account behind `client`.

    `clear_sky_days` says where the clear-sky model runs (`build_site`). It records
    through a `RetryingStore`: a failing disk is logged once and the control goes
    on, the records kept for the next cycle's commit. With a `board` the daemon
    publishes its status there; `daemon.control` steers it from other threads.
    `live` are the site's prices and weather and the jobs refreshing them
    (`optimizer.composition.live_inputs`; None: no prices, offline forecast).
    """
    live = live or LiveInputs()
    chargers = cloud_chargers(client, clock)
    site = build_site(
        config,
        chargers,
        clock,
        RetryingStore(store),
        clear_sky_days=clear_sky_days,
        weather=live.weather,
        prices=live.prices,
        jobs=live.jobs,
    )
    reconciler = cloud_reconciler(client, store, config.site.tz)
    return build_daemon(site, reconciler=reconciler, board=board, target_poll_s=TARGET_POLL_S)


@dataclass(frozen=True, slots=True)
class AccountDaemons:
    """One account's wiring: its client (over the shared pool), planner, store and sites."""

    name: str
    client: V2CClient
    scheduler: LedgeredScheduler
    store: SqlStore
    daemons: tuple[Daemon, ...]
    flush: Callable[[], None]
    """Writes what the account's worker recorded in a round (`RoundStore.flush`)."""


def account_daemons(
    account: AccountSpec,
    client: V2CClient,
    clock: Clock,
    store: SqlStore,
    *,
    boards: bool = False,
    clear_sky_days: ClearSkyDays = in_process,
    live: Sequence[LiveInputs] | None = None,
) -> AccountDaemons:
    """The daemons of every site of `account`, each built by the composition root over
    the account's one `client` and one read scheduler (the quota is the account's);
    `store` is the process's database, of which the account writes and reads its own rows,
    a round's records in one transaction (the worker calls `flush` after each round).
    With `boards` every site publishes its status on a `StatusBoard` of its own;
    `clear_sky_days` says where the clear-sky model runs (`build_site`). `live` are the
    sites' prices and weather, in their order (`site_inputs`; None: no prices, offline
    forecast); their jobs are the fleet's to run, not the sites' (`FleetBackground`).
    """
    own = store.for_account(account.name)
    recording = RoundStore(own)
    scheduler = account_planner(account.sites)
    chargers = cloud_chargers(client, clock)
    inputs = live or [LiveInputs()] * len(account.sites)
    daemons = []
    for config, site_live in zip(account.sites, inputs, strict=True):
        site = build_site(
            config,
            chargers,
            clock,
            recording,
            scheduler=scheduler,
            clear_sky_days=clear_sky_days,
            weather=site_live.weather,
            prices=site_live.prices,
        )
        reconciler = cloud_reconciler(client, own, config.site.tz)
        board = StatusBoard() if boards else None
        daemons.append(
            build_daemon(site, reconciler=reconciler, board=board, target_poll_s=TARGET_POLL_S)
        )
    recording.forget_reads()
    return AccountDaemons(account.name, client, scheduler, own, tuple(daemons), recording.flush)


def fleet_daemons(
    accounts: Sequence[AccountSpec],
    pool: HttpPool,
    base_url: str,
    clock: Clock,
    store: SqlStore,
    *,
    boards: bool = False,
    clear_sky_days: ClearSkyDays = in_process,
    inputs: SharedLiveInputs | None = None,
) -> tuple[AccountDaemons, ...]:
    """Every account's daemons, their clients on the one HTTP `pool` (see `account_daemons`),
    their sites' prices and weather from `inputs` (None: none), every provider built
    before any account is wired (`site_inputs`: a `ConfigError` naming account and site).
    """
    from adapters.v2c_cloud.pool import PooledV2CClient

    live = [None if inputs is None else site_inputs(a, inputs) for a in accounts]
    return tuple(
        account_daemons(
            account,
            PooledV2CClient(pool, account.api_key, base_url=base_url, clock=clock.now),
            clock,
            store,
            boards=boards,
            clear_sky_days=clear_sky_days,
            live=account_live,
        )
        for account, account_live in zip(accounts, live, strict=True)
    )


def site_inputs(account: AccountSpec, inputs: SharedLiveInputs) -> tuple[LiveInputs, ...]:
    """Each site's prices and weather of `account` from the fleet's shared feeds; a provider
    that cannot be built (a token or key not set) is a `ConfigError` in one line naming
    the account, the site and the section."""
    from optimizer.accounts import site_names
    from optimizer.forecast.weather import WeatherSourceError
    from optimizer.prices.port import PriceSourceError

    out = []
    for config, name in zip(account.sites, site_names(account.sites), strict=True):
        where = f"account {account.name}, site {name}"
        try:
            out.append(inputs.for_site(config, f"{account.name}/{name}"))
        except PriceSourceError as exc:
            raise ConfigError(f"{where}: [prices] {exc}") from None
        except WeatherSourceError as exc:
            raise ConfigError(f"{where}: [forecast] {exc}") from None
    return tuple(out)
