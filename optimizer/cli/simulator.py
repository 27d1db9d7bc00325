"""`v2c-solar simulator ...` commands: serve the V2C Cloud simulator on this machine."""

from __future__ import annotations

import ipaddress
import socket
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from optimizer.cli import fault_options

if TYPE_CHECKING:
    from adapters.simulator.fleet import Fleet

app = typer.Typer(no_args_is_help=True)
"""Registered by `optimizer.cli.main`, which holds its help (listed without importing this)."""


def _shown_key(key: str, demo_key: str) -> str:
    """The demo key in full (it is public); any other key not at all, only where it came from."""
    return key if key == demo_key else "*** (from --api-key/V2C_API_KEY)"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free).")] = 8080,
    speed: Annotated[
        float, typer.Option(min=0.001, max=100_000, help="Simulated seconds per wall second.")
    ] = 60.0,
    scenario: Annotated[
        Path | None,
        typer.Option(help="Scenario TOML (config/scenarios/...); default: one device SIM0001."),
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the world and of the server's draws (>= 0).")
    ] = 1,
    api_key: Annotated[
        list[str] | None,
        typer.Option(help="Accepted API key (repeatable); default V2C_API_KEY, else demo-key."),
    ] = None,
    daily_limit: Annotated[int, typer.Option(min=0, help="Calls per key per sim day.")] = 1000,
    base_path: Annotated[str, typer.Option(help="Path prefix of the API.")] = "/kong/v2c_service",
    tick: Annotated[
        float | None, typer.Option(min=0.01, help="Advance the world every N wall seconds.")
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="State file: read at start if it exists, written on exit (SIGINT/SIGTERM); "
            "a restart goes on with the same world, settings and call counts, its clock "
            "advanced by the time it was down. Give the same options again."
        ),
    ] = None,
    clock_file: Annotated[
        Path | None,
        typer.Option(
            help="Simulated time from this clock file (JSON, `optimizer.clock.FileClock`), "
            "which a driver holds and resumes, instead of --speed from the world's start; "
            "the daemon takes the same file (`run --clock-file`)."
        ),
    ] = None,
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
    fleet: Annotated[
        str | None,
        typer.Option(
            help="Serve a generated fleet instead of a scenario: ACCOUNTS:CHARGERS "
            "(chargers per account, e.g. 100:10), homes drawn from --seed; needs --keys-file."
        ),
    ] = None,
    keys_file: Annotated[
        Path | None,
        typer.Option(
            help="With --fleet: write every account's key here (JSON {account: key}, "
            "mode 0600); the keys are printed nowhere else."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="With --fleet: the simulated clock's start, ISO 8601 with a UTC offset "
            "(e.g. 2026-06-21T10:00+02:00: a summer morning with sun and cars at home); "
            "default 2026-06-21T00:00Z."
        ),
    ] = None,
) -> None:
    """Serve the V2C Cloud API over a simulated home until Ctrl-C.

    The socket is bound before anything is printed: a host that does not
    resolve or a port in use is one line naming the option, exit 2.

    Clients follow simulated time through the X-Simulated-Time header of every
    answer or GET /sim/clock.

    With --fleet, many accounts share the server, each with its own key, daily
    quota and homes (`adapters.simulator.fleet`); `generate_fleet(ACCOUNTS,
    CHARGERS, seed=SEED)` rebuilds the same homes in another process, and
    `read_fleet_keys` reads the keys file.
    """
    import uvicorn
    from pydantic import ValidationError

    from adapters.simulator.server import (
        DEMO_API_KEY,
        BindError,
        Simulator,
        SimulatorConfig,
        bind_socket,
        create_app,
        resolve_api_keys,
    )
    from adapters.simulator.server.state import StateFileError, load_state, save_state
    from adapters.simulator.world import World, default_scenario, load_scenario
    from optimizer.clock import FileClock

    keys = resolve_api_keys(api_key or ())
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
    if start is not None and fleet is None:
        _usage_error("--start: only with --fleet (a scenario sets its own start)")
    generated = (
        None
        if fleet is None
        else _fleet(fleet, seed, keys_file, scenario, api_key, state, _fleet_start(start))
    )
    try:
        settings = dict(
            daily_limit=daily_limit,
            base_path=base_path,
            speed=speed,
            tick_s=tick,
            seed=seed,
            faults=faults,
        )
        if generated is not None:
            config = generated.simulator_config(**settings)
        else:
            world_scenario = default_scenario() if scenario is None else load_scenario(scenario)
            zone = world_scenario.site.timezone
            config = SimulatorConfig.for_keys(keys, timezone=zone, **settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        raise typer.BadParameter(f"{where}: {first['msg']}") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    try:
        sock = bind_socket(host, port)
    except BindError as exc:
        typer.echo(f"error: --{exc.field} {exc.value}: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    port = sock.getsockname()[1]
    try:
        clock = None if clock_file is None else FileClock(clock_file)
    except (OSError, ValueError) as exc:
        sock.close()
        raise typer.BadParameter(str(exc), param_hint="--clock-file") from None
    try:
        resumed = state is not None and state.exists()
        if state is not None and resumed:
            sim = load_state(state, config, clock)
        elif generated is not None:
            sim = Simulator(generated.world(), config, clock=clock)
        else:
            sim = Simulator(World(world_scenario, seed=seed), config, clock=clock)
    except StateFileError as exc:
        sock.close()
        raise typer.BadParameter(str(exc), param_hint="--state") from None
    except ValueError as exc:
        sock.close()
        raise typer.BadParameter(str(exc), param_hint="--offline") from None
    if generated is not None and keys_file is not None:
        _write_keys(generated, keys_file, sock)
    loopback = host == "localhost" or _is_loopback(host)
    shown = host if ":" not in host else f"[{host}]"
    typer.echo(f"V2C Cloud simulator: http://{shown}:{port}{config.base_path}")
    if generated is not None and keys_file is not None:
        chargers = f"{len(generated.accounts)} accounts, {generated.chargers} chargers"
        typer.echo(f"  fleet: {chargers} (seed {seed}); speed {speed:g}x")
        typer.echo(f"  api keys: in {keys_file} (mode 0600)")
    else:
        typer.echo(f"  devices: {', '.join(sim.world.device_ids)}; speed {speed:g}x")
    typer.echo(f"  simulated time: {sim.now().isoformat()} (GET http://{shown}:{port}/sim/clock)")
    for key in keys if generated is None else ():
        typer.echo(f"  api key: {_shown_key(key, DEMO_API_KEY)}")
    if state is not None:
        typer.echo(f"  state: {state} ({'resumed' if resumed else 'new'}, written on exit)")
    for w in faults.offline:
        typer.echo(f"  offline: {w.device_id} {w.start.isoformat()} .. {w.end.isoformat()}")
    if not loopback:
        typer.echo(f"  warning: bound to {host}, reachable from other machines", err=True)
    on_shutdown = None if state is None else partial(save_state, sim, state)
    asgi = create_app(sim, on_shutdown=on_shutdown)
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", access_log=False))
    server.run(sockets=[sock])


def _usage_error(message: str) -> NoReturn:
    """One line on stderr, exit 2 (a bad option value)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _fleet(
    spec: str,
    seed: int,
    keys_file: Path | None,
    scenario: Path | None,
    api_key: list[str] | None,
    state: Path | None,
    start: datetime | None = None,
) -> Fleet:
    """The fleet `--fleet ACCOUNTS:CHARGERS` asks for; a one-line error (exit 2) otherwise."""
    from adapters.simulator.fleet import generate_fleet

    for given, name in ((scenario, "--scenario"), (api_key, "--api-key"), (state, "--state")):
        if given:
            _usage_error(
                f"--fleet: cannot be combined with {name} (a fleet has its own homes and keys)"
            )
    if keys_file is None:
        _usage_error("--fleet: needs --keys-file PATH, where the accounts' keys are written")
    accounts, sep, chargers = spec.partition(":")
    if not sep or not accounts.strip().isdigit() or not chargers.strip().isdigit():
        _usage_error(f"--fleet: expected ACCOUNTS:CHARGERS (e.g. 100:10), got {spec!r}")
    try:
        return generate_fleet(int(accounts), int(chargers), seed=seed, start=start)
    except ValueError as exc:
        _usage_error(f"--fleet {spec}: {exc}")


def _fleet_start(text: str | None) -> datetime | None:
    """`--start` as an aware time (None: the fleet's default); a one-line error (exit 2)
    for anything but ISO 8601 with a UTC offset."""
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        _usage_error(f"--start: expected ISO 8601 like 2026-06-21T10:00+02:00, got {text!r}")
    if t.tzinfo is None:
        _usage_error(f"--start: needs a UTC offset (e.g. +02:00 or Z), got {text!r}")
    return t


def _write_keys(generated: Fleet, path: Path, sock: socket.socket) -> None:
    """The keys file, or a one-line error naming it (exit 2, the socket closed)."""
    from adapters.simulator.fleet import write_fleet_keys

    try:
        write_fleet_keys(generated, path)
    except OSError as exc:
        sock.close()
        _usage_error(f"--keys-file {path}: {exc.strerror or exc}")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
