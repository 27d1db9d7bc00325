"""`v2c-solar run`, `v2c-solar demo` and `v2c-solar budget`: the daemon's commands.

- `run --config config/home.toml [--db URL]`: the daemon against the real V2C
  Cloud (key from `V2C_API_KEY`, base URL from `--base-url`/`V2C_BASE_URL`).
- `demo [--hours 24] [--speed N] [--scenario FILE] [--seed 1] [--db URL]
  [--policy NAME] [--json] [--error-rate P ... the fault options of
  `simulator serve`]`: the embedded HTTP simulator on 127.0.0.1 (a free
  port) and the same daemon against it over real HTTP, with a live status
  line and a session summary (a revoked key: `fatal` names the 401, exit 1).
  The database defaults to `demo.db` in a fresh temporary directory: the
  simulated days repeat from run to run, and a ledger that already holds
  calls of those days would eat the budget.
- `--mqtt mqtt://[user[:password]@]host[:port]` (or `mqtts://`; also `V2C_SOLAR_MQTT`
  or `[mqtt]`) on `run` and `demo`: the MQTT bridge with Home Assistant discovery
  publishes beside the daemon (`adapters/mqtt/`); a bad URL is one line, exit 2. A
  fleet (`run` with `[[accounts]]`) publishes every home over one connection, each
  under `<prefix>/<account>/<site>` (the fleet file's `[mqtt]`, `--mqtt` replacing
  its broker).
- `budget [--config FILE] [--db URL]`: today's planned reads and the spend so far.
  A database that does not exist yet means nothing spent; a malformed URL or a
  directory is exit 2, a file that is not a readable database exit 1 (as `sessions`).

SIGINT/SIGTERM: the cycle in flight finishes, every charger is left in its own
exclusive-PV mode, the database is committed, exit 0. A charger the shutdown
could not put in that mode (cloud unreachable, no budget left) is named in one
line and the exit code is 1: a supervisor must learn that a charger may still
follow the daemon's last setting. A database that cannot be written (disk full,
read-only) is logged in one line and does not stop the control: the records
are kept in memory and written by the first commit that works; if it still
fails at exit, one line and exit 1. A 401 stops the daemon with a one-line
message and exit 1. Argument errors: one line, exit 2. A second daemon on the
same SQLite database (`run`, or `demo --db`) is refused: one line naming the
database and the other daemon's pid, exit 2 (two would spend the budget twice).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from optimizer.cli import fault_options
from optimizer.cli.database import AccountOption

if TYPE_CHECKING:
    from collections.abc import Callable

    from adapters.mqtt.config import MqttConfig, MqttSettings
    from adapters.storage import SqlStore
    from adapters.web.server import WebServer
    from optimizer.accounts import FleetConfig
    from optimizer.composition import LiveInputs
    from optimizer.config import AppConfig
    from optimizer.daemon import Daemon, SpeedClock
    from optimizer.daemon.serve import RunOutcome
    from optimizer.interfaces import Clock


API_KEY_ENV = "V2C_API_KEY"
BASE_URL_ENV = "V2C_BASE_URL"
DB_ENV = "V2C_SOLAR_DB"

DEMO_SPEED = 2880.0
"""Default demo speed (simulated s per wall s): a simulated day in 30 wall seconds."""

MAX_DEMO_HOURS = 24.0 * 14
DEMO_KEY_REFUSED_HINT = "--revoke-keys-at (the simulator refuses the demo key from then on)"
"""What a 401 in the demo points at: the demo's key is refused only when the user said so."""
EXIT_USAGE = 2
EXIT_FATAL = 1

ConfigOption = Annotated[Path, typer.Option("--config", help="The app config (TOML).")]
"""`--config` of `run` and `budget`."""

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar=DB_ENV, help="SQLAlchemy URL (default: \\[storage] url)."),
]
"""`--db` of `run` and `budget`: the environment's database, else the config's."""


MQTT_ENV = "V2C_SOLAR_MQTT"
MqttOption = Annotated[
    str | None,
    typer.Option(
        "--mqtt",
        envvar=MQTT_ENV,
        help="MQTT broker for Home Assistant: mqtt://user:password@host:port, user, password "
        f"and port optional (mqtts:// for TLS; ${MQTT_ENV} keeps a password out of `ps`).",
    ),
]
"""`--mqtt` of `run` and `demo`: replaces `[mqtt]`'s broker."""


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


# ----- shared by run and demo --------------------------------------------------------------


def open_store(url: str) -> SqlStore:
    """Open (create) and lock the database for this daemon.

    A bad `--db` or a database another daemon holds (named with its pid) is one
    line, exit 2; a failure to open, exit 1.
    """
    from adapters.storage import SqlStore, StoreError, StoreLockedError, StoreUrlError
    from optimizer.cli.database import database_path_problem

    problem = database_path_problem(url, create=True)
    if problem is not None:
        raise _fail(problem)
    try:
        return SqlStore(url, exclusive=True)
    except (StoreUrlError, StoreLockedError) as exc:
        raise _fail(str(exc)) from None
    except StoreError as exc:
        raise _fail(str(exc), EXIT_FATAL) from None


def load_app_config(path: Path) -> AppConfig:
    """A single-home config file, or a one-line error naming file and key (exit 2)."""
    from optimizer.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def load_fleet_config(path: Path) -> FleetConfig:
    """The config file's accounts (a single home: the account `default`), or a one-line
    error naming file and key (exit 2)."""
    from optimizer.accounts import load_fleet
    from optimizer.config import ConfigError

    try:
        return load_fleet(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _mqtt_settings(url: str | None, config: MqttConfig | None) -> MqttSettings | None:
    """The MQTT broker of `--mqtt` / `[mqtt]`, None without one; a bad one is exit 2."""
    from adapters.mqtt.config import MqttUrlError
    from adapters.mqtt.running import mqtt_settings

    try:
        return mqtt_settings(url, config)
    except MqttUrlError as exc:
        raise _fail(str(exc)) from None


def _check_policy(policy: str | None) -> None:
    from optimizer.policies.registry import POLICY_NAMES

    if policy is not None and policy not in POLICY_NAMES:
        raise _fail(f"--policy: unknown policy {policy!r}; known: {', '.join(POLICY_NAMES)}")


WebOption = Annotated[
    str | None,
    typer.Option(
        "--web",
        help="Serve the page, JSON API and /metrics on HOST:PORT (loopback unless told).",
    ),
]
"""`--web HOST:PORT` of `run` and `demo`."""

RUN_WEB_HINT = " (--web HOST:PORT to serve elsewhere, --no-web for none)"
"""What a web address `run` cannot serve on ends with: it serves by default."""


def _bind_web(
    listen: str | None,
    daemon: Daemon,
    database_url: str,
    hint: str = "",
    site_name: str | None = None,
) -> WebServer | None:
    """The web server for `listen` over the daemon's board and control, bound now
    (a port in use or a bad HOST:PORT is one line ending with `hint`, exit 2); None
    when `listen` is empty. `site_name` is the home's `[site] name` (None: `site1`)."""
    if not listen or daemon.board is None:
        return None
    from adapters.web.server import ListenError, web_server
    from adapters.web.sites import DEFAULT_SITE, WebSite

    # Every controller prices its sessions with the config's one tariff.
    tariff = next(iter(daemon.controllers.values())).sessions.tariff
    name = site_name or DEFAULT_SITE
    home = WebSite(daemon.board, daemon.control, daemon.timezone, name=name, tariff=tariff)
    try:
        return web_server(listen, home, database_url=database_url)
    except ListenError as exc:
        raise _fail(f"{exc}{hint}") from None


def _serve(
    daemon: Daemon,
    clock: SpeedClock,
    *,
    until: datetime | None = None,
    status: bool,
    key_env: str = API_KEY_ENV,
    web: WebServer | None = None,
) -> RunOutcome:
    """Serve `daemon` under APScheduler (with the live status line when `status`),
    and `web` in its thread meanwhile (stopped after the daemon's shutdown).

    `key_env` is what the message of a refused key (401) tells the user to check.
    """
    from optimizer.cli.daemon_output import StatusLine
    from optimizer.daemon import SchedulerRunner
    from optimizer.daemon.serve import serve

    if web is not None:
        web.start()
        typer.echo(f"v2c-solar: web API and metrics on {web.url}", err=True)
    try:
        with StatusLine(daemon, enabled=status) as line:
            runner = SchedulerRunner(daemon, clock)
            return serve(daemon, runner, until=until, tick=line.refresh, key_env=key_env)
    finally:
        if web is not None:
            web.stop()


def _last_commit(store: SqlStore) -> str | None:
    """Write what a failing disk kept in memory; the one-line error when it still fails.

    While the daemon runs, a failed commit is logged once and retried every
    cycle (`RetryingStore`); at exit the records left are lost, so say so.
    """
    from adapters.storage import StoreError

    try:
        store.commit()
    except StoreError as exc:
        return f"{exc}; the records since the disk failed are lost"
    return None


def _exit_if_unsafe(outcome: RunOutcome) -> None:
    """Exit 1 with one line when the key was refused or a charger was not left safe."""
    if outcome.fatal is not None:
        raise _fail(outcome.fatal, EXIT_FATAL)
    problem = outcome.safe_state_problem()
    if problem is not None:
        raise _fail(problem, EXIT_FATAL)


# ----- run ------------------------------------------------------------------------------------


def run(
    config: ConfigOption = Path("config/home.toml"),
    db: DbOption = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", envvar=BASE_URL_ENV, help="API base URL.")
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="Override the configured policy.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every job.")] = False,
    mqtt: MqttOption = None,
    web: WebOption = None,
    no_web: Annotated[
        bool, typer.Option("--no-web", help="No web server (default: serve on \\[web] listen).")
    ] = False,
    clock_from_server: Annotated[
        bool,
        typer.Option(
            "--clock-from-server",
            help="Follow the simulated clock of a `v2c-solar simulator serve` at --base-url "
            "(GET /sim/clock) instead of the wall clock: soaks at simulated speed.",
        ),
    ] = False,
    clock_file: Annotated[
        Path | None,
        typer.Option(
            "--clock-file",
            help="Follow the simulated clock in this file, shared with a `v2c-solar simulator "
            "serve --clock-file` and held by a driver while a process starts (soaks).",
        ),
    ] = None,
) -> None:
    """Run the daemon against the real V2C Cloud until SIGINT/SIGTERM.

    Serves the page, JSON API and metrics on `--web` or `\\[web] listen`
    (127.0.0.1:8787 by default) unless `--no-web`; writes need `V2C_SOLAR_WEB_TOKEN`.

    Exit 0 when every charger acknowledged its own exclusive-PV mode on the way
    out; exit 1 (one line naming the chargers) when the cloud refused the key or
    a charger could not be put in that mode (it keeps its last setting).
    """
    from adapters.mqtt.running import running_bridge
    from adapters.v2c_cloud import DEFAULT_BASE_URL, V2CClient, V2CValidationError
    from optimizer.composition import with_policy
    from optimizer.daemon.cloud import cloud_daemon
    from optimizer.forecast import InChildProcess
    from optimizer.status import StatusBoard

    fleet = load_fleet_config(config)
    if not fleet.single_home:
        from optimizer.cli.run_fleet import run_fleet

        if policy is not None:
            raise _fail("a config with [[accounts]] takes no --policy")
        broker = _mqtt_settings(mqtt, fleet.mqtt)
        clock = _run_clock(base_url, clock_from_server, clock_file)
        listen = None if no_web else (web or fleet.web.listen)
        run_fleet(
            fleet, db=db, base_url=base_url, clock=clock, web=listen, mqtt=broker, verbose=verbose
        )
        return
    app_config = fleet.accounts[0].sites[0]
    _check_policy(policy)
    mqtt_settings = _mqtt_settings(mqtt, app_config.mqtt)
    if not os.environ.get(API_KEY_ENV, "").strip():
        raise _fail(f"{API_KEY_ENV} is not set: export your V2C Cloud API key")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    clock = _run_clock(base_url, clock_from_server, clock_file)
    try:
        client = V2CClient(base_url=base_url or DEFAULT_BASE_URL, clock=clock.now)
    except V2CValidationError as exc:
        raise _fail(str(exc)) from None
    live = _live_inputs(app_config, clock)
    store = open_store(db or app_config.storage.url)
    try:
        # The clear-sky model runs in a short-lived child: pvlib and pandas stay out of `run`.
        daemon = cloud_daemon(
            with_policy(app_config, policy),
            client,
            clock,
            store,
            clear_sky_days=InChildProcess(),
            board=StatusBoard(),
            live=live,
        )
        listen = None if no_web else (web or app_config.web.listen)
        url = db or app_config.storage.url
        server = _bind_web(listen, daemon, url, RUN_WEB_HINT, app_config.site.name)
        typer.echo(
            f"v2c-solar: {len(daemon.controllers)} charger(s), policy "
            f"{policy or app_config.policy.name}, db {store.url}, "
            f"{daemon.planner.spent(clock.now())} calls spent today"
            + (f", MQTT {mqtt_settings.where}" if mqtt_settings else ""),
            err=True,
        )
        with running_bridge(mqtt_settings, daemon.board, daemon.control, app_config.site.tz):
            outcome = _serve(daemon, clock, status=not verbose, web=server)
        unwritten = _last_commit(store)
    finally:
        client.close()
        store.close()
    _exit_if_unsafe(outcome)
    if unwritten is not None:
        raise _fail(unwritten, EXIT_FATAL)
    typer.echo(f"v2c-solar: stopped; chargers left in their own {outcome.safe_mode} mode", err=True)


def _live_inputs(config: AppConfig, clock: Clock) -> LiveInputs:
    """`[prices]` and `[forecast]` for the daemon; a provider that cannot be built (a token
    or key not set) is one line naming its section, exit 2."""
    from optimizer.composition import live_inputs
    from optimizer.forecast.weather import WeatherSourceError
    from optimizer.prices.port import PriceSourceError

    try:
        return live_inputs(config, clock, os.environ)
    except PriceSourceError as exc:
        raise _fail(f"[prices] {exc}") from None
    except WeatherSourceError as exc:
        raise _fail(f"[forecast] {exc}") from None


def _run_clock(base_url: str | None, from_server: bool, clock_file: Path | None) -> SpeedClock:
    """The clock `run` follows: the wall clock, a simulator's, or a shared clock file."""
    from optimizer.clock import FileClock, WallClock

    if from_server and clock_file is not None:
        raise _fail("--clock-from-server and --clock-file: give one")
    if clock_file is not None:
        try:
            return FileClock(clock_file)
        except (OSError, ValueError) as exc:
            raise _fail(f"--clock-file: {exc}") from None
    return _simulator_clock(base_url) if from_server else WallClock()


def _simulator_clock(base_url: str | None) -> SpeedClock:
    """The clock of the simulator serving `base_url` (its scheme and host's `/sim/clock`)."""
    from urllib.parse import urlsplit

    import httpx

    from adapters.simulator.demo import simulator_clock

    if base_url is None:
        raise _fail("--clock-from-server needs --base-url (a `v2c-solar simulator serve`)")
    parts = urlsplit(base_url)
    root = f"{parts.scheme}://{parts.netloc}"
    try:
        return simulator_clock(root)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise _fail(f"--clock-from-server: no simulator clock at {root}/sim/clock: {exc}") from None


# ----- demo -----------------------------------------------------------------------------------


def demo(
    hours: Annotated[float, typer.Option("--hours", help="Simulated hours to run.")] = 24.0,
    speed: Annotated[
        float, typer.Option("--speed", help="Simulated seconds per wall second.")
    ] = DEMO_SPEED,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="config/scenarios/<name>.toml")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed of the simulated world (>= 0).")
    ] = 1,
    db: Annotated[
        str | None,
        typer.Option("--db", help="SQLAlchemy URL (default: demo.db in a new temp dir)."),
    ] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Charging policy.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the summary as a JSON object.")
    ] = False,
    error_rate: fault_options.ErrorRateOption = 0.0,
    latency: fault_options.LatencyOption = 0.0,
    timeout_rate: fault_options.TimeoutRateOption = 0.0,
    timeout_s: fault_options.TimeoutSOption = fault_options.TIMEOUT_S_DEFAULT,
    malformed_rate: fault_options.MalformedRateOption = 0.0,
    drop_rate: fault_options.DropRateOption = 0.0,
    outage_start: fault_options.OutageStartOption = None,
    outage_end: fault_options.OutageEndOption = None,
    throttle_start: fault_options.ThrottleStartOption = None,
    throttle_end: fault_options.ThrottleEndOption = None,
    throttle_retry_after: fault_options.ThrottleRetryAfterOption = True,
    revoke_keys_at: fault_options.RevokeKeysAtOption = None,
    offline: fault_options.OfflineOption = None,
    mqtt: MqttOption = None,
    web: WebOption = None,
    fleet: Annotated[
        str | None,
        typer.Option(
            "--fleet",
            help="ACCOUNTS:CHARGERS: a generated fleet (each account its key, quota and homes) "
            "driven by one daemon process; --json adds `accounts`; --web serves every home "
            "(?account=NAME&site=NAME); --mqtt publishes every home (v2c-solar/ACCOUNT/SITE/...).",
        ),
    ] = None,
) -> None:
    """The daemon against the embedded simulator over HTTP on 127.0.0.1, at high speed.

    The fault options are `simulator serve`'s: the simulator misbehaves as the
    real cloud can, and the summary lists the faults it was given. Exit 1 after
    the summary when a charger could not be left in its own exclusive-PV mode at
    the end, or the simulator refused the key (`--revoke-keys-at`: `fatal`
    names the 401).
    """
    import time as _time

    from adapters.mqtt.running import running_bridge
    from adapters.simulator.demo import demo_config, simulator_clock, start_demo_simulator
    from adapters.simulator.demo_summary import summarize
    from adapters.simulator.server import DEMO_API_KEY
    from adapters.simulator.world import ScenarioError, default_scenario, load_scenario
    from adapters.v2c_cloud import V2CClient
    from optimizer.cli.daemon_output import print_summary
    from optimizer.daemon.cloud import cloud_daemon
    from optimizer.status import StatusBoard

    if not 0 < hours <= MAX_DEMO_HOURS:
        raise _fail(f"--hours must be in (0, {MAX_DEMO_HOURS:g}], got {hours:g}")
    if not 1 <= speed <= 100_000:
        raise _fail(f"--speed must be in [1, 100000] simulated s per wall s, got {speed:g}")
    _check_policy(policy)
    mqtt_settings = _mqtt_settings(mqtt, None)
    try:
        world_scenario = default_scenario() if scenario is None else load_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(str(exc)) from None
    faults = fault_options.fault_config(
        error_rate=error_rate,
        latency=latency,
        timeout_rate=timeout_rate,
        timeout_s=timeout_s,
        malformed_rate=malformed_rate,
        drop_rate=drop_rate,
        outage_start=outage_start,
        outage_end=outage_end,
        throttle_start=throttle_start,
        throttle_end=throttle_end,
        throttle_retry_after=throttle_retry_after,
        revoke_keys_at=revoke_keys_at,
        offline=offline,
        seed=seed,
    )
    if fleet is not None:
        from optimizer.cli.demo_fleet import fleet_demo

        if scenario is not None or policy is not None:
            raise _fail("--fleet: cannot be combined with --scenario or --policy")
        fleet_demo(
            fleet,
            hours=hours,
            speed=speed,
            seed=seed,
            db=db,
            as_json=as_json,
            faults=faults,
            web=web,
            mqtt=mqtt_settings,
        )
        return
    app_config = demo_config(world_scenario, policy)
    url = db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='v2c-demo-')) / 'demo.db'}"
    url = _absolute_url(url)  # the commands it ends with work from any directory
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    store = open_store(url)
    try:
        running, counter = start_demo_simulator(
            world_scenario, seed=seed, speed=speed, faults=faults
        )
    except ValueError as exc:  # offline windows naming devices the scenario lacks
        store.close()
        raise typer.BadParameter(str(exc), param_hint="--offline") from None
    try:
        clock = simulator_clock(running.root_url)
        start = clock.now()
        if store.calls_between(start - timedelta(days=1), start + timedelta(hours=hours)):
            raise _fail(
                f"--db {store.url} already holds API calls of the simulated days; "
                "the demo needs a fresh database"
            )
        client = V2CClient(api_key=DEMO_API_KEY, base_url=running.base_url, clock=clock.now)
        live = _live_inputs(app_config, clock)  # the scenario's [prices]; weather offline
        daemon = cloud_daemon(app_config, client, clock, store, board=StatusBoard(), live=live)
        server = _bind_web(web, daemon, url)
        # Written once `--web` is bound: a bad address is then its one error line alone.
        config_file = _write_demo_config(app_config, url, world_scenario.name, seed)
        # `--hours` from here, not from the simulator's start: at thousands of times real
        # time the wiring above is simulated hours, on a loaded machine the whole demo.
        until = clock.now() + timedelta(hours=hours)
        wall0 = _time.monotonic()
        with running_bridge(mqtt_settings, daemon.board, daemon.control, app_config.site.tz):
            outcome = _serve(
                daemon,
                clock,
                until=until,
                status=not as_json,
                key_env=DEMO_KEY_REFUSED_HINT,
                web=server,
            )
        summary = summarize(
            store=store,
            running=running,
            counter=counter,
            outcome=outcome,
            hours=hours,
            speed=speed,
            wall_s=_time.monotonic() - wall0,
            policy=app_config.policy.name,
            tz=app_config.site.tz,
        )
        summary.config = None if config_file is None else str(config_file)
        client.close()
    finally:
        running.stop()
        store.close()
    if as_json:
        typer.echo(json.dumps(summary.as_json()))
    else:
        print_summary(summary)
    _exit_if_unsafe(outcome)


def _absolute_url(url: str) -> str:
    """`url` naming its SQLite file by an absolute path; a malformed one as it is (the
    store names the problem when it opens)."""
    from adapters.storage import StoreUrlError
    from adapters.storage.engine import absolute_sqlite_url

    try:
        return absolute_sqlite_url(url)
    except StoreUrlError:
        return url


def _write_demo_config(config: AppConfig, url: str, scenario: str, seed: int) -> Path | None:
    """The demo's config beside its SQLite database (`write_demo_config`), for `plan
    --config` (see `announce_demo_config`)."""
    from adapters.simulator.demo import write_demo_config

    note = (
        f"The config `v2c-solar demo` ran with: scenario {scenario}, seed {seed}, policy "
        f"{config.policy.name}; its database beside this file.\n"
        "Its chargers are the simulator's: for your home, start from config/home.toml."
    )
    return announce_demo_config(lambda: write_demo_config(config, url, note=note))


def announce_demo_config(write: Callable[[], Path | None]) -> Path | None:
    """Run `write` (a demo's config written beside its database) and name the file on
    stderr (`--json` keeps stdout to its object); None when none is written, with one
    line on stderr when a file of the user's is in the way."""
    try:
        path = write()
    except OSError as exc:
        typer.echo(f"warning: {exc}", err=True)
        return None
    if path is not None:
        typer.echo(f"v2c-solar: the demo's config {path} (--config of plan)", err=True)
    return path


# ----- budget ---------------------------------------------------------------------------------


def budget(
    config: ConfigOption = Path("config/home.toml"),
    db: DbOption = None,
    account: AccountOption = None,
) -> None:
    """Today's planned read times and the spend so far (from the database's call ledger).

    With a fleet file (`\\[\\[accounts]]`) the plan is one account's (`--account NAME`,
    needed when the file has several): its sites share its planner and its 1000 calls.
    """
    from adapters.storage import SqlStore, StoreError, StoreNotFoundError, StoreUrlError
    from adapters.storage.engine import redact_url
    from optimizer.cli.account_choice import choose_account
    from optimizer.cli.daemon_output import print_budget
    from optimizer.cli.database import check_account, database_path_problem
    from optimizer.composition import budget_plan

    try:
        chosen = choose_account(config, check_account(account))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    url = db or chosen.url
    problem = database_path_problem(url, create=False)
    if problem is not None:
        raise _fail(problem)
    now = datetime.now(UTC)
    try:
        with SqlStore(url, create_if_missing=False, account=chosen.account) as store:
            plan = budget_plan(chosen.sites, store, now)
    except StoreNotFoundError:
        typer.echo(f"(no database at {redact_url(url)} yet: nothing spent)", err=True)
        plan = budget_plan(chosen.sites, None, now)
    except StoreUrlError as exc:
        raise _fail(str(exc)) from None
    except StoreError as exc:
        raise _fail(str(exc), EXIT_FATAL) from None
    print_budget(plan, chosen.sites[0].site.tz)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("run")(run)
    app.command("demo")(demo)
    app.command("budget")(budget)


__all__ = ["DEMO_SPEED", "budget", "demo", "register", "run"]
