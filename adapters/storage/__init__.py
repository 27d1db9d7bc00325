"""Storage adapters: where the controller's records go.

The errors and the default URL are imported with the package; every store and
the protocol are loaded on first access (`optimizer.lazy_exports`), so
`from adapters.storage import MemoryStore` does not import SQLAlchemy and
`from adapters.storage import StoreError` (the CLI's) imports neither
SQLAlchemy nor numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.storage.errors import (
    SchemaTooNewError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
    StoreUrlError,
)
from adapters.storage.url import DEFAULT_URL, URL_ENV_VAR
from optimizer.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from adapters.storage.memory import MemoryStore
    from adapters.storage.protocol import TABLES, QueryableStore
    from adapters.storage.sql_store import SqlStore

__getattr__ = lazy_exports(__name__, __file__)

__all__ = [
    "DEFAULT_URL",
    "TABLES",
    "URL_ENV_VAR",
    "MemoryStore",
    "QueryableStore",
    "SchemaTooNewError",
    "SqlStore",
    "StoreError",
    "StoreLockedError",
    "StoreNotFoundError",
    "StoreUrlError",
]
