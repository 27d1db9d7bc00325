"""`Closing`: the `with` protocol of a resource that is released by `close()`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Closing(ABC):
    """A resource for `with`: `__enter__` gives it back, `__exit__` calls `close()`
    whatever happened inside (an exception is not swallowed)."""

    @abstractmethod
    def close(self) -> None:
        """Release what the resource holds (connections, a server, a socket)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
