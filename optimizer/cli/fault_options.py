"""The simulator's fault-injection options, declared once for `simulator serve` and `demo`.

Both commands take the same `--error-rate ... --offline` options (the same
names, ranges, help and error messages); `fault_config` turns the parsed values
into the simulator's `FaultConfig`, a wrong value being one line naming the
option (`typer.BadParameter`: exit 2).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from adapters.simulator.server import FaultConfig

FAULTS_PANEL = "Fault injection (all off by default)"

ErrorRateOption = Annotated[
    float, typer.Option(min=0, max=1, rich_help_panel=FAULTS_PANEL, help="P(random 5xx).")
]
LatencyOption = Annotated[
    float, typer.Option(min=0, rich_help_panel=FAULTS_PANEL, help="Added latency (wall s).")
]
TimeoutRateOption = Annotated[
    float, typer.Option(min=0, max=1, rich_help_panel=FAULTS_PANEL, help="P(no answer).")
]
TimeoutSOption = Annotated[
    float,
    typer.Option(min=0, rich_help_panel=FAULTS_PANEL, help="Hold before dropping (wall s)."),
]
MalformedRateOption = Annotated[
    float, typer.Option(min=0, max=1, rich_help_panel=FAULTS_PANEL, help="P(cut JSON body).")
]
DropRateOption = Annotated[
    float, typer.Option(min=0, max=1, rich_help_panel=FAULTS_PANEL, help="P(connection drop).")
]
OutageStartOption = Annotated[
    str | None, typer.Option(rich_help_panel=FAULTS_PANEL, help="Outage from (ISO 8601, sim).")
]
OutageEndOption = Annotated[
    str | None, typer.Option(rich_help_panel=FAULTS_PANEL, help="Outage until (ISO 8601, sim).")
]
ThrottleStartOption = Annotated[
    str | None,
    typer.Option(rich_help_panel=FAULTS_PANEL, help="429 window from (ISO 8601, sim)."),
]
ThrottleEndOption = Annotated[
    str | None,
    typer.Option(rich_help_panel=FAULTS_PANEL, help="429 window until (ISO 8601, sim)."),
]
ThrottleRetryAfterOption = Annotated[
    bool,
    typer.Option(
        rich_help_panel=FAULTS_PANEL,
        help="The window's 429s carry Retry-After (the seconds to its end).",
    ),
]
RevokeKeysAtOption = Annotated[
    str | None,
    typer.Option(rich_help_panel=FAULTS_PANEL, help="Keys refused from (ISO 8601, sim)."),
]
OfflineOption = Annotated[
    list[str] | None,
    typer.Option(
        rich_help_panel=FAULTS_PANEL,
        help="Charger offline DEVICE_ID@START/END (ISO 8601, sim; repeatable): "
        "connected answers false, its other calls 504.",
    ),
]

TIMEOUT_S_DEFAULT = 30.0
"""`--timeout-s` when not given: how long a timed-out request is held (wall s)."""

_OPTION_OF_FIELD = {
    "error_rate": "--error-rate",
    "latency_s": "--latency",
    "timeout_rate": "--timeout-rate",
    "timeout_s": "--timeout-s",
    "malformed_rate": "--malformed-rate",
    "drop_rate": "--drop-rate",
    "outage_start": "--outage-start",
    "outage_end": "--outage-end",
    "throttle_start": "--throttle-start",
    "throttle_end": "--throttle-end",
    "throttle_retry_after": "--throttle-retry-after",
    "revoke_keys_at": "--revoke-keys-at",
    "offline": "--offline",
}
"""The command-line option of each `FaultConfig` field (for messages)."""


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


def _with_option_names(message: str) -> str:
    """`message` of a whole-config check with each field named as its option."""
    for field, option in _OPTION_OF_FIELD.items():
        message = message.replace(field, option)
    return message


def fault_config(
    *,
    error_rate: float = 0.0,
    latency: float = 0.0,
    timeout_rate: float = 0.0,
    timeout_s: float = TIMEOUT_S_DEFAULT,
    malformed_rate: float = 0.0,
    drop_rate: float = 0.0,
    outage_start: str | None = None,
    outage_end: str | None = None,
    throttle_start: str | None = None,
    throttle_end: str | None = None,
    throttle_retry_after: bool = True,
    revoke_keys_at: str | None = None,
    offline: list[str] | None = None,
    seed: int = 0,
) -> FaultConfig:
    """The `FaultConfig` of the parsed options (named as the options); BadParameter if wrong.

    Rates are probabilities per counted call, `latency` and `timeout_s` wall
    seconds, times simulated ISO 8601 with an offset; `seed` seeds the draws.
    """
    from pydantic import ValidationError

    from adapters.simulator.server import FaultConfig, OfflineWindow

    try:
        windows = tuple(OfflineWindow.parse(text) for text in offline or ())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--offline") from None
    try:
        return FaultConfig(
            error_rate=error_rate,
            latency_s=latency,
            timeout_rate=timeout_rate,
            timeout_s=timeout_s,
            malformed_rate=malformed_rate,
            drop_rate=drop_rate,
            outage_start=utc_time(outage_start, "--outage-start"),
            outage_end=utc_time(outage_end, "--outage-end"),
            throttle_start=utc_time(throttle_start, "--throttle-start"),
            throttle_end=utc_time(throttle_end, "--throttle-end"),
            throttle_retry_after=throttle_retry_after,
            revoke_keys_at=utc_time(revoke_keys_at, "--revoke-keys-at"),
            offline=windows,
            seed=seed,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        message = _with_option_names(str(first["msg"]).removeprefix("Value error, "))
        raise typer.BadParameter(message, param_hint=_OPTION_OF_FIELD.get(field)) from None


__all__ = [
    "FAULTS_PANEL",
    "TIMEOUT_S_DEFAULT",
    "DropRateOption",
    "ErrorRateOption",
    "LatencyOption",
    "MalformedRateOption",
    "OfflineOption",
    "OutageEndOption",
    "OutageStartOption",
    "RevokeKeysAtOption",
    "ThrottleEndOption",
    "ThrottleRetryAfterOption",
    "ThrottleStartOption",
    "TimeoutRateOption",
    "TimeoutSOption",
    "fault_config",
    "utc_time",
]
