"""`v2c-solar run --config fleet.toml`: one daemon process for every `[[accounts]]` entry.

A config with `[[accounts]]` (`optimizer.accounts`) runs here instead of the
single-home path: each account's key read (from its variable or file), every
account's sites wired by the composition root over one HTTP pool, one worker
thread per account (`optimizer.daemon.fleet`), one database whose rows carry the
account, one web server over them all (`/metrics` and `/api/accounts` cover every
account, the other routes one home: `?account=NAME&site=NAME`, by default the first),
and the clear-sky model in this process (pvlib once for every site, not a child
process per site as for one home). Each site's `[prices]` and `[forecast]` are read as
for one home (`optimizer.composition`), sites with identical ones sharing one feed,
refreshed on one background thread for the whole fleet, each feed's disk cache in a
folder of its own (`SharedLiveInputs(scoped_caches=True)`); a provider that cannot be
built (a token not set) is one line naming the account and the site, exit 2. With a
broker (the fleet file's `[mqtt]` or `--mqtt`) one MQTT connection publishes every home
with Home Assistant discovery under `<prefix>/<account>/<site>` and takes each home's
commands to that home only (`adapters.mqtt.fleet`). SIGINT/SIGTERM:
each account leaves its chargers in their own exclusive-PV mode. Exit 1 naming the
accounts whose key was refused or whose chargers were not left safe; every other
account ran on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from adapters.mqtt.config import MqttSettings
    from adapters.mqtt.fleet import FleetHome
    from adapters.web.server import WebServer
    from adapters.web.sites import WebSite
    from optimizer.accounts import AccountSpec, FleetConfig
    from optimizer.config import AppConfig
    from optimizer.daemon import SpeedClock
    from optimizer.daemon.cloud import AccountDaemons
    from optimizer.daemon.core import Daemon
    from optimizer.daemon.fleet import AccountOutcome


def run_fleet(
    fleet: FleetConfig,
    *,
    db: str | None,
    base_url: str | None,
    clock: SpeedClock,
    web: str | None,
    verbose: bool,
    mqtt: MqttSettings | None = None,
) -> None:
    """Serve every account of `fleet` until a signal (see the module doc); `mqtt` is the
    broker (None: no MQTT)."""
    from adapters.v2c_cloud import DEFAULT_BASE_URL
    from adapters.v2c_cloud.pool import HttpPool
    from optimizer.cli.daemon import EXIT_FATAL, RUN_WEB_HINT, _fail, open_store
    from optimizer.composition import SharedLiveInputs
    from optimizer.config import ConfigError
    from optimizer.daemon.cloud import fleet_daemons
    from optimizer.daemon.fleet import FleetRunner
    from optimizer.daemon.serve import stop_on_signals
    from optimizer.forecast.clearsky_compute import in_process

    try:
        accounts = fleet.resolve(os.environ)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    store = open_store(db or fleet.storage.url)
    pool = HttpPool()
    inputs = SharedLiveInputs(clock, os.environ, scoped_caches=True)
    try:
        try:
            wired = fleet_daemons(
                accounts,
                pool,
                base_url or DEFAULT_BASE_URL,
                clock,
                store,
                boards=True,
                clear_sky_days=in_process,
                inputs=inputs,
            )
        except ConfigError as exc:
            raise _fail(str(exc)) from None
        bridge = fleet_bridge(mqtt, wired, accounts)
        server = bind_fleet_web(web, wired, accounts, db or fleet.storage.url, RUN_WEB_HINT)
        chargers = sum(len(d.controllers) for w in wired for d in w.daemons)
        typer.echo(
            f"v2c-solar: {len(wired)} account(s), {chargers} charger(s), db {store.url}"
            + (f", MQTT {mqtt.where}" if mqtt else ""),
            err=True,
        )
        _load_clear_sky_model()
        runner = FleetRunner(wired, clock, background=inputs.jobs)
        with serving(server), bridge, stop_on_signals(runner.stop_event):
            runner.start()
            try:
                runner.wait()
            finally:
                outcomes = runner.stop()
        store.commit()
    finally:
        pool.close()
        store.close()
    typer.echo(_lateness(outcomes), err=True)
    problems = _problems(outcomes)
    if problems:
        raise _fail("; ".join(problems), EXIT_FATAL)
    typer.echo("v2c-solar: stopped; chargers left in their own EXCLUSIVE_PV mode", err=True)


@contextmanager
def serving(server: WebServer | None) -> Iterator[None]:
    """`server` serving (and its address said) while the block runs; None: nothing."""
    if server is None:
        yield
        return
    server.start()
    typer.echo(f"v2c-solar: web API and metrics on {server.url}", err=True)
    try:
        yield
    finally:
        server.stop()


def _load_clear_sky_model() -> None:
    """Import the clear-sky model (pvlib, pandas) once, before the workers start.

    A fleet computes its sites' clear sky in this process (`in_process`), not in a child
    per site as the single-home daemon does: ~150 MB of pvlib once, against one child of
    ~110 MB and seconds of imports per site and refresh; 636 sites refreshing at start
    ran ~100 children at once (load average ~100 on 2 cores) and every one timed out.
    Imported here so that 100 worker threads do not import it at the same time."""
    import optimizer.forecast.clearsky_model  # noqa: F401


def _lateness(outcomes: list[AccountOutcome]) -> str:
    """How late the accounts' rounds ran after their due time (simulated s): near 0 while
    the process keeps up with its clock, growing when it falls behind."""
    means = [o.late_s_mean for o in outcomes]
    mean = sum(means) / len(means) if means else 0.0
    worst = max((o.late_s_max for o in outcomes), default=0.0)
    return f"v2c-solar: rounds ran {mean:.1f} s late on average, {worst:.1f} s at worst"


def _problems(outcomes: list[AccountOutcome]) -> list[str]:
    """One phrase per account that was refused or left chargers unsafe."""
    out = [o.fatal for o in outcomes if o.fatal]
    for o in outcomes:
        if o.not_safe:
            out.append(
                f"account {o.account}: could not put charger(s) {', '.join(o.not_safe)} in "
                "their own exclusive-PV mode; they keep their last setting"
            )
    return out


def bind_fleet_web(
    listen: str | None,
    wired: tuple[AccountDaemons, ...],
    accounts: Sequence[AccountSpec],
    url: str,
    hint: str,
) -> WebServer | None:
    """The web server over every account's homes (None when `listen` is empty)."""
    from adapters.web.server import ListenError, web_server
    from optimizer.cli.daemon import _fail

    if not listen or wired[0].daemons[0].board is None:
        return None
    try:
        return web_server(listen, web_sites(wired, accounts), database_url=url)
    except ListenError as exc:
        raise _fail(f"{exc}{hint}") from None


def homes(
    wired: Sequence[AccountDaemons], accounts: Sequence[AccountSpec]
) -> Iterator[tuple[str, str, AppConfig, Daemon]]:
    """Each home's account, site name (`site_names`), config and daemon, in the order of
    `accounts` and their sites (`wired` was built from them, `fleet_daemons`)."""
    from optimizer.accounts import site_names

    for account, spec in zip(wired, accounts, strict=True):
        names = site_names(spec.sites)
        for daemon, name, config in zip(account.daemons, names, spec.sites, strict=True):
            yield account.name, name, config, daemon


def web_sites(wired: Sequence[AccountDaemons], accounts: Sequence[AccountSpec]) -> list[WebSite]:
    """Each account's homes as the web app selects them (`?account=NAME&site=NAME`, `homes`):
    each home's sessions are its account's rows of its chargers."""
    from adapters.web.sites import WebSite

    out = []
    for account, name, _, daemon in homes(wired, accounts):
        assert daemon.board is not None
        devices = tuple(daemon.controllers)
        tariff = daemon.controllers[devices[0]].sessions.tariff
        out.append(
            WebSite(
                daemon.board,
                daemon.control,
                daemon.timezone,
                account=account,
                name=name,
                store_account=account,
                devices=devices,
                tariff=tariff,
            )
        )
    return out


def mqtt_homes(wired: Sequence[AccountDaemons], accounts: Sequence[AccountSpec]) -> list[FleetHome]:
    """Each account's homes as the MQTT bridge publishes them (`homes`)."""
    from adapters.mqtt.fleet import FleetHome

    out = []
    for account, name, config, daemon in homes(wired, accounts):
        assert daemon.board is not None
        devices = tuple(daemon.controllers)
        out.append(FleetHome(account, name, daemon.board, daemon.control, config.site.tz, devices))
    return out


def fleet_bridge(
    mqtt: MqttSettings | None, wired: Sequence[AccountDaemons], accounts: Sequence[AccountSpec]
) -> AbstractContextManager[None]:
    """The MQTT bridge over every home, to run while the fleet serves (nothing without a
    broker); two homes whose ids would meet are one line, exit 2, before connecting."""
    from adapters.mqtt.fleet import FleetNameError, fleet_homes
    from adapters.mqtt.running import running_homes
    from optimizer.cli.daemon import _fail

    if mqtt is None:
        return nullcontext()
    try:
        return running_homes(mqtt, fleet_homes(mqtt, mqtt_homes(wired, accounts)))
    except FleetNameError as exc:
        raise _fail(str(exc)) from None


__all__ = ["run_fleet"]
