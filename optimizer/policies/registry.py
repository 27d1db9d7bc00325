"""Policies by name: their parameter models and how to build one from config.

`[policy]` in the TOML names the active policy and may hold one sub-table of
parameters per policy (`[policy.solar_only]`, `[policy.target]`, ...), so a
user can keep tuned parameters for several policies and switch by name.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from optimizer.policies.base import Policy
from optimizer.policies.device_native import DeviceNativeParams, DeviceNativePolicy
from optimizer.policies.evcc_style import EvccStyleParams, EvccStylePolicy
from optimizer.policies.fast import FastParams, FastPolicy
from optimizer.policies.min_solar import MinSolarParams, MinSolarPolicy
from optimizer.policies.off import OffParams, OffPolicy
from optimizer.policies.solar_only import SolarOnlyParams, SolarOnlyPolicy
from optimizer.policies.target import TargetParams, TargetPolicy
from optimizer.policies.tariff import TariffConfig
from optimizer.prices.port import PriceSource

PolicyName = Literal[
    "solar_only", "min_solar", "fast", "off", "target", "evcc_style", "device_native"
]
POLICY_NAMES: tuple[str, ...] = typing.get_args(PolicyName)

PolicyByName = Callable[[str], Policy]
"""A fresh instance of the named policy (the composition root's `policy_factory`)."""


class PolicyConfig(BaseModel):
    """`[policy]`: the active policy's name and every policy's parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PolicyName = "solar_only"
    solar_only: SolarOnlyParams = Field(default_factory=SolarOnlyParams)
    min_solar: MinSolarParams = Field(default_factory=MinSolarParams)
    fast: FastParams = Field(default_factory=FastParams)
    off: OffParams = Field(default_factory=OffParams)
    target: TargetParams = Field(default_factory=TargetParams)
    evcc_style: EvccStyleParams = Field(default_factory=EvccStyleParams)
    device_native: DeviceNativeParams = Field(default_factory=DeviceNativeParams)


def build_policy(
    config: PolicyConfig,
    name: str | None = None,
    tariff: TariffConfig | None = None,
    prices: PriceSource | None = None,
) -> Policy:
    """A fresh policy instance (one per charger) for `name` (default: the configured one).

    `prices` (None: the tariff's) are what `target`'s least-cost planner plans with.
    """
    chosen = name or config.name
    factories: dict[str, Callable[[], Policy]] = {
        "solar_only": lambda: SolarOnlyPolicy(config.solar_only),
        "min_solar": lambda: MinSolarPolicy(config.min_solar),
        "fast": lambda: FastPolicy(config.fast),
        "off": lambda: OffPolicy(config.off),
        "target": lambda: TargetPolicy(config.target, tariff, prices),
        "evcc_style": lambda: EvccStylePolicy(config.evcc_style),
        "device_native": lambda: DeviceNativePolicy(config.device_native),
    }
    if chosen not in factories:
        raise ValueError(f"unknown policy {chosen!r}; known: {', '.join(POLICY_NAMES)}")
    return factories[chosen]()


def make_policy(
    name: str, params: Mapping[str, Any] | None = None, tariff: TariffConfig | None = None
) -> Policy:
    """Build a policy by name from a plain mapping of its parameters (backtests, sweeps).

    Raises pydantic's ValidationError for bad parameters and ValueError for an unknown name.
    """
    if name not in POLICY_NAMES:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(POLICY_NAMES)}")
    config = PolicyConfig.model_validate({"name": name, name: dict(params or {})})
    return build_policy(config, tariff=tariff)
