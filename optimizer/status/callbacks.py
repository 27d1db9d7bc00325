"""A thread-safe list of callbacks: added from any thread, removed by the function returned.

The status board's listeners and the site control's wakers are both such lists:
called by one thread, changed by others while it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

F = TypeVar("F", bound=Callable[..., None])


class Callbacks(Generic[F]):
    """Callbacks of type `F`; `snapshot()` is what to call now, safe while others change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[F] = []

    def add(self, callback: F) -> Callable[[], None]:
        """Add `callback`; returns the function that removes it (twice is harmless)."""
        with self._lock:
            self._callbacks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove

    def snapshot(self) -> tuple[F, ...]:
        """The callbacks as they are now."""
        with self._lock:
            return tuple(self._callbacks)


__all__ = ["Callbacks"]
