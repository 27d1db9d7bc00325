"""The app config: one TOML file (`config/home.toml`) validated into `AppConfig`.

Sections: `[site]` (location and PV arrays), `[[chargers]]` (device id and
electrical limits), `[policy]` (active policy and parameters), `[budget]`
(the call-budget planner), `[controller]` (cycle tuning), `[storage]`
(database URL), an optional `[tariff]`, an optional `[prices]` (a price
provider, `optimizer.prices.config`; not used by the policies yet), `[forecast]` (a
weather provider beyond the nowcast, `optimizer.forecast.config`; offline by default)
and an optional `[mqtt]` (the broker for Home Assistant, `adapters/mqtt/config.py`). Every
error is one line naming the file and the key path, e.g.
`config/home.toml: policy.solar_only.enable_delay_s: must be >= 0 (got -5)`.
The API key is never part of the config: it comes from `V2C_API_KEY`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import ErrorDetails

from adapters.mqtt.config import MqttConfig
from optimizer.budget.config import BudgetConfig
from optimizer.controller import ControllerSettings
from optimizer.forecast.config import ForecastConfig
from optimizer.limits import ChargerLimits
from optimizer.policies.registry import PolicyConfig
from optimizer.policies.tariff import TariffConfig
from optimizer.prices.config import PricesConfig
from optimizer.site import SiteConfig


class ConfigError(ValueError):
    """The config file is unreadable or invalid; the message is one line naming file and key."""


class ChargerConfig(BaseModel):
    """`[[chargers]]`: one Trydan on the account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, description="V2C Cloud device id")
    name: str | None = Field(default=None, description="A label for logs and tables")
    limits: ChargerLimits = Field(default_factory=ChargerLimits)


class StorageConfig(BaseModel):
    """`[storage]`: where the log lives (any SQLAlchemy URL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(default="sqlite:///v2c-solar.db", min_length=1)


class WebConfig(BaseModel):
    """`[web]`: where `v2c-solar run` serves its page, JSON API and metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = Field(
        default="127.0.0.1:8787",
        description='HOST:PORT to serve on; "" turns the web server off. Loopback by default.',
    )


class AppConfig(BaseModel):
    """The whole validated config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: SiteConfig
    chargers: tuple[ChargerConfig, ...] = Field(min_length=1)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    controller: ControllerSettings = Field(default_factory=ControllerSettings)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    tariff: TariffConfig | None = None
    prices: PricesConfig | None = None
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    mqtt: MqttConfig | None = None
    web: WebConfig = Field(default_factory=WebConfig)

    @model_validator(mode="after")
    def _unique_devices(self) -> Self:
        seen: set[str] = set()
        for charger in self.chargers:
            if charger.device_id in seen:
                raise ValueError(f"device_id {charger.device_id!r} appears twice in [[chargers]]")
            seen.add(charger.device_id)
        return self

    def charger(self, device_id: str) -> ChargerConfig:
        """The charger with `device_id`; KeyError naming it otherwise."""
        for charger in self.chargers:
            if charger.device_id == device_id:
                return charger
        raise KeyError(f"no charger {device_id!r} in the config")


def load_config(path: str | Path) -> AppConfig:
    """Read and validate a TOML config file; raise `ConfigError` with one line on any problem."""
    return parse_config(read_toml(path), str(path))


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML of `path`; `ConfigError` (one line naming the file) when it cannot be."""
    where = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: editors on Windows start UTF-8 files with a byte-order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{where}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    return data


def parse_config(data: Mapping[str, Any], where: str = "config") -> AppConfig:
    """Validate an already parsed mapping; `where` names the source in errors."""
    for loc, value in non_finite_numbers(data):
        raise ConfigError(f"{where}: {key_path(loc)}: must be a finite number (got {value})")
    try:
        return AppConfig.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        # The first error only: later ones are often consequences of it.
        raise ConfigError(f"{where}: {describe_error(exc.errors()[0])}") from None


def non_finite_numbers(
    data: object, loc: tuple[int | str, ...] = ()
) -> Iterator[tuple[tuple[int | str, ...], float]]:
    """Every `inf`/`nan` in a parsed TOML tree, with its key path.

    TOML has literals for both; no setting means "unlimited" by infinity (an
    omitted key does), and NaN slips through every `>=` bound.
    """
    if isinstance(data, float) and not math.isfinite(data):
        yield loc, data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from non_finite_numbers(value, (*loc, str(key)))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            yield from non_finite_numbers(value, (*loc, index))


def key_path(loc: tuple[int | str, ...]) -> str:
    """`("chargers", 0, "limits", "phases")` -> `chargers[0].limits.phases`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_BOUNDS = {
    "greater_than_equal": (">=", "ge"),
    "greater_than": (">", "gt"),
    "less_than_equal": ("<=", "le"),
    "less_than": ("<", "lt"),
}


def describe_error(err: ErrorDetails) -> str:
    """One pydantic error as `key.path: what is wrong (got value)`."""
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        section = key_path(loc[:-1])
        where = f"[{section}]" if section else "the top level"
        return f"unknown key '{loc[-1]}' in {where}"
    if kind == "missing":
        return f"{key_path(loc)}: required key is missing"
    if kind in ("tuple_type", "list_type") and isinstance(err.get("input"), dict):
        path = key_path(loc)
        return f"{path}: must be an array of tables [[{path}]], not one table [{path}]"
    ctx = err.get("ctx") or {}
    if kind in _BOUNDS:
        op, name = _BOUNDS[kind]
        bound = ctx.get(name)
        shown = format(bound, "g") if isinstance(bound, int | float) else str(bound)
        message = f"must be {op} {shown}"
    else:
        message = str(err["msg"]).removeprefix("Value error, ")
    path = key_path(loc) or "config"
    shown = repr(err.get("input"))
    # e.g. "unknown time zone 'X'" already names the (quoted) value
    echoed = isinstance(err.get("input"), str) and shown in message
    got = "" if not loc or echoed or isinstance(err.get("input"), dict) else f" (got {shown})"
    return f"{path}: {message}{got}"
