"""`v2c-solar demo --fleet ACCOUNTS:CHARGERS`: one daemon process over a generated fleet.

The simulator serves a fleet (`adapters.simulator.fleet.generate_fleet`: each
account its own key, quota and homes) on 127.0.0.1, and the fleet daemon drives
every account from this one process (`optimizer.daemon.fleet`): one HTTP pool,
one read scheduler per account, one worker thread per account, one database
whose rows carry the account. The summary has the totals and one row per
account (`adapters.simulator.fleet_summary`), with the CPU seconds and peak
memory of the whole process, simulator included. Like the single home's demo it
writes its config beside its database (`fleet.toml` next to `fleet.db`: the accounts,
their keys as variables' names, their homes) and ends with the `plan`, `sessions` and
`budget` commands that show what it recorded.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time as _time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from adapters.mqtt.config import MqttSettings
    from adapters.simulator.fleet import Fleet
    from adapters.simulator.fleet_summary import FleetSummary


def parse_fleet_spec(spec: str) -> tuple[int, int]:
    """`ACCOUNTS:CHARGERS` (chargers per account) -> the two counts; BadParameter otherwise."""
    accounts, sep, chargers = spec.partition(":")
    if not sep or not accounts.isdigit() or not chargers.isdigit():
        raise typer.BadParameter(
            f"expected ACCOUNTS:CHARGERS (e.g. 100:10), got {spec!r}", param_hint="--fleet"
        )
    return int(accounts), int(chargers)


def generated_fleet(spec: str, seed: int) -> Fleet:
    """The fleet `--fleet` asks for, drawn from `seed`; BadParameter for counts out of range."""
    from adapters.simulator.fleet import generate_fleet

    accounts, chargers = parse_fleet_spec(spec)
    try:
        return generate_fleet(accounts, chargers, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fleet") from None


def fleet_demo(
    spec: str,
    *,
    hours: float,
    speed: float,
    seed: int,
    db: str | None,
    as_json: bool,
    faults: Any,
    web: str | None = None,
    mqtt: MqttSettings | None = None,
) -> None:
    """Run the fleet demo and print its summary (exit 1 when an account was refused or a
    charger not left in its own exclusive-PV mode); with `web` (`HOST:PORT`) the web
    server of `run --config fleet.toml` serves every home meanwhile, with `mqtt` its MQTT
    bridge publishes every home."""
    from adapters.simulator.demo import simulator_clock
    from adapters.simulator.fleet import start_fleet_simulator
    from adapters.simulator.fleet_summary import ProcessCost, summarize_fleet
    from adapters.v2c_cloud.pool import HttpPool
    from optimizer.cli.daemon import EXIT_FATAL, _absolute_url, _fail, open_store
    from optimizer.cli.run_fleet import bind_fleet_web, fleet_bridge, serving
    from optimizer.daemon.cloud import fleet_daemons
    from optimizer.daemon.fleet import FleetRunner
    from optimizer.daemon.serve import stop_on_signals

    fleet = generated_fleet(spec, seed)
    url = db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='v2c-fleet-')) / 'fleet.db'}"
    url = _absolute_url(url)  # the commands it ends with work from any directory
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    store = open_store(url)
    running = start_fleet_simulator(fleet, speed=speed, faults=faults)
    pool = HttpPool()
    try:
        clock = simulator_clock(running.root_url)
        start = clock.now()
        if not as_json:
            typer.echo(
                f"v2c-solar: fleet of {len(fleet.accounts)} accounts, {fleet.chargers} chargers, "
                f"{hours:g} h at {speed:g}x, db {store.url}",
                err=True,
            )
        boards = web is not None or mqtt is not None
        wired = fleet_daemons(fleet.accounts, pool, running.base_url, clock, store, boards=boards)
        bridge = fleet_bridge(mqtt, wired, fleet.accounts)
        server = bind_fleet_web(web, wired, fleet.accounts, url, "")
        # Written once `--web` is bound: a bad address is then its one error line alone.
        config_file = _write_config(fleet, url, spec, seed)
        runner = FleetRunner(wired, clock)
        # `--hours` from here: the wiring above is simulated hours at thousands of times
        # real time, on a loaded machine the whole demo (as in `demo`).
        until = clock.now() + timedelta(hours=hours)
        wall0 = _time.monotonic()
        with serving(server), bridge, stop_on_signals(runner.stop_event):
            runner.start()
            try:
                runner.wait(until=until)
            finally:
                outcomes = runner.stop()
        ended = clock.now()
        cost = ProcessCost.now()
        wall_s = _time.monotonic() - wall0
        summary = summarize_fleet(
            store=store,
            running=running,
            fleet=fleet,
            outcomes=outcomes,
            window=(start, ended),
            hours=hours,
            speed=speed,
            wall_s=wall_s,
            cost=cost,
        )
    finally:
        pool.close()
        running.stop()
        store.close()
    config = None if config_file is None else str(config_file)
    if as_json:
        typer.echo(json.dumps(summary.as_json() | {"config": config}))
    else:
        _print(summary)
        if config is not None:
            typer.echo("What it recorded (the demo's config beside its database):")
            for command in fleet_follow_ups(config, url, fleet.accounts[0].name):
                typer.echo(f"  {command}")
    if summary.fatal:
        raise _fail(summary.fatal[0], EXIT_FATAL)
    if summary.not_safe:
        raise _fail(
            f"{summary.not_safe} charger(s) not left in their own exclusive-PV mode", EXIT_FATAL
        )


def _write_config(fleet: Fleet, url: str, spec: str, seed: int) -> Path | None:
    """The fleet demo's config beside its SQLite database (`write_fleet_demo_config`; see
    `announce_demo_config`)."""
    from adapters.simulator.demo import fleet_key_env, write_fleet_demo_config
    from optimizer.cli.daemon import announce_demo_config

    first = fleet.accounts[0].name
    note = (
        f"The fleet `v2c-solar demo --fleet {spec}` ran (seed {seed}); its database beside "
        "this file.\nIts chargers are the simulator's; its keys were made for that run and "
        "are never written:\neach account names a variable instead "
        f"({fleet_key_env(first)}, ...).\n"
        "For your own accounts, start from the README's fleet file."
    )
    return announce_demo_config(lambda: write_fleet_demo_config(fleet, url, note=note))


def fleet_follow_ups(config: str, url: str, account: str) -> list[str]:
    """The commands that show what a fleet demo recorded, for its first `account`."""
    import shlex

    config, url = shlex.quote(config), shlex.quote(url)
    return [
        f"v2c-solar plan --config {config} --account {account}",
        f"v2c-solar sessions --db {url} --account {account}",
        f"v2c-solar budget --config {config} --account {account}",
    ]


def _print(summary: FleetSummary) -> None:
    """The totals and the accounts' extremes as a few lines."""
    s = summary
    typer.echo(
        f"{len(s.accounts)} accounts, {s.chargers} chargers, {s.hours:g} h in {s.wall_s:.0f} s wall"
    )
    typer.echo(
        f"calls: {s.calls_used} in all, at most {s.calls_per_day_max} by one account in a day"
    )
    typer.echo(
        f"energy: {s.ev_kwh:.1f} kWh into the cars, {s.solar_kwh:.1f} kWh solar "
        f"(the simulator's truth: {s.ground_truth['ev_kwh']:.1f} / "
        f"{s.ground_truth['solar_kwh']:.1f})"
    )
    typer.echo(
        f"cost: {s.cpu_s:.0f} CPU s ({s.cpu_s_per_charger_day:.3f} per charger-day), "
        f"peak {s.peak_rss_mb:.0f} MB; due jobs ran {s.late_s_mean:.0f} s late on average "
        f"(at most {s.late_s_max:.0f} s, simulated)"
    )


__all__ = ["fleet_demo", "fleet_follow_ups", "generated_fleet", "parse_fleet_spec"]
