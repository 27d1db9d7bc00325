"""An `AppConfig` as the TOML config file `load_config` reads back equal to it.

The demo builds its home's config in memory from a scenario; written out beside its
database it is what `v2c-solar plan --config` reads. `fleet_toml` writes a fleet file
(`optimizer.accounts`) the same way: `demo --fleet`'s accounts and their homes.
Only values off their defaults are written, as `[table]`s and `[[arrays of tables]]`
like a hand-written config. A secret (`SecretStr`: an `[mqtt]` password or URL) is
never written: the file would hold it in clear, and a masked value would read back
as a wrong password; the config's keys and tokens come from the environment anyway.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from optimizer.config import AppConfig, parse_config

if TYPE_CHECKING:
    from optimizer.accounts import AccountConfig, FleetConfig

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def config_toml(config: AppConfig, *, header: str = "") -> str:
    """`config` as a config file; `header` is written first as `#` comment lines.

    ValueError when the config holds a secret, or when the text would not read back
    as `config` (a value TOML cannot carry: checked, never assumed).
    """
    text = _toml(_plain(config), header)
    import tomllib

    if parse_config(tomllib.loads(text), "written config") != config:
        raise ValueError("the config does not read back as written")
    return text


FLEET_ONLY = frozenset({"storage", "web", "mqtt"})
"""A site's sections a fleet does not use (the fleet file's own are the process's)."""


def fleet_toml(fleet: FleetConfig, *, header: str = "") -> str:
    """`fleet` as a fleet file: `[storage]`, `[web]`, `[mqtt]`, then each `[[accounts]]`
    with its key's variable or file (never a key: `AccountConfig` holds none) and its sites
    inline (`[[accounts.sites]]`, less their `storage`, `web` and `mqtt`, which a fleet
    does not use); `header` as in `config_toml`.

    ValueError as `config_toml`'s, or when a key file is relative (it would read back
    relative to the written file).
    """
    shared = {"storage": fleet.storage, "web": fleet.web, "mqtt": fleet.mqtt}
    data: dict[str, Any] = {
        name: _plain(section) for name, section in shared.items() if section is not None
    }
    data = {name: values for name, values in data.items() if values}  # no empty [web]
    data["accounts"] = [_account_data(account) for account in fleet.accounts]
    text = _toml(data, header)
    import tomllib

    from optimizer.accounts import parse_fleet

    again = parse_fleet(tomllib.loads(text), Path("written fleet"))
    if _fleet_key(again) != _fleet_key(fleet):
        raise ValueError("the fleet does not read back as written")
    return text


def _account_data(account: AccountConfig) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": account.name}
    if account.key_env is not None:
        entry["api_key_env"] = account.key_env
    if account.key_file is not None:
        if not account.key_file.is_absolute():
            raise ValueError(f"{account.name}: api_key_file {account.key_file} is relative")
        entry["api_key_file"] = str(account.key_file)
    entry["sites"] = [
        {k: v for k, v in _plain(site).items() if k not in FLEET_ONLY} for site in account.sites
    ]
    return entry


def _fleet_key(fleet: FleetConfig) -> tuple[object, ...]:
    """What a fleet file says: its shared sections, each account's name, key reference and
    sites (with the sections a fleet does not use at their defaults)."""
    reset = {
        name: AppConfig.model_fields[name].get_default(call_default_factory=True)
        for name in FLEET_ONLY
    }
    accounts = tuple(
        (a.name, a.key_env, a.key_file, tuple(s.model_copy(update=reset) for s in a.sites))
        for a in fleet.accounts
    )
    return (fleet.storage, fleet.web, fleet.mqtt, fleet.single_home, accounts)


def _plain(model: BaseModel) -> dict[str, Any]:
    """`model`'s values off their defaults, as JSON-able values without None; ValueError
    when it holds a secret."""
    _refuse_secrets(model.model_dump(exclude_defaults=True), ())
    plain: dict[str, Any] = _without_none(model.model_dump(mode="json", exclude_defaults=True))
    return plain


def _toml(data: Mapping[str, Any], header: str) -> str:
    """`data` as TOML text, `header` first as `#` comment lines."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(lines, (), data)
    return "\n".join(lines).strip("\n") + "\n"


def _refuse_secrets(value: Any, where: tuple[str, ...]) -> None:
    if isinstance(value, SecretStr):
        raise ValueError(f"{'.'.join(where)}: a secret is never written to a config file")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_secrets(item, (*where, str(key)))
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_secrets(item, where)


def _without_none(value: Any) -> Any:
    """TOML has no null: a None is left out (the read-back check catches a None that
    is not its field's default)."""
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _table(lines: list[str], path: tuple[str, ...], data: Mapping[str, Any]) -> None:
    """`data`'s plain values under `[path]`, then its sub-tables and arrays of tables."""
    plain = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    plain = {k: v for k, v in plain.items() if not _is_table_array(v)}
    if path and (plain or not data):
        lines += ["", f"[{_dotted(path)}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    for key, value in data.items():
        if isinstance(value, Mapping):
            _table(lines, (*path, key), value)
        elif _is_table_array(value):
            for item in value:
                _array_item(lines, (*path, key), item)


def _array_item(lines: list[str], path: tuple[str, ...], item: Mapping[str, Any]) -> None:
    """One element of an array of tables: `[[path]]` and its contents."""
    lines += ["", f"[[{_dotted(path)}]]"]
    nested = {k: v for k, v in item.items() if isinstance(v, Mapping) or _is_table_array(v)}
    lines += [f"{_key(k)} = {_value(v)}" for k, v in item.items() if k not in nested]
    for key, value in nested.items():
        if isinstance(value, Mapping):
            _table(lines, (*path, key), value)
        else:
            for sub in value:
                _array_item(lines, (*path, key), sub)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_key(k) for k in path)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _value(value: Any) -> str:
    """A JSON-able value as an inline TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value}: not a finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise ValueError(f"no TOML for {type(value).__name__}")


__all__ = ["config_toml", "fleet_toml"]
