"""One daemon per database: an exclusive lock next to the SQLite file.

Two daemons on one database would each spend the account's daily call budget
(each one's planner sees the other's calls only after the fact), so `run`
(and `demo --db`) take this lock before anything else and a second daemon is
refused with one line naming the database and the holder's pid.

The lock is `fcntl.flock` on `<database>.lock`: the kernel drops it when the
holding process dies, kill -9 included, so a stale lock file never blocks a
restart (the pid written in it is only for the message). Other backends
(PostgreSQL, in-memory SQLite) are not locked here: an in-memory database is
private to its process, and a server database needs a lease in the database
itself, which v2c-solar does not implement yet.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from adapters.closing import Closing
from adapters.storage.errors import StoreError, StoreLockedError


class DatabaseLock(Closing):
    """The exclusive lock of the SQLite file `database` (held until `close()`)."""

    def __init__(self, database: Path, shown_url: str) -> None:
        self.path = database.with_name(database.name + ".lock")
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = self._holder()
            os.close(self._fd)
            raise StoreLockedError(
                f"database {shown_url} is in use by another v2c-solar daemon ({holder}); "
                "two would spend the call budget twice: stop that one first"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()} {socket.gethostname()}\n".encode())

    def _holder(self) -> str:
        """`pid N on HOST` from the lock file, as its holder wrote it."""
        try:
            text = os.pread(self._fd, 200, 0).decode(errors="replace").split()
        except OSError:
            text = []
        if len(text) >= 2:
            return f"pid {text[0]} on {text[1]}"
        return f"pid {text[0]}" if text else "pid unknown"

    def close(self) -> None:
        """Release the lock (idempotent); the file stays, empty locks are harmless."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
