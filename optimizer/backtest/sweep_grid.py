"""The grid of a sweep: `--param dotted.key=v1,v2` values applied to the app config.

A sweep varies settings of `AppConfig` (`config/home.toml` or, without one, the
defaults for the Graz site), e.g. `policy.solar_only.handover_read_interval_s=300,900`
or `budget.reserve=50,200`. Each value is parsed as a TOML scalar (`300`, `1.5`,
`true`, `"x"`; a bare word is a string), put at its key path in the config's
mapping and validated by the daemon's own loader (`optimizer.config.parse_config`),
so a value the daemon would refuse is refused here, in one line naming the
`--param`, before any run is submitted. The grid is the Cartesian product of
the params' values; each point becomes the `BacktestSetup` `v2c-solar backtest
--config` would build from a file holding those values (`setup_for`).

Only sections a backtest reads may vary: `policy`, `budget`, `controller`,
`tariff` and the first charger's `chargers.0.limits`.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optimizer.backtest.engine import DEVICE_ID, BacktestSetup
from optimizer.config import AppConfig, ConfigError, parse_config
from optimizer.site import GRAZ

SWEPT_SECTIONS: tuple[str, ...] = ("policy", "budget", "controller", "tariff", "chargers")
"""Top-level config sections a backtest reads, so a sweep may vary (chargers: the first one's)."""

Scalar = bool | int | float | str
Point = dict[str, Scalar]
"""One point of the grid: dotted key -> value."""


class SweepArgError(ValueError):
    """A bad `--param` (or grid): one line naming it."""


@dataclass(frozen=True)
class Param:
    """One `--param`: a dotted config key and the values it takes, in the given order."""

    key: str
    values: tuple[Scalar, ...]

    @property
    def text(self) -> str:
        """The `--param` as given (values as parsed), for messages."""
        return f"{self.key}={','.join(str(v) for v in self.values)}"


def parse_scalar(text: str) -> Scalar:
    """`text` as a TOML scalar (`300`, `1.5`, `true`, `"x"`); a bare word is a string."""
    try:
        value: object = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    if not isinstance(value, bool | int | float | str):
        raise ValueError(f"{text!r} is not a scalar (a number, true/false or a string)")
    return value


def parse_param(text: str) -> Param:
    """`dotted.key=v1,v2,...` -> Param; SweepArgError naming the `--param` otherwise."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise SweepArgError(f"--param {text!r}: expected dotted.key=value1,value2,...")
    if key.split(".")[0] not in SWEPT_SECTIONS:
        raise SweepArgError(
            f"--param {key}: a sweep varies only {', '.join(SWEPT_SECTIONS)} "
            f"(what a backtest reads), not {key.split('.')[0]!r}"
        )
    parsed: list[Scalar] = []
    for item in values.split(","):
        if not item.strip():
            raise SweepArgError(f"--param {text!r}: an empty value")
        try:
            parsed.append(parse_scalar(item.strip()))
        except ValueError as exc:
            raise SweepArgError(f"--param {key}: {exc}") from None
    if len(set(map(repr, parsed))) != len(parsed):
        raise SweepArgError(f"--param {text!r}: a value appears twice")
    return Param(key, tuple(parsed))


def parse_params(texts: Sequence[str]) -> tuple[Param, ...]:
    """Every `--param`; a key given twice is an error."""
    params = tuple(parse_param(text) for text in texts)
    keys = [p.key for p in params]
    for key in keys:
        if keys.count(key) > 1:
            raise SweepArgError(f"--param {key}: given twice; list its values in one --param")
    return params


def default_config() -> dict[str, Any]:
    """The config mapping a sweep starts from without `--config`: the Graz site, one
    charger, every other section at its default (what `v2c-solar backtest` runs)."""
    return {"site": GRAZ.model_dump(mode="json"), "chargers": [{"device_id": DEVICE_ID}]}


def config_mapping(app: AppConfig) -> dict[str, Any]:
    """`app` as the mapping a sweep edits (what the file set, JSON types)."""
    return app.model_dump(mode="json", exclude_unset=True)


def with_values(base: Mapping[str, Any], point: Mapping[str, Scalar]) -> dict[str, Any]:
    """A deep copy of `base` with each dotted key of `point` set (a numeric part indexes a list)."""
    data: dict[str, Any] = _copy(base)
    for key, value in point.items():
        parts = key.split(".")
        node: Any = data
        for depth, part in enumerate(parts[:-1]):
            node = _child(node, part, ".".join(parts[: depth + 1]), key)
        _set(node, parts[-1], value, key)
    return data


def _copy(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_copy(v) for v in node]
    return node


def _child(node: Any, part: str, path: str, key: str) -> Any:
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise SweepArgError(f"--param {key}: {path}: no such entry (0 .. {len(node) - 1})")
        return node[int(part)]
    if not isinstance(node, dict):
        raise SweepArgError(f"--param {key}: {path.rsplit('.', 1)[0]} is a value, not a table")
    child = node.get(part)
    if child is None:
        child = node[part] = {}
    return child


def _set(node: Any, part: str, value: Scalar, key: str) -> None:
    if not isinstance(node, dict):
        raise SweepArgError(f"--param {key}: {key.rsplit('.', 1)[0]} is not a table")
    node[part] = value


def configure(base: Mapping[str, Any], point: Mapping[str, Scalar]) -> AppConfig:
    """The validated config with `point`'s values; SweepArgError naming the params otherwise."""
    try:
        return parse_config(with_values(base, point), where="config")
    except ConfigError as exc:
        given = " ".join(f"{k}={v}" for k, v in point.items())
        reason = str(exc).removeprefix("config: ")
        raise SweepArgError(f"--param {given}: {reason}") from None


def setup_for(app: AppConfig) -> BacktestSetup:
    """The backtest setup of `app`'s first charger (limits, policies, budget, controller,
    tariff): what `v2c-solar backtest --config` runs."""
    try:
        return BacktestSetup(
            limits=app.chargers[0].limits,
            policies=app.policy,
            budget=app.budget,
            controller=app.controller,
            tariff=app.tariff,
        )
    except ValueError as exc:
        raise SweepArgError(f"chargers[0].{exc}") from None


def grid(params: Sequence[Param]) -> list[Point]:
    """The Cartesian product of the params' values, the first param varying slowest."""
    keys = [p.key for p in params]
    return [
        dict(zip(keys, combo, strict=True))
        for combo in itertools.product(*(p.values for p in params))
    ]


def validated_grid(
    base: Mapping[str, Any], params: Sequence[Param]
) -> list[tuple[Point, BacktestSetup]]:
    """Every grid point with its setup; each value is checked alone first, so an error
    names the one `--param` and value at fault rather than a whole combination."""
    for param in params:
        for value in param.values:
            _setup_at(base, {param.key: value})
    return [(point, _setup_at(base, point)) for point in grid(params)]


def _setup_at(base: Mapping[str, Any], point: Point) -> BacktestSetup:
    app = configure(base, point)
    try:
        return setup_for(app)
    except SweepArgError as exc:
        given = " ".join(f"{k}={v}" for k, v in point.items())
        raise SweepArgError(f"--param {given}: {exc}") from None
