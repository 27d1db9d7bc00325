"""What a simulator run is configured with: keys, quota, clock speed, faults, paths."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from adapters.simulator.quota import DEFAULT_DAILY_LIMIT
from adapters.simulator.server.faults import FaultConfig

DEMO_API_KEY = "demo-key"
"""The key the simulator accepts when neither `--api-key` nor `V2C_API_KEY` gives one."""

API_KEY_ENV = "V2C_API_KEY"
"""Environment variable the simulator (like the client) takes the key from."""

DEFAULT_BASE_PATH = "/kong/v2c_service"
"""Where the API is mounted, so `http://HOST:PORT/kong/v2c_service` mirrors the real base URL."""


class SimAccount(BaseModel):
    """One account on the simulated cloud: its key and the devices paired with it.

    A key sees and controls only its account's devices: any other device id is
    answered like an id that does not exist (404), as the real cloud does for a
    device not in the account, so a key learns nothing of other accounts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    api_key: SecretStr
    device_ids: tuple[str, ...] = Field(min_length=1)


class SimulatorConfig(BaseModel):
    """One simulator run.

    `speed` is simulated seconds per wall second. `tick_s`, when set, advances
    the world every `tick_s` wall seconds in the background (the world is
    otherwise advanced lazily before each request, which gives the same
    physics). `timezone` is the chargers' local zone, used for the local
    dates of the statistics. `seed` drives every random choice the server
    makes (faults have their own seed in `faults`).

    `accounts` empty (one account): every key sees every device of the world.
    Given (a fleet, `for_accounts`): `api_keys` are exactly the accounts' keys,
    each with its own daily quota and its own devices.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_keys: tuple[SecretStr, ...] = Field(min_length=1)
    daily_limit: int = Field(default=DEFAULT_DAILY_LIMIT, ge=0)
    base_path: str = DEFAULT_BASE_PATH
    speed: float = Field(default=1.0, gt=0.0, le=100_000.0)
    tick_s: float | None = Field(default=None, gt=0.0)
    timezone: str = "UTC"
    seed: int = 0
    faults: FaultConfig = FaultConfig()
    accounts: tuple[SimAccount, ...] = ()

    @classmethod
    def for_keys(cls, keys: Iterable[str], **settings: Any) -> SimulatorConfig:
        """A config accepting `keys` (plain strings, wrapped as secrets) and `settings`."""
        return cls(api_keys=tuple(SecretStr(k) for k in keys), **settings)

    @classmethod
    def for_accounts(cls, accounts: Iterable[SimAccount], **settings: Any) -> SimulatorConfig:
        """A config serving `accounts`, each key seeing only its own devices."""
        accounts = tuple(accounts)
        return cls(api_keys=tuple(a.api_key for a in accounts), accounts=accounts, **settings)

    @model_validator(mode="after")
    def _accounts_own_the_keys(self) -> SimulatorConfig:
        if not self.accounts:
            return self
        names = [a.name for a in self.accounts]
        if len(set(names)) != len(names):
            raise ValueError("accounts: two accounts have the same name")
        keys = [a.api_key.get_secret_value() for a in self.accounts]
        if len(set(keys)) != len(keys):
            raise ValueError("accounts: two accounts share one api key")
        if set(keys) != {k.get_secret_value() for k in self.api_keys}:
            raise ValueError("accounts: api_keys must be exactly the accounts' keys")
        owned = Counter(d for a in self.accounts for d in a.device_ids)
        twice = sorted(d for d, n in owned.items() if n > 1)
        if twice:
            raise ValueError(f"accounts: devices in two accounts: {', '.join(twice[:5])}")
        return self

    @field_validator("api_keys")
    @classmethod
    def _keys_not_blank(cls, keys: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for i, key in enumerate(keys):
            value = key.get_secret_value()
            if not value.strip() or value != value.strip():
                raise ValueError(f"api key #{i + 1} is blank or has surrounding whitespace")
        return keys

    @field_validator("base_path")
    @classmethod
    def _path_shape(cls, path: str) -> str:
        path = path.rstrip("/")
        if path and (not path.startswith("/") or " " in path or path.startswith("/sim")):
            raise ValueError(f"base_path must start with '/' and not be under /sim, got {path!r}")
        return path

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {name!r}") from None
        return name


def resolve_api_keys(
    given: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> list[str]:
    """The keys to accept: those given, else `V2C_API_KEY`, else `DEMO_API_KEY`."""
    keys = [k for k in given if k]
    if keys:
        return keys
    env = os.environ if environ is None else environ
    from_env = env.get(API_KEY_ENV, "").strip()
    return [from_env] if from_env else [DEMO_API_KEY]
