"""The simulator's fault-injection options, declared once for every command that serves it.

`v2c-solar simulator serve` takes them; a command embedding the simulator (such as
`demo`) takes the same ones under the same names and builds the same `FaultConfig`
with `fault_config`. Rates are probabilities per request (0 to 1), durations wall
seconds, times ISO 8601 in simulated time with an offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from adapters.simulator.server import FaultConfig

FAULTS_PANEL = "Fault injection (all off by default)"
"""The help panel the fault options are listed under."""

ErrorRate = Annotated[
    float, typer.Option(min=0, max=1, rich_help_panel=FAULTS_PANEL, help="P(random 5xx).")
]
Latency = Annotated[
    float, typer.Option(min=0, rich_help_panel=FAULTS_PANEL, help="Added latency (wall s).")
]
TimeoutRate = Annotated[
    float, typer.Option(min=0, max=1, rich_help_panel=FAULTS_PANEL, help="P(no answer).")
]
TimeoutS = Annotated[
    float,
    typer.Option(min=0, rich_help_panel=FAULTS_PANEL, help="Hold before dropping (wall s)."),
]
MalformedRate = Annotated[
    float, typer.Option(min=0, max=1, rich_help_panel=FAULTS_PANEL, help="P(cut JSON body).")
]
DropRate = Annotated[
    float, typer.Option(min=0, max=1, rich_help_panel=FAULTS_PANEL, help="P(connection drop).")
]
OutageStart = Annotated[
    str | None, typer.Option(rich_help_panel=FAULTS_PANEL, help="Outage from (ISO 8601, sim).")
]
OutageEnd = Annotated[
    str | None, typer.Option(rich_help_panel=FAULTS_PANEL, help="Outage until (ISO 8601, sim).")
]
RevokeKeysAt = Annotated[
    str | None,
    typer.Option(rich_help_panel=FAULTS_PANEL, help="Keys refused from (ISO 8601, sim)."),
]
Offline = Annotated[
    list[str] | None,
    typer.Option(
        rich_help_panel=FAULTS_PANEL,
        help="Charger offline DEVICE_ID@START/END (ISO 8601, sim; repeatable): "
        "connected answers false, its other calls 504.",
    ),
]


def utc_time(text: str | None, option: str) -> datetime | None:
    """Parse an ISO 8601 time with offset (or Z) given to `option`; BadParameter otherwise."""
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint=option) from None
    if t.tzinfo is None:
        raise typer.BadParameter(f"needs a UTC offset or Z: {text!r}", param_hint=option)
    return t


def fault_config(
    *,
    error_rate: float,
    latency: float,
    timeout_rate: float,
    timeout_s: float,
    malformed_rate: float,
    drop_rate: float,
    outage_start: str | None,
    outage_end: str | None,
    revoke_keys_at: str | None,
    offline: list[str] | None = None,
    seed: int,
) -> FaultConfig:
    """The `FaultConfig` the options ask for (raises pydantic's `ValidationError` on
    values the config refuses, `typer.BadParameter` on a time it cannot read)."""
    from adapters.simulator.server import FaultConfig, OfflineWindow

    try:
        windows = tuple(OfflineWindow.parse(text) for text in offline or ())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--offline") from None
    return FaultConfig(
        error_rate=error_rate,
        latency_s=latency,
        timeout_rate=timeout_rate,
        timeout_s=timeout_s,
        malformed_rate=malformed_rate,
        drop_rate=drop_rate,
        outage_start=utc_time(outage_start, "--outage-start"),
        outage_end=utc_time(outage_end, "--outage-end"),
        revoke_keys_at=utc_time(revoke_keys_at, "--revoke-keys-at"),
        offline=windows,
        seed=seed,
    )
