"""Accounts: one process for many V2C Cloud accounts, each with its key, its sites and chargers.

A fleet file has `[[accounts]]` instead of `[site]`/`[[chargers]]`:

    [storage]                       # one database for every account (default v2c-solar.db)
    url = "sqlite:///fleet.db"
    [web]                           # one web server (default 127.0.0.1:8787)
    listen = "127.0.0.1:8787"
    [mqtt]                          # optional: one broker for every home (Home Assistant)
    host = "127.0.0.1"

    [[accounts]]
    name = "acme"                   # a label: [a-z0-9_-], 1-32 characters
    api_key_env = "ACME_V2C_KEY"    # or api_key_file = "secrets/acme.key"

    [[accounts.sites]]
    config = "homes/acme.toml"      # a single-home config file, relative to this file

    [[accounts.sites]]              # or a single-home config's sections inline
    chargers = [{ device_id = "ABC123" }]
    [accounts.sites.site]
    latitude = 40.4
    longitude = -3.7
    arrays = [{ kwp = 5.0, tilt_deg = 30.0, azimuth_deg = 180.0 }]

The key itself never goes in the file (a `api_key` key is a one-line error): it
comes from the variable `api_key_env` names or the first line of `api_key_file`
(relative to the fleet file). A single-home config (no `[[accounts]]`) is one
implicit account, `default`, its key from `V2C_API_KEY`. A site may be named
(`[site] name = "garage"`, for the web's `?account=acme&site=garage`); unnamed ones are
`site1`, `site2`... by their place in the account (`site_names`). The sites' own
`[storage]`, `[web]` and `[mqtt]` are not used in a fleet (the fleet file's are: one
broker connection publishes every home under `<prefix>/<account>/<site>`), and an
account's call budget is its first site's `[budget]`, spread by one planner over
all of the account's chargers. Each site's `[prices]` and `[forecast]` are used as
for one home, sites with identical ones reading one shared feed
(`optimizer.composition.SharedLiveInputs`). Every error is one line naming the file and the
key, e.g. `fleet.toml: accounts[1].name: must match [a-z0-9_-]{1,32} (got 'Acme')`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pydantic
from pydantic import SecretStr

from adapters.mqtt.config import MqttConfig
from optimizer.config import (
    AppConfig,
    ConfigError,
    StorageConfig,
    WebConfig,
    describe_error,
    parse_config,
    read_toml,
)

DEFAULT_ACCOUNT = "default"
"""The implicit account of a single-home config (the label its rows are stored with)."""

DEFAULT_KEY_ENV = "V2C_API_KEY"
"""Where a single-home config's key comes from."""

ACCOUNT_NAME = re.compile(r"[a-z0-9_-]{1,32}")
"""An account's label: stored on every row, shown in metrics, given to `--account`."""

M = TypeVar("M", bound=pydantic.BaseModel)

_ACCOUNT_KEYS = frozenset({"name", "api_key_env", "api_key_file", "sites"})
_FLEET_KEYS = frozenset({"accounts", "storage", "web", "mqtt"})


class AccountSpec(Protocol):
    """What the fleet runtime takes per account: a resolved key and validated sites.

    `Account` below is one; so is the simulator's `FleetAccount`.
    """

    @property
    def name(self) -> str: ...

    @property
    def api_key(self) -> SecretStr: ...

    @property
    def sites(self) -> tuple[AppConfig, ...]: ...


@dataclass(frozen=True, slots=True)
class Account:
    """One account, its key resolved (a `SecretStr`: never printed)."""

    name: str
    api_key: SecretStr
    sites: tuple[AppConfig, ...]


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One `[[accounts]]` entry as validated, its key not read yet (`resolve`)."""

    name: str
    key_env: str | None
    key_file: Path | None
    sites: tuple[AppConfig, ...]
    where: str
    """`file: accounts[i]`, for the key's errors."""

    def resolve(self, env: Mapping[str, str] | None = None) -> Account:
        """The account with its key from the environment or its file; `ConfigError` if absent."""
        env = os.environ if env is None else env
        if self.key_env is not None:
            key = env.get(self.key_env, "").strip()
            if not key:
                raise ConfigError(
                    f"{self.where}.api_key_env: the variable {self.key_env} is not set"
                )
        else:
            assert self.key_file is not None
            try:
                lines = self.key_file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                why = getattr(exc, "strerror", None) or type(exc).__name__
                raise ConfigError(
                    f"{self.where}.api_key_file: cannot read {self.key_file}: {why}"
                ) from None
            key = lines[0].strip() if lines else ""
            if not key:
                raise ConfigError(f"{self.where}.api_key_file: {self.key_file} is empty")
        if not key.isascii() or any(c.isspace() for c in key):
            raise ConfigError(f"{self.where}: the API key must be ASCII without whitespace")
        return Account(self.name, SecretStr(key), self.sites)

    @property
    def chargers(self) -> int:
        """How many chargers the account's sites have."""
        return sum(len(site.chargers) for site in self.sites)


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """The accounts of one process and what they share (the database, the web server,
    the MQTT broker)."""

    accounts: tuple[AccountConfig, ...]
    storage: StorageConfig
    web: WebConfig
    single_home: bool
    """A single-home config (one implicit account): the daemon runs as it always did."""
    mqtt: MqttConfig | None = None
    """The broker every home is published to (None: no MQTT unless `--mqtt`)."""

    def account(self, name: str) -> AccountConfig:
        """The account called `name`; `ConfigError` naming the known ones otherwise."""
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(a.name for a in self.accounts)
        raise ConfigError(f"no account {name!r} in the config (accounts: {known})")

    def resolve(self, env: Mapping[str, str] | None = None) -> tuple[Account, ...]:
        """Every account with its key read."""
        return tuple(account.resolve(env) for account in self.accounts)


def load_fleet(path: str | Path) -> FleetConfig:
    """Read a fleet file (or a single-home config: one implicit account); one-line errors."""
    return parse_fleet(read_toml(path), Path(path))


def parse_fleet(data: Mapping[str, Any], path: Path) -> FleetConfig:
    """Validate a parsed fleet file; site files and key files are relative to `path`."""
    where = str(path)
    if "accounts" not in data:
        home = parse_config(data, where)
        implicit = AccountConfig(DEFAULT_ACCOUNT, DEFAULT_KEY_ENV, None, (home,), where)
        return FleetConfig((implicit,), home.storage, home.web, single_home=True, mqtt=home.mqtt)
    for key in data:
        if key not in _FLEET_KEYS:
            raise ConfigError(
                f"{where}: unknown key '{key}' in the top level of a file with [[accounts]] "
                "(sites go in [[accounts.sites]])"
            )
    raw = data["accounts"]
    if not isinstance(raw, list) or not raw or not all(isinstance(a, dict) for a in raw):
        raise ConfigError(f"{where}: accounts: must be a non-empty array of tables [[accounts]]")
    accounts = tuple(_account(entry, f"accounts[{i}]", path) for i, entry in enumerate(raw))
    _check_unique(accounts, where)
    storage = _section(StorageConfig, data, "storage", where)
    web = _section(WebConfig, data, "web", where)
    mqtt = _section(MqttConfig, data, "mqtt", where) if "mqtt" in data else None
    return FleetConfig(accounts, storage, web, single_home=False, mqtt=mqtt)


def _section(model: type[M], data: Mapping[str, Any], key: str, where: str) -> M:
    """The fleet file's `[key]` section, with the single-home config's one-line errors."""
    try:
        return model.model_validate(data.get(key, {}))
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        located: Any = {**error, "loc": (key, *error["loc"])}
        raise ConfigError(f"{where}: {describe_error(located)}") from None


def _account(entry: Mapping[str, Any], loc: str, path: Path) -> AccountConfig:
    where = f"{path}: {loc}"
    if "api_key" in entry:
        raise ConfigError(
            f"{where}.api_key: the key never goes in the file: set api_key_env (a variable's "
            "name) or api_key_file (a file holding the key)"
        )
    for key in entry:
        if key not in _ACCOUNT_KEYS:
            raise ConfigError(f"{path}: unknown key '{key}' in [{loc}]")
    name = entry.get("name")
    if not isinstance(name, str) or not ACCOUNT_NAME.fullmatch(name):
        raise ConfigError(f"{where}.name: must match {ACCOUNT_NAME.pattern} (got {name!r})")
    key_env, key_file = entry.get("api_key_env"), entry.get("api_key_file")
    if (key_env is None) == (key_file is None):
        raise ConfigError(f"{where}: set exactly one of api_key_env and api_key_file")
    for key, value in (("api_key_env", key_env), ("api_key_file", key_file)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{where}.{key}: must be a non-empty string (got {value!r})")
    sites = entry.get("sites")
    if not isinstance(sites, list) or not sites or not all(isinstance(s, dict) for s in sites):
        raise ConfigError(f"{where}.sites: must be a non-empty array of tables [[{loc}.sites]]")
    return AccountConfig(
        name,
        key_env,
        None if key_file is None else path.parent / key_file,
        tuple(_site(site, f"{loc}.sites[{j}]", path) for j, site in enumerate(sites)),
        where,
    )


def _site(entry: Mapping[str, Any], loc: str, path: Path) -> AppConfig:
    """A site: `config = "file.toml"` (relative to the fleet file) or the sections inline."""
    if "config" not in entry:
        return parse_config(entry, f"{path}: {loc}")
    if len(entry) > 1:
        extra = sorted(k for k in entry if k != "config")[0]
        raise ConfigError(
            f"{path}: {loc}: '{extra}' beside config: a site is either a file or inline tables"
        )
    file = entry["config"]
    if not isinstance(file, str) or not file.strip():
        raise ConfigError(f"{path}: {loc}.config: must be a file name (got {file!r})")
    return parse_config(read_toml(path.parent / file), str(path.parent / file))


def _check_unique(accounts: tuple[AccountConfig, ...], where: str) -> None:
    """Account names and device ids are unique across the file (rows and metrics use them)."""
    names: set[str] = set()
    devices: dict[str, str] = {}
    for i, account in enumerate(accounts):
        if account.name in names:
            raise ConfigError(f"{where}: accounts[{i}].name: {account.name!r} appears twice")
        names.add(account.name)
        _check_site_names(account, where, i)
        for j, site in enumerate(account.sites):
            for charger in site.chargers:
                other = devices.setdefault(charger.device_id, account.name)
                if other != account.name or _twice(account, charger.device_id):
                    raise ConfigError(
                        f"{where}: accounts[{i}].sites[{j}].chargers: device_id "
                        f"{charger.device_id!r} is configured twice (also in account {other!r})"
                    )


def site_names(sites: Sequence[AppConfig]) -> tuple[str, ...]:
    """Each site's name in its account: its `[site] name`, else `site1`, `site2`... by its
    place (what the web's `?site=NAME` selects; `_check_unique` keeps them apart)."""
    return tuple(site.site.name or f"site{j + 1}" for j, site in enumerate(sites))


def _check_site_names(account: AccountConfig, where: str, i: int) -> None:
    """An account's site names are unique (a name given twice, or one that is another
    site's default `siteN`): one line naming the site."""
    seen: set[str] = set()
    for j, name in enumerate(site_names(account.sites)):
        if name in seen:
            raise ConfigError(
                f"{where}: accounts[{i}].sites[{j}].site.name: {name!r} names two sites of "
                f"account {account.name!r}"
            )
        seen.add(name)


def _twice(account: AccountConfig, device_id: str) -> bool:
    return sum(c.device_id == device_id for s in account.sites for c in s.chargers) > 1


__all__ = [
    "ACCOUNT_NAME",
    "DEFAULT_ACCOUNT",
    "DEFAULT_KEY_ENV",
    "Account",
    "AccountConfig",
    "AccountSpec",
    "FleetConfig",
    "load_fleet",
    "parse_fleet",
    "site_names",
]
