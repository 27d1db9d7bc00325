"""`v2c-solar run`, `v2c-solar demo` and `v2c-solar budget`: the daemon's commands.

- `run --config config/home.toml [--db URL]`: the daemon against the real V2C
  Cloud (key from `V2C_API_KEY`, base URL from `--base-url`/`V2C_BASE_URL`).
- `demo [--hours 24] [--speed N] [--scenario FILE] [--seed 1] [--db URL]
  [--policy NAME] [--json]`: the embedded HTTP simulator on 127.0.0.1 (a free
  port) and the same daemon against it over real HTTP, with a live status
  line and a session summary. The database defaults to `demo.db` in a fresh
  temporary directory: the simulated days repeat from run to run, and a
  ledger that already holds calls of those days would eat the budget.
- `budget [--config FILE] [--db URL]`: today's planned reads and the spend so far.
  A database that does not exist yet means nothing spent; a malformed URL or a
  directory is exit 2, a file that is not a readable database exit 1 (as `sessions`).

SIGINT/SIGTERM: the cycle in flight finishes, every charger is left in its own
exclusive-PV mode, the database is committed, exit 0. A charger the shutdown
could not put in that mode (cloud unreachable, no budget left) is named in one
line and the exit code is 1: a supervisor must learn that a charger may still
follow the daemon's last setting. A 401 stops the daemon with a one-line
message and exit 1. Argument errors: one line, exit 2.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from adapters.simulator.server import RunningSimulator
    from adapters.simulator.world import Scenario
    from adapters.storage import SqlStore
    from adapters.v2c_cloud import ChargeStatistic, V2CClient
    from optimizer.config import AppConfig
    from optimizer.daemon import Daemon, Reconciler, SchedulerRunner
    from optimizer.interfaces import SessionRecord

API_KEY_ENV = "V2C_API_KEY"
BASE_URL_ENV = "V2C_BASE_URL"
DB_ENV = "V2C_SOLAR_DB"

DEMO_SPEED = 2880.0
"""Default demo speed (simulated s per wall s): a simulated day in 30 wall seconds."""

MAX_DEMO_HOURS = 24.0 * 14
EXIT_USAGE = 2
EXIT_FATAL = 1

log = logging.getLogger("v2c_solar.daemon")


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


# ----- stopping on signals ---------------------------------------------------------------


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop` (the main thread then shuts down cleanly)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# ----- the live status line -----------------------------------------------------------------


class StatusLine:
    """One line, refreshed from the main thread: time, PV, house, car, current, mode, calls left."""

    def __init__(self, daemon: Daemon, enabled: bool) -> None:
        from rich.console import Console
        from rich.live import Live

        self.daemon = daemon
        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self._live = Live("", console=self.console, transient=True, auto_refresh=False)

    def __enter__(self) -> StatusLine:
        if self.enabled:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._live.stop()

    def text(self) -> str:
        """The status as plain text (also what the tests check)."""
        d = self.daemon
        now = d.clock.now()
        local = now.astimezone(next(iter(d.controllers.values())).timezone)
        parts = [f"{local:%Y-%m-%d %H:%M}"]
        for device, controller in d.controllers.items():
            r = controller.last_reading
            mode = controller.commanded.pv_mode
            current = controller.commanded.current_a
            if r is None:
                parts.append(f"{device}: no reading yet")
                continue
            parts.append(
                f"{device}: PV {r.pv_power_w / 1000:.1f} kW, house {r.household_w / 1000:.1f} kW, "
                f"car {r.car_power_w / 1000:.1f} kW, {current if current is not None else '-'} A, "
                f"{mode.name if mode is not None else '-'}"
            )
        parts.append(f"calls left {d.planner.remaining(now)}")
        return " | ".join(parts)

    def refresh(self) -> None:
        if self.enabled:
            self._live.update(self.text(), refresh=True)


# ----- running the daemon -----------------------------------------------------------------


@dataclass(slots=True)
class RunOutcome:
    """How a daemon run ended."""

    started: datetime
    ended: datetime
    fatal: str | None = None
    safe_commands: int = 0
    not_safe: tuple[str, ...] = ()
    """Chargers whose safe mode was not acknowledged (failed, deferred or skipped writes)."""
    safe_mode: str = "EXCLUSIVE_PV"
    shutdown_error: str | None = None
    """The first failed shutdown write's error, if any (for the message)."""

    def safe_state_problem(self) -> str | None:
        """One line naming the chargers not left in the safe mode, or None when all are."""
        if not self.not_safe:
            return None
        why = f" ({self.shutdown_error})" if self.shutdown_error else ""
        return (
            f"could not put charger(s) {', '.join(self.not_safe)} in their own "
            f"{self.safe_mode} mode on shutdown{why}; they keep their last setting"
        )


def serve(
    daemon: Daemon,
    runner: SchedulerRunner,
    *,
    until: datetime | None = None,
    status: StatusLine | None = None,
) -> RunOutcome:
    """Run under APScheduler until a signal, `until` (clock time) or a fatal error.

    Then: stop scheduling (the cycle in flight finishes), leave the chargers in
    the safe mode (unless the cloud refused our key), commit the store. A charger
    counts as left in the safe mode only when the daemon's commanded state says
    so afterwards: an acknowledged write, or a reading that already showed it.
    """
    started = daemon.clock.now()
    with stop_on_signals(runner.stop_event):
        runner.start()
        try:
            runner.wait(until=until, tick=status.refresh if status is not None else None)
        finally:
            runner.stop()
            commands = daemon.shutdown()
    fatal = None
    if daemon.fatal is not None:
        fatal = f"the V2C Cloud refused the API key (401): {daemon.fatal}; check {API_KEY_ENV}"
    elif runner.error is not None:
        fatal = f"daemon stopped: {type(runner.error).__name__}: {runner.error}"
    not_safe = tuple(
        device
        for device, controller in daemon.controllers.items()
        if controller.commanded.pv_mode is not daemon.safe_mode
    )
    failed = next((c.error for c in commands if not c.ok and c.error), None)
    return RunOutcome(
        started,
        daemon.clock.now(),
        fatal,
        sum(1 for c in commands if c.ok),
        not_safe=not_safe,
        safe_mode=daemon.safe_mode.name,
        shutdown_error=failed,
    )


def statistic_to_session(stat: ChargeStatistic, device_id: str, tz: tzinfo) -> SessionRecord | None:
    """A finished `stadistic/device` entry as a `SessionRecord` (local times to UTC)."""
    from optimizer.interfaces import SessionRecord

    if stat.start_local is None or stat.energy_wh is None:
        return None
    end = stat.end_local
    start_utc = stat.start_local.replace(tzinfo=tz).astimezone(UTC)
    end_utc = None if end is None else end.replace(tzinfo=tz).astimezone(UTC)
    solar = min(sum(stat.energy_by_hour_fv_wh or ()), stat.energy_wh)
    return SessionRecord(
        device_id=device_id,
        start=start_utc,
        end=end_utc if stat.finished is not False else None,
        energy_wh=stat.energy_wh,
        solar_wh=solar,
        grid_wh=stat.energy_wh - solar,
        cost=stat.cost,
    )


def cloud_reconciler(client: V2CClient, store: SqlStore, tz: tzinfo) -> Reconciler:
    """The daily job: `stadistic/device` of a local day, sessions we missed added to the store.

    The call goes through `client`, so it is in the same ledger as every other.
    """
    from adapters.v2c_cloud.charger import charger_errors
    from optimizer.daemon import missing_sessions

    def reconcile(device_id: str, day: date, now: datetime) -> None:
        with charger_errors():
            stats = client.stadistic_device(device_id, day, day)
        reported = [s for s in (statistic_to_session(x, device_id, tz) for x in stats) if s]
        since = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC) - timedelta(days=1)
        for session in missing_sessions(reported, store.sessions(device_id, since=since)):
            log.info("reconcile: adding session %s %s missed by reads", device_id, session.start)
            store.record_session(session)

    return reconcile


def open_store(url: str) -> SqlStore:
    """Open (create) the database: a bad `--db` is one line, exit 2; a failure to open, exit 1."""
    from adapters.storage import SqlStore, StoreError, StoreUrlError
    from optimizer.cli.database import database_path_problem

    problem = database_path_problem(url, create=True)
    if problem is not None:
        raise _fail(problem)
    try:
        return SqlStore(url)
    except StoreUrlError as exc:
        raise _fail(str(exc)) from None
    except StoreError as exc:
        raise _fail(str(exc), EXIT_FATAL) from None


def load_app_config(path: Path) -> AppConfig:
    """The config file, or a one-line error naming file and key (exit 2)."""
    from optimizer.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _check_policy(policy: str | None) -> None:
    from optimizer.policies.registry import POLICY_NAMES

    if policy is not None and policy not in POLICY_NAMES:
        raise _fail(f"--policy: unknown policy {policy!r}; known: {', '.join(POLICY_NAMES)}")


# ----- run ------------------------------------------------------------------------------------


def run(
    config: Annotated[Path, typer.Option("--config", help="The app config (TOML).")] = Path(
        "config/home.toml"
    ),
    db: Annotated[
        str | None,
        typer.Option("--db", envvar=DB_ENV, help="SQLAlchemy URL (default: \\[storage] url)."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", envvar=BASE_URL_ENV, help="API base URL.")
    ] = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="Override the configured policy.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every job.")] = False,
) -> None:
    """Run the daemon against the real V2C Cloud until SIGINT/SIGTERM.

    Exit 0 when every charger acknowledged its own exclusive-PV mode on the way
    out; exit 1 (one line naming the chargers) when the cloud refused the key or
    a charger could not be put in that mode (it keeps its last setting).
    """
    from adapters.v2c_cloud import DEFAULT_BASE_URL, V2CClient, V2CValidationError
    from adapters.v2c_cloud.charger import CloudCharger
    from optimizer.clock import WallClock
    from optimizer.daemon import SchedulerRunner, build_daemon, ledger_listener
    from optimizer.forecast import InChildProcess

    app_config = load_app_config(config)
    _check_policy(policy)
    if not os.environ.get(API_KEY_ENV, "").strip():
        raise _fail(f"{API_KEY_ENV} is not set: export your V2C Cloud API key")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    clock = WallClock()
    try:
        client = V2CClient(base_url=base_url or DEFAULT_BASE_URL, clock=clock.now)
    except V2CValidationError as exc:
        raise _fail(str(exc)) from None
    store = open_store(db or app_config.storage.url)
    try:
        chargers = {
            c.device_id: CloudCharger(client, c.device_id, clock=clock.now)
            for c in app_config.chargers
        }
        daemon = build_daemon(
            app_config,
            dict(chargers),
            clock,
            store,
            policy=policy,
            reconciler=cloud_reconciler(client, store, app_config.site.tz),
            clear_sky_days=InChildProcess(),  # h-memory: pvlib and pandas stay out of `run`
        )
        client.on_call = ledger_listener(daemon)
        typer.echo(
            f"v2c-solar: {len(chargers)} charger(s), policy {policy or app_config.policy.name}, "
            f"db {store.url}, {daemon.planner.spent(clock.now())} calls spent today",
            err=True,
        )
        with StatusLine(daemon, enabled=not verbose) as status:
            outcome = serve(daemon, SchedulerRunner(daemon, clock), status=status)
    finally:
        client.close()
        store.close()
    if outcome.fatal is not None:
        raise _fail(outcome.fatal, EXIT_FATAL)
    problem = outcome.safe_state_problem()
    if problem is not None:
        raise _fail(problem, EXIT_FATAL)
    typer.echo(f"v2c-solar: stopped; chargers left in their own {outcome.safe_mode} mode", err=True)


# ----- demo -----------------------------------------------------------------------------------


class DayCountingQuota:
    """The simulator's quota with a per-day tally of the calls it counted (ground truth)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.per_day: dict[date, int] = defaultdict(int)
        self._lock = threading.Lock()

    def consume(self, key: str, now: datetime) -> Any:
        state = self.inner.consume(key, now)
        if state.allowed:
            with self._lock:
                self.per_day[now.astimezone(UTC).date()] += 1
        return state

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def start_demo_simulator(
    scenario: Scenario, *, seed: int, speed: float, faults: Any = None
) -> tuple[RunningSimulator, DayCountingQuota]:
    """The HTTP simulator over `scenario` on 127.0.0.1 (free port), counting calls per day."""
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
    counter = DayCountingQuota(running.simulator.quota)
    running.simulator.quota = counter  # type: ignore[assignment]
    return running, counter


def simulator_clock(root_url: str) -> Any:
    """A `ScaledClock` anchored to the simulator's `GET /sim/clock` (time and speed)."""
    import httpx

    from optimizer.clock import ScaledClock

    body = httpx.get(f"{root_url}/sim/clock", timeout=5.0).json()
    return ScaledClock(datetime.fromisoformat(body["time"]), float(body["speed"]))


def demo_config(scenario: Scenario, policy: str | None) -> AppConfig:
    """The app config of the scenario's home: its site, its chargers' wiring."""
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
    return parse_config(data, f"scenario {scenario.name}")


@dataclass(slots=True)
class DemoSummary:
    """What the demo prints at the end (also as JSON)."""

    hours: float
    speed: float
    wall_s: float
    db: str
    policy: str
    calls_used: int
    calls_per_day: dict[str, int]
    calls_per_day_max: int
    simulator_calls_per_day: dict[str, int]
    ev_kwh: float
    solar_kwh: float
    grid_kwh: float
    sessions: list[dict[str, Any]]
    ground_truth: dict[str, Any]
    safe_mode_commands: int
    fatal: str | None = None
    not_safe: list[str] | None = None
    """Chargers not left in the safe mode on shutdown (None or empty: all were)."""

    def as_json(self) -> dict[str, Any]:
        """Every field as a JSON-able dict, plus `solar_share` (None without energy)."""
        out = {k: getattr(self, k) for k in self.__slots__ if k != "extra"}
        out["solar_share"] = self.solar_kwh / self.ev_kwh if self.ev_kwh > 0 else None
        return out


def _session_dict(s: SessionRecord, tz: tzinfo) -> dict[str, Any]:
    return {
        "device_id": s.device_id,
        "start": s.start.astimezone(tz).isoformat(timespec="minutes"),
        "end": None if s.end is None else s.end.astimezone(tz).isoformat(timespec="minutes"),
        "ev_kwh": round(s.energy_wh / 1000, 3),
        "solar_kwh": round(s.solar_wh / 1000, 3),
        "grid_kwh": round(s.grid_wh / 1000, 3),
    }


def summarize(
    *,
    store: SqlStore,
    running: RunningSimulator,
    counter: DayCountingQuota,
    outcome: RunOutcome,
    hours: float,
    speed: float,
    wall_s: float,
    policy: str,
    tz: tzinfo,
) -> DemoSummary:
    """Recorded numbers (the store) next to the simulator's ground truth."""
    start, end = outcome.started, outcome.ended + timedelta(seconds=1)
    day0 = start.replace(hour=0, minute=0, second=0, microsecond=0)
    # Days with calls only, as the simulator's counter lists them (a run ending just
    # after midnight UTC may touch a day it made no call in).
    per_day = {
        d.isoformat(): n
        for d, n in store.calls_per_day(day0, end).items()
        if d >= day0.date() and n > 0
    }
    recorded = [s for s in store.sessions() if s.end is None or s.end >= start]
    truth_sessions: list[SessionRecord] = []
    with running.simulator.locked_world() as world:
        for device in world.device_ids:
            truth_sessions += [
                log.to_record()
                for log in world.sessions(device)
                if log.end is None or log.end >= start
            ]
    truth_ev = sum(s.energy_wh for s in truth_sessions) / 1000
    truth_solar = sum(s.solar_wh for s in truth_sessions) / 1000
    return DemoSummary(
        hours=hours,
        speed=speed,
        wall_s=round(wall_s, 2),
        db=store.url,
        policy=policy,
        calls_used=len(store.calls_between(start, end)),
        calls_per_day=per_day,
        calls_per_day_max=max(per_day.values(), default=0),
        simulator_calls_per_day={d.isoformat(): n for d, n in sorted(counter.per_day.items())},
        ev_kwh=round(sum(s.energy_wh for s in recorded) / 1000, 3),
        solar_kwh=round(sum(s.solar_wh for s in recorded) / 1000, 3),
        grid_kwh=round(sum(s.grid_wh for s in recorded) / 1000, 3),
        sessions=[_session_dict(s, tz) for s in recorded],
        ground_truth={
            "ev_kwh": round(truth_ev, 3),
            "solar_kwh": round(truth_solar, 3),
            "grid_kwh": round(truth_ev - truth_solar, 3),
            "sessions": [_session_dict(s, tz) for s in truth_sessions],
        },
        safe_mode_commands=outcome.safe_commands,
        fatal=outcome.fatal,
        not_safe=list(outcome.not_safe),
    )


def _short(iso: str) -> str:
    """`2026-06-21T08:00+02:00` -> `06-21 08:00` (local time, for the table)."""
    return iso[5:16].replace("T", " ")


def print_summary(summary: DemoSummary) -> None:
    """The session table and the call counts, for humans."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Demo: {summary.hours:g} simulated h at {summary.speed:g}x")
    for column in ("device", "start", "end", "EV kWh", "solar kWh", "grid kWh", "solar %"):
        table.add_column(column, justify="right" if "kWh" in column or "%" in column else "left")
    for s in summary.sessions:
        share = f"{100 * s['solar_kwh'] / s['ev_kwh']:.0f}" if s["ev_kwh"] > 0 else "-"
        table.add_row(
            s["device_id"],
            _short(s["start"]),
            _short(s["end"]) if s["end"] else "(plugged in)",
            f"{s['ev_kwh']:.2f}",
            f"{s['solar_kwh']:.2f}",
            f"{s['grid_kwh']:.2f}",
            share,
        )
    share = f"{100 * summary.solar_kwh / summary.ev_kwh:.0f}" if summary.ev_kwh > 0 else "-"
    table.add_row(
        "total",
        "",
        "",
        f"{summary.ev_kwh:.2f}",
        f"{summary.solar_kwh:.2f}",
        f"{summary.grid_kwh:.2f}",
        share,
        style="bold",
    )
    console = Console()
    console.print(table)
    truth = summary.ground_truth
    console.print(
        f"Simulator ground truth: EV {truth['ev_kwh']:.2f} kWh, solar {truth['solar_kwh']:.2f} "
        f"kWh, grid {truth['grid_kwh']:.2f} kWh"
    )
    console.print(
        f"API calls: {summary.calls_used} used (policy {summary.policy}); per day (ledger) "
        f"{summary.calls_per_day}, max {summary.calls_per_day_max} of 1000; simulator counted "
        f"{summary.simulator_calls_per_day}"
    )
    left = (
        f"Chargers NOT left in exclusive-PV mode: {', '.join(summary.not_safe)}"
        if summary.not_safe
        else f"Chargers left in exclusive-PV mode ({summary.safe_mode_commands} command(s))"
    )
    console.print(f"{left}; wall time {summary.wall_s:.1f} s; database {summary.db}")


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
) -> None:
    """The daemon against the embedded simulator over HTTP on 127.0.0.1, at high speed.

    Exit 1 after the summary when a charger could not be left in its own
    exclusive-PV mode at the end (or the simulator refused the key).
    """
    import time as _time

    from adapters.simulator.server import DEMO_API_KEY
    from adapters.simulator.world import ScenarioError, default_scenario, load_scenario
    from adapters.v2c_cloud import V2CClient
    from adapters.v2c_cloud.charger import CloudCharger
    from optimizer.daemon import SchedulerRunner, build_daemon, ledger_listener

    if not 0 < hours <= MAX_DEMO_HOURS:
        raise _fail(f"--hours must be in (0, {MAX_DEMO_HOURS:g}], got {hours:g}")
    if not 1 <= speed <= 100_000:
        raise _fail(f"--speed must be in [1, 100000] simulated s per wall s, got {speed:g}")
    _check_policy(policy)
    try:
        world_scenario = default_scenario() if scenario is None else load_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(str(exc)) from None
    app_config = demo_config(world_scenario, policy)
    url = db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='v2c-demo-')) / 'demo.db'}"
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    store = open_store(url)
    running, counter = start_demo_simulator(world_scenario, seed=seed, speed=speed)
    try:
        clock = simulator_clock(running.root_url)
        start = clock.now()
        until = start + timedelta(hours=hours)
        if store.calls_between(start - timedelta(days=1), until):
            raise _fail(
                f"--db {store.url} already holds API calls of the simulated days; "
                "the demo needs a fresh database"
            )
        client = V2CClient(api_key=DEMO_API_KEY, base_url=running.base_url, clock=clock.now)
        chargers = {
            c.device_id: CloudCharger(client, c.device_id, clock=clock.now)
            for c in app_config.chargers
        }
        daemon = build_daemon(
            app_config,
            dict(chargers),
            clock,
            store,
            reconciler=cloud_reconciler(client, store, app_config.site.tz),
        )
        client.on_call = ledger_listener(daemon)
        wall0 = _time.monotonic()
        with StatusLine(daemon, enabled=not as_json) as status:
            outcome = serve(daemon, SchedulerRunner(daemon, clock), until=until, status=status)
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
        client.close()
    finally:
        running.stop()
        store.close()
    if as_json:
        typer.echo(json.dumps(summary.as_json()))
    else:
        print_summary(summary)
    if outcome.fatal is not None:
        raise _fail(outcome.fatal, EXIT_FATAL)
    problem = outcome.safe_state_problem()
    if problem is not None:
        raise _fail(problem, EXIT_FATAL)


# ----- budget ---------------------------------------------------------------------------------


def budget_table(plan: Any, tz: tzinfo) -> Any:
    """Planned reads per local hour: count, devices and the main reason."""
    from collections import Counter

    from rich.table import Table

    table = Table(title="Planned reads (rest of the quota day)")
    for column in ("hour", "reads", "devices", "why"):
        table.add_column(column, justify="right" if column == "reads" else "left")
    for hour, slots in plan.reads_by_hour().items():
        per_device = Counter(s.device_id for s in slots)
        reason = Counter(s.reason for s in slots).most_common(1)[0][0]
        table.add_row(
            f"{hour.astimezone(tz):%H:%M}",
            str(len(slots)),
            ", ".join(f"{d} {n}" for d, n in sorted(per_device.items())),
            reason,
        )
    return table


def budget(
    config: Annotated[Path, typer.Option("--config", help="The app config (TOML).")] = Path(
        "config/home.toml"
    ),
    db: Annotated[
        str | None,
        typer.Option("--db", envvar=DB_ENV, help="SQLAlchemy URL (default: \\[storage] url)."),
    ] = None,
) -> None:
    """Today's planned read times and the spend so far (from the database's call ledger)."""
    from rich.console import Console

    from adapters.storage import SqlStore, StoreError, StoreNotFoundError, StoreUrlError
    from adapters.storage.engine import redact_url
    from optimizer.budget import BudgetPlanner, ReadContext
    from optimizer.cli.database import database_path_problem
    from optimizer.forecast import ClearSkyCache
    from optimizer.interfaces import ChargeState

    app_config = load_app_config(config)
    url = db or app_config.storage.url
    problem = database_path_problem(url, create=False)
    if problem is not None:
        raise _fail(problem)
    now = datetime.now(UTC)
    clear_sky = ClearSkyCache(app_config.site)
    planner = BudgetPlanner(
        app_config.budget,
        devices=len(app_config.chargers),
        pv_profile=lambda t: clear_sky.power_at(t.timestamp()),
    )
    contexts: dict[str, ReadContext] = {}
    try:
        with SqlStore(url, create_if_missing=False) as store:
            planner.restore(store.calls_between(now - timedelta(days=2), now), now)
            for c in app_config.chargers:
                reading = store.latest_observation(c.device_id)
                contexts[c.device_id] = ReadContext(
                    device_id=c.device_id,
                    plugged_in=None if reading is None else reading.charge_state.plugged_in,
                    charging=reading is not None and reading.charge_state is ChargeState.CHARGING,
                    pv_expected_w=clear_sky.power_at(now.timestamp()),
                    variability=app_config.budget.typical_variability,
                    last_read=None if reading is None else min(reading.time, now),
                )
    except StoreNotFoundError:
        typer.echo(f"(no database at {redact_url(url)} yet: nothing spent)", err=True)
    except StoreUrlError as exc:
        raise _fail(str(exc)) from None
    except StoreError as exc:
        raise _fail(str(exc), EXIT_FATAL) from None
    day = planner.ledger.window(now)[0].date()
    plan = planner.plan(day, contexts, now=now)
    console = Console()
    tz = app_config.site.tz
    console.print(
        f"Quota day {plan.window_start.astimezone(tz):%Y-%m-%d %H:%M} -> "
        f"{plan.window_end.astimezone(tz):%Y-%m-%d %H:%M} ({tz}), as of "
        f"{plan.as_of.astimezone(tz):%H:%M}; boundary from {plan.boundary_source}"
    )
    console.print(
        f"Spent {plan.spent} of {plan.limit} calls; reserve {plan.reserve} kept for commands; "
        f"{plan.reads_left} reads left, {plan.planned_reads} planned"
    )
    if plan.spent_by_endpoint:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(plan.spent_by_endpoint.items()))
        console.print(f"  by endpoint: {parts}")
    if plan.server_remaining is not None:
        console.print(f"Server's last RateLimit-Remaining: {plan.server_remaining}")
    if plan.blocked_until is not None:
        console.print(f"BLOCKED (429) until {plan.blocked_until.astimezone(tz):%H:%M}")
    if plan.slots:
        console.print(budget_table(plan, tz))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("run")(run)
    app.command("demo")(demo)
    app.command("budget")(budget)


__all__ = [
    "DEMO_SPEED",
    "DemoSummary",
    "RunOutcome",
    "StatusLine",
    "cloud_reconciler",
    "demo_config",
    "register",
    "serve",
    "simulator_clock",
    "start_demo_simulator",
    "statistic_to_session",
    "summarize",
]
