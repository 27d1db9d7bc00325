"""Exceptions of the storage adapters.

Every message is one line, names what is wrong and where, and never contains a
database password (URLs are redacted before they reach a message).
"""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be opened, read or written."""


class StoreUrlError(StoreError):
    """The database URL is malformed or names a backend that is not installed."""


class StoreNotFoundError(StoreError):
    """A read-only command was pointed at a database that does not exist."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer v2c-solar than this one."""


class StoreLockedError(StoreError):
    """Another daemon holds the database (see `adapters.storage.lock`)."""
