"""An `AppConfig` as the TOML config file `load_config` reads back equal to it.

The demo builds its home's config in memory from a scenario; written out beside its
database it is what `v2c-solar plan --config` reads.
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
from typing import Any

from pydantic import SecretStr

from optimizer.config import AppConfig, parse_config

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def config_toml(config: AppConfig, *, header: str = "") -> str:
    """`config` as a config file; `header` is written first as `#` comment lines.

    ValueError when the config holds a secret, or when the text would not read back
    as `config` (a value TOML cannot carry: checked, never assumed).
    """
    _refuse_secrets(config.model_dump(exclude_defaults=True), ())
    data = _without_none(config.model_dump(mode="json", exclude_defaults=True))
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(lines, (), data)
    text = "\n".join(lines).strip("\n") + "\n"
    import tomllib

    if parse_config(tomllib.loads(text), "written config") != config:
        raise ValueError("the config does not read back as written")
    return text


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


__all__ = ["config_toml"]
