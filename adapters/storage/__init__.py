"""Storage adapters: where the controller's records go.

The errors and the default URL are imported with the package; every store and
the protocol are loaded on first access, so `from adapters.storage import
MemoryStore` does not import SQLAlchemy and `from adapters.storage import
StoreError` (the CLI's) imports neither SQLAlchemy nor numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from adapters.storage.errors import (
    SchemaTooNewError,
    StoreError,
    StoreNotFoundError,
    StoreUrlError,
)
from adapters.storage.url import DEFAULT_URL, URL_ENV_VAR

if TYPE_CHECKING:
    from adapters.storage.memory import MemoryStore
    from adapters.storage.protocol import TABLES, QueryableStore
    from adapters.storage.sql_store import SqlStore

_LAZY = {
    "MemoryStore": "adapters.storage.memory",
    "QueryableStore": "adapters.storage.protocol",
    "SqlStore": "adapters.storage.sql_store",
    "TABLES": "adapters.storage.protocol",
}
"""Names loaded on first access, and the module each comes from."""

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
    """Import a store's module only when the store is asked for."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'adapters.storage' has no attribute {name!r}")
