"""Storage adapters: where the controller's records go.

`MemoryStore` (plain lists, for backtests) is importable without SQLAlchemy;
`SqlStore` and the SQL helpers are loaded on first access, so
`from adapters.storage import MemoryStore` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.storage.errors import (
    SchemaTooNewError,
    StoreError,
    StoreNotFoundError,
    StoreUrlError,
)
from adapters.storage.memory import MemoryStore
from adapters.storage.protocol import TABLES, QueryableStore

if TYPE_CHECKING:
    from adapters.storage.sql_store import DEFAULT_URL, URL_ENV_VAR, SqlStore

_LAZY = {"SqlStore", "DEFAULT_URL", "URL_ENV_VAR"}

__all__ = [
    "DEFAULT_URL",
    "TABLES",
    "URL_ENV_VAR",
    "MemoryStore",
    "QueryableStore",
    "SchemaTooNewError",
    "SqlStore",
    "StoreError",
    "StoreNotFoundError",
    "StoreUrlError",
]


def __getattr__(name: str) -> Any:
    """Import the SQL store only when it is asked for."""
    if name in _LAZY:
        from adapters.storage import sql_store

        return getattr(sql_store, name)
    raise AttributeError(f"module 'adapters.storage' has no attribute {name!r}")
