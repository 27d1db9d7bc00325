"""A call of the API as data (sans-IO), and the typed operations that build calls.

An `Operation` is one API operation declared once (see `operations.py`): a
function of typed SI arguments returning the API arguments, its docstring and
its result parser; path, method and every check come from the spec by
`operationId`. Building a `Call` validates everything against the spec, so a
bad argument raises `V2CValidationError` before any request exists. Both
clients only execute calls; neither builds or checks a request itself.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, Protocol, Self, TypeVar, overload

from adapters.v2c_cloud.endpoints import Endpoint, endpoint
from adapters.v2c_cloud.validation import build_body, build_query

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One validated call: what to send and how to read the answer."""

    endpoint: Endpoint
    query: Mapping[str, str]
    body: Mapping[str, Any] | None
    parse: Callable[[object], T] = field(repr=False)

    @property
    def device_id(self) -> str | None:
        """The device this call addresses (from `deviceId` or `id`), if any."""
        name = self.endpoint.device_param
        return None if name is None else self.query.get(name)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Query values that must never appear in text (the WiFi password)."""
        return tuple(
            self.query[p.name]
            for p in self.endpoint.parameters
            if p.secret and p.name in self.query
        )

    def __repr__(self) -> str:
        shown = {k: ("***" if v in self.secrets else v) for k, v in self.query.items()}
        return f"Call({self.endpoint.operation_id}, query={shown}, body={self.body})"


@dataclass(frozen=True, slots=True)
class ApiArguments:
    """An operation's arguments under their API names, in API units, not yet checked.

    `device_id` goes to the query parameter the spec names for the device
    (`deviceId` or `id`), so declarations need not know which.
    """

    query: Mapping[str, object]
    body: Mapping[str, Any] | None = None
    device_id: str | None = None

    def full_query(self, endpoint: Endpoint) -> Mapping[str, object]:
        """The query values by API name, the device's included."""
        if self.device_id is None:
            return self.query
        if endpoint.device_param is None:
            raise TypeError(f"{endpoint.operation_id} addresses no device")
        return {endpoint.device_param: self.device_id, **self.query}


def api_args(
    device_id: str | None = None, /, *, body: Mapping[str, Any] | None = None, **query: object
) -> ApiArguments:
    """`ApiArguments` for `device_id` from query values by API name (None values are omitted)."""
    return ApiArguments(query, body, device_id)


class SyncCaller(Protocol):
    """A client whose operations return their results (`V2CClient`)."""

    def call(self, operation: Operation[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...


class AsyncCaller(Protocol):
    """A client whose operations return awaitables of their results (`AsyncV2CClient`)."""

    def call(
        self, operation: Operation[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, T]: ...


class Operation(Generic[P, T]):
    """One API operation: typed arguments `P` in, result `T` out.

    `arguments` maps the typed (SI) arguments to `ApiArguments`; its docstring
    is the operation's; its attribute name in `Operations` is the `operationId`.
    Called, an `Operation` validates and returns the `Call` (nothing is sent).
    Read on a client (`client.intensity`), it is that client's method:
    `client.call(operation, ...)`, a result from `V2CClient`, an awaitable
    from `AsyncV2CClient`.
    """

    def __init__(self, arguments: Callable[P, ApiArguments], parse: Callable[[object], T]) -> None:
        self.operation_id = arguments.__name__
        self.arguments = arguments
        self.parse = parse
        self.__doc__ = arguments.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.operation_id = name

    def __repr__(self) -> str:
        return f"Operation({self.operation_id})"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Call[T]:
        """The validated call for typed arguments (V2CValidationError if the spec refuses)."""
        return self.from_api_args(self.arguments(*args, **kwargs))

    def from_api_args(self, args: ApiArguments) -> Call[T]:
        """The validated call for arguments already in API names and units (the CLI)."""
        ep = endpoint(self.operation_id)
        return Call(
            endpoint=ep,
            query=build_query(ep, args.full_query(ep)),
            body=build_body(ep, args.body),
            parse=self.parse,
        )

    @overload
    def __get__(self, client: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(
        self, client: AsyncCaller, owner: type | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    @overload
    def __get__(self, client: SyncCaller, owner: type | None = None) -> Callable[P, T]: ...

    def __get__(self, client: SyncCaller | AsyncCaller | None, owner: type | None = None) -> Any:
        if client is None:
            return self

        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return client.call(self, *args, **kwargs)

        method.__name__ = method.__qualname__ = self.operation_id
        method.__doc__ = self.__doc__
        return method
